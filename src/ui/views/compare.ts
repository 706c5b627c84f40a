// Compare runs: the validation curves of saved runs (the latest checkpoint of
// each, which carries the run's whole history) overlaid on one chart, with
// the chart as PNG and its data as CSV.

import uPlot from 'uplot';
import { listModels, type SavedModel } from '../storage';
import { axisStyle, card, el, exportButtons, toCsv } from '../dom';

const PALETTE = ['#2563eb', '#ea580c', '#15803d', '#7c3aed', '#be185d', '#0891b2', '#a16207', '#4b5563'];

export interface CompareCurve {
  runId: string;
  name: string;
  steps: number[];
  val: number[];
}

/** Validation points of a saved record's history (steps with a val loss). */
export function valCurve(m: SavedModel): CompareCurve {
  const steps: number[] = [];
  const val: number[] = [];
  const h = m.history;
  if (h)
    h.steps.forEach((s, i) => {
      const v = h.val[i];
      if (v !== null && v !== undefined) {
        steps.push(s);
        val.push(v);
      }
    });
  if (steps.length === 0 && m.valLoss !== null) {
    steps.push(m.step);
    val.push(m.valLoss);
  }
  return { runId: m.runId, name: m.name, steps, val };
}

/** Curves on one x axis (the union of their steps; null where a run has no point). */
export function alignCurves(curves: CompareCurve[]): (number | null)[][] {
  const xs = [...new Set(curves.flatMap((c) => c.steps))].sort((a, b) => a - b);
  return [
    xs,
    ...curves.map((c) =>
      xs.map((x) => {
        const i = c.steps.indexOf(x);
        return i >= 0 ? c.val[i] : null;
      }),
    ),
  ];
}

export class CompareView {
  readonly root: HTMLElement;
  curves: CompareCurve[] = [];
  private runs: SavedModel[] = [];
  private readonly chosen = new Set<string>();
  private readonly list: HTMLElement;
  private readonly box: HTMLElement;
  private plot: uPlot | null = null;

  constructor() {
    const c = card('view-compare', 'Compare runs', 'Validation loss of saved runs on one chart. Tick the runs to overlay.');
    this.root = c.root;
    this.list = el('div', { class: 'compare-list' });
    this.box = el('div', { class: 'chart', id: 'chart-compare' });
    c.body.append(this.list, this.box);
    exportButtons(
      c.head,
      'compare-runs',
      () => this.plot?.ctx.canvas ?? null,
      () => this.csv(),
    );
    new ResizeObserver(() => this.plot?.setSize({ width: Math.max(200, this.box.clientWidth), height: 240 })).observe(this.box);
  }

  /** Re-read the saved runs (after a checkpoint is stored or deleted). */
  async refresh(): Promise<void> {
    const all = await listModels().catch(() => [] as SavedModel[]);
    const latest = new Map<string, SavedModel>();
    for (const m of all) if (!latest.has(m.runId) || latest.get(m.runId)!.step < m.step) latest.set(m.runId, m);
    this.runs = [...latest.values()].filter((m) => valCurve(m).steps.length > 0).sort((a, b) => b.savedAt - a.savedAt);
    if (this.chosen.size === 0) for (const m of this.runs.slice(0, 3)) this.chosen.add(m.runId);
    this.list.replaceChildren(
      ...(this.runs.length
        ? this.runs.map((m) => {
            const box = el('input', { type: 'checkbox', 'data-run': m.runId });
            box.checked = this.chosen.has(m.runId);
            box.addEventListener('change', () => {
              if (box.checked) this.chosen.add(m.runId);
              else this.chosen.delete(m.runId);
              this.draw();
            });
            return el('label', { class: 'compare-run' }, box, ` ${m.name} · step ${m.step}${m.valLoss !== null ? ` · val ${m.valLoss.toFixed(3)}` : ''}`);
          })
        : [el('span', { class: 'muted', text: 'No saved runs with a validation loss yet.' })]),
    );
    this.draw();
  }

  draw(): void {
    this.curves = this.runs.filter((m) => this.chosen.has(m.runId)).map(valCurve);
    this.plot?.destroy();
    this.plot = null;
    if (this.curves.length === 0) return;
    const axis = axisStyle();
    this.plot = new uPlot(
      {
        width: Math.max(200, this.box.clientWidth),
        height: 240,
        scales: { x: { time: false } },
        series: [
          { label: 'step' },
          ...this.curves.map((c, i) => ({ label: c.name, stroke: PALETTE[i % PALETTE.length], width: 2, spanGaps: true, points: { show: true, size: 5 } })),
        ],
        axes: [
          { label: 'step', ...axis },
          { label: 'val loss (nats)', size: 56, ...axis },
        ],
      },
      alignCurves(this.curves) as uPlot.AlignedData,
      this.box,
    );
  }

  private csv(): string | null {
    if (this.curves.length === 0) return null;
    const cols = alignCurves(this.curves);
    return toCsv([['step', ...this.curves.map((c) => c.name)], ...cols[0].map((_, i) => cols.map((col) => col[i]))]);
  }
}
