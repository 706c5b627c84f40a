// Capturing one training step at the WebGPU API (record.ts replays it).
//
// Between begin() and finish() every call that issues GPU work is observed:
// pass.setPipeline / setBindGroup / dispatchWorkgroups, encoder.copyBufferToBuffer,
// device.createBindGroup, queue.writeBuffer (uniform bytes), tfjs' uploadToGPU
// (which buffer the batch lands in, and from which command on) and acquireBuffer
// (which buffers the step took from tfjs' pool). The patches are removed at
// finish() or abort(), whatever happens. Anything a plan could not own (a
// readback, an upload besides the batch, indirect dispatches, textures)
// refuses the capture with one line.

import * as tf from '@tensorflow/tfjs';
import { bufferOf, submitPending, webgpuBackend, type WebGPUBackendInternals } from '../tfjs-internals';

export const UNIFORM = 0x0040; // GPUBufferUsage.UNIFORM
export const STORAGE = 0x0080; // GPUBufferUsage.STORAGE
export const COPY_SRC = 0x0004;
export const COPY_DST = 0x0008;
export const MAP_READ = 0x0001;
export const MAP_WRITE = 0x0002;

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
export type Command = Dispatch | Copy;

export interface BindGroupDesc {
  layout: GPUBindGroupLayout;
  entries: { binding: number; buffer: GPUBuffer; offset: number; size?: number }[];
  /** Bytes of each uniform buffer at the time the bind group was made (tfjs writes them just before). */
  uniformBytes: Map<GPUBuffer, Uint8Array>;
  /** Index of the command it was made for (the next dispatch): which lifetime of a pooled buffer it binds. */
  at: number;
}

/**
 * Observe calls of obj[key] until undo(): `before(args)` runs first, `after(args, result)`
 * once the original has returned; the original method is put back by undo().
 */
function observe(obj: object, key: string, undo: (() => void)[], before?: (a: unknown[]) => void, after?: (a: unknown[], r: unknown) => void): void {
  const o = obj as Record<string, unknown>;
  const own = Object.prototype.hasOwnProperty.call(o, key);
  const orig = o[key] as Fn;
  if (typeof orig !== 'function') throw new NotRecordable(`this WebGPU implementation has no ${key}`);
  o[key] = function (this: unknown, ...a: unknown[]) {
    before?.(a);
    const r = orig.apply(this, a);
    after?.(a, r);
    return r;
  };
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
    observe(passProto, 'setPipeline', undo, (a) => (this.pipeline = a[0] as GPUComputePipeline));
    observe(passProto, 'setBindGroup', undo, (a) => {
      if (a[0] !== 0 || (a[2] != null && (a[2] as ArrayLike<number>).length > 0))
        this.refuse('a dispatch uses a bind group index other than 0 or dynamic offsets');
      this.bindGroup = a[1] as GPUBindGroup;
    });
    observe(passProto, 'dispatchWorkgroups', undo, (a) => {
      if (!this.pipeline || !this.bindGroup) return this.refuse('a dispatch without a pipeline or bind group');
      const groups: [number, number, number] = [a[0] as number, (a[1] as number) ?? 1, (a[2] as number) ?? 1];
      this.commands.push({ kind: 'dispatch', pipeline: this.pipeline, bindGroup: this.bindGroup, groups });
    });
    observe(encProto, 'copyBufferToBuffer', undo, (a) => {
      const [src, srcOffset, dst, dstOffset, size] = a as [GPUBuffer, number, GPUBuffer, number, number];
      this.commands.push({ kind: 'copy', src, srcOffset, dst, dstOffset, size });
    });
    const refused: [object, string, string][] = [
      [passProto, 'dispatchWorkgroupsIndirect', 'an indirect dispatch'],
      ...['clearBuffer', 'resolveQuerySet', 'copyBufferToTexture', 'copyTextureToBuffer', 'copyTextureToTexture'].map((k): [object, string, string] => [
        encProto,
        k,
        `the step calls ${k}`,
      ]),
    ];
    for (const [obj, key, why] of refused) {
      if (typeof (obj as Record<string, unknown>)[key] === 'function') observe(obj, key, undo, () => this.refuse(why));
    }
    observe(device, 'createBindGroup', undo, undefined, (a, bg) => this.noteBindGroup(bg as GPUBindGroup, a[0] as GPUBindGroupDescriptor));
    observe(device.queue, 'writeBuffer', undo, (a) => this.noteWrite(a));
    const probe = device.createBuffer({ size: 4, usage: MAP_READ | COPY_DST });
    const bufferProto = Object.getPrototypeOf(probe) as object;
    probe.destroy();
    observe(bufferProto, 'mapAsync', undo, (a) => {
      if (((a[0] as number) & MAP_READ) !== 0) this.refuse('the step reads data back from the GPU');
    });
    // The batch's uploads: which buffer each input lands in, and from which command on (see inputBuffers).
    let uploading: { id: object; at: number } | null = null;
    observe(
      b,
      'uploadToGPU',
      undo,
      (a) => {
        const d = b.tensorMap.get(a[0] as object);
        uploading = d != null && d.resource == null && d.values != null ? { id: a[0] as object, at: this.commands.length } : null;
      },
      () => {
        if (!uploading) return;
        const i = this.inputIds.get(uploading.id);
        if (i === undefined) this.refuse('the step uploads data besides the batch (a constant made on the CPU)');
        else this.inputBuffers.set(b.tensorMap.get(uploading.id)!.resource as GPUBuffer, { i, at: uploading.at });
        uploading = null;
      },
    );
    observe(b.bufferManager, 'acquireBuffer', undo, undefined, (_, buf) => this.acquired.add(buf as GPUBuffer));
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
   * Stop observing and hand over what the step issued (record.ts' StepPlan
   * owns it from there). `loss` is the step's device-side loss (a scalar made
   * during the step). Throws NotRecordable (patches removed) when the step cannot be owned.
   */
  finish(loss: tf.Tensor): Captured {
    const lossBuffer = bufferOf(this.b, loss);
    this.remove();
    if (this.refusal) throw new NotRecordable(this.refusal);
    if (this.inputBuffers.size !== this.spec.inputs.length) throw new NotRecordable('the step did not upload its whole batch');
    return {
      b: this.b,
      spec: this.spec,
      commands: this.commands,
      bindGroups: this.bindGroups,
      acquired: this.acquired,
      inputBuffers: this.inputBuffers,
      stepUniform: this.stepUniform,
      lossBuffer,
    };
  }
}

/** One captured step: its commands, bind groups and buffers, as the plan needs them. */
export interface Captured {
  b: WebGPUBackendInternals;
  spec: CaptureSpec;
  commands: Command[];
  bindGroups: Map<GPUBindGroup, BindGroupDesc>;
  acquired: Set<GPUBuffer>;
  inputBuffers: Map<GPUBuffer, { i: number; at: number }>;
  stepUniform: Uint8Array | null;
  lossBuffer: GPUBuffer;
}
