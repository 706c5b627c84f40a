// A recorded training step: capture once, replay from cached bind groups.
//
// On a real GPU a small model's step is bound by the CPU work of issuing it:
// tfjs' per-op JavaScript (kernel lookup, tape, tensor bookkeeping, a uniform
// write) and a new bind group per dispatch cost ~14 ms for `baby` where the
// GPU needs far less. A training step, however, issues exactly the same
// dispatches every time: same pipelines, same shapes, same buffers (tfjs'
// pool hands them out in the same order). So the Trainer runs one step
// eagerly under capture, and this file keeps what it issued:
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
import { adoptFreeBuffer, bufferOf, releaseFreeBuffers, submitPending, webgpuBackend, type WebGPUBackendInternals } from '../tfjs-internals';

const UNIFORM = 0x0040; // GPUBufferUsage.UNIFORM
const STORAGE = 0x0080; // GPUBufferUsage.STORAGE
const COPY_SRC = 0x0004;
const COPY_DST = 0x0008;
const MAP_READ = 0x0001;
const MAP_WRITE = 0x0002;

type Fn = (...args: unknown[]) => unknown;

/** Why a step could not be recorded: the Trainer runs it eagerly and reports this line. */
export class NotRecordable extends Error {
  override name = 'NotRecordable';
}

interface Dispatch {
  kind: 'dispatch';
  pipeline: GPUComputePipeline;
  bindGroup: GPUBindGroup;
  groups: [number, number, number];
}
interface Copy {
  kind: 'copy';
  src: GPUBuffer;
  srcOffset: number;
  dst: GPUBuffer;
  dstOffset: number;
  size: number;
}
type Command = Dispatch | Copy;

interface BindGroupDesc {
  layout: GPUBindGroupLayout;
  entries: { binding: number; buffer: GPUBuffer; offset: number; size?: number }[];
  /** Bytes of each uniform buffer at the time the bind group was made (tfjs writes them just before). */
  uniformBytes: Map<GPUBuffer, Uint8Array>;
  /** Index of the command it was made for (the next dispatch): which lifetime of a pooled buffer it binds. */
  at: number;
}

/** One restorable patch: obj[key] replaced, put back by undo(). */
function patch(obj: object, key: string, make: (orig: Fn) => Fn, undo: (() => void)[]): void {
  const o = obj as Record<string, unknown>;
  const own = Object.prototype.hasOwnProperty.call(o, key);
  const orig = o[key] as Fn;
  if (typeof orig !== 'function') throw new NotRecordable(`this WebGPU implementation has no ${key}`);
  o[key] = make(orig);
  undo.push(() => {
    if (own) o[key] = orig;
    else delete o[key];
  });
}

function bufferBinding(resource: unknown): { buffer: GPUBuffer; offset: number; size?: number } | null {
  const r = resource as { buffer?: GPUBuffer; offset?: number; size?: number } & Partial<GPUBuffer>;
  if (r && r.buffer && typeof r.buffer.size === 'number') return { buffer: r.buffer, offset: r.offset ?? 0, size: r.size };
  if (r && typeof r.size === 'number' && typeof r.usage === 'number') return { buffer: r as unknown as GPUBuffer, offset: 0 };
  return null; // a texture or sampler: not a training step's
}

/** What the Trainer declares about the step it is about to capture. */
export interface CaptureSpec {
  /** The batch tensors (int32, not yet uploaded), in the order replay() receives their data. */
  inputs: tf.Tensor[];
  /** Every variable the step may read or write in place (parameters, moments): bound as they are. */
  variables: tf.Variable[];
  /** Buffers owned by the caller's own code (the fused optimizer's): bound as they are. */
  ownBuffers: GPUBuffer[];
}

let active: Capture | null = null;

/**
 * Called by the fused optimizer with the uniform buffer it writes the step's
 * constants into: inside a capture it becomes the plan's per-replay uniform.
 */
export function noteStepUniform(buf: GPUBuffer): void {
  active?.noteStepUniform(buf);
}

/** An eager step being observed. begin() → run the step → finish(loss) or abort(). */
export class Capture {
  private readonly b: WebGPUBackendInternals;
  private readonly spec: CaptureSpec;
  private readonly undo: (() => void)[] = [];
  private readonly commands: Command[] = [];
  private readonly bindGroups = new Map<GPUBindGroup, BindGroupDesc>();
  private readonly uniformBytes = new Map<GPUBuffer, Uint8Array>();
  private readonly acquired = new Set<GPUBuffer>();
  /**
   * The batch's buffers: which input, and the command index from which on the buffer holds it.
   * tfjs may hand the batch a buffer from its pool that the step used before (a later
   * micro-batch's tokens in an earlier micro-batch's intermediate): uses before `at` are another tensor's.
   */
  private readonly inputBuffers = new Map<GPUBuffer, { i: number; at: number }>();
  private readonly inputIds: Map<object, number>;
  private pipeline: GPUComputePipeline | null = null;
  private bindGroup: GPUBindGroup | null = null;
  private refusal: string | null = null;
  /**
   * The bytes the optimizer wrote its step constants as. Matched by identity:
   * the same pooled buffer may carry a kernel's shapes earlier in the step.
   */
  private stepUniform: Uint8Array | null = null;

  private constructor(spec: CaptureSpec) {
    this.b = webgpuBackend();
    this.spec = spec;
    this.inputIds = new Map(spec.inputs.map((t, i) => [t.dataId, i]));
  }

  /** Start observing. Flushes tfjs' pending work first, so the capture holds this step alone. */
  static begin(spec: CaptureSpec): Capture {
    if (active) throw new Error('a step capture is already running');
    const c = new Capture(spec);
    const b = c.b;
    if (b.activeTimers != null) throw new NotRecordable('a profiler (tf.time / tf.profile) is timing kernels');
    submitPending(b);
    try {
      c.install();
    } catch (e) {
      c.remove();
      throw e;
    }
    active = c;
    return c;
  }

  private refuse(why: string): void {
    this.refusal ??= why;
  }

  private install(): void {
    const { b, undo } = this;
    const device = b.device;
    const enc = device.createCommandEncoder();
    const pass = enc.beginComputePass();
    const passProto = Object.getPrototypeOf(pass) as object;
    pass.end();
    const encProto = Object.getPrototypeOf(enc) as object;
    enc.finish(); // never submitted
    const self = this;
    patch(
      passProto,
      'setPipeline',
      (orig) =>
        function (this: unknown, ...a: unknown[]) {
          self.pipeline = a[0] as GPUComputePipeline;
          return orig.apply(this, a);
        },
      undo,
    );
    patch(
      passProto,
      'setBindGroup',
      (orig) =>
        function (this: unknown, ...a: unknown[]) {
          if (a[0] !== 0 || (a[2] != null && (a[2] as ArrayLike<number>).length > 0))
            self.refuse('a dispatch uses a bind group index other than 0 or dynamic offsets');
          self.bindGroup = a[1] as GPUBindGroup;
          return orig.apply(this, a);
        },
      undo,
    );
    patch(
      passProto,
      'dispatchWorkgroups',
      (orig) =>
        function (this: unknown, ...a: unknown[]) {
          if (!self.pipeline || !self.bindGroup) self.refuse('a dispatch without a pipeline or bind group');
          else
            self.commands.push({
              kind: 'dispatch',
              pipeline: self.pipeline,
              bindGroup: self.bindGroup,
              groups: [a[0] as number, (a[1] as number) ?? 1, (a[2] as number) ?? 1],
            });
          return orig.apply(this, a);
        },
      undo,
    );
    patch(
      passProto,
      'dispatchWorkgroupsIndirect',
      (orig) =>
        function (this: unknown, ...a: unknown[]) {
          self.refuse('an indirect dispatch');
          return orig.apply(this, a);
        },
      undo,
    );
    patch(
      encProto,
      'copyBufferToBuffer',
      (orig) =>
        function (this: unknown, ...a: unknown[]) {
          self.commands.push({
            kind: 'copy',
            src: a[0] as GPUBuffer,
            srcOffset: a[1] as number,
            dst: a[2] as GPUBuffer,
            dstOffset: a[3] as number,
            size: a[4] as number,
          });
          return orig.apply(this, a);
        },
      undo,
    );
    for (const key of ['clearBuffer', 'resolveQuerySet', 'copyBufferToTexture', 'copyTextureToBuffer', 'copyTextureToTexture']) {
      if (typeof (encProto as Record<string, unknown>)[key] !== 'function') continue;
      patch(
        encProto,
        key,
        (orig) =>
          function (this: unknown, ...a: unknown[]) {
            self.refuse(`the step calls ${key}`);
            return orig.apply(this, a);
          },
        undo,
      );
    }
    patch(
      device,
      'createBindGroup',
      (orig) =>
        function (this: unknown, ...a: unknown[]) {
          const bg = orig.apply(this, a) as GPUBindGroup;
          self.noteBindGroup(bg, a[0] as GPUBindGroupDescriptor);
          return bg;
        },
      undo,
    );
    patch(
      device.queue,
      'writeBuffer',
      (orig) =>
        function (this: unknown, ...a: unknown[]) {
          self.noteWrite(a);
          return orig.apply(this, a);
        },
      undo,
    );
    const probe = device.createBuffer({ size: 4, usage: MAP_READ | COPY_DST });
    const bufferProto = Object.getPrototypeOf(probe) as object;
    probe.destroy();
    patch(
      bufferProto,
      'mapAsync',
      (orig) =>
        function (this: unknown, ...a: unknown[]) {
          if (((a[0] as number) & MAP_READ) !== 0) self.refuse('the step reads data back from the GPU');
          return orig.apply(this, a);
        },
      undo,
    );
    patch(
      b,
      'uploadToGPU',
      (orig) =>
        function (this: unknown, ...a: unknown[]) {
          const id = a[0] as object;
          const d = b.tensorMap.get(id);
          const uploading = d != null && d.resource == null && d.values != null;
          const at = self.commands.length; // the upload's own copy (a pooled buffer's) is at this index
          const r = orig.apply(this, a);
          if (uploading) {
            const i = self.inputIds.get(id);
            if (i === undefined) self.refuse('the step uploads data besides the batch (a constant made on the CPU)');
            else self.inputBuffers.set(b.tensorMap.get(id)!.resource as GPUBuffer, { i, at });
          }
          return r;
        },
      undo,
    );
    const bm = b.bufferManager;
    patch(
      bm,
      'acquireBuffer',
      (orig) =>
        function (this: unknown, ...a: unknown[]) {
          const buf = orig.apply(this, a) as GPUBuffer;
          self.acquired.add(buf);
          return buf;
        },
      undo,
    );
  }

  private remove(): void {
    while (this.undo.length) this.undo.pop()!();
    if (active === this) active = null;
  }

  private noteBindGroup(bg: GPUBindGroup, desc: GPUBindGroupDescriptor): void {
    const entries: BindGroupDesc['entries'] = [];
    const uniformBytes = new Map<GPUBuffer, Uint8Array>();
    for (const e of desc.entries) {
      const bb = bufferBinding(e.resource);
      if (!bb) {
        this.refuse('a bind group binds a texture or sampler');
        continue;
      }
      entries.push({ binding: e.binding, ...bb });
      const bytes = this.uniformBytes.get(bb.buffer);
      if (bytes) uniformBytes.set(bb.buffer, bytes);
    }
    this.bindGroups.set(bg, { layout: desc.layout as GPUBindGroupLayout, entries, uniformBytes, at: this.commands.length });
  }

  private noteWrite(a: unknown[]): void {
    const buf = a[0] as GPUBuffer;
    const bufferOffset = a[1] as number;
    const data = a[2] as ArrayBuffer | ArrayBufferView;
    const elem = ArrayBuffer.isView(data) ? ((data as unknown as { BYTES_PER_ELEMENT?: number }).BYTES_PER_ELEMENT ?? 1) : 1;
    const dataOffset = ((a[3] as number | undefined) ?? 0) * elem;
    const view = ArrayBuffer.isView(data) ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength) : new Uint8Array(data);
    const size = a[4] !== undefined ? (a[4] as number) * elem : view.byteLength - dataOffset;
    if ((buf.usage & UNIFORM) === 0) {
      this.refuse('the step writes a storage buffer from the CPU');
      return;
    }
    const prev = this.uniformBytes.get(buf);
    const bytes = new Uint8Array(Math.max(buf.size, prev?.length ?? 0));
    if (prev) bytes.set(prev);
    bytes.set(view.subarray(dataOffset, dataOffset + size), bufferOffset);
    this.uniformBytes.set(buf, bytes);
  }

  noteStepUniform(buf: GPUBuffer): void {
    const bytes = this.uniformBytes.get(buf);
    if (!bytes || this.stepUniform) this.refuse('the optimizer wrote its step constants twice, or not through writeBuffer');
    else this.stepUniform = bytes;
  }

  /** Stop observing without a plan (the step threw). */
  abort(): void {
    this.remove();
  }

  /**
   * Stop observing and build the plan. `loss` is the step's device-side loss
   * (a scalar made during the step); `ringSize` the most losses kept between
   * reads. Throws NotRecordable (patches removed) when the step cannot be owned.
   */
  finish(loss: tf.Tensor, ringSize: number): StepPlan {
    const lossBuffer = bufferOf(this.b, loss);
    this.remove();
    if (this.refusal) throw new NotRecordable(this.refusal);
    if (this.inputBuffers.size !== this.spec.inputs.length) throw new NotRecordable('the step did not upload its whole batch');
    return new StepPlan(this.b, this.spec, {
      commands: this.commands,
      bindGroups: this.bindGroups,
      acquired: this.acquired,
      inputBuffers: this.inputBuffers,
      stepUniform: this.stepUniform,
      lossBuffer,
      ringSize,
    });
  }
}

interface Captured {
  commands: Command[];
  bindGroups: Map<GPUBindGroup, BindGroupDesc>;
  acquired: Set<GPUBuffer>;
  inputBuffers: Map<GPUBuffer, { i: number; at: number }>;
  stepUniform: Uint8Array | null;
  lossBuffer: GPUBuffer;
  ringSize: number;
}

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

  constructor(b: WebGPUBackendInternals, spec: CaptureSpec, c: Captured) {
    try {
      this.b = b;
      this.device = b.device;
      this.ringSize = c.ringSize;
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

/** The current webgpu backend's device, for callers that check before capturing. */
export function recordingBackendReady(): boolean {
  return tf.getBackend() === 'webgpu';
}
