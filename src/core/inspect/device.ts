// "This machine": the backend's adapter, features and limits, a measured
// matmul rate, and the expected speed of a configuration from a few timed
// training steps (so a run that would take hours is known before Start).

import * as tf from '@tensorflow/tfjs';
import type { Config } from '../config';
import { Dataset } from '../data';
import { newTrainer } from '../train';
import { matMul2d } from '../ops';
import { DEFAULT_KERNELS, type Kernels } from '../kernels/mode';
import { FEATURES_OF_INTEREST, LIMITS_OF_INTEREST, type DeviceReport, type SpeedEstimate } from './types';

interface AdapterLike {
  info?: { vendor?: string; architecture?: string; device?: string; description?: string };
  features: { has(name: string): boolean };
  limits: Record<string, number>;
}

/**
 * Float32 matmul rate of the current backend (GFLOP/s): n x n products queued
 * for ~budgetMs, one readback at the end. The model's own 2-D matmul
 * (ops.matMul2d) with the kernels a run takes by default, so on a CPU adapter
 * it is the tiled kernel the step runs.
 */
export async function matmulGflops(n = 256, budgetMs = 300, kernels: Kernels = DEFAULT_KERNELS): Promise<number> {
  const a = tf.randomUniform([n, n], -1, 1, 'float32', 1) as tf.Tensor2D;
  const b = tf.randomUniform([n, n], -1, 1, 'float32', 2) as tf.Tensor2D;
  try {
    const warm = matMul2d(kernels, a, b, false, false); // compiles the kernel
    await warm.data();
    warm.dispose();
    let reps = 1;
    for (;;) {
      const t0 = performance.now();
      const outs: tf.Tensor[] = [];
      for (let i = 0; i < reps; i++) outs.push(matMul2d(kernels, a, b, false, false));
      await outs[outs.length - 1].data(); // in-order queue: the last done means all done
      const ms = performance.now() - t0;
      for (const o of outs) o.dispose();
      if (ms >= budgetMs / 4 || reps >= 64) return (2 * n * n * n * reps) / (ms / 1000) / 1e9;
      reps *= 4;
    }
  } finally {
    a.dispose();
    b.dispose();
  }
}

export async function deviceReport(): Promise<DeviceReport> {
  const backend = tf.getBackend();
  let adapter: DeviceReport['adapter'] = null;
  const features: Record<string, boolean> = {};
  const limits: Record<string, number> = {};
  if (backend === 'webgpu') {
    const gpu = (globalThis.navigator as Navigator & { gpu?: { requestAdapter(): Promise<AdapterLike | null> } }).gpu;
    const a = await gpu?.requestAdapter();
    if (a) {
      const info = a.info ?? {};
      adapter = { vendor: info.vendor || '?', architecture: info.architecture || '?', device: info.device || '', description: info.description || '' };
      for (const f of FEATURES_OF_INTEREST) features[f] = a.features.has(f);
      for (const l of LIMITS_OF_INTEREST) if (typeof a.limits[l] === 'number') limits[l] = a.limits[l];
    }
  }
  const n = 256;
  return { backend, adapter, features, limits, matmulGflops: await matmulGflops(n), matmulSize: n };
}

/**
 * Expected training speed of `config` on `text` here: one untimed step
 * (compiles shaders), then `steps` timed steps ending in a readback. The
 * trial model is freed afterwards.
 */
export async function estimateSpeed(config: Config, text: string, steps = 3): Promise<SpeedEstimate> {
  const trainer = newTrainer({ ...config, logInterval: 1_000_000, evalInterval: 1_000_000, maxIters: Math.max(config.maxIters, steps + 2) }, new Dataset(text));
  const sync = () => trainer.model.p('transformer.ln_f.weight').data();
  try {
    await trainer.trainStep();
    await sync();
    const t0 = performance.now();
    for (let i = 0; i < steps; i++) await trainer.trainStep();
    await sync();
    const msPerStep = (performance.now() - t0) / steps;
    const tokensPerSec = (trainer.tokensPerStep * 1000) / msPerStep; // gradAccumSteps x batchSize x blockSize
    return { tokensPerSec, msPerStep, wallSeconds: (config.maxIters * msPerStep) / 1000, timedSteps: steps };
  } finally {
    trainer.model.dispose();
    trainer.dispose();
  }
}
