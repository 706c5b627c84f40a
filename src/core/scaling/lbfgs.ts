// The optimiser behind the scaling-law fits (fit-power.ts, fit-joint.ts): L-BFGS with
// Armijo backtracking, run from several starts, and the grids those starts come from.
// Small and dense: our problems have 2–5 parameters. Pure TypeScript, deterministic.

/** Returns f(x) and writes ∇f(x) into grad. */
export type Objective = (x: Float64Array, grad: Float64Array) => number;

export interface Minimum {
  x: Float64Array;
  f: number;
}

function dot(u: Float64Array, v: Float64Array): number {
  let s = 0;
  for (let i = 0; i < u.length; i++) s += u[i] * v[i];
  return s;
}

function lbfgs(objective: Objective, x0: ArrayLike<number>, maxIter = 500, memory = 8): Minimum {
  const n = x0.length;
  let x = Float64Array.from(x0);
  let g = new Float64Array(n);
  let f = objective(x, g);
  if (!Number.isFinite(f)) return { x, f: Infinity };
  let xNew = new Float64Array(n);
  let gNew = new Float64Array(n);
  const d = new Float64Array(n);
  const S: Float64Array[] = []; // recent steps s = x_{k+1} − x_k
  const Y: Float64Array[] = []; // recent gradient changes y = g_{k+1} − g_k
  const rho: number[] = []; // 1 / (s·y)
  const twoLoopAlpha = new Float64Array(memory);
  let flatSteps = 0;

  for (let iter = 0; iter < maxIter; iter++) {
    // Two-loop recursion: d = −H g, with H the L-BFGS inverse-Hessian estimate.
    for (let i = 0; i < n; i++) d[i] = -g[i];
    for (let k = S.length - 1; k >= 0; k--) {
      twoLoopAlpha[k] = rho[k] * dot(S[k], d);
      for (let i = 0; i < n; i++) d[i] -= twoLoopAlpha[k] * Y[k][i];
    }
    if (S.length > 0) {
      const last = S.length - 1;
      const gamma = 1 / (rho[last] * dot(Y[last], Y[last])); // s·y / y·y: initial Hessian scale
      for (let i = 0; i < n; i++) d[i] *= gamma;
    }
    for (let k = 0; k < S.length; k++) {
      const beta = rho[k] * dot(Y[k], d);
      for (let i = 0; i < n; i++) d[i] += (twoLoopAlpha[k] - beta) * S[k][i];
    }
    let slope = dot(g, d);
    if (!(slope < 0)) {
      // Stale curvature gave an ascent direction: forget it and go downhill.
      S.length = Y.length = rho.length = 0;
      for (let i = 0; i < n; i++) d[i] = -g[i];
      slope = -dot(g, g);
      if (slope === 0) break; // exactly stationary
    }

    // Armijo backtracking. Without curvature memory the first trial step has unit length.
    let t = S.length === 0 ? Math.min(1, 1 / Math.sqrt(-slope)) : 1;
    let fNew = Infinity;
    let accepted = false;
    for (let tries = 0; tries < 60; tries++) {
      for (let i = 0; i < n; i++) xNew[i] = x[i] + t * d[i];
      fNew = objective(xNew, gNew);
      if (fNew <= f + 1e-4 * t * slope) {
        accepted = true;
        break;
      } // NaN fails too
      t *= 0.5;
    }
    if (!accepted) {
      if (S.length === 0) break; // even steepest descent cannot decrease f: done
      S.length = Y.length = rho.length = 0;
      continue;
    }

    const s = new Float64Array(n);
    const y = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      s[i] = xNew[i] - x[i];
      y[i] = gNew[i] - g[i];
    }
    const sy = dot(s, y);
    // Keep the pair only if it carries positive curvature (no Wolfe search to guarantee it).
    if (sy > 1e-10 * Math.sqrt(dot(s, s) * dot(y, y))) {
      if (S.length === memory) {
        S.shift();
        Y.shift();
        rho.shift();
      }
      S.push(s);
      Y.push(y);
      rho.push(1 / sy);
    }
    const decrease = f - fNew;
    [x, xNew] = [xNew, x];
    [g, gNew] = [gNew, g];
    f = fNew;

    let gMax = 0;
    for (let i = 0; i < n; i++) gMax = Math.max(gMax, Math.abs(g[i]));
    if (gMax < 1e-11) break;
    // Three consecutive negligible decreases: converged (Huber kinks stall progress, not gradients).
    if (decrease <= 1e-13 * Math.max(1, Math.abs(f))) {
      if (++flatSteps >= 3) break;
    } else flatSteps = 0;
  }
  return { x, f };
}

/** Rank starts by objective value, run L-BFGS from the best `keep`, return the best minimum. */
export function multiStart(objective: Objective, starts: number[][], keep: number): { best: Minimum; ranked: number[][] } {
  const scratch = new Float64Array(starts[0].length);
  const scored = starts.map((s) => {
    const f = objective(Float64Array.from(s), scratch);
    return { s, f: Number.isFinite(f) ? f : Infinity };
  });
  scored.sort((p, q) => p.f - q.f);
  const ranked = scored.map((p) => p.s);
  return { best: bestOf(objective, ranked.slice(0, keep)), ranked };
}

export function bestOf(objective: Objective, starts: ArrayLike<number>[]): Minimum {
  let best: Minimum = { x: Float64Array.from(starts[0]), f: Infinity };
  for (const start of starts) {
    const m = lbfgs(objective, start);
    if (m.f < best.f) best = m;
  }
  return best;
}

/** Cartesian product of value lists, e.g. grid([[0, 1], [2]]) = [[0, 2], [1, 2]]. */
export function grid(axes: number[][]): number[][] {
  return axes.reduce<number[][]>((acc, axis) => acc.flatMap((row) => axis.map((v) => [...row, v])), [[]]);
}

export const range = (from: number, to: number, step: number): number[] =>
  Array.from({ length: Math.round((to - from) / step) + 1 }, (_, i) => from + i * step);
