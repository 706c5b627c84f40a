// Choosing a tfjs backend and saying why. The browser prefers WebGPU, then
// WebGL, WASM, CPU; Node has wasm and cpu. Every fallback carries a reason in
// plain words, which the page shows on its badge and the CLI prints.

import * as tf from '@tensorflow/tfjs';
import { missingWebGPUInternals } from './kernels/tfjs-internals';

import { BROWSER_ORDER, NODE_BACKENDS, type BackendName } from './choices';

export { BROWSER_ORDER, NODE_BACKENDS, type BackendName };

export interface BackendChoice {
  name: BackendName;
  /** Why the preferred backends were skipped, one entry each ("webgpu: no adapter"). */
  fallbacks: string[];
}

/** Why WebGPU cannot run here, or null if an adapter exists. */
export async function webgpuProblem(): Promise<string | null> {
  const gpu = (globalThis.navigator as (Navigator & { gpu?: { requestAdapter(): Promise<unknown> } }) | undefined)?.gpu;
  if (!gpu) return 'this browser has no navigator.gpu (WebGPU is off or unsupported)';
  try {
    const adapter = await gpu.requestAdapter();
    if (!adapter) return 'navigator.gpu found no GPU adapter';
  } catch (e) {
    return `requesting a WebGPU adapter failed: ${(e as Error).message}`;
  }
  return null;
}

interface AdapterInfoLike {
  vendor?: string;
  architecture?: string;
  description?: string;
  isFallbackAdapter?: boolean;
}

/**
 * Why a WebGPU adapter is a CPU and not a GPU, or null: the browser's fallback
 * adapter, or a software Vulkan (SwiftShader, llvmpipe, lavapipe). On a CPU,
 * WebGPU and WebGL emulate a GPU: WASM's SIMD kernels train far faster (on a
 * 2-core machine, SwiftShader's WebGPU ran a default run at 473 tokens/s, in
 * 2 hours, that WASM trains in about 2 minutes).
 */
export function cpuAdapterReason(info: AdapterInfoLike, isFallbackAdapter = false): string | null {
  const text = `${info.vendor ?? ''} ${info.architecture ?? ''} ${info.description ?? ''}`;
  const soft = /swiftshader|llvmpipe|lavapipe/i.exec(text)?.[0];
  if (soft) return `the WebGPU adapter is ${soft.toLowerCase() === 'swiftshader' ? 'SwiftShader' : soft.toLowerCase()}, a CPU`;
  if (isFallbackAdapter || info.isFallbackAdapter) return 'the WebGPU adapter is a fallback adapter, a CPU';
  return null;
}

/** The CPU reason (cpuAdapterReason) of this browser's WebGPU adapter, or null (a GPU, or no WebGPU). */
export async function webgpuCpuReason(): Promise<string | null> {
  const gpu = (
    globalThis.navigator as (Navigator & { gpu?: { requestAdapter(): Promise<{ info?: AdapterInfoLike; isFallbackAdapter?: boolean } | null> } }) | undefined
  )?.gpu;
  try {
    const adapter = await gpu?.requestAdapter();
    return adapter ? cpuAdapterReason(adapter.info ?? {}, adapter.isFallbackAdapter === true) : null;
  } catch {
    return null;
  }
}

/**
 * Try backends in order and keep the first that initialises. The backend
 * modules must already be imported (registered) by the caller's shell.
 * In the automatic order (more than one backend), a WebGPU adapter that is a
 * CPU sends the choice to WASM: WebGL there is the same CPU emulating a GPU.
 * `measure` keeps WebGPU first anyway: the caller times it against WASM on
 * its model (backend-probe.ts), as it does on a GPU adapter.
 */
export async function chooseBackend(order: BackendName[], measure = false): Promise<BackendChoice> {
  const fallbacks: string[] = [];
  if (!measure && order.length > 1 && order[0] === 'webgpu' && order.includes('wasm') && tf.findBackendFactory('wasm')) {
    const cpu = await webgpuCpuReason();
    if (cpu) {
      fallbacks.push(`webgpu: ${cpu}: WASM trains faster here (add ?backend=webgpu to use it anyway)`);
      if (order.includes('webgl')) fallbacks.push('webgl: no GPU here either');
      order = order.filter((b) => b !== 'webgpu' && b !== 'webgl');
    }
  }
  for (const name of order) {
    if (!tf.findBackendFactory(name)) {
      fallbacks.push(`${name}: not available in this build`);
      continue;
    }
    if (name === 'webgpu') {
      const problem = await webgpuProblem();
      if (problem) {
        fallbacks.push(`webgpu: ${problem}`);
        continue;
      }
    }
    try {
      if (await tf.setBackend(name)) {
        await tf.ready();
        const missing = name === 'webgpu' ? missingWebGPUInternals(tf.backend()) : null;
        if (missing) {
          fallbacks.push(`webgpu: ${missing}`);
          continue;
        }
        return { name, fallbacks };
      }
      fallbacks.push(`${name}: failed to initialise`);
    } catch (e) {
      fallbacks.push(`${name}: ${(e as Error).message}`);
    }
  }
  throw new Error(`no tfjs backend could start: ${fallbacks.join('; ')}`);
}
