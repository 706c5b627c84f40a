// Embedding map: the token embedding rows projected onto their two principal
// components, each point labelled with its character and coloured by kind
// (vowel, consonant, upper case, digit, space, punctuation), so groups show.

import type { EmbeddingMap } from '../../core/inspect/types';
import { card, el, exportButtons, ink, sizeCanvas, toCsv } from '../dom';
import { showChar } from './nextchars';

const KINDS = [
  { name: 'vowel', test: (c: string) => /^[aeiouy]$/.test(c), colour: '#dc2626' },
  { name: 'consonant', test: (c: string) => /^\p{Ll}$/u.test(c), colour: '#2563eb' },
  { name: 'upper case', test: (c: string) => /^\p{Lu}$/u.test(c), colour: '#7c3aed' },
  { name: 'digit', test: (c: string) => /^\p{N}$/u.test(c), colour: '#0891b2' },
  { name: 'space', test: (c: string) => /^\s$/u.test(c), colour: '#6b7280' },
  { name: 'punctuation', test: () => true, colour: '#d97706' },
];

export function kindOf(ch: string): (typeof KINDS)[number] {
  return KINDS.find((k) => k.test(ch))!;
}

export class EmbeddingView {
  readonly root: HTMLElement;
  data: EmbeddingMap | null = null;
  private readonly canvas: HTMLCanvasElement;
  private readonly caption: HTMLElement;

  constructor() {
    const c = card(
      'view-embedding',
      'Embedding map',
      "Each character's learned embedding, projected to 2-D (PCA). Characters the model treats alike end up close.",
    );
    this.root = c.root;
    this.canvas = el('canvas', { id: 'embedding-canvas' });
    this.caption = el('p', { class: 'muted legend' });
    this.caption.append(...KINDS.map((k) => el('span', { class: 'key' }, el('i', { style: `background:${k.colour}` }), k.name)));
    c.body.append(this.canvas, this.caption);
    exportButtons(
      c.head,
      'embedding',
      () => this.canvas,
      () => (this.data ? toCsv([['char', 'x', 'y'], ...this.data.points.map((p) => [p.char, p.x, p.y])]) : null),
    );
    new ResizeObserver(() => this.draw()).observe(c.body);
  }

  show(data: EmbeddingMap): void {
    this.data = data;
    this.draw();
  }

  draw(): void {
    const data = this.data;
    if (!data) return;
    const w = Math.max(220, Math.min(640, this.root.clientWidth - 8 || 420));
    const h = Math.round(w * 0.7);
    const ctx = sizeCanvas(this.canvas, w, h);
    const c = ink();
    ctx.fillStyle = c.bg;
    ctx.fillRect(0, 0, w, h);
    const pad = 18;
    const xs = data.points.map((p) => p.x);
    const ys = data.points.map((p) => p.y);
    const [x0, x1, y0, y1] = [Math.min(...xs), Math.max(...xs), Math.min(...ys), Math.max(...ys)];
    const sx = (x: number) => pad + ((x - x0) / (x1 - x0 || 1)) * (w - 2 * pad);
    const sy = (y: number) => h - pad - ((y - y0) / (y1 - y0 || 1)) * (h - 2 * pad - 14);
    ctx.strokeStyle = c.line;
    ctx.strokeRect(0.5, 0.5, w - 1, h - 1);
    ctx.fillStyle = c.muted;
    ctx.font = '11px system-ui, sans-serif';
    ctx.textAlign = 'left';
    ctx.textBaseline = 'top';
    ctx.fillText(`step ${data.step} · PC1 ${(100 * data.explained[0]).toFixed(0)}% · PC2 ${(100 * data.explained[1]).toFixed(0)}% of the variance`, 6, 4);
    ctx.font = '600 13px ui-monospace, monospace';
    ctx.textAlign = 'center';
    ctx.textBaseline = 'middle';
    for (const p of data.points) {
      ctx.fillStyle = kindOf(p.char).colour;
      ctx.fillText(showChar(p.char), sx(p.x), sy(p.y));
    }
  }
}
