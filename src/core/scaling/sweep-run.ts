// Running a sweep: calibrate throughput per size, then train the planned runs
// one after another over core/train.ts, as an async generator of events that
// the CLI prints and the worker posts to the page. Runs already in `done` are
// skipped, which is all "resume" means: each finished run is saved by the
// caller the moment its 'run' event arrives, so a kill loses at most one run.

import * as tf from '@tensorflow/tfjs';
import type { Dataset } from '../data';
import { DivergedError, newTrainer, type Trainer } from '../train';
import { trainLoop } from '../train-loop';
import { ladder } from './ladder';
import { SweepError, type SweepSpec } from './sweep';
import type { Calibration } from './sweep-estimate';
import { epochWarning, planRuns, planWarnings, type CurvePoint, type PlannedRun, type RunResult } from './sweep-plan';

export type SweepEvent =
  /** The plan: every run, and the ids already done (skipped). */
  | { event: 'plan'; runs: PlannedRun[]; skipped: string[]; warnings: string[] }
  | { event: 'run-start'; run: PlannedRun; index: number; total: number }
  /** Progress within the current run, at each log step (and with valLoss at each evaluation). */
  | { event: 'progress'; runId: string; step: number; maxIters: number; trainLoss: number; valLoss?: number; tokensPerSec: number; lr: number }
  /** A finished run: save it now. `warning` repeats the >4-epoch warning when it applies. */
  | { event: 'run'; result: RunResult; index: number; total: number; warning: string | null }
  | { event: 'done'; runsDone: number; runsTotal: number; wallSec: number; stopped: boolean };

export interface SweepOptions {
  /** Runs finished earlier (from the results file or IndexedDB): their ids are not run again. */
  done?: RunResult[];
  /** Run only these of the plan (a shard of it); the default is the whole plan. */
  select?: (runs: PlannedRun[]) => PlannedRun[];
  /** Checked between steps: an aborted sweep stops and drops the run in progress. */
  signal?: { aborted: boolean };
}

export async function* runSweep(spec: SweepSpec, data: Dataset, opts: SweepOptions = {}): AsyncGenerator<SweepEvent> {
  const started = performance.now();
  const planned = planRuns(spec, { vocabSize: data.tokenizer.vocabSize, trainChars: data.train.length });
  const runs = opts.select ? opts.select(planned) : planned;
  const doneIds = new Set((opts.done ?? []).map((r) => r.id));
  const skipped = runs.filter((r) => doneIds.has(r.id)).map((r) => r.id);
  const warnings = planWarnings(spec, runs);
  yield { event: 'plan', runs, skipped, warnings };
  let runsDone = skipped.length;
  for (let index = 0; index < runs.length; index++) {
    const run = runs[index];
    if (doneIds.has(run.id)) continue;
    if (opts.signal?.aborted) break;
    yield { event: 'run-start', run, index, total: runs.length };
    let result: RunResult | null = null;
    for await (const ev of trainRun(run, data, opts.signal)) {
      if ('result' in ev) result = ev.result;
      else yield ev;
    }
    if (!result) break; // stopped mid-run: the partial run is dropped
    runsDone++;
    yield { event: 'run', result, index, total: runs.length, warning: epochWarning(run) };
  }
  yield { event: 'done', runsDone, runsTotal: runs.length, wallSec: (performance.now() - started) / 1000, stopped: runsDone < runs.length };
}

export type RunEvent = Extract<SweepEvent, { event: 'progress' }> | { result: RunResult };

/** One run of the plan: train to its last step, then evaluate both splits on their fixed windows. */
export async function* trainRun(run: PlannedRun, data: Dataset, signal?: { aborted: boolean }): AsyncGenerator<RunEvent> {
  const started = performance.now();
  if (data.tokenizer.vocabSize !== run.config.vocabSize) {
    throw new SweepError(
      `run ${run.id} was planned for a vocabulary of ${run.config.vocabSize}, the text has ${data.tokenizer.vocabSize}: the results belong to another text`,
    );
  }
  const trainer = newTrainer(run.config, data);
  const curve: CurvePoint[] = [];
  try {
    let summary: { valLoss: number; tokensPerSec: number; steps: number } | null = null;
    const loop = trainLoop(trainer, { signal, evalOnStop: false }); // a stopped run is dropped: no evaluation for it
    for (;;) {
      let next: Awaited<ReturnType<typeof loop.next>>;
      try {
        next = await loop.next();
      } catch (e) {
        // An lr-scan run at 4x the rule may diverge: that is a finding (the lr is too high), not a failure.
        if (!(e instanceof DivergedError) || run.lrMultiplier === undefined) throw e;
        yield { result: divergedResult(run, curve, e.message, (performance.now() - started) / 1000) };
        return;
      }
      if (next.done) break;
      const ev = next.value;
      if (ev.event === 'step') {
        curve.push({ step: ev.step, tokens: ev.step * trainer.tokensPerStep, trainLoss: ev.trainLoss });
        yield {
          event: 'progress',
          runId: run.id,
          step: ev.step,
          maxIters: run.config.maxIters,
          trainLoss: ev.trainLoss,
          tokensPerSec: ev.tokensPerSec,
          lr: ev.lr,
        };
      } else if (ev.event === 'eval') {
        const last = curve[curve.length - 1];
        if (last && last.step === ev.step) last.valLoss = ev.valLoss;
        yield {
          event: 'progress',
          runId: run.id,
          step: ev.step,
          maxIters: run.config.maxIters,
          trainLoss: ev.trainLoss,
          valLoss: ev.valLoss,
          tokensPerSec: ev.tokensPerSec,
          lr: ev.lr,
        };
      } else {
        summary = ev.summary;
      }
    }
    if (!summary || summary.steps < run.config.maxIters) return; // aborted
    // The last evaluation ran at maxIters on the fixed validation windows; the train
    // split gets the same treatment so train and val losses compare like for like.
    const trainLoss = await trainer.evaluate('train');
    const valLoss = summary.valLoss;
    const { batchSize, blockSize, evalIters } = run.config;
    yield {
      result: {
        ...run,
        trainLoss,
        valLoss,
        trainBpc: trainLoss / Math.LN2,
        valBpc: valLoss / Math.LN2,
        valTokens: evalIters * batchSize * blockSize,
        curve,
        wallSec: (performance.now() - started) / 1000,
        tokensPerSec: summary.tokensPerSec,
        backend: tf.getBackend(),
        finishedAt: new Date().toISOString(),
      },
    };
  } finally {
    trainer.model.dispose();
    trainer.dispose();
  }
}

/** The record of a diverged lr-scan run: losses null, the reason kept. */
function divergedResult(run: PlannedRun, curve: CurvePoint[], why: string, wallSec: number): RunResult {
  return {
    ...run,
    trainLoss: null as unknown as number,
    valLoss: null as unknown as number,
    trainBpc: null as unknown as number,
    valBpc: null as unknown as number,
    valTokens: run.config.evalIters * run.config.batchSize * run.config.blockSize,
    curve: curve.filter((c) => Number.isFinite(c.trainLoss)),
    wallSec,
    tokensPerSec: 0,
    backend: tf.getBackend(),
    finishedAt: new Date().toISOString(),
    diverged: why,
  };
}

/** Untimed steps after the compiling one, before the timed ones. */
const WARM_STEPS = 2;
/** Time steps for at least this long (up to MAX_TIMED_STEPS): 5 steps of batch 1 are too short to time. */
const MIN_TIMED_MS = 300;
const MAX_TIMED_STEPS = 200;

/**
 * Throughput per ladder size on this backend: after one compiling step and WARM_STEPS more,
 * at least `steps` synchronised steps and MIN_TIMED_MS. Each step reads its loss back
 * (logInterval 1), so asynchronous backends are timed honestly. Timing that long matters at
 * small batches: 5 steps of batch 1 on WASM made a 150k-token sweep's estimate 2.5x its
 * real time (4m32s said, 1m49s taken; 2m23s now).
 */
export async function calibrate(
  spec: SweepSpec,
  data: Dataset,
  opts: { steps?: number; onSize?: (done: number, total: number) => void; signal?: { aborted: boolean } } = {},
): Promise<Calibration> {
  const steps = opts.steps ?? 5;
  const rungs = ladder(spec);
  const runs = planRuns(spec, { vocabSize: data.tokenizer.vocabSize, trainChars: data.train.length });
  const points: Calibration['points'] = [];
  // The smallest size twice, the first time untimed: a fresh process runs its first model's first
  // hundred-odd steps slower (JIT, allocator), which read as a 2x slower smallest size.
  for (const [k, rung] of [rungs[0], ...rungs].entries()) {
    if (opts.signal?.aborted) break;
    const run = runs.find((r) => r.sizeIndex === rung.index && r.lrMultiplier === undefined) as PlannedRun;
    const total = 1 + WARM_STEPS + Math.max(steps, MAX_TIMED_STEPS);
    const trainer: Trainer = newTrainer({ ...run.config, maxIters: total, warmupIters: 0, logInterval: 1, evalInterval: total + 1 }, data);
    try {
      for (let i = 0; i < 1 + WARM_STEPS; i++) await trainer.trainStep();
      // At least `steps` steps and MIN_TIMED_MS: a step of a tiny model at batch 1 takes a few ms.
      const t0 = performance.now();
      let timed = 0;
      while (timed < steps || (performance.now() - t0 < MIN_TIMED_MS && timed < MAX_TIMED_STEPS)) {
        await trainer.trainStep();
        timed++;
      }
      const tokensPerSec = (timed * trainer.tokensPerStep * 1000) / Math.max(1e-3, performance.now() - t0);
      if (k > 0) points.push({ sizeIndex: rung.index, nonEmbeddingParams: run.nonEmbeddingParams, flopsPerToken: run.flopsPerToken, tokensPerSec });
    } finally {
      trainer.model.dispose();
      trainer.dispose();
    }
    if (k > 0) opts.onSize?.(points.length, rungs.length);
  }
  return { backend: tf.getBackend(), points };
}
