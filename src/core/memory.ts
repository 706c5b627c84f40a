// The memory model: the peak bytes of one training step, predicted from the
// config, and what to change so a run fits a memory budget. Pure arithmetic
// (no tfjs), beside counts.ts, so the page's "This machine" panel, the CLI's
// `tabgpt plan` and the out-of-memory message all call the same function.
//
// Shape legend: B batch (sequences per micro-batch), T blockSize, C nEmbd,
// L nLayer, nH heads, V vocabulary, N = B*T rows, P parameters.
//
// What a step holds at its peak (measured by core/peak.ts: live tensor data,
// each buffer once; the peak falls in the backward pass):
//  - weights P, AdamW's two moments 2P, the gradients P and, with the generic
//    ops, parameter-sized temporaries (c_attn's q/k/v column blocks and their
//    gradients); with gradient accumulation one more set, the running sum;
//  - activations, per row of the micro-batch: tfjs' tape keeps every op's
//    output the backward pass needs, and the backward pass keeps the gradient
//    of every one of them until it ends (tfjs frees them all at once), so per
//    layer a fixed number of [N, C]-sized values (the MLP's [N, 4C] ones
//    weigh four) plus, with the generic attention, its [B, nH, T, T] scores,
//    probabilities and their gradients (nH*T per row); plus the embeddings'
//    one-hots and the logits with their gradients (V per row).
//  - with recomputation, only each block's input [N, C] and its gradient per
//    layer (2 C per row), plus one block's activations while it is recomputed.
// The coefficients below count those values, in float32 per row (or per
// parameter), as the step's tape holds them on each path; they were read off
// measured peaks of 13 small shapes per case, and tests/memory.test.ts checks
// the prediction against the measured peak of every preset within 15%.

import type { Config } from './config';
import { paramCount } from './counts';

/** Which ops a step runs: tfjs' generic ones (wasm, cpu, webgl, webgpu in generic mode) or the fused WebGPU kernels. */
export type KernelPath = 'generic' | 'fused';

/** Longest context the fused attention kernel takes (kernels/webgpu/attention.ts' ATTENTION_MAX_T, restated: that module loads tfjs). */
export const FUSED_ATTENTION_MAX_T = 1024;

/** Float32 values a step holds at its peak, per parameter and per row of the micro-batch. */
interface Coefficients {
  /** Per parameter: weights 1 + AdamW 2 + gradients 1 + parameter-sized temporaries. */
  params: number;
  /** Per layer and row: [N, C]-shaped values (x C) and attention's [B, nH, T, T] ones (x nH*T). */
  layerC: number;
  layerHeadT: number;
  /** Per row, once: outside the blocks (x C) or, with recomputation, the one block being recomputed (x C, x nH*T). */
  stepC: number;
  stepHeadT: number;
  /** Per row: the embeddings' one-hots and the logits with their gradients (x V), position one-hots (x T). */
  V: number;
  T: number;
}

type Case = `${KernelPath}${'' | '+recompute'}${'' | '+dropout'}`;

/** Measured on wasm (generic) and Dawn's null WebGPU adapter (fused); see the header. */
const COEFFICIENTS: Record<Case, Coefficients> = {
  generic: { params: 6.7, layerC: 98, layerHeadT: 6, stepC: 10, stepHeadT: 0, V: 6.5, T: 2.5 },
  'generic+recompute': { params: 4.7, layerC: 2, layerHeadT: 0, stepC: 114, stepHeadT: 6.4, V: 5.5, T: 0.5 },
  // dropout keeps its masks and, on webgpu, takes the generic attention (the fused kernel has no dropout)
  'generic+dropout': { params: 6.7, layerC: 108, layerHeadT: 11, stepC: 15, stepHeadT: 0, V: 6.8, T: 2.2 },
  'generic+recompute+dropout': { params: 4.7, layerC: 2, layerHeadT: 0, stepC: 129, stepHeadT: 11.4, V: 5.3, T: 0.2 },
  fused: { params: 4.1, layerC: 35.6, layerHeadT: 0, stepC: 3.8, stepHeadT: 0, V: 3, T: 0.1 },
  'fused+recompute': { params: 4, layerC: 2, layerHeadT: 0, stepC: 38.7, stepHeadT: 0, V: 2.1, T: 0.3 },
  'fused+dropout': { params: 5.2, layerC: 54.7, layerHeadT: 10.1, stepC: 7.7, stepHeadT: 0, V: 2.9, T: 0.4 },
  'fused+recompute+dropout': { params: 4.35, layerC: 2, layerHeadT: 0, stepC: 62.7, stepHeadT: 10.5, V: 1.7, T: 0 },
};

const F32 = 4;

/** The config fields the memory model reads. */
export type MemoryConfig = Pick<
  Config,
  'nLayer' | 'nHead' | 'nEmbd' | 'blockSize' | 'vocabSize' | 'bias' | 'dropout' | 'batchSize' | 'gradAccumSteps' | 'recompute'
>;

export interface MemoryEstimate {
  /** Predicted peak bytes of live tensor data in one training step. */
  peakBytes: number;
  /** Weights (4P). */
  weightsBytes: number;
  /** AdamW's two moments (8P). */
  optimizerBytes: number;
  /** Gradients, the accumulation sum and parameter-sized temporaries. */
  gradientBytes: number;
  /** Activations and their gradients for one micro-batch. */
  activationBytes: number;
  /** The largest single tensor (a WebGPU buffer must fit maxStorageBufferBindingSize and maxBufferSize). */
  largestTensorBytes: number;
  /** gradAccumSteps * batchSize * blockSize. */
  tokensPerStep: number;
}

/** The kernels a backend's step runs: fused only on webgpu with the fused kernels on. */
export function kernelPathOf(backend: string, fusedMode = true): KernelPath {
  return backend === 'webgpu' && fusedMode ? 'fused' : 'generic';
}

/** Predicted peak memory of one training step of `cfg` on `path`'s kernels. */
export function predictMemory(cfg: MemoryConfig, path: KernelPath): MemoryEstimate {
  const { nLayer: L, nHead: nH, nEmbd: C, blockSize: T, vocabSize: V, batchSize: B } = cfg;
  const accum = cfg.gradAccumSteps ?? 1;
  const recompute = cfg.recompute === true;
  const dropout = cfg.dropout > 0;
  // the fused attention takes no dropout and at most FUSED_ATTENTION_MAX_T positions: beyond, the generic attention runs
  const genericAttention = path === 'generic' || dropout || T > FUSED_ATTENTION_MAX_T;
  const key = `${path}${recompute ? '+recompute' : ''}${dropout || (path === 'fused' && genericAttention) ? '+dropout' : ''}` as Case;
  const k = COEFFICIENTS[key];
  const P = paramCount(cfg).total;
  const N = B * T;
  const perRow = L * (k.layerC * C + k.layerHeadT * nH * T) + k.stepC * C + k.stepHeadT * nH * T + k.V * V + k.T * T;
  const weightsBytes = F32 * P;
  const optimizerBytes = F32 * 2 * P;
  const gradientBytes = F32 * (k.params - 3 + (accum > 1 ? 1 : 0)) * P;
  const activationBytes = F32 * N * perRow;
  const largest = Math.max(N * 4 * C, N * V, V * C, 4 * C * C, genericAttention ? B * nH * T * T : 0);
  return {
    peakBytes: Math.round(weightsBytes + optimizerBytes + gradientBytes + activationBytes),
    weightsBytes,
    optimizerBytes,
    gradientBytes: Math.round(gradientBytes),
    activationBytes: Math.round(activationBytes),
    largestTensorBytes: F32 * largest,
    tokensPerStep: accum * N,
  };
}

/** What a device allows: its memory and, for WebGPU, its per-buffer limits. */
export interface MemoryLimits {
  /** Bytes the step may hold. */
  memoryBytes: number;
  /** WebGPU's maxStorageBufferBindingSize (the largest buffer a kernel may bind); absent elsewhere. */
  maxBindingBytes?: number;
}

/**
 * Share of the memory budget the predicted peak may use: the rest is left to
 * what the tensors do not count (WebGPU's buffer pool rounding and reuse,
 * uniform and staging buffers; wasm's heap fragmentation).
 */
export const HEADROOM = 0.9;

export interface FitSettings {
  batchSize: number;
  gradAccumSteps: number;
  recompute: boolean;
}

export interface FitPlan {
  /** Whether the config as given fits. */
  fits: boolean;
  peakBytes: number;
  /** Settings that fit with the same sequences per step (the config's own when it fits); null when none does. */
  settings: FitSettings | null;
  /** Those settings as CLI flags ("--batch-size 16 --grad-accum 4 --recompute"); "" when it fits as it is; null when nothing fits. */
  recommend: string | null;
  /** The predicted peak with the recommended settings. */
  recommendedPeakBytes: number | null;
  /** Why it does not fit, in words ("predicted peak 1.2 GB > 460 MB usable of 512 MB"); null when it fits. */
  problem: string | null;
}

function fitsIn(est: MemoryEstimate, limits: MemoryLimits): boolean {
  return est.peakBytes <= HEADROOM * limits.memoryBytes && (limits.maxBindingBytes === undefined || est.largestTensorBytes <= limits.maxBindingBytes);
}

/**
 * Relative time of a step with these settings, for choosing among those that
 * fit: recomputation runs each block's forward twice (about 4/3 of the FLOPs);
 * a micro-batch under 8 sequences leaves a GPU's kernels too small to fill it,
 * which we count as proportionally slower.
 */
function relativeCost(s: FitSettings): number {
  return (s.recompute ? 4 / 3 : 1) * Math.max(1, 8 / s.batchSize);
}

/** Flags of fit settings, as the CLI takes them. */
export function settingsFlags(s: FitSettings): string {
  return `--batch-size ${s.batchSize} --grad-accum ${s.gradAccumSteps}${s.recompute ? ' --recompute' : ''}`;
}

/**
 * Whether `cfg` fits `limits` on `path`, and if not, the settings that do with
 * the same sequences per step (gradAccumSteps x batchSize): every split of it
 * into micro-batches, with and without recomputation; the cheapest that fits.
 */
export function planToFit(cfg: MemoryConfig, path: KernelPath, limits: MemoryLimits): FitPlan {
  const est = predictMemory(cfg, path);
  const gb = (b: number) => formatBytes(b);
  if (fitsIn(est, limits)) {
    return {
      fits: true,
      peakBytes: est.peakBytes,
      settings: { batchSize: cfg.batchSize, gradAccumSteps: cfg.gradAccumSteps ?? 1, recompute: cfg.recompute === true },
      recommend: '',
      recommendedPeakBytes: est.peakBytes,
      problem: null,
    };
  }
  const sequences = (cfg.gradAccumSteps ?? 1) * cfg.batchSize;
  let best: { s: FitSettings; peak: number } | null = null;
  for (const recompute of [false, true]) {
    for (let accum = 1; accum <= sequences; accum++) {
      if (sequences % accum !== 0) continue;
      const s: FitSettings = { batchSize: sequences / accum, gradAccumSteps: accum, recompute };
      const e = predictMemory({ ...cfg, ...s }, path);
      if (!fitsIn(e, limits)) continue;
      if (!best || relativeCost(s) < relativeCost(best.s)) best = { s, peak: e.peakBytes };
      break; // larger accum only shrinks the micro-batch further
    }
  }
  const over =
    est.largestTensorBytes > (limits.maxBindingBytes ?? Infinity)
      ? `its largest tensor (${gb(est.largestTensorBytes)}) exceeds the largest buffer a kernel may bind (${gb(limits.maxBindingBytes!)})`
      : `its predicted peak ${gb(est.peakBytes)} exceeds ${gb(HEADROOM * limits.memoryBytes)} (${Math.round(HEADROOM * 100)}% of ${gb(limits.memoryBytes)})`;
  return {
    fits: false,
    peakBytes: est.peakBytes,
    settings: best?.s ?? null,
    recommend: best ? settingsFlags(best.s) : null,
    recommendedPeakBytes: best?.peak ?? null,
    problem: over,
  };
}

/** Bytes in words: "512 MB", "1.21 GB" (decimal units, as memory sizes are sold and --memory is given). */
export function formatBytes(bytes: number): string {
  if (bytes >= 1e9) return `${(bytes / 1e9).toFixed(2)} GB`;
  if (bytes >= 1e6) return `${(bytes / 1e6).toFixed(bytes >= 1e8 ? 0 : 1)} MB`;
  if (bytes >= 1e3) return `${(bytes / 1e3).toFixed(0)} kB`;
  return `${bytes} B`;
}

/** "512MB", "2GB", "1.5 GiB", "800000000" -> bytes; null when unreadable. */
export function parseBytes(text: string): number | null {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([kmgt]?i?b?)?\s*$/i.exec(text);
  if (!m) return null;
  const unit = (m[2] ?? '').toLowerCase().replace(/b$/, '');
  const scale: Record<string, number> = { '': 1, k: 1e3, m: 1e6, g: 1e9, t: 1e12, ki: 2 ** 10, mi: 2 ** 20, gi: 2 ** 30, ti: 2 ** 40 };
  if (!(unit in scale)) return null;
  return Math.round(Number(m[1]) * scale[unit]);
}

/** The wasm backend's heap: wasm32 addresses 4 GiB, of which tfjs' build may grow to all. */
export const WASM_HEAP_BYTES = 4 * 2 ** 30;

/** WebGPU's default maxStorageBufferBindingSize (128 MiB): what a page gets unless it asks its adapter for more. */
export const WEBGPU_DEFAULT_MAX_BINDING_BYTES = 128 * 2 ** 20;

/** Dawn's null adapter's device memory (and a modest laptop GPU's share): 512 MiB. */
export const NULL_ADAPTER_BYTES = 512 * 2 ** 20;

/** A step that ran out of memory: the message says what, the predicted peak and the fix. */
export class OutOfMemoryError extends Error {
  override name = 'OutOfMemoryError';
}

/**
 * The one line for a run that ran out of memory: what was being allocated,
 * the predicted peak of its step, and the settings that fit (planToFit within
 * `memoryBytes`, what the device had given when it failed, when known).
 */
export function outOfMemoryMessage(cfg: MemoryConfig, path: KernelPath, what: string, memoryBytes: number | null): string {
  const est = predictMemory(cfg, path);
  // Where the device's memory is unknown (WebGPU does not tell), settings that halve the step's peak.
  const plan = planToFit(cfg, path, { memoryBytes: memoryBytes ?? est.peakBytes / 2 / HEADROOM });
  const fix = plan.recommend
    ? `use ${plan.recommend} (the same ${(cfg.gradAccumSteps ?? 1) * cfg.batchSize} sequences per step, predicted ${formatBytes(plan.recommendedPeakBytes!)}${memoryBytes === null ? ', half' : ''})`
    : 'use a smaller model or --block-size (even one sequence per micro-batch with --recompute does not fit)';
  const device = memoryBytes !== null ? ` on a device of ${formatBytes(memoryBytes)}` : '';
  return `out of memory allocating ${what}${device}: this step's predicted peak is ${formatBytes(est.peakBytes)} (weights ${formatBytes(est.weightsBytes)}, AdamW ${formatBytes(est.optimizerBytes)}, gradients ${formatBytes(est.gradientBytes)}, activations ${formatBytes(est.activationBytes)}); ${fix}; the last checkpoint is untouched`;
}

/** What the page says about a config's memory on a backend: a line, and a warning before Start when it will not fit. */
export interface MemoryAdvice {
  line: string;
  warning: string | null;
}

/**
 * The page's memory line and warning (the "This machine" panel and the
 * training form): the predicted peak on `backend`, checked against wasm's
 * heap, or on WebGPU against the adapter's buffer limits (given, else
 * WebGPU's defaults) and a modest 512 MiB GPU, whose memory WebGPU does not
 * report; the warning names the settings that fit.
 */
export function memoryAdvice(cfg: MemoryConfig, backend: string, limits: { maxBufferSize?: number; maxStorageBufferBindingSize?: number } = {}): MemoryAdvice {
  const path = kernelPathOf(backend);
  const est = predictMemory(cfg, path);
  const line = `predicted peak memory of a step on ${backend}: ${formatBytes(est.peakBytes)} (weights ${formatBytes(est.weightsBytes)}, AdamW ${formatBytes(est.optimizerBytes)}, gradients ${formatBytes(est.gradientBytes)}, activations ${formatBytes(est.activationBytes)})`;
  const fix = (plan: FitPlan) =>
    plan.settings
      ? `set batchSize ${plan.settings.batchSize}, gradAccumSteps ${plan.settings.gradAccumSteps}${plan.settings.recompute ? ', recompute on' : ''} (the same sequences per step, ${formatBytes(plan.recommendedPeakBytes!)})`
      : 'use a smaller preset or blockSize';
  if (backend !== 'webgpu') {
    const plan = planToFit(cfg, path, { memoryBytes: WASM_HEAP_BYTES });
    return { line, warning: plan.fits ? null : `This run will not fit ${backend}'s 4 GB memory (${plan.problem}): ${fix(plan)}.` };
  }
  const binding = Math.min(limits.maxStorageBufferBindingSize ?? WEBGPU_DEFAULT_MAX_BINDING_BYTES, limits.maxBufferSize ?? Infinity);
  const bound = planToFit(cfg, path, { memoryBytes: Infinity, maxBindingBytes: binding });
  if (!bound.fits) return { line, warning: `This run will not fit this GPU: ${bound.problem}: ${fix(bound)}.` };
  const modest = planToFit(cfg, path, { memoryBytes: NULL_ADAPTER_BYTES, maxBindingBytes: binding });
  return {
    line,
    warning: modest.fits
      ? null
      : `WebGPU does not say how much memory this GPU has; this run needs ${formatBytes(est.peakBytes)}, more than a 512 MB laptop GPU holds: there, ${fix(modest)}.`,
  };
}
