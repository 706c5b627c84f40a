// What one training step costs, measured by the benchmark (bench.ts): on webgpu
// the work a GPU pays whatever its speed (dispatches, bind groups, tfjs kernels,
// uploads, readbacks, JavaScript encode time, kernel time from timestamps), and
// on every backend the step's peak memory. See bench.ts' header for how each
// figure is taken.

import * as tf from '@tensorflow/tfjs';
import type { Trainer } from './train';
import { isLogStep } from './train';
import { countsBetween, gpuCounts, installGpuCounters, uninstallGpuCounters, type GpuCounts } from './kernels/webgpu/counters';
import { median } from './benchreport';
import { gpuAllocatedBytes, withPeakBytes } from './peak';
import { releasePooledBuffers } from './kernels/webgpu/oom';
import { supportsTimestampQuery } from './kernels/tfjs-internals';

/** Wait until the trainer's last step has finished on the device (a tiny readback of a weight it writes). */
export async function sync(trainer: Trainer): Promise<void> {
  await trainer.model.p('transformer.ln_f.weight').data();
}

/** Whether the trainer's next step reads its losses back (a log step, train-loop.ts): the per-step GPU figures skip those. */
function nextStepLogs(trainer: Trainer): boolean {
  return isLogStep(trainer.cfg, trainer.step + 1);
}

/** The webgpu-only figures of a row (see the header). */
export interface GpuStepFigures {
  dispatchesPerStep: number;
  bindGroupsPerStep: number;
  tfjsKernelsPerStep: number;
  encodeMsPerStep: number;
  /** The same from this process's CPU time (Node): the device is idle meanwhile, so it is the JS thread's; robust to a loaded machine. */
  encodeCpuMsPerStep?: number;
  uploadsPerStep: number;
  uploadBytesPerStep: number;
  uniformWritesPerStep: number;
  readbacksPerStep: number;
  gpuMsPerStep: number | null;
}

/** Count and time `steps` non-logging training steps on webgpu (null elsewhere); `timestamps` adds one timed step for gpuMsPerStep. */
/**
 * `holdSubmit` false (Dawn's null adapter) submits as in training: holding a
 * step's submission also holds every buffer it frees (tfjs releases them at
 * submit), which a step sized to a 512 MB device cannot afford; with no GPU
 * work to compete with, the encode time is the same.
 */
export async function measureGpuSteps(
  trainer: Trainer,
  steps = 3,
  cpuClock?: () => number,
  timestamps = true,
  holdSubmit = true,
): Promise<GpuStepFigures | null> {
  if (!installGpuCounters()) return null;
  try {
    return await countGpuSteps(trainer, steps, cpuClock, timestamps, holdSubmit);
  } finally {
    uninstallGpuCounters(); // the patched prototypes go back: later steps run uncounted
  }
}

async function countGpuSteps(
  trainer: Trainer,
  steps: number,
  cpuClock: (() => number) | undefined,
  timestamps: boolean,
  holdSubmit: boolean,
): Promise<GpuStepFigures> {
  const SUBMIT = 'WEBGPU_DEFERRED_SUBMIT_BATCH_SIZE';
  const batchSize = tf.env().get(SUBMIT) as number;
  const total: GpuCounts = countsBetween(gpuCounts(), gpuCounts());
  const encode: number[] = [];
  const encodeCpu: number[] = [];
  while (encode.length < steps) {
    if (nextStepLogs(trainer)) {
      await trainer.trainStep();
      continue;
    }
    await sync(trainer); // start from an idle device
    if (holdSubmit) tf.env().set(SUBMIT, 1e9); // hold submission to the step's end: pure JS encode time
    const c0 = gpuCounts();
    const cpu0 = cpuClock?.() ?? 0;
    const t0 = performance.now();
    let done: Promise<unknown>;
    try {
      done = trainer.trainStep(); // a non-logging step runs synchronously to its end
      encode.push(performance.now() - t0);
      if (cpuClock) encodeCpu.push(cpuClock() - cpu0);
    } finally {
      tf.env().set(SUBMIT, batchSize);
    }
    await done;
    const d = countsBetween(c0, gpuCounts());
    for (const k of Object.keys(total) as (keyof GpuCounts)[]) total[k] += d[k];
    await sync(trainer);
  }
  let gpuMs: number | null = null;
  if (timestamps && supportsTimestampQuery()) {
    while (nextStepLogs(trainer)) await trainer.trainStep();
    let done: Promise<unknown> = Promise.resolve();
    const info = await tf.time(() => {
      done = trainer.trainStep();
    });
    await done;
    gpuMs = typeof info.kernelMs === 'number' ? info.kernelMs : null;
  }
  return {
    dispatchesPerStep: total.dispatches / steps,
    bindGroupsPerStep: total.bindGroups / steps,
    tfjsKernelsPerStep: total.tfjsKernels / steps,
    encodeMsPerStep: median(encode),
    ...(encodeCpu.length ? { encodeCpuMsPerStep: median(encodeCpu) } : {}),
    uploadsPerStep: total.uploads / steps,
    uploadBytesPerStep: total.uploadBytes / steps,
    uniformWritesPerStep: total.uniformWrites / steps,
    readbacksPerStep: total.readbacks / steps,
    gpuMsPerStep: gpuMs,
  };
}

/**
 * The peak of live tensor bytes over one non-logging training step (peak.ts),
 * and on webgpu the bytes of GPU buffers the backend then holds (its pool).
 * The figure memory.ts predicts.
 */
export async function measureStepMemory(trainer: Trainer): Promise<{ peakBytes: number; gpuAllocatedBytes: number | null }> {
  while (nextStepLogs(trainer)) await trainer.trainStep();
  await sync(trainer);
  releasePooledBuffers(); // webgpu: what the device then holds is this step's own working set
  const { peakBytes } = await withPeakBytes(async () => {
    await trainer.trainStep();
    await sync(trainer);
  });
  // A recorded step's own buffers (its working set, kernels/webgpu/record.ts) are outside tfjs' counts: added here.
  const plan = trainer.recordedBytes;
  const held = gpuAllocatedBytes();
  return { peakBytes: peakBytes + plan, gpuAllocatedBytes: held === null ? null : held + plan };
}
