// The optimizer and its schedule: nanoGPT's learning rate (linear warmup,
// cosine decay), which tensors decay, and the generic AdamW step (global-norm
// clipping, moments, bias-corrected update, decoupled weight decay) that every
// backend runs and the fused WebGPU one (kernels/webgpu/adamw.ts) is tested against.

import * as tf from '@tensorflow/tfjs';
import type { Config } from './config';

/** lr at step `it` (0-based): linear warmup to lr, cosine decay to minLr at maxIters (nanoGPT's get_lr). */
export function learningRate(cfg: Pick<Config, 'lr' | 'minLr' | 'warmupIters' | 'maxIters'>, it: number): number {
  if (it < cfg.warmupIters) return (cfg.lr * (it + 1)) / (cfg.warmupIters + 1);
  if (it >= cfg.maxIters) return cfg.minLr;
  const progress = (it - cfg.warmupIters) / Math.max(1, cfg.maxIters - cfg.warmupIters);
  return cfg.minLr + 0.5 * (1 + Math.cos(Math.PI * progress)) * (cfg.lr - cfg.minLr);
}

/** nanoGPT's rule: matrices and the (tied) embedding decay; biases and LayerNorm gains do not. */
export function decays(name: string, shape: readonly number[]): boolean {
  return shape.length >= 2 && !name.includes('ln_');
}

export interface OptimizerState {
  /** Adam steps taken (for bias correction). */
  t: number;
  m: Map<string, tf.Variable>;
  v: Map<string, tf.Variable>;
}

/**
 * The generic AdamW step (every backend; the reference for the fused WebGPU
 * one): global-norm clipping, moments, bias-corrected update, decoupled weight
 * decay. Call inside a tidy; frees each gradient once used.
 */
export function adamwStep(
  params: ReadonlyMap<string, tf.Variable>,
  grads: Record<string, tf.Tensor>,
  optimizer: OptimizerState,
  cfg: Pick<Config, 'beta1' | 'beta2' | 'eps' | 'weightDecay' | 'gradClip'>,
  lr: number,
): void {
  const t = optimizer.t;
  // Global-norm clipping without a readback: scale = clip / max(norm, clip).
  let scale: tf.Scalar | null = null;
  if (cfg.gradClip > 0) {
    const sq = [...params.values()].filter((p) => grads[p.name]).map((p) => grads[p.name].square().sum());
    const norm = tf.stack(sq).sum().sqrt(); // not tf.addN: WebGPU's AddN binds every input at once (limit 8 on SwiftShader)
    scale = tf.scalar(cfg.gradClip).div(tf.maximum(norm, cfg.gradClip));
  }
  const bc1 = 1 - Math.pow(cfg.beta1, t);
  const bc2 = 1 - Math.pow(cfg.beta2, t);
  // One tidy per parameter, and each gradient freed once used: the update's
  // temporaries never coexist for all parameters (peak memory ~ weights + moments).
  for (const [name, p] of params) {
    const grad = grads[p.name];
    if (!grad) continue; // frozen
    tf.tidy(() => {
      const g = scale ? grad.mul(scale) : grad;
      const m = optimizer.m.get(name)!;
      const v = optimizer.v.get(name)!;
      const mNew = m.mul(cfg.beta1).add(g.mul(1 - cfg.beta1));
      const vNew = v.mul(cfg.beta2).add(g.square().mul(1 - cfg.beta2));
      // update = mhat / (sqrt(vhat) + eps), with the bias corrections folded in
      let update = mNew.div(bc1).div(vNew.div(bc2).sqrt().add(cfg.eps));
      if (cfg.weightDecay > 0 && decays(name, p.shape)) update = update.add(p.mul(cfg.weightDecay));
      m.assign(mNew);
      v.assign(vNew);
      p.assign(p.sub(update.mul(lr)));
    });
    grad.dispose();
  }
}
