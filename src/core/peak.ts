// The measured side of the memory model (memory.ts predicts): the peak of
// live tensor data over some work, and on webgpu the bytes of GPU buffers
// the backend holds (its buffer pool keeps freed buffers for reuse, so the
// device sees that figure, not the tensors').
//
// What counts is tensor *data*: tf.memory().numBytes adds a tensor's size for
// every tensor, so a reshape, a clone or a value saved for the backward pass
// (each a view of one buffer) counts its buffer again. Here each buffer counts
// once: the engine's table of data buffers (state.tensorInfo, keyed by dataId)
// is watched while `work` runs, and its sizes summed as buffers come and go.
// The total before `work` is tf.memory().numBytes, exact between steps, when
// every live tensor (weights, AdamW moments) owns its buffer.

import * as tf from '@tensorflow/tfjs';
import { engineDataTable, webgpuBackend } from './kernels/tfjs-internals';

interface DataInfo {
  bytes: number;
}

/**
 * Run `work` and return its result with the peak bytes of live tensor data
 * meanwhile (what was live before included; each buffer counted once).
 */
export async function withPeakBytes<R>(work: () => Promise<R> | R): Promise<{ result: R; peakBytes: number }> {
  const table = engineDataTable();
  let live = tf.memory().numBytes;
  let peak = live;
  const set = table.set;
  const del = table.delete;
  // own properties shadow WeakMap.prototype's methods on this one table, removed again below
  table.set = function (key: object, info: DataInfo) {
    if (!table.has(key)) {
      live += info.bytes;
      if (live > peak) peak = live;
    }
    return set.call(table, key, info);
  };
  table.delete = function (key: object) {
    const info = table.get(key);
    if (info) live -= info.bytes;
    return del.call(table, key);
  };
  try {
    const result = await work();
    return { result, peakBytes: peak };
  } finally {
    delete (table as { set?: unknown }).set;
    delete (table as { delete?: unknown }).delete;
  }
}

/** Bytes of GPU buffers the webgpu backend has allocated (pooled ones included); null on other backends. */
export function gpuAllocatedBytes(): number | null {
  if (tf.getBackend() !== 'webgpu') return null;
  return webgpuBackend().bufferManager.numBytesAllocated;
}
