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

export class SweepError extends Error {
  override name = 'SweepError';
}

/** How each run's peak learning rate is chosen. */
export type LrRule =
  /** Kaplan et al. 2020 eq. D.1: lr(N) = scale * (0.003239 - 0.0001395 ln N), N non-embedding. */
  | { kind: 'kaplan'; scale: number }
  /** The same peak lr for every size. */
  | { kind: 'fixed'; lr: number };

export interface LrScan {
  /** Factors applied to the rule's lr, e.g. [0.25, 0.5, 1, 2, 4] (factor-2 steps, as in muP transfer sweeps). */
  multipliers: number[];
  /** 'ends': the smallest and the largest size; 'all': every size. */
  sizes: 'ends' | 'all';
  /** Each scan run trains on this fraction of the main run's tokens (short runs: the ranking of lrs settles early). */
  tokenFraction: number;
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
  /** Context and batch, the same for every run, so the validation windows are the same too. */
  blockSize: number;
  batchSize: number;
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
  tokens: 1_000_000,
  tokensPerParam: null,
  budgets: [1],
  // Kaplan's rule was fitted on BPE models of 1e5..1e9 params with long runs; for these tiny
  // char models the lr scan (1-epoch Tiny Shakespeare runs) puts the best lr at 8x it at the
  // largest size and 16x or more at the smallest (README's scaling section).
  lr: { kind: 'kaplan', scale: 8 },
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

export function peakLr(rule: LrRule, nonEmbeddingParams: number): number {
  return rule.kind === 'fixed' ? rule.lr : rule.scale * kaplanLr(nonEmbeddingParams);
}

// ---------------------------------------------------------------------------------------
// Spec validation and (de)serialisation

const posInt = (v: unknown) => typeof v === 'number' && Number.isInteger(v) && v > 0;
const posNum = (v: unknown) => typeof v === 'number' && Number.isFinite(v) && v > 0;

/** Throw one SweepError line naming the first bad field and the fix. */
export function validateSpec(spec: SweepSpec): void {
  const bad = (msg: string): never => { throw new SweepError(`sweep spec: ${msg}`); };
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
    bad(`the ladder must span at least ${MIN_SPAN}x in non-embedding parameters: raise maxParams to ${Math.ceil(spec.minParams * MIN_SPAN)} or lower minParams to ${Math.floor(spec.maxParams / MIN_SPAN)}`);
  }
  const hasTokens = spec.tokens !== null && spec.tokens !== undefined;
  const hasRatio = spec.tokensPerParam !== null && spec.tokensPerParam !== undefined;
  if (hasTokens === hasRatio) bad('give exactly one of tokens (per run) and tokensPerParam');
  if (hasTokens && !posNum(spec.tokens)) bad(`tokens must be a positive number (got ${spec.tokens})`);
  if (hasRatio && !posNum(spec.tokensPerParam)) bad(`tokensPerParam must be a positive number (got ${spec.tokensPerParam})`);
  if (!Array.isArray(spec.budgets) || spec.budgets.length === 0 || !spec.budgets.every(posNum)) bad('budgets must be a non-empty list of positive multipliers, e.g. [1] or [0.25, 0.5, 1]');
  if (new Set(spec.budgets).size !== spec.budgets.length) bad('budgets must not repeat a value');
  const lr = spec.lr as LrRule | undefined;
  if (!lr || (lr.kind === 'kaplan' ? !posNum(lr.scale) : lr.kind === 'fixed' ? !posNum(lr.lr) : true)) {
    bad(`lr must be {"kind":"kaplan","scale":1} or {"kind":"fixed","lr":0.001} (got ${JSON.stringify(spec.lr)})`);
  }
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
  if (spec.lrScan !== null && spec.lrScan !== undefined) {
    const scan = spec.lrScan;
    if (typeof scan !== 'object' || !Array.isArray(scan.multipliers) || scan.multipliers.length < 2 || !scan.multipliers.every(posNum) || !scan.multipliers.includes(1)) {
      bad('lrScan.multipliers must be a list of at least 2 positive factors including 1, e.g. [0.25, 0.5, 1, 2, 4]');
    }
    if (new Set(scan.multipliers).size !== scan.multipliers.length) bad('lrScan.multipliers must not repeat a value');
    if (scan.sizes !== 'ends' && scan.sizes !== 'all') bad(`lrScan.sizes must be 'ends' or 'all' (got ${JSON.stringify(scan.sizes)})`);
    if (!(scan.tokenFraction > 0 && scan.tokenFraction <= 1)) bad(`lrScan.tokenFraction must be in (0, 1] (got ${scan.tokenFraction})`);
  }
}

/** A spec from parsed JSON: defaults for missing fields, unknown fields refused, then validated. */
export function specFromJSON(obj: unknown, name = 'the spec'): SweepSpec {
  if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) throw new SweepError(`${name} must be a JSON object with sweep fields (corpus, sizes, minParams, ...)`);
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

