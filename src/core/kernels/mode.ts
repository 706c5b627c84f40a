// Which implementation the model's ops use: the `fused` kernels (one WGSL
// kernel per op and direction, registered with tfjs' webgpu backend) or the
// `generic` composition of stock tfjs ops. The generic path is the reference:
// tests compare every fused kernel against it, and `npm run bench -- --kernels
// generic,fused` measures both side by side in one run.
//
// Fused kernels exist only for webgpu; on every other backend the generic ops
// run whatever the mode says (useFused() is false there).

import * as tf from '@tensorflow/tfjs';
import { KERNEL_MODES, MATMUL_CHOICES, type KernelMode, type MatmulChoice } from '../choices';

export { KERNEL_MODES, MATMUL_CHOICES, type KernelMode, type MatmulChoice };

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

// Which matmul the fused path uses: kernels/webgpu/matmul.ts' register-tiled
// one (`tiled`), or tfjs' own (`tfjs`). `auto` picks tiled on adapters that
// are CPUs (SwiftShader, llvmpipe, lavapipe: 4-10x tfjs' matmul there, the
// bulk of a step) and tfjs' on hardware GPUs, where tfjs' kernel is tuned and
// the tiled one has not been measured.
let matmul: MatmulChoice = 'auto';

export function setMatmulChoice(m: MatmulChoice): void {
  if (!MATMUL_CHOICES.includes(m)) throw new Error(`matmul must be one of ${MATMUL_CHOICES.join(', ')} (got '${m}')`);
  matmul = m;
}

export function matmulChoice(): MatmulChoice {
  return matmul;
}

/** True when the fused path's matmuls take the tiled kernel (see above). */
export function useTiledMatmul(): boolean {
  if (!useFused() || matmul === 'tfjs') return false;
  return matmul === 'tiled' || softwareAdapter();
}

/**
 * Whether the webgpu backend's adapter is a CPU implementation: the device's
 * adapter info where the browser or Dawn gives it (fallback flag, description:
 * llvmpipe/lavapipe say so only there), else the vendor/architecture tfjs keeps.
 */
function softwareAdapter(): boolean {
  type Info = { vendor?: string; architecture?: string; description?: string; isFallbackAdapter?: boolean };
  const backend = tf.backend() as unknown as { adapterInfo?: Info; device?: { adapterInfo?: Info } };
  const info: Info = backend.device?.adapterInfo ?? backend.adapterInfo ?? {};
  return info.isFallbackAdapter === true || /swiftshader|llvmpipe|lavapipe/i.test(`${info.vendor ?? ''} ${info.architecture ?? ''} ${info.description ?? ''}`);
}
