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
 * This file: the laws' public types, their closed forms (predictions and the
 * compute-optimal allocation) and the input checks both fitters share. The fitters are
 * fit-power.ts (L(N)) and fit-joint.ts (L(N, D)); their machinery is fit-objectives.ts
 * (Huber objectives in log space), lbfgs.ts (the optimiser) and bootstrap.ts (intervals).
 *
 * Pure TypeScript, deterministic (seeded), no tfjs, no DOM.
 */

// ---------------------------------------------------------------------------------------
// Public types

export interface ScalingPoint {
  N: number;
  D?: number;
  loss: number;
} // loss in nats
export interface Interval {
  lo: number;
  hi: number;
} // 95% percentile bootstrap

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
  E: number;
  A: number;
  B: number;
  alpha: number;
  beta: number;
  huberLoss: number;
  intervals: {
    E: Interval;
    A: Interval;
    B: Interval;
    alpha: Interval;
    beta: Interval;
    a: Interval;
    b: Interval;
    tokensPerParam: Interval;
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
// Closed forms: what a fitted law predicts, and the compute-optimal allocation

export function predictPowerLaw(fit: { E: number; Nc: number; alpha: number }, N: number): number {
  return fit.E + Math.pow(fit.Nc / N, fit.alpha);
}

export function predictJoint(fit: { E: number; A: number; B: number; alpha: number; beta: number }, N: number, D: number): number {
  return fit.E + fit.A / Math.pow(N, fit.alpha) + fit.B / Math.pow(D, fit.beta);
}

/** N_opt = G (C/6)^a, D_opt = (C/6)^b / G. NaN when α or β ≤ 0 (no interior optimum). */
export function optimalAllocation(A: number, B: number, alpha: number, beta: number, C: number) {
  if (!(alpha > 0 && beta > 0 && A > 0 && B > 0)) return { Nopt: NaN, Dopt: NaN, tokensPerParam: NaN, G: NaN, a: NaN, b: NaN };
  const G = Math.pow((alpha * A) / (beta * B), 1 / (alpha + beta));
  const a = beta / (alpha + beta),
    b = alpha / (alpha + beta);
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

// ---------------------------------------------------------------------------------------
// Shared by the fitters: input checks, options, counts

export function mean(values: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < values.length; i++) s += values[i];
  return s / values.length;
}

export function distinctCount(values: number[], weights?: Float64Array): number {
  const seen = new Set<number>();
  values.forEach((v, i) => {
    if (!weights || weights[i] > 0) seen.add(v);
  });
  return seen.size;
}

export function checkPoints(caller: string, points: ScalingPoint[], needD: boolean): void {
  points.forEach((p, i) => {
    const fields: [string, number | undefined][] = [
      ['N', p.N],
      ['loss', p.loss],
    ];
    if (needD) fields.push(['D', p.D]);
    for (const [name, value] of fields) {
      if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
        throw new FitError(`${caller}: point ${i} has ${name} = ${String(value)}; ${needD ? 'N, D' : 'N'} and loss must be finite and positive`);
      }
    }
  });
}

export function resolveOptions(caller: string, opts: FitOptions | undefined): { delta: number; bootstrap: number; seed: number } {
  const delta = opts?.delta ?? 1e-3;
  const bootstrap = opts?.bootstrap ?? 200;
  const seed = opts?.seed ?? 20240417;
  if (!(delta > 0 && Number.isFinite(delta))) throw new FitError(`${caller}: delta must be a positive number; got ${delta}`);
  if (!(Number.isInteger(bootstrap) && bootstrap >= 0)) throw new FitError(`${caller}: bootstrap must be a non-negative integer; got ${bootstrap}`);
  return { delta, bootstrap, seed };
}
