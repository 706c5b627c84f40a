// Every reach into tfjs' private members, in one place.
//
// The fused kernels, the fused optimizer, the recorded step and the GPU
// counters record into tfjs' own WebGPU command stream and read its tensor
// storage; the wasm matmul calls the wasm module's exported function. None of
// that is tfjs' public API, so it is written against one version (4.22.0) and
// checked when a backend starts: a missing member fails with one line naming
// it, not with "undefined is not a function" in the middle of a step.

import * as tf from '@tensorflow/tfjs';

/** The tfjs version these members were read from (tfjs-backend-webgpu/dist/backend_webgpu.js, tfjs-core/dist/engine.js). */
export const TFJS_VERSION = '4.22.0';

type DataId = object;

/** The members of tfjs' WebGPUBackend the project relies on. */
export interface WebGPUBackendInternals {
  device: GPUDevice;
  queue: GPUQueue;
  commandEncoder: GPUCommandEncoder | null;
  computePassEncoder: GPUComputePassEncoder | null;
  dispatchCountInPass: number;
  commandQueueOwnedIds: WeakSet<DataId>;
  uniformPendingDisposal: GPUBuffer[];
  supportTimestampQuery: boolean;
  activeTimers?: { name: string; query: Promise<number> | number }[] | null;
  querySet: GPUQuerySet | null;
  querySetCount: number;
  tensorMap: {
    get(id: DataId): { resource: unknown; values: unknown; refCount: number; dtype: string; shape: number[] } | undefined;
    has(id: DataId): boolean;
  };
  bufferManager: {
    acquireBuffer(size: number, usage: number, mappedAtCreation?: boolean, reuse?: boolean): GPUBuffer;
    freeBuffers: Map<string, GPUBuffer[]>;
    numFreeBuffers: number;
    numBytesAllocated: number;
    numBytesUsed: number;
  };
  makeTensorInfo(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  tensorToBinding(t: tf.TensorInfo): GPUBufferBinding;
  makeUniforms(u: { type: 'int32' | 'float32'; data: number[] }[]): GPUBufferBinding;
  ensureCommandEncoderReady(): void;
  endComputePassEncoder(): void;
  submitQueue(): void;
  uploadToGPU(id: DataId): void;
  getQueryTime(): Promise<number>;
  refCount(id: DataId): number;
}

const BACKEND_MEMBERS = [
  'device',
  'queue',
  'commandQueueOwnedIds',
  'uniformPendingDisposal',
  'tensorMap',
  'bufferManager',
  'querySetCount',
  'makeTensorInfo',
  'tensorToBinding',
  'makeUniforms',
  'ensureCommandEncoderReady',
  'endComputePassEncoder',
  'submitQueue',
  'uploadToGPU',
  'getQueryTime',
  'refCount',
] as const;
const BUFFER_MANAGER_MEMBERS = ['acquireBuffer', 'releaseBuffer', 'freeBuffers'] as const;

const checked = new WeakSet<object>();

/**
 * One line naming what this tfjs lacks of what the project uses, or null when
 * everything is there. Checked once per backend instance.
 */
export function missingWebGPUInternals(backend: object): string | null {
  if (checked.has(backend)) return null;
  const b = backend as Record<string, unknown>;
  const missing = BACKEND_MEMBERS.filter((m) => b[m] === undefined).map((m) => `WebGPUBackend.${m}`);
  const bm = b.bufferManager as Record<string, unknown> | undefined;
  if (bm) missing.push(...BUFFER_MANAGER_MEMBERS.filter((m) => bm[m] === undefined).map((m) => `BufferManager.${m}`));
  const engine = tf.engine() as unknown as Record<string, unknown>;
  for (const m of ['gradients', 'runKernel', 'runKernelFunc']) if (typeof engine[m] !== 'function') missing.push(`Engine.${m}`);
  if (typeof (engine.state as Record<string, unknown> | undefined)?.gradientDepth !== 'number') missing.push('EngineState.gradientDepth');
  if (missing.length === 0) {
    checked.add(backend);
    return null;
  }
  return `tfjs ${tf.version_core} lacks ${missing.join(', ')}, which tabgpt's WebGPU kernels use (written for tfjs ${TFJS_VERSION}): install @tensorflow/tfjs@${TFJS_VERSION} or run with --kernels generic`;
}

/** The current tfjs backend's internals; throws unless it is webgpu with every member the project uses. */
export function webgpuBackend(): WebGPUBackendInternals {
  if (tf.getBackend() !== 'webgpu') throw new Error(`the webgpu backend is not active (it is ${tf.getBackend()})`);
  const b = tf.backend();
  const missing = missingWebGPUInternals(b);
  if (missing) throw new Error(missing);
  return b as unknown as WebGPUBackendInternals;
}

/** The GPU buffer holding a tensor's data (uploading it first if it still lives on the CPU). */
export function bufferOf(b: WebGPUBackendInternals, t: tf.TensorInfo): GPUBuffer {
  b.uploadToGPU(t.dataId);
  const res = b.tensorMap.get(t.dataId)?.resource;
  if (!res || typeof (res as GPUBuffer).size !== 'number') throw new Error('tensor has no GPU buffer (disposed, or a texture)');
  return res as GPUBuffer;
}

/**
 * The GPU buffer of a tensor a kernel is about to write in place. tfjs keeps a
 * CPU copy of a tensor's values once they have been read (a checkpoint save
 * reads every parameter and moment) and serves later reads from it; after an
 * in-place write that copy is stale, so it is dropped here and the next read
 * goes to the GPU again.
 */
export function writableBufferOf(b: WebGPUBackendInternals, t: tf.TensorInfo): GPUBuffer {
  const buf = bufferOf(b, t);
  const data = b.tensorMap.get(t.dataId);
  if (data) data.values = null;
  return buf;
}

/**
 * Destroy the buffers tfjs' pool holds free (not bound to any tensor). The
 * recorded step owns its own; without this the pool would keep a second copy
 * of a step's working set that only evaluation would ever take again.
 */
export function releaseFreeBuffers(b: WebGPUBackendInternals): number {
  const bm = b.bufferManager;
  let released = 0;
  // Each list emptied but its key kept: tfjs' releaseBuffer does nothing while its map is empty.
  for (const [, list] of bm.freeBuffers) {
    for (const buf of list) {
      released += buf.size;
      buf.destroy();
    }
    list.length = 0;
  }
  bm.numBytesAllocated -= released;
  bm.numFreeBuffers = 0;
  return released;
}

/**
 * Take a buffer out of tfjs' pool of free buffers for good (the recorded step
 * keeps the buffers its capture ran on): true if it was free there, and it is
 * then the caller's to destroy; false if tfjs still uses it.
 */
export function adoptFreeBuffer(b: WebGPUBackendInternals, buf: GPUBuffer): boolean {
  const bm = b.bufferManager;
  for (const [, list] of bm.freeBuffers) {
    const i = list.indexOf(buf);
    if (i < 0) continue;
    list.splice(i, 1);
    bm.numFreeBuffers--;
    bm.numBytesAllocated -= buf.size;
    return true;
  }
  return false;
}

/** The engine's gradient depth: > 0 inside tf.grads / customGrad (ops choose save-for-backward forms there). */
export function insideGradient(): boolean {
  return (tf.engine().state as unknown as { gradientDepth: number }).gradientDepth > 0;
}

/**
 * tf.engine().gradients with an explicit seed dy (tfjs' public tf.grads
 * makes its seed with tf.ones on the CPU: an upload per step on a GPU).
 */
export function engineGradients(f: () => tf.Tensor, xs: tf.Tensor[], dy: tf.Tensor): { value: tf.Tensor; grads: tf.Tensor[] } {
  return tf.engine().gradients(f, xs, dy, true) as { value: tf.Tensor; grads: tf.Tensor[] };
}

/** The parts of tfjs-backend-wasm's BackendWasm the wasm matmul kernel (kernels/wasm/batchmatmul.ts) touches. */
export interface WasmBackendInternals {
  wasm: {
    /** The C entry point, called directly: shapes are passed as pointers into wasm memory. */
    _BatchMatMul(aId: number, aShape: number, aRank: number, bId: number, bShape: number, bRank: number, tA: number, tB: number, outId: number): void;
    _malloc(bytes: number): number;
    HEAP32: Int32Array;
    HEAPF32: Float32Array;
    tfjs: { registerTensor(id: number, size: number, offset: number): void; disposeData(id: number): void };
  };
  dataIdMap: { get(dataId: object): { id: number; memoryOffset: number } };
  dataIdNextNumber: number;
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  disposeData(dataId: object): boolean;
}

const checkedWasm = new WeakSet<object>();

/** The wasm backend's internals, checked once per instance; throws one line naming what is missing. */
export function wasmBackendInternals(backend: unknown): WasmBackendInternals {
  const b = backend as Record<string, unknown> & { wasm?: Record<string, unknown> };
  if (!checkedWasm.has(b)) {
    const missing = [
      ...['_BatchMatMul', '_malloc', 'HEAP32', 'tfjs'].filter((m) => b.wasm?.[m] === undefined).map((m) => `wasm module ${m}`),
      ...['dataIdMap', 'dataIdNextNumber', 'makeOutput', 'disposeData'].filter((m) => b[m] === undefined).map((m) => `BackendWasm.${m}`),
    ];
    if (missing.length)
      throw new Error(
        `tfjs ${tf.version_core} lacks ${missing.join(', ')}, which tabgpt's wasm matmul uses (written for tfjs ${TFJS_VERSION}): install @tensorflow/tfjs-backend-wasm@${TFJS_VERSION}`,
      );
    checkedWasm.add(b);
  }
  return backend as WasmBackendInternals;
}

/**
 * tf.engine().gradients run inside another gradient's backward pass (a block
 * recomputing its activations): a nested engine.gradients replaces, then
 * clears, the engine's active tape, which the outer backward pass still owns;
 * it is put back here.
 */
export function nestedGradients(f: () => tf.Tensor, xs: tf.Tensor[], dy: tf.Tensor): { value: tf.Tensor; grads: tf.Tensor[] } {
  const state = tf.engine().state as unknown as { activeTape: unknown };
  const outer = state.activeTape;
  try {
    return engineGradients(f, xs, dy);
  } finally {
    state.activeTape = outer;
  }
}

/** The engine's table of data buffers (state.tensorInfo, keyed by dataId: one entry per buffer), for peak.ts. */
export function engineDataTable(): WeakMap<object, { bytes: number }> {
  const table = (tf.engine().state as unknown as { tensorInfo?: WeakMap<object, { bytes: number }> }).tensorInfo;
  if (!table)
    throw new Error(`tfjs ${tf.version_core} lacks EngineState.tensorInfo, which tabgpt's memory measurement uses (written for tfjs ${TFJS_VERSION})`);
  return table;
}

type AdapterInfoLike = { vendor?: string; architecture?: string; description?: string; isFallbackAdapter?: boolean };

/** The webgpu backend's device, adapter info and timestamp support; null/empty on other backends. */
export function webgpuDevice(): GPUDevice | null {
  return tf.getBackend() === 'webgpu' ? ((tf.backend() as unknown as { device?: GPUDevice }).device ?? null) : null;
}
export function webgpuAdapterInfo(): AdapterInfoLike {
  if (tf.getBackend() !== 'webgpu') return {};
  const b = tf.backend() as unknown as { adapterInfo?: AdapterInfoLike; device?: { adapterInfo?: AdapterInfoLike } };
  return b.device?.adapterInfo ?? b.adapterInfo ?? {};
}
export function supportsTimestampQuery(): boolean {
  return tf.getBackend() === 'webgpu' && (tf.backend() as unknown as { supportTimestampQuery?: boolean }).supportTimestampQuery === true;
}

/** Submit whatever tfjs has recorded and not yet submitted, so work issued next runs after it. */
export function submitPending(b: WebGPUBackendInternals): void {
  b.endComputePassEncoder();
  if (b.commandEncoder) b.submitQueue();
}

/** Whether tfjs is timing kernels (inside tf.time / tf.profile): each dispatch then runs in its own timed pass. */
export function profilerActive(): boolean {
  return tf.getBackend() === 'webgpu' && (tf.backend() as unknown as { activeTimers?: unknown }).activeTimers != null;
}
