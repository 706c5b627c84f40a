// Attention maps: for a window of text, the T x T attention weights of every
// layer and head as small heatmaps (row = the position attending, column =
// the position attended to; the causal mask leaves the upper triangle empty).
// Click one to enlarge it with both axes labelled by the window's characters.

import type { AttentionMaps } from '../../core/inspect/types';
import { card, el, exportButtons, ink, sizeCanvas, toCsv } from '../dom';
import { showChar } from './nextchars';

const SMALL = 112;

export class AttentionView {
  readonly root: HTMLElement;
  data: AttentionMaps | null = null;
  /** The enlarged map: [layer, head]. */
  selected: [number, number] = [0, 0];
  private readonly grid: HTMLElement;
  private readonly big: HTMLCanvasElement;
  private readonly bigTitle: HTMLElement;
  private readonly input: HTMLInputElement;
  private readonly error: HTMLElement;

  constructor(private readonly ask: (text: string) => void) {
    const c = card(
      'view-attention',
      'Attention',
      'Each small map is one head of one layer: row t shows how much position t attends to each earlier position. Click a map to enlarge it.',
    );
    this.root = c.root;
    this.input = el('input', {
      type: 'text',
      id: 'attention-text',
      class: 'mono',
      'aria-label': 'window of text',
      placeholder: 'a window of text (its last blockSize characters are used)',
    });
    const go = el('button', { type: 'button', id: 'attention-run', text: 'Show' });
    go.addEventListener('click', () => this.ask(this.input.value));
    this.input.addEventListener('keydown', (e) => e.key === 'Enter' && this.ask(this.input.value));
    this.grid = el('div', { class: 'att-grid' });
    this.bigTitle = el('p', { class: 'muted' });
    this.big = el('canvas', { class: 'att-big', id: 'attention-big' });
    this.error = el('p', { class: 'error' });
    c.body.append(el('div', { class: 'inline-form' }, this.input, go), this.error, this.grid, this.bigTitle, this.big);
    exportButtons(
      c.head,
      'attention',
      () => this.big,
      () => this.csv(),
    );
  }

  /** Fill the window's text if the user has not typed one. */
  suggest(text: string): void {
    if (!this.input.value) this.input.value = text;
  }

  get text(): string {
    return this.input.value;
  }

  show(data: AttentionMaps): void {
    this.data = data;
    this.error.textContent = '';
    const L = data.weights.length;
    const H = data.weights[0]?.length ?? 0;
    if (this.selected[0] >= L || this.selected[1] >= H) this.selected = [0, 0];
    this.grid.style.gridTemplateColumns = `auto repeat(${H}, minmax(0, ${SMALL}px))`;
    const cells: HTMLElement[] = [el('span'), ...Array.from({ length: H }, (_, h) => el('span', { class: 'muted axis', text: `head ${h}` }))];
    for (let l = 0; l < L; l++) {
      cells.push(el('span', { class: 'muted axis', text: `layer ${l}` }));
      for (let h = 0; h < H; h++) {
        const canvas = el('canvas', { class: 'att-small', 'data-layer': String(l), 'data-head': String(h), title: `layer ${l}, head ${h}`, tabindex: '0' });
        drawMap(canvas, data.weights[l][h], SMALL, null);
        const pick = () => this.enlarge(l, h);
        canvas.addEventListener('click', pick);
        canvas.addEventListener('keydown', (e) => e.key === 'Enter' && pick());
        if (l === this.selected[0] && h === this.selected[1]) canvas.classList.add('selected');
        cells.push(canvas);
      }
    }
    this.grid.replaceChildren(...cells);
    this.enlarge(...this.selected);
  }

  enlarge(l: number, h: number): void {
    if (!this.data) return;
    this.selected = [l, h];
    for (const c of this.grid.querySelectorAll('canvas')) c.classList.toggle('selected', c.dataset.layer === String(l) && c.dataset.head === String(h));
    this.bigTitle.textContent = `layer ${l}, head ${h}: rows = the position attending (query), columns = the position attended to (key)`;
    const size = Math.min(520, Math.max(240, (this.root.clientWidth || 520) - 24));
    drawMap(this.big, this.data.weights[l][h], size, this.data.chars);
  }

  showError(message: string): void {
    this.error.textContent = message;
  }

  private csv(): string | null {
    if (!this.data) return null;
    const rows: (string | number)[][] = [['layer', 'head', 'query_pos', 'query_char', 'key_pos', 'key_char', 'weight']];
    const { chars, weights } = this.data;
    weights.forEach((heads, l) => heads.forEach((m, h) => m.forEach((row, t) => row.forEach((w, s) => rows.push([l, h, t, chars[t], s, chars[s], w])))));
    return toCsv(rows);
  }
}

/** A heatmap of `m` [T][T] in a `size` px square; with `labels`, the axes carry the characters. */
function drawMap(canvas: HTMLCanvasElement, m: number[][], size: number, labels: string[] | null): void {
  const T = m.length;
  const c = ink();
  const pad = labels ? 22 : 0;
  const ctx = sizeCanvas(canvas, size, size);
  ctx.fillStyle = c.bg;
  ctx.fillRect(0, 0, size, size);
  const cell = (size - pad) / Math.max(1, T);
  ctx.fillStyle = c.accent;
  for (let t = 0; t < T; t++) {
    for (let s = 0; s <= t; s++) {
      ctx.globalAlpha = Math.min(1, Math.max(0, m[t][s]));
      ctx.fillRect(pad + s * cell, pad + t * cell, Math.ceil(cell), Math.ceil(cell));
    }
  }
  ctx.globalAlpha = 1;
  ctx.strokeStyle = c.line;
  ctx.strokeRect(pad + 0.5, pad + 0.5, size - pad - 1, size - pad - 1);
  if (!labels) return;
  ctx.fillStyle = c.text;
  ctx.font = `${Math.max(8, Math.min(13, cell * 0.8))}px ui-monospace, monospace`;
  ctx.textAlign = 'center';
  ctx.textBaseline = 'middle';
  const every = Math.max(1, Math.ceil(9 / cell)); // label every character when they fit
  for (let i = 0; i < T; i += every) {
    const ch = showChar(labels[i]);
    ctx.fillText(ch, pad + (i + 0.5) * cell, pad / 2); // keys along the top
    ctx.fillText(ch, pad / 2, pad + (i + 0.5) * cell); // queries down the side
  }
}
