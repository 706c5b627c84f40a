// Training: the Trainer's step (accumulated, recorded where it can be; AdamW
// and the schedule are adamw.ts), fixed-batch evaluation. The loop that
// drives a Trainer (evaluations, checkpoints, stops) is train-loop.ts.
//
// No GPU->CPU read happens inside a step: each step's loss stays on the device
// and the last `logInterval` losses are read back together, asynchronously.

import * as tf from '@tensorflow/tfjs';
import { modelConfigOf, validate, type Config } from './config';
import { getBatch, type Batch, type Dataset } from './data';
import { GPT, type GPTOptions } from './model';
import { Rng } from './rng';
import { useFused } from './kernels/mode';
import { FusedAdamW } from './kernels/webgpu/adamw';
import { Capture, NotRecordable, StepPlan } from './kernels/webgpu/record';
import { engineGradients, profilerActive } from './kernels/tfjs-internals';
import { deviceMemoryBytes, isOutOfMemoryError, releasePooledBuffers, takeOutOfMemory, watchOutOfMemory } from './kernels/webgpu/oom';
import { kernelPathOf, outOfMemoryMessage, OutOfMemoryError, WASM_HEAP_BYTES } from './memory';
import { adamwStep, decays, learningRate, type OptimizerState } from './adamw';

export { adamwStep, decays, learningRate, type OptimizerState };

/** Whether step `step` (1-based, just taken) reads its losses back (Trainer.trainStep's rule): every logInterval, at each evaluation and at the end. */
export function isLogStep(cfg: Pick<Config, 'logInterval' | 'evalInterval' | 'maxIters'>, step: number): boolean {
  return step % cfg.logInterval === 0 || isEvalStep(cfg, step);
}

/** Whether step `step` (1-based, just taken) is followed by an evaluation (and a checkpoint): every evalInterval, and at the end. */
export function isEvalStep(cfg: Pick<Config, 'evalInterval' | 'maxIters'>, step: number): boolean {
  return step % cfg.evalInterval === 0 || step === cfg.maxIters;
}

/** The run's random streams, derived from one seed so each is independent of the others' use. */
export function runRngs(seed: number): { init: Rng; batches: Rng } {
  const root = new Rng(seed);
  return { init: root.fork(), batches: root.fork() };
}

/**
 * tf.variableGrads for a scalar loss, with backprop's seed dL/dL = 1 made by a
 * kernel on the device (tf.fill) instead of tfjs' tf.ones, whose value is made on
 * the CPU: on webgpu that was the one upload per step besides the batch.
 * Returns the loss and each variable's gradient keyed by its tfjs name.
 */
export function lossGrads(f: () => tf.Scalar, vars: tf.Variable[]): { value: tf.Scalar; grads: Record<string, tf.Tensor> } {
  const { value, grads } = engineGradients(f, vars, tf.fill([], 1));
  const named: Record<string, tf.Tensor> = {};
  vars.forEach((v, i) => {
    if (grads[i]) named[v.name] = grads[i];
  });
  return { value: value as tf.Scalar, grads: named };
}

export class DivergedError extends Error {
  override name = 'DivergedError';
}

export interface StepLog {
  step: number;
  /** Mean training loss over the steps since the last log (nats). */
  trainLoss: number;
  lr: number;
  /** Training tokens / training seconds so far (excluding the first, compiling step). */
  tokensPerSec: number;
  msPerStep: number;
}

export class Trainer {
  readonly model: GPT;
  readonly data: Dataset;
  readonly cfg: Config;
  /** Steps completed. */
  step = 0;
  readonly optimizer: OptimizerState;
  readonly rng: Rng;
  /** Milliseconds spent in training steps, excluding step 1 (shader compilation, tracing). */
  trainMs = 0;
  firstStepMs = 0;
  private timedSteps = 0;
  /** Losses not yet read: a tensor (an eager step) or a slot of a recorded plan's ring. */
  private pending: (tf.Scalar | { plan: StepPlan })[] = [];
  /** The recorded step (kernels/webgpu/record.ts), once captured; replaced when it goes stale. */
  private plan: StepPlan | null = null;
  /** Plans gone stale whose ring still holds unread losses. */
  private retired: StepPlan[] = [];
  /** Why the step runs eagerly (null while recorded or before the choice is made). */
  private eagerReason: string | null = null;
  private eagerSteps = 0;
  private lastLogStep = 0;
  private warm = false;

  constructor(model: GPT, data: Dataset, cfg: Config, batchRng: Rng) {
    this.model = model;
    this.data = data;
    this.cfg = cfg;
    this.rng = batchRng;
    model.recompute = cfg.recompute ?? false; // the training config's choice, applied where the blocks run (model.ts)
    // tf.variable shares the initial tensor's data: dispose that tensor, or it stays counted (a leak per run).
    const zeros = (v: tf.Variable) => {
      const z = tf.zerosLike(v);
      const variable = tf.variable(z, false);
      z.dispose();
      return variable;
    };
    this.optimizer = { t: 0, m: new Map(), v: new Map() };
    for (const [name, p] of model.params) {
      this.optimizer.m.set(name, zeros(p));
      this.optimizer.v.set(name, zeros(p));
    }
  }

  /** After restoring a checkpoint at `step`: logs count from there. */
  resumedAt(step: number): void {
    this.step = step;
    this.lastLogStep = step;
  }

  /** Tokens per optimizer step: gradAccumSteps micro-batches of batchSize x blockSize. */
  get tokensPerStep(): number {
    return (this.cfg.gradAccumSteps ?? 1) * this.cfg.batchSize * this.cfg.blockSize;
  }

  get tokensPerSec(): number {
    return this.trainMs > 0 ? (this.timedSteps * this.tokensPerStep * 1000) / this.trainMs : 0;
  }

  /**
   * One optimizer step. Returns a log every `logInterval` steps, at every
   * evaluation step and at the last step (after one batched, async readback);
   * null otherwise. Throws DivergedError naming the step where the loss went
   * NaN/infinite; the parameters are then unusable and must not be saved.
   */
  async trainStep(): Promise<StepLog | null> {
    const t0 = performance.now();
    // The micro-batches draw their windows in order from the one Rng, so N micro-batches of B
    // are exactly the sequences of one batch of N*B (getBatch draws one start per sequence).
    const batches = Array.from({ length: this.cfg.gradAccumSteps ?? 1 }, () => getBatch(this.data.train, this.cfg.batchSize, this.cfg.blockSize, this.rng));
    const dropoutSeed = this.rng.int(2 ** 30);
    const lr = learningRate(this.cfg, this.step);
    watchOutOfMemory();
    try {
      this.pending.push(this.runStep(batches, lr, dropoutSeed));
    } catch (e) {
      if (isOutOfMemoryError(e)) this.outOfMemory(`the training step's tensors (${(e as Error).message.split('\n')[0].replace(/\.$/, '')})`);
      throw e;
    }
    this.step++;
    const dt = performance.now() - t0;
    const isLog = isLogStep(this.cfg, this.step);
    let log: StepLog | null = null;
    if (isLog) {
      const t1 = performance.now();
      const losses = await this.drainLosses();
      const oom = takeOutOfMemory(); // the device reports a failed buffer later, by event: by now it has
      if (oom) this.outOfMemory(`a GPU buffer for the training step (WebGPU: ${oom.replace(/\.$/, '')})`);
      const waitMs = performance.now() - t1;
      this.account(dt + waitMs);
      const bad = losses.findIndex((l) => !Number.isFinite(l));
      if (bad >= 0) {
        const at = this.step - losses.length + bad + 1;
        throw new DivergedError(
          `loss became ${losses[bad]} at step ${at}: lower the learning rate (--lr ${(this.cfg.lr / 3).toPrecision(2)}) and resume from the last checkpoint`,
        );
      }
      const steps = this.step - this.lastLogStep;
      this.lastLogStep = this.step;
      log = {
        step: this.step,
        trainLoss: losses.reduce((a, b) => a + b, 0) / losses.length,
        lr,
        tokensPerSec: this.tokensPerSec,
        msPerStep: this.timedSteps > 0 ? this.trainMs / this.timedSteps : this.firstStepMs / Math.max(1, steps),
      };
    } else {
      this.account(dt);
    }
    return log;
  }

  /** Stop the run with one line: what failed, the predicted peak, the settings that fit (memory.ts). */
  private outOfMemory(what: string): never {
    const backend = tf.getBackend();
    const memory = backend === 'wasm' ? WASM_HEAP_BYTES : deviceMemoryBytes();
    releasePooledBuffers(); // what the failed step pooled goes back to the device: the next, smaller run can have it
    throw new OutOfMemoryError(outOfMemoryMessage(this.cfg, kernelPathOf(backend, useFused(this.model.kernels)), what, memory));
  }

  private account(ms: number): void {
    if (!this.warm) {
      this.firstStepMs = ms; // the first step of this trainer traces and compiles
      this.warm = true;
    } else {
      this.trainMs += ms;
      this.timedSteps++;
    }
  }

  /** Read the queued step losses (one transfer per kind), then free them. */
  private async drainLosses(): Promise<number[]> {
    if (this.pending.length === 0) return [];
    const pending = this.pending;
    this.pending = [];
    const tensors = pending.filter((l): l is tf.Scalar => l instanceof tf.Tensor);
    let fromTensors: number[] = [];
    if (tensors.length > 0) {
      const stacked = tf.stack(tensors);
      fromTensors = Array.from(await stacked.data());
      stacked.dispose();
      for (const l of tensors) l.dispose();
    }
    const fromPlans = new Map<StepPlan, number[]>();
    for (const l of pending) if (!(l instanceof tf.Tensor) && !fromPlans.has(l.plan)) fromPlans.set(l.plan, await l.plan.readLosses());
    for (const p of this.retired) p.dispose();
    this.retired = [];
    let t = 0;
    return pending.map((l) => (l instanceof tf.Tensor ? fromTensors[t++] : fromPlans.get(l.plan)!.shift()!));
  }

  /** GPU bytes the recorded step owns (its intermediates, batch, uniforms, loss ring): outside tf.memory(), so add them. */
  get recordedBytes(): number {
    return this.plan?.ownedBytes ?? 0;
  }

  /** How the step runs: recorded, or eager with the reason (for the run's log and the page's badge). */
  get stepMode(): { step: 'recorded' | 'eager'; reason: string | null } {
    return this.plan ? { step: 'recorded', reason: null } : { step: 'eager', reason: this.eagerReason ?? this.whyEager() };
  }

  /** Why this run cannot record its step, or null when it can. */
  private whyEager(): string | null {
    if (this.cfg.step === 'eager') return 'step=eager was asked for';
    if (tf.getBackend() !== 'webgpu') return `the ${tf.getBackend()} backend runs each op as it comes (only webgpu records)`;
    if (!useFused(this.model.kernels)) return 'generic kernels are not recorded (kernels=fused records)';
    if (this.cfg.dropout > 0) return 'dropout > 0 draws a new mask every step';
    return null;
  }

  /**
   * One step, recorded where it can be: the first step runs eagerly (shaders
   * compile), the second eagerly under capture, and from then on the plan
   * replays (kernels/webgpu/record.ts). Returns where its loss will be read.
   */
  private runStep(batches: Batch[], lr: number, dropoutSeed: number): tf.Scalar | { plan: StepPlan } {
    const fused = this.fusedOptimizer();
    fused?.ensureExclusive(); // may give a variable a new buffer: the plan then goes stale below
    // Under a profiler (tf.time, the bench's GPU timing) the step runs eagerly: the
    // same dispatches, each timed by tfjs; recording and replay resume after it.
    const profiling = profilerActive();
    if (this.plan && !this.plan.valid()) {
      this.retired.push(this.plan);
      this.plan = null;
    }
    if (this.plan && fused && !profiling && this.plan.pending < this.plan.capacity) {
      this.optimizer.t++;
      this.plan.replay(
        batches.flatMap((b) => [b.x, b.y]),
        fused.stepConstants(lr, this.optimizer.t),
      );
      return { plan: this.plan };
    }
    // Each micro-batch's x -> y, [B, T] int32 (uploaded when first used, inside the step).
    const inputs = batches.map((b) => ({ x: tf.tensor2d(b.x, [b.batchSize, b.blockSize], 'int32'), y: tf.tensor2d(b.y, [b.batchSize, b.blockSize], 'int32') }));
    let capture: Capture | null = null;
    if (fused && !profiling && this.eagerReason === null && this.whyEager() === null && this.eagerSteps > 0) {
      try {
        capture = Capture.begin({ inputs: inputs.flatMap((b) => [b.x, b.y]), variables: this.variables(), ownBuffers: fused.ownBuffers });
      } catch (e) {
        if (!(e instanceof NotRecordable)) throw e;
        this.eagerReason = e.message;
      }
    }
    let loss: tf.Scalar;
    try {
      loss = this.applyStep(inputs, lr, dropoutSeed);
    } catch (e) {
      capture?.abort();
      throw e;
    } finally {
      for (const b of inputs) tf.dispose([b.x, b.y]);
    }
    this.eagerSteps++;
    if (capture) {
      try {
        this.plan = new StepPlan(capture.finish(loss), Math.max(1, this.cfg.logInterval));
      } catch (e) {
        if (!(e instanceof NotRecordable)) throw e;
        this.eagerReason = e.message;
      }
    }
    return loss;
  }

  /** Every variable a step reads or writes: the model's parameters (frozen ones too) and the moments. */
  private variables(): tf.Variable[] {
    return [...this.model.params.values(), ...this.optimizer.m.values(), ...this.optimizer.v.values()];
  }

  /**
   * Forward and backward over each micro-batch x -> y ([B, T] int32; gradients
   * summed, then averaged: the mean over all gradAccumSteps x batchSize
   * sequences), then one clip and AdamW update; returns the (device-side) mean loss.
   */
  private applyStep(batches: { x: tf.Tensor2D; y: tf.Tensor2D }[], lr: number, dropoutSeed: number): tf.Scalar {
    const { cfg, model, optimizer } = this;
    optimizer.t++;
    const t = optimizer.t;
    const fused = this.fusedOptimizer(); // webgpu + fused kernels: the whole update in a few dispatches (kernels/webgpu/adamw.ts)
    return tf.tidy(() => {
      // Only this model's variables (another model may be alive); grads are keyed by tfjs' unique variable name.
      // Frozen parameters (trainable = false, see finetune.ts) get no gradient and no update.
      const trainable = [...model.params.values()].filter((p) => p.trainable);
      let grads: Record<string, tf.Tensor> = {};
      let loss: tf.Scalar | null = null;
      batches.forEach(({ x, y }, i) => {
        const micro = lossGrads(() => model.loss(x, y, { training: true, dropoutSeed: dropoutSeed + i }), trainable);
        if (i === 0) [grads, loss] = [micro.grads, micro.value];
        else {
          // Sum into the running total, freeing both addends: one set of gradients lives between micro-batches.
          for (const name of Object.keys(grads)) {
            const sum = grads[name].add(micro.grads[name]);
            grads[name].dispose();
            micro.grads[name].dispose();
            grads[name] = sum;
          }
          const total = loss!.add(micro.value) as tf.Scalar;
          loss!.dispose();
          micro.value.dispose();
          loss = total;
        }
      });
      if (batches.length > 1) {
        const inv = tf.fill([], 1 / batches.length); // made on the device: no upload per gradient (a JS number would be one)
        for (const name of Object.keys(grads)) {
          const mean = grads[name].mul(inv);
          grads[name].dispose();
          grads[name] = mean;
        }
        loss = loss!.mul(inv) as tf.Scalar;
      }
      if (fused)
        fused.step(
          trainable.map((p) => grads[p.name]),
          lr,
          t,
        );
      else adamwStep(model.params, grads, optimizer, cfg, lr);
      return tf.keep(loss!);
    });
  }

  private fused: FusedAdamW | null = null;

  /** The fused WebGPU optimizer when the fused kernels are on (built once, on the first such step). */
  private fusedOptimizer(): FusedAdamW | null {
    if (!useFused(this.model.kernels)) return null;
    if (!this.fused) {
      const { cfg, model, optimizer } = this;
      const slots = [...model.params]
        .filter(([, p]) => p.trainable)
        .map(([name, p]) => ({ name, p, m: optimizer.m.get(name)!, v: optimizer.v.get(name)!, decay: cfg.weightDecay > 0 && decays(name, p.shape) }));
      this.fused = new FusedAdamW(slots, cfg);
    }
    return this.fused;
  }

  /** Mean loss over the fixed evaluation batches of a split (nats). */
  async evaluate(split: 'train' | 'val' = 'val'): Promise<number> {
    const batches = this.data.evalBatches(split, this.cfg.evalIters, this.cfg.batchSize, this.cfg.blockSize);
    releasePooledBuffers(); // the training step's pooled buffers back to the device before other sizes are asked for (oom.ts)
    const loss = await evaluateLoss(this.model, batches);
    releasePooledBuffers(); // and evaluation's, before training (or sampling) goes on
    return loss;
  }

  /** Training time excluding evaluation, for the final report. */
  get trainSeconds(): number {
    return (this.trainMs + this.firstStepMs) / 1000;
  }

  dispose(): void {
    this.plan?.dispose();
    this.plan = null;
    for (const p of this.retired) p.dispose();
    this.retired = [];
    this.fused?.dispose();
    this.fused = null;
    for (const l of this.pending) if (l instanceof tf.Tensor) l.dispose();
    this.pending = [];
    for (const v of [...this.optimizer.m.values(), ...this.optimizer.v.values()]) v.dispose();
  }
}

/** Mean loss of a model over batches, read back once. */
export async function evaluateLoss(model: GPT, batches: Batch[]): Promise<number> {
  // One tidy per batch, so activations of one batch are freed before the next
  // (a single tidy around all of them would hold every batch's activations).
  const losses = batches.map((b) =>
    tf.tidy(() => {
      const x = tf.tensor2d(b.x, [b.batchSize, b.blockSize], 'int32');
      const y = tf.tensor2d(b.y, [b.batchSize, b.blockSize], 'int32');
      return model.loss(x, y);
    }),
  );
  const stacked = tf.stack(losses);
  const values = await stacked.data(); // one readback for all batches
  stacked.dispose();
  for (const l of losses) l.dispose();
  return Array.from(values).reduce((a, v) => a + v, 0) / values.length;
}

// The loop that drives a Trainer (evaluations, checkpoints, stops): train-loop.ts.

/** A fresh run: validate the config against the data, init the model from the seed (`options`: the model's, e.g. its kernels). */
export function newTrainer(config: Config, data: Dataset, options: GPTOptions = {}): Trainer {
  const cfg: Config = { ...config, vocabSize: data.tokenizer.vocabSize };
  validate(cfg, data.minSplitLength);
  const rngs = runRngs(cfg.seed);
  return new Trainer(new GPT(modelConfigOf(cfg), rngs.init, options), data, cfg, rngs.batches);
}
