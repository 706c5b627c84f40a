// The analysis of a sweep's results: the L(N) fits on one parameter count (E + power
// law, pure power law), the held-out extrapolation check, seed-to-seed noise, the joint
// L(N, D) fit, and the published constants they are compared with. Pure TypeScript.

import { diagnose, type Diagnosis } from './diagnostics';
import { FitError, predictPowerLaw, type JointFit, type PowerLawFit, type ScalingPoint } from './fit';
import { fitJoint } from './fit-joint';
import { fitPowerLaw, heldOutPrediction } from './fit-power';
import { SweepError } from './sweep';
import type { RunResult } from './sweep-plan';
import type { SweepResults } from './sweep-results';

export type ParamKind = 'nonEmbedding' | 'total';
export const PARAM_KIND_LABEL: Record<ParamKind, string> = { nonEmbedding: 'non-embedding parameters', total: 'total parameters (with embeddings)' };

export interface AnalysedPoint {
  runId: string;
  N: number;
  D: number;
  /** Final validation loss, nats per character. */
  loss: number;
  seed: number;
  /** ln measured − ln fitted (E + power law), when that fit exists. */
  residual?: number;
}

export interface SeedNoise {
  N: number;
  D: number;
  runs: number;
  mean: number;
  /** Sample standard deviation of the final validation loss across seeds, and relative to the mean. */
  sd: number;
  relSd: number;
}

export interface Analysis {
  paramKind: ParamKind;
  /**
   * The points of the L(N) fits: at each size the runs at the largest token budget that
   * every size has (an IsoFLOP design gives each size its own budgets; L(N) needs one D),
   * or, when the sizes share none, at each size's own largest budget.
   */
  points: AnalysedPoint[];
  fit: PowerLawFit | null;
  fitError?: string;
  power: PowerLawFit | null;
  powerError?: string;
  /**
   * The largest size predicted by the fit without it. `sd` is the seed-to-seed standard
   * deviation at that size when it has several seeds, else pooled over the sizes that do;
   * `sds` = |predicted − measured| / sd, the miss in seed standard deviations.
   */
  heldOut: {
    params: number;
    predicted: number;
    measured: number;
    error: number;
    sd: number | null;
    sdSource: 'held-out size' | 'pooled' | null;
    sds: number | null;
  } | null;
  heldOutError?: string;
  seedNoise: SeedNoise[];
  /** L(N, D) over every run, when the sweep has several token budgets per size. */
  joint: JointFit | null;
  jointError?: string;
  dataLimitedRuns: string[];
  /** 95% band of the E + power-law curve (2.5% and 97.5% of the bootstrap refits' predictions), when bandN was given. */
  band: { N: number[]; lo: number[]; hi: number[] } | null;
  /** Whether the L(N) constants mean anything (diagnostics.ts): valid, or the problems, one line each. */
  diagnosis: Diagnosis;
}

/** Published constants for reference (different tokenizers: the scales do not transfer to characters). */
export const PUBLISHED = {
  kaplan: { alphaN: 0.076, Nc: 8.8e13, alphaD: 0.095, note: 'Kaplan et al. 2020, BPE tokens, non-embedding N' },
  chinchilla: { E: 1.69, A: 406.4, B: 410.7, alpha: 0.34, beta: 0.28, a: 0.46, note: 'Hoffmann et al. 2022, Approach 3' },
  besiroglu: { E: 1.82, A: 482, B: 2085, alpha: 0.35, beta: 0.37, a: 0.51, note: 'Besiroglu et al. 2024 refit of Approach 3' },
} as const;

const errorText = (e: unknown) => (e instanceof FitError || e instanceof SweepError ? e.message : `internal error: ${(e as Error).message}`);

export function analyse(results: SweepResults, opts: { paramKind?: ParamKind; bootstrap?: number; bandN?: number[] } = {}): Analysis {
  const paramKind = opts.paramKind ?? 'nonEmbedding';
  const fitOpts = { bootstrap: opts.bootstrap ?? 200 };
  const samples: { E: number; Nc: number; alpha: number }[] = [];
  const nOf = (r: RunResult) => (paramKind === 'total' ? r.params : r.nonEmbeddingParams);
  const lRuns = lawRuns(results.runs).sort((a, b) => nOf(a) - nOf(b));
  const points: AnalysedPoint[] = lRuns.map((r) => ({ runId: r.id, N: nOf(r), D: r.tokens, loss: r.valLoss, seed: r.seed }));
  const scaling: ScalingPoint[] = points.map((p) => ({ N: p.N, loss: p.loss }));
  const out: Analysis = {
    paramKind,
    points,
    fit: null,
    power: null,
    heldOut: null,
    seedNoise: [],
    joint: null,
    dataLimitedRuns: results.runs.filter((r) => r.dataLimited).map((r) => r.id),
    band: null,
    diagnosis: { valid: true, problems: [] },
  };

  try {
    out.fit = fitPowerLaw(scaling, 'E+power', { ...fitOpts, onBootstrapSample: (p) => samples.push(p as (typeof samples)[number]) });
    points.forEach((p, i) => (p.residual = out.fit?.residuals[i]));
    if (opts.bandN && samples.length >= 10) out.band = predictionBand(samples, opts.bandN);
  } catch (e) {
    out.fitError = errorText(e);
  }
  try {
    out.power = fitPowerLaw(scaling, 'power', fitOpts);
  } catch (e) {
    out.powerError = errorText(e);
  }
  try {
    const h = heldOutPrediction(scaling, 'E+power', fitOpts);
    out.heldOut = { params: h.params, predicted: h.predicted, measured: h.measured, error: h.error, sd: null, sdSource: null, sds: null };
  } catch (e) {
    out.heldOutError = errorText(e);
  }

  const groups = new Map<string, RunResult[]>();
  for (const r of results.runs) {
    const key = `${r.sizeIndex}/${r.tokens}`;
    groups.set(key, [...(groups.get(key) ?? []), r]);
  }
  for (const g of groups.values()) {
    if (g.length < 2) continue;
    const losses = g.map((r) => r.valLoss);
    const mean = losses.reduce((a, b) => a + b, 0) / losses.length;
    const sd = Math.sqrt(losses.reduce((a, b) => a + (b - mean) ** 2, 0) / (losses.length - 1));
    out.seedNoise.push({ N: nOf(g[0]), D: g[0].tokens, runs: g.length, mean, sd, relSd: sd / mean });
  }
  out.seedNoise.sort((a, b) => a.N - b.N);
  if (out.heldOut && out.seedNoise.length > 0) {
    const h = out.heldOut;
    const own = out.seedNoise.find((s) => s.N === h.params && s.D === Math.max(...out.seedNoise.filter((t) => t.N === h.params).map((t) => t.D)));
    // Pooled: the square root of the runs-weighted mean variance over the sizes with seeds.
    const dof = out.seedNoise.reduce((a, s) => a + s.runs - 1, 0);
    const pooled = Math.sqrt(out.seedNoise.reduce((a, s) => a + (s.runs - 1) * s.sd ** 2, 0) / dof);
    h.sd = own ? own.sd : pooled;
    h.sdSource = own ? 'held-out size' : 'pooled';
    h.sds = h.sd > 0 ? Math.abs(h.predicted - h.measured) / h.sd : null;
  }

  out.diagnosis = diagnose({
    points: lRuns.map((r) => ({ N: nOf(r), nonEmbedding: r.nonEmbeddingParams, loss: r.valLoss })),
    fit: out.fit,
    fitError: out.fitError,
    heldOut: out.heldOut,
    heldOutError: out.heldOutError,
    testOnly: results.spec.testOnlySmallLadder === true,
  });

  if (hasSeveralBudgets(results)) {
    try {
      out.joint = fitJoint(
        results.runs.map((r) => ({ N: nOf(r), D: r.tokens, loss: r.valLoss })),
        fitOpts,
      );
    } catch (e) {
      out.jointError = errorText(e);
    }
  }
  return out;
}

/** The runs L(N) is fitted to: per size, the largest token budget all sizes share (else each size's largest). */
export function lawRuns(runs: RunResult[]): RunResult[] {
  const tokensBySize = new Map<number, Set<number>>();
  for (const r of runs) tokensBySize.set(r.sizeIndex, (tokensBySize.get(r.sizeIndex) ?? new Set<number>()).add(r.tokens));
  const sets = [...tokensBySize.values()];
  const shared = sets.length ? [...sets[0]].filter((t) => sets.every((s) => s.has(t))) : [];
  if (shared.length) {
    const D = Math.max(...shared);
    return runs.filter((r) => r.tokens === D);
  }
  const maxBudget = new Map<number, number>();
  for (const r of runs) maxBudget.set(r.sizeIndex, Math.max(maxBudget.get(r.sizeIndex) ?? 0, r.tokens));
  return runs.filter((r) => r.tokens === maxBudget.get(r.sizeIndex));
}

/** Several token budgets at some size: the joint L(N, D) fit and Chinchilla's approaches apply. */
export function hasSeveralBudgets(results: Pick<SweepResults, 'runs'>): boolean {
  const tokensBySize = new Map<number, Set<number>>();
  for (const r of results.runs) tokensBySize.set(r.sizeIndex, (tokensBySize.get(r.sizeIndex) ?? new Set<number>()).add(r.tokens));
  return [...tokensBySize.values()].some((s) => s.size > 1);
}

/** Pointwise 2.5% and 97.5% quantiles of the refits' predicted loss at each N. */
function predictionBand(samples: { E: number; Nc: number; alpha: number }[], Ns: number[]): { N: number[]; lo: number[]; hi: number[] } {
  const lo: number[] = [],
    hi: number[] = [];
  for (const N of Ns) {
    const preds = samples
      .map((s) => predictPowerLaw(s, N))
      .filter(Number.isFinite)
      .sort((a, b) => a - b);
    const q = (f: number) => preds[Math.min(preds.length - 1, Math.max(0, Math.round(f * (preds.length - 1))))];
    lo.push(q(0.025));
    hi.push(q(0.975));
  }
  return { N: [...Ns], lo, hi };
}

/** The prediction at N of the E + power-law fit, else of the pure power law (fewer runs needed), else NaN. */
export function predictAt(analysis: Pick<Analysis, 'fit' | 'power'>, N: number): number {
  const f = analysis.fit ?? analysis.power;
  return f ? predictPowerLaw(f, N) : NaN;
}
