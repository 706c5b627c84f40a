// Fitting L(N, D) = E + A/N^α + B/D^β to every run of a sweep with several token budgets
// per size (Chinchilla Approach 3, Besiroglu et al.'s correction), with bootstrap intervals
// on the parameters and on the compute-optimal allocation. The method, the public types
// and the closed forms (predictJoint, computeOptimal) are in fit.ts. Pure TypeScript.

import { BOOTSTRAP_EXTRA_STARTS, bootstrapIntervals } from './bootstrap';
import {
  checkPoints,
  distinctCount,
  FitError,
  optimalAllocation,
  predictJoint,
  resolveOptions,
  type FitOptions,
  type JointFit,
  type ScalingPoint,
} from './fit';
import { jointObjective, logData } from './fit-objectives';
import { bestOf, grid, multiStart, range } from './lbfgs';

// Of the 4500 grid starts only the best few (by objective at the start) are run to
// convergence: the rest sit far from the data (e.g. A = e^25) and end in the same minima.
const JOINT_STARTS_RUN = 24;

export function fitJoint(points: ScalingPoint[], opts?: FitOptions): JointFit {
  const caller = 'fitJoint';
  const { delta, bootstrap, seed } = resolveOptions(caller, opts);
  checkPoints(caller, points, true);
  const Ns = points.map((p) => p.N),
    Ds = points.map((p) => p.D as number);
  // Each of the N and D terms has an amplitude and an exponent, so each needs three
  // distinct values (two only fix one difference); five parameters need six runs.
  if (points.length < 6 || distinctCount(Ns) < 3 || distinctCount(Ds) < 3) {
    throw new FitError(
      `fitJoint needs at least 6 runs with 3 or more distinct N and 3 or more distinct D; got ${points.length} runs, ${distinctCount(Ns)} N, ${distinctCount(Ds)} D — add sizes or token budgets to the sweep`,
    );
  }
  const C = opts?.referenceCompute ?? Math.max(...points.map((p) => 6 * p.N * (p.D as number)));
  if (!(C > 0 && Number.isFinite(C))) throw new FitError(`fitJoint: referenceCompute must be finite and positive; got ${C}`);

  const data = logData(points, true);
  const weights = new Float64Array(points.length).fill(1);
  const objective = jointObjective(data, weights, delta);

  // The grid of shared/SCALING-NOTES.md: α, β ∈ {0, 0.5, …, 2}, e ∈ {−1, …, 1}, a, b ∈ {0, 5, …, 25}.
  const exps = range(0, 2, 0.5),
    amps = range(0, 25, 5);
  const starts = grid([range(-1, 1, 0.5), amps, amps, exps, exps]).map(([e, a, b, alpha, beta]) => [
    e,
    a - alpha * data.meanLnN,
    b - beta * data.meanLnD,
    alpha,
    beta,
  ]);
  const { best, ranked } = multiStart(objective, starts, JOINT_STARTS_RUN);

  const toParams = (theta: Float64Array) => {
    const [e, ac, bc, alpha, beta] = theta;
    const A = Math.exp(ac + alpha * data.meanLnN),
      B = Math.exp(bc + beta * data.meanLnD);
    const opt = optimalAllocation(A, B, alpha, beta, C);
    return { E: Math.exp(e), A, B, alpha, beta, a: opt.a, b: opt.b, G: opt.G, tokensPerParam: opt.tokensPerParam };
  };
  const params = toParams(best.x);
  const residuals = points.map((p) => Math.log(p.loss) - Math.log(predictJoint(params, p.N, p.D as number)));

  const bootStarts = [best.x, ...ranked.slice(0, BOOTSTRAP_EXTRA_STARTS)];
  const boot = bootstrapIntervals(
    points.length,
    bootstrap,
    seed,
    weights,
    () => distinctCount(Ns, weights) >= 3 && distinctCount(Ds, weights) >= 3,
    () => toParams(bestOf(objective, bootStarts).x),
    ['E', 'A', 'B', 'alpha', 'beta', 'a', 'b', 'tokensPerParam'] as const,
  );
  return {
    E: params.E,
    A: params.A,
    B: params.B,
    alpha: params.alpha,
    beta: params.beta,
    huberLoss: best.f,
    intervals: boot.intervals,
    a: params.a,
    b: params.b,
    G: params.G,
    residuals,
    bootstrapSamples: boot.count,
    referenceCompute: C,
  };
}
