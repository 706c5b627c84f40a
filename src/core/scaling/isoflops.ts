// Loss against compute: the frontier of the lowest loss reached at each compute, and
// IsoFLOP curves with their parabola minima (Chinchilla Approach 2). The per-size
// loss-vs-FLOPs curves and the log-log slope here serve approaches.ts as well.
// Pure TypeScript.

import type { ParamKind } from './analysis';
import type { RunResult } from './sweep-plan';

/**
 * Loss-vs-compute frontier: the lowest training loss any run reached at or below each
 * compute (exact FLOPs). Training loss, because every curve point has one (at about one
 * epoch it tracks the validation loss).
 */
export function computeFrontier(runs: RunResult[]): { flops: number; loss: number; runId: string }[] {
  const pts = runs.flatMap((r) => r.curve.map((c) => ({ flops: r.flopsPerToken * c.tokens, loss: c.trainLoss, runId: r.id })));
  pts.sort((a, b) => a.flops - b.flops);
  const frontier: { flops: number; loss: number; runId: string }[] = [];
  let best = Infinity;
  for (const p of pts) {
    if (p.loss < best) {
      best = p.loss;
      frontier.push(p);
    }
  }
  return frontier;
}

export interface IsoFlopCurve {
  /** Exact training FLOPs of this curve. */
  flops: number;
  /** Final validation loss per size at this compute (interpolated in ln D between a size's budgets). */
  points: { N: number; loss: number }[];
  /** Minimum of a parabola in ln N through the points (Chinchilla Approach 2), when it has one inside the range. */
  Nopt: number | null;
}

export interface IsoFlopAnalysis {
  curves: IsoFlopCurve[];
  /** N_opt ∝ C^a fitted over the curves with an optimum (least squares in log space), when there are 2 or more. */
  a: number | null;
}

export interface SizeCurve {
  N: number;
  lnC: number[];
  loss: number[];
}

/** Per size with 2+ token budgets: final validation loss (mean over seeds) against ln exact FLOPs. */
export function sizeCurves(runs: RunResult[], paramKind: ParamKind): SizeCurve[] {
  const bySize = new Map<number, RunResult[]>();
  for (const r of runs) bySize.set(r.sizeIndex, [...(bySize.get(r.sizeIndex) ?? []), r]);
  const out: SizeCurve[] = [];
  for (const group of bySize.values()) {
    const byTokens = new Map<number, RunResult[]>();
    for (const r of group) byTokens.set(r.tokens, [...(byTokens.get(r.tokens) ?? []), r]);
    if (byTokens.size < 2) continue;
    const rows = [...byTokens.values()]
      .map((g) => ({ lnC: Math.log(g[0].flopsExact), loss: g.reduce((s, r) => s + r.valLoss, 0) / g.length }))
      .sort((a, b) => a.lnC - b.lnC);
    out.push({ N: paramKind === 'total' ? group[0].params : group[0].nonEmbeddingParams, lnC: rows.map((r) => r.lnC), loss: rows.map((r) => r.loss) });
  }
  return out.sort((a, b) => a.N - b.N);
}

/** Loss of a size at ln C by linear interpolation in ln C, or null outside its budgets. */
export function lossAt(s: SizeCurve, lnC: number): number | null {
  if (lnC < s.lnC[0] || lnC > s.lnC[s.lnC.length - 1]) return null;
  let i = 0;
  while (i < s.lnC.length - 2 && lnC > s.lnC[i + 1]) i++;
  const t = (lnC - s.lnC[i]) / (s.lnC[i + 1] - s.lnC[i]);
  return s.loss[i] + t * (s.loss[i + 1] - s.loss[i]);
}

/** Least-squares slope of ln y on ln x; null with fewer than 2 distinct x. */
export function logSlope(pts: { C: number; Nopt: number }[]): number | null {
  if (pts.length < 2) return null;
  const xs = pts.map((p) => Math.log(p.C)),
    ys = pts.map((p) => Math.log(p.Nopt));
  const mx = xs.reduce((a, b) => a + b, 0) / xs.length,
    my = ys.reduce((a, b) => a + b, 0) / ys.length;
  const sxx = xs.reduce((s, x) => s + (x - mx) ** 2, 0);
  if (!(sxx > 0)) return null;
  return xs.reduce((s, x, i) => s + (x - mx) * (ys[i] - my), 0) / sxx;
}

/**
 * IsoFLOP curves from a sweep with several token budgets per size: for compute levels
 * spaced geometrically over the range every size can reach by interpolation, the loss of
 * each size at that compute, a parabola's minimum in ln N, and the exponent of N_opt(C).
 */
export function isoFlops(runs: RunResult[], paramKind: ParamKind = 'nonEmbedding', levels = 5): IsoFlopAnalysis {
  // Per size: (ln C, mean final val loss over seeds) sorted by C.
  const sizes = sizeCurves(runs, paramKind);
  if (sizes.length < 3) return { curves: [], a: null };
  const lo = Math.min(...sizes.map((s) => s.lnC[0]));
  const hi = Math.max(...sizes.map((s) => s.lnC[s.lnC.length - 1]));
  const curves: IsoFlopCurve[] = [];
  for (let k = 0; k < levels; k++) {
    const lnC = lo + ((hi - lo) * (k + 0.5)) / levels;
    const points: { N: number; loss: number }[] = [];
    for (const s of sizes) {
      const loss = lossAt(s, lnC);
      if (loss !== null) points.push({ N: s.N, loss });
    }
    points.sort((a, b) => a.N - b.N);
    curves.push({ flops: Math.exp(lnC), points, Nopt: parabolaMinimum(points) });
  }
  const withOpt = curves.filter((c) => c.Nopt !== null).map((c) => ({ C: c.flops, Nopt: c.Nopt as number }));
  return { curves, a: logSlope(withOpt) };
}

/** Least-squares parabola loss = c0 + c1 u + c2 u² in u = ln N; its minimum N if convex and inside the points' range. */
export function parabolaMinimum(points: { N: number; loss: number }[]): number | null {
  if (points.length < 3) return null;
  const u = points.map((p) => Math.log(p.N)),
    y = points.map((p) => p.loss);
  const mu = u.reduce((a, b) => a + b, 0) / u.length;
  const x = u.map((v) => v - mu); // centred for conditioning
  // Normal equations for [c0, c1, c2].
  const S = (k: number) => x.reduce((s, v) => s + v ** k, 0);
  const T = (k: number) => x.reduce((s, v, i) => s + v ** k * y[i], 0);
  const M = [
    [S(0), S(1), S(2)],
    [S(1), S(2), S(3)],
    [S(2), S(3), S(4)],
  ];
  const c = solve3(M, [T(0), T(1), T(2)]);
  if (!c || !(c[2] > 0)) return null;
  const xMin = -c[1] / (2 * c[2]);
  if (xMin < Math.min(...x) || xMin > Math.max(...x)) return null;
  return Math.exp(xMin + mu);
}

/** Solve the 3x3 system M c = b (Gaussian elimination, partial pivoting); null when M is singular. */
export function solve3(M: number[][], b: number[]): number[] | null {
  const A = M.map((row, i) => [...row, b[i]]);
  for (let col = 0; col < 3; col++) {
    let piv = col;
    for (let r = col + 1; r < 3; r++) if (Math.abs(A[r][col]) > Math.abs(A[piv][col])) piv = r;
    if (Math.abs(A[piv][col]) < 1e-12) return null;
    [A[col], A[piv]] = [A[piv], A[col]];
    for (let r = 0; r < 3; r++) {
      if (r === col) continue;
      const f = A[r][col] / A[col][col];
      for (let k = col; k < 4; k++) A[r][k] -= f * A[col][k];
    }
  }
  return [A[0][3] / A[0][0], A[1][3] / A[1][1], A[2][3] / A[2][2]];
}
