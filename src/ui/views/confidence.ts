// Confidence in the text: samples, the Generate output and a pasted text can
// be coloured by the model's probability of each character (or its surprisal
// in bits); hovering a character shows the top-5 alternatives there. A pasted
// text also gets its total bits, bits per character and most surprising spans.

import type { CharScore, TextScore } from '../../core/inspect/types';
import type { ScoreTarget } from '../../worker/protocol';
import { card, el, exportButtons, toCsv } from '../dom';
import { showChar } from './nextchars';

export type ColourBy = 'off' | 'p' | 'bits';

/** Background of a character: red (unexpected) to green (expected). Surprisal is clipped at 8 bits. */
export function charColour(c: CharScore, by: ColourBy): string {
  if (by === 'off' || c.p === null || c.bits === null) return 'transparent';
  const good = by === 'p' ? c.p : 1 - Math.min(c.bits, 8) / 8;
  return `hsla(${Math.round(120 * good)}, 85%, 50%, 0.33)`;
}

export class ConfidenceView {
  readonly root: HTMLElement;
  by: ColourBy = 'off';
  /** The latest score of each target (window.tabgpt.views.scores). */
  readonly scores: Partial<Record<ScoreTarget, TextScore>> = {};
  private readonly tip = el('div', { class: 'char-tip', role: 'tooltip', hidden: '' });
  private readonly select: HTMLSelectElement;
  private readonly pasteText: HTMLTextAreaElement;
  private readonly summary: HTMLElement;
  private readonly pasteOut: HTMLElement;
  private readonly error: HTMLElement;

  constructor(
    private readonly targets: { sample: HTMLElement; generate: HTMLElement },
    private readonly ask: (text: string, target: ScoreTarget) => void,
    private readonly texts: () => { sample: string | null; generate: string | null },
  ) {
    const c = card(
      'view-confidence',
      'Confidence in the text',
      "Each character coloured by the model's probability of it given the text before it; hover for the 5 likeliest characters there.",
    );
    this.root = c.root;
    this.select = el(
      'select',
      { id: 'confidence-by', 'aria-label': 'colour characters by' },
      el('option', { value: 'off', text: 'no colour' }),
      el('option', { value: 'p', text: 'colour by probability' }),
      el('option', { value: 'bits', text: 'colour by surprisal (bits)' }),
    );
    this.select.addEventListener('change', () => this.setColourBy(this.select.value as ColourBy));
    this.pasteText = el('textarea', { id: 'score-text', rows: '3', placeholder: 'Paste a text to score it with the current model…' });
    const scoreBtn = el('button', { type: 'button', id: 'score-run', text: 'Score text' });
    scoreBtn.addEventListener('click', () => this.ask(this.pasteText.value, 'paste'));
    this.summary = el('p', { class: 'score-summary', id: 'score-summary' });
    this.pasteOut = el('pre', { class: 'text-out scored', id: 'score-out' });
    this.pasteOut.hidden = true;
    this.error = el('p', { class: 'error' });
    c.body.append(
      el('div', { class: 'buttons' }, this.select),
      this.pasteText,
      el('div', { class: 'buttons' }, scoreBtn),
      this.error,
      this.summary,
      this.pasteOut,
    );
    exportButtons(
      c.head,
      'text-scores',
      () => null,
      () => this.csv(),
    );
    c.head.querySelector('[data-export=png]')?.remove();
    document.body.append(this.tip);
    addEventListener('resize', () => (this.tip.hidden = true));
    for (const t of [targets.sample, targets.generate, this.pasteOut]) this.hover(t);
  }

  setColourBy(by: ColourBy): void {
    this.by = by;
    this.select.value = by;
    if (by === 'off') {
      for (const t of ['sample', 'generate'] as const) this.uncolour(t);
      return;
    }
    const texts = this.texts();
    for (const t of ['sample', 'generate'] as const) {
      const text = texts[t];
      if (text) this.ask(text, t);
    }
    if (this.scores.paste) this.render(this.pasteOut, this.scores.paste);
  }

  /** A sample or a generation finished: score it when colouring is on. */
  textReady(target: 'sample' | 'generate', text: string): void {
    if (this.by !== 'off' && text) this.ask(text, target);
  }

  show(target: ScoreTarget, score: TextScore): void {
    this.scores[target] = score;
    this.error.textContent = '';
    if (target === 'paste') {
      this.pasteOut.hidden = false;
      this.render(this.pasteOut, score, 'p');
      const n = score.chars.length - 1;
      this.summary.replaceChildren(
        el('span', {
          text: `${score.totalBits.toFixed(1)} bits in total · ${score.bpc.toFixed(3)} bits/char over ${n} predicted characters${score.truncated ? ` (the last ${score.truncated} characters were not scored)` : ''}`,
        }),
        el('br'),
        el('span', { class: 'muted', text: 'most surprising: ' }),
        ...score.spans.map((s) =>
          el('code', {
            class: 'span',
            title: `${s.bits.toFixed(1)} bits at character ${s.start}`,
            text: `${s.text.replace(/\n/g, '↵')} (${s.bits.toFixed(1)} bits)`,
          }),
        ),
      );
      return;
    }
    // Only onto the text it scored (a new sample or generation may have replaced it meanwhile).
    const out = this.targets[target];
    if (this.by !== 'off' && out.textContent === score.chars.map((c) => c.char).join('')) this.render(out, score);
  }

  showError(message: string): void {
    this.error.textContent = message;
  }

  private render(out: HTMLElement, score: TextScore, by: ColourBy = this.by): void {
    const spans = score.chars.map((c, i) => {
      const s = el('span', { 'data-i': String(i) }, c.char);
      s.style.background = charColour(c, by);
      return s;
    });
    out.replaceChildren(...spans);
    (out as HTMLElement & { score?: TextScore }).score = score;
    out.classList.add('scored');
  }

  private uncolour(target: 'sample' | 'generate'): void {
    const out = this.targets[target];
    if (!out.classList.contains('scored')) return;
    out.textContent = this.texts()[target] ?? out.textContent;
    out.classList.remove('scored');
  }

  private hover(out: HTMLElement): void {
    out.addEventListener('mouseover', (e) => {
      const span = (e.target as HTMLElement).closest<HTMLElement>('span[data-i]');
      const score = (out as HTMLElement & { score?: TextScore }).score;
      if (!span || !score) return void (this.tip.hidden = true);
      const c = score.chars[Number(span.dataset.i)];
      if (!c || c.p === null) return void (this.tip.hidden = true);
      this.tip.replaceChildren(
        el('div', { text: `${showChar(c.char)}: p = ${c.p.toFixed(3)}, ${c.bits!.toFixed(2)} bits` }),
        ...c.top.map((t) => el('div', { class: t.char === c.char ? 'hit' : '', text: `${showChar(t.char)}  ${(100 * t.p).toFixed(1)}%` })),
      );
      const r = span.getBoundingClientRect();
      this.tip.style.left = `${Math.min(r.left + scrollX, scrollX + innerWidth - 180)}px`;
      this.tip.style.top = `${r.bottom + scrollY + 4}px`;
      this.tip.hidden = false;
    });
    out.addEventListener('mouseleave', () => (this.tip.hidden = true));
  }

  private csv(): string | null {
    const rows: (string | number | null)[][] = [['target', 'index', 'char', 'p', 'bits', 'top5']];
    for (const [target, s] of Object.entries(this.scores)) {
      s?.chars.forEach((c, i) => rows.push([target, i, c.char, c.p, c.bits, c.top.map((t) => `${t.char}:${t.p.toFixed(4)}`).join(' ')]));
    }
    return rows.length > 1 ? toCsv(rows) : null;
  }
}
