/// <reference lib="webworker" />
// The training worker's mutable state in one place: the backend, the run,
// the model loaded for generation, the generation flags and the page's
// views. The worker's modules (run.ts, models.ts, checkpoints.ts,
// backend.ts) all read and write this one object, so what a message may
// change is visible here; with it, the small helpers they all share.

import { BROWSER_ORDER, type BackendName } from '../core/backend';
import type { GPT } from '../core/model';
import type { Tokenizer } from '../core/tokenizer';
import type { Trainer } from '../core/train';
import type { Autosave } from './autosave';
import type { CorpusRef, FromWorker, RunStatus } from './protocol';
import { ViewsHost } from './views';

declare const self: DedicatedWorkerGlobalScope;

export function post(msg: FromWorker, transfer: Transferable[] = []): void {
  self.postMessage(msg, transfer);
}

export interface Run {
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

export const state = {
  backend: null as BackendName | null,
  order: BROWSER_ORDER,
  /** No ?backend= on the URL: the worker chooses (and may time the backends at Start: backend.ts' measureBackends). */
  auto: true,
  /** ?backend=measure: time WebGPU against WASM even where the adapter is a CPU. */
  measure: false,
  /** Set once a measurement moved the run off WebGPU: a later model is timed again from there. */
  measuredFrom: null as BackendName | null,
  deviceLost: null as string | null,
  control: null as Int32Array | null,
  run: null as Run | null,
  /** A model loaded for generation only (an upload or a saved model), with its bytes for recovery. */
  loaded: null as { model: GPT; tokenizer: Tokenizer; bytes: Uint8Array; name: string } | null,
  generating: false,
  generateAbort: false,
  status: 'idle' as RunStatus,
};

/** The page's views (worker/views.ts): computed between steps, never inside one. */
export const views = new ViewsHost({
  post,
  current: () => {
    const { run, loaded } = state;
    return run ? { model: run.trainer.model, tokenizer: run.trainer.data.tokenizer, step: run.trainer.step } : loaded ? { ...loaded, step: 0 } : null;
  },
  training: () => state.run !== null && state.run.active && state.run.wake === null,
});

export function setStatus(s: RunStatus, message?: string): void {
  state.status = s;
  post({ type: 'status', status: s, message });
}

export const errorLine = (e: unknown) => (e instanceof Error ? e.message : String(e)).split('\n')[0];

const yieldChannel = new MessageChannel();
const yieldQueue: (() => void)[] = [];
yieldChannel.port1.onmessage = () => yieldQueue.shift()?.();
/** Let queued messages (Pause, Stop, ...) run: a macrotask, without setTimeout's clamping. */
export function yieldToEvents(): Promise<void> {
  return new Promise((resolve) => {
    yieldQueue.push(resolve);
    yieldChannel.port2.postMessage(null);
  });
}

export function disposeRun(): void {
  if (!state.run) return;
  try {
    state.run.trainer.model.dispose();
    state.run.trainer.dispose();
  } catch {
    /* tensors of a reset engine */
  }
  state.run = null;
}

export function disposeLoaded(): void {
  if (!state.loaded) return;
  try {
    state.loaded.model.dispose();
  } catch {
    /* tensors of a reset engine */
  }
  state.loaded = null;
}
