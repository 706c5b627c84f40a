// Loss by position: validation loss (nats) at each position 0..blockSize-1 of
// the context, at each evaluation; the previous evaluation's curve stays
// faintly behind the new one, so the model learning to use context shows.

import uPlot from 'uplot';
import type { LossByPosition } from '../../core/inspect/types';
import { axisStyle, card, el, exportButtons, ink, toCsv } from '../dom';

export class LossByPositionView {
  readonly root: HTMLElement;
  current: LossByPosition | null = null;
  previous: LossByPosition | null = null;
  private plot: uPlot | null = null;
  private readonly box: HTMLElement;

  constructor() {
    const c = card(
      'view-loss-position',
      'Loss by position',
      'Validation loss at each position of the context window: falling to the right means the model uses its context. Its mean is the validation loss.',
    );
    this.root = c.root;
    this.box = el('div', { class: 'chart', id: 'chart-loss-position' });
    c.body.append(this.box);
    exportButtons(
      c.head,
      'loss-by-position',
      () => this.plot?.ctx.canvas ?? null,
      () => this.csv(),
    );
    new ResizeObserver(() => this.plot?.setSize({ width: this.width(), height: 220 })).observe(this.box);
  }

  private width(): number {
    return Math.max(200, this.box.clientWidth);
  }

  show(data: LossByPosition): void {
    if (this.current && this.current.step !== data.step) this.previous = this.current;
    this.current = data;
    const xs = data.byPosition.map((_, i) => i);
    const prev = this.previous && this.previous.byPosition.length === xs.length ? this.previous.byPosition : xs.map(() => null);
    const rows = [xs, data.byPosition, prev] as uPlot.AlignedData;
    if (!this.plot) {
      const c = ink();
      const axis = axisStyle();
      this.plot = new uPlot(
        {
          width: this.width(),
          height: 220,
          scales: { x: { time: false } },
          series: [
            { label: 'position' },
            { label: `step ${data.step}`, stroke: c.accent, width: 2, points: { show: false } },
            { label: 'previous', stroke: c.muted, width: 1.5, dash: [4, 3], alpha: 0.45, points: { show: false } } as uPlot.Series,
          ],
          axes: [
            { label: 'position in the context', ...axis },
            { label: 'val loss (nats)', size: 56, ...axis },
          ],
        },
        rows,
        this.box,
      );
    } else {
      this.plot.setData(rows);
    }
    this.plot.setSeries(1, { label: `step ${data.step} (mean ${data.mean.toFixed(3)})` } as uPlot.Series);
    this.plot.setSeries(2, { label: this.previous ? `step ${this.previous.step}` : 'previous' } as uPlot.Series);
    // setSeries does not relabel the legend: do it by hand.
    const labels = this.box.querySelectorAll('.u-legend .u-series .u-label');
    if (labels[1]) labels[1].textContent = `step ${data.step} · mean ${data.mean.toFixed(3)}`;
    if (labels[2]) labels[2].textContent = this.previous ? `step ${this.previous.step}` : 'previous';
  }

  /** Redraw in the current theme's colours. */
  rebuild(): void {
    this.plot?.destroy();
    this.plot = null;
    const cur = this.current;
    const prev = this.previous;
    if (!cur) return;
    this.current = null;
    this.previous = null;
    if (prev) this.show(prev);
    this.show(cur);
  }

  private csv(): string | null {
    if (!this.current) return null;
    return toCsv([
      ['position', `val_loss_step_${this.current.step}`, ...(this.previous ? [`val_loss_step_${this.previous.step}`] : [])],
      ...this.current.byPosition.map((v, i) => [i, v, ...(this.previous ? [this.previous.byPosition[i] ?? null] : [])]),
    ]);
  }
}
