// The arithmetic and text around the benchmark's rows (bench-defs.ts says
// what a row is). Pure (no tfjs), so the CLI, the bench page and the tests
// share it without loading a backend; bench.ts produces the rows.

import type { BenchRow } from './bench-defs';
import type { StepMode } from './config';
import { NULL_ADAPTER_CEILING } from './bench-defs';

export { NULL_ADAPTER_CEILING };

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
  ['backend', (r) => r.backend + (r.kernels ? ` ${kernelsLabel(r)}` : '') + (r.step ? ` ${r.step}` : '') + (r.ceiling ? ' (null: ceiling)' : '')],
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
  if (standIns.some((r) => r.countRun === 'skipped'))
    out.push('* --training-only: tensor counts at step 10 (if reached) and at the end of the timed run, not at step 100');
  if (rows.some((r) => r.ceiling)) out.push(`(null: ceiling) ${NULL_ADAPTER_CEILING}`);
  const standIn = standIns.find((r) => r.countRun !== 'skipped');
  if (standIn) out.push(`* tensor counts from a ${standIn.countRun} run of the same model code (a full-size 100-step run would take too long)`);
  return out.join('\n');
}

const GPU_COLUMNS: [string, (r: BenchRow) => string][] = [
  ['backend', (r) => r.backend],
  ['preset', (r) => r.preset],
  ['kernels', (r) => (r.kernels ? kernelsLabel(r) : '-')],
  ['step', (r) => r.step ?? '-'],
  ['tok/s', (r) => num(r.tokensPerSec)],
  ['ms/step', (r) => num(r.msPerStep, 1)],
  ['dispatches/step', (r) => num(r.dispatchesPerStep ?? NaN)],
  ['bind groups/step', (r) => num(r.bindGroupsPerStep ?? NaN)],
  ['tfjs kernels/step', (r) => num(r.tfjsKernelsPerStep ?? NaN)],
  ['encode ms/step', (r) => num(r.encodeMsPerStep ?? NaN, 1)],
  ['encode cpu ms', (r) => num(r.encodeCpuMsPerStep ?? NaN, 1)],
  ['upload B/step', (r) => num(r.uploadBytesPerStep ?? NaN)],
  ['uploads/step', (r) => num(r.uploadsPerStep ?? NaN)],
  ['uniform writes/step', (r) => num(r.uniformWritesPerStep ?? NaN)],
  ['readbacks/step', (r) => num(r.readbacksPerStep ?? NaN)],
  ['gpu ms/step', (r) => (r.gpuMsPerStep == null ? '-' : num(r.gpuMsPerStep, 1))],
];

/**
 * Whether two rows measured the same thing apart from the named fields:
 * backend, preset, shape and every variant field (kernels, matmul, step, and
 * an adapter where rows carry one), so a ratio never pairs rows from
 * different adapters or step modes.
 */
function samePairing(a: BenchRow, b: BenchRow, apart: readonly string[]): boolean {
  const keys = ['backend', 'preset', 'batchSize', 'blockSize', 'kernels', 'matmulKernel', 'step', 'adapter'].filter((k) => !apart.includes(k));
  const ra = a as unknown as Record<string, unknown>;
  const rb = b as unknown as Record<string, unknown>;
  return keys.every((k) => ra[k] === rb[k]);
}

/** fused / generic for each backend x preset measured both ways: tokens/s, dispatches and encode time as ratios. */
export function kernelRatios(
  rows: BenchRow[],
): { backend: string; preset: string; label: string; step?: StepMode; tokensPerSec: number; dispatches: number; encodeMs: number; encodeCpuMs: number }[] {
  const out = [];
  for (const f of rows.filter((r) => r.kernels === 'fused')) {
    const g = rows.find((r) => r.kernels === 'generic' && samePairing(r, f, ['kernels', 'matmulKernel']));
    if (!g) continue;
    out.push({
      backend: f.backend,
      preset: f.preset,
      label: kernelsLabel(f),
      ...(f.step ? { step: f.step } : {}),
      tokensPerSec: f.tokensPerSec / g.tokensPerSec,
      dispatches: (f.dispatchesPerStep ?? NaN) / (g.dispatchesPerStep ?? NaN),
      encodeMs: (f.encodeMsPerStep ?? NaN) / (g.encodeMsPerStep ?? NaN),
      encodeCpuMs: (f.encodeCpuMsPerStep ?? NaN) / (g.encodeCpuMsPerStep ?? NaN),
    });
  }
  return out;
}

/**
 * recorded vs eager for each row measured both ways (same backend, preset,
 * kernels, matmul, adapter): the speed-up (eager ms/step / recorded ms/step,
 * which is also recorded tok/s / eager tok/s: both come from the same medians)
 * and the two rows' figures behind it.
 */
export interface StepRatio {
  backend: string;
  preset: string;
  /** The rows' kernels ('fused+tiled', 'generic'), '' where they name none. */
  label: string;
  speedup: number;
  eager: BenchRow;
  recorded: BenchRow;
}

export function stepRatios(rows: BenchRow[]): StepRatio[] {
  const out: StepRatio[] = [];
  for (const recorded of rows.filter((x) => x.step === 'recorded')) {
    const eager = rows.find((x) => x.step === 'eager' && samePairing(x, recorded, ['step']));
    if (!eager) continue;
    out.push({
      backend: recorded.backend,
      preset: recorded.preset,
      label: recorded.kernels ? kernelsLabel(recorded) : '',
      speedup: eager.msPerStep / recorded.msPerStep,
      eager,
      recorded,
    });
  }
  return out;
}

/** One line per recorded/eager pair: "recorded vs eager, webgpu baby fused+tiled: 9.7x (ms/step 12.0 -> 1.2, ...)". */
export function formatStepRatios(rows: BenchRow[]): string[] {
  const pair = (e: number | undefined, r: number | undefined, digits = 0) => `${num(e ?? NaN, digits)} -> ${num(r ?? NaN, digits)}`;
  return stepRatios(rows).map(
    ({ backend, preset, label, speedup, eager: e, recorded: r }) =>
      `recorded vs eager, ${backend} ${preset}${label ? ` ${label}` : ''}: ${num(speedup, 1)}x (ms/step ${pair(e.msPerStep, r.msPerStep, 1)}, tok/s ${pair(e.tokensPerSec, r.tokensPerSec)}, ` +
      `encode ms/step ${pair(e.encodeMsPerStep, r.encodeMsPerStep, 1)}, tfjs kernels/step ${pair(e.tfjsKernelsPerStep, r.tfjsKernelsPerStep)}, bind groups/step ${pair(e.bindGroupsPerStep, r.bindGroupsPerStep)})`,
  );
}

/** The per-step GPU work of the webgpu rows, and fused/generic and recorded/eager ratios where both ran; '' without webgpu rows. */
export function formatGpuTable(rows: BenchRow[]): string {
  const gpuRows = rows.filter((r) => r.dispatchesPerStep !== undefined);
  if (gpuRows.length === 0) return '';
  const cells = [GPU_COLUMNS.map(([h]) => h), ...gpuRows.map((r) => GPU_COLUMNS.map(([, f]) => f(r)))];
  const widths = GPU_COLUMNS.map((_, i) => Math.max(...cells.map((c) => c[i].length)));
  const line = (c: string[]) => c.map((s, i) => (i < 4 ? s.padEnd(widths[i]) : s.padStart(widths[i]))).join('  '); // the text columns left, numbers right
  const out = ['GPU work per training step (webgpu):', line(cells[0]), widths.map((w) => '-'.repeat(w)).join('  '), ...cells.slice(1).map(line)];
  for (const r of kernelRatios(rows)) {
    out.push(
      `${r.label} / generic${r.step ? ` (${r.step} step)` : ''}, ${r.backend} ${r.preset}: tokens/s x${num(r.tokensPerSec, 2)}, dispatches x${num(r.dispatches, 3)}, encode ms x${num(r.encodeMs, 3)} (cpu x${num(r.encodeCpuMs, 3)})`,
    );
  }
  out.push(...formatStepRatios(rows));
  return out.join('\n');
}

/** A per-kernel profile as text lines (heaviest first). */
export function formatProfile(row: BenchRow, top = 20): string {
  if (!row.profile) return '';
  const total = row.profile.reduce((a, p) => a + p.msPerStep, 0);
  const lines = [`profile ${row.backend} ${row.preset}: ${num(total, 1)} ms of kernels per step (${num(row.msPerStep, 1)} ms wall)`];
  for (const p of row.profile.slice(0, top))
    lines.push(
      `  ${p.kernel.padEnd(24)} ${num(p.msPerStep, 2).padStart(9)} ms  ${num(p.callsPerStep, 0).padStart(5)} calls  ${num((100 * p.msPerStep) / Math.max(total, 1e-9), 1).padStart(5)}%`,
    );
  return lines.join('\n');
}
