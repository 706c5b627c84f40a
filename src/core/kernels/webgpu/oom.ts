// Out-of-memory on the WebGPU device. A buffer that cannot be allocated does
// not throw in WebGPU (except one mapped at creation): the device reports a
// GPUOutOfMemoryError to its 'uncapturederror' event, later, and every kernel
// that would have used the buffer then fails validation, so the step computes
// garbage. This watcher records the first such report so the Trainer can stop
// with one line (core/memory.ts' outOfMemoryMessage) before anything is saved.

import * as tf from '@tensorflow/tfjs';
import { releaseFreeBuffers, webgpuBackend } from '../tfjs-internals';

interface ErrorEventLike {
  error?: { message?: string; constructor?: { name?: string } };
  preventDefault?: () => void;
}
interface DeviceLike {
  addEventListener?: (type: string, listener: (e: ErrorEventLike) => void) => void;
}

const watched = new WeakSet<object>();
let report: string | null = null;
/** An out-of-memory error has happened on this device: the invalid objects it leaves are not reported again. */
let seen = false;

/** Start watching the webgpu backend's device (once per device); a no-op elsewhere. */
export function watchOutOfMemory(): void {
  if (tf.getBackend() !== 'webgpu') return;
  const device = (tf.backend() as unknown as { device?: DeviceLike }).device;
  if (!device?.addEventListener || watched.has(device)) return;
  watched.add(device);
  device.addEventListener('uncapturederror', (e) => {
    const name = e.error?.constructor?.name ?? '';
    const message = e.error?.message ?? '';
    if (name === 'GPUOutOfMemoryError' || /out of memory/i.test(message)) {
      report ??= message.split('\n')[0].trim() || 'out of memory';
      seen = true;
      e.preventDefault?.(); // reported once, by the Trainer, not per failed buffer
    } else if (seen && /invalid due to a previous error/i.test(message)) {
      e.preventDefault?.(); // the kernels that would have used the missing buffers: consequences, not news
    }
  });
}

/** The first out-of-memory report since the last call, or null; clears it. */
export function takeOutOfMemory(): string | null {
  const r = report;
  report = null;
  return r;
}

/** Whether an exception is a failed allocation (WebGPU's mapped-at-creation buffers, wasm's heap, a JS array buffer). */
export function isOutOfMemoryError(e: unknown): boolean {
  const msg = e instanceof Error ? e.message : String(e);
  return /failed to allocate|out of memory|Array buffer allocation failed|^Aborted\(/i.test(msg) || (e instanceof RangeError && /allocation|memory/i.test(msg));
}

// WebGPU does not say how much memory a device has; a shell that knows (Dawn's
// null adapter: 512 MiB) says so here, for the out-of-memory message's fix.
let deviceMemory: number | null = null;

/** Set by the shell when it knows the WebGPU device's memory. */
export function setDeviceMemoryBytes(bytes: number | null): void {
  deviceMemory = bytes;
}

/** The WebGPU device's memory where known, else null. */
export function deviceMemoryBytes(): number | null {
  return tf.getBackend() === 'webgpu' ? deviceMemory : null;
}

/**
 * Give the device back the buffers tfjs' webgpu backend keeps for reuse. Its
 * pool keeps every freed buffer, keyed by size, for the life of the backend:
 * after training steps it holds the step's whole working set, so evaluation's
 * forward (other sizes) or a sample allocates beside it, which a device with
 * little memory (Dawn's null adapter: 512 MiB; a laptop GPU) cannot give.
 * Called between phases (train -> evaluate -> train); the next phase's buffers
 * are created once and pooled again. Returns the bytes released.
 */
export function releasePooledBuffers(): number {
  return tf.getBackend() === 'webgpu' ? releaseFreeBuffers(webgpuBackend()) : 0;
}
