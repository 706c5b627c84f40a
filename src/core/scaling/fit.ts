/**
 * Scaling-law fits: L(N) = E + (Nc/N)^α, L(N) = (Nc/N)^α and L(N, D) = E + A/N^α + B/D^β.
 *
 * Method: Chinchilla Approach 3 as corrected by Besiroglu et al. 2024 (see
 * shared/SCALING-NOTES.md). The model is written in log space as a log-sum-exp,
 *   ln L = LSE(e, a − α ln N, b − β ln D),   E = e^e, A = e^a, B = e^b,
 * and we minimise the SUM (not the mean: averaging made the original fit stop early) of
 * Huber_δ(ln L_pred − ln L_meas) over runs with L-BFGS from a grid of starts. Intervals
 * are 95% percentile bootstraps that resample whole runs (points), never checkpoints.
 *
 * Pure TypeScript, deterministic (seeded), no tfjs, no DOM.
 */

// ---------------------------------------------------------------------------------------
// Public types

export interface ScalingPoint { N: number; D?: number; loss: number } // loss in nats
export interface Interval { lo: number; hi: number } // 95% percentile bootstrap

export interface PowerLawFit {
  form: 'E+power' | 'power';
  E: number; // 0 for the pure power law
  Nc: number;
  alpha: number;
  huberLoss: number; // summed Huber objective at the optimum
  intervals: { E: Interval; Nc: Interval; alpha: Interval };
  residuals: number[]; // ln L_meas − ln L_pred per point, input order
  bootstrapSamples: number; // resamples that were refitted (NaN intervals when 0)
}

export interface JointFit {
  E: number; A: number; B: number; alpha: number; beta: number;
  huberLoss: number;
  intervals: {
    E: Interval; A: Interval; B: Interval; alpha: Interval; beta: Interval;
    a: Interval; b: Interval; tokensPerParam: Interval;
  };
  a: number; // N_opt ∝ C^a, a = β/(α+β)
  b: number; // D_opt ∝ C^b, b = α/(α+β)
  G: number; // (αA/(βB))^(1/(α+β))
  residuals: number[];
  bootstrapSamples: number;
  /** Compute C (= 6ND) at which intervals.tokensPerParam is evaluated: D_opt/N_opt depends on C unless α = β. */
  referenceCompute?: number;
}

export interface FitOptions {
  delta?: number; // Huber threshold on log residuals, default 1e-3
  bootstrap?: number; // resamples, default 200 (0 = no intervals)
  seed?: number; // bootstrap seed
  /** fitJoint only: C at which the tokensPerParam interval is taken; default the largest 6·N·D among the runs. */
  referenceCompute?: number;
  /** Called with each bootstrap refit's parameters (e.g. to draw a confidence band of the curve). */
  onBootstrapSample?: (params: Record<string, number>) => void;
}

export class FitError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FitError';
  }
}

// ---------------------------------------------------------------------------------------
// Robust loss

/** Huber loss: quadratic within ±delta, linear outside, continuous slope at the seam. */
export function huber(r: number, delta: number): number {
  const abs = Math.abs(r);
  return abs <= delta ? 0.5 * r * r : delta * (abs - 0.5 * delta);
}

function huberSlope(r: number, delta: number): number {
  return r > delta ? delta : r < -delta ? -delta : r;
}

// ---------------------------------------------------------------------------------------
// L-BFGS with Armijo backtracking. Small and dense: our problems have 2–5 parameters.

/** Returns f(x) and writes ∇f(x) into grad. */
type Objective = (x: Float64Array, grad: Float64Array) => number;

interface Minimum { x: Float64Array; f: number }

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
      if (fNew <= f + 1e-4 * t * slope) { accepted = true; break; } // NaN fails too
      t *= 0.5;
    }
    if (!accepted) {
      if (S.length === 0) break; // even steepest descent cannot decrease f: done
      S.length = Y.length = rho.length = 0;
      continue;
    }

    const s = new Float64Array(n);
    const y = new Float64Array(n);
    for (let i = 0; i < n; i++) { s[i] = xNew[i] - x[i]; y[i] = gNew[i] - g[i]; }
    const sy = dot(s, y);
    // Keep the pair only if it carries positive curvature (no Wolfe search to guarantee it).
    if (sy > 1e-10 * Math.sqrt(dot(s, s) * dot(y, y))) {
      if (S.length === memory) { S.shift(); Y.shift(); rho.shift(); }
      S.push(s); Y.push(y); rho.push(1 / sy);
    }
    const decrease = f - fNew;
    [x, xNew] = [xNew, x];
    [g, gNew] = [gNew, g];
    f = fNew;

    let gMax = 0;
    for (let i = 0; i < n; i++) gMax = Math.max(gMax, Math.abs(g[i]));
    if (gMax < 1e-11) break;
    // Three consecutive negligible decreases: converged (Huber kinks stall progress, not gradients).
    if (decrease <= 1e-13 * Math.max(1, Math.abs(f))) { if (++flatSteps >= 3) break; } else flatSteps = 0;
  }
  return { x, f };
}

/** Rank starts by objective value, run L-BFGS from the best `keep`, return the best minimum. */
function multiStart(objective: Objective, starts: number[][], keep: number): { best: Minimum; ranked: number[][] } {
  const scratch = new Float64Array(starts[0].length);
  const scored = starts.map((s) => {
    const f = objective(Float64Array.from(s), scratch);
    return { s, f: Number.isFinite(f) ? f : Infinity };
  });
  scored.sort((p, q) => p.f - q.f);
  const ranked = scored.map((p) => p.s);
  return { best: bestOf(objective, ranked.slice(0, keep)), ranked };
}

function bestOf(objective: Objective, starts: ArrayLike<number>[]): Minimum {
  let best: Minimum = { x: Float64Array.from(starts[0]), f: Infinity };
  for (const start of starts) {
    const m = lbfgs(objective, start);
    if (m.f < best.f) best = m;
  }
  return best;
}

// ---------------------------------------------------------------------------------------
// Objectives. Each is a weighted sum over runs; the weights are bootstrap multiplicities
// (all ones for the full-data fit). ln N and ln D enter centred on their means: a_c = a −
// α·mean(ln N). Otherwise a and α are almost collinear (ln N ≈ 12 everywhere) and L-BFGS
// crawls along the valley; the public a is recovered as a_c + α·mean(ln N).

interface LogData {
  x: Float64Array; // ln N − mean(ln N)
  z: Float64Array; // ln D − mean(ln D) (zeros when no D)
  y: Float64Array; // ln L_meas
  meanLnN: number;
  meanLnD: number;
}

/** θ = [a_c, α]: ln L = a_c − α x. Convex (Huber of a linear model). */
function powerObjective(data: LogData, w: Float64Array, delta: number): Objective {
  const { x, y } = data;
  return (theta, grad) => {
    const [ac, alpha] = theta;
    let f = 0, gA = 0, gAlpha = 0;
    for (let i = 0; i < y.length; i++) {
      if (w[i] === 0) continue;
      const r = ac - alpha * x[i] - y[i];
      const h = w[i] * huberSlope(r, delta);
      f += w[i] * huber(r, delta);
      gA += h;
      gAlpha -= h * x[i];
    }
    grad[0] = gA; grad[1] = gAlpha;
    return f;
  };
}

/** θ = [e, a_c, α]: ln L = LSE(e, a_c − α x). */
function ePowerObjective(data: LogData, w: Float64Array, delta: number): Objective {
  const { x, y } = data;
  return (theta, grad) => {
    const [e, ac, alpha] = theta;
    let f = 0, gE = 0, gA = 0, gAlpha = 0;
    for (let i = 0; i < y.length; i++) {
      if (w[i] === 0) continue;
      const u = ac - alpha * x[i];
      const m = Math.max(e, u); // stable LSE: factor out the largest term
      const pE = Math.exp(e - m), pU = Math.exp(u - m);
      const sum = pE + pU;
      const r = m + Math.log(sum) - y[i];
      const h = w[i] * huberSlope(r, delta);
      f += w[i] * huber(r, delta);
      // ∂LSE/∂term = softmax weight of that term.
      gE += h * pE / sum;
      const hu = h * pU / sum;
      gA += hu;
      gAlpha -= hu * x[i];
    }
    grad[0] = gE; grad[1] = gA; grad[2] = gAlpha;
    return f;
  };
}

/** θ = [e, a_c, b_c, α, β]: ln L = LSE(e, a_c − α x, b_c − β z). */
function jointObjective(data: LogData, w: Float64Array, delta: number): Objective {
  const { x, z, y } = data;
  return (theta, grad) => {
    const [e, ac, bc, alpha, beta] = theta;
    let f = 0, gE = 0, gA = 0, gB = 0, gAlpha = 0, gBeta = 0;
    for (let i = 0; i < y.length; i++) {
      if (w[i] === 0) continue;
      const u = ac - alpha * x[i];
      const v = bc - beta * z[i];
      const m = Math.max(e, u, v);
      const pE = Math.exp(e - m), pU = Math.exp(u - m), pV = Math.exp(v - m);
      const sum = pE + pU + pV;
      const r = m + Math.log(sum) - y[i];
      const h = w[i] * huberSlope(r, delta) / sum;
      f += w[i] * huber(r, delta);
      gE += h * pE;
      gA += h * pU;
      gAlpha -= h * pU * x[i];
      gB += h * pV;
      gBeta -= h * pV * z[i];
    }
    grad[0] = gE; grad[1] = gA; grad[2] = gB; grad[3] = gAlpha; grad[4] = gBeta;
    return f;
  };
}

// ---------------------------------------------------------------------------------------
// Validation, data preparation, bootstrap

function mean(values: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < values.length; i++) s += values[i];
  return s / values.length;
}

function distinctCount(values: number[], weights?: Float64Array): number {
  const seen = new Set<number>();
  values.forEach((v, i) => { if (!weights || weights[i] > 0) seen.add(v); });
  return seen.size;
}

function checkPoints(caller: string, points: ScalingPoint[], needD: boolean): void {
  points.forEach((p, i) => {
    const fields: [string, number | undefined][] = [['N', p.N], ['loss', p.loss]];
    if (needD) fields.push(['D', p.D]);
    for (const [name, value] of fields) {
      if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
        throw new FitError(`${caller}: point ${i} has ${name} = ${String(value)}; ${needD ? 'N, D' : 'N'} and loss must be finite and positive`);
      }
    }
  });
}

function resolveOptions(caller: string, opts: FitOptions | undefined): { delta: number; bootstrap: number; seed: number } {
  const delta = opts?.delta ?? 1e-3;
  const bootstrap = opts?.bootstrap ?? 200;
  const seed = opts?.seed ?? 20240417;
  if (!(delta > 0 && Number.isFinite(delta))) throw new FitError(`${caller}: delta must be a positive number; got ${delta}`);
  if (!(Number.isInteger(bootstrap) && bootstrap >= 0)) throw new FitError(`${caller}: bootstrap must be a non-negative integer; got ${bootstrap}`);
  return { delta, bootstrap, seed };
}

function logData(points: ScalingPoint[], withD: boolean): LogData {
  const lnN = points.map((p) => Math.log(p.N));
  const lnD = points.map((p) => (withD ? Math.log(p.D as number) : 0));
  const meanLnN = mean(lnN), meanLnD = mean(lnD);
  return {
    x: Float64Array.from(lnN, (v) => v - meanLnN),
    z: Float64Array.from(lnD, (v) => v - meanLnD),
    y: Float64Array.from(points, (p) => Math.log(p.loss)),
    meanLnN,
    meanLnD,
  };
}

/** mulberry32: a tiny, well-mixed 32-bit PRNG, so bootstrap intervals are reproducible. */
function bootstrapRng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Type-7 (linear interpolation) quantile of a sorted array. */
function quantile(sorted: number[], q: number): number {
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos), hi = Math.ceil(pos);
  if (lo === hi) return sorted[lo];
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}

/**
 * Resample runs with replacement `samples` times; `usable` rejects resamples that cannot
 * identify the model (too few distinct sizes), `refit` returns named statistics of the
 * refit. Returns 95% percentile intervals over finite values and the number of refits.
 */
function bootstrapIntervals<K extends string>(
  nPoints: number, samples: number, seed: number, weights: Float64Array,
  usable: () => boolean, refit: () => Record<K, number>, keys: readonly K[],
  onSample?: (params: Record<string, number>) => void,
): { intervals: Record<K, Interval>; count: number } {
  const rng = bootstrapRng(seed);
  const columns = new Map<K, number[]>(keys.map((k) => [k, []]));
  let count = 0;
  for (let s = 0; s < samples; s++) {
    let ok = false;
    for (let attempt = 0; attempt < 100 && !ok; attempt++) {
      weights.fill(0);
      for (let i = 0; i < nPoints; i++) weights[Math.floor(rng() * nPoints)] += 1;
      ok = usable();
    }
    if (!ok) continue;
    const stats = refit();
    onSample?.(stats);
    for (const k of keys) columns.get(k)?.push(stats[k]);
    count++;
  }
  weights.fill(1); // leave the closure's weights as the full data
  const intervals = {} as Record<K, Interval>;
  for (const k of keys) {
    const finite = (columns.get(k) ?? []).filter((v) => !Number.isNaN(v)).sort((p, q) => p - q);
    intervals[k] = finite.length === 0 ? { lo: NaN, hi: NaN } : { lo: quantile(finite, 0.025), hi: quantile(finite, 0.975) };
  }
  return { intervals, count };
}

/** Cartesian product of value lists, e.g. grid([[0, 1], [2]]) = [[0, 2], [1, 2]]. */
function grid(axes: number[][]): number[][] {
  return axes.reduce<number[][]>((acc, axis) => acc.flatMap((row) => axis.map((v) => [...row, v])), [[]]);
}

const range = (from: number, to: number, step: number): number[] =>
  Array.from({ length: Math.round((to - from) / step) + 1 }, (_, i) => from + i * step);

// How many of the best starting points seed the bootstrap refits (besides the full-data optimum).
const BOOTSTRAP_EXTRA_STARTS = 3;

// ---------------------------------------------------------------------------------------
// L(N) = E + (Nc/N)^α  and  L(N) = (Nc/N)^α

export function predictPowerLaw(fit: { E: number; Nc: number; alpha: number }, N: number): number {
  return fit.E + Math.pow(fit.Nc / N, fit.alpha);
}

export function fitPowerLaw(points: ScalingPoint[], form: 'E+power' | 'power', opts?: FitOptions): PowerLawFit {
  const caller = `fitPowerLaw(${form})`;
  const { delta, bootstrap, seed } = resolveOptions(caller, opts);
  checkPoints(caller, points, false);
  const nParams = form === 'power' ? 2 : 3;
  const Ns = points.map((p) => p.N);
  if (points.length <= nParams || distinctCount(Ns) < nParams) {
    throw new FitError(`${caller} needs at least ${nParams + 1} runs at ${nParams} or more distinct sizes; got ${points.length} runs at ${distinctCount(Ns)} sizes — add sizes to the sweep`);
  }

  const data = logData(points, false);
  const weights = new Float64Array(points.length).fill(1);
  const withE = form === 'E+power';
  const objective = withE ? ePowerObjective(data, weights, delta) : powerObjective(data, weights, delta);

  let starts: number[][];
  if (withE) {
    // α includes small values: character-level exponents can be well below Chinchilla's 0.3.
    const alphas = [0, 0.05, 0.1, 0.25, 0.5, 1, 1.5, 2];
    starts = grid([range(-1, 1, 0.5), range(0, 25, 2.5), alphas]).map(([e, a, alpha]) => [e, a - alpha * data.meanLnN, alpha]);
  } else {
    starts = [leastSquaresLine(data.x, data.y)];
  }
  // Starts are cheap here (one size axis, a few runs), so every one is run.
  const { best, ranked } = multiStart(objective, starts, starts.length);

  // θ → public parameters. ln Nc = a/α, with a = a_c + α·mean(ln N).
  const toParams = (theta: Float64Array) => {
    const e = withE ? theta[0] : -Infinity;
    const ac = theta[withE ? 1 : 0], alpha = theta[withE ? 2 : 1];
    const a = ac + alpha * data.meanLnN;
    return { E: Math.exp(e), Nc: Math.exp(a / alpha), alpha };
  };
  const params = toParams(best.x);
  const residuals = Array.from(data.y, (y, i) => y - lnPredictPower(best.x, withE, data.x[i]));

  const bootStarts = [best.x, ...ranked.slice(0, BOOTSTRAP_EXTRA_STARTS)];
  const boot = bootstrapIntervals(
    points.length, bootstrap, seed, weights,
    () => distinctCount(Ns, weights) >= nParams,
    () => toParams(bestOf(objective, bootStarts).x),
    ['E', 'Nc', 'alpha'] as const,
    opts?.onBootstrapSample,
  );
  return { form, ...params, huberLoss: best.f, intervals: boot.intervals, residuals, bootstrapSamples: boot.count };
}

function lnPredictPower(theta: Float64Array, withE: boolean, x: number): number {
  if (!withE) return theta[0] - theta[1] * x;
  const u = theta[1] - theta[2] * x;
  const m = Math.max(theta[0], u);
  return m + Math.log(Math.exp(theta[0] - m) + Math.exp(u - m));
}

/** Ordinary least squares y ≈ c − α x, as [c, α]: the start for the (convex) pure power fit. */
function leastSquaresLine(x: Float64Array, y: Float64Array): number[] {
  const mx = mean(x), my = mean(y);
  let sxy = 0, sxx = 0;
  for (let i = 0; i < x.length; i++) { sxy += (x[i] - mx) * (y[i] - my); sxx += (x[i] - mx) ** 2; }
  const slope = sxx > 0 ? sxy / sxx : 0;
  return [my - slope * mx, -slope];
}

// ---------------------------------------------------------------------------------------
// L(N, D) = E + A/N^α + B/D^β and the compute-optimal allocation under C = 6ND

export function predictJoint(fit: { E: number; A: number; B: number; alpha: number; beta: number }, N: number, D: number): number {
  return fit.E + fit.A / Math.pow(N, fit.alpha) + fit.B / Math.pow(D, fit.beta);
}

/** N_opt = G (C/6)^a, D_opt = (C/6)^b / G. NaN when α or β ≤ 0 (no interior optimum). */
function optimalAllocation(A: number, B: number, alpha: number, beta: number, C: number) {
  if (!(alpha > 0 && beta > 0 && A > 0 && B > 0)) return { Nopt: NaN, Dopt: NaN, tokensPerParam: NaN, G: NaN, a: NaN, b: NaN };
  const G = Math.pow((alpha * A) / (beta * B), 1 / (alpha + beta));
  const a = beta / (alpha + beta), b = alpha / (alpha + beta);
  const Nopt = G * Math.pow(C / 6, a);
  const Dopt = Math.pow(C / 6, b) / G;
  return { Nopt, Dopt, tokensPerParam: Dopt / Nopt, G, a, b };
}

export function computeOptimal(fit: JointFit, C: number): { Nopt: number; Dopt: number; tokensPerParam: number } {
  if (!(C > 0 && Number.isFinite(C))) throw new FitError(`computeOptimal: compute C must be finite and positive; got ${C}`);
  // Recomputed from A, B, α, β (the fitted quantities) rather than trusting fit.G.
  const opt = optimalAllocation(fit.A, fit.B, fit.alpha, fit.beta, C);
  if (Number.isNaN(opt.Nopt)) {
    throw new FitError(`computeOptimal needs A, B, α, β > 0; got A=${fit.A}, B=${fit.B}, α=${fit.alpha}, β=${fit.beta}`);
  }
  return { Nopt: opt.Nopt, Dopt: opt.Dopt, tokensPerParam: opt.tokensPerParam };
}

// Of the 4500 grid starts only the best few (by objective at the start) are run to
// convergence: the rest sit far from the data (e.g. A = e^25) and end in the same minima.
const JOINT_STARTS_RUN = 24;

export function fitJoint(points: ScalingPoint[], opts?: FitOptions): JointFit {
  const caller = 'fitJoint';
  const { delta, bootstrap, seed } = resolveOptions(caller, opts);
  checkPoints(caller, points, true);
  const Ns = points.map((p) => p.N), Ds = points.map((p) => p.D as number);
  // Each of the N and D terms has an amplitude and an exponent, so each needs three
  // distinct values (two only fix one difference); five parameters need six runs.
  if (points.length < 6 || distinctCount(Ns) < 3 || distinctCount(Ds) < 3) {
    throw new FitError(`fitJoint needs at least 6 runs with 3 or more distinct N and 3 or more distinct D; got ${points.length} runs, ${distinctCount(Ns)} N, ${distinctCount(Ds)} D — add sizes or token budgets to the sweep`);
  }
  const C = opts?.referenceCompute ?? Math.max(...points.map((p) => 6 * p.N * (p.D as number)));
  if (!(C > 0 && Number.isFinite(C))) throw new FitError(`fitJoint: referenceCompute must be finite and positive; got ${C}`);

  const data = logData(points, true);
  const weights = new Float64Array(points.length).fill(1);
  const objective = jointObjective(data, weights, delta);

  // The grid of shared/SCALING-NOTES.md: α, β ∈ {0, 0.5, …, 2}, e ∈ {−1, …, 1}, a, b ∈ {0, 5, …, 25}.
  const exps = range(0, 2, 0.5), amps = range(0, 25, 5);
  const starts = grid([range(-1, 1, 0.5), amps, amps, exps, exps]).map(([e, a, b, alpha, beta]) =>
    [e, a - alpha * data.meanLnN, b - beta * data.meanLnD, alpha, beta]);
  const { best, ranked } = multiStart(objective, starts, JOINT_STARTS_RUN);

  const toParams = (theta: Float64Array) => {
    const [e, ac, bc, alpha, beta] = theta;
    const A = Math.exp(ac + alpha * data.meanLnN), B = Math.exp(bc + beta * data.meanLnD);
    const opt = optimalAllocation(A, B, alpha, beta, C);
    return { E: Math.exp(e), A, B, alpha, beta, a: opt.a, b: opt.b, G: opt.G, tokensPerParam: opt.tokensPerParam };
  };
  const params = toParams(best.x);
  const residuals = points.map((p) => Math.log(p.loss) - Math.log(predictJoint(params, p.N, p.D as number)));

  const bootStarts = [best.x, ...ranked.slice(0, BOOTSTRAP_EXTRA_STARTS)];
  const boot = bootstrapIntervals(
    points.length, bootstrap, seed, weights,
    () => distinctCount(Ns, weights) >= 3 && distinctCount(Ds, weights) >= 3,
    () => toParams(bestOf(objective, bootStarts).x),
    ['E', 'A', 'B', 'alpha', 'beta', 'a', 'b', 'tokensPerParam'] as const,
  );
  return {
    E: params.E, A: params.A, B: params.B, alpha: params.alpha, beta: params.beta,
    huberLoss: best.f, intervals: boot.intervals,
    a: params.a, b: params.b, G: params.G,
    residuals, bootstrapSamples: boot.count, referenceCompute: C,
  };
}

// ---------------------------------------------------------------------------------------
// Extrapolation check: hold out the largest size, fit the rest, predict it.

export function heldOutPrediction(points: ScalingPoint[], form: 'E+power' | 'power', opts?: FitOptions): {
  params: number; predicted: number; measured: number; error: number; fit: PowerLawFit;
} {
  checkPoints(`heldOutPrediction(${form})`, points, false);
  if (points.length === 0) throw new FitError(`heldOutPrediction(${form}) needs runs; got 0`);
  const largest = Math.max(...points.map((p) => p.N));
  const heldOut = points.filter((p) => p.N === largest);
  const rest = points.filter((p) => p.N !== largest);
  let fit: PowerLawFit;
  try {
    fit = fitPowerLaw(rest, form, opts);
  } catch (err) {
    if (err instanceof FitError) throw new FitError(`heldOutPrediction: after holding out N = ${largest}, ${err.message}`);
    throw err;
  }
  // Several seeds at the largest size: compare with their mean loss.
  const measured = mean(heldOut.map((p) => p.loss));
  const predicted = predictPowerLaw(fit, largest);
  return { params: largest, predicted, measured, error: (predicted - measured) / measured, fit };
}
