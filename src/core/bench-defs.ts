// One benchmark row, defined once for every shell that runs one: the CLI
// (src/cli/bench.ts, `tabgpt bench`), the bench page (src/ui/bench.ts,
// bench.html) and its worker (src/worker/bench.worker.ts). What a row holds
// (BenchRow), what a measurement is asked (BenchRequest) and what it spends when
// not told (BENCH_DEFAULTS), filled in by core/bench.ts through benchSettings,
// so a row means the same measurement whichever shell asked for it. Imports
// nothing from tfjs: the bench page loads it without a backend.

import type { KernelMode, MatmulChoice } from './choices';
import type { PresetName, StepMode } from './config';

/** One backend x preset measurement: one JSON line of `tabgpt bench --json`. */
export interface BenchRow {
  backend: string;
  preset: string;
  /** Trainable parameters (tied LM head counted once). */
  params: number;
  nonEmbeddingParams: number;
  vocabSize: number;
  batchSize: number;
  blockSize: number;
  /** Training FLOPs per token by formula (counts.ts: 6N + attention). */
  flopsPerToken: number;
  /** Steady-state training throughput: median over repeats, after warm-up. */
  tokensPerSec: number;
  msPerStep: number;
  /** flopsPerToken x tokensPerSec / 1e9. */
  modelGflops: number;
  /** The backend's dense 2-D matmul throughput at the model's GEMM shapes (best of c_fc, mlp c_proj, attn c_proj), this run. */
  matmulGflops: number;
  /** The shape that gave it, "MxK@KxN". */
  matmulShape: string;
  /** Model FLOP utilisation: modelGflops / matmulGflops. */
  mfu: number;
  /** The first training step: tracing, kernel compilation, weight uploads. */
  firstStepMs: number;
  /** tf.memory() after 10 and 100 training steps: equal when nothing leaks. */
  tensorsAtStep10: number;
  tensorsAtStep100: number;
  bytesAtStep10: number;
  bytesAtStep100: number;
  /** Shape of the run the tensor counts come from: "full", or "B1xT8" when a cheaper run stood in. */
  countRun: string;
  /** Generation of genTokens new characters from a blockSize-long prompt (sample.ts' generate). */
  genTokensPerSecCached: number;
  genTokensPerSecRecompute: number;
  genTokensCached: number;
  genTokensRecompute: number;
  /**
   * The same three figures from this process's CPU time instead of the wall
   * clock (Node only): robust to other processes competing for the cores.
   */
  cpuTokensPerSec?: number;
  cpuMatmulGflops?: number;
  cpuMfu?: number;
  /** Timing detail: repeats x stepsPerRepeat timed steps, all individual repeat figures. */
  repeats: number;
  stepsPerRepeat: number;
  tokensPerSecRepeats: number[];
  /** webgpu rows: which ops ran, 'generic' tfjs ops or the 'fused' kernels (core/kernels/). */
  kernels?: 'generic' | 'fused';
  /** fused webgpu rows: the matmul that ran, kernels/webgpu/matmul.ts' 'tiled' or tfjs' (kernels/mode.ts). */
  matmulKernel?: 'tiled' | 'tfjs';
  /** Micro-batches of batchSize per step (absent: 1); tokens per step = gradAccumSteps x batchSize x blockSize. */
  gradAccumSteps?: number;
  /** Set when each block's activations were recomputed in the backward pass. */
  recompute?: boolean;
  /** Peak bytes of live tensors over one training step (core/peak.ts; memory.ts predicts it). */
  peakBytes?: number;
  /** webgpu rows: bytes of GPU buffers the backend holds after that step (its pool of freed buffers included). */
  gpuAllocatedBytes?: number;
  /** webgpu rows: the adapter, "null" for Dawn's null backend, else the adapter's description. */
  adapter?: string;
  /** Set on rows from Dawn's null adapter, which runs no kernels: what the figures are (a ceiling) and are not. */
  ceiling?: string;
  /** webgpu rows: how the step ran (the trainer's stepMode): 'recorded' (replayed) or 'eager' (tfjs ops each step). */
  step?: StepMode;
  /** webgpu rows (core/bench-step.ts' measureGpuSteps): compute dispatches one step issues, counted at the WebGPU API. */
  dispatchesPerStep?: number;
  /** GPUDevice.createBindGroup calls per step (tfjs makes one per dispatch; a replayed step none). */
  bindGroupsPerStep?: number;
  /** Kernels run through tfjs' engine per step (customGrad wrappers not counted): the per-op JavaScript a step pays. */
  tfjsKernelsPerStep?: number;
  /** JavaScript ms to issue one step, submission held to its end: the launch-overhead floor. */
  encodeMsPerStep?: number;
  /** The same in this process's CPU time (Node only; the device idles meanwhile): robust to other processes. */
  encodeCpuMsPerStep?: number;
  /** Tensor data uploaded CPU->GPU per step (target: the batch's token ids only), bytes and count. */
  uploadBytesPerStep?: number;
  uploadsPerStep?: number;
  /** Small uniform-buffer writes per step (tfjs writes one per dispatch: shapes and constants). */
  uniformWritesPerStep?: number;
  /** GPU->CPU reads inside a step (target 0; the loss is read every logInterval steps, outside). */
  readbacksPerStep?: number;
  /** Kernels' GPU time per step from timestamp queries; null where the adapter has none. */
  gpuMsPerStep?: number | null;
  /** Per-kernel time over profiled steps (with --profile), heaviest first. */
  profile?: ProfileEntry[];
  /** Where it ran: runtime, threads, SIMD, user agent ... (set by the shell). */
  env?: Record<string, string | number | boolean>;
  /** ISO date of the run. */
  date: string;
}

export interface ProfileEntry {
  kernel: string;
  /** Milliseconds per training step. */
  msPerStep: number;
  /** Kernel launches per training step. */
  callsPerStep: number;
}

/**
 * What one row's measurement is asked: the preset, the kernels, and what it may
 * spend. A shell sets only what its user set; benchSettings fills in the rest.
 */
export interface BenchRequest {
  preset: PresetName;
  /** Sequences per step (default: the training default, 16; cpu: defaultBenchBatchSize). */
  batchSize?: number;
  /** Timed repeats (median taken). */
  repeats?: number;
  /** Wall time to spend on the timed repeats, in ms (sets the steps per repeat). */
  trainBudgetMs?: number;
  /** Untimed steps after the first, before timing (benchWarmupSteps). */
  warmupSteps?: number;
  /** New characters per generation measurement. */
  genTokens?: number;
  /** Longest a generation measurement may take (fewer tokens on slow backends), ms. */
  genBudgetMs?: number;
  /**
   * Most ms to spend on ~100 full-size steps for the tensor counts (judged
   * from the warm-up steps); beyond it a batch-1, block-8 run of the same
   * model code stands in.
   */
  countBudgetMs?: number;
  /** generic tfjs ops or fused kernels (webgpu only; the mode in force when absent). */
  kernels?: KernelMode;
  /** Fused rows: which matmul (kernels/mode.ts: auto, tiled, tfjs); the choice in force when absent. */
  matmul?: MatmulChoice;
  /** webgpu: how the trainer issues a step (config step); recorded when absent. */
  step?: StepMode;
  /** Micro-batches of batchSize per step (config gradAccumSteps); default 1. */
  gradAccumSteps?: number;
  /** Recompute each block's activations in the backward pass (config recompute); default off. */
  recompute?: boolean;
  /** webgpu in Node: 'null' for Dawn's null adapter (no GPU work: the CPU-cost ceiling); the real adapter when absent. */
  adapter?: string;
  /**
   * Training figures only: no generation, no 100-step tensor-count run (the
   * counts are taken at step 10, if reached, and at the end). For software
   * GPUs, where those take minutes.
   */
  trainingOnly?: boolean;
  /** Profile this many training steps per kernel (tf.profile); 0 = off. */
  profileSteps?: number;
}

/**
 * What a measurement spends when not told, and what a run without flags
 * measures. Sized for a shared 2-core machine: `npm run bench` (Node wasm and
 * cpu x the four presets) takes about two minutes.
 */
export const BENCH_DEFAULTS = {
  /** Presets measured when none is named. */
  presets: ['nano', 'micro', 'baby', 'mini'] as readonly PresetName[],
  /** webgpu rows: one per kernel mode listed. */
  kernels: ['fused'] as readonly KernelMode[],
  /** Fused webgpu rows: one per matmul listed. */
  matmul: ['auto'] as readonly MatmulChoice[],
  repeats: 3,
  trainBudgetMs: 3000,
  warmupSteps: 2,
  genTokens: 256,
  genBudgetMs: 5000,
  countBudgetMs: 10000,
  /** Training steps profiled when a profile is asked for (--profile, the page's checkbox). */
  profiledSteps: 3,
} as const;

/**
 * Default batch size on a backend: the training default (16, left to the
 * config) everywhere except cpu, whose plain-JS matmul (~0.5 GFLOP/s) would
 * make one `mini` step take a minute; 4 keeps it near 15 s.
 */
export function defaultBenchBatchSize(backend: string): number | undefined {
  return backend === 'cpu' ? 4 : undefined;
}

/**
 * The rows one backend x preset gets, in order: one per kernel mode on
 * webgpu, the fused mode once per matmul choice (kernels/mode.ts); a single
 * plain row elsewhere. Shared by the CLI and the bench page.
 */
export function benchVariants<K extends string, M extends string, S extends string = never>(
  backend: string,
  kernels: readonly K[],
  matmuls: readonly M[],
  steps: readonly S[] = [],
): { kernels?: K; matmul?: M; step?: S }[] {
  if (backend !== 'webgpu') return [{}];
  const byKernels = kernels.flatMap((k): { kernels: K; matmul?: M }[] =>
    k === 'fused' ? matmuls.map((matmul) => ({ kernels: k, matmul })) : [{ kernels: k }],
  );
  return steps.length === 0 ? byKernels : byKernels.flatMap((v) => steps.map((step) => ({ ...v, step })));
}

/** One untimed warm-up step on cpu, whose steps take seconds; BENCH_DEFAULTS' elsewhere. */
export function benchWarmupSteps(backend: string): number {
  return backend === 'cpu' ? 1 : BENCH_DEFAULTS.warmupSteps;
}

/** A request with its spends filled in (a new optional field passes through as it is). */
export type BenchSettings = BenchRequest &
  Required<Pick<BenchRequest, 'repeats' | 'trainBudgetMs' | 'warmupSteps' | 'genTokens' | 'genBudgetMs' | 'countBudgetMs' | 'trainingOnly' | 'profileSteps'>>;

/** The request with every default filled in for `backend`: what core/bench.ts runs, whichever shell asked. */
export function benchSettings(backend: string, r: BenchRequest): BenchSettings {
  const d = BENCH_DEFAULTS;
  return {
    ...r,
    batchSize: r.batchSize ?? defaultBenchBatchSize(backend),
    repeats: r.repeats ?? d.repeats,
    trainBudgetMs: r.trainBudgetMs ?? d.trainBudgetMs,
    warmupSteps: r.warmupSteps ?? benchWarmupSteps(backend),
    genTokens: r.genTokens ?? d.genTokens,
    genBudgetMs: r.genBudgetMs ?? d.genBudgetMs,
    countBudgetMs: r.countBudgetMs ?? d.countBudgetMs,
    trainingOnly: r.trainingOnly ?? false,
    profileSteps: r.profileSteps ?? 0,
  };
}

/** What a row measured on Dawn's null adapter is. */
export const NULL_ADAPTER_CEILING =
  "a ceiling, not a GPU's speed: Dawn's null adapter runs no kernels, so tokens/s is the most any GPU could give on this CPU (the JavaScript cost of a step) and losses are not results";
