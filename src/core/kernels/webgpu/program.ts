// How a fused kernel runs inside tfjs' webgpu backend: its WGSL, compiled once
// per device and variant, is recorded into the backend's own compute pass, on
// the backend's own buffers, so it orders correctly with tfjs' kernels, is
// submitted in the same command buffers, and its outputs are ordinary tensors.
//
// Why not tfjs' runWebGPUProgram: it binds exactly one output. A backward pass
// has several (LayerNorm: dx, dgain, dbias; attention: dq, dk, dv), and a
// tfjs Slice of one packed output is a copy dispatch each. This runner binds
// any number of outputs and makes the rest the way tfjs does (backend_webgpu.js
// recordAndSubmit: uniform buffer from the backend's pool, bind group), then
// records the dispatch through stream.ts, the one runner every own dispatch
// goes through (queue ownership, timestamps under a profiler, the periodic submit).
//
// Each kernel's WGSL is `fn main(g: u32, lid: u32)`: g the workgroup's linear
// index (0 .. groups-1), lid the invocation's index in it. Shapes are
// uniforms, so a model compiles each variant once, whatever B and T are
// (no per-step compiles); compile-time constants are only workgroup sizes and
// the few array bounds WGSL needs constant (attention's row buffer).

import * as tf from '@tensorflow/tfjs';
import { insideGradient, type WebGPUBackendInternals } from '../tfjs-internals';
import { grid, recordDispatch } from './stream';

/** tfjs' WebGPUBackend as the kernels see it (every private member is declared in ../tfjs-internals.ts). */
export type WebGPUBackendLike = WebGPUBackendInternals;

export type WgslType = 'f32' | 'i32';

/** One fused kernel variant: everything that changes its WGSL is in `key`. */
export interface KernelSource {
  /** Unique per distinct WGSL (name + compile-time variant), the pipeline cache key. */
  key: string;
  inputs: [name: string, type: WgslType][];
  /** float32 outputs, bound first, read_write. */
  outputs: string[];
  /** Uniform fields in order (all 4-byte scalars: the layout is then plain). */
  uniforms: [name: string, type: WgslType][];
  workgroupSize: number;
  /** WGSL defining fn main(g: u32, lid: u32) and its helpers; every binding must be used. */
  body: string;
}

/** A workgroup reduction over `workgroupSize` lanes (a power of two); call from uniform control flow only. */
export function reduceSnippet(wg: number, op: 'sum' | 'max'): string {
  const f = op === 'sum' ? 'wgSum' : 'wgMax';
  const r = `red_${op}`;
  const combine = op === 'sum' ? `${r}[lid] + ${r}[lid + s]` : `max(${r}[lid], ${r}[lid + s])`;
  return `
var<workgroup> red_${op}: array<f32, ${wg}>;
fn ${f}(v: f32, lid: u32) -> f32 {
  red_${op}[lid] = v;
  workgroupBarrier();
  for (var s = ${wg / 2}u; s > 0u; s = s >> 1u) {
    if (lid < s) { red_${op}[lid] = ${combine}; }
    workgroupBarrier();
  }
  let r = red_${op}[0];
  workgroupBarrier();
  return r;
}`;
}

function wgsl(src: KernelSource): string {
  const fields = [['groups', 'i32'] as [string, WgslType], ...src.uniforms].map(([n, t]) => `  ${n}: ${t},`).join('\n');
  const bindings: string[] = [];
  let b = 0;
  for (const o of src.outputs) bindings.push(`@group(0) @binding(${b++}) var<storage, read_write> ${o}: array<f32>;`);
  for (const [n, t] of src.inputs) bindings.push(`@group(0) @binding(${b++}) var<storage, read> ${n}: array<${t}>;`);
  bindings.push(`@group(0) @binding(${b}) var<uniform> u: Uniforms;`);
  return `struct Uniforms {
${fields}
};
${bindings.join('\n')}
const WG = ${src.workgroupSize}u;
${src.body}
@compute @workgroup_size(${src.workgroupSize})
fn _start(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
          @builtin(local_invocation_index) lid: u32) {
  let g = wg.y * nwg.x + wg.x;
  if (g >= u32(u.groups)) { return; }
  main(g, lid);
}
`;
}

const pipelines = new WeakMap<GPUDevice, Map<string, GPUComputePipeline>>();

function pipeline(device: GPUDevice, src: KernelSource): GPUComputePipeline {
  let cache = pipelines.get(device);
  if (!cache) pipelines.set(device, (cache = new Map()));
  let p = cache.get(src.key);
  if (!p) {
    const module = device.createShaderModule({ code: wgsl(src), label: src.key });
    p = device.createComputePipeline({ layout: 'auto', compute: { module, entryPoint: '_start' }, label: src.key });
    cache.set(src.key, p);
  }
  return p;
}

/** Number of compiled fused-kernel variants on this device (tests check there are no per-step compiles). */
export function compiledVariants(device: GPUDevice): number {
  return pipelines.get(device)?.size ?? 0;
}

export interface Launch {
  inputs: tf.TensorInfo[];
  /** Output shapes, in `src.outputs` order; all float32. */
  outputShapes: number[][];
  /** Uniform values in `src.uniforms` order. */
  uniforms: number[];
  /** Workgroups to launch (split over x and y past the adapter's per-dimension limit). */
  groups: number;
}

/** Record one dispatch of `src` into the backend's command stream; returns its outputs. */
export function runKernel(backend: WebGPUBackendLike, src: KernelSource, launch: Launch): tf.TensorInfo[] {
  const outputs = launch.outputShapes.map((s) => backend.makeTensorInfo(s, 'float32'));
  for (const t of [...outputs, ...launch.inputs]) backend.uploadToGPU(t.dataId);
  const pipe = pipeline(backend.device, src);
  const uniforms = backend.makeUniforms([
    { type: 'int32', data: [launch.groups] },
    ...src.uniforms.map(([, t], i) => ({ type: t === 'i32' ? ('int32' as const) : ('float32' as const), data: [launch.uniforms[i]] })),
  ]);
  const resources = [...outputs, ...launch.inputs].map((t) => backend.tensorToBinding(t));
  resources.push(uniforms);
  const bindGroup = backend.device.createBindGroup({
    layout: pipe.getBindGroupLayout(0),
    entries: resources.map((resource, binding) => ({ binding, resource })),
  });
  recordDispatch(backend, src.key, pipe, bindGroup, grid(launch.groups, backend.device.limits.maxComputeWorkgroupsPerDimension), [
    ...launch.inputs,
    ...outputs,
  ]);
  return outputs;
}

/**
 * A differentiable op from a forward kernel that returns [y, aux] (aux: what the
 * backward needs, e.g. a softmax's log-sum-exp per row) and a backward kernel.
 * Outside a gradient tape aux is freed at once; inside one it is saved with x and y.
 */
export function withBackward(
  x: tf.Tensor,
  fwd: (x: tf.Tensor) => tf.Tensor[],
  bwd: (dy: tf.Tensor, saved: { x: tf.Tensor; y: tf.Tensor; aux: tf.Tensor }) => tf.Tensor,
): tf.Tensor {
  if (!insideGradient()) {
    const [y, aux] = fwd(x);
    aux.dispose();
    return y;
  }
  const f = tf.customGrad((...args) => {
    const input = args[0] as tf.Tensor;
    const save = args[1] as tf.GradSaveFunc;
    const [y, aux] = fwd(input);
    save([input, y, aux]);
    return { value: y, gradFunc: (dy: tf.Tensor, [sx, sy, sa]: tf.Tensor[]) => bwd(dy, { x: sx, y: sy, aux: sa }) };
  });
  return f(x);
}

/** Register kernels for the webgpu backend once (tfjs' registry is global; registering a name twice throws). */
export function registerOnce(configs: tf.KernelConfig[]): void {
  for (const k of configs) if (!tf.getKernel(k.kernelName, k.backendName)) tf.registerKernel(k);
}
