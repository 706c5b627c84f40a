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
//  - a transposed operand is materialised once, by a cache-tiled copy in JS
//    on the wasm heap (faster than the backend's own Transpose, see below);
//  - a batch is run as one XNNPACK call per matrix, on views: tensor ids
//    registered at offsets inside the operands' and output's wasm memory, so
//    no slice is copied.
// The arithmetic is XNNPACK's GEMM either way, so results match tfjs' own
// kernel up to float32 summation order.
//
// Shape legend: G batch of matrices, M rows of A, K shared dim, N cols of B.

import * as tf from '@tensorflow/tfjs';
import { wasmBackendInternals, type WasmBackendInternals as WasmBackend } from '../tfjs-internals';

/**
 * Per backend instance, 6 int32s of wasm memory for the two operand shapes:
 * passing pointers skips the Emscripten ccall that copies shape arrays onto
 * the stack at every call (a batch makes one call per matrix).
 */
const shapeScratch = new WeakMap<object, number>();
let installed = false;
/** tfjs' own kernel, kept for the cases it does better. */
let originalKernel: tf.KernelFunc | null = null;

/**
 * At most this many rows of A (a matrix-vector product, e.g. one generated
 * token's attention): XNNPACK would pack all of B for each matrix (~3 ns per
 * element) to use it once, so tfjs' plain loop is faster (measured on
 * [6,1,64] @ [6,64,256]: 97 us vs 295 us).
 */
const GEMV_ROWS = 2;

const TILE = 16;

/**
 * Materialise the transpose of the last two axes, [G, R, S] -> [G, S, R], in
 * JavaScript on the wasm heap, 16x16 tiles at a time. The backend's own 2-D
 * Transpose walks its output with a stride of R floats and takes ~8 ns per
 * element ([1024, 512]: 3.9 ms, more than the GEMM it feeds); tiles keep both
 * sides in cache (0.7 ms). Writes run sequentially, reads stride by S.
 */
function transposeLast(x: tf.TensorInfo, G: number, R: number, S: number, backend: WasmBackend): tf.TensorInfo {
  const out = backend.makeOutput([G, S, R], 'float32');
  const heap = backend.wasm.HEAPF32; // after makeOutput: an allocation may have grown (replaced) the heap
  const src0 = backend.dataIdMap.get(x.dataId).memoryOffset >> 2;
  const dst0 = backend.dataIdMap.get(out.dataId).memoryOffset >> 2;
  for (let g = 0; g < G; g++) {
    const src = src0 + g * R * S;
    const dst = dst0 + g * R * S;
    for (let s0 = 0; s0 < S; s0 += TILE) {
      const s1 = Math.min(S, s0 + TILE);
      for (let r0 = 0; r0 < R; r0 += TILE) {
        const r1 = Math.min(R, r0 + TILE);
        for (let c = s0; c < s1; c++) {
          let o = dst + c * R + r0;
          for (let r = r0; r < r1; r++) heap[o++] = heap[src + r * S + c];
        }
      }
    }
  }
  return out;
}

function fastBatchMatMul(args: { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: tf.NamedAttrMap }): tf.TensorInfo {
  const backend = wasmBackendInternals(args.backend);
  const { a, b } = args.inputs as { a: tf.TensorInfo; b: tf.TensorInfo };
  const { transposeA, transposeB } = (args.attrs ?? {}) as { transposeA: boolean; transposeB: boolean };
  if (a.dtype !== 'float32' || b.dtype !== 'float32') throw new Error('BatchMatMul: only float32 is supported on wasm');
  let scratch = shapeScratch.get(backend);
  if (scratch === undefined) {
    scratch = backend.wasm._malloc(24);
    shapeScratch.set(backend, scratch);
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
  // (tfjs' loop indexes both batches alike, so it only gets same-size batches.)
  if (M <= GEMV_ROWS && Ga === Gb && originalKernel) return originalKernel(args as unknown as Parameters<tf.KernelFunc>[0]) as tf.TensorInfo;
  const G = Math.max(Ga, Gb);
  if ((Ga !== G && Ga !== 1) || (Gb !== G && Gb !== 1))
    throw new Error(`matMul: batch shapes [${a.shape.slice(0, -2)}] and [${b.shape.slice(0, -2)}] only broadcast from 1`);

  // Plain operands [Ga, M, K] and [Gb, K, N], transposing where asked.
  const temps: tf.TensorInfo[] = [];
  const aPlain = transposeA ? transposeLast(a, Ga, K, M, backend) : a;
  const bPlain = transposeB ? transposeLast(b, Gb, N, K, backend) : b;
  if (transposeA) temps.push(aPlain);
  if (transposeB) temps.push(bPlain);

  const out = backend.makeOutput([G, M, N], 'float32');
  const aInfo = backend.dataIdMap.get(aPlain.dataId);
  const bInfo = backend.dataIdMap.get(bPlain.dataId);
  const oInfo = backend.dataIdMap.get(out.dataId);
  // a as [1, M, K] and b as [1, K, N] at scratch, scratch + 12 (HEAP32 is re-read: memory growth replaces it).
  backend.wasm.HEAP32.set([1, M, K, 1, K, N], scratch >> 2);
  const aShape = scratch;
  const bShape = scratch + 12;
  const run = (ia: number, ib: number, io: number) => backend.wasm._BatchMatMul(ia, aShape, 3, ib, bShape, 3, 0, 0, io);
  if (G === 1) {
    run(aInfo.id, bInfo.id, oInfo.id);
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
      run(ia, ib, io);
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
  originalKernel = original.kernelFunc;
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
