// The DOM helpers every page shares (training, scaling lab, benchmark, the
// views): an element by id, elements, a titled card, theme colours read from
// the page's CSS variables (so canvases follow the dark theme), crisp canvases,
// and PNG / CSV / file downloads.

/** The page's element with this id; a page missing one is a bug, so say which. */
export const $ = <T extends HTMLElement = HTMLElement>(id: string): T => {
  const e = document.getElementById(id);
  if (!e) throw new Error(`page is missing #${id}`);
  return e as T;
};

export function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Record<string, string> = {},
  ...children: (Node | string)[]
): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === 'class') e.className = v;
    else if (k === 'text') e.textContent = v;
    else e.setAttribute(k, v);
  }
  e.append(...children);
  return e;
}

/** A view's card: a heading, an optional note, a body and the export buttons. */
export function card(id: string, title: string, note = ''): { root: HTMLElement; head: HTMLElement; body: HTMLElement; note: HTMLElement } {
  const head = el('div', { class: 'card-head' }, el('h3', { text: title }));
  const noteEl = el('p', { class: 'muted view-note', text: note });
  const body = el('div', { class: 'view-body' });
  const root = el('section', { class: 'view', id }, head, noteEl, body);
  return { root, head, body, note: noteEl };
}

/** A theme colour from the page's CSS variables. */
export function themeColor(name: string, fallback: string): string {
  const v = getComputedStyle(document.documentElement).getPropertyValue(name).trim();
  return v || fallback;
}

export function ink(): { text: string; muted: string; grid: string; bg: string; accent: string; line: string } {
  return {
    text: themeColor('--ink', '#1f2328'),
    muted: themeColor('--muted', '#5b6470'),
    grid: themeColor('--grid', 'rgba(0,0,0,0.08)'),
    bg: themeColor('--card', '#ffffff'),
    accent: themeColor('--accent', '#2563eb'),
    line: themeColor('--line', '#d8dde3'),
  };
}

/** Size a canvas for the device pixel ratio; returns its 2-D context in CSS pixels. */
export function sizeCanvas(canvas: HTMLCanvasElement, width: number, height: number): CanvasRenderingContext2D {
  const dpr = Math.min(2, globalThis.devicePixelRatio || 1);
  canvas.width = Math.round(width * dpr);
  canvas.height = Math.round(height * dpr);
  canvas.style.width = `${width}px`;
  canvas.style.height = `${height}px`;
  const ctx = canvas.getContext('2d')!;
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  return ctx;
}

/** Rows to CSV (RFC 4180 quoting). */
export function toCsv(rows: (string | number | null)[][]): string {
  const cell = (v: string | number | null) => {
    const s = v === null ? '' : String(v);
    return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
  };
  return rows.map((r) => r.map(cell).join(',')).join('\n') + '\n';
}

export function download(blob: Blob, name: string): void {
  const a = el('a', { href: URL.createObjectURL(blob), download: name });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(a.href), 10_000);
}

/**
 * "PNG" and "CSV" buttons in a card's head. `canvas` gives the canvas to save
 * (drawn on the card's background colour, so a transparent chart stays readable).
 */
export function exportButtons(head: HTMLElement, name: string, canvas: () => HTMLCanvasElement | null, csv: () => string | null): void {
  const png = el('button', { type: 'button', class: 'small', 'data-export': 'png', text: 'PNG' });
  const data = el('button', { type: 'button', class: 'small', 'data-export': 'csv', text: 'CSV' });
  png.addEventListener('click', () => {
    const src = canvas();
    if (!src) return;
    const out = el('canvas');
    out.width = src.width;
    out.height = src.height;
    const ctx = out.getContext('2d')!;
    ctx.fillStyle = ink().bg;
    ctx.fillRect(0, 0, out.width, out.height);
    ctx.drawImage(src, 0, 0);
    out.toBlob((b) => b && download(b, `tabgpt-${name}.png`), 'image/png');
  });
  data.addEventListener('click', () => {
    const text = csv();
    if (text) download(new Blob([text], { type: 'text/csv' }), `tabgpt-${name}.csv`);
  });
  head.append(el('span', { class: 'buttons export' }, png, data));
}

/** uPlot axis and grid colours for the current theme. */
export function axisStyle(): { stroke: string; grid: { stroke: string; width: number }; ticks: { stroke: string; width: number } } {
  const c = ink();
  return { stroke: c.muted, grid: { stroke: c.grid, width: 1 }, ticks: { stroke: c.grid, width: 1 } };
}
