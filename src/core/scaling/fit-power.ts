// Fitting L(N) = E + (Nc/N)^α and the pure power law L(N) = (Nc/N)^α to final losses
// of a size ladder, with bootstrap intervals, and the extrapolation check that holds out
// the largest size. The method and the public types are in fit.ts. Pure TypeScript.

import { BOOTSTRAP_EXTRA_STARTS, bootstrapIntervals } from './bootstrap';
import { checkPoints, distinctCount, FitError, mean, predictPowerLaw, resolveOptions, type FitOptions, type PowerLawFit, type ScalingPoint } from './fit';
import { ePowerObjective, logData, powerObjective } from './fit-objectives';
import { bestOf, grid, multiStart, range } from './lbfgs';

// ---------------------------------------------------------------------------------------
// L(N) = E + (Nc/N)^α  and  L(N) = (Nc/N)^α

export function fitPowerLaw(points: ScalingPoint[], form: 'E+power' | 'power', opts?: FitOptions): PowerLawFit {
  const caller = `fitPowerLaw(${form})`;
  const { delta, bootstrap, seed } = resolveOptions(caller, opts);
  checkPoints(caller, points, false);
  const nParams = form === 'power' ? 2 : 3;
  const Ns = points.map((p) => p.N);
  if (points.length <= nParams || distinctCount(Ns) < nParams) {
    throw new FitError(
      `${caller} needs at least ${nParams + 1} runs at ${nParams} or more distinct sizes; got ${points.length} runs at ${distinctCount(Ns)} sizes — add sizes to the sweep`,
    );
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
    const ac = theta[withE ? 1 : 0],
      alpha = theta[withE ? 2 : 1];
    const a = ac + alpha * data.meanLnN;
    return { E: Math.exp(e), Nc: Math.exp(a / alpha), alpha };
  };
  const params = toParams(best.x);
  const residuals = Array.from(data.y, (y, i) => y - lnPredictPower(best.x, withE, data.x[i]));

  const bootStarts = [best.x, ...ranked.slice(0, BOOTSTRAP_EXTRA_STARTS)];
  const boot = bootstrapIntervals(
    points.length,
    bootstrap,
    seed,
    weights,
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
  const mx = mean(x),
    my = mean(y);
  let sxy = 0,
    sxx = 0;
  for (let i = 0; i < x.length; i++) {
    sxy += (x[i] - mx) * (y[i] - my);
    sxx += (x[i] - mx) ** 2;
  }
  const slope = sxx > 0 ? sxy / sxx : 0;
  return [my - slope * mx, -slope];
}

// ---------------------------------------------------------------------------------------
// Extrapolation check: hold out the largest size, fit the rest, predict it.

export function heldOutPrediction(
  points: ScalingPoint[],
  form: 'E+power' | 'power',
  opts?: FitOptions,
): {
  params: number;
  predicted: number;
  measured: number;
  error: number;
  fit: PowerLawFit;
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
