// When a fit means nothing. Before the constants of L(N) = E + (Nc/N)^α are shown as a
// result, the points and the fit are checked against what a scaling curve must look
// like; each failed check is one line saying what failed, the likely cause and the fix.
// A fit with any problem is "not a scaling law": its constants describe these points
// and nothing else. The fitter can be exactly right and the data still not a curve
// (e.g. an lr too high for short runs makes larger models worse). Pure TypeScript.

import type { Interval, PowerLawFit } from './fit';
import { MIN_SIZES, MIN_SPAN } from './sweep';

export type CheckId = 'ladder' | 'not-falling' | 'no-fit' | 'alpha' | 'bounds' | 'held-out';

export interface Problem {
  check: CheckId;
  /** One line: what failed, with its figures; the likely cause; the fix. */
  message: string;
}

export interface Diagnosis {
  /** No check failed: the constants may be read as a scaling law. */
  valid: boolean;
  problems: Problem[];
}

/** Loss must fall with N: Spearman's rank correlation of size and loss at most this. */
export const MAX_RANK_CORRELATION = -0.7;
/** A held-out miss beyond this many seed standard deviations is not noise. */
export const MAX_HELD_OUT_SDS = 3;
/**
 * Without seed repeats, the seed sd assumed for the held-out check, relative to the loss:
 * the committed sweeps measured 0.5% to 1.1% at 1M tokens per run (more at fewer tokens).
 */
export const ASSUMED_REL_SEED_SD = 0.01;
/**
 * The region the fitted constants can mean something in. The optimiser itself is
 * unbounded in log space, so E → 0 (ln E → −∞) and α → 0 or α very large are where it
 * runs off; an interval that reaches them says the points do not pin that constant.
 */
export const E_FLOOR_FRACTION = 1e-3; // E below this fraction of the best loss: "E = 0"
export const ALPHA_MAX = 10;

export interface DiagnosisInput {
  /** The L(N) points: N (the fitted parameter count), loss, and the non-embedding N for the ladder check. */
  points: { N: number; nonEmbedding: number; loss: number }[];
  fit: PowerLawFit | null;
  fitError?: string;
  heldOut: { params: number; predicted: number; measured: number; error: number; sd: number | null; sds: number | null } | null;
  heldOutError?: string;
  /** The spec's own test-fixture marker: such a ladder is allowed to be small. */
  testOnly?: boolean;
}

const pct = (x: number) => (Math.abs(x) >= 100 ? `${(100 * x).toExponential(2)}%` : `${(100 * x).toFixed(1)}%`);
const f4 = (x: number) => (Number.isFinite(x) ? (Math.abs(x) >= 1e5 || (Math.abs(x) < 1e-3 && x !== 0) ? x.toExponential(3) : x.toPrecision(4)) : String(x));
const iv = (i: Interval) => `[${f4(i.lo)}, ${f4(i.hi)}]`;

/** Spearman's rank correlation (average ranks for ties); NaN with fewer than 3 points. */
export function rankCorrelation(x: number[], y: number[]): number {
  if (x.length < 3) return NaN;
  const ranks = (v: number[]) => {
    const order = v.map((value, i) => ({ value, i })).sort((a, b) => a.value - b.value);
    const r = new Array<number>(v.length);
    for (let s = 0; s < order.length;) {
      let e = s;
      while (e + 1 < order.length && order[e + 1].value === order[s].value) e++;
      for (let k = s; k <= e; k++) r[order[k].i] = (s + e) / 2 + 1;
      s = e + 1;
    }
    return r;
  };
  const rx = ranks(x),
    ry = ranks(y);
  const m = (v: number[]) => v.reduce((a, b) => a + b, 0) / v.length;
  const mx = m(rx),
    my = m(ry);
  let sxy = 0,
    sxx = 0,
    syy = 0;
  for (let i = 0; i < rx.length; i++) {
    sxy += (rx[i] - mx) * (ry[i] - my);
    sxx += (rx[i] - mx) ** 2;
    syy += (ry[i] - my) ** 2;
  }
  return sxx > 0 && syy > 0 ? sxy / Math.sqrt(sxx * syy) : NaN;
}

export function diagnose(input: DiagnosisInput): Diagnosis {
  const problems: Problem[] = [];
  const add = (check: CheckId, message: string) => problems.push({ check, message });

  // Per size: mean loss over seeds.
  const bySize = new Map<number, { nonEmbedding: number; losses: number[] }>();
  for (const p of input.points) {
    const g = bySize.get(p.N) ?? { nonEmbedding: p.nonEmbedding, losses: [] };
    g.losses.push(p.loss);
    bySize.set(p.N, g);
  }
  const sizes = [...bySize.entries()]
    .map(([N, g]) => ({ N, nonEmbedding: g.nonEmbedding, loss: g.losses.reduce((a, b) => a + b, 0) / g.losses.length }))
    .sort((a, b) => a.N - b.N);

  // 1. The protocol's ladder: enough sizes over a wide enough span.
  if (!input.testOnly && sizes.length > 0) {
    const span = sizes[sizes.length - 1].nonEmbedding / sizes[0].nonEmbedding;
    if (sizes.length < MIN_SIZES || span < MIN_SPAN) {
      add(
        'ladder',
        `the ladder has ${sizes.length} sizes over a ${span.toFixed(1)}x span in non-embedding parameters (the protocol needs ${MIN_SIZES}+ sizes over ${MIN_SPAN}x+): too few points to separate E from the power law; fix: a wider ladder (--sizes ${MIN_SIZES} or more, --max-params at least ${MIN_SPAN}x --min-params)`,
      );
    }
  }

  // 2. Loss must fall with N.
  if (sizes.length >= 2) {
    const rho = rankCorrelation(
      sizes.map((s) => s.N),
      sizes.map((s) => s.loss),
    );
    const first = sizes[0],
      last = sizes[sizes.length - 1];
    const worseAtTop = last.loss >= first.loss;
    if (worseAtTop || rho > MAX_RANK_CORRELATION) {
      const what = worseAtTop
        ? `the largest size (${last.N.toLocaleString('en-US')}: ${last.loss.toFixed(4)}) is not better than the smallest (${first.N.toLocaleString('en-US')}: ${first.loss.toFixed(4)})`
        : `loss does not fall steadily with N (rank correlation ${rho.toFixed(2)}, needs ${MAX_RANK_CORRELATION} or below)`;
      add(
        'not-falling',
        `${what}: likely too few steps per run (the loss then says when each size left the plateau of character-pair statistics, which is seed luck) or an lr too high (or too low) for this many tokens per run; fix: more steps (--min-steps) or tokens (--tokens) per run, an lr scan at this budget (--lr-scan), or seeds (--repeat-seeds)`,
      );
    }
  }

  // 3. The fit itself.
  const fit = input.fit;
  if (!fit) {
    add('no-fit', `no E + power-law fit (${input.fitError ?? 'not enough runs'}); fix: more sizes in the ladder (--sizes)`);
  } else {
    if (!(fit.alpha > 0)) {
      add(
        'alpha',
        `α = ${f4(fit.alpha)} is not positive: the fitted loss does not fall with N, so these points are not a power law in N; fix: an lr scan at this budget (--lr-scan) and more tokens per run (--tokens)`,
      );
    }
    const best = Math.min(...sizes.map((s) => s.loss));
    const bad: string[] = [];
    const { E, alpha } = fit.intervals;
    if (Number.isFinite(alpha.lo) && (alpha.lo <= 0 || alpha.hi > ALPHA_MAX))
      bad.push(`α ${iv(alpha)} reaches ${alpha.lo <= 0 ? '0 or below' : `past ${ALPHA_MAX}`}`);
    if (fit.E > 0 && Number.isFinite(E.lo) && E.lo < E_FLOOR_FRACTION * best) bad.push(`E ${iv(E)} reaches 0`);
    if (fit.bootstrapSamples > 0 && !Number.isFinite(alpha.lo)) bad.push('the bootstrap gave no interval');
    if (bad.length) {
      add(
        'bounds',
        `the 95% intervals run to the edge of what a fit can mean (${bad.join('; ')}): the points do not pin the curve, usually because it has not bent yet or the losses are noisy; fix: a wider ladder (--min-params lower, --max-params higher), more tokens per run, or seeds (--repeat-seeds)`,
      );
    }
  }

  // 4. The held-out largest size, against the seed-to-seed noise.
  const h = input.heldOut;
  if (h) {
    const sd = h.sd !== null && h.sd > 0 ? h.sd : ASSUMED_REL_SEED_SD * h.measured;
    const sds = Math.abs(h.predicted - h.measured) / sd;
    if (!Number.isFinite(sds) || sds > MAX_HELD_OUT_SDS) {
      const noise = h.sd !== null && h.sd > 0 ? `seed sd ${h.sd.toFixed(4)}` : `no seed repeats, so an assumed seed sd of ${pct(ASSUMED_REL_SEED_SD)}`;
      add(
        'held-out',
        `the fit without the largest size predicts it at ${f4(h.predicted)} against ${h.measured.toFixed(4)} measured (${h.error >= 0 ? '+' : ''}${pct(h.error)}, ${!Number.isFinite(sds) ? '∞' : sds >= 1e4 ? sds.toExponential(2) : sds.toFixed(1)} seed sd; ${noise}; allowed ${MAX_HELD_OUT_SDS}): the curve does not extrapolate, often the lr at the largest size or too few tokens for it; fix: an lr scan (--lr-scan), more tokens per run, or seeds at the ends (--repeat-seeds 2 --repeat-sizes 0,${Math.max(0, sizes.length - 1)})`,
      );
    }
  }
  return { valid: problems.length === 0, problems };
}

/** The words the CLI and the page show in place of constants that mean nothing. */
export const NOT_A_SCALING_LAW = 'not a scaling law';
