import { describe, it, expect } from 'vitest';
import { computeOptimal, FitError, predictJoint, predictPowerLaw, type JointFit, type ScalingPoint } from '../src/core/scaling/fit.ts';
import { fitJoint } from '../src/core/scaling/fit-joint.ts';
import { huber } from '../src/core/scaling/fit-objectives.ts';
import { fitPowerLaw, heldOutPrediction } from '../src/core/scaling/fit-power.ts';

// Seeded noise for the synthetic data (mulberry32 + Box–Muller), so every run sees the same points.
function noiseRng(seed: number): () => number {
  let state = seed >>> 0;
  const uniform = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return () => Math.sqrt(-2 * Math.log(1 - uniform())) * Math.cos(2 * Math.PI * uniform());
}

const logSpaced = (lo: number, hi: number, count: number) => Array.from({ length: count }, (_, i) => lo * Math.pow(hi / lo, i / (count - 1)));

const relErr = (got: number, want: number) => Math.abs(got - want) / Math.abs(want);
const covers = (iv: { lo: number; hi: number }, v: number) => iv.lo <= v && v <= iv.hi;

const TRUE_POWER = { E: 1.2, Nc: 3e5, alpha: 0.3 };
function powerLawPoints(noise: number, seed: number): ScalingPoint[] {
  const gauss = noiseRng(seed);
  return logSpaced(1e4, 1e6, 8).map((N) => ({ N, loss: predictPowerLaw(TRUE_POWER, N) * (1 + noise * gauss()) }));
}

const TRUE_JOINT = { E: 1.5, A: 400, B: 800, alpha: 0.34, beta: 0.28 };
function jointPoints(noise: number, seed: number): ScalingPoint[] {
  const gauss = noiseRng(seed);
  const points: ScalingPoint[] = [];
  for (const N of logSpaced(1e5, 1e8, 6)) {
    for (const D of logSpaced(1e6, 1e9, 4)) {
      points.push({ N, D, loss: predictJoint(TRUE_JOINT, N, D) * (1 + noise * gauss()) });
    }
  }
  return points;
}

describe('huber', () => {
  const delta = 1e-3;
  it('is quadratic below delta', () => {
    expect(huber(0.5 * delta, delta)).toBeCloseTo(0.125 * delta * delta, 15);
    // r²/2 exactly: doubling r quadruples the loss.
    expect(huber(0.8 * delta, delta) / huber(0.4 * delta, delta)).toBeCloseTo(4, 12);
    expect(huber(-0.3 * delta, delta)).toBe(huber(0.3 * delta, delta));
  });
  it('is linear above delta with slope delta, continuous at the seam', () => {
    expect(huber(3 * delta, delta) - huber(2 * delta, delta)).toBeCloseTo(delta * delta, 15);
    expect(huber(10, delta)).toBeCloseTo(delta * (10 - 0.5 * delta), 12);
    expect(relErr(huber(delta * (1 + 1e-9), delta), 0.5 * delta * delta)).toBeLessThan(1e-8);
  });
});

describe('fitPowerLaw', () => {
  it('recovers E and α from 1%-noise data, and the 95% intervals cover the truth', () => {
    const fit = fitPowerLaw(powerLawPoints(0.01, 2), 'E+power', { seed: 7 });
    expect(fit.form).toBe('E+power');
    expect(relErr(fit.E, TRUE_POWER.E)).toBeLessThan(0.1);
    expect(relErr(fit.alpha, TRUE_POWER.alpha)).toBeLessThan(0.1);
    expect(covers(fit.intervals.alpha, TRUE_POWER.alpha)).toBe(true);
    expect(covers(fit.intervals.E, TRUE_POWER.E)).toBe(true);
    expect(covers(fit.intervals.Nc, TRUE_POWER.Nc)).toBe(true);
    expect(fit.bootstrapSamples).toBe(200);
    // Residuals are log-ratios of about the noise size, one per point.
    expect(fit.residuals).toHaveLength(8);
    for (const r of fit.residuals) expect(Math.abs(r)).toBeLessThan(0.04);
  });

  it('recovers noiseless E+power data almost exactly', () => {
    const fit = fitPowerLaw(powerLawPoints(0, 1), 'E+power', { bootstrap: 0 });
    expect(relErr(fit.E, TRUE_POWER.E)).toBeLessThan(1e-3);
    expect(relErr(fit.alpha, TRUE_POWER.alpha)).toBeLessThan(1e-3);
    expect(relErr(fit.Nc, TRUE_POWER.Nc)).toBeLessThan(1e-2);
    expect(fit.bootstrapSamples).toBe(0);
    expect(Number.isNaN(fit.intervals.alpha.lo)).toBe(true);
  });

  it('recovers an exact pure power law to 1e-6', () => {
    // Kaplan's constants: α_N = 0.076, N_c = 8.8e13.
    const truth = { E: 0, Nc: 8.8e13, alpha: 0.076 };
    const points = logSpaced(1e5, 1e7, 5).map((N) => ({ N, loss: predictPowerLaw(truth, N) }));
    const fit = fitPowerLaw(points, 'power');
    expect(fit.E).toBe(0);
    expect(Math.abs(fit.alpha - truth.alpha)).toBeLessThan(1e-6);
    expect(relErr(fit.Nc, truth.Nc)).toBeLessThan(1e-4);
    expect(fit.huberLoss).toBeLessThan(1e-20);
  });

  it('residuals are ln(measured/predicted) in input order', () => {
    const points = powerLawPoints(0, 1).reverse();
    points[2] = { ...points[2], loss: points[2].loss * 1.3 }; // one outlier
    const fit = fitPowerLaw(points, 'E+power', { bootstrap: 0 });
    points.forEach((p, i) => expect(fit.residuals[i]).toBeCloseTo(Math.log(p.loss / predictPowerLaw(fit, p.N)), 12));
    // The Huber loss leaves the outlier out of the fit instead of bending the curve to it.
    expect(fit.residuals[2]).toBeGreaterThan(0.2);
    expect(relErr(fit.alpha, TRUE_POWER.alpha)).toBeLessThan(0.05);
  });

  it('is deterministic for a seed and changes with the seed', () => {
    const points = powerLawPoints(0.01, 3);
    const a = fitPowerLaw(points, 'E+power', { seed: 11, bootstrap: 50 });
    const b = fitPowerLaw(points, 'E+power', { seed: 11, bootstrap: 50 });
    const c = fitPowerLaw(points, 'E+power', { seed: 12, bootstrap: 50 });
    expect(b.intervals).toEqual(a.intervals);
    expect(c.intervals.alpha).not.toEqual(a.intervals.alpha);
  });

  it('refuses too few runs, naming the counts', () => {
    const two = [
      { N: 1e4, loss: 3 },
      { N: 1e5, loss: 2 },
    ];
    expect(() => fitPowerLaw(two, 'E+power')).toThrow(FitError);
    expect(() => fitPowerLaw(two, 'E+power')).toThrow(/at least 4 runs at 3 or more distinct sizes; got 2 runs at 2 sizes/);
    // Enough runs but repeated sizes (seeds) do not identify three parameters.
    const seeds = [...two, { N: 1e4, loss: 3.01 }, { N: 1e5, loss: 2.01 }];
    expect(() => fitPowerLaw(seeds, 'E+power')).toThrow(/got 4 runs at 2 sizes/);
    expect(() => fitPowerLaw(two, 'power')).toThrow(/at least 3 runs at 2 or more distinct sizes; got 2 runs/);
  });

  it('refuses non-finite or non-positive values, naming the point', () => {
    const points = powerLawPoints(0, 1);
    points[2] = { ...points[2], loss: NaN };
    expect(() => fitPowerLaw(points, 'E+power')).toThrow(FitError);
    expect(() => fitPowerLaw(points, 'E+power')).toThrow(/point 2 has loss = NaN/);
    points[2] = { ...points[2], loss: 2, N: -5 };
    expect(() => fitPowerLaw(points, 'power')).toThrow(/point 2 has N = -5/);
  });
});

describe('heldOutPrediction', () => {
  it('predicts the largest size from the rest on noiseless data', () => {
    const points = powerLawPoints(0, 1);
    const result = heldOutPrediction(points, 'E+power', { bootstrap: 0 });
    expect(result.params).toBe(1e6);
    expect(result.measured).toBeCloseTo(predictPowerLaw(TRUE_POWER, 1e6), 12);
    expect(Math.abs(result.error)).toBeLessThan(1e-3);
    expect(result.fit.residuals).toHaveLength(7);
  });

  it('holds out every run at the largest size and compares with their mean loss', () => {
    const points = powerLawPoints(0, 1);
    const top = predictPowerLaw(TRUE_POWER, 1e6);
    points.push({ N: 1e6, loss: top * 1.02 }); // a second seed at the largest size
    const result = heldOutPrediction(points, 'power', { bootstrap: 0 });
    expect(result.fit.residuals).toHaveLength(7);
    expect(result.measured).toBeCloseTo(top * 1.01, 12);
    expect(result.error).toBeCloseTo((result.predicted - result.measured) / result.measured, 15);
  });

  it('explains a refusal in terms of the held-out size', () => {
    const points = powerLawPoints(0, 1).slice(-3);
    expect(() => heldOutPrediction(points, 'E+power')).toThrow(/after holding out N = 1000000.*got 2 runs/);
  });
});

describe('fitJoint', () => {
  it('recovers α and β from 1%-noise data on a 6 N × 4 D grid, intervals cover the truth', () => {
    const fit = fitJoint(jointPoints(0.01, 1), { seed: 3 });
    expect(relErr(fit.alpha, TRUE_JOINT.alpha)).toBeLessThan(0.15);
    expect(relErr(fit.beta, TRUE_JOINT.beta)).toBeLessThan(0.15);
    for (const key of ['E', 'A', 'B', 'alpha', 'beta'] as const) {
      expect(covers(fit.intervals[key], TRUE_JOINT[key]), key).toBe(true);
    }
    const trueA = TRUE_JOINT.beta / (TRUE_JOINT.alpha + TRUE_JOINT.beta);
    expect(covers(fit.intervals.a, trueA)).toBe(true);
    expect(fit.a + fit.b).toBeCloseTo(1, 12);
    expect(fit.bootstrapSamples).toBe(200);
    expect(fit.residuals).toHaveLength(24);
  });

  it('recovers noiseless data almost exactly', () => {
    const fit = fitJoint(jointPoints(0, 1), { bootstrap: 0 });
    for (const key of ['E', 'A', 'B', 'alpha', 'beta'] as const) {
      expect(relErr(fit[key], TRUE_JOINT[key]), key).toBeLessThan(1e-2);
    }
  });

  it('computeOptimal matches the Chinchilla closed form and spends exactly C = 6ND', () => {
    const fit = fitJoint(jointPoints(0.01, 1), { bootstrap: 20 });
    const { A, B, alpha, beta } = fit;
    const G = Math.pow((alpha * A) / (beta * B), 1 / (alpha + beta));
    expect(fit.G).toBeCloseTo(G, 10);
    for (const C of [1e15, 1e18, 5.76e23]) {
      const opt = computeOptimal(fit, C);
      expect(relErr(opt.Nopt, G * Math.pow(C / 6, beta / (alpha + beta)))).toBeLessThan(1e-12);
      expect(relErr(opt.Dopt, Math.pow(C / 6, alpha / (alpha + beta)) / G)).toBeLessThan(1e-12);
      expect(relErr(6 * opt.Nopt * opt.Dopt, C)).toBeLessThan(1e-12);
      expect(opt.tokensPerParam).toBeCloseTo(opt.Dopt / opt.Nopt, 9);
    }
    // The allocation is the minimum of predicted loss along the iso-compute curve.
    const C = 1e18;
    const opt = computeOptimal(fit, C);
    const lossAt = (N: number) => predictJoint(fit, N, C / (6 * N));
    expect(lossAt(opt.Nopt)).toBeLessThan(lossAt(opt.Nopt * 1.1));
    expect(lossAt(opt.Nopt)).toBeLessThan(lossAt(opt.Nopt / 1.1));
    // The tokensPerParam interval is taken at the largest 6ND of the sweep by default.
    expect(fit.referenceCompute).toBeCloseTo(6 * 1e8 * 1e9, -10);
    const ratio = computeOptimal(fit, fit.referenceCompute ?? NaN).tokensPerParam;
    expect(fit.intervals.tokensPerParam.lo).toBeLessThan(ratio);
    expect(fit.intervals.tokensPerParam.hi).toBeGreaterThan(ratio);
  });

  it('computeOptimal refuses a fit without an interior optimum', () => {
    const flat = { E: 1, A: 1, B: 1, alpha: 0.3, beta: -0.1 } as unknown as JointFit;
    expect(() => computeOptimal(flat, 1e18)).toThrow(FitError);
  });

  it('refuses too few runs or too few distinct N / D, naming the counts', () => {
    const points = jointPoints(0, 1).filter((p) => (p.D as number) <= 1.1e7); // 2 token budgets
    expect(() => fitJoint(points)).toThrow(FitError);
    expect(() => fitJoint(points)).toThrow(/got 12 runs, 6 N, 2 D/);
    expect(() => fitJoint(jointPoints(0, 1).slice(0, 5))).toThrow(/at least 6 runs.*got 5 runs/);
  });

  it('refuses a point without D, naming it', () => {
    const points: ScalingPoint[] = jointPoints(0, 1);
    points[4] = { N: points[4].N, loss: points[4].loss };
    expect(() => fitJoint(points)).toThrow(/point 4 has D = undefined/);
  });
});
