// Exact counts of the GPU work a piece of code issues on tfjs' webgpu backend:
// what a real GPU pays per training step regardless of its speed (launches,
// submits, bytes moved, CPU<->GPU syncs). Counted where the work happens, by
// wrapping the WebGPU API objects themselves, not estimated from tfjs' kernels:
//
//   dispatches     GPUComputePassEncoder.dispatchWorkgroups(+Indirect): every
//                  compute launch, tfjs' and our own kernels alike
//   submits        GPUQueue.submit
//   uniformWrites  GPUQueue.writeBuffer calls and bytes into uniform buffers:
//                  tfjs writes a small one (shapes, constants) for every dispatch
//   uploads        tensor data copied from the CPU to the GPU (tfjs'
//                  uploadToGPU of a tensor whose values still live on the CPU:
//                  the batch, constants made with tf.scalar / tf.tensor; and
//                  writeBuffer into a storage buffer: a recorded step's batch)
//   readbacks      GPUBuffer.mapAsync(READ): each one is a GPU->CPU sync
//
//   bindGroups     GPUDevice.createBindGroup: tfjs makes one per dispatch; a
//                  step replayed from cached bind groups makes none
//   tfjsKernels    kernels run through tfjs' engine (its registered kernels,
//                  ours included), the JavaScript work a step does per op
//
// Pure TypeScript over the WebGPU API: the same file counts in Node (Dawn) and
// in the browser's worker. The wrappers cost one integer increment per call.
// They patch shared prototypes, so whoever installs them removes them again
// (uninstallGpuCounters): a measurement must not leave every later WebGPU call
// in the process paying for its counting.

import * as tf from '@tensorflow/tfjs';
import { webgpuBackend } from '../tfjs-internals';

export interface GpuCounts {
  dispatches: number;
  submits: number;
  uploads: number;
  uploadBytes: number;
  uniformWrites: number;
  uniformBytes: number;
  readbacks: number;
  bindGroups: number;
  tfjsKernels: number;
}

const zero = (): GpuCounts => ({
  dispatches: 0,
  submits: 0,
  uploads: 0,
  uploadBytes: 0,
  uniformWrites: 0,
  uniformBytes: 0,
  readbacks: 0,
  bindGroups: 0,
  tfjsKernels: 0,
});
const counts: GpuCounts = zero();
const WRAPPED = Symbol.for('tabgpt.gpuCounters');
const MAP_READ = 0x0001; // GPUMapMode.READ

type Fn = (...args: never[]) => unknown;

/** One patched method and what to put back: the original if it was the object's own property, else nothing (the prototype's shows again). */
interface Patch {
  obj: Record<string | symbol, unknown>;
  key: string;
  own: boolean;
  orig: unknown;
}
let patches: Patch[] = [];
/** Installs not yet matched by an uninstall: the patches come off at zero, so nested users do not pull them from under each other. */
let installs = 0;

/** Wrap obj[key] once so that each call first runs `count(args)`. */
function wrap(obj: object, key: string, count: (args: unknown[]) => void): void {
  const o = obj as Record<string | symbol, unknown>;
  const orig = o[key] as Fn | undefined;
  if (typeof orig !== 'function' || (orig as unknown as Record<symbol, boolean>)[WRAPPED]) return;
  const wrapped = function (this: unknown, ...args: unknown[]) {
    count(args);
    return (orig as unknown as (...a: unknown[]) => unknown).apply(this, args);
  };
  (wrapped as unknown as Record<symbol, boolean>)[WRAPPED] = true;
  patches.push({ obj: o, key, own: Object.prototype.hasOwnProperty.call(o, key), orig });
  o[key] = wrapped;
}

/**
 * Start counting on the current webgpu backend. Returns false (and counts
 * nothing) on any other backend. Every true return must be matched by one
 * uninstallGpuCounters(); counting goes on until the last of them.
 */
export function installGpuCounters(): boolean {
  if (tf.getBackend() !== 'webgpu') return false;
  installs++;
  const b = webgpuBackend();
  const device = b.device;
  // Prototypes taken from live objects: no reliance on global class names.
  const enc = device.createCommandEncoder();
  const pass = enc.beginComputePass();
  const passProto = Object.getPrototypeOf(pass) as object;
  pass.end();
  enc.finish(); // never submitted
  const probe = device.createBuffer({ size: 4, usage: MAP_READ | 0x0008 /* COPY_DST */ });
  const bufferProto = Object.getPrototypeOf(probe) as object;
  probe.destroy();
  wrap(passProto, 'dispatchWorkgroups', () => counts.dispatches++);
  wrap(passProto, 'dispatchWorkgroupsIndirect', () => counts.dispatches++);
  const queueProto = Object.getPrototypeOf(device.queue) as object;
  wrap(queueProto, 'submit', () => counts.submits++);
  wrap(queueProto, 'writeBuffer', (args) => {
    const data = args[2] as ArrayBufferView | ArrayBuffer;
    const size = args[4] as number | undefined;
    // size counts elements of a typed array, bytes of an ArrayBuffer
    const elem = ArrayBuffer.isView(data) ? ((data as unknown as { BYTES_PER_ELEMENT?: number }).BYTES_PER_ELEMENT ?? 1) : 1;
    const bytes = size !== undefined ? size * elem : data.byteLength - ((args[3] as number | undefined) ?? 0) * elem;
    // Into a storage buffer it is tensor data (a recorded step writes its batch this way); else a uniform.
    if (((args[0] as GPUBuffer).usage & 0x0080) /* STORAGE */ !== 0) {
      counts.uploads++;
      counts.uploadBytes += bytes;
    } else {
      counts.uniformWrites++;
      counts.uniformBytes += bytes;
    }
  });
  wrap(bufferProto, 'mapAsync', (args) => {
    if (((args[0] as number) & MAP_READ) !== 0) counts.readbacks++;
  });
  wrap(Object.getPrototypeOf(device) as object, 'createBindGroup', () => counts.bindGroups++);
  // Tensor uploads: per backend instance (tfjs' own method).
  wrap(b, 'uploadToGPU', (args) => {
    const d = b.tensorMap.get(args[0] as object);
    if (d && d.resource == null && d.values != null) {
      counts.uploads++;
      counts.uploadBytes += 4 * tf.util.sizeFromShape(d.shape); // float32, int32 and bool are 4 bytes on the GPU
    }
  });
  // tfjs kernels: Engine.runKernelFunc (tfjs-core/dist/engine.js) is the one
  // funnel every kernel run passes through: runKernel (ops, gradients, our
  // fused kernels' engine().runKernel) calls it with the registered kernel's
  // name, and customGrad calls it with a forwardFunc and no kernelName. Only
  // the named calls are kernels; a customGrad call is a wrapper whose inner
  // ops come through here on their own, so counting it would count twice.
  // (Hooking runKernel instead would see the same named calls; the funnel also
  // catches a direct runKernelFunc({kernelName}) call.) Kernels that a backend
  // kernel calls as plain functions inside its own work (webgpu's reshape
  // inside a matmul) are not engine runs and are not counted; their dispatches are.
  wrap(tf.engine(), 'runKernelFunc', (args) => {
    if ((args[0] as { kernelName?: string } | undefined)?.kernelName != null) counts.tfjsKernels++;
  });
  return true;
}

/**
 * Match one installGpuCounters(): after the last, every patched method is
 * the original again (prototypes and instances as they were before).
 */
export function uninstallGpuCounters(): void {
  if (installs === 0) return;
  if (--installs > 0) return;
  for (const p of patches.reverse()) {
    if (p.own) p.obj[p.key] = p.orig;
    else delete p.obj[p.key];
  }
  patches = [];
}

/** Whether counting is on (installed and not yet uninstalled). */
export function gpuCountersInstalled(): boolean {
  return installs > 0;
}

/** The counts so far (a copy). */
export function gpuCounts(): GpuCounts {
  return { ...counts };
}

/** after - before, field by field. */
export function countsBetween(before: GpuCounts, after: GpuCounts): GpuCounts {
  const d = zero();
  for (const k of Object.keys(d) as (keyof GpuCounts)[]) d[k] = after[k] - before[k];
  return d;
}
