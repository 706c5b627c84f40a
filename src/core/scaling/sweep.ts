// The scaling sweep as data: a serialisable spec, the ladder of model sizes it
// implies, the planned runs with their schedules, the record each finished run
// leaves, and time estimates from a calibration. Pure TypeScript (no tfjs, no
// DOM), so the CLI, the worker and the page all plan the same sweep.
//
// Protocol (shared/SCALING-NOTES.md): >= 5 sizes about 2x apart spanning >= 16x
// in non-embedding parameters, >= 2 layers, a fixed head size and depth-to-width
// ratio; Kaplan's lr(N) rule; a cosine schedule matched to each run's own length
// with a warmup that is a fixed fraction of it; one fixed validation set; compute
// counted both as 6ND and exactly; a warning past ~4 epochs over the text.

import { makeConfig, type Config } from '../config';
import { flopsPerToken, paramCount } from '../counts';

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

/** Sized for the CLI on two CPU cores: 5 sizes 12k..250k non-embedding params, 1M tokens (~1 epoch of Tiny Shakespeare) each. */
export const DEFAULT_SPEC: SweepSpec = {
  corpus: 'shakespeare',
  sizes: 5,
  minParams: 12_000,
  maxParams: 250_000,
  headSize: 8,
  widthPerLayer: 12,
  blockSize: 64,
  batchSize: 16,
  tokens: 1_000_000,
  tokensPerParam: null,
  budgets: [1],
  // Kaplan's rule was fitted on BPE models of 1e5..1e9 params with long runs; for these tiny
  // char models the lr scan puts the best lr at 4x it or more at both ends of the ladder (README).
  lr: { kind: 'kaplan', scale: 4 },
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

// ---------------------------------------------------------------------------------------
// The ladder

export interface Rung {
  index: number;
  nLayer: number;
  nHead: number;
  nEmbd: number;
  nonEmbeddingParams: number;
  /** The geometric target this rung was rounded from. */
  targetParams: number;
}

// How much a rung may trade its depth-to-width ratio for hitting its target size:
// score = |ln N - ln target| + ASPECT_WEIGHT * |ln(width per layer / wanted)|.
const ASPECT_WEIGHT = 0.5;
const MAX_LAYERS = 48;
const MAX_HEADS = 256;

/**
 * Model shapes for a spec: targets spaced geometrically from minParams to maxParams,
 * each rounded to the (nLayer >= 2, nHead) shape nearest in size and aspect, strictly
 * increasing. Throws when the rounding leaves too few distinct sizes or too short a span.
 */
export function ladder(spec: SweepSpec): Rung[] {
  const K = spec.sizes;
  const hs = spec.headSize;
  const count = (nLayer: number, nEmbd: number) =>
    paramCount({ nLayer, nHead: 1, nEmbd, blockSize: spec.blockSize, vocabSize: 0, dropout: 0, bias: true }).nonEmbedding;
  const rungs: Rung[] = [];
  let prev = 0;
  for (let i = 0; i < K; i++) {
    const target = spec.minParams * Math.pow(spec.maxParams / spec.minParams, K === 1 ? 0 : i / (K - 1));
    let best: Rung | null = null;
    let bestScore = Infinity;
    for (let nLayer = MIN_LAYERS; nLayer <= MAX_LAYERS; nLayer++) {
      for (let nHead = 1; nHead <= MAX_HEADS; nHead++) {
        const nEmbd = nHead * hs;
        const N = count(nLayer, nEmbd);
        if (N <= prev) continue;
        const score = Math.abs(Math.log(N / target)) + ASPECT_WEIGHT * Math.abs(Math.log(nEmbd / nLayer / spec.widthPerLayer));
        if (score < bestScore) {
          bestScore = score;
          best = { index: i, nLayer, nHead, nEmbd, nonEmbeddingParams: N, targetParams: Math.round(target) };
        }
      }
    }
    if (!best) throw new SweepError(`sweep spec: no model shape fits rung ${i + 1} (target ${Math.round(target)} params): lower maxParams or the head size`);
    rungs.push(best);
    prev = best.nonEmbeddingParams;
  }
  const span = rungs[K - 1].nonEmbeddingParams / rungs[0].nonEmbeddingParams;
  if (!spec.testOnlySmallLadder && span < MIN_SPAN) {
    throw new SweepError(`sweep spec: the ladder rounds to a ${span.toFixed(1)}x span (${rungs[0].nonEmbeddingParams} to ${rungs[K - 1].nonEmbeddingParams} non-embedding params), under ${MIN_SPAN}x: raise maxParams or lower minParams`);
  }
  return rungs;
}

// ---------------------------------------------------------------------------------------
// Planned runs

/** What the plan needs to know about the text. */
export interface CorpusShape {
  vocabSize: number;
  /** Characters (tokens) in the training split: the denominator of epochs. */
  trainChars: number;
}

export interface PlannedRun {
  /** Stable key: the same spec gives the same ids, so a resumed sweep skips finished runs. */
  id: string;
  sizeIndex: number;
  budgetIndex: number;
  seed: number;
  config: Config;
  /** Total parameters (with token and position embeddings) and Kaplan's non-embedding N. */
  params: number;
  nonEmbeddingParams: number;
  /** Training tokens D = maxIters * batchSize * blockSize. */
  tokens: number;
  /** Passes over the training split. */
  epochs: number;
  flopsPerToken: number;
  /** C = 6 N D with N non-embedding (Kaplan's approximation). */
  flops6ND: number;
  /** C = flopsPerToken * D: with the LM head and attention's 12 L T C per token. */
  flopsExact: number;
  dataLimited: boolean;
  /** Set on lr-scan runs only: the factor on the rule's lr (these runs are stored apart and never fitted). */
  lrMultiplier?: number;
}

export function runId(cfg: Pick<Config, 'nLayer' | 'nEmbd' | 'seed'>, tokens: number): string {
  return `L${cfg.nLayer}-C${cfg.nEmbd}-D${tokens}-s${cfg.seed}`;
}

/** Every run of the sweep, smallest size first (so each new size can be predicted by the fit so far), repeats last. */
export function planRuns(spec: SweepSpec, corpus: CorpusShape): PlannedRun[] {
  validateSpec(spec);
  const rungs = ladder(spec);
  const tokensPerStep = spec.batchSize * spec.blockSize;
  const runs: PlannedRun[] = [];
  const add = (rung: Rung, budgetIndex: number, seed: number, lrMultiplier?: number) => {
    const N = rung.nonEmbeddingParams;
    const baseTokens = spec.tokens ?? (spec.tokensPerParam as number) * N;
    const fraction = lrMultiplier === undefined ? spec.budgets[budgetIndex] : (spec.lrScan as LrScan).tokenFraction;
    const maxIters = Math.max(1, Math.round((baseTokens * fraction) / tokensPerStep));
    const lr = peakLr(spec.lr, N) * (lrMultiplier ?? 1);
    if (!(lr > 0)) throw new SweepError(`sweep spec: the lr rule gives ${lr} at N = ${N}: use a fixed lr`);
    const config = makeConfig({
      nLayer: rung.nLayer, nHead: rung.nHead, nEmbd: rung.nEmbd, blockSize: spec.blockSize, vocabSize: corpus.vocabSize,
      dropout: spec.dropout, bias: true, batchSize: spec.batchSize, maxIters, lr, minLr: lr * spec.minLrRatio,
      // Matched to this run's own length (Porian et al. 2024): warmup a fixed fraction, cosine to the last step.
      warmupIters: Math.round(spec.warmupFraction * maxIters),
      weightDecay: spec.weightDecay, beta1: 0.9, beta2: spec.beta2, eps: 1e-8, gradClip: spec.gradClip,
      evalInterval: Math.max(1, Math.ceil(maxIters / spec.evalsPerRun)),
      evalIters: spec.evalIters,
      logInterval: Math.max(1, Math.round(maxIters / 50)),
      seed,
    });
    const tokens = maxIters * tokensPerStep;
    const counts = paramCount(config);
    const fpt = flopsPerToken(config);
    const epochs = tokens / corpus.trainChars;
    runs.push({
      id: lrMultiplier === undefined ? runId(config, tokens) : `${runId(config, tokens)}-lrx${lrMultiplier}`,
      sizeIndex: rung.index, budgetIndex, seed, config,
      params: counts.total, nonEmbeddingParams: counts.nonEmbedding, tokens, epochs,
      flopsPerToken: fpt, flops6ND: 6 * counts.nonEmbedding * tokens, flopsExact: fpt * tokens,
      dataLimited: epochs > MAX_EPOCHS,
      ...(lrMultiplier === undefined ? {} : { lrMultiplier }),
    });
  };
  // The lr scan first: if the rule is off at either end, better to learn it before the ladder is spent.
  if (spec.lrScan) {
    const scanRungs = spec.lrScan.sizes === 'all' ? rungs : [rungs[0], rungs[rungs.length - 1]];
    for (const rung of scanRungs) for (const m of spec.lrScan.multipliers) add(rung, spec.budgets.length - 1, spec.seeds[0], m);
  }
  for (const seed of spec.seeds) for (const rung of rungs) spec.budgets.forEach((_, b) => add(rung, b, seed));
  for (const seed of spec.repeatSeeds) for (const i of spec.repeatSizes) spec.budgets.forEach((_, b) => add(rungs[i], b, seed));
  return runs;
}

/** True for the short lr-check runs (stored in results.lrScan, never in the fits). */
export const isLrScanRun = (run: Pick<PlannedRun, 'lrMultiplier'>): boolean => run.lrMultiplier !== undefined;

/**
 * The runs of shard `index` of `count`: the plan split by estimated cost (exact FLOPs,
 * longest first onto the lightest shard), so shards take about equally long. Depends on
 * the spec alone, so every machine of an array job computes the same split.
 */
export function shardRuns(runs: PlannedRun[], index: number, count: number): PlannedRun[] {
  if (!(Number.isInteger(count) && count >= 1 && Number.isInteger(index) && index >= 0 && index < count)) {
    throw new SweepError(`shard must be i/n with 0 <= i < n (got ${index}/${count})`);
  }
  const load = new Array<number>(count).fill(0);
  const owner = new Map<string, number>();
  const byCost = [...runs].sort((a, b) => b.flopsExact - a.flopsExact || (a.id < b.id ? -1 : 1));
  for (const r of byCost) {
    let k = 0;
    for (let j = 1; j < count; j++) if (load[j] < load[k]) k = j;
    load[k] += r.flopsExact;
    owner.set(r.id, k);
  }
  return runs.filter((r) => owner.get(r.id) === index);
}

/** The >~4-epoch warning for a run, or null. */
export function epochWarning(run: Pick<PlannedRun, 'id' | 'epochs'>): string | null {
  if (run.epochs <= MAX_EPOCHS) return null;
  return `run ${run.id} repeats the training text ${run.epochs.toFixed(1)} times (more than ~${MAX_EPOCHS}): it is data-limited and bends the curve; use fewer tokens per run or a longer text`;
}

// ---------------------------------------------------------------------------------------
// The per-run record

export interface CurvePoint {
  step: number;
  /** Training tokens seen at this step. */
  tokens: number;
  /** Mean training loss of the steps since the previous point (nats). */
  trainLoss: number;
  /** Loss on the fixed validation set, at evaluation steps only (nats). */
  valLoss?: number;
}

export interface RunResult extends PlannedRun {
  /** Final loss on fixed training and validation windows (nats per character), and in bits per character. */
  trainLoss: number;
  valLoss: number;
  trainBpc: number;
  valBpc: number;
  /** Size of the fixed validation set in tokens. */
  valTokens: number;
  curve: CurvePoint[];
  /** Wall time of the run including evaluations, and steady training speed. */
  wallSec: number;
  tokensPerSec: number;
  backend: string;
  /** ISO time the run finished. */
  finishedAt: string;
  /** lr-scan runs only: why the run diverged (its losses are then null). */
  diverged?: string;
}

// ---------------------------------------------------------------------------------------
// Calibration and time estimates

export interface CalibrationPoint {
  sizeIndex: number;
  nonEmbeddingParams: number;
  flopsPerToken: number;
  /** Steady training throughput (the compiling first step excluded). */
  tokensPerSec: number;
}

export interface Calibration {
  backend: string;
  points: CalibrationPoint[];
}

/**
 * Seconds per training token at a given flopsPerToken: log-log interpolation between
 * calibrated sizes, extrapolated from the nearest two (tiny models are overhead-bound,
 * so time is not simply proportional to FLOPs).
 */
export function secondsPerToken(cal: Calibration, fpt: number): number {
  const pts = cal.points.filter((p) => p.tokensPerSec > 0).map((p) => ({ x: Math.log(p.flopsPerToken), y: Math.log(1 / p.tokensPerSec) })).sort((a, b) => a.x - b.x);
  if (pts.length === 0) throw new SweepError('calibration has no measured sizes');
  if (pts.length === 1) return Math.exp(pts[0].y) * (fpt / Math.exp(pts[0].x));
  const x = Math.log(fpt);
  let i = 0;
  while (i < pts.length - 2 && x > pts[i + 1].x) i++;
  const [a, b] = [pts[i], pts[i + 1]];
  const slope = b.x === a.x ? 1 : (b.y - a.y) / (b.x - a.x);
  return Math.exp(a.y + slope * (x - a.x));
}

/** Evaluation windows cost about a third of a training token each (forward only). */
export function evalTokens(run: PlannedRun): number {
  const evals = Math.ceil(run.config.maxIters / run.config.evalInterval) + 1; // + the final train-split eval
  return evals * run.config.evalIters * run.config.batchSize * run.config.blockSize;
}

export function estimateRunSeconds(run: PlannedRun, cal: Calibration): number {
  return (run.tokens + evalTokens(run) / 3) * secondsPerToken(cal, run.flopsPerToken);
}

export function estimateSeconds(runs: PlannedRun[], cal: Calibration): number {
  return runs.reduce((s, r) => s + estimateRunSeconds(r, cal), 0);
}

/**
 * Shrink a sweep to fit `budgetSec`: first lower maxParams (keeping the sizes and at
 * least the 16x span), then scale the tokens per run down. Returns the new spec, its
 * estimate and what changed, in words.
 */
export function shrinkToBudget(spec: SweepSpec, corpus: CorpusShape, cal: Calibration, budgetSec: number): { spec: SweepSpec; seconds: number; changes: string[] } {
  if (!(budgetSec > 0)) throw new SweepError(`time budget must be a positive number of seconds (got ${budgetSec})`);
  let cur: SweepSpec = { ...spec };
  let seconds = estimateSeconds(planRuns(cur, corpus), cal);
  const changes: string[] = [];
  const minSpan = spec.testOnlySmallLadder ? 2 : MIN_SPAN;
  while (seconds > budgetSec) {
    const next = { ...cur, maxParams: Math.round(cur.maxParams / 1.1) };
    if (next.maxParams / next.minParams < minSpan) break;
    let s: number;
    try { s = estimateSeconds(planRuns(next, corpus), cal); } catch { break; }
    cur = next;
    seconds = s;
  }
  if (cur.maxParams !== spec.maxParams) changes.push(`maxParams ${spec.maxParams} -> ${cur.maxParams}`);
  if (seconds > budgetSec) {
    // Evaluation cost does not shrink with the tokens, so a few proportional steps are needed.
    for (let i = 0; i < 20 && seconds > budgetSec; i++) {
      const factor = (0.97 * budgetSec) / seconds;
      if (cur.tokens !== null) cur = { ...cur, tokens: Math.max(cur.batchSize * cur.blockSize, Math.round(cur.tokens * factor)) };
      else cur = { ...cur, tokensPerParam: (cur.tokensPerParam as number) * factor };
      seconds = estimateSeconds(planRuns(cur, corpus), cal);
    }
    changes.push(cur.tokens !== null ? `tokens per run ${spec.tokens} -> ${cur.tokens}` : `tokensPerParam ${spec.tokensPerParam} -> ${(cur.tokensPerParam as number).toPrecision(3)}`);
  }
  return { spec: cur, seconds, changes };
}
