// A faster BatchMatMul for tfjs' wasm backend, registered over its own.
//
// The wasm backend sends exactly one case to XNNPACK's fast GEMM: a single
// (batch 1) matmul with neither operand transposed. Everything else, i.e. every
// backward-pass matmul (dX = dY @ W^T, dW = X^T @ dY) and every batched
// attention matmul, falls to a naive triple loop that runs 10-30x slower
// (measured: [1024,128]@[128,512] 35 GFLOP/s plain, 3.5 with transposeB;
// [64,64,32]@[64,32,64] batched 3.2).
//
// This kernel rewrites those cases into the fast one:
//  - a transposed operand is materialised once with the backend's Transpose
//    (a copy, ~1% of the matmul's time);
//  - a batch is run as one XNNPACK call per matrix, on views: tensor ids
//    registered at offsets inside the operands' and output's wasm memory, so
//    no slice is copied.
// The arithmetic is XNNPACK's GEMM either way, so results match tfjs' own
// kernel up to float32 summation order.
//
// Shape legend: G batch of matrices, M rows of A, K shared dim, N cols of B.

import * as tf from '@tensorflow/tfjs';

/** The parts of tfjs-backend-wasm's BackendWasm this kernel touches. */
interface WasmBackend {
  wasm: {
    cwrap(name: string, ret: null, args: string[]): (...args: unknown[]) => void;
    tfjs: { registerTensor(id: number, size: number, offset: number): void; disposeData(id: number): void };
  };
  dataIdMap: { get(dataId: object): { id: number; memoryOffset: number } };
  dataIdNextNumber: number;
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  disposeData(dataId: object): boolean;
}

type MatMulFn = (aId: number, aShape: Uint8Array, aRank: number, bId: number, bShape: Uint8Array, bRank: number, tA: boolean, tB: boolean, outId: number) => void;

const wrapped = new WeakMap<object, MatMulFn>();
let installed = false;

function shapeBytes(shape: number[]): Uint8Array {
  return new Uint8Array(new Int32Array(shape).buffer);
}

/** Materialise the transpose of the last two axes: [G, R, S] -> [G, S, R]. */
function transposeLast(x: tf.TensorInfo, shape3: number[], backend: WasmBackend): tf.TensorInfo {
  const transpose = tf.getKernel('Transpose', 'wasm').kernelFunc;
  const info = { dataId: x.dataId, shape: shape3, dtype: x.dtype };
  return transpose({ inputs: { x: info }, backend: backend as unknown as tf.KernelBackend, attrs: { perm: [0, 2, 1] } }) as tf.TensorInfo;
}

function fastBatchMatMul(args: { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: tf.NamedAttrMap }): tf.TensorInfo {
  const backend = args.backend as WasmBackend;
  const { a, b } = args.inputs as { a: tf.TensorInfo; b: tf.TensorInfo };
  const { transposeA, transposeB } = (args.attrs ?? {}) as { transposeA: boolean; transposeB: boolean };
  if (a.dtype !== 'float32' || b.dtype !== 'float32') throw new Error('BatchMatMul: only float32 is supported on wasm');
  let run = wrapped.get(backend);
  if (!run) {
    run = backend.wasm.cwrap('BatchMatMul', null, ['number', 'array', 'number', 'number', 'array', 'number', 'number', 'number', 'number']) as MatMulFn;
    wrapped.set(backend, run);
  }
  const ra = a.shape.length;
  const rb = b.shape.length;
  const M = transposeA ? a.shape[ra - 1] : a.shape[ra - 2];
  const K = transposeA ? a.shape[ra - 2] : a.shape[ra - 1];
  const Kb = transposeB ? b.shape[rb - 1] : b.shape[rb - 2];
  const N = transposeB ? b.shape[rb - 2] : b.shape[rb - 1];
  if (K !== Kb) throw new Error(`matMul: inner dimensions ${K} and ${Kb} of shapes [${a.shape}] and [${b.shape}] differ`);
  const outer = tf.broadcast_util.assertAndGetBroadcastShape(a.shape.slice(0, -2), b.shape.slice(0, -2));
  const Ga = tf.util.sizeFromShape(a.shape.slice(0, -2));
  const Gb = tf.util.sizeFromShape(b.shape.slice(0, -2));
  const G = Math.max(Ga, Gb);
  if ((Ga !== G && Ga !== 1) || (Gb !== G && Gb !== 1)) throw new Error(`matMul: batch shapes [${a.shape.slice(0, -2)}] and [${b.shape.slice(0, -2)}] only broadcast from 1`);

  // Plain operands [Ga, M, K] and [Gb, K, N], transposing where asked.
  const temps: tf.TensorInfo[] = [];
  const aPlain = transposeA ? transposeLast(a, [Ga, K, M], backend) : a;
  const bPlain = transposeB ? transposeLast(b, [Gb, N, K], backend) : b;
  if (transposeA) temps.push(aPlain);
  if (transposeB) temps.push(bPlain);

  const out = backend.makeOutput([G, M, N], 'float32');
  const aInfo = backend.dataIdMap.get(aPlain.dataId);
  const bInfo = backend.dataIdMap.get(bPlain.dataId);
  const oInfo = backend.dataIdMap.get(out.dataId);
  const aShape = shapeBytes([1, M, K]);
  const bShape = shapeBytes([1, K, N]);
  if (G === 1) {
    run(aInfo.id, aShape, 3, bInfo.id, bShape, 3, false, false, oInfo.id);
  } else {
    // One GEMM per matrix on views into the batched buffers (4 bytes per float).
    const { tfjs } = backend.wasm;
    for (let g = 0; g < G; g++) {
      const ia = backend.dataIdNextNumber++;
      const ib = backend.dataIdNextNumber++;
      const io = backend.dataIdNextNumber++;
      tfjs.registerTensor(ia, M * K, aInfo.memoryOffset + 4 * (Ga === 1 ? 0 : g) * M * K);
      tfjs.registerTensor(ib, K * N, bInfo.memoryOffset + 4 * (Gb === 1 ? 0 : g) * K * N);
      tfjs.registerTensor(io, M * N, oInfo.memoryOffset + 4 * g * M * N);
      run(ia, aShape, 3, ib, bShape, 3, false, false, io);
      // Unregister the views only (their memory belongs to the operands); this
      // also drops the XNNPACK operator cached on the view of b.
      tfjs.disposeData(ia);
      tfjs.disposeData(ib);
      tfjs.disposeData(io);
    }
  }
  for (const t of temps) backend.disposeData(t.dataId);
  return { ...out, shape: [...outer, M, N] };
}

/**
 * Register the fast BatchMatMul for the wasm backend (idempotent). Call after
 * the wasm backend module is imported; a no-op where it is not (the browser's
 * webgpu/webgl builds, or Node without wasm). Returns whether it is installed.
 */
export function installWasmKernels(): boolean {
  if (installed) return true;
  const original = tf.getKernel('BatchMatMul', 'wasm');
  if (!original) return false;
  tf.unregisterKernel('BatchMatMul', 'wasm');
  tf.registerKernel({
    kernelName: 'BatchMatMul',
    backendName: 'wasm',
    // If the backend starts after this, tfjs' own setup still runs (harmless).
    setupFunc: original.setupFunc,
    kernelFunc: fastBatchMatMul as unknown as tf.KernelFunc,
  });
  installed = true;
  return true;
}
