// Every message between the training page and its worker, as tagged unions.
// The page (src/ui/) never imports tfjs: it sends configs, texts and
// checkpoint bytes, and receives metrics, streamed characters and checkpoint
// bytes (as transferable ArrayBuffers, never copied).

import type { BackendName } from '../core/backend';
import type { Config } from '../core/config';
import type { AttentionMaps, DeviceReport, EmbeddingMap, LossByPosition, NextChars, SpeedEstimate, TextScore } from '../core/inspect/types';

export type RunStatus = 'idle' | 'compiling' | 'training' | 'paused' | 'done' | 'error';

/** What a run trains on, as stored with its checkpoints (the text itself travels separately). */
export interface CorpusRef {
  kind: 'shakespeare' | 'builtin' | 'builtin-small' | 'paste' | 'file';
  /** File name for 'file', else the kind. */
  name: string;
  /** sha256 of the normalised text: finds the stored text again on resume. */
  sha256: string;
}

/** Sampling settings shared by the Generate panel and the evaluation samples. */
export interface GenerateOptions {
  prompt: string;
  maxNewTokens: number;
  temperature: number;
  topK: number;
  topP: number;
  seed: number;
}

/** One logged training step (the trainer reads losses back every logInterval steps). */
export interface MetricPoint {
  step: number;
  trainLoss: number;
  lr: number;
  tokensPerSec: number;
  msPerStep: number;
}

// ---------------------------------------------------------------- page -> worker

export type ToWorker =
  /**
   * Pick a backend (`forced` = the URL's ?backend=, tried alone). `measure` (?backend=measure): time WebGPU
   * against WASM on each new model at Start even where the adapter rule would pick WASM (a CPU adapter).
   */
  | { type: 'init'; forced: BackendName | null; measure: boolean; control: SharedArrayBuffer | null }
  /**
   * Start a run. `from` = checkpoint bytes: 'resume' continues that run
   * (optimizer, step, batch order), 'finetune' starts a new run from its weights.
   */
  | {
      type: 'start';
      runId: string;
      config: Config;
      text: string;
      corpus: CorpusRef;
      from?: { mode: 'resume' | 'finetune'; bytes: ArrayBuffer };
      paused?: boolean;
      autosaveSec?: number;
    }
  /** Save a checkpoint now (the tab was hidden and may be closed): reason 'autosave'. */
  | { type: 'save' }
  | { type: 'pause' }
  | { type: 'resume' }
  /** One step, then stay paused. */
  | { type: 'step' }
  /** End the run after the current step; a final checkpoint is sent. */
  | { type: 'stop' }
  /** Load checkpoint bytes as the model to generate from. */
  | { type: 'load'; bytes: ArrayBuffer; name: string }
  | { type: 'generate'; id: number; options: GenerateOptions }
  | { type: 'stopGenerate' }
  /** Ask for the current run's checkpoint (for a download). */
  | { type: 'export' }
  /** Test hook: destroy the WebGPU device, as a driver reset would. */
  | { type: 'debugLoseDevice' }
  /** Views open: each evaluation also sends loss by position, the embedding map and the last asked views. */
  | { type: 'views'; open: boolean }
  /** Compute one view now (between steps while a run trains); the answer is a 'view' with the same id. */
  | { type: 'inspect'; id: number; request: InspectRequest };

/** What the page's views ask the worker for (core/inspect computes each). */
export type InspectRequest =
  | { kind: 'nextChars'; text: string; k: number }
  | { kind: 'attention'; text: string }
  /** `target`: which text on the page is scored (the eval sample, the Generate output, a pasted text). */
  | { kind: 'score'; text: string; target: ScoreTarget }
  | { kind: 'embedding' }
  | { kind: 'device' }
  /** Expected speed of a configuration on this backend (a few timed steps on `text`); refused while a run trains. */
  | { kind: 'estimate'; config: Config; text: string };

export type ScoreTarget = 'sample' | 'generate' | 'paste';

/** A computed view; `id` is the request's, or null when sent at an evaluation. */
export type ViewData =
  | { kind: 'nextChars'; data: NextChars }
  | { kind: 'attention'; data: AttentionMaps }
  | { kind: 'score'; target: ScoreTarget; data: TextScore }
  | { kind: 'lossByPosition'; data: LossByPosition }
  | { kind: 'embedding'; data: EmbeddingMap }
  | { kind: 'device'; data: DeviceReport }
  | { kind: 'estimate'; data: SpeedEstimate; config: Config };

// ---------------------------------------------------------------- worker -> page

export interface ModelInfo {
  config: Config;
  vocabSize: number;
  step: number;
  params: number;
  nonEmbeddingParams: number;
  /** Where it came from: a run id or an uploaded file name. */
  source: string;
}

export type FromWorker =
  /** `measured`: the automatic choice timed both backends on this model (core/backend-probe.ts) and says so. */
  | { type: 'backend'; name: BackendName; fallbacks: string[]; forced: boolean; measured?: string }
  | { type: 'status'; status: RunStatus; message?: string }
  /** How the training step runs (core/train.ts stepMode): recorded and replayed, or eager and why. */
  | { type: 'stepMode'; step: 'recorded' | 'eager'; reason: string | null }
  /**
   * At log steps (at most one per 100 ms), evaluations, pauses and the end: the step plus the logged points since the last batch.
   * `numTensors`: tf.memory().numTensors at the last logged step (no losses pending), for leak checks.
   */
  | {
      type: 'progress';
      step: number;
      maxIters: number;
      points: MetricPoint[];
      msPerStep: number;
      tokensPerSec: number;
      numTensors: number | null;
      numBytes?: number | null;
    }
  /**
   * Each step as the device finishes it (at most ten a second; no loss, no readback), so the page moves
   * every step between loss readbacks. msPerStep, tokensPerSec, etaSec: NaN until a second step is done.
   */
  | { type: 'step'; step: number; maxIters: number; msPerStep: number; tokensPerSec: number; etaSec: number }
  | { type: 'eval'; step: number; trainLoss: number; valLoss: number }
  /** A checkpoint of the run: at each evaluation ('eval'), every autosave interval or when the tab is hidden ('autosave'), on Stop ('stop'), at the end ('done') or for a download ('export'). */
  | {
      type: 'checkpoint';
      runId: string;
      reason: 'eval' | 'autosave' | 'stop' | 'done' | 'export';
      bytes: ArrayBuffer;
      step: number;
      maxIters: number;
      valLoss: number | null;
      trainLoss: number | null;
      config: Config;
      corpus: CorpusRef;
    }
  /** Streamed characters: `stream` 'eval' for samples at evaluations, 'generate' for the Generate panel. */
  | { type: 'tokens'; stream: 'eval' | 'generate'; id: number; text: string; reset?: boolean; done?: boolean }
  | { type: 'generated'; id: number; text: string; tokensPerSec: number; stopped: boolean }
  | { type: 'model'; info: ModelInfo }
  /** Something the user should know that is not an error (device lost and recovered, ...). */
  | { type: 'notice'; message: string }
  | { type: 'view'; id: number | null; view: ViewData }
  /** A view could not be computed (no model yet, unknown characters, ...): one line. */
  | { type: 'viewError'; id: number; kind: InspectRequest['kind']; message: string }
  /** One line for the user; `scope` says which part of the page it belongs to. */
  | { type: 'error'; scope: 'run' | 'load' | 'generate' | 'backend'; message: string };

/**
 * Control words shared with the worker when the page is cross-origin isolated:
 * a generation running on a synchronous backend (cpu, wasm) never yields to
 * the worker's message loop, so Stop is signalled through shared memory.
 */
export const CONTROL = { stopGenerate: 0 } as const;
/** The short sample streamed under the chart at each evaluation (id = the step). */
export const EVAL_SAMPLE = { chars: 100, temperature: 0.8 } as const;
export const CONTROL_WORDS = 1;

// ================================================================ scaling lab
// Messages between scaling.html (src/ui/scaling.ts) and src/worker/scaling.worker.ts.
// The sweep's own events (plan, run-start, progress, run, done) travel as they are.

import type { SweepEvent } from '../core/scaling/sweep-run';
import type { SweepSpec } from '../core/scaling/sweep';
import type { Calibration } from '../core/scaling/sweep-estimate';
import type { RunResult } from '../core/scaling/sweep-plan';

export type ToScalingWorker =
  /** Pick a backend (`forced` = the URL's ?backend=, tried alone). */
  | { type: 'init'; forced: BackendName | null }
  /** Measure tokens/s per ladder size on this device. */
  | { type: 'calibrate'; spec: SweepSpec; text: string; steps: number }
  /** Run the sweep, skipping the runs in `done` (resume). */
  | { type: 'start'; spec: SweepSpec; text: string; done: RunResult[] }
  /** Stop after the current step; the run in progress is dropped. */
  | { type: 'stop' };

export type FromScalingWorker =
  | { type: 'backend'; name: BackendName; fallbacks: string[] }
  | { type: 'calibrating'; done: number; total: number }
  | { type: 'calibration'; calibration: Calibration }
  | { type: 'sweep'; event: SweepEvent }
  /** One line for the user. */
  | { type: 'error'; message: string };

// ================================================================ benchmark
// Messages between bench.html (src/ui/bench.ts) and src/worker/bench.worker.ts.
// The page starts one worker per backend: 'init' once, then one 'run' per preset.

import type { BenchRequest, BenchRow } from '../core/bench-defs';

export type ToBenchWorker =
  /** `wasmThreads`: the wasm backend's thread count (tfjs' setThreadsCount), before it starts. */
  { type: 'init'; backend: BackendName; wasmThreads?: number } | { type: 'run'; options: BenchRequest };

export type FromBenchWorker =
  /** The backend is up; `env` describes it (user agent, wasm threads and SIMD, GPU adapter, ...). */
  | { type: 'ready'; backend: BackendName; env: Record<string, string | number | boolean> }
  | { type: 'log'; line: string }
  | { type: 'row'; row: BenchRow }
  /** One line: the backend could not start, or a run failed. */
  | { type: 'error'; message: string };

// ================================================================ text files
// Messages between the training page (src/ui/corpus-loader.ts) and src/worker/text.worker.ts,
// which reads one uploaded text file as a stream and describes it.

export interface ToTextWorker {
  file: File;
  /** Largest file accepted, in bytes (the page's ?maxTextMB=). */
  maxBytes: number;
  /** How to raise the limit, for the too-large error. */
  raiseHint: string;
}

export type FromTextWorker =
  | { type: 'progress'; bytes: number; total: number }
  /** The normalised text and what the corpus panel shows about it. */
  | {
      type: 'text';
      text: string;
      sha256: string;
      chars: number;
      vocabSize: number;
      trainChars: number;
      valChars: number;
      refs: { uniform: number; unigram: number; bigram: number };
    }
  | { type: 'error'; message: string };
