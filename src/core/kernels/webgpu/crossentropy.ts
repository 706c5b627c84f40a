// Softmax cross-entropy as one WGSL kernel each way. Why: generically it is a
// one-hot of the targets (OneHot + Cast), a log-softmax (max, sub, exp, sum,
// log, sub), a product with the one-hot, a sum and a division forward, and
// exp, sub, mul, div backward, with [N, V] intermediates in memory; here the
// forward reads each logit row once and reduces straight to the mean loss,
// and the backward writes (softmax - onehot) dy / N from the saved row
// log-sum-exp. Targets are read as integers: no one-hot tensor at all.
//
//   forward   logits [N, V], targets [N] int32 -> loss [] (mean nats), lse [N]
//             one workgroup; each invocation takes rows lid, lid + WG, ... (V is
//             a character vocabulary, tens to hundreds), then one workgroup sum
//   backward  dy [], logits, targets, lse -> dlogits [N, V] = (exp(l - lse) - onehot) dy / N

import * as tf from '@tensorflow/tfjs';
import { reduceSnippet, runKernel, withBackward, type KernelSource, type WebGPUBackendLike } from './program';

const WG_FWD = 256; // WebGPU's guaranteed maximum invocations per workgroup
const WG = 64;
const FWD = 'TabgptCrossEntropy';
const BWD = 'TabgptCrossEntropyGrad';

const forward: KernelSource = {
  key: 'cross_entropy_fwd',
  inputs: [
    ['logits', 'f32'],
    ['targets', 'i32'],
  ],
  outputs: ['loss', 'lse'],
  uniforms: [
    ['N', 'i32'],
    ['V', 'i32'],
  ],
  workgroupSize: WG_FWD,
  body: `${reduceSnippet(WG_FWD, 'sum')}
fn main(g: u32, lid: u32) {
  let N = u32(u.N);
  let V = u32(u.V);
  var acc = 0.0;
  for (var n = lid; n < N; n += WG) {
    let o = n * V;
    var m = -3.0e38;
    for (var v = 0u; v < V; v++) { m = max(m, logits[o + v]); }
    var s = 0.0;
    for (var v = 0u; v < V; v++) { s += exp(logits[o + v] - m); }
    let l = m + log(s);
    lse[n] = l;
    let t = u32(targets[n]);
    acc += l - select(l, logits[o + t], t < V); // an out-of-range target adds 0, as its all-zero one-hot does
  }
  let total = wgSum(acc, lid);
  if (lid == 0u) { loss[0] = total / f32(N); }
}`,
};

const backward: KernelSource = {
  key: 'cross_entropy_bwd',
  inputs: [
    ['dy', 'f32'],
    ['logits', 'f32'],
    ['targets', 'i32'],
    ['lse', 'f32'],
  ],
  outputs: ['dlogits'],
  uniforms: [
    ['N', 'i32'],
    ['V', 'i32'],
  ],
  workgroupSize: WG,
  body: `
fn main(g: u32, lid: u32) {
  let N = u32(u.N);
  let V = u32(u.V);
  let i = g * WG + lid;
  if (i >= N * V) { return; }
  let n = i / V;
  let hit = select(0.0, 1.0, u32(targets[n]) == i % V);
  dlogits[i] = (exp(logits[i] - lse[n]) - hit) * (dy[0] / f32(N));
}`,
};

/** The forward and backward kernels, registered for the webgpu backend by index.ts. */
export const kernels: tf.KernelConfig[] = [
  {
    kernelName: FWD,
    backendName: 'webgpu',
    kernelFunc: ({ inputs, backend }) => {
      const { logits, targets } = inputs as Record<string, tf.TensorInfo>;
      const [N, V] = logits.shape;
      return runKernel(backend as unknown as WebGPUBackendLike, forward, {
        inputs: [logits, targets],
        outputShapes: [[], [N]],
        uniforms: [N, V],
        groups: 1,
      });
    },
  },
  {
    kernelName: BWD,
    backendName: 'webgpu',
    kernelFunc: ({ inputs, backend }) => {
      const { dy, logits, targets, lse } = inputs as Record<string, tf.TensorInfo>;
      const [N, V] = logits.shape;
      return runKernel(backend as unknown as WebGPUBackendLike, backward, {
        inputs: [dy, logits, targets, lse],
        outputShapes: [[N, V]],
        uniforms: [N, V],
        groups: Math.ceil((N * V) / WG),
      });
    },
  },
];

/** Fused mean cross-entropy in nats: logits [N, V], int32 targets [N] -> scalar. */
export function crossEntropyFused(logits: tf.Tensor2D, targets: tf.Tensor1D): tf.Scalar {
  return withBackward(
    logits,
    (l) => tf.engine().runKernel(FWD, { logits: l, targets }, {}) as tf.Tensor[], // [loss, lse]
    (dy, s) => (tf.engine().runKernel(BWD, { dy, logits: s.x, targets, lse: s.aux }, {}) as tf.Tensor[])[0],
  ) as tf.Scalar;
}
