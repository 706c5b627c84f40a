// Which implementation a model's ops use: the `fused` kernels (one WGSL
// kernel per op and direction, registered with tfjs' webgpu backend) or the
// `generic` composition of stock tfjs ops; and, on the fused path, which
// matmul. The choice belongs to the model that runs them (GPT's `kernels`
// option, passed to every op), not to the process: two models (a generic
// reference and a fused run, two bench rows) live side by side without
// saving and restoring anything. The generic path is the reference: tests
// compare every fused kernel against it, and `npm run bench -- --kernels
// generic,fused` measures both side by side in one run.
//
// Fused kernels exist only for webgpu; on every other backend the generic ops
// run whatever the choice says (useFused() is false there).

import * as tf from '@tensorflow/tfjs';
import { KERNEL_MODES, MATMUL_CHOICES, type KernelMode, type MatmulChoice } from '../choices';
import { isSoftwareAdapter } from './adapter';
import { webgpuAdapterInfo } from './tfjs-internals';

export { KERNEL_MODES, MATMUL_CHOICES, type KernelMode, type MatmulChoice };

// Which matmul the fused path uses: kernels/webgpu/matmul.ts' register-tiled
// one (`tiled`), or tfjs' own (`tfjs`). `auto` picks tiled on adapters that
// are CPUs (SwiftShader, llvmpipe, lavapipe: 4-10x tfjs' matmul there, the
// bulk of a step) and tfjs' on hardware GPUs, where tfjs' kernel is tuned and
// the tiled one has not been measured.

/** A model's kernel choice; every op takes it. */
export interface Kernels {
  readonly mode: KernelMode;
  /** The fused path's matmul (ignored by the generic one). */
  readonly matmul: MatmulChoice;
}

/** Fused by default: it is the fast path, and the generic one stays a flag away. */
export const DEFAULT_KERNELS: Kernels = Object.freeze({ mode: 'fused', matmul: 'auto' });

/** A checked kernel choice; absent fields take the defaults. */
export function kernelsOf(opts: { mode?: string; matmul?: string } = {}): Kernels {
  const mode = (opts.mode ?? DEFAULT_KERNELS.mode) as KernelMode;
  const matmul = (opts.matmul ?? DEFAULT_KERNELS.matmul) as MatmulChoice;
  if (!KERNEL_MODES.includes(mode)) throw new Error(`kernels must be one of ${KERNEL_MODES.join(', ')} (got '${mode}')`);
  if (!MATMUL_CHOICES.includes(matmul)) throw new Error(`matmul must be one of ${MATMUL_CHOICES.join(', ')} (got '${matmul}')`);
  return Object.freeze({ mode, matmul });
}

/** True when the ops should take their fused WebGPU kernels: fused mode on the webgpu backend. */
export function useFused(k: Kernels): boolean {
  return k.mode === 'fused' && tf.getBackend() === 'webgpu';
}

/** True when the fused path's matmuls take the tiled kernel (see above). */
export function useTiledMatmul(k: Kernels): boolean {
  if (!useFused(k) || k.matmul === 'tfjs') return false;
  return k.matmul === 'tiled' || softwareAdapter();
}

/**
 * Whether the webgpu backend's adapter is a CPU implementation (adapter.ts):
 * the device's adapter info where the browser or Dawn gives it (fallback flag,
 * description), else the vendor/architecture tfjs keeps.
 */
function softwareAdapter(): boolean {
  return isSoftwareAdapter(webgpuAdapterInfo());
}
