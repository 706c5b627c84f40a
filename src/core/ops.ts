// The model's building blocks, each with a hand-written backward pass where
// tfjs' automatic one is slow or missing on some backend:
//  - embeddingLookup: tf.gather's gradient needs UnsortedSegmentSum, which the
//    wasm backend lacks; a one-hot matmul gives the same gradient everywhere.
//  - layerNorm: autodiff of mean/sub/rsqrt takes ~15 kernels; the closed-form
//    backward takes a handful.
//  - crossEntropy: softmax minus one-hot, without a dense log-softmax backward.
//
// Shape legend: N rows (B*T), C features, V vocabulary.

import * as tf from '@tensorflow/tfjs';

/** x @ W (+ b): [N, in] @ [in, out] -> [N, out]. */
export function linear(x: tf.Tensor2D, w: tf.Tensor2D, b: tf.Tensor | null): tf.Tensor2D {
  const y = tf.matMul(x, w) as tf.Tensor2D;
  return b ? (y.add(b) as tf.Tensor2D) : y;
}

/** Rows of w picked by idx: [V, C], [N] -> [N, C]; gradient dW = onehot(idx)^T @ dy. */
export function embeddingLookup(w: tf.Tensor2D, idx: tf.Tensor1D): tf.Tensor2D {
  const V = w.shape[0];
  const f = tf.customGrad((weight) => ({
    value: tf.gather(weight as tf.Tensor2D, idx),
    gradFunc: (dy: tf.Tensor) => tf.matMul(oneHotFloat(idx, V), dy as tf.Tensor2D, true, false), // [V, N] @ [N, C]
  }));
  return f(w) as tf.Tensor2D;
}

const LN_EPS = 1e-5; // PyTorch's default, so weights move between the two unchanged

/** LayerNorm over the last axis: [N, C] -> [N, C], gain w [C], optional bias b [C]. */
export function layerNorm(x: tf.Tensor2D, w: tf.Tensor, b: tf.Tensor | null): tf.Tensor2D {
  const f = tf.customGrad((...args) => {
    const [input, gain] = args as tf.Tensor2D[];
    const save = args[args.length - 1] as tf.GradSaveFunc;
    const mean = input.mean(-1, true); // [N, 1]
    const xc = input.sub(mean);
    const rstd = xc.square().mean(-1, true).add(LN_EPS).rsqrt(); // [N, 1]
    const xhat = xc.mul(rstd); // [N, C]
    save([xhat, rstd, gain]);
    const scaled = xhat.mul(gain);
    return {
      value: (b ? scaled.add(args[2] as tf.Tensor) : scaled) as tf.Tensor2D,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [xh, rs, g] = saved;
        const dxhat = dy.mul(g); // [N, C]
        // dx = rstd * (dxhat - mean(dxhat) - xhat * mean(dxhat * xhat))
        const dx = dxhat.sub(dxhat.mean(-1, true)).sub(xh.mul(dxhat.mul(xh).mean(-1, true))).mul(rs);
        const dgain = dy.mul(xh).sum(0);
        return b ? [dx, dgain, dy.sum(0)] : [dx, dgain];
      },
    };
  });
  return (b ? f(x, w, b) : f(x, w)) as tf.Tensor2D;
}

/** GELU, tanh approximation (GPT-2's; PyTorch nn.GELU(approximate='tanh')). */
export function gelu(x: tf.Tensor2D): tf.Tensor2D {
  const inner = x.add(x.pow(3).mul(0.044715)).mul(Math.sqrt(2 / Math.PI));
  return x.mul(inner.tanh().add(1)).mul(0.5);
}

/** Mean cross-entropy in nats: logits [N, V], integer targets [N] -> scalar. */
export function crossEntropy(logits: tf.Tensor2D, targets: tf.Tensor1D): tf.Scalar {
  const [N, V] = logits.shape;
  const f = tf.customGrad((...args) => {
    const input = args[0] as tf.Tensor2D;
    const save = args[1] as tf.GradSaveFunc;
    const oneHot = oneHotFloat(targets, V); // [N, V]
    const logp = tf.logSoftmax(input); // [N, V]
    save([logp, oneHot]);
    return {
      value: logp.mul(oneHot).sum().div(-N) as tf.Scalar,
      // d(loss)/d(logits) = (softmax - onehot) / N
      gradFunc: (dy: tf.Tensor, [lp, oh]: tf.Tensor[]) => lp.exp().sub(oh).mul(dy.div(N)),
    };
  });
  return f(logits) as tf.Scalar;
}

/**
 * One-hot rows as float32: [N] -> [N, V]. Built as int32 then cast, because the
 * wasm backend's OneHot ignores a float32 dtype and returns int bit patterns.
 */
export function oneHotFloat(idx: tf.Tensor1D, V: number): tf.Tensor2D {
  return tf.oneHot(idx, V).cast('float32');
}
