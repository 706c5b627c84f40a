// Live charts of a run with uPlot (a canvas plotter made for streaming data):
// train and validation loss with reference lines (uniform ln V, the corpus'
// unigram and bigram entropies, and for the built-in corpus its exact entropy
// floor), learning rate, and tokens/s. Losses are kept in nats and shown in
// nats or bits per character.

import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import type { MetricPoint } from '../../worker/protocol';
import { addPoints, addVal, emptyHistory, thin, type ChartHistory } from './history';
import { alignOverlay, type Overlay } from './overlay';
import type { References } from '../corpus-loader';
import { axisStyle } from '../dom';

export type Units = 'nats' | 'bpc';

const COLORS = {
  overlay: '#64748b',
  train: '#2563eb',
  val: '#ea580c',
  uniform: '#9ca3af',
  unigram: '#a16207',
  bigram: '#7c3aed',
  floor: '#15803d',
  lr: '#0891b2',
  tps: '#be185d',
};

export class RunCharts {
  history: ChartHistory = emptyHistory();
  /** Rows kept before the older ones are thinned (history.ts' thin; the page's ?chartPoints=). */
  cap = 4000;
  private refs: References | null = null;
  /** Another run's validation curve drawn under this one (overlay.ts: a fine-tune vs from scratch). */
  private overlay: Overlay | null = null;
  private units: Units = 'nats';
  private logY = false;
  private loss: uPlot | null = null;
  private lr: uPlot | null = null;
  private tps: uPlot | null = null;
  private readonly els: { loss: HTMLElement; lr: HTMLElement; tps: HTMLElement };

  constructor(els: { loss: HTMLElement; lr: HTMLElement; tps: HTMLElement }) {
    this.els = els;
    this.build();
    new ResizeObserver(() => this.resize()).observe(els.loss);
    matchMedia('(prefers-color-scheme: dark)').addEventListener('change', () => this.build()); // axis colours follow the theme
  }

  reset(history: ChartHistory = emptyHistory()): void {
    this.history = structuredClone(history);
    thin(this.history, this.cap);
    this.redraw();
  }

  setReferences(refs: References | null): void {
    const rebuild = (refs?.floor === undefined) !== (this.refs?.floor === undefined) || (refs === null) !== (this.refs === null);
    this.refs = refs;
    if (rebuild) this.build();
    else this.redraw();
  }

  setOverlay(overlay: Overlay | null): void {
    this.overlay = overlay;
    this.build();
  }

  setUnits(units: Units): void {
    this.units = units;
    this.build();
  }

  setLogY(on: boolean): void {
    this.logY = on;
    this.build();
  }

  addPoints(points: MetricPoint[]): void {
    if (points.length === 0) return;
    addPoints(this.history, points);
    thin(this.history, this.cap);
    this.redraw();
  }

  addVal(step: number, valLoss: number): void {
    addVal(this.history, step, valLoss);
    this.redraw();
  }

  private lossData(): uPlot.AlignedData {
    const h = this.history;
    const k = this.units === 'bpc' ? 1 / Math.LN2 : 1;
    const scale = (v: number | null) => (v === null ? null : v * k);
    // A row at step 0 so the reference lines show before the first point.
    const xs = h.steps[0] === 0 ? h.steps : [0, ...h.steps];
    const pad = <T>(a: T[]) => (h.steps[0] === 0 ? a : [null, ...a]);
    const cols: (number | null)[][] = [pad(h.train).map(scale), pad(h.val).map(scale)];
    if (this.refs) {
      const r = this.refs;
      const lines = [r.uniform, r.unigram, r.bigram, ...(r.floor !== undefined ? [r.floor] : [])];
      for (const v of lines) cols.push(xs.map(() => v * k));
    }
    if (this.overlay) {
      const o = alignOverlay(xs, cols, { ...this.overlay, val: this.overlay.val.map((v) => v * k) }, 2); // train, val, then reference lines
      return [o.xs, ...o.cols] as uPlot.AlignedData;
    }
    return [xs, ...cols] as uPlot.AlignedData;
  }

  private build(): void {
    for (const p of [this.loss, this.lr, this.tps]) p?.destroy();
    const unit = this.units === 'bpc' ? 'bits/char' : 'nats/char';
    const width = Math.max(200, this.els.loss.clientWidth);
    const ref = (label: string, stroke: string): uPlot.Series => ({ label, stroke, width: 1.5, dash: [6, 4], points: { show: false } });
    const series: uPlot.Series[] = [
      { label: 'step' },
      { label: 'train', stroke: COLORS.train, width: 2, spanGaps: true, points: { show: false } },
      { label: 'val', stroke: COLORS.val, width: 2, spanGaps: true, points: { show: true, size: 6, fill: COLORS.val } },
    ];
    if (this.refs) {
      series.push(ref('uniform ln V', COLORS.uniform), ref('unigram', COLORS.unigram), ref('bigram', COLORS.bigram));
      if (this.refs.floor !== undefined) series.push(ref('entropy floor', COLORS.floor));
    }
    if (this.overlay)
      series.push({
        label: this.overlay.label,
        stroke: COLORS.overlay,
        width: 2,
        dash: [3, 3],
        spanGaps: true,
        points: { show: true, size: 5, fill: COLORS.overlay },
      });
    this.loss = new uPlot(
      {
        width,
        height: 300,
        series,
        scales: { x: { time: false }, y: this.logY ? { distr: 3 } : {} },
        axes: [
          { label: 'step', ...axisStyle() },
          { label: `loss (${unit})`, size: 60, ...axisStyle() },
        ],
        legend: { live: true },
        cursor: { drag: { x: true, y: false } },
      },
      this.lossData(),
      this.els.loss,
    );
    const small = (el: HTMLElement, label: string, stroke: string, fmt: (v: number) => string) =>
      new uPlot(
        {
          width: Math.max(160, el.clientWidth),
          height: 150,
          series: [{ label: 'step' }, { label, stroke, width: 2, spanGaps: true, points: { show: false }, value: (_u, v) => (v == null ? '–' : fmt(v)) }],
          scales: { x: { time: false } },
          axes: [{ ...axisStyle() }, { size: 60, values: (_u, vals) => vals.map((v) => fmt(v)), ...axisStyle() }],
        },
        [[], []],
        el,
      );
    this.lr = small(this.els.lr, 'learning rate', COLORS.lr, (v) => v.toExponential(1));
    this.tps = small(this.els.tps, 'tokens/s', COLORS.tps, (v) => (v >= 1000 ? `${(v / 1000).toFixed(1)}k` : v.toFixed(0)));
    this.redraw();
  }

  private redraw(): void {
    const h = this.history;
    this.loss?.setData(this.lossData());
    this.lr?.setData([h.steps, h.lr] as uPlot.AlignedData);
    this.tps?.setData([h.steps, h.tokensPerSec] as uPlot.AlignedData);
  }

  private resize(): void {
    this.loss?.setSize({ width: Math.max(200, this.els.loss.clientWidth), height: 300 });
    this.lr?.setSize({ width: Math.max(160, this.els.lr.clientWidth), height: 150 });
    this.tps?.setSize({ width: Math.max(160, this.els.tps.clientWidth), height: 150 });
  }
}
