// Token + position embeddings as one WGSL kernel each way: a gather forward
// and a scatter-add backward, instead of two one-hot matmuls. Why:
// generically each lookup is OneHot + Cast + a [N, V] @ [V, C] matmul (and
// the positions an uploaded index tensor), plus the add: 7 launches forward;
// backward two more matmuls over the [N, V] one-hots. Here the forward reads
// the two rows each output row needs; the positions are n mod T, computed,
// not uploaded (a step uploads only its batch).
//
//   forward   wte [V, C], wpe [P, C] (P = blockSize >= T), idx [N] int32 (N = B T)
//             -> x [N, C] = wte[idx[n]] + wpe[n mod T]
//   backward  dy [N, C], idx -> dwte [V, C], dwpe [P, C], one dispatch, one invocation per
//             output element: dwte[v, c] = sum_{n: idx[n] = v} dy[n, c] (the scatter-add,
//             as a gather over n so it needs no float atomics and sums in a fixed order:
//             runs reproduce bit for bit), dwpe[t, c] = sum_b dy[b T + t, c] (0 for t >= T).
//
// The token scatter-add scans all N indices per output element: O(V N C)
// compares, like the one-hot matmul's multiply-adds but with no [N, V]
// tensor. Right for a character vocabulary (tens of rows); a large vocabulary
// would want the indices sorted first.

import * as tf from '@tensorflow/tfjs';
import { insideGradient } from '../tfjs-internals';
import { runKernel, type KernelSource, type WebGPUBackendLike } from './program';

const WG = 64;
const FWD = 'TabgptEmbedding';
const BWD = 'TabgptEmbeddingGrad';

const forward: KernelSource = {
  key: 'embedding_fwd',
  inputs: [
    ['wte', 'f32'],
    ['wpe', 'f32'],
    ['idx', 'i32'],
  ],
  outputs: ['x'],
  uniforms: [
    ['N', 'i32'],
    ['T', 'i32'],
    ['C', 'i32'],
    ['V', 'i32'],
  ],
  workgroupSize: WG,
  body: `
fn main(g: u32, lid: u32) {
  let C = u32(u.C);
  let i = g * WG + lid;
  if (i >= u32(u.N) * C) { return; }
  let n = i / C;
  let c = i % C;
  let v = u32(idx[n]);
  let tok = select(0.0, wte[v * C + c], v < u32(u.V)); // out of range: the generic one-hot's zero row
  x[i] = tok + wpe[(n % u32(u.T)) * C + c];
}`,
};

const backward: KernelSource = {
  key: 'embedding_bwd',
  inputs: [
    ['dy', 'f32'],
    ['idx', 'i32'],
  ],
  outputs: ['dwte', 'dwpe'],
  uniforms: [
    ['N', 'i32'],
    ['T', 'i32'],
    ['C', 'i32'],
    ['V', 'i32'],
    ['P', 'i32'],
  ],
  workgroupSize: WG,
  body: `
fn main(g: u32, lid: u32) {
  let N = u32(u.N);
  let T = u32(u.T);
  let C = u32(u.C);
  let V = u32(u.V);
  let tokenGroups = (V * C + WG - 1u) / WG;
  if (g < tokenGroups) {
    let i = g * WG + lid;
    if (i >= V * C) { return; }
    let v = i / C;
    let c = i % C;
    var s = 0.0;
    for (var n = 0u; n < N; n++) {
      if (u32(idx[n]) == v) { s += dy[n * C + c]; }
    }
    dwte[i] = s;
  } else {
    let i = (g - tokenGroups) * WG + lid;
    if (i >= u32(u.P) * C) { return; }
    let t = i / C;
    let c = i % C;
    var s = 0.0;
    if (t < T) {
      for (var n = t; n < N; n += T) { s += dy[n * C + c]; }
    }
    dwpe[i] = s;
  }
}`,
};

/** The forward and backward kernels, registered for the webgpu backend by index.ts. */
export const kernels: tf.KernelConfig[] = [
  {
    kernelName: FWD,
    backendName: 'webgpu',
    kernelFunc: ({ inputs, backend, attrs }) => {
      const { wte, wpe, idx } = inputs as Record<string, tf.TensorInfo>;
      const { T } = attrs as unknown as { T: number };
      const [V, C] = wte.shape;
      const N = idx.shape[0];
      return runKernel(backend as unknown as WebGPUBackendLike, forward, {
        inputs: [wte, wpe, idx],
        outputShapes: [[N, C]],
        uniforms: [N, T, C, V],
        groups: Math.ceil((N * C) / WG),
      });
    },
  },
  {
    kernelName: BWD,
    backendName: 'webgpu',
    kernelFunc: ({ inputs, backend, attrs }) => {
      const { dy, idx } = inputs as Record<string, tf.TensorInfo>;
      const { T, V, P } = attrs as unknown as { T: number; V: number; P: number };
      const [N, C] = dy.shape;
      return runKernel(backend as unknown as WebGPUBackendLike, backward, {
        inputs: [dy, idx],
        outputShapes: [
          [V, C],
          [P, C],
        ],
        uniforms: [N, T, C, V, P],
        groups: Math.ceil((V * C) / WG) + Math.ceil((P * C) / WG),
      });
    },
  },
];

/** Fused wte[idx] + wpe[position]: wte [V, C], wpe [P, C], idx [B, T] int32 -> [B T, C]. */
export function embeddingFused(wte: tf.Tensor2D, wpe: tf.Tensor2D, idx: tf.Tensor2D): tf.Tensor2D {
  const [B, T] = idx.shape;
  const flat = idx.reshape([B * T]); // [N]
  const run = (te: tf.Tensor, pe: tf.Tensor) => (tf.engine().runKernel(FWD, { wte: te, wpe: pe, idx: flat }, { T }) as tf.Tensor[])[0] as tf.Tensor2D;
  if (!insideGradient()) return run(wte, wpe);
  const attrs = { T, V: wte.shape[0], P: wpe.shape[0] };
  const f = tf.customGrad((...args) => {
    const [te, pe] = args as tf.Tensor[];
    return {
      value: run(te, pe),
      gradFunc: (dy: tf.Tensor) => tf.engine().runKernel(BWD, { dy, idx: flat }, attrs) as tf.Tensor[],
    };
  });
  return f(wte, wpe) as tf.Tensor2D;
}
