// Tables of the scaling page: the ladder (with per-run time estimates), the
// fitted constants next to the published ones, and the finished runs. DOM
// only; numbers come from core/scaling/ (sweep-plan.ts, sweep-estimate.ts, analysis.ts).

import { computeOptimal, type Interval } from '../../core/scaling/fit';
import { estimateRunSeconds, type Calibration } from '../../core/scaling/sweep-estimate';
import { epochWarning, planWarnings, type PlannedRun, type RunResult } from '../../core/scaling/sweep-plan';
import type { SweepSpec } from '../../core/scaling/sweep';
import { PUBLISHED, type Analysis } from '../../core/scaling/analysis';
import { NOT_A_SCALING_LAW } from '../../core/scaling/diagnostics';
import type { IsoFlopAnalysis } from '../../core/scaling/isoflops';
import type { ApproachResult } from '../../core/scaling/approaches';
import { formatDuration, formatParams } from '../../core/format';

export type Units = 'nats' | 'bpc';

function el<K extends keyof HTMLElementTagNameMap>(tag: K, text?: string, cls?: string): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  if (text !== undefined) e.textContent = text;
  if (cls) e.className = cls;
  return e;
}

function fillTable(table: HTMLTableElement, head: string[], rows: (string | HTMLElement)[][]): void {
  const thead = el('thead');
  const tr = el('tr');
  for (const h of head) tr.append(el('th', h));
  thead.append(tr);
  const tbody = el('tbody');
  for (const row of rows) {
    const r = el('tr');
    for (const cell of row) {
      const td = el('td');
      if (typeof cell === 'string') td.textContent = cell;
      else td.append(cell);
      r.append(td);
    }
    tbody.append(r);
  }
  table.replaceChildren(thead, tbody);
}

export const sci = (x: number, digits = 3): string => {
  if (!Number.isFinite(x)) return '–';
  return Math.abs(x) >= 1e5 || (Math.abs(x) < 1e-3 && x !== 0) ? x.toExponential(digits - 1) : (+x.toPrecision(digits)).toString();
};
const loss = (nats: number, units: Units) => (Number.isFinite(nats) ? (units === 'bpc' ? nats / Math.LN2 : nats).toFixed(4) : '–');
const ci = (i: Interval | undefined, digits = 3) => (i && Number.isFinite(i.lo) ? `[${sci(i.lo, digits)}, ${sci(i.hi, digits)}]` : '');

export function renderLadder(table: HTMLTableElement, runs: PlannedRun[], done: Set<string>, cal: Calibration | null): void {
  fillTable(
    table,
    // steps × batch: a short run trains on a halved batch to reach the sweep's minimum steps
    ['run', 'layers × width', 'heads', 'N non-emb', 'N total', 'tokens D', 'epochs', 'steps × batch', 'lr', 'C exact / 6ND', 'est. time', ''],
    runs.map((r) => [
      r.id,
      `${r.config.nLayer} × ${r.config.nEmbd}`,
      String(r.config.nHead),
      formatParams(r.nonEmbeddingParams),
      formatParams(r.params),
      formatParams(r.tokens),
      r.epochs.toFixed(2),
      `${r.config.maxIters} × ${r.config.batchSize}`,
      r.config.lr.toFixed(5),
      `${sci(r.flopsExact)} / ${sci(r.flops6ND)}`,
      cal ? formatDuration(estimateRunSeconds(r, cal)) : '–',
      done.has(r.id) ? '✓ done' : r.dataLimited ? '⚠ > 4 epochs' : '',
    ]),
  );
}

export function ladderWarnings(spec: SweepSpec, runs: PlannedRun[]): string {
  const w = runs.map(epochWarning).filter((x): x is string => x !== null);
  const lr = planWarnings(spec, runs).filter((x) => !w.includes(x));
  return [w.length ? `${w.length} run(s) repeat the text more than ~4 times: ${w[0]}` : '', ...lr].filter((x) => x).join('; ');
}

export function renderConstants(table: HTMLTableElement, a: Analysis | null, units: Units, iso: IsoFlopAnalysis | null): void {
  const k = PUBLISHED.kaplan,
    c = PUBLISHED.chinchilla,
    b = PUBLISHED.besiroglu;
  const f = a?.fit ?? null;
  const u = units === 'bpc' ? 1 / Math.LN2 : 1;
  const scaledCi = (i: Interval | undefined) => (i ? { lo: i.lo * u, hi: i.hi * u } : undefined);
  // A fit that failed its checks: its constants are shown as "not a scaling law", the figures only in brackets.
  const law = !a || a.diagnosis.valid;
  const value = (x: string, interval: string): [string, string] => (law || x === '–' ? [x, interval] : [NOT_A_SCALING_LAW, `(fit: ${x} ${interval})`]);
  const rows: string[][] = [
    [`E (${units}, irreducible)`, ...value(f ? sci(f.E * u, 4) : '–', ci(scaledCi(f?.intervals.E), 4)), '–', String(c.E), String(b.E)],
    ['N_c', ...value(f ? sci(f.Nc) : '–', ci(f?.intervals.Nc)), sci(k.Nc), '–', '–'],
    ['α (L vs N)', ...value(f ? sci(f.alpha) : '–', ci(f?.intervals.alpha)), String(k.alphaN), String(c.alpha), String(b.alpha)],
    ['α, pure power law', ...value(a?.power ? sci(a.power.alpha) : '–', ci(a?.power?.intervals.alpha)), String(k.alphaN), '–', '–'],
  ];
  if (a?.heldOut) {
    const h = a.heldOut;
    rows.push([
      `held-out N = ${formatParams(h.params)}: predicted / measured`,
      `${loss(h.predicted, units)} / ${loss(h.measured, units)}`,
      `error ${(100 * h.error).toFixed(2)}%`,
      '',
      '',
      '',
    ]);
  }
  for (const s of a?.seedNoise ?? [])
    rows.push([`seed noise at N = ${formatParams(s.N)}`, `sd ${loss(s.sd, units)}`, `${(100 * s.relSd).toFixed(2)}% (${s.runs} seeds)`, '', '', '']);
  const j = a?.joint;
  if (j) {
    rows.push(
      ['L(N,D): A', sci(j.A), ci(j.intervals.A), '–', String(c.A), String(b.A)],
      ['L(N,D): B', sci(j.B), ci(j.intervals.B), '–', String(c.B), String(b.B)],
      ['L(N,D): α', sci(j.alpha), ci(j.intervals.alpha), '–', String(c.alpha), String(b.alpha)],
      ['L(N,D): β', sci(j.beta), ci(j.intervals.beta), String(k.alphaD), String(c.beta), String(b.beta)],
      [`L(N,D): E (${units})`, sci(j.E * u, 4), ci(scaledCi(j.intervals.E), 4), '–', String(c.E), String(b.E)],
      ['N_opt ∝ C^a', sci(j.a), ci(j.intervals.a), '0.73', String(c.a), String(b.a)],
      [`tokens / param at C = ${sci(j.referenceCompute ?? NaN)}`, sci(tokensPerParamAt(j)), ci(j.intervals.tokensPerParam), '–', '≈ 20', '≈ 20'],
    );
  }
  if (iso?.a != null) rows.push(['N_opt ∝ C^a (IsoFLOP, Approach 2)', sci(iso.a), '', '0.73', '0.49', '–']);
  fillTable(table, ['', 'this sweep', '95% interval', 'Kaplan 2020', 'Chinchilla 2022', 'Besiroglu 2024'], rows);
  if (!law && a) {
    // Why, one line per failed check, above the table.
    const caption = el('caption', undefined, 'not-a-law');
    caption.append(el('strong', `${NOT_A_SCALING_LAW[0].toUpperCase()}${NOT_A_SCALING_LAW.slice(1)}:`));
    const list = el('ul');
    for (const p of a.diagnosis.problems) list.append(el('li', p.message));
    caption.append(list);
    table.prepend(caption);
  }
}

export function renderRuns(table: HTMLTableElement, runs: RunResult[], a: Analysis | null, predicted: Record<string, number>, units: Units): void {
  const residual = new Map((a?.points ?? []).map((p) => [p.runId, p.residual]));
  const sorted = [...runs].sort((x, y) => x.nonEmbeddingParams - y.nonEmbeddingParams || x.tokens - y.tokens || x.seed - y.seed);
  fillTable(
    table,
    [
      'run',
      'N non-emb',
      'N total',
      'D',
      'epochs',
      'C 6ND',
      'C exact',
      `train (${units})`,
      `val (${units})`,
      'predicted before',
      'residual',
      'wall',
      'backend',
      'seed',
    ],
    sorted.map((r) => {
      const res = residual.get(r.id);
      return [
        r.id,
        formatParams(r.nonEmbeddingParams),
        formatParams(r.params),
        formatParams(r.tokens),
        r.epochs.toFixed(2) + (r.dataLimited ? ' ⚠' : ''),
        sci(r.flops6ND),
        sci(r.flopsExact),
        loss(r.trainLoss, units),
        loss(r.valLoss, units),
        predicted[r.id] !== undefined ? loss(predicted[r.id], units) : '–',
        res === undefined ? '–' : (res >= 0 ? '+' : '') + res.toFixed(4),
        formatDuration(r.wallSec),
        r.backend,
        String(r.seed),
      ];
    }),
  );
}

/** Chinchilla's three approaches: N_opt ∝ C^a with 95% bootstrap intervals (Chinchilla 2022's values for scale). */
export function renderApproaches(table: HTMLTableElement, approaches: ApproachResult[]): void {
  const published: Record<number, string> = { 1: '0.50', 2: '0.49', 3: '0.46 (Besiroglu: 0.51)' };
  fillTable(
    table,
    ['approach', 'a', '95% interval', 'what it rests on', 'Chinchilla 2022'],
    approaches.map((x) => [`${x.approach}. ${x.name}`, x.a === null ? '–' : sci(x.a), x.interval ? ci(x.interval) : '–', x.note, published[x.approach]]),
  );
}

function tokensPerParamAt(j: NonNullable<Analysis['joint']>): number {
  try {
    return computeOptimal(j, j.referenceCompute ?? NaN).tokensPerParam;
  } catch {
    return NaN; // no interior optimum (an exponent <= 0)
  }
}
