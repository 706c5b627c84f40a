// Fused AdamW on WebGPU: the whole optimizer step, clipping included, in
// ceil(P/6) + 1 + ceil(P/2) dispatches for P parameter tensors (baby: 52
// tensors, 9 + 1 + 26 = 36) instead of ~17 tfjs kernels per tensor plus ~258
// single-number constant uploads.
//
//   1. sumsq   one workgroup per gradient, up to 6 gradients per dispatch:
//              partial[k] = sum(g_k^2), a fixed-order tree reduction
//   2. scale   one thread sums the P partials in order: scale = clip / max(|g|, clip)
//   3. update  up to 2 tensors per dispatch, one thread per element, in place:
//                g  = grad * scale
//                m  = beta1 m + (1 - beta1) g
//                v  = beta2 v + (1 - beta2) g^2
//                u  = (m / bc1) / (sqrt(v / bc2) + eps)  (+ wd p where decays())
//                p  = p - lr u
//
// The arithmetic is train.ts' generic AdamW (adamwStep) operation for
// operation in float32, so both give the same numbers to float32 rounding
// (tests/webgpu-adamw.test.ts checks 50 steps). The per-step constants (lr and
// the two bias corrections) travel as one 16-byte uniform; everything else is
// written once. The moments stay the Trainer's tf.Variables (checkpoints save
// them unchanged); this kernel writes their buffers in place, which is why the
// Trainer calls ensureExclusive() outside its tidy (a buffer shared with another
// tensor is first copied).
//
// Bindings are within WebGPU's default limits (8 storage buffers per stage):
// sumsq binds 1 + 6, update binds 2 x (p, m, v, g).

import * as tf from '@tensorflow/tfjs';
import { bufferOf, grid, writableBufferOf, recordDispatch, releaseUniform, transientUniform, webgpuBackend } from './stream';
import { noteStepUniform } from './capture';
import { submitPending } from '../tfjs-internals';

export interface AdamWHyper {
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
  /** Global-norm clip; 0 = no clipping. */
  gradClip: number;
}

/** One parameter tensor and its state, in a fixed order. */
export interface AdamWSlot {
  name: string;
  p: tf.Variable;
  m: tf.Variable;
  v: tf.Variable;
  /** Weight decay applies (train.ts' decays() and weightDecay > 0). */
  decay: boolean;
}

const WG = 256;
const SUMSQ_PER_DISPATCH = 6;
const UPDATE_PER_DISPATCH = 2;

function sumsqShader(): string {
  const decl = Array.from({ length: SUMSQ_PER_DISPATCH }, (_, j) => `@group(0) @binding(${1 + j}) var<storage, read> g${j}: array<f32>;`).join('\n');
  const cases = Array.from(
    { length: SUMSQ_PER_DISPATCH },
    (_, j) => `case ${j}u: { for (var i = lid; i < n; i += ${WG}u) { let x = g${j}[i]; s += x * x; } }`,
  ).join('\n      ');
  return `
struct Group { n: array<vec4<u32>, 2>, base: u32, count: u32 };
@group(0) @binding(0) var<storage, read_write> partial: array<f32>;
${decl}
@group(0) @binding(${1 + SUMSQ_PER_DISPATCH}) var<uniform> G: Group;
var<workgroup> acc: array<f32, ${WG}>;
@compute @workgroup_size(${WG})
fn main(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>) {
  let j = wid.x;
  let n = G.n[j / 4u][j % 4u];
  var s = 0.0;
  switch j {
      ${cases}
      default: {}
  }
  acc[lid] = s;
  workgroupBarrier();
  for (var w = ${WG / 2}u; w > 0u; w = w >> 1u) {
    if (lid < w) { acc[lid] = acc[lid] + acc[lid + w]; }
    workgroupBarrier();
  }
  if (lid == 0u && j < G.count) { partial[G.base + j] = acc[0]; }
}`;
}

const SCALE_SHADER = `
struct Hyper { b1: f32, omb1: f32, b2: f32, omb2: f32, eps: f32, wd: f32, clip: f32, count: u32 };
@group(0) @binding(0) var<storage, read_write> scale: array<f32>;
@group(0) @binding(1) var<storage, read> partial: array<f32>;
@group(0) @binding(2) var<uniform> H: Hyper;
@compute @workgroup_size(1)
fn main() {
  var total = 0.0;
  for (var k = 0u; k < H.count; k++) { total += partial[k]; }
  scale[0] = H.clip / max(sqrt(total), H.clip);
}`;

function updateShader(count: number): string {
  const decl: string[] = [];
  const body: string[] = [];
  for (let j = 0; j < count; j++) {
    const b = 4 * j;
    decl.push(`@group(0) @binding(${b}) var<storage, read_write> p${j}: array<f32>;
@group(0) @binding(${b + 1}) var<storage, read_write> m${j}: array<f32>;
@group(0) @binding(${b + 2}) var<storage, read_write> v${j}: array<f32>;
@group(0) @binding(${b + 3}) var<storage, read> g${j}: array<f32>;`);
    body.push(`  if (i < T.n[${j}]) {
    let g = g${j}[i] * s;
    let m = m${j}[i] * H.b1 + g * H.omb1;
    let v = v${j}[i] * H.b2 + (g * g) * H.omb2;
    var u = (m / S.bc1) / (sqrt(v / S.bc2) + H.eps);
    let p = p${j}[i];
    if (T.decay[${j}] != 0u) { u = u + p * H.wd; }
    m${j}[i] = m;
    v${j}[i] = v;
    p${j}[i] = p - u * S.lr;
  }`);
  }
  const u = 4 * count;
  return `
struct Hyper { b1: f32, omb1: f32, b2: f32, omb2: f32, eps: f32, wd: f32, clip: f32, count: u32 };
struct Step { lr: f32, bc1: f32, bc2: f32, pad: f32 };
struct Tensors { n: vec2<u32>, decay: vec2<u32> };
struct Scale { s: f32, pad0: f32, pad1: f32, pad2: f32 };
${decl.join('\n')}
@group(0) @binding(${u}) var<uniform> H: Hyper;
@group(0) @binding(${u + 1}) var<uniform> S: Step;
@group(0) @binding(${u + 2}) var<uniform> T: Tensors;
@group(0) @binding(${u + 3}) var<uniform> C: Scale;
@compute @workgroup_size(${WG})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * ${WG}u;
  let s = C.s;
${body.join('\n')}
}`;
}

interface Pipelines {
  sumsq: GPUComputePipeline;
  scale: GPUComputePipeline;
  update: GPUComputePipeline[]; // by tensors per dispatch - 1
}

/** Compiled once per device: no shader compiles after the first step. */
const pipelineCache = new WeakMap<GPUDevice, Pipelines>();

function pipelines(device: GPUDevice): Pipelines {
  let p = pipelineCache.get(device);
  if (!p) {
    const make = (code: string, label: string) =>
      device.createComputePipeline({ label, layout: 'auto', compute: { module: device.createShaderModule({ code, label }), entryPoint: 'main' } });
    p = {
      sumsq: make(sumsqShader(), 'adamw_sumsq'),
      scale: make(SCALE_SHADER, 'adamw_scale'),
      update: Array.from({ length: UPDATE_PER_DISPATCH }, (_, k) => make(updateShader(k + 1), `adamw_update${k + 1}`)),
    };
    pipelineCache.set(device, p);
  }
  return p;
}

export class FusedAdamW {
  readonly slots: AdamWSlot[];
  private readonly hyper: AdamWHyper;
  private readonly device: GPUDevice;
  private readonly pipes: Pipelines;
  /** Per-tensor sums of squares, then the clip scale (written by the GPU only). */
  private readonly partial: GPUBuffer;
  private readonly scale: GPUBuffer;
  private readonly hyperBuf: GPUBuffer;
  private readonly groupBufs: GPUBuffer[] = [];
  private readonly tensorBufs: GPUBuffer[] = [];
  private readonly owned: GPUBuffer[] = [];

  constructor(slots: AdamWSlot[], hyper: AdamWHyper) {
    const b = webgpuBackend();
    this.slots = slots;
    this.hyper = hyper;
    this.device = b.device;
    this.pipes = pipelines(b.device);
    const P = slots.length;
    const buffer = (size: number, usage: number, data?: ArrayBuffer) => {
      const buf = this.device.createBuffer({ size: Math.max(16, Math.ceil(size / 16) * 16), usage });
      if (data) this.device.queue.writeBuffer(buf, 0, data);
      this.owned.push(buf);
      return buf;
    };
    this.partial = buffer(4 * P, GPUBufferUsage.STORAGE);
    this.scale = buffer(16, GPUBufferUsage.STORAGE | GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST, new Float32Array([1, 0, 0, 0]).buffer);
    const h = new ArrayBuffer(32);
    new Float32Array(h, 0, 7).set([hyper.beta1, 1 - hyper.beta1, hyper.beta2, 1 - hyper.beta2, hyper.eps, hyper.weightDecay, hyper.gradClip]);
    new Uint32Array(h, 28, 1)[0] = P;
    this.hyperBuf = buffer(32, GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST, h);
    for (let base = 0; base < P; base += SUMSQ_PER_DISPATCH) {
      const g = new Uint32Array(12);
      const count = Math.min(SUMSQ_PER_DISPATCH, P - base);
      for (let j = 0; j < count; j++) g[j] = slots[base + j].p.size;
      g[8] = base;
      g[9] = count;
      this.groupBufs.push(buffer(48, GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST, g.buffer));
    }
    for (let base = 0; base < P; base += UPDATE_PER_DISPATCH) {
      const t = new Uint32Array(4);
      for (let j = 0; j < Math.min(UPDATE_PER_DISPATCH, P - base); j++) {
        t[j] = slots[base + j].p.size;
        t[2 + j] = slots[base + j].decay ? 1 : 0;
      }
      this.tensorBufs.push(buffer(16, GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST, t.buffer));
    }
  }

  /** The per-step uniform: lr and the two bias corrections for Adam step t (1-based). */
  stepConstants(lr: number, t: number): Float32Array {
    return new Float32Array([lr, 1 - Math.pow(this.hyper.beta1, t), 1 - Math.pow(this.hyper.beta2, t), 0]);
  }

  /** The optimizer's own buffers (partial sums, clip scale, constants): a recorded step binds them as they are. */
  get ownBuffers(): GPUBuffer[] {
    return [...this.owned];
  }

  /** Dispatches one step records (for the budget in PERFORMANCE.md and the counter test). */
  get dispatchesPerStep(): number {
    const P = this.slots.length;
    return (this.hyper.gradClip > 0 ? Math.ceil(P / SUMSQ_PER_DISPATCH) + 1 : 0) + Math.ceil(P / UPDATE_PER_DISPATCH);
  }

  /**
   * Give every parameter and moment its own GPU buffer before it is written in
   * place: a variable restored by assign() may share its buffer with another
   * tensor (a checkpoint's). Call outside any tidy, between steps.
   */
  ensureExclusive(): void {
    const b = webgpuBackend();
    for (const s of this.slots) {
      for (const v of [s.p, s.m, s.v]) {
        if (b.refCount(v.dataId) > 1) {
          const copy = tf.tidy(() => tf.add(v, tf.zerosLike(v))); // a new buffer with the same values
          v.assign(copy);
          copy.dispose();
        }
      }
    }
  }

  /**
   * Record one optimizer step. `grads[i]` is the gradient of slots[i].p; `t`
   * the Adam step (1-based) for the bias corrections. Nothing is read back.
   */
  step(grads: tf.Tensor[], lr: number, t: number): void {
    const b = webgpuBackend();
    if (b.device !== this.device) throw new Error('the webgpu device changed since this optimizer was built');
    if (grads.length !== this.slots.length) throw new Error(`expected ${this.slots.length} gradients, got ${grads.length}`);
    const { slots } = this;
    const P = slots.length;
    if (this.hyper.gradClip > 0) {
      for (let base = 0, k = 0; base < P; base += SUMSQ_PER_DISPATCH, k++) {
        const group = grads.slice(base, base + SUMSQ_PER_DISPATCH);
        const entries: GPUBindGroupEntry[] = [{ binding: 0, resource: { buffer: this.partial } }];
        for (let j = 0; j < SUMSQ_PER_DISPATCH; j++) entries.push({ binding: 1 + j, resource: { buffer: bufferOf(b, group[Math.min(j, group.length - 1)]) } });
        entries.push({ binding: 1 + SUMSQ_PER_DISPATCH, resource: { buffer: this.groupBufs[k] } });
        const bg = this.device.createBindGroup({ layout: this.pipes.sumsq.getBindGroupLayout(0), entries });
        recordDispatch(b, 'AdamWSumSq', this.pipes.sumsq, bg, [group.length, 1], group);
      }
      const bg = this.device.createBindGroup({
        layout: this.pipes.scale.getBindGroupLayout(0),
        entries: [
          { binding: 0, resource: { buffer: this.scale } },
          { binding: 1, resource: { buffer: this.partial } },
          { binding: 2, resource: { buffer: this.hyperBuf } },
        ],
      });
      recordDispatch(b, 'AdamWScale', this.pipes.scale, bg, [1, 1], []);
    }
    const stepConsts = transientUniform(b, this.stepConstants(lr, t).buffer as ArrayBuffer);
    noteStepUniform(stepConsts); // a recorded step rewrites these per replay (record.ts)
    for (let base = 0, k = 0; base < P; base += UPDATE_PER_DISPATCH, k++) {
      const count = Math.min(UPDATE_PER_DISPATCH, P - base);
      const pipe = this.pipes.update[count - 1];
      const entries: GPUBindGroupEntry[] = [];
      const used: tf.Tensor[] = [];
      let n = 0;
      for (let j = 0; j < count; j++) {
        const s = slots[base + j];
        const g = grads[base + j];
        if (g.size !== s.p.size) throw new Error(`gradient of ${s.name} has ${g.size} elements, the parameter ${s.p.size}`);
        // p, m, v are written in place (their CPU copies, if any, go stale); g is only read.
        [s.p, s.m, s.v, g].forEach((x, r) => entries.push({ binding: 4 * j + r, resource: { buffer: r < 3 ? writableBufferOf(b, x) : bufferOf(b, x) } }));
        used.push(s.p, s.m, s.v, g);
        n = Math.max(n, s.p.size);
      }
      const u = 4 * count;
      entries.push(
        { binding: u, resource: { buffer: this.hyperBuf } },
        { binding: u + 1, resource: { buffer: stepConsts } },
        { binding: u + 2, resource: { buffer: this.tensorBufs[k] } },
        { binding: u + 3, resource: { buffer: this.scale } },
      );
      const bg = this.device.createBindGroup({ layout: pipe.getBindGroupLayout(0), entries });
      recordDispatch(b, 'AdamWUpdate', pipe, bg, grid(Math.ceil(n / WG), this.device.limits.maxComputeWorkgroupsPerDimension), used);
    }
    releaseUniform(b, stepConsts); // after its last user: a submit between the update dispatches must not free it
  }

  /** Free the optimizer's own buffers (after submitting any recorded work that uses them). */
  dispose(): void {
    if (tf.getBackend() === 'webgpu') {
      const b = webgpuBackend();
      submitPending(b);
    }
    for (const buf of this.owned) buf.destroy();
    this.owned.length = 0;
  }
}
