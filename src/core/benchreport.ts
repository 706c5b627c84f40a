// The benchmark's result row and the arithmetic and text around it. Pure (no
// tfjs), so the CLI, the bench page and the tests share it without loading a
// backend. bench.ts produces the rows; this file defines what they mean.

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
  /** Micro-batches of batchSize per step (absent: 1); tokens per step = gradAccumSteps x batchSize x blockSize. */
  gradAccumSteps?: number;
  /** Set when each block's activations were recomputed in the backward pass. */
  recompute?: boolean;
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
  /** webgpu rows (core/bench.ts' measureGpuSteps): compute dispatches one step issues, counted at the WebGPU API. */
  dispatchesPerStep?: number;
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
  /** Peak bytes of live tensors over one training step (core/peak.ts; memory.ts predicts it). */
  peakBytes?: number;
  /** webgpu rows: bytes of GPU buffers the backend holds after that step (its pool of freed buffers included). */
  gpuAllocatedBytes?: number;
  /** webgpu rows: the adapter, "null" for Dawn's null backend, else the adapter's description. */
  adapter?: string;
  /** Set on rows from Dawn's null adapter, which runs no kernels: what the figures are (a ceiling) and are not. */
  ceiling?: string;
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

/** What a row measured on Dawn's null adapter is. */
export const NULL_ADAPTER_CEILING = "a ceiling, not a GPU's speed: Dawn's null adapter runs no kernels, so tokens/s is the most any GPU could give on this CPU (the JavaScript cost of a step) and losses are not results";

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
export function benchVariants<K extends string, M extends string>(backend: string, kernels: readonly K[], matmuls: readonly M[]): { kernels?: K; matmul?: M }[] {
  if (backend !== 'webgpu') return [{}];
  return kernels.flatMap((k): { kernels: K; matmul?: M }[] => (k === 'fused' ? matmuls.map((matmul) => ({ kernels: k, matmul })) : [{ kernels: k }]));
}

/** Median of a non-empty list (mean of the middle two for even lengths). */
export function median(xs: number[]): number {
  if (xs.length === 0) throw new Error('median of an empty list');
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** GFLOP/s of a dense matmul [M, K] @ [K, N] (2MKN FLOPs) that took `ms`. */
export function matmulGflopsOf(M: number, K: number, N: number, ms: number): number {
  return (2 * M * K * N) / (ms * 1e6);
}

/** Model GFLOP/s from the formula's FLOPs per token and the measured throughput. */
export function modelGflopsOf(flopsPerToken: number, tokensPerSec: number): number {
  return (flopsPerToken * tokensPerSec) / 1e9;
}

/** MFU: the fraction of the backend's own matmul throughput the training step achieves. */
export function mfuOf(modelGflops: number, matmulGflops: number): number {
  return matmulGflops > 0 ? modelGflops / matmulGflops : 0;
}

/**
 * Timed steps per repeat so that repeats x steps fill about `budgetMs`, given
 * an estimate of one step: at least 1, at most `max`.
 */
export function stepsPerRepeat(estimateMsPerStep: number, repeats: number, budgetMs: number, max = 20): number {
  if (!(estimateMsPerStep > 0)) return 1;
  return Math.max(1, Math.min(max, Math.floor(budgetMs / (repeats * estimateMsPerStep))));
}

const num = (x: number, digits = 0) => (Number.isFinite(x) ? x.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits }) : '-');

/** 'generic', or 'fused' with its matmul where the row says which: 'fused+tiled'. */
const kernelsLabel = (r: BenchRow) => `${r.kernels}${r.matmulKernel ? `+${r.matmulKernel}` : ''}`;

const COLUMNS: [string, (r: BenchRow) => string][] = [
  ['backend', (r) => r.backend + (r.kernels ? ` ${kernelsLabel(r)}` : '') + (r.ceiling ? ' (null: ceiling)' : '')],
  ['preset', (r) => r.preset],
  ['params', (r) => num(r.params)],
  ['B', (r) => String(r.batchSize) + (r.gradAccumSteps ? `x${r.gradAccumSteps}` : '') + (r.recompute ? ' rc' : '')],
  ['T', (r) => String(r.blockSize)],
  ['tok/s', (r) => num(r.tokensPerSec)],
  ['ms/step', (r) => num(r.msPerStep, 1)],
  ['model GF/s', (r) => num(r.modelGflops, 2)],
  ['matmul GF/s', (r) => num(r.matmulGflops, 2)],
  ['MFU', (r) => num(r.mfu, 2)],
  ['MFU cpu', (r) => (r.cpuMfu !== undefined ? num(r.cpuMfu, 2) : '-')],
  ['1st step ms', (r) => num(r.firstStepMs)],
  ['tensors@10', (r) => String(r.tensorsAtStep10)],
  ['tensors@100', (r) => String(r.tensorsAtStep100) + (r.countRun === 'full' ? '' : '*')],
  ['peak MiB', (r) => (r.peakBytes !== undefined ? num(r.peakBytes / 2 ** 20, 1) : '-')],
  ['gen tok/s kv', (r) => num(r.genTokensPerSecCached, 1)],
  ['gen tok/s full', (r) => num(r.genTokensPerSecRecompute, 1)],
  ['kv x', (r) => (r.genTokensPerSecRecompute > 0 ? num(r.genTokensPerSecCached / r.genTokensPerSecRecompute, 1) : '-')],
];

/** Rows as an aligned text table (numbers right-aligned), with a footnote for stand-in count runs. */
export function formatTable(rows: BenchRow[]): string {
  const cells = [COLUMNS.map(([h]) => h), ...rows.map((r) => COLUMNS.map(([, f]) => f(r)))];
  const widths = COLUMNS.map((_, i) => Math.max(...cells.map((c) => c[i].length)));
  const line = (c: string[]) => c.map((s, i) => (i < 2 ? s.padEnd(widths[i]) : s.padStart(widths[i]))).join('  ');
  const out = [line(cells[0]), widths.map((w) => '-'.repeat(w)).join('  '), ...cells.slice(1).map(line)];
  const standIns = rows.filter((r) => r.countRun !== 'full');
  if (standIns.some((r) => r.countRun === 'skipped')) out.push('* --training-only: tensor counts at step 10 (if reached) and at the end of the timed run, not at step 100');
  if (rows.some((r) => r.ceiling)) out.push(`(null: ceiling) ${NULL_ADAPTER_CEILING}`);
  const standIn = standIns.find((r) => r.countRun !== 'skipped');
  if (standIn) out.push(`* tensor counts from a ${standIn.countRun} run of the same model code (a full-size 100-step run would take too long)`);
  return out.join('\n');
}

const GPU_COLUMNS: [string, (r: BenchRow) => string][] = [
  ['backend', (r) => r.backend],
  ['preset', (r) => r.preset],
  ['kernels', (r) => (r.kernels ? kernelsLabel(r) : '-')],
  ['tok/s', (r) => num(r.tokensPerSec)],
  ['dispatches/step', (r) => num(r.dispatchesPerStep ?? NaN)],
  ['encode ms/step', (r) => num(r.encodeMsPerStep ?? NaN, 1)],
  ['encode cpu ms', (r) => num(r.encodeCpuMsPerStep ?? NaN, 1)],
  ['upload B/step', (r) => num(r.uploadBytesPerStep ?? NaN)],
  ['uploads/step', (r) => num(r.uploadsPerStep ?? NaN)],
  ['uniform writes/step', (r) => num(r.uniformWritesPerStep ?? NaN)],
  ['readbacks/step', (r) => num(r.readbacksPerStep ?? NaN)],
  ['gpu ms/step', (r) => (r.gpuMsPerStep == null ? '-' : num(r.gpuMsPerStep, 1))],
];

/** fused / generic for each backend x preset measured both ways: tokens/s, dispatches and encode time as ratios. */
export function kernelRatios(rows: BenchRow[]): { backend: string; preset: string; label: string; tokensPerSec: number; dispatches: number; encodeMs: number; encodeCpuMs: number }[] {
  const out = [];
  for (const f of rows.filter((r) => r.kernels === 'fused')) {
    const g = rows.find((r) => r.kernels === 'generic' && r.backend === f.backend && r.preset === f.preset && r.batchSize === f.batchSize);
    if (!g) continue;
    out.push({
      backend: f.backend,
      preset: f.preset,
      label: kernelsLabel(f),
      tokensPerSec: f.tokensPerSec / g.tokensPerSec,
      dispatches: (f.dispatchesPerStep ?? NaN) / (g.dispatchesPerStep ?? NaN),
      encodeMs: (f.encodeMsPerStep ?? NaN) / (g.encodeMsPerStep ?? NaN),
      encodeCpuMs: (f.encodeCpuMsPerStep ?? NaN) / (g.encodeCpuMsPerStep ?? NaN),
    });
  }
  return out;
}

/** The per-step GPU work of the webgpu rows, and fused/generic ratios where both ran; '' without webgpu rows. */
export function formatGpuTable(rows: BenchRow[]): string {
  const gpuRows = rows.filter((r) => r.dispatchesPerStep !== undefined);
  if (gpuRows.length === 0) return '';
  const cells = [GPU_COLUMNS.map(([h]) => h), ...gpuRows.map((r) => GPU_COLUMNS.map(([, f]) => f(r)))];
  const widths = GPU_COLUMNS.map((_, i) => Math.max(...cells.map((c) => c[i].length)));
  const line = (c: string[]) => c.map((s, i) => (i < 3 ? s.padEnd(widths[i]) : s.padStart(widths[i]))).join('  ');
  const out = ['GPU work per training step (webgpu):', line(cells[0]), widths.map((w) => '-'.repeat(w)).join('  '), ...cells.slice(1).map(line)];
  for (const r of kernelRatios(rows)) {
    out.push(`${r.label} / generic, ${r.backend} ${r.preset}: tokens/s x${num(r.tokensPerSec, 2)}, dispatches x${num(r.dispatches, 3)}, encode ms x${num(r.encodeMs, 3)} (cpu x${num(r.encodeCpuMs, 3)})`);
  }
  return out.join('\n');
}

/** A per-kernel profile as text lines (heaviest first). */
export function formatProfile(row: BenchRow, top = 20): string {
  if (!row.profile) return '';
  const total = row.profile.reduce((a, p) => a + p.msPerStep, 0);
  const lines = [`profile ${row.backend} ${row.preset}: ${num(total, 1)} ms of kernels per step (${num(row.msPerStep, 1)} ms wall)`];
  for (const p of row.profile.slice(0, top)) lines.push(`  ${p.kernel.padEnd(24)} ${num(p.msPerStep, 2).padStart(9)} ms  ${num(p.callsPerStep, 0).padStart(5)} calls  ${num((100 * p.msPerStep) / Math.max(total, 1e-9), 1).padStart(5)}%`);
  return lines.join('\n');
}
