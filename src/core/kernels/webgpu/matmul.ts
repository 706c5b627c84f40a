// A register-tiled matmul for WebGPU adapters that are CPUs (SwiftShader,
// llvmpipe, lavapipe), with an optional bias epilogue and either operand
// transposed in place (no transpose kernels for a Linear's backward).
//
//   out [M, N] = op(a) @ op(b) (+ bias [N]),  op(a) [M, K], op(b) [K, N]
//   a is [M, K], or [K, M] with transposeA; b is [K, N], or [N, K] with transposeB
//
// Why a second matmul next to tfjs': on a CPU adapter, tfjs' tiled MatMul
// (32 x 32 tiles staged through workgroup memory with a barrier per K step)
// is the whole step. Workgroup memory is ordinary memory there and every
// barrier switches the invocations' coroutines, so staging buys nothing and
// costs much. Here each invocation keeps an 8 x 8 block of the output in
// registers and reads its 8 rows of op(a) and 8 columns of op(b) straight from
// the buffers for each k: 64 FMAs per 16 loads, no workgroup memory, no
// barriers. Measured on SwiftShader (Dawn in Node, 2 cores), `baby`'s shapes:
// 2.3-3.3 GFLOP/s against tfjs' 0.2-0.7, and its bias-gradient GEMVs
// ([1, 1024] @ [1024, 128]) 1 ms against 34-41 ms (tfjs' MatMulReduce).
// 4 x 4, 4 x 8, 8 x 4, 12 x 8, 16 x 8 and 8 x 16 blocks and 16-256 lanes were
// tried; 8 x 8 with 64 lanes was best or within noise of it on every shape.
//
// On hardware GPUs tfjs' kernel stays (kernels/mode.ts, useTiledMatmul):
// it is tuned there by its authors, and this one has not been measured on one.
//
// The sum runs over k in order, one fma per term, like tfjs' kernel: on
// SwiftShader the two agree to the bit on every shape of `baby`.

import * as tf from '@tensorflow/tfjs';
import { runKernel, type KernelSource, type WebGPUBackendLike } from './program';

const NAME = 'TabgptMatMul';
const ROWS = 8; // output rows per invocation
const COLS = 8; // output columns per invocation
const WG = 64; // invocations per workgroup

const range = (n: number) => [...Array(n).keys()];

/** The 8 variants' sources, built once: each is a few KB of WGSL, too much string work per call. */
const sources = new Map<string, KernelSource>();
function source(transposeA: boolean, transposeB: boolean, bias: boolean): KernelSource {
  const key = `matmul_${transposeA}_${transposeB}_${bias}`;
  let src = sources.get(key);
  if (!src) sources.set(key, (src = buildSource(key, transposeA, transposeB, bias)));
  return src;
}

function buildSource(key: string, transposeA: boolean, transposeB: boolean, bias: boolean): KernelSource {
  const aAt = (r: string) => (transposeA ? `k * M + ${r}` : `${r} * K + k`); // element (r, k) of op(a)
  const bAt = (c: string) => (transposeB ? `${c} * K + k` : `k * N + ${c}`); // element (k, c) of op(b)
  const R = range(ROWS);
  const C = range(COLS);
  return {
    key,
    inputs: [['a', 'f32'], ['b', 'f32'], ...(bias ? [['bias', 'f32'] as ['bias', 'f32']] : [])],
    outputs: ['out'],
    uniforms: [
      ['M', 'i32'],
      ['N', 'i32'],
      ['K', 'i32'],
    ],
    workgroupSize: WG,
    body: `
fn main(g: u32, lid: u32) {
  let M = u32(u.M);
  let N = u32(u.N);
  let K = u32(u.K);
  // Block t of the output: rows r0 .. r0+${ROWS - 1}, columns c0 .. c0+${COLS - 1}; blocks run along rows of blocks.
  let blocksN = (N + ${COLS - 1}u) / ${COLS}u;
  let t = g * WG + lid;
  let r0 = (t / blocksN) * ${ROWS}u;
  let c0 = (t % blocksN) * ${COLS}u;
  if (r0 >= M) { return; }
  // Rows and columns past the edge read the last one (in bounds) and are not written.
  ${R.map((i) => `let row${i} = min(r0 + ${i}u, M - 1u);`).join(' ')}
  ${C.map((j) => `let col${j} = min(c0 + ${j}u, N - 1u);`).join(' ')}
  ${R.map((i) => C.map((j) => `var s${i}_${j} = 0.0;`).join(' ')).join('\n  ')}
  for (var k = 0u; k < K; k++) {
    ${R.map((i) => `let a${i} = a[${aAt(`row${i}`)}];`).join(' ')}
    ${C.map((j) => `let b${j} = b[${bAt(`col${j}`)}];`).join(' ')}
    ${R.map((i) => C.map((j) => `s${i}_${j} = fma(a${i}, b${j}, s${i}_${j});`).join(' ')).join('\n    ')}
  }
  ${C.map((j) => `let bias${j} = ${bias ? `bias[col${j}]` : '0.0'};`).join(' ')}
  ${R.map(
    (i) => `if (r0 + ${i}u < M) {
    ${C.map((j) => `if (c0 + ${j}u < N) { out[(r0 + ${i}u) * N + c0 + ${j}u] = s${i}_${j} + bias${j}; }`).join('\n    ')}
  }`,
  ).join('\n  ')}
}`,
  };
}

interface Attrs {
  transposeA: boolean;
  transposeB: boolean;
}

/** The kernel, registered for the webgpu backend by index.ts. */
export const kernels: tf.KernelConfig[] = [
  {
    kernelName: NAME,
    backendName: 'webgpu',
    kernelFunc: ({ inputs, backend, attrs }) => {
      const { a, b, bias } = inputs as { a: tf.TensorInfo; b: tf.TensorInfo; bias?: tf.TensorInfo };
      const { transposeA, transposeB } = attrs as unknown as Attrs;
      const [M, K] = transposeA ? [a.shape[1], a.shape[0]] : a.shape;
      const N = transposeB ? b.shape[0] : b.shape[1];
      const blocks = Math.ceil(M / ROWS) * Math.ceil(N / COLS);
      return runKernel(backend as unknown as WebGPUBackendLike, source(transposeA, transposeB, !!bias), {
        inputs: bias ? [a, b, bias] : [a, b],
        outputShapes: [[M, N]],
        uniforms: [M, N, K],
        groups: Math.ceil(blocks / WG),
      })[0];
    },
  },
];

/**
 * op(a) @ op(b) (+ bias): 2-D only, float32, no gradient of its own (ops.ts
 * writes the Linear's backward with it). Shapes as tf.matMul's.
 */
export function matMulTiled(a: tf.Tensor2D, b: tf.Tensor2D, transposeA = false, transposeB = false, bias: tf.Tensor | null = null): tf.Tensor2D {
  const K = transposeA ? a.shape[0] : a.shape[1];
  const Kb = transposeB ? b.shape[1] : b.shape[0];
  if (K !== Kb) throw new Error(`matMulTiled: inner sizes differ (${a.shape} x ${b.shape}, transposeA ${transposeA}, transposeB ${transposeB})`);
  const inputs: tf.NamedTensorMap = bias ? { a, b, bias } : { a, b };
  const attrs: Attrs = { transposeA, transposeB };
  return tf.engine().runKernel(NAME, inputs, attrs as unknown as tf.NamedAttrMap) as tf.Tensor2D;
}
