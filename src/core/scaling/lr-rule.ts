// The sweep's default learning-rate rule: Kaplan's lr(N) times a multiplier that
// depends on the size N and on the tokens per run D, fitted to lr scans at several
// budgets at both ends of the ladder, on Tiny Shakespeare and on builtin-small.
//
// Why: Kaplan's eq. D.1 was fitted on BPE models of 1e5..1e9 parameters and long runs.
// For tiny character models the best lr is several times higher, moves with N faster
// than Kaplan's ln N term (standard parametrisation), and moves with the run's length:
// a fixed Kaplan x 8 calibrated on 1M-token runs is too high at 150k tokens on Tiny
// Shakespeare's largest sizes (larger models came out worse).
//
// The rule: ln m = c0 + cD ln(D / 1e6) + cN ln(N / 1e4), least squares over the scans'
// best multipliers; outside the calibrated ranges of D and N the multiplier is held at
// the range's edge and the sweep says so (check with --lr-scan). The warmup is part of
// the calibration: the scans ran with warmup = warmupFraction of each run's steps, and
// a sweep with another warmup is outside it too. Pure TypeScript.

import type { RunResult } from './sweep-plan';
import type { SweepResults } from './sweep-results';
import { solve3 } from './isoflops';

/** One scan: the losses of one size at one budget on one text over several lrs, and the best multiplier of Kaplan's lr. */
export interface LrScanGroup {
  corpus: string;
  tokens: number;
  nonEmbeddingParams: number;
  /** The runs' own batch (the spec's, or halved to reach the sweep's minimum steps). */
  batchSize: number;
  /** (multiplier of Kaplan's lr, mean final validation loss over seeds); null = diverged. */
  points: { m: number; loss: number | null }[];
  /** Best multiplier: the lowest loss, refined by a parabola in ln m through it and its neighbours. */
  best: number;
  /** The lowest loss is at the scan's highest or lowest lr: the optimum may lie further out. */
  atEdge: boolean;
}

export interface LrCalibration {
  /** What the scans held fixed: a sweep that differs is outside the calibration. */
  warmupFraction: number;
  batchSize: number;
  blockSize: number;
  /** ln m = c0 + cD ln(D / 1e6) + cN ln(N / 1e4). */
  c0: number;
  cD: number;
  cN: number;
  /** The calibrated ranges: tokens per run and non-embedding N. */
  tokens: [number, number];
  params: [number, number];
  /** Root-mean-square residual of ln m over the scans (how far a scan's best sits from the rule). */
  rmsLn: number;
  scans: LrScanGroup[];
}

export const kaplanLrOf = (N: number): number => 0.003239 - 0.0001395 * Math.log(N);

/**
 * The calibration from results files (lr-scan runs and main runs alike): runs of one text,
 * budget and size at 3 or more lrs form a scan. Files must share batch, block and warmup.
 */
export function calibrateLrRule(files: SweepResults[]): LrCalibration {
  if (files.length === 0) throw new Error('calibrateLrRule needs results files with lr scans');
  const { warmupFraction, batchSize, blockSize } = files[0].spec;
  for (const f of files) {
    if (f.spec.warmupFraction !== warmupFraction || f.spec.batchSize !== batchSize || f.spec.blockSize !== blockSize) {
      throw new Error(`calibrateLrRule: the files must share warmupFraction, batchSize and blockSize (${f.corpus.source} differs)`);
    }
  }
  // (text, D, N, shape, run batch) -> lr multiplier -> loss per seed (a run in two files counts once).
  const groups = new Map<string, { corpus: string; tokens: number; N: number; batchSize: number; byM: Map<string, Map<number, number | null>> }>();
  for (const f of files) {
    const runs: RunResult[] = [...f.runs, ...(f.lrScan ?? [])];
    for (const r of runs) {
      // the run's own batch in the key: scans under different minimum-step rules are different scans
      const key = `${f.corpus.sha256}/${r.tokens}/${r.nonEmbeddingParams}/${r.config.nLayer}x${r.config.nEmbd}/b${r.config.batchSize}`;
      const g = groups.get(key) ?? { corpus: f.spec.corpus, tokens: r.tokens, N: r.nonEmbeddingParams, batchSize: r.config.batchSize, byM: new Map() };
      // the multiplier at the spec's batch: a shorter run's smaller batch took sqrt(b / B) of it (sweep-plan.ts)
      const m = r.config.lr / kaplanLrOf(r.nonEmbeddingParams) / Math.sqrt(r.config.batchSize / f.spec.batchSize);
      const mKey = m.toPrecision(6);
      const seeds = g.byM.get(mKey) ?? new Map<number, number | null>();
      if (!seeds.has(r.seed)) seeds.set(r.seed, r.diverged || !(r.valLoss > 0) ? null : r.valLoss);
      g.byM.set(mKey, seeds);
      groups.set(key, g);
    }
  }
  const scans: LrScanGroup[] = [];
  for (const g of groups.values()) {
    if (g.byM.size < 3) continue;
    const points = [...g.byM.entries()]
      .map(([m, seeds]) => {
        const ls = [...seeds.values()];
        return { m: Number(m), loss: ls.some((l) => l === null) ? null : (ls as number[]).reduce((a, b) => a + b, 0) / ls.length };
      })
      .sort((a, b) => a.m - b.m);
    const finite = points.map((p, i) => ({ ...p, i })).filter((p): p is { m: number; loss: number; i: number } => p.loss !== null);
    if (finite.length < 2) continue;
    const b = finite.reduce((x, y) => (y.loss < x.loss ? y : x));
    const atEdge = b.i === 0 || b.i === points.length - 1 || points[b.i - 1].loss === null || points[b.i + 1].loss === null;
    const best = atEdge ? b.m : parabolaVertex(points[b.i - 1] as { m: number; loss: number }, b, points[b.i + 1] as { m: number; loss: number });
    scans.push({ corpus: g.corpus, tokens: g.tokens, nonEmbeddingParams: g.N, batchSize: g.batchSize, points, best, atEdge });
  }
  scans.sort((a, b) => a.corpus.localeCompare(b.corpus) || a.tokens - b.tokens || a.nonEmbeddingParams - b.nonEmbeddingParams || a.batchSize - b.batchSize);
  if (scans.length < 3) throw new Error(`calibrateLrRule needs 3 or more scans (a size at one budget with 3+ lrs); found ${scans.length}`);
  // Least squares for [c0, cD, cN].
  const X = scans.map((s) => [1, Math.log(s.tokens / 1e6), Math.log(s.nonEmbeddingParams / 1e4)]);
  const y = scans.map((s) => Math.log(s.best));
  const c = leastSquares3(X, y);
  const res = y.map((v, i) => v - (c[0] + c[1] * X[i][1] + c[2] * X[i][2]));
  return {
    warmupFraction,
    batchSize,
    blockSize,
    c0: c[0],
    cD: c[1],
    cN: c[2],
    tokens: [Math.min(...scans.map((s) => s.tokens)), Math.max(...scans.map((s) => s.tokens))],
    params: [Math.min(...scans.map((s) => s.nonEmbeddingParams)), Math.max(...scans.map((s) => s.nonEmbeddingParams))],
    rmsLn: Math.sqrt(res.reduce((a, r) => a + r * r, 0) / res.length),
    scans,
  };
}

/** The rule's multiplier of Kaplan's lr at N and D, held at the calibrated range's edges. */
export function budgetMultiplier(cal: Pick<LrCalibration, 'c0' | 'cD' | 'cN' | 'tokens' | 'params'>, N: number, D: number): number {
  const clamp = (x: number, [lo, hi]: [number, number]) => Math.min(hi, Math.max(lo, x));
  return Math.exp(cal.c0 + cal.cD * Math.log(clamp(D, cal.tokens) / 1e6) + cal.cN * Math.log(clamp(N, cal.params) / 1e4));
}

/** Why a sweep is outside the rule's calibration (one line, with the fix), or null. */
export function budgetRuleWarning(
  cal: Pick<LrCalibration, 'tokens' | 'params' | 'warmupFraction' | 'batchSize' | 'blockSize'>,
  spec: { warmupFraction: number; batchSize: number; blockSize: number },
  runs: { tokens: number; nonEmbeddingParams: number }[],
): string | null {
  const out: string[] = [];
  const k = (x: number) => (x >= 1e6 ? `${+(x / 1e6).toPrecision(3)}M` : `${+(x / 1e3).toPrecision(3)}k`);
  const Ds = runs.map((r) => r.tokens),
    Ns = runs.map((r) => r.nonEmbeddingParams);
  const [d0, d1] = cal.tokens,
    [n0, n1] = cal.params;
  const slack = 1.05; // a rounding of the step count is not "outside"
  if (Ds.some((d) => d < d0 / slack || d > d1 * slack)) out.push(`tokens per run ${k(Math.min(...Ds))}..${k(Math.max(...Ds))} (calibrated ${k(d0)}..${k(d1)})`);
  if (Ns.some((n) => n < n0 / slack || n > n1 * slack)) out.push(`sizes ${k(Math.min(...Ns))}..${k(Math.max(...Ns))} (calibrated ${k(n0)}..${k(n1)})`);
  if (spec.warmupFraction !== cal.warmupFraction) out.push(`warmup ${spec.warmupFraction} of each run (calibrated ${cal.warmupFraction})`);
  if (spec.batchSize !== cal.batchSize || spec.blockSize !== cal.blockSize)
    out.push(`batch ${spec.batchSize} x block ${spec.blockSize} (calibrated ${cal.batchSize} x ${cal.blockSize})`);
  if (!runs.length || !out.length) return null;
  return `the lr rule is used outside its calibration: ${out.join('; ')}; its multiplier is held at the calibrated edge there, so check the lr with --lr-scan`;
}

/** Vertex of the parabola through three (ln m, loss) points, kept between the outer two. */
function parabolaVertex(a: { m: number; loss: number }, b: { m: number; loss: number }, c: { m: number; loss: number }): number {
  const [x1, x2, x3] = [Math.log(a.m), Math.log(b.m), Math.log(c.m)];
  const [y1, y2, y3] = [a.loss, b.loss, c.loss];
  const den = (x1 - x2) * (x1 - x3) * (x2 - x3);
  const A = (x3 * (y2 - y1) + x2 * (y1 - y3) + x1 * (y3 - y2)) / den;
  const B = (x3 * x3 * (y1 - y2) + x2 * x2 * (y3 - y1) + x1 * x1 * (y2 - y3)) / den;
  if (!(A > 0)) return b.m;
  return Math.exp(Math.min(x3, Math.max(x1, -B / (2 * A))));
}

/** Least squares for 3 coefficients: the normal equations X'X c = X'y, solved by isoflops.ts' solve3. */
function leastSquares3(X: number[][], y: number[]): number[] {
  const M = [0, 1, 2].map((i) => [0, 1, 2].map((j) => X.reduce((s, row) => s + row[i] * row[j], 0)));
  const v = [0, 1, 2].map((i) => X.reduce((s, row, k) => s + row[i] * y[k], 0));
  const c = solve3(M, v);
  if (!c) throw new Error('calibrateLrRule: the scans do not separate D from N (need 2+ budgets and 2+ sizes)');
  return c;
}
