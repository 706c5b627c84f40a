/// <reference lib="webworker" />
// The training page's worker: owns tfjs, the backend, the run and the model.
// It trains one step at a time and yields to its message loop between steps,
// so Pause / Resume / Stop / Step act within one step; metrics go to the page
// in batches about every 100 ms; checkpoints go as transferable buffers.
// If the WebGPU device is lost, it falls back to the next backend and
// continues from the last checkpoint.

import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-webgpu';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import wasmPlainUrl from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm?url';
import wasmSimdUrl from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm?url';
import wasmThreadedUrl from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-threaded-simd.wasm?url';
import { BROWSER_ORDER, chooseBackend, type BackendName } from '../core/backend';
import type { Config } from '../core/config';
import { decodeCheckpoint, disposeCheckpoint, modelFromCheckpoint, resumeTrainer, saveTrainer } from '../core/checkpoint';
import { Dataset } from '../core/data';
import { fineTuneOverrides, initFrom } from '../core/finetune';
import { paramCount } from '../core/counts';
import type { GPT } from '../core/model';
import { generate } from '../core/sample';
import type { Tokenizer } from '../core/tokenizer';
import { newTrainer, Trainer } from '../core/train';
import { Autosave } from './autosave';
import { ViewsHost } from './views';
import { CONTROL, EVAL_SAMPLE, type CorpusRef, type FromWorker, type GenerateOptions, type MetricPoint, type RunStatus, type ToWorker } from './protocol';

declare const self: DedicatedWorkerGlobalScope;

// WASM uses threads where the page is cross-origin isolated (COOP/COEP headers
// in dev, preview and the build; tfjs picks half the logical cores) and SIMD.
// The build is not minified because tfjs starts its pthreads from the source
// text of its module factory, which a minifier's renames break (vite.config.ts).

// Vite serves (and the build emits) the three wasm binaries; tell tfjs where.
setWasmPaths({
  'tfjs-backend-wasm.wasm': wasmPlainUrl,
  'tfjs-backend-wasm-simd.wasm': wasmSimdUrl,
  'tfjs-backend-wasm-threaded-simd.wasm': wasmThreadedUrl,
});

const PROGRESS_EVERY_MS = 100;

function post(msg: FromWorker, transfer: Transferable[] = []): void {
  self.postMessage(msg, transfer);
}

interface Run {
  runId: string;
  trainer: Trainer;
  corpus: CorpusRef;
  paused: boolean;
  /** Steps allowed while paused (the Step button). */
  stepsAllowed: number;
  stopRequested: boolean;
  exportRequested: boolean;
  /** The loop is between steps waiting for a control message. */
  wake: (() => void) | null;
  /** True while the loop runs (also while paused); false once it ended. */
  active: boolean;
  lastCheckpoint: Uint8Array | null;
  lastVal: number | null;
  lastTrain: number | null;
  /** Autosaves between evaluations (autosave.ts). */
  autosave: Autosave;
}

let backend: BackendName | null = null;
let order: BackendName[] = BROWSER_ORDER;
let deviceLost: string | null = null;
let control: Int32Array | null = null;
let run: Run | null = null;
/** A model loaded for generation only (an upload or a saved model), with its bytes for recovery. */
let loaded: { model: GPT; tokenizer: Tokenizer; bytes: Uint8Array; name: string } | null = null;
let generating = false;
let generateAbort = false;
let status: RunStatus = 'idle';
/** The page's views (worker/views.ts): computed between steps, never inside one. */
const views = new ViewsHost({
  post,
  current: () => (run ? { model: run.trainer.model, tokenizer: run.trainer.data.tokenizer, step: run.trainer.step } : loaded ? { ...loaded, step: 0 } : null),
  training: () => run !== null && run.active && run.wake === null,
});

function setStatus(s: RunStatus, message?: string): void {
  status = s;
  post({ type: 'status', status: s, message });
}

const errorLine = (e: unknown) => (e instanceof Error ? e.message : String(e)).split('\n')[0];

// ------------------------------------------------------------------ backend

async function initBackend(forced: BackendName | null, prior: string[] = []): Promise<void> {
  const choice = await chooseBackend(order);
  backend = choice.name;
  deviceLost = null;
  if (backend === 'webgpu') watchDevice();
  post({ type: 'backend', name: backend, fallbacks: [...prior, ...choice.fallbacks], forced: forced !== null });
}

/** The tfjs WebGPU backend does not watch for device loss; we do. */
function watchDevice(): void {
  const device = (tf.backend() as unknown as { device?: GPUDevice }).device;
  device?.lost.then(async (info) => {
    if (backend !== 'webgpu') return;
    deviceLost = info.message || info.reason || 'unknown reason';
    // A run notices at its next step; with no run going, fall back now.
    if (!run?.active) {
      const reason = `device lost (${deviceLost})`;
      await fallBack(reason);
      post({ type: 'notice', message: `The WebGPU ${reason.replace('device lost', 'device was lost')}: now on ${backend}.` });
    }
  });
}

/**
 * Whether an error on WebGPU came from a lost device: a failed readback often
 * arrives before device.lost resolves, so give that promise a moment.
 */
async function lostReason(e: unknown): Promise<string | null> {
  if (deviceLost) return deviceLost;
  const device = (tf.backend() as unknown as { device?: GPUDevice }).device;
  if (!device) return e instanceof DeviceLostError ? e.message : null;
  const timeout = new Promise<null>((resolve) => setTimeout(() => resolve(null), 1000));
  const info = await Promise.race([device.lost, timeout]);
  return info ? info.message || info.reason || 'unknown reason' : null;
}

/** Drop the dead backend and start the next one in order; every tensor is gone after this. */
async function fallBack(reason: string): Promise<void> {
  const from = backend ?? 'webgpu';
  // What to rebuild for generation afterwards: a loaded model, or a finished run's last checkpoint.
  const reload = loaded ? { bytes: loaded.bytes, name: loaded.name } : run && !run.active && run.lastCheckpoint ? { bytes: run.lastCheckpoint, name: run.runId } : null;
  loaded = null;
  if (!run?.active) run = null;
  try {
    tf.engine().reset();
  } catch {
    /* the lost device may throw while disposing; nothing on it is usable anyway */
  }
  order = BROWSER_ORDER.slice(BROWSER_ORDER.indexOf(from) + 1);
  await initBackend(null, [`${from}: ${reason}`]);
  if (reload) await load(reload.bytes, reload.name);
}

// ------------------------------------------------------------------ runs

const yieldChannel = new MessageChannel();
const yieldQueue: (() => void)[] = [];
yieldChannel.port1.onmessage = () => yieldQueue.shift()?.();
/** Let queued messages (Pause, Stop, ...) run: a macrotask, without setTimeout's clamping. */
function yieldToEvents(): Promise<void> {
  return new Promise((resolve) => {
    yieldQueue.push(resolve);
    yieldChannel.port2.postMessage(null);
  });
}

class DeviceLostError extends Error {}

function disposeRun(): void {
  if (!run) return;
  try {
    run.trainer.model.dispose();
    run.trainer.dispose();
  } catch {
    /* tensors of a reset engine */
  }
  run = null;
}

function disposeLoaded(): void {
  if (!loaded) return;
  try {
    loaded.model.dispose();
  } catch {
    /* tensors of a reset engine */
  }
  loaded = null;
}

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

/** End a generation in progress (its model is about to be replaced). */
async function stopGenerating(): Promise<void> {
  generateAbort = true;
  while (generating) await yieldToEvents();
}

async function start(msg: Extract<ToWorker, { type: 'start' }>): Promise<void> {
  if (run?.active) return post({ type: 'error', scope: 'run', message: 'a run is already going: stop it before starting another' });
  await stopGenerating();
  disposeRun();
  disposeLoaded();
  setStatus('compiling', 'preparing the model');
  let trainer: Trainer;
  try {
    trainer = await makeTrainer(msg);
  } catch (e) {
    setStatus('error');
    return post({ type: 'error', scope: 'run', message: errorLine(e) });
  }
  run = {
    runId: msg.runId, trainer, corpus: msg.corpus, paused: msg.paused ?? false, stepsAllowed: msg.paused ? 1 : 0,
    stopRequested: false, exportRequested: false, wake: null, active: true,
    lastCheckpoint: msg.from?.mode === 'resume' ? new Uint8Array(msg.from.bytes) : null, lastVal: null, lastTrain: null,
    autosave: new Autosave(msg.autosaveSec ?? 60),
  };
  announceModel(trainer.model, trainer.data.tokenizer, trainer.step, msg.runId);
  await drive(run);
}

function announceModel(model: GPT, tokenizer: Tokenizer, step: number, source: string): void {
  const counts = paramCount(model.config);
  const config = run?.trainer.model === model ? run.trainer.cfg : (model.config as Config);
  post({ type: 'model', info: { config, vocabSize: tokenizer.vocabSize, step, params: counts.total, nonEmbeddingParams: counts.nonEmbedding, source } });
}

/** Run the loop; on a lost GPU device, fall back and continue from the last checkpoint. */
async function drive(r: Run): Promise<void> {
  for (;;) {
    try {
      await loop(r);
      return;
    } catch (e) {
      const lost = backend === 'webgpu' ? await lostReason(e) : null;
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
  post({ type: 'notice', message: `The WebGPU ${reason.replace('device lost', 'device was lost')}: continuing on ${backend} from ${trainer.step > 0 ? `the checkpoint at step ${trainer.step}` : 'the start'}.` });
}

async function loop(r: Run): Promise<void> {
  const { trainer } = r;
  const cfg = trainer.cfg;
  let points: MetricPoint[] = [];
  let lastPost = 0;
  let lastStepMs = 0;
  let numTensors: number | null = null;
  let numBytes: number | null = null;
  const flush = (force = false) => {
    const now = performance.now();
    if (!force && now - lastPost < PROGRESS_EVERY_MS) return;
    lastPost = now;
    post({ type: 'progress', step: trainer.step, maxIters: cfg.maxIters, points, msPerStep: lastStepMs, tokensPerSec: trainer.tokensPerSec, numTensors, numBytes });
    points = [];
  };
  let warm = false;
  setStatus(r.paused ? 'paused' : 'compiling', r.paused ? undefined : backend === 'webgpu' ? 'compiling WebGPU shaders (first step)' : 'first step');
  flush(true);
  while (trainer.step < cfg.maxIters) {
    if (deviceLost) throw new DeviceLostError(deviceLost);
    if (r.exportRequested) {
      r.exportRequested = false;
      await sendCheckpoint(r, 'export');
    }
    if (r.stopRequested) break;
    if (r.autosave.due && trainer.step > 0) await sendCheckpoint(r, 'autosave');
    if (r.paused && r.stepsAllowed === 0) {
      flush(true);
      if (status !== 'paused') setStatus('paused');
      await new Promise<void>((resolve) => (r.wake = resolve));
      r.wake = null;
      continue;
    }
    if (r.paused) r.stepsAllowed--;
    else if (status !== 'training' && warm) setStatus('training');
    const stepStart = performance.now();
    const log = await trainer.trainStep();
    r.autosave.trained(performance.now() - stepStart);
    if (!warm) {
      // Wait for the first step to really finish (shaders compiled), then say we train.
      await trainer.model.p('transformer.ln_f.weight').data();
      warm = true;
      if (!r.paused) setStatus('training');
    }
    if (log) {
      // The trainer's average: a step between readbacks only queues GPU work, so timing it alone would flatter.
      lastStepMs = log.msPerStep;
      r.lastTrain = log.trainLoss;
      points.push({ step: log.step, trainLoss: log.trainLoss, lr: log.lr, tokensPerSec: log.tokensPerSec, msPerStep: log.msPerStep });
      const mem = tf.memory();
      numTensors = mem.numTensors; // the loss readback just drained the queue: a fixed count unless something leaks
      numBytes = mem.numBytes;
    }
    flush(r.paused);
    if (trainer.step % cfg.evalInterval === 0 || trainer.step === cfg.maxIters) {
      flush(true);
      const valLoss = await views.evaluate(trainer);
      if (!Number.isFinite(valLoss)) throw new Error(`validation loss became ${valLoss} at step ${trainer.step}: lower the learning rate and resume from the last checkpoint`);
      r.lastVal = valLoss;
      post({ type: 'eval', step: trainer.step, trainLoss: r.lastTrain ?? NaN, valLoss });
      await sendCheckpoint(r, trainer.step === cfg.maxIters ? 'done' : 'eval');
      await evalSample(r);
      await views.afterEval(trainer);
    }
    await yieldToEvents();
    await views.between();
  }
  flush(true);
  r.active = false;
  if (r.stopRequested && trainer.step < cfg.maxIters) {
    await sendCheckpoint(r, 'stop');
    setStatus('done', `stopped at step ${trainer.step}`);
  } else setStatus('done');
}

async function sendCheckpoint(r: Run, reason: 'eval' | 'autosave' | 'stop' | 'done' | 'export'): Promise<void> {
  const { trainer } = r;
  const extra: Record<string, string> = { corpus: r.corpus.kind === 'file' || r.corpus.kind === 'paste' ? `text:${r.corpus.name}` : r.corpus.kind };
  if (r.lastVal !== null) extra.val_loss = String(r.lastVal);
  const bytes = await saveTrainer(trainer, trainer.data.tokenizer, extra);
  if (reason !== 'export') {
    r.lastCheckpoint = bytes;
    r.autosave.saved();
  }
  const copy = bytes.slice();
  post({ type: 'checkpoint', runId: r.runId, reason, bytes: copy.buffer, step: trainer.step, maxIters: trainer.cfg.maxIters, valLoss: r.lastVal, trainLoss: r.lastTrain, config: trainer.cfg, corpus: r.corpus }, [copy.buffer]);
}

async function evalSample(r: Run): Promise<void> {
  const id = r.trainer.step;
  post({ type: 'tokens', stream: 'eval', id, text: '', reset: true });
  let buf = '';
  let last = performance.now();
  await generate(r.trainer.model, r.trainer.data.tokenizer, {
    maxNewTokens: EVAL_SAMPLE.chars, temperature: EVAL_SAMPLE.temperature, seed: id,
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

// ------------------------------------------------------------------ models and generation

function current(): { model: GPT; tokenizer: Tokenizer } | null {
  if (run) return { model: run.trainer.model, tokenizer: run.trainer.data.tokenizer };
  return loaded;
}

async function load(bytes: Uint8Array, name: string): Promise<void> {
  if (run?.active) return post({ type: 'error', scope: 'load', message: 'a run is going: stop it before loading another model' });
  let ckpt;
  try {
    ckpt = await decodeCheckpoint(bytes, name);
  } catch (e) {
    return post({ type: 'error', scope: 'load', message: errorLine(e) });
  }
  await stopGenerating();
  disposeRun();
  disposeLoaded();
  try {
    const { model, tokenizer } = modelFromCheckpoint(ckpt);
    loaded = { model, tokenizer, bytes, name };
    post({ type: 'model', info: { config: ckpt.meta.config, vocabSize: tokenizer.vocabSize, step: ckpt.meta.step, params: paramCount(model.config).total, nonEmbeddingParams: paramCount(model.config).nonEmbedding, source: name } });
  } catch (e) {
    post({ type: 'error', scope: 'load', message: `${name}: ${errorLine(e)}` });
  } finally {
    disposeCheckpoint(ckpt);
  }
}

async function generateText(id: number, opts: GenerateOptions): Promise<void> {
  const cur = current();
  if (!cur) return post({ type: 'error', scope: 'generate', message: 'no model yet: train one, or load a saved or uploaded model' });
  if (generating) return post({ type: 'error', scope: 'generate', message: 'already generating: stop it first' });
  const missing = cur.tokenizer.missing(opts.prompt);
  if (missing.length > 0) {
    return post({ type: 'error', scope: 'generate', message: `the prompt has characters the model does not know: ${missing.slice(0, 12).map((c) => JSON.stringify(c)).join(', ')}` });
  }
  generating = true;
  generateAbort = false;
  if (control) Atomics.store(control, CONTROL.stopGenerate, 0);
  // Checked before each character; shared memory reaches us even when the backend never yields.
  const signal = { get aborted() { return generateAbort || (control !== null && Atomics.load(control, CONTROL.stopGenerate) === 1); } };
  const t0 = performance.now();
  let n = 0;
  try {
    const text = await generate(cur.model, cur.tokenizer, {
      ...opts, signal,
      onToken: (ch) => {
        n++;
        post({ type: 'tokens', stream: 'generate', id, text: ch });
      },
    });
    const sec = (performance.now() - t0) / 1000;
    post({ type: 'generated', id, text, tokensPerSec: sec > 0 ? n / sec : 0, stopped: signal.aborted });
  } catch (e) {
    post({ type: 'error', scope: 'generate', message: errorLine(e) });
  } finally {
    generating = false;
  }
}

async function exportModel(): Promise<void> {
  if (run?.active) {
    run.exportRequested = true;
    run.wake?.();
    return;
  }
  if (run) return sendCheckpoint(run, 'export');
  if (loaded) {
    const copy = loaded.bytes.slice();
    const cfg = { ...(loaded.model.config as Config) };
    return post({ type: 'checkpoint', runId: '', reason: 'export', bytes: copy.buffer, step: 0, maxIters: 0, valLoss: null, trainLoss: null, config: cfg, corpus: { kind: 'file', name: loaded.name, sha256: '' } }, [copy.buffer]);
  }
  post({ type: 'error', scope: 'load', message: 'no model to download yet: train one first' });
}

// ------------------------------------------------------------------ messages

let ready: Promise<void> = Promise.resolve();

self.onmessage = (ev: MessageEvent<ToWorker>) => {
  const msg = ev.data;
  switch (msg.type) {
    case 'init':
      control = msg.control ? new Int32Array(msg.control) : null;
      order = msg.forced ? [msg.forced] : BROWSER_ORDER;
      ready = initBackend(msg.forced).catch((e) => {
        setStatus('error');
        post({ type: 'error', scope: 'backend', message: errorLine(e) });
      });
      return;
    case 'start':
      void ready.then(() => start(msg));
      return;
    case 'pause':
      if (run?.active) run.paused = true;
      return;
    case 'resume':
      if (run?.active) {
        run.paused = false;
        run.stepsAllowed = 0;
        run.wake?.();
      }
      return;
    case 'step':
      if (run?.active) {
        run.paused = true;
        run.stepsAllowed++;
        run.wake?.();
      }
      return;
    case 'save':
      if (run?.active) {
        run.autosave.request();
        run.wake?.();
      }
      return;
    case 'stop':
      if (run?.active) {
        run.stopRequested = true;
        run.wake?.();
      }
      return;
    case 'stopGenerate':
      generateAbort = true;
      return;
    case 'load':
      void ready.then(() => load(new Uint8Array(msg.bytes), msg.name));
      return;
    case 'generate':
      void ready.then(() => generateText(msg.id, msg.options));
      return;
    case 'export':
      void ready.then(exportModel);
      return;
    case 'views':
    case 'inspect':
      void ready.then(() => views.handle(msg));
      return;
    case 'debugLoseDevice': {
      const device = (tf.backend() as unknown as { device?: GPUDevice }).device;
      if (backend === 'webgpu' && device) device.destroy();
      else post({ type: 'error', scope: 'backend', message: `no WebGPU device to lose (backend is ${backend})` });
      return;
    }
  }
};
