// A recorded training step: capture once, replay from cached bind groups.
//
// On a real GPU a small model's step is bound by the CPU work of issuing it:
// tfjs' per-op JavaScript (kernel lookup, tape, tensor bookkeeping, a uniform
// write) and a new bind group per dispatch cost ~14 ms for `baby` where the
// GPU needs far less. A training step, however, issues exactly the same
// dispatches every time: same pipelines, same shapes, same buffers (tfjs'
// pool hands them out in the same order). So the Trainer runs one step
// eagerly under capture, and capture.ts observes what it issued and this file keeps it:
//
//   capture   the WebGPU calls between begin and finish are observed at the
//             API (pass.setPipeline / setBindGroup / dispatchWorkgroups,
//             encoder.copyBufferToBuffer, device.createBindGroup,
//             queue.writeBuffer, tfjs' uploadToGPU and acquireBuffer); the
//             patches are removed at finish, whatever happens
//   plan      every buffer the step touched, classified:
//               parameters and moments (the Trainer's variables) and the
//               optimizer's own buffers: bound as they are (replays update
//               the same weights that evaluation, sampling and checkpoints read)
//               the batch: the plan's own input buffers, written per replay
//               intermediates (acquired during the step): the plan's own
//               buffers, one per tfjs buffer, so tfjs' reuse pattern (and
//               so its peak memory) is kept and nothing tfjs allocates later
//               can alias them
//               uniforms: their bytes as written during the step, packed in
//               one plan-owned buffer; the optimizer's per-step constants
//               (lr, bias corrections) get a buffer of their own, rewritten
//               per replay
//             then one bind group per dispatch, made once
//   replay    one command encoder, one compute pass, every dispatch from its
//             cached pipeline and bind group, the step's loss copied into a
//             ring that the Trainer reads every logInterval steps; one submit.
//             No tfjs op, no tensor, no bind group, no upload besides the batch.
//
// Anything the plan cannot own refuses to record (a readback inside the
// step, an upload that is not the batch, a tensor made before the step that
// is not a variable, timestamp queries, indirect dispatches): the Trainer
// then stays eager and says why. Pure TypeScript over the WebGPU API: the
// same file records in Node (Dawn) and in the browser's worker.

import * as tf from '@tensorflow/tfjs';
import { adoptFreeBuffer, bufferOf, releaseFreeBuffers, submitPending, type WebGPUBackendInternals } from '../tfjs-internals';
import { COPY_DST, COPY_SRC, MAP_READ, MAP_WRITE, NotRecordable, STORAGE, UNIFORM, type Captured } from './capture';

export { Capture, NotRecordable, noteStepUniform, type CaptureSpec } from './capture';

type Op =
  | { kind: 'dispatch'; pipeline: GPUComputePipeline; bindGroup: GPUBindGroup; groups: [number, number, number] }
  | { kind: 'copy'; src: GPUBuffer; srcOffset: number; dst: GPUBuffer; dstOffset: number; size: number };

/** The recorded step: its own buffers and bind groups, replayed with one submit. */
export class StepPlan {
  readonly device: GPUDevice;
  /** Dispatches per replay. */
  readonly dispatches: number;
  /** Bytes of GPU memory the plan owns (intermediates, inputs, uniforms, loss ring). */
  readonly ownedBytes: number;
  private readonly b: WebGPUBackendInternals;
  private readonly ops: Op[];
  private readonly inputs: GPUBuffer[];
  private readonly stepUniform: GPUBuffer | null;
  private readonly loss: GPUBuffer;
  private readonly ring: GPUBuffer;
  private readonly staging: GPUBuffer;
  private readonly ringSize: number;
  private readonly owned: GPUBuffer[] = [];
  /** The variables and the buffers they had when recorded: a replay is valid only while they still do. */
  private readonly variables: { v: tf.Variable; dataId: object; buffer: GPUBuffer }[];
  private slots = 0;

  /** Own a captured step; `ringSize`: the most losses kept between reads. Throws NotRecordable when it cannot. */
  constructor(c: Captured, ringSize: number) {
    const { b, spec } = c;
    try {
      this.b = b;
      this.device = b.device;
      this.ringSize = ringSize;
      const device = this.device;
      // Twins keep their original's exact size: a shader's arrayLength() must not change.
      const own = (size: number, usage: number) => {
        const buf = device.createBuffer({ size: Math.max(4, Math.ceil(size / 4) * 4), usage });
        this.owned.push(buf);
        return buf;
      };
      this.variables = spec.variables.map((v) => ({ v, dataId: v.dataId, buffer: bufferOf(b, v) }));
      const kept = new Set<GPUBuffer>([...this.variables.map((x) => x.buffer), ...spec.ownBuffers]);

      // Storage buffers: the batch and the intermediates become the plan's own. The step's
      // temporaries are back in tfjs' pool once its work is submitted: the plan takes those
      // very buffers out of it (no second copy of the working set); a buffer a live tensor
      // still holds (the step's loss) gets a twin of the same size.
      submitPending(b);
      const twin = new Map<GPUBuffer, GPUBuffer>();
      const take = (buf: GPUBuffer, usage: number): GPUBuffer => {
        if ((buf.usage & usage) === usage && adoptFreeBuffer(b, buf)) {
          this.owned.push(buf);
          return buf;
        }
        return own(buf.size, buf.usage | usage);
      };
      // The batch gets buffers of its own (written per replay); `at` tells a batch use of a
      // pooled buffer from an earlier intermediate's use of the same buffer.
      this.inputs = new Array(spec.inputs.length);
      for (const [buf, { i }] of c.inputBuffers) this.inputs[i] = own(buf.size, STORAGE | COPY_SRC | COPY_DST);
      const storage = (buf: GPUBuffer, at: number): GPUBuffer => {
        const input = c.inputBuffers.get(buf);
        if (input && at >= input.at) return this.inputs[input.i];
        const t = twin.get(buf);
        if (t) return t;
        if (kept.has(buf)) return buf;
        if (c.acquired.has(buf)) {
          if ((buf.usage & (MAP_READ | MAP_WRITE)) !== 0) throw new NotRecordable('the step binds a mapped staging buffer');
          const n = take(buf, COPY_SRC | COPY_DST);
          twin.set(buf, n);
          return n;
        }
        throw new NotRecordable('the step reads a tensor made before it that is not a parameter or moment (it could be freed and reused)');
      };

      // Uniforms: their bytes packed once, at the device's offset alignment; identical contents shared.
      const align = device.limits.minUniformBufferOffsetAlignment;
      const packed: Uint8Array[] = [];
      const offsetOf = new Map<string, number>();
      let uniformBytes = 0;
      const place = (bytes: Uint8Array): number => {
        const key = Array.from(bytes).join(',');
        let off = offsetOf.get(key);
        if (off === undefined) {
          off = uniformBytes;
          offsetOf.set(key, off);
          packed.push(bytes);
          uniformBytes += Math.ceil(bytes.length / align) * align;
        }
        return off;
      };
      this.stepUniform = c.stepUniform ? own(c.stepUniform.length, UNIFORM | COPY_DST) : null;
      type Entry = { binding: number; buffer: GPUBuffer | 'uniforms'; offset: number; size?: number };
      const layouts: { layout: GPUBindGroupLayout; entries: Entry[] }[] = [];
      const descs = new Map<GPUBindGroup, number>();
      for (const cmd of c.commands) {
        if (cmd.kind !== 'dispatch' || descs.has(cmd.bindGroup)) continue;
        const d = c.bindGroups.get(cmd.bindGroup);
        if (!d) throw new NotRecordable('a dispatch binds a bind group made before the step');
        const entries: Entry[] = d.entries.map((e) => {
          const isUniform = (e.buffer.usage & UNIFORM) !== 0 && (e.buffer.usage & STORAGE) === 0;
          if (isUniform && c.stepUniform && d.uniformBytes.get(e.buffer) === c.stepUniform)
            return { binding: e.binding, buffer: this.stepUniform!, offset: e.offset, size: e.size };
          if (isUniform && d.uniformBytes.has(e.buffer)) {
            const all = d.uniformBytes.get(e.buffer)!;
            const size = e.size ?? all.length - e.offset;
            return { binding: e.binding, buffer: 'uniforms', offset: place(all.slice(e.offset, e.offset + size)), size };
          }
          if (isUniform && !kept.has(e.buffer)) throw new NotRecordable('a dispatch binds a uniform written before the step');
          return { binding: e.binding, buffer: isUniform ? e.buffer : storage(e.buffer, d.at), offset: e.offset, size: e.size };
        });
        descs.set(cmd.bindGroup, layouts.length);
        layouts.push({ layout: d.layout, entries });
      }
      const uniforms = own(Math.max(uniformBytes, 16), UNIFORM | COPY_DST);
      let at = 0;
      for (const bytes of packed) {
        const padded = new Uint8Array(Math.ceil(bytes.length / 4) * 4); // writeBuffer takes whole words
        padded.set(bytes);
        device.queue.writeBuffer(uniforms, at, padded);
        at += Math.ceil(bytes.length / align) * align;
      }
      const groups = layouts.map(({ layout, entries }) =>
        device.createBindGroup({
          layout,
          entries: entries.map((e) => ({
            binding: e.binding,
            resource: { buffer: e.buffer === 'uniforms' ? uniforms : e.buffer, offset: e.offset, size: e.size },
          })),
        }),
      );

      this.ops = [];
      for (const [k, cmd] of c.commands.entries()) {
        if (cmd.kind === 'dispatch') {
          this.ops.push({ kind: 'dispatch', pipeline: cmd.pipeline, bindGroup: groups[descs.get(cmd.bindGroup)!], groups: cmd.groups });
        } else {
          const input = c.inputBuffers.get(cmd.dst);
          if (input && k >= input.at) continue; // the batch's upload: replay writes it directly
          if ((cmd.src.usage & MAP_WRITE) !== 0) throw new NotRecordable('the step uploads data through a staging buffer');
          this.ops.push({
            kind: 'copy',
            src: storage(cmd.src, k),
            srcOffset: cmd.srcOffset,
            dst: storage(cmd.dst, k),
            dstOffset: cmd.dstOffset,
            size: cmd.size,
          });
        }
      }
      this.dispatches = this.ops.filter((o) => o.kind === 'dispatch').length;
      const loss = twin.get(c.lossBuffer);
      if (!loss) throw new NotRecordable('the loss was not computed inside the step');
      this.loss = loss;
      this.ring = own(4 * this.ringSize, STORAGE | COPY_SRC | COPY_DST);
      this.staging = own(4 * this.ringSize, MAP_READ | COPY_DST);
      this.ownedBytes = this.owned.reduce((s, x) => s + x.size, 0);
      // tfjs' pool still holds the buffers the eager steps freed; the plan has its own now.
      releaseFreeBuffers(b);
    } catch (e) {
      // nothing taken from tfjs' pool or made here may leak when the step cannot be owned
      for (const buf of this.owned) buf.destroy();
      this.owned.length = 0;
      throw e;
    }
  }

  /** Whether the variables still have the buffers the plan binds (a restore or assign replaces them). */
  valid(): boolean {
    if (this.b.device !== this.device || (tf.backend() as unknown) !== (this.b as unknown)) return false;
    for (const x of this.variables) {
      if (x.v.isDisposed || x.v.dataId !== x.dataId) return false;
      if (this.b.tensorMap.get(x.dataId)?.resource !== x.buffer) return false;
    }
    return true;
  }

  /** Losses replayed since the last read. */
  get pending(): number {
    return this.slots;
  }

  get capacity(): number {
    return this.ringSize;
  }

  /**
   * One training step: the batch (in the capture's input order) and the
   * optimizer's step constants written, every dispatch re-encoded from its
   * cached bind group, one submit. Returns the ring slot holding its loss.
   */
  replay(inputs: ArrayBufferView[], stepConstants: Float32Array | null): number {
    if (this.slots >= this.ringSize) throw new Error(`the loss ring is full (${this.ringSize}): read the losses first`);
    const { b, device } = this;
    // Whatever tfjs queued (an evaluation, a sample) runs first.
    submitPending(b);
    const q = device.queue;
    for (let i = 0; i < inputs.length; i++) q.writeBuffer(this.inputs[i], 0, inputs[i].buffer, inputs[i].byteOffset, inputs[i].byteLength);
    if (this.stepUniform && stepConstants) q.writeBuffer(this.stepUniform, 0, stepConstants.buffer, stepConstants.byteOffset, stepConstants.byteLength);
    // The CPU copies tfjs keeps of values it has read go stale: the next read goes to the GPU.
    for (const x of this.variables) {
      const d = b.tensorMap.get(x.dataId);
      if (d && d.values != null) d.values = null;
    }
    const enc = device.createCommandEncoder();
    let pass: GPUComputePassEncoder | null = enc.beginComputePass();
    let pipeline: GPUComputePipeline | null = null;
    for (const op of this.ops) {
      if (op.kind === 'dispatch') {
        if (!pass) {
          pass = enc.beginComputePass();
          pipeline = null;
        }
        if (op.pipeline !== pipeline) pass.setPipeline((pipeline = op.pipeline));
        pass.setBindGroup(0, op.bindGroup);
        pass.dispatchWorkgroups(op.groups[0], op.groups[1], op.groups[2]);
      } else {
        if (pass) pass.end();
        pass = null;
        enc.copyBufferToBuffer(op.src, op.srcOffset, op.dst, op.dstOffset, op.size);
      }
    }
    pass?.end();
    const slot = this.slots++;
    enc.copyBufferToBuffer(this.loss, 0, this.ring, 4 * slot, 4);
    q.submit([enc.finish()]);
    return slot;
  }

  /** The losses of the replays since the last read, in order (one readback). */
  async readLosses(): Promise<number[]> {
    const n = this.slots;
    if (n === 0) return [];
    this.slots = 0;
    const { b, device } = this;
    submitPending(b);
    const enc = device.createCommandEncoder();
    enc.copyBufferToBuffer(this.ring, 0, this.staging, 0, 4 * n);
    device.queue.submit([enc.finish()]);
    await this.staging.mapAsync(MAP_READ, 0, 4 * n);
    const values = Array.from(new Float32Array(this.staging.getMappedRange(0, 4 * n).slice(0)));
    this.staging.unmap();
    return values;
  }

  dispose(): void {
    for (const buf of this.owned) buf.destroy();
    this.owned.length = 0;
  }
}
