// The measured side of the memory model (memory.ts predicts): the peak of
// tfjs' tensor bytes over some work, and on webgpu the bytes of GPU buffers
// the backend holds (its buffer pool keeps freed buffers for reuse, so the
// device sees that figure, not the tensors').
//
// tfjs keeps a running total of live tensor bytes (engine.state.numBytes) but
// no high-water mark outside tf.profile (whose per-kernel timing perturbs a
// step); the total is watched here through an accessor on that one field,
// removed again when the measurement ends.

import * as tf from '@tensorflow/tfjs';

interface EngineBytes {
  numBytes: number;
}

/** Run `work` and return its result with the peak of live tensor bytes meanwhile (including what was live before). */
export async function withPeakBytes<R>(work: () => Promise<R> | R): Promise<{ result: R; peakBytes: number }> {
  const state = tf.engine().state as unknown as EngineBytes;
  let value = state.numBytes;
  let peak = value;
  Object.defineProperty(state, 'numBytes', {
    configurable: true,
    enumerable: true,
    get: () => value,
    set: (v: number) => {
      value = v;
      if (v > peak) peak = v;
    },
  });
  try {
    const result = await work();
    return { result, peakBytes: peak };
  } finally {
    // back to a plain data property with the current total
    Object.defineProperty(state, 'numBytes', { configurable: true, enumerable: true, writable: true, value });
  }
}

/** Bytes of GPU buffers the webgpu backend has allocated (pooled ones included); null on other backends. */
export function gpuAllocatedBytes(): number | null {
  if (tf.getBackend() !== 'webgpu') return null;
  const manager = (tf.backend() as unknown as { bufferManager?: { numBytesAllocated?: number } }).bufferManager;
  return typeof manager?.numBytesAllocated === 'number' ? manager.numBytesAllocated : null;
}
