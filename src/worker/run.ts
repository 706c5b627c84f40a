// A training run in the worker: start (fresh, resumed or fine-tuned), core's
// training loop (train-loop.ts) driven with the worker's hooks: samples,
// autosaves, and the page's Pause / Resume / Step / Save / Stop. The loop
// trains one step at a time and yields to the message loop between steps, so
// those controls act within one step; each step as the device finishes it
// goes to the page (at most ten a second), the losses every logInterval steps.
// On a lost GPU device the run continues from its last checkpoint on the
// next backend (backend.ts).

import * as tf from '@tensorflow/tfjs';
import type { Config } from '../core/config';
import { decodeCheckpoint, disposeCheckpoint, resumeTrainer } from '../core/checkpoint';
import { Dataset } from '../core/data';
import { fineTuneOverrides, initFrom } from '../core/finetune';
import { paramCount } from '../core/counts';
import { OutOfMemoryError } from '../core/memory';
import type { GPT } from '../core/model';
import { generate } from '../core/sample';
import type { Tokenizer } from '../core/tokenizer';
import { isEvalStep, newTrainer, Trainer } from '../core/train';
import { trainLoop, type LoopHooks, type StepProgress } from '../core/train-loop';
import { deviceIdle } from '../core/kernels/webgpu/idle';
import { Autosave } from './autosave';
import { DeviceLostError, fallBack, lostReason, measureBackends } from './backend';
import { sendCheckpoint } from './checkpoints';
import { stopGenerating } from './models';
import { EVAL_SAMPLE, type MetricPoint, type ToWorker } from './protocol';
import { disposeLoaded, disposeRun, errorLine, post, setStatus, state, views, yieldToEvents, type Run } from './state';

const PROGRESS_EVERY_MS = 100;
/** Per-step messages: at most ten a second. */
const STEP_EVERY_MS = 100;

/** Build the run's trainer: fresh, resumed from a checkpoint, or fine-tuned from one. */
async function makeTrainer(msg: Extract<ToWorker, { type: 'start' }>): Promise<Trainer> {
  if (!msg.from) return newTrainer(msg.config, new Dataset(msg.text));
  const ckpt = await decodeCheckpoint(new Uint8Array(msg.from.bytes), 'the saved model');
  try {
    if (msg.from.mode === 'resume') {
      // Same run: only the schedule length and intervals may follow the page.
      const { maxIters, evalInterval, evalIters, logInterval } = msg.config;
      return resumeTrainer(ckpt, new Dataset(msg.text), { maxIters: Math.max(maxIters, ckpt.meta.step), evalInterval, evalIters, logInterval });
    }
    // Fine-tune (core/finetune.ts): the saved model's shape and weights, its vocabulary grown to this
    // text (a notice lists the new characters), this page's training settings, a fresh optimizer.
    const ft = initFrom(ckpt, msg.text, fineTuneOverrides(msg.config));
    if (ft.addedLine) post({ type: 'notice', message: `Fine-tune: ${ft.addedLine} (added to the model's vocabulary)` });
    return ft.trainer;
  } finally {
    disposeCheckpoint(ckpt);
  }
}

export async function start(msg: Extract<ToWorker, { type: 'start' }>): Promise<void> {
  if (state.run?.active) return post({ type: 'error', scope: 'run', message: 'a run is already going: stop it before starting another' });
  await stopGenerating();
  disposeRun();
  disposeLoaded();
  setStatus('compiling', 'preparing the model');
  let trainer: Trainer;
  try {
    if (!msg.from) await measureBackends(msg.config, msg.text);
    trainer = await makeTrainer(msg);
  } catch (e) {
    setStatus('error');
    return post({ type: 'error', scope: 'run', message: errorLine(e) });
  }
  const run: Run = {
    runId: msg.runId,
    trainer,
    corpus: msg.corpus,
    paused: msg.paused ?? false,
    stepsAllowed: msg.paused ? 1 : 0,
    stopRequested: false,
    exportRequested: false,
    wake: null,
    active: true,
    lastCheckpoint: msg.from?.mode === 'resume' ? new Uint8Array(msg.from.bytes) : null,
    lastVal: null,
    lastTrain: null,
    autosave: new Autosave(msg.autosaveSec ?? 60),
  };
  state.run = run;
  announceModel(trainer.model, trainer.data.tokenizer, trainer.step, msg.runId);
  await drive(run);
}

/** Pause / Resume / Step / Save / Stop: flags the loop reads between steps, and a wake-up if it waits. */
export function controlRun(type: 'pause' | 'resume' | 'step' | 'save' | 'stop'): void {
  const { run } = state;
  if (!run?.active) return;
  switch (type) {
    case 'pause':
      run.paused = true;
      return;
    case 'resume':
      run.paused = false;
      run.stepsAllowed = 0;
      break;
    case 'step':
      run.paused = true;
      run.stepsAllowed++;
      break;
    case 'save':
      run.autosave.request();
      break;
    case 'stop':
      run.stopRequested = true;
      break;
  }
  run.wake?.();
}

function announceModel(model: GPT, tokenizer: Tokenizer, step: number, source: string): void {
  const counts = paramCount(model.config);
  const config = state.run?.trainer.model === model ? state.run.trainer.cfg : (model.config as Config);
  post({ type: 'model', info: { config, vocabSize: tokenizer.vocabSize, step, params: counts.total, nonEmbeddingParams: counts.nonEmbedding, source } });
}

/** Run the loop; on a lost GPU device, fall back and continue from the last checkpoint. */
async function drive(r: Run): Promise<void> {
  for (;;) {
    try {
      await loop(r);
      return;
    } catch (e) {
      // out of memory is the run's own size, not a lost device: say so at once (core/memory.ts' one line)
      const lost = state.backend === 'webgpu' && !(e instanceof OutOfMemoryError) ? await lostReason(e) : null;
      if (lost) {
        const reason = `device lost (${lost})`;
        try {
          await recover(r, reason);
          continue;
        } catch (e2) {
          e = e2;
        }
      }
      r.active = false;
      setStatus('error');
      post({ type: 'error', scope: 'run', message: errorLine(e) });
      return;
    }
  }
}

async function recover(r: Run, reason: string): Promise<void> {
  const data = r.trainer.data;
  const cfg = r.trainer.cfg;
  await fallBack(reason);
  let trainer: Trainer;
  if (r.lastCheckpoint) {
    const ckpt = await decodeCheckpoint(r.lastCheckpoint, 'the last checkpoint');
    trainer = resumeTrainer(ckpt, data, { maxIters: cfg.maxIters });
    disposeCheckpoint(ckpt);
  } else {
    trainer = newTrainer(cfg, data);
  }
  r.trainer = trainer;
  post({
    type: 'notice',
    message: `The WebGPU ${reason.replace('device lost', 'device was lost')}: continuing on ${state.backend} from ${trainer.step > 0 ? `the checkpoint at step ${trainer.step}` : 'the start'}.`,
  });
}

/**
 * The per-step 'step' messages: each step as the device finishes it, at most
 * one per STEP_EVERY_MS (the latest kept for a trailing post), never behind a
 * 'progress' already sent (its step counts queued steps once they are done),
 * and none once the run has ended.
 */
class StepTicks {
  private lastPost = 0;
  private pending: StepProgress | null = null;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private floor = 0;

  constructor(private readonly r: Run) {}

  done(p: StepProgress): void {
    if (p.step < this.floor) return;
    this.pending = p;
    const wait = this.lastPost + STEP_EVERY_MS - performance.now();
    if (wait <= 0) this.send();
    else this.timer ??= setTimeout(() => this.send(), wait);
  }

  /** A 'progress' message reported `step`: older ticks are stale. */
  reported(step: number): void {
    this.floor = step;
    if (this.pending && this.pending.step < step) this.pending = null;
  }

  private send(): void {
    this.timer = null;
    const p = this.pending;
    this.pending = null;
    if (!p || state.run !== this.r || !this.r.active) return;
    this.lastPost = performance.now();
    post({ type: 'step', step: p.step, maxIters: p.maxIters, msPerStep: p.msPerStep, tokensPerSec: p.tokensPerSec, etaSec: p.etaSec });
  }
}

/** Drive core's training loop (train-loop.ts) with the page's controls, messages, autosaves and views as its hooks. */
async function loop(r: Run): Promise<void> {
  const { trainer } = r;
  const cfg = trainer.cfg;
  let points: MetricPoint[] = [];
  let lastPost = 0;
  let lastStepMs = 0;
  let numTensors: number | null = null;
  let numBytes: number | null = null;
  const ticks = new StepTicks(r);
  // Losses and memory: at log steps (at most one message per PROGRESS_EVERY_MS), evaluations, pauses and the end.
  const flush = (force = false) => {
    const now = performance.now();
    if (!force && now - lastPost < PROGRESS_EVERY_MS) return;
    lastPost = now;
    post({
      type: 'progress',
      step: trainer.step,
      maxIters: cfg.maxIters,
      points,
      msPerStep: lastStepMs,
      tokensPerSec: trainer.tokensPerSec,
      numTensors,
      numBytes,
    });
    ticks.reported(trainer.step);
    points = [];
  };
  let warm = false;
  let postedStep: { step: 'recorded' | 'eager'; reason: string | null } | null = null;
  let stepStart = 0;
  // A step's wall time counts towards the next autosave; evaluations and samples do not.
  const stepped = () => {
    if (stepStart > 0) r.autosave.trained(performance.now() - stepStart);
    stepStart = 0;
  };
  setStatus(r.paused ? 'paused' : 'compiling', r.paused ? undefined : state.backend === 'webgpu' ? 'compiling WebGPU shaders (first step)' : 'first step');
  flush(true);
  const hooks: LoopHooks = {
    signal: {
      get aborted() {
        return r.stopRequested;
      },
    },
    // Between steps: a lost device, a download, an autosave, and Pause / Step.
    beforeStep: async () => {
      for (;;) {
        if (state.deviceLost) throw new DeviceLostError(state.deviceLost);
        if (r.exportRequested) {
          r.exportRequested = false;
          await sendCheckpoint(r, 'export');
        }
        if (r.stopRequested) return;
        if (r.autosave.due && trainer.step > 0) await sendCheckpoint(r, 'autosave');
        if (!r.paused || r.stepsAllowed > 0) break;
        await deviceIdle(); // the steps already issued finish (and report) before the page hears of the pause
        flush(true);
        if (state.status !== 'paused') setStatus('paused');
        await new Promise<void>((resolve) => (r.wake = resolve));
        r.wake = null;
      }
      if (r.paused) r.stepsAllowed--;
      else if (state.status !== 'training' && warm) setStatus('training');
      stepStart = performance.now();
    },
    onStepDone: (p) => {
      if (!warm) {
        warm = true; // the first step really finished (shaders compiled): we train
        if (!r.paused && r.active) setStatus('training');
      }
      ticks.done(p);
    },
    evaluate: (t) => views.evaluate(t),
    checkpoint: async (reason, valLoss) => {
      if (reason !== 'stop') {
        r.lastVal = valLoss;
        // The evaluation reaches the page before its checkpoint: a saved record carries the charts up to it
        post({ type: 'eval', step: trainer.step, trainLoss: r.lastTrain ?? NaN, valLoss });
      }
      await sendCheckpoint(r, reason);
    },
    evalOnStop: false, // Stop saves at once; the last evaluation's loss goes with it
    afterStep: async () => {
      stepped();
      const mode = trainer.stepMode;
      if (mode.step !== postedStep?.step || mode.reason !== postedStep.reason) post({ type: 'stepMode', ...(postedStep = mode) });
      await yieldToEvents();
      await views.between();
    },
  };
  for await (const ev of trainLoop(trainer, hooks)) {
    stepped();
    if (ev.event === 'step') {
      // The trainer's average: a step between readbacks only queues GPU work, so timing it alone would flatter.
      lastStepMs = ev.msPerStep;
      r.lastTrain = ev.trainLoss;
      points.push({ step: ev.step, trainLoss: ev.trainLoss, lr: ev.lr, tokensPerSec: ev.tokensPerSec, msPerStep: ev.msPerStep });
      const mem = tf.memory();
      numTensors = mem.numTensors; // the loss readback just drained the queue: a fixed count unless something leaks
      numBytes = mem.numBytes + trainer.recordedBytes; // the recorded step's own buffers count too
      flush(r.paused || isEvalStep(cfg, ev.step));
    } else if (ev.event === 'eval') {
      await evalSample(r); // its 'eval' message went out with the checkpoint (above)
      await views.afterEval(trainer);
    }
  }
  flush(true);
  r.active = false;
  if (r.stopRequested && trainer.step < cfg.maxIters) setStatus('done', `stopped at step ${trainer.step}`);
  else setStatus('done');
}

async function evalSample(r: Run): Promise<void> {
  const id = r.trainer.step;
  post({ type: 'tokens', stream: 'eval', id, text: '', reset: true });
  let buf = '';
  let last = performance.now();
  await generate(r.trainer.model, r.trainer.data.tokenizer, {
    maxNewTokens: EVAL_SAMPLE.chars,
    temperature: EVAL_SAMPLE.temperature,
    seed: id,
    onToken: (ch) => {
      buf += ch;
      if (performance.now() - last > 30) {
        post({ type: 'tokens', stream: 'eval', id, text: buf });
        buf = '';
        last = performance.now();
      }
    },
  });
  post({ type: 'tokens', stream: 'eval', id, text: buf, done: true });
}
