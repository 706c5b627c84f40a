// The scaling sweep as data: a serialisable spec, its defaults and its validation.
// Pure TypeScript (no tfjs, no DOM), so the CLI, the worker and the page all plan the
// same sweep. What the spec implies lives beside it: the ladder of model sizes
// (ladder.ts), the planned runs with their schedules and the record each finished run
// leaves (sweep-plan.ts), and time estimates from a calibration (sweep-estimate.ts).
//
// Protocol (shared/SCALING-NOTES.md): >= 5 sizes about 2x apart spanning >= 16x
// in non-embedding parameters, >= 2 layers, a fixed head size and depth-to-width
// ratio; Kaplan's lr(N) rule; a cosine schedule matched to each run's own length
// with a warmup that is a fixed fraction of it; one fixed validation set; compute
// counted both as 6ND and exactly; a warning past ~4 epochs over the text.

import { LR_CALIBRATION } from './lr-calibration';
import { budgetMultiplier } from './lr-rule';

export class SweepError extends Error {
  override name = 'SweepError';
}

/** How each run's peak learning rate is chosen. */
export type LrRule =
  /**
   * Kaplan's lr(N) times a multiplier fitted to lr scans at several token budgets at both
   * ends of the ladder (lr-rule.ts): follows N and the tokens per run D. The fitted numbers
   * travel in the spec (from lr-calibration.ts), so a results file records the rule it ran.
   */
  | { kind: 'budget'; c0: number; cD: number; cN: number; tokens: [number, number]; params: [number, number] }
  /** Kaplan et al. 2020 eq. D.1: lr(N) = scale * (0.003239 - 0.0001395 ln N), N non-embedding. */
  | { kind: 'kaplan'; scale: number }
  /** The same peak lr for every size. */
  | { kind: 'fixed'; lr: number };

export interface LrScan {
  /** Factors applied to the rule's lr, e.g. [0.25, 0.5, 1, 2, 4] (factor-2 steps, as in muP transfer sweeps). */
  multipliers: number[];
  /** 'ends': the smallest and the largest size; 'all': every size; 'smallest' or 'largest': one end (to extend a scan there). */
  sizes: 'ends' | 'all' | 'smallest' | 'largest';
  /** Each scan run trains on this fraction of the main run's tokens (short runs: the ranking of lrs settles early). */
  tokenFraction: number;
}

export interface IsoFlopDesign {
  /** Compute levels C = 6ND in FLOPs. */
  flops: number[];
  minTokensPerParam: number;
  maxTokensPerParam: number;
}

export const DEFAULT_LR_SCAN: LrScan = { multipliers: [0.25, 0.5, 1, 2, 4], sizes: 'ends', tokenFraction: 0.25 };

export interface SweepSpec {
  /** 'shakespeare', 'builtin', or 'text:NAME' for a user's file (the CLI keeps the path there). */
  corpus: string;
  /** Rungs of the ladder. */
  sizes: number;
  /** Target non-embedding parameters of the smallest and largest rung (the ladder rounds to real shapes). */
  minParams: number;
  maxParams: number;
  /** Fixed head size: nEmbd = nHead * headSize at every rung. */
  headSize: number;
  /** Fixed depth-to-width ratio as nEmbd / nLayer (Kaplan: shape matters little if it is held fixed). */
  widthPerLayer: number;
  /** Context, the same for every run; the batch of a run long enough (see minSteps). The validation windows are the same for every run. */
  blockSize: number;
  batchSize: number;
  /**
   * The fewest optimizer steps a run may take: a shorter budget trains on a smaller batch (batchSize halved
   * until the run takes minSteps, lr scaled by the square root of the batch ratio, Adam's rule). These models
   * learn by steps, not tokens (Kaplan's S_min): a run starved of steps ends on the plateau of character-pair
   * statistics, and when it leaves it is seed luck. On Tiny Shakespeare at 500k tokens, one 2 x 32 shape ended
   * 2.248 and 2.448 for two seeds in 488 steps of 16, and 2.141, 2.122, 2.136 for three in 1,952 steps of 4;
   * 150k tokens in 1,172 steps of 2 did not order the ladder, in 2,344 steps of 1 it did for both seeds.
   * Absent (0) in results files from before it.
   */
  minSteps?: number;
  /** Tokens per run: a fixed count, or tokensPerParam * non-embedding N. Exactly one is set. */
  tokens: number | null;
  tokensPerParam: number | null;
  /** Token-budget multipliers per size; [1] is one run per size, several feed the joint L(N, D) fit. */
  budgets: number[];
  lr: LrRule;
  /** Cosine floor as a fraction of the peak lr (nanoGPT: 0.1). */
  minLrRatio: number;
  /** Warmup as a fixed fraction of each run's steps. */
  warmupFraction: number;
  /** Seeds run at every size and budget. */
  seeds: number[];
  /** Extra seeds run only at the ladder indices in repeatSizes: the seed-to-seed noise the fit is judged against. */
  repeatSeeds: number[];
  repeatSizes: number[];
  /** The fixed validation set: evalIters batches of batchSize windows (the same seeded windows for every run). */
  evalIters: number;
  /** Validation points on each run's loss curve (the last one is at the final step). */
  evalsPerRun: number;
  weightDecay: number;
  beta2: number;
  dropout: number;
  gradClip: number;
  /**
   * Short runs at the rule's lr times each multiplier, at the two ends of the ladder (or at
   * every size), kept apart from the main runs: the check that the lr rule is near the best
   * lr at each size (with standard parametrisation the best lr moves with size). null: none.
   */
  lrScan: LrScan | null;
  /**
   * IsoFLOP runs (Chinchilla Approach 2's design), on top of the runs above: at each compute
   * C = 6ND (N non-embedding) every size trains D = C / (6N) tokens, if D/N lies in
   * [minTokensPerParam, maxTokensPerParam] (the sizes near the optimum: small sizes get
   * budgets past the ladder's, large ones smaller). null: none.
   */
  isoFlops?: IsoFlopDesign | null;
  /** TEST ONLY: allow fewer than 5 sizes and less than a 16x span. Results so marked are not a measurement. */
  testOnlySmallLadder?: boolean;
}

/** Sized for the CLI on two CPU cores: 5 sizes 14.5k..250k non-embedding params (rounding to shapes keeps that span), 1M tokens (~1 epoch of Tiny Shakespeare) each. */
export const DEFAULT_SPEC: SweepSpec = {
  corpus: 'shakespeare',
  sizes: 5,
  minParams: 14_500,
  maxParams: 250_000,
  headSize: 8,
  widthPerLayer: 12,
  blockSize: 64,
  batchSize: 16,
  minSteps: 1500, // 150k, 500k, 1M tokens train 2,344, 1,953, 1,953 steps (batch 1, 4, 8)
  tokens: 1_000_000,
  tokensPerParam: null,
  budgets: [1],
  // Kaplan's rule was fitted on BPE models of 1e5..1e9 params with long runs; for these tiny
  // char models the best lr is several times higher and moves with N and with the tokens per
  // run, so the default follows both, as calibrated by lr scans (lr-calibration.ts).
  lr: budgetRule(),
  minLrRatio: 0.1,
  warmupFraction: 0.05,
  seeds: [1],
  repeatSeeds: [],
  repeatSizes: [0, 2],
  evalIters: 50,
  evalsPerRun: 5,
  weightDecay: 0.1,
  beta2: 0.99,
  dropout: 0,
  gradClip: 1,
  lrScan: null,
  isoFlops: null,
};

export const MIN_SIZES = 5;
export const MIN_SPAN = 16;
export const MIN_LAYERS = 2;
/** Past this many passes over the training text, repeated data is worth less (Muennighoff et al. 2023). */
export const MAX_EPOCHS = 4;

/** Kaplan et al. 2020, eq. D.1 (N = non-embedding parameters). */
export function kaplanLr(nonEmbeddingParams: number): number {
  return 0.003239 - 0.0001395 * Math.log(nonEmbeddingParams);
}

/** The peak lr of a run of `tokens` tokens at N non-embedding parameters. */
export function peakLr(rule: LrRule, nonEmbeddingParams: number, tokens: number): number {
  if (rule.kind === 'fixed') return rule.lr;
  if (rule.kind === 'kaplan') return rule.scale * kaplanLr(nonEmbeddingParams);
  return budgetMultiplier(rule, nonEmbeddingParams, tokens) * kaplanLr(nonEmbeddingParams);
}

/** The budget rule with the committed calibration's numbers. */
export function budgetRule(): LrRule {
  const { c0, cD, cN, tokens, params } = LR_CALIBRATION;
  return { kind: 'budget', c0, cD, cN, tokens: [tokens[0], tokens[1]], params: [params[0], params[1]] };
}

// ---------------------------------------------------------------------------------------
// Spec validation and (de)serialisation

const posInt = (v: unknown) => typeof v === 'number' && Number.isInteger(v) && v > 0;
const posNum = (v: unknown) => typeof v === 'number' && Number.isFinite(v) && v > 0;

/** Throw one SweepError line naming the first bad field and the fix. */
export function validateSpec(spec: SweepSpec): void {
  const bad = (msg: string): never => {
    throw new SweepError(`sweep spec: ${msg}`);
  };
  if (typeof spec.corpus !== 'string' || spec.corpus === '') bad(`corpus must be 'shakespeare', 'builtin' or 'text:NAME'`);
  for (const k of ['sizes', 'headSize', 'blockSize', 'batchSize', 'evalIters', 'evalsPerRun'] as const) {
    if (!posInt(spec[k])) bad(`${k} must be a positive integer (got ${JSON.stringify(spec[k])})`);
  }
  for (const k of ['minParams', 'maxParams', 'widthPerLayer'] as const) {
    if (!posNum(spec[k])) bad(`${k} must be a positive number (got ${JSON.stringify(spec[k])})`);
  }
  const small = spec.testOnlySmallLadder === true;
  if (spec.sizes < (small ? 2 : MIN_SIZES)) bad(`sizes must be at least ${MIN_SIZES} for a scaling fit (got ${spec.sizes})`);
  if (!(spec.maxParams > spec.minParams)) bad(`maxParams (${spec.maxParams}) must exceed minParams (${spec.minParams})`);
  if (!small && spec.maxParams / spec.minParams < MIN_SPAN) {
    bad(
      `the ladder must span at least ${MIN_SPAN}x in non-embedding parameters: raise maxParams to ${Math.ceil(spec.minParams * MIN_SPAN)} or lower minParams to ${Math.floor(spec.maxParams / MIN_SPAN)}`,
    );
  }
  const hasTokens = spec.tokens !== null && spec.tokens !== undefined;
  const hasRatio = spec.tokensPerParam !== null && spec.tokensPerParam !== undefined;
  if (hasTokens === hasRatio) bad('give exactly one of tokens (per run) and tokensPerParam');
  if (hasTokens && !posNum(spec.tokens)) bad(`tokens must be a positive number (got ${spec.tokens})`);
  if (hasRatio && !posNum(spec.tokensPerParam)) bad(`tokensPerParam must be a positive number (got ${spec.tokensPerParam})`);
  if (!Array.isArray(spec.budgets) || spec.budgets.length === 0 || !spec.budgets.every(posNum))
    bad('budgets must be a non-empty list of positive multipliers, e.g. [1] or [0.25, 0.5, 1]');
  if (new Set(spec.budgets).size !== spec.budgets.length) bad('budgets must not repeat a value');
  const lr = spec.lr as LrRule | undefined;
  const finite = (v: unknown) => typeof v === 'number' && Number.isFinite(v);
  const range = (v: unknown) => Array.isArray(v) && v.length === 2 && posNum(v[0]) && posNum(v[1]) && v[0] <= v[1];
  const budgetOk = (r: LrRule) => r.kind === 'budget' && finite(r.c0) && finite(r.cD) && finite(r.cN) && range(r.tokens) && range(r.params);
  if (!lr || (lr.kind === 'kaplan' ? !posNum(lr.scale) : lr.kind === 'fixed' ? !posNum(lr.lr) : !budgetOk(lr))) {
    bad(
      `lr must be {"kind":"kaplan","scale":8}, {"kind":"fixed","lr":0.001} or the budget rule {"kind":"budget","c0":..,"cD":..,"cN":..,"tokens":[lo,hi],"params":[lo,hi]} (got ${JSON.stringify(spec.lr)})`,
    );
  }
  if (spec.minSteps !== undefined && !(Number.isInteger(spec.minSteps) && spec.minSteps >= 0)) bad(`minSteps must be an integer >= 0 (got ${spec.minSteps})`);
  if (!(spec.minLrRatio >= 0 && spec.minLrRatio <= 1)) bad(`minLrRatio must be in [0, 1] (got ${spec.minLrRatio})`);
  if (!(spec.warmupFraction >= 0 && spec.warmupFraction < 0.5)) bad(`warmupFraction must be in [0, 0.5) (got ${spec.warmupFraction})`);
  const ints = (v: unknown) => Array.isArray(v) && v.every((s) => Number.isInteger(s));
  if (!ints(spec.seeds) || spec.seeds.length === 0) bad('seeds must be a non-empty list of integers');
  if (!ints(spec.repeatSeeds)) bad('repeatSeeds must be a list of integers');
  if (spec.repeatSeeds.some((s) => spec.seeds.includes(s))) bad('repeatSeeds must differ from seeds');
  if (!ints(spec.repeatSizes) || spec.repeatSizes.some((i) => i < 0 || i >= spec.sizes)) bad(`repeatSizes must be ladder indices in 0..${spec.sizes - 1}`);
  if (!(spec.weightDecay >= 0)) bad(`weightDecay must be >= 0 (got ${spec.weightDecay})`);
  if (!(spec.beta2 >= 0 && spec.beta2 < 1)) bad(`beta2 must be in [0, 1) (got ${spec.beta2})`);
  if (!(spec.dropout >= 0 && spec.dropout < 1)) bad(`dropout must be in [0, 1) (got ${spec.dropout})`);
  if (!(spec.gradClip >= 0)) bad(`gradClip must be >= 0 (got ${spec.gradClip})`);
  if (spec.isoFlops !== null && spec.isoFlops !== undefined) {
    const iso = spec.isoFlops;
    if (
      typeof iso !== 'object' ||
      !Array.isArray(iso.flops) ||
      iso.flops.length === 0 ||
      !iso.flops.every(posNum) ||
      new Set(iso.flops).size !== iso.flops.length
    ) {
      bad('isoFlops.flops must be a list of distinct positive compute levels C = 6ND, e.g. [1e10, 3e10, 1e11]');
    }
    if (!posNum(iso.minTokensPerParam) || !posNum(iso.maxTokensPerParam) || !(iso.maxTokensPerParam > iso.minTokensPerParam)) {
      bad(`isoFlops needs 0 < minTokensPerParam < maxTokensPerParam (got ${iso.minTokensPerParam}, ${iso.maxTokensPerParam})`);
    }
  }
  if (spec.lrScan !== null && spec.lrScan !== undefined) {
    const scan = spec.lrScan;
    // Usually around 1 (the rule's own lr); a list without 1 extends an earlier scan of the same runs (merged by `sweep lr-rule`).
    if (typeof scan !== 'object' || !Array.isArray(scan.multipliers) || scan.multipliers.length < 1 || !scan.multipliers.every(posNum)) {
      bad("lrScan.multipliers must be a list of positive factors of the rule's lr, e.g. [0.25, 0.5, 1, 2, 4]");
    }
    if (new Set(scan.multipliers).size !== scan.multipliers.length) bad('lrScan.multipliers must not repeat a value');
    if (!['ends', 'all', 'smallest', 'largest'].includes(scan.sizes))
      bad(`lrScan.sizes must be 'ends', 'all', 'smallest' or 'largest' (got ${JSON.stringify(scan.sizes)})`);
    if (!(scan.tokenFraction > 0 && scan.tokenFraction <= 1)) bad(`lrScan.tokenFraction must be in (0, 1] (got ${scan.tokenFraction})`);
  }
}

/** A spec from parsed JSON: defaults for missing fields, unknown fields refused, then validated. */
export function specFromJSON(obj: unknown, name = 'the spec'): SweepSpec {
  if (typeof obj !== 'object' || obj === null || Array.isArray(obj))
    throw new SweepError(`${name} must be a JSON object with sweep fields (corpus, sizes, minParams, ...)`);
  const known = new Set([...Object.keys(DEFAULT_SPEC), 'testOnlySmallLadder']);
  const unknown = Object.keys(obj).filter((k) => !known.has(k));
  if (unknown.length > 0) throw new SweepError(`${name}: unknown field '${unknown[0]}'; known fields: ${[...known].join(', ')}`);
  const given = obj as Partial<SweepSpec>;
  const spec: SweepSpec = { ...DEFAULT_SPEC, ...given };
  // Giving one of tokens / tokensPerParam replaces the default of the other.
  if (given.tokensPerParam != null && given.tokens === undefined) spec.tokens = null;
  validateSpec(spec);
  return spec;
}

/** Field names whose values differ between two specs (for "this results file holds another sweep"). */
export function specDiff(a: SweepSpec, b: SweepSpec): string[] {
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]) as Set<keyof SweepSpec>;
  return [...keys].filter((k) => JSON.stringify(a[k] ?? null) !== JSON.stringify(b[k] ?? null));
}
