// The training loop, once: the steps to maxIters, the evaluation cadence,
// the NaN stop, the checkpoint cadence and the stop signal. The CLI (`tabgpt
// train`, `transfer`), the page's training worker, the scaling sweep and the
// bench all drive it; what differs between them (printing, posting messages,
// pausing, autosaves, answering the page between steps) comes in as hooks.
//
// The step itself is Trainer.trainStep (train.ts): it queues the step's work
// and reads the losses back only every logInterval steps. Between readbacks
// the loop still reports each step as the device finishes it (onStepDone: a
// completion notice, not a readback), so a page on a slow adapter moves every
// step rather than once per readback.

import * as tf from '@tensorflow/tfjs';
import { flopsPerToken, paramCount } from './counts';
import { deviceIdle } from './kernels/webgpu/idle';
import { DivergedError, isEvalStep, type StepLog, type Trainer } from './train';

export type TrainEvent =
  | ({ event: 'step' } & StepLog)
  | { event: 'eval'; step: number; trainLoss: number; valLoss: number; lr: number; tokensPerSec: number; elapsedSec: number }
  | { event: 'done'; summary: RunSummary };

export interface RunSummary {
  steps: number;
  trainLoss: number;
  valLoss: number;
  tokensPerSec: number;
  params: number;
  nonEmbeddingParams: number;
  flopsPerToken: number;
  tokens: number;
  elapsedSec: number;
  trainSec: number;
  backend: string;
}

/**
 * A stop flag checked before each step. `wait`, when given, is awaited first: a
 * step on a synchronous backend only queues microtasks, so a shell whose stop
 * arrives as an event (Node's SIGINT) lets its event loop turn there.
 */
export interface StopSignal {
  readonly aborted: boolean;
  wait?: () => Promise<void>;
}

/** One step as the device finished it, with the speed so far: what a progress line shows every step. */
export interface StepProgress {
  /** Steps the device has finished. */
  step: number;
  maxIters: number;
  /** Mean device time per step since this session's first step (which compiles); NaN until a second step is done. */
  msPerStep: number;
  tokensPerSec: number;
  /** Estimated seconds to maxIters at msPerStep (NaN until known). */
  etaSec: number;
}

/** Why a checkpoint is due: an evaluation, the last step (also evaluated), or a stop before the end. */
export type CheckpointReason = 'eval' | 'done' | 'stop';

export interface LoopHooks {
  /** Checked before each step (and again after beforeStep): stop there. */
  signal?: StopSignal;
  /** Before each step: the worker's pause, downloads and autosaves. May throw (a lost device) to end the loop. */
  beforeStep?: () => Promise<void>;
  /** After each step and its events: the worker lets the page's messages in. */
  afterStep?: () => Promise<void>;
  /** Each step as the device finishes it (in order; no readback). Called asynchronously on webgpu. */
  onStepDone?: (p: StepProgress) => void;
  /** The validation loss of an evaluation (default trainer.evaluate('val'); the worker's views take it per position). */
  evaluate?: (trainer: Trainer) => Promise<number>;
  /**
   * Save a checkpoint: after each evaluation (finite losses only: a diverged
   * run throws before), and at a stop before maxIters, with the last
   * validation loss (NaN if none). Awaited before the eval or done event.
   */
  checkpoint?: (reason: CheckpointReason, valLoss: number) => Promise<void>;
  /** Evaluate at a stop before maxIters too, for the summary and the stop checkpoint (default true). */
  evalOnStop?: boolean;
  /** Stop after this step instead of maxIters (the bench's timed stretches); no stop checkpoint then. */
  until?: number;
}

/**
 * Device time per step from completion times: each step counts from when it
 * was issued or the previous one finished, whichever is later, to when it
 * finished, so time between steps (evaluations, a pause) does not count.
 */
class StepClock {
  private prevDone = 0;
  private ms = 0;
  private counted = 0;
  private first = true;

  constructor(
    private readonly tokensPerStep: number,
    private readonly maxIters: number,
  ) {}

  done(step: number, issuedAt: number, now: number): StepProgress {
    const ms = now - Math.max(issuedAt, this.prevDone);
    this.prevDone = now;
    if (this.first)
      this.first = false; // this session's first step traces and compiles
    else {
      this.ms += ms;
      this.counted++;
    }
    const msPerStep = this.counted > 0 ? this.ms / this.counted : NaN;
    return {
      step,
      maxIters: this.maxIters,
      msPerStep,
      tokensPerSec: (this.tokensPerStep * 1000) / msPerStep,
      etaSec: ((this.maxIters - step) * msPerStep) / 1000,
    };
  }
}

/**
 * Run the trainer to maxIters (or `until`), yielding a 'step' at each log, an
 * 'eval' at each evaluation (after its checkpoint), then 'done' (also after a
 * stop). Throws DivergedError when a training or validation loss is not
 * finite: no checkpoint is saved from a diverged run.
 */
export async function* trainLoop(trainer: Trainer, hooks: LoopHooks = {}): AsyncGenerator<TrainEvent> {
  const { cfg } = trainer;
  const { signal } = hooks;
  const evaluate = hooks.evaluate ?? ((t: Trainer) => t.evaluate('val'));
  const end = Math.min(hooks.until ?? cfg.maxIters, cfg.maxIters);
  const started = performance.now();
  const clock = hooks.onStepDone ? new StepClock(trainer.tokensPerStep, cfg.maxIters) : null;
  let lastTrain = NaN;
  let lastVal = NaN;
  let lastEvalStep = -1;
  while (trainer.step < end) {
    await signal?.wait?.();
    if (signal?.aborted) break;
    await hooks.beforeStep?.();
    if (signal?.aborted) break;
    const issuedAt = performance.now();
    const log = await trainer.trainStep();
    if (clock) {
      const step = trainer.step;
      const report = () => hooks.onStepDone!(clock.done(step, issuedAt, performance.now()));
      const idle = deviceIdle();
      if (idle)
        idle.then(report, () => {}); // a lost device: the loop's next readback throws
      else report();
    }
    if (log) {
      lastTrain = log.trainLoss;
      yield { event: 'step', ...log };
      if (isEvalStep(cfg, trainer.step)) {
        lastVal = await evaluate(trainer);
        lastEvalStep = trainer.step;
        if (!Number.isFinite(lastVal))
          throw new DivergedError(`validation loss became ${lastVal} at step ${trainer.step}: lower the learning rate and resume from the last checkpoint`);
        await hooks.checkpoint?.(trainer.step === cfg.maxIters ? 'done' : 'eval', lastVal);
        yield {
          event: 'eval',
          step: trainer.step,
          trainLoss: log.trainLoss,
          valLoss: lastVal,
          lr: log.lr,
          tokensPerSec: trainer.tokensPerSec,
          elapsedSec: (performance.now() - started) / 1000,
        };
      }
    }
    await hooks.afterStep?.();
  }
  const stopped = trainer.step < end; // by the signal
  const atUntil = !stopped && end < cfg.maxIters; // the run goes on later: nothing to evaluate yet
  if (lastEvalStep !== trainer.step && !atUntil && (!stopped || (hooks.evalOnStop ?? true))) lastVal = await evaluate(trainer);
  if (stopped) await hooks.checkpoint?.('stop', lastVal);
  const counts = paramCount(trainer.model.config);
  yield {
    event: 'done',
    summary: {
      steps: trainer.step,
      trainLoss: lastTrain,
      valLoss: lastVal,
      tokensPerSec: trainer.tokensPerSec,
      params: counts.total,
      nonEmbeddingParams: counts.nonEmbedding,
      flopsPerToken: flopsPerToken(trainer.model.config),
      tokens: trainer.step * trainer.tokensPerStep,
      elapsedSec: (performance.now() - started) / 1000,
      trainSec: trainer.trainSeconds,
      backend: tf.getBackend(),
    },
  };
}
