// Which implementation the model's ops use: the `fused` kernels (one WGSL
// kernel per op and direction, registered with tfjs' webgpu backend) or the
// `generic` composition of stock tfjs ops. The generic path is the reference:
// tests compare every fused kernel against it, and `npm run bench -- --kernels
// generic,fused` measures both side by side in one run.
//
// Fused kernels exist only for webgpu; on every other backend the generic ops
// run whatever the mode says (useFused() is false there).

import * as tf from '@tensorflow/tfjs';

export type KernelMode = 'generic' | 'fused';
export const KERNEL_MODES: readonly KernelMode[] = ['generic', 'fused'];

/** Fused by default: it is the fast path, and the generic one stays a flag away. */
let mode: KernelMode = 'fused';

export function setKernelMode(m: KernelMode): void {
  if (!KERNEL_MODES.includes(m)) throw new Error(`kernels must be one of ${KERNEL_MODES.join(', ')} (got '${m}')`);
  mode = m;
}

export function kernelMode(): KernelMode {
  return mode;
}

/** True when the ops should take their fused WebGPU kernels: fused mode on the webgpu backend. */
export function useFused(): boolean {
  return mode === 'fused' && tf.getBackend() === 'webgpu';
}
