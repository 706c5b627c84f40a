// The scaling lab's plots (uPlot, log-log): loss vs N with the fitted curve, its
// bootstrap band and the prediction each run was placed against before it
// landed; loss vs compute for every run with the frontier; IsoFLOP curves and
// N_opt(C) when the sweep has several token budgets per size. The plots are
// rebuilt on each finished run (a sweep changes rarely), not on every step.

import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { computeOptimal, predictPowerLaw, type JointFit, type PowerLawFit } from '../../core/scaling/fit';
import { NOT_A_SCALING_LAW } from '../../core/scaling/diagnostics';
import type { RunResult } from '../../core/scaling/sweep-plan';
import type { AnalysedPoint } from '../../core/scaling/analysis';
import type { IsoFlopAnalysis } from '../../core/scaling/isoflops';
import type { LrScanSummary } from '../../core/scaling/lr-scan';

export type Units = 'nats' | 'bpc';

const PALETTE = ['#2563eb', '#ea580c', '#16a34a', '#9333ea', '#dc2626', '#0891b2', '#ca8a04', '#db2777', '#4b5563', '#65a30d'];
const scaleLoss = (units: Units) => (v: number | null) => (v === null || !Number.isFinite(v) ? null : units === 'bpc' ? v / Math.LN2 : v);

function logSpaced(lo: number, hi: number, n: number): number[] {
  return Array.from({ length: n }, (_, i) => lo * Math.pow(hi / lo, i / (n - 1)));
}

/** Align several (x, y) series on the union of their x values (nulls elsewhere), as uPlot wants. */
function align(series: { x: number[]; y: (number | null)[] }[]): uPlot.AlignedData {
  const xs = [...new Set(series.flatMap((s) => s.x))].sort((a, b) => a - b);
  const index = new Map(xs.map((x, i) => [x, i]));
  const cols = series.map((s) => {
    const col: (number | null)[] = new Array(xs.length).fill(null);
    s.x.forEach((x, i) => (col[index.get(x) as number] = s.y[i]));
    return col;
  });
  return [xs, ...cols] as uPlot.AlignedData;
}

const fmtSI = (v: number) =>
  v >= 1e9 ? `${+(v / 1e9).toPrecision(3)}G` : v >= 1e6 ? `${+(v / 1e6).toPrecision(3)}M` : v >= 1e3 ? `${+(v / 1e3).toPrecision(3)}k` : `${+v.toPrecision(3)}`;

class Plot {
  private chart: uPlot | null = null;
  constructor(
    private readonly el: HTMLElement,
    private readonly height = 300,
  ) {
    new ResizeObserver(() => this.chart?.setSize({ width: this.width(), height: this.height })).observe(el);
  }
  private width(): number {
    return Math.max(300, this.el.clientWidth || 600);
  }
  draw(opts: Omit<uPlot.Options, 'width' | 'height'>, data: uPlot.AlignedData): void {
    this.chart?.destroy();
    this.chart = null;
    this.el.replaceChildren();
    if (data[0].length === 0) {
      this.el.textContent = 'no data yet';
      this.el.classList.add('empty');
      return;
    }
    this.el.classList.remove('empty');
    this.chart = new uPlot({ ...opts, width: this.width(), height: this.height }, data, this.el);
  }
}

/** Tick values on a log axis: 1-2-5 per decade, or every mantissa when the range is narrow. */
function logSplits(min: number, max: number): number[] {
  const pick = (mantissas: number[]) => {
    const out: number[] = [];
    for (let k = Math.floor(Math.log10(min)); k <= Math.ceil(Math.log10(max)); k++) {
      for (const m of mantissas) {
        const v = m * 10 ** k;
        if (v >= min && v <= max) out.push(v);
      }
    }
    return out;
  };
  const coarse = pick([1, 2, 5]);
  return coarse.length >= 3 ? coarse : pick([1, 2, 3, 4, 5, 6, 7, 8, 9]);
}

/** About five evenly spaced round values (for a loss axis that spans much less than a decade). */
function linearSplits(min: number, max: number): number[] {
  const raw = (max - min) / 5;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag;
  const out: number[] = [];
  for (let v = Math.ceil(min / step) * step; v <= max + 1e-12; v += step) out.push(+v.toPrecision(12));
  return out;
}

function logAxes(xLabel: string, yLabel: string): Pick<uPlot.Options, 'scales' | 'axes'> {
  return {
    // Ranges hug the data (a log scale would otherwise snap to whole decades and flatten the curve).
    scales: {
      x: { time: false, distr: 3, range: (_u, min, max) => [min / 1.15, max * 1.15] },
      y: { distr: 3, range: (_u, min, max) => [min / 1.02, max * 1.02] },
    },
    axes: [
      {
        label: xLabel,
        splits: (_u, _i, min, max) => logSplits(min, max),
        filter: (_u, splits) => splits,
        values: (_u, vals) => vals.map((v) => (v == null ? '' : fmtSI(v))),
      },
      {
        label: yLabel,
        size: 60,
        splits: (_u, _i, min, max) => (max / min > 3 ? logSplits(min, max) : linearSplits(min, max)),
        filter: (_u, splits) => splits, // uPlot labels only whole decades on log axes by default
        values: (_u, vals) => vals.map((v) => (v == null ? '' : (+v.toPrecision(3)).toString())),
      },
    ],
  };
}

const pointsOnly = (label: string, color: string, size = 8, fill = color): uPlot.Series => ({
  label,
  stroke: color,
  width: 0,
  paths: () => null,
  points: { show: true, size, stroke: color, fill, width: 2 },
});

export interface LossVsNInput {
  points: AnalysedPoint[];
  fit: PowerLawFit | null;
  power: PowerLawFit | null;
  /** 2.5% and 97.5% of the bootstrap refits' predictions on `bandN`. */
  band: { N: number[]; lo: number[]; hi: number[] } | null;
  /** For every finished run: what the fit predicted before it ran (NaN when there was no fit yet). */
  predictedBefore: { N: number; loss: number }[];
  /** The run in progress, placed at the current fit's prediction. */
  pending: { N: number; loss: number } | null;
  paramLabel: string;
  units: Units;
  /** The fit failed its checks (core/scaling/diagnostics.ts): the curve is drawn dashed and titled "not a scaling law". */
  notALaw?: boolean;
}

export class ScalingPlots {
  private readonly lossN: Plot;
  private readonly compute: Plot;
  private readonly iso: Plot;
  private readonly nopt: Plot;
  private readonly lr: Plot;

  constructor(els: { lossN: HTMLElement; compute: HTMLElement; iso: HTMLElement; nopt: HTMLElement; lr: HTMLElement }) {
    this.lr = new Plot(els.lr, 260);
    this.lossN = new Plot(els.lossN, 340);
    this.compute = new Plot(els.compute);
    this.iso = new Plot(els.iso, 260);
    this.nopt = new Plot(els.nopt, 260);
  }

  drawLossVsN(input: LossVsNInput): void {
    const u = scaleLoss(input.units);
    const Ns = [...input.points.map((p) => p.N), ...(input.pending ? [input.pending.N] : [])];
    const series: { x: number[]; y: (number | null)[] }[] = [];
    series.push({ x: input.points.map((p) => p.N), y: input.points.map((p) => u(p.loss)) });
    const grid = Ns.length ? logSpaced(Math.min(...Ns) / 1.5, Math.max(...Ns) * 2, 60) : [];
    const curve = (f: PowerLawFit | null) => ({ x: f ? grid : [], y: f ? grid.map((N) => u(predictPowerLaw(f, N))) : [] });
    series.push(curve(input.fit));
    series.push(curve(input.power));
    // No band around a fit that means nothing (its refits can run off by orders of magnitude and flatten the points).
    const band = input.notALaw ? null : input.band;
    series.push({ x: band?.N ?? [], y: (band?.lo ?? []).map(u) });
    series.push({ x: band?.N ?? [], y: (band?.hi ?? []).map(u) });
    const before = input.predictedBefore.filter((p) => Number.isFinite(p.loss));
    series.push({ x: before.map((p) => p.N), y: before.map((p) => u(p.loss)) });
    series.push({ x: input.pending && Number.isFinite(input.pending.loss) ? [input.pending.N] : [], y: input.pending ? [u(input.pending.loss)] : [] });
    const data = align(series);
    this.lossN.draw(
      {
        ...logAxes(`N (${input.paramLabel})`, `final val loss (${input.units === 'bpc' ? 'bpc' : 'nats'})`),
        ...(input.notALaw ? { title: `${NOT_A_SCALING_LAW}: the fit below describes these points only (see the problems under the plot)` } : {}),
        series: [
          {},
          pointsOnly('measured', '#1f2328', 9),
          input.notALaw
            ? { label: `fit E + (Nc/N)^α (${NOT_A_SCALING_LAW})`, stroke: '#dc2626', width: 1.5, dash: [4, 4], spanGaps: true }
            : { label: 'fit E + (Nc/N)^α', stroke: '#2563eb', width: 2, spanGaps: true },
          { label: 'pure power law', stroke: '#9ca3af', width: 1, dash: [6, 4], spanGaps: true },
          { label: 'band 2.5%', stroke: 'rgba(37,99,235,0.35)', width: 1, spanGaps: true },
          { label: 'band 97.5%', stroke: 'rgba(37,99,235,0.35)', width: 1, spanGaps: true },
          pointsOnly('predicted before it ran', '#ea580c', 9, '#ffffff'),
          pointsOnly('next run (predicted)', '#dc2626', 12, 'rgba(220,38,38,0.15)'),
        ],
        bands: [{ series: [5, 4], fill: 'rgba(37,99,235,0.12)' }],
      },
      data,
    );
  }

  drawLossVsCompute(runs: RunResult[], frontier: { flops: number; loss: number }[], units: Units): void {
    const u = scaleLoss(units);
    const sorted = [...runs].sort((a, b) => a.nonEmbeddingParams - b.nonEmbeddingParams || a.tokens - b.tokens || a.seed - b.seed);
    const series = sorted.map((r) => ({ x: r.curve.map((c) => r.flopsPerToken * c.tokens), y: r.curve.map((c) => u(c.trainLoss)) }));
    series.push({ x: frontier.map((f) => f.flops), y: frontier.map((f) => u(f.loss)) });
    const sizes = [...new Set(sorted.map((r) => r.sizeIndex))].sort((a, b) => a - b);
    this.compute.draw(
      {
        ...logAxes('compute C (exact training FLOPs)', `train loss (${units})`),
        series: [
          {},
          ...sorted.map((r) => ({
            label: r.id,
            stroke: PALETTE[sizes.indexOf(r.sizeIndex) % PALETTE.length],
            width: 1.2,
            spanGaps: true,
            points: { show: false },
          })),
          { label: 'frontier', stroke: '#111827', width: 3, dash: [2, 3], spanGaps: true, points: { show: false } },
        ],
        legend: { show: sorted.length <= 12 },
      },
      align(series),
    );
  }

  drawIsoFlops(iso: IsoFlopAnalysis, units: Units, paramLabel: string): void {
    const u = scaleLoss(units);
    const curves = iso.curves.filter((c) => c.points.length >= 2);
    const series = curves.map((c) => ({ x: c.points.map((p) => p.N), y: c.points.map((p) => u(p.loss)) }));
    this.iso.draw(
      {
        ...logAxes(`N (${paramLabel})`, `final val loss (${units})`),
        series: [
          {},
          ...curves.map((c, i) => ({
            label: `C = ${c.flops.toExponential(2)}`,
            stroke: PALETTE[i % PALETTE.length],
            width: 1.5,
            spanGaps: true,
            points: { show: true, size: 6 },
          })),
        ],
      },
      align(series),
    );
  }

  drawNopt(iso: IsoFlopAnalysis, joint: JointFit | null): void {
    const withOpt = iso.curves.filter((c) => c.Nopt !== null);
    const cs = iso.curves.map((c) => c.flops);
    const series: { x: number[]; y: (number | null)[] }[] = [{ x: withOpt.map((c) => c.flops), y: withOpt.map((c) => c.Nopt) }];
    let jointLine: { x: number[]; y: (number | null)[] } = { x: [], y: [] };
    if (joint && cs.length > 0 && joint.alpha > 0 && joint.beta > 0) {
      const grid = logSpaced(Math.min(...cs) / 2, Math.max(...cs) * 2, 30);
      jointLine = { x: grid, y: grid.map((C) => computeOptimal(joint, C).Nopt) };
    }
    series.push(jointLine);
    this.nopt.draw(
      {
        ...logAxes('compute C (FLOPs)', 'N_opt'),
        series: [
          {},
          pointsOnly('IsoFLOP minima (Approach 2)', '#ea580c', 9),
          { label: 'L(N, D) fit (Approach 3)', stroke: '#2563eb', width: 2, spanGaps: true },
        ],
      },
      align(series),
    );
  }

  /** Final validation loss against peak lr, one line per scanned size; rings mark the rule's lr, filled dots the best. */
  drawLrScan(scan: LrScanSummary, units: Units): void {
    const u = scaleLoss(units);
    const series: { x: number[]; y: (number | null)[] }[] = scan.sizes.map((z) => ({
      x: z.points.map((p) => p.lr),
      y: z.points.map((p) => (p.loss === null ? null : u(p.loss))),
    }));
    series.push({ x: scan.sizes.map((z) => z.ruleLr), y: scan.sizes.map((z) => u(z.points.find((p) => p.multiplier === 1)?.loss ?? null)) });
    series.push({ x: scan.sizes.map((z) => z.bestLr), y: scan.sizes.map((z) => u(z.points.find((p) => p.multiplier === z.bestMultiplier)?.loss ?? null)) });
    this.lr.draw(
      {
        ...logAxes('peak learning rate', `final val loss (${units})`),
        series: [
          {},
          ...scan.sizes.map((z, i) => ({
            label: `N = ${fmtSI(z.nonEmbeddingParams)}`,
            stroke: PALETTE[i % PALETTE.length],
            width: 1.5,
            spanGaps: true,
            points: { show: true, size: 5 },
          })),
          pointsOnly("the rule's lr", '#111827', 14, 'rgba(0,0,0,0)'),
          pointsOnly('best', '#dc2626', 7),
        ],
      },
      align(series),
    );
  }
}
