// Recording our own compute pipelines into tfjs' WebGPU command stream.
//
// tfjs' WebGPUProgram API binds exactly one writable buffer (the output) per
// dispatch. A kernel that updates several buffers in place (the fused AdamW
// writes parameter, first and second moment at once) needs its own pipeline
// and bind group, recorded into the *same* command encoder and compute pass
// tfjs is filling, so that GPU order equals program order: the dispatch runs
// after every tfjs kernel issued before it (the gradients it reads) and before
// every one issued after it (the next step's forward pass reading the weights).
//
// tfjs' private members are reached through ../tfjs-internals.ts. Buffers
// bound here are marked as owned by the pending command queue, as tfjs does
// for its own dispatches, so disposing a tensor (a gradient) right after
// recording defers freeing its buffer until the work is submitted.

import * as tf from '@tensorflow/tfjs';

import { bufferOf, webgpuBackend, writableBufferOf, type WebGPUBackendInternals } from '../tfjs-internals';

export { bufferOf, webgpuBackend, writableBufferOf, type WebGPUBackendInternals };

/**
 * A uniform buffer from tfjs' pool for constants that several dispatches bind,
 * written now (queue.writeBuffer runs ahead of every unsubmitted command).
 * Call releaseUniform after recording the last dispatch that binds it: tfjs
 * returns pending uniforms to its pool at each submit, and a submit can fall
 * between the users (every WEBGPU_DEFERRED_SUBMIT_BATCH_SIZE dispatches). A
 * buffer returned at the first would be handed out and rewritten (a tfjs or
 * fused kernel's 16-byte shape uniform) before the later users ran: the fused
 * AdamW then read a matmul's sizes as its learning rate, and training went NaN.
 */
export function transientUniform(b: WebGPUBackendInternals, data: ArrayBuffer): GPUBuffer {
  const buf = b.bufferManager.acquireBuffer(data.byteLength, GPUBufferUsage.COPY_DST | GPUBufferUsage.UNIFORM);
  b.queue.writeBuffer(buf, 0, data);
  return buf;
}

/** Back to tfjs' pool at the next submit, which carries every dispatch recorded so far (transientUniform). */
export function releaseUniform(b: WebGPUBackendInternals, buf: GPUBuffer): void {
  b.uniformPendingDisposal.push(buf);
}

/** WebGPU's per-dimension workgroup limit (65535 by default): larger 1-D grids fold into 2-D. */
export function grid(workgroups: number, maxPerDim = 65535): [number, number] {
  return workgroups <= maxPerDim ? [Math.max(1, workgroups), 1] : [maxPerDim, Math.ceil(workgroups / maxPerDim)];
}

/** Submits after this many dispatches, as tfjs does (WEBGPU_DEFERRED_SUBMIT_BATCH_SIZE). */
function submitBatch(): number {
  return tf.env().get('WEBGPU_DEFERRED_SUBMIT_BATCH_SIZE') as number;
}

/**
 * Record one dispatch of `pipeline` with `bindGroup` into tfjs' stream.
 * `tensors` are the tensors whose buffers the bind group uses (kept alive
 * until submission). Under tf.time / tf.profile with timestamp queries the
 * dispatch gets its own timed pass, as tfjs' own kernels do, so GPU kernel
 * time includes ours.
 */
export function recordDispatch(
  b: WebGPUBackendInternals,
  name: string,
  pipeline: GPUComputePipeline,
  bindGroup: GPUBindGroup,
  workgroups: [number, number],
  tensors: tf.TensorInfo[],
): void {
  for (const t of tensors) b.commandQueueOwnedIds.add(t.dataId);
  b.ensureCommandEncoderReady();
  const timed = b.activeTimers != null && b.supportTimestampQuery;
  if (timed) {
    b.endComputePassEncoder();
    b.querySet ??= b.device.createQuerySet({ type: 'timestamp', count: b.querySetCount });
    b.computePassEncoder = b.commandEncoder!.beginComputePass({
      timestampWrites: { querySet: b.querySet, beginningOfPassWriteIndex: 0, endOfPassWriteIndex: 1 },
    });
  } else if (!b.computePassEncoder) {
    b.computePassEncoder = b.commandEncoder!.beginComputePass({});
  }
  const pass = b.computePassEncoder!;
  pass.setPipeline(pipeline);
  pass.setBindGroup(0, bindGroup);
  pass.dispatchWorkgroups(workgroups[0], workgroups[1]);
  b.dispatchCountInPass++;
  if (timed) {
    b.endComputePassEncoder();
    b.activeTimers!.push({ name, query: b.getQueryTime() });
  } else if (b.dispatchCountInPass >= submitBatch()) {
    b.endComputePassEncoder();
    b.submitQueue();
  }
}
