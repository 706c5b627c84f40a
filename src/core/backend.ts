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

/**
 * Try backends in order and keep the first that initialises. The backend
 * modules must already be imported (registered) by the caller's shell.
 */
export async function chooseBackend(order: BackendName[]): Promise<BackendChoice> {
  const fallbacks: string[] = [];
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
