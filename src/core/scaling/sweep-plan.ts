// The runs a sweep spec plans (sizes x budgets x seeds, the lr scan, the repeats), each
// with its config and schedule, its parameter and FLOP counts and its epochs over the
// text; how a plan splits into shards; and the record a finished run leaves. Pure
// TypeScript, so the CLI, the worker and the page plan the same runs.

import { makeConfig, type Config } from '../config';
import { flopsPerToken, paramCount } from '../counts';
import { ladder, type Rung } from './ladder';
import { LR_CALIBRATION } from './lr-calibration';
import { budgetRuleWarning } from './lr-rule';
import { MAX_EPOCHS, peakLr, SweepError, validateSpec, type LrScan, type SweepSpec } from './sweep';

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

/**
 * A run's batch: spec.batchSize, halved (staying a divisor of it) while a run of `tokens`
 * tokens would take fewer than spec.minSteps steps; at least 1.
 */
export function runBatchSize(spec: Pick<SweepSpec, 'batchSize' | 'blockSize' | 'minSteps'>, tokens: number): number {
  let b = spec.batchSize;
  while (b % 2 === 0 && tokens / (b * spec.blockSize) < (spec.minSteps ?? 0)) b /= 2;
  return b;
}

/** Every run of the sweep, smallest size first (so each new size can be predicted by the fit so far), repeats last. */
export function planRuns(spec: SweepSpec, corpus: CorpusShape): PlannedRun[] {
  validateSpec(spec);
  const rungs = ladder(spec);
  const runs: PlannedRun[] = [];
  const add = (rung: Rung, budgetIndex: number, seed: number, lrMultiplier?: number, isoTokens?: number) => {
    const N = rung.nonEmbeddingParams;
    const baseTokens = spec.tokens ?? (spec.tokensPerParam as number) * N;
    const fraction = lrMultiplier === undefined ? spec.budgets[budgetIndex] : (spec.lrScan as LrScan).tokenFraction;
    const wanted = isoTokens ?? baseTokens * fraction;
    const batchSize = runBatchSize(spec, wanted);
    const tokensPerStep = batchSize * spec.blockSize;
    const maxIters = Math.max(1, Math.round(wanted / tokensPerStep));
    // The rule's lr is for spec.batchSize: a smaller batch takes it times sqrt(b / B) (Adam's square-root scaling).
    const lr = peakLr(spec.lr, N, maxIters * tokensPerStep) * Math.sqrt(batchSize / spec.batchSize) * (lrMultiplier ?? 1);
    if (!(lr > 0)) throw new SweepError(`sweep spec: the lr rule gives ${lr} at N = ${N}: use a fixed lr`);
    const config = makeConfig({
      nLayer: rung.nLayer,
      nHead: rung.nHead,
      nEmbd: rung.nEmbd,
      blockSize: spec.blockSize,
      vocabSize: corpus.vocabSize,
      dropout: spec.dropout,
      bias: true,
      batchSize,
      maxIters,
      lr,
      minLr: lr * spec.minLrRatio,
      // Matched to this run's own length (Porian et al. 2024): warmup a fixed fraction, cosine to the last step.
      warmupIters: Math.round(spec.warmupFraction * maxIters),
      weightDecay: spec.weightDecay,
      beta1: 0.9,
      beta2: spec.beta2,
      eps: 1e-8,
      gradClip: spec.gradClip,
      evalInterval: Math.max(1, Math.ceil(maxIters / spec.evalsPerRun)),
      // the same validation windows for every run: evalIters batches of spec.batchSize, drawn in order (data.ts' evalBatches)
      evalIters: (spec.evalIters * spec.batchSize) / batchSize,
      logInterval: Math.max(1, Math.round(maxIters / 50)),
      seed,
    });
    const tokens = maxIters * tokensPerStep;
    const counts = paramCount(config);
    const fpt = flopsPerToken(config);
    const epochs = tokens / corpus.trainChars;
    runs.push({
      id: lrMultiplier === undefined ? runId(config, tokens) : `${runId(config, tokens)}-lrx${lrMultiplier}`,
      sizeIndex: rung.index,
      budgetIndex,
      seed,
      config,
      params: counts.total,
      nonEmbeddingParams: counts.nonEmbedding,
      tokens,
      epochs,
      flopsPerToken: fpt,
      flops6ND: 6 * counts.nonEmbedding * tokens,
      flopsExact: fpt * tokens,
      dataLimited: epochs > MAX_EPOCHS,
      ...(lrMultiplier === undefined ? {} : { lrMultiplier }),
    });
  };
  // The lr scan first: if the rule is off at either end, better to learn it before the ladder is spent.
  if (spec.lrScan) {
    const ends = { all: rungs, ends: [rungs[0], rungs[rungs.length - 1]], smallest: [rungs[0]], largest: [rungs[rungs.length - 1]] };
    const scanRungs = ends[spec.lrScan.sizes];
    for (const rung of scanRungs) for (const m of spec.lrScan.multipliers) add(rung, spec.budgets.length - 1, spec.seeds[0], m);
  }
  for (const seed of spec.seeds) for (const rung of rungs) spec.budgets.forEach((_, b) => add(rung, b, seed));
  for (const seed of spec.repeatSeeds) for (const i of spec.repeatSizes) spec.budgets.forEach((_, b) => add(rungs[i], b, seed));
  if (spec.isoFlops) {
    // IsoFLOP runs: budget indices after the spec's budgets, one per compute level; a run the ladder already has is not planned twice.
    const { flops, minTokensPerParam, maxTokensPerParam } = spec.isoFlops;
    for (const seed of spec.seeds) {
      flops.forEach((C, k) => {
        for (const rung of rungs) {
          const D = C / (6 * rung.nonEmbeddingParams);
          const ratio = D / rung.nonEmbeddingParams;
          if (ratio < minTokensPerParam || ratio > maxTokensPerParam) continue;
          const before = runs.length;
          add(rung, spec.budgets.length + k, seed, undefined, D);
          if (runs.slice(0, before).some((r) => r.id === runs[before].id)) runs.pop();
        }
      });
    }
  }
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

/** Everything to say about a plan before it runs: runs past ~4 epochs, an lr rule used outside its calibration. */
export function planWarnings(spec: SweepSpec, runs: PlannedRun[]): string[] {
  const out = runs.map(epochWarning).filter((w): w is string => w !== null);
  const starved = runs.filter((r) => r.config.maxIters < (spec.minSteps ?? 0));
  if (starved.length) {
    const fewest = starved.reduce((a, b) => (b.config.maxIters < a.config.maxIters ? b : a));
    out.push(
      `${starved.length} run(s) take fewer than minSteps ${spec.minSteps} steps even at batch ${fewest.config.batchSize} (fewest: ${fewest.id}, ${fewest.config.maxIters}): such a run's loss says how soon training got going, not how large the model is; use at least ${((spec.minSteps ?? 0) * fewest.config.batchSize * spec.blockSize).toLocaleString('en-US')} tokens per run`,
    );
  }
  if (spec.lr.kind === 'budget') {
    const w = budgetRuleWarning({ ...LR_CALIBRATION, tokens: spec.lr.tokens, params: spec.lr.params }, spec, runs);
    if (w) out.push(w);
  }
  return out;
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
