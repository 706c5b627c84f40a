// WebGPU for the test files that need it: Dawn's navigator.gpu in Node (on
// SwiftShader's Vulkan driver where there is no GPU) and tfjs' webgpu backend.
// Without an adapter a file fails with one line saying what to install, not
// with a stack trace per test. CI still fails: nothing is skipped.

import * as tf from '@tensorflow/tfjs';
import { installNodeWebGPU, type NodeWebGPU } from '../src/cli/webgpu.ts';
import { submitPending, webgpuBackend } from '../src/core/kernels/tfjs-internals.ts';
import { countsBetween, gpuCounts, installGpuCounters, uninstallGpuCounters } from '../src/core/kernels/webgpu/counters.ts';

export const WEBGPU_NEEDS = "WebGPU tests need Debian's chromium and libvulkan1: apt-get install -y chromium libvulkan1";

/** An error that a test report prints as its message alone (no stack frames into this helper). */
class OneLine extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'tabgpt';
    this.stack = `${this.name}: ${message}`;
  }
}

/** Install WebGPU and make it tfjs' backend; throws one line naming what is missing when Dawn finds no adapter. */
export async function requireWebGPU(): Promise<NodeWebGPU> {
  const found = await installNodeWebGPU();
  if (typeof found === 'string') {
    const why = found.replace(/; wasm and cpu run here$/, '');
    // A VK_ICD_FILENAMES of the user's own is the problem itself; otherwise the packages are.
    throw new OneLine(process.env.VK_ICD_FILENAMES && why.includes('VK_ICD_FILENAMES') ? `WebGPU tests: ${why}` : `${WEBGPU_NEEDS} (${why})`);
  }
  if (!(await tf.setBackend('webgpu'))) throw new OneLine(`${WEBGPU_NEEDS} (Dawn found an adapter but tfjs' webgpu backend did not start)`);
  return found;
}

/**
 * What `f` issues, by the project's own GPU counters (kernels/webgpu/counters.ts):
 * bind groups created, tfjs kernels run, submits and dispatches. What tfjs holds
 * unsubmitted beforehand is submitted first: it is not f's.
 */
export async function countDuring(f: () => Promise<unknown>): Promise<{ bindGroups: number; kernels: number; submits: number; dispatches: number }> {
  submitPending(webgpuBackend());
  installGpuCounters();
  try {
    const c0 = gpuCounts();
    await f();
    const d = countsBetween(c0, gpuCounts());
    return { bindGroups: d.bindGroups, kernels: d.tfjsKernels, submits: d.submits, dispatches: d.dispatches };
  } finally {
    uninstallGpuCounters();
  }
}
