// Next-character view: the model's top-k next characters for the text in the
// Generate panel's prompt box, as bars with probabilities. Refreshed at each
// evaluation (the worker recomputes the last asked text) and on each keystroke.

import type { CharProb, NextChars } from '../../core/inspect/types';
import { card, el, exportButtons, toCsv } from '../dom';

export const NEXT_K = 10;

/** How a character is shown on a label: visible stand-ins for blanks. */
export function showChar(ch: string): string {
  if (ch === ' ') return '␣';
  if (ch === '\n') return '↵';
  if (ch === '\t') return '⇥';
  return ch;
}

export class NextCharsView {
  readonly root: HTMLElement;
  data: NextChars | null = null;
  private readonly bars: HTMLElement;
  private readonly context: HTMLElement;
  private readonly error: HTMLElement;

  constructor(
    private readonly prompt: HTMLTextAreaElement,
    private readonly ask: (text: string) => void,
  ) {
    const c = card('view-next', 'Next character', "What the model expects after the prompt box's text (its last blockSize characters).");
    this.root = c.root;
    this.context = el('div', { class: 'next-context mono' });
    this.bars = el('ol', { class: 'next-bars', 'aria-label': 'next-character probabilities' });
    this.error = el('p', { class: 'error' });
    c.body.append(this.context, this.bars, this.error);
    exportButtons(
      c.head,
      'next-chars',
      () => null,
      () => (this.data ? toCsv([['char', 'p'], ...this.data.top.map((t) => [t.char, t.p])]) : null),
    );
    c.head.querySelector('[data-export=png]')?.remove(); // bars are DOM, not a canvas
    prompt.addEventListener('input', () => this.refresh());
  }

  refresh(): void {
    this.ask(this.prompt.value);
  }

  show(data: NextChars): void {
    this.data = data;
    this.error.textContent = '';
    this.context.textContent = '';
    this.context.append(
      el('span', { class: 'muted', text: 'context: ' }),
      el('span', { class: 'ctx', text: data.context.replace(/\n/g, '↵') }),
      el('span', { class: 'caret', text: '▍' }),
    );
    this.bars.replaceChildren(...data.top.map((t) => bar(t, data.top[0].p)));
  }

  showError(message: string): void {
    this.error.textContent = message;
  }
}

function bar(t: CharProb, max: number): HTMLElement {
  const fill = el('span', { class: 'fill' });
  fill.style.width = `${(100 * t.p) / Math.max(max, 1e-9)}%`;
  return el(
    'li',
    { 'data-char': t.char, 'data-p': String(t.p) },
    el('span', { class: 'ch mono', text: showChar(t.char) }),
    el('span', { class: 'track' }, fill),
    el('span', { class: 'pct', text: `${(100 * t.p).toFixed(1)}%` }),
  );
}
