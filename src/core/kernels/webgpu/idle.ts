// When the GPU has finished the work issued so far, with nothing read back:
// the training loop's per-step progress (a step on webgpu only queues work,
// and the loss is read back only every logInterval steps, so without this a
// page on a slow adapter would see the step counter jump once per readback).
// Submits tfjs' pending commands first, so the promise covers the whole step.

import * as tf from '@tensorflow/tfjs';
import { webgpuBackend } from './stream';

/** Resolves once the device has run everything issued so far; null off webgpu (there the work is done when the call returns). */
export function deviceIdle(): Promise<void> | null {
  if (tf.getBackend() !== 'webgpu') return null;
  const b = webgpuBackend();
  if (b.commandEncoder) {
    b.endComputePassEncoder();
    b.submitQueue();
  }
  return b.device.queue.onSubmittedWorkDone();
}
