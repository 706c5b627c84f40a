// The scaling-law objectives: summed Huber loss of log residuals, with the laws written
// in log space as log-sum-exps, each with its analytic gradient for L-BFGS (lbfgs.ts).
// Shared by the L(N) fits (fit-power.ts) and the L(N, D) fit (fit-joint.ts); see fit.ts
// for the method. Pure TypeScript.

import { mean, type ScalingPoint } from './fit';
import type { Objective } from './lbfgs';

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
// Objectives. Each is a weighted sum over runs; the weights are bootstrap multiplicities
// (all ones for the full-data fit). ln N and ln D enter centred on their means: a_c = a −
// α·mean(ln N). Otherwise a and α are almost collinear (ln N ≈ 12 everywhere) and L-BFGS
// crawls along the valley; the public a is recovered as a_c + α·mean(ln N).

export interface LogData {
  x: Float64Array; // ln N − mean(ln N)
  z: Float64Array; // ln D − mean(ln D) (zeros when no D)
  y: Float64Array; // ln L_meas
  meanLnN: number;
  meanLnD: number;
}

export function logData(points: ScalingPoint[], withD: boolean): LogData {
  const lnN = points.map((p) => Math.log(p.N));
  const lnD = points.map((p) => (withD ? Math.log(p.D as number) : 0));
  const meanLnN = mean(lnN),
    meanLnD = mean(lnD);
  return {
    x: Float64Array.from(lnN, (v) => v - meanLnN),
    z: Float64Array.from(lnD, (v) => v - meanLnD),
    y: Float64Array.from(points, (p) => Math.log(p.loss)),
    meanLnN,
    meanLnD,
  };
}

/** θ = [a_c, α]: ln L = a_c − α x. Convex (Huber of a linear model). */
export function powerObjective(data: LogData, w: Float64Array, delta: number): Objective {
  const { x, y } = data;
  return (theta, grad) => {
    const [ac, alpha] = theta;
    let f = 0,
      gA = 0,
      gAlpha = 0;
    for (let i = 0; i < y.length; i++) {
      if (w[i] === 0) continue;
      const r = ac - alpha * x[i] - y[i];
      const h = w[i] * huberSlope(r, delta);
      f += w[i] * huber(r, delta);
      gA += h;
      gAlpha -= h * x[i];
    }
    grad[0] = gA;
    grad[1] = gAlpha;
    return f;
  };
}

/** θ = [e, a_c, α]: ln L = LSE(e, a_c − α x). */
export function ePowerObjective(data: LogData, w: Float64Array, delta: number): Objective {
  const { x, y } = data;
  return (theta, grad) => {
    const [e, ac, alpha] = theta;
    let f = 0,
      gE = 0,
      gA = 0,
      gAlpha = 0;
    for (let i = 0; i < y.length; i++) {
      if (w[i] === 0) continue;
      const u = ac - alpha * x[i];
      const m = Math.max(e, u); // stable LSE: factor out the largest term
      const pE = Math.exp(e - m),
        pU = Math.exp(u - m);
      const sum = pE + pU;
      const r = m + Math.log(sum) - y[i];
      const h = w[i] * huberSlope(r, delta);
      f += w[i] * huber(r, delta);
      // ∂LSE/∂term = softmax weight of that term.
      gE += (h * pE) / sum;
      const hu = (h * pU) / sum;
      gA += hu;
      gAlpha -= hu * x[i];
    }
    grad[0] = gE;
    grad[1] = gA;
    grad[2] = gAlpha;
    return f;
  };
}

/** θ = [e, a_c, b_c, α, β]: ln L = LSE(e, a_c − α x, b_c − β z). */
export function jointObjective(data: LogData, w: Float64Array, delta: number): Objective {
  const { x, z, y } = data;
  return (theta, grad) => {
    const [e, ac, bc, alpha, beta] = theta;
    let f = 0,
      gE = 0,
      gA = 0,
      gB = 0,
      gAlpha = 0,
      gBeta = 0;
    for (let i = 0; i < y.length; i++) {
      if (w[i] === 0) continue;
      const u = ac - alpha * x[i];
      const v = bc - beta * z[i];
      const m = Math.max(e, u, v);
      const pE = Math.exp(e - m),
        pU = Math.exp(u - m),
        pV = Math.exp(v - m);
      const sum = pE + pU + pV;
      const r = m + Math.log(sum) - y[i];
      const h = (w[i] * huberSlope(r, delta)) / sum;
      f += w[i] * huber(r, delta);
      gE += h * pE;
      gA += h * pU;
      gAlpha -= h * pU * x[i];
      gB += h * pV;
      gBeta -= h * pV * z[i];
    }
    grad[0] = gE;
    grad[1] = gA;
    grad[2] = gB;
    grad[3] = gAlpha;
    grad[4] = gBeta;
    return f;
  };
}
