// The model's building blocks, each with a hand-written backward pass where
// tfjs' automatic one is slow or missing on some backend:
//  - linear: fused matmul + bias forward; bias gradient as a GEMV.
//  - embeddingLookup: a one-hot matmul both ways (gather's gradient needs
//    UnsortedSegmentSum, which the wasm backend lacks).
//  - layerNorm: autodiff of mean/sub/rsqrt takes ~15 kernels; the closed-form
//    backward takes a handful.
//  - gelu: sigmoid form, closed-form backward (no tanh, no pow).
//  - crossEntropy: softmax minus one-hot, without a dense log-softmax backward.
//  - embed, linearGelu, causalSelfAttention: the model's token + position
//    embedding, c_fc + GELU, and c_attn + attention, as ops so that each can
//    take its fused form.
// Outside a gradient recording each computes its value directly (no wrapper).
// docs/optimisation-log.md has the measured effect of each.
//
// Generic or fused: every op takes the model's kernel choice k (kernels/mode.ts;
// GPT's `kernels` option). On the webgpu backend in `fused` mode (useFused(k))
// layerNorm, gelu, linearGelu, causalSelfAttention, crossEntropy and embed run one WGSL kernel per direction (kernels/webgpu/index.ts), and
// on a CPU adapter (SwiftShader) every 2-D matmul takes the register-tiled
// kernel (matMul2d); everywhere else, and in `generic` mode, the tf-op
// compositions below, the reference the fused kernels are tested against.
//
// Shape legend: B batch, T positions, N rows (B*T), C features, V vocabulary, nH heads.

import * as tf from '@tensorflow/tfjs';
import { insideGradient } from './kernels/tfjs-internals';
import { useFused, useTiledMatmul, type Kernels } from './kernels/mode';
import type { GeluForm } from './config';
// The fused WGSL kernels (registered for the webgpu backend on import): kernels/webgpu/index.ts
import { ATTENTION_MAX_T, biasGeluFused, causalAttentionFused, crossEntropyFused, embeddingFused, layerNormFused, matMulTiled } from './kernels/webgpu';

/**
 * Whether tfjs is recording for a gradient (inside tf.grad, variableGrads).
 * When it is not (evaluation, generation), each op below computes its value
 * directly: a customGrad wrapper costs engine bookkeeping per call, which is
 * most of the time of a one-token forward.
 */
function recording(): boolean {
  return insideGradient();
}

/**
 * op(a) @ op(b) (+ bias), 2-D, no gradient: the one place the model's 2-D
 * matmuls pick their kernel. The fused path on a CPU adapter takes the
 * register-tiled kernel (kernels/webgpu/matmul.ts; kernels/mode.ts says when);
 * everywhere else tfjs' matmul, with the bias in its fused matmul kernel.
 */
export function matMul2d(k: Kernels, a: tf.Tensor2D, b: tf.Tensor2D, transposeA: boolean, transposeB: boolean, bias: tf.Tensor | null = null): tf.Tensor2D {
  if (useTiledMatmul(k)) return matMulTiled(a, b, transposeA, transposeB, bias);
  if (bias) return tf.fused.matMul({ a, b, transposeA, transposeB, bias }) as tf.Tensor2D;
  return tf.matMul(a, b, transposeA, transposeB);
}

/**
 * x @ W (+ b): [N, in] @ [in, out] -> [N, out], with the backward written out:
 * dx = dy @ W^T, dW = x^T @ dy, db = sumRows(dy). Autodiff's bias gradient is
 * a Sum over axis 0, which the wasm backend runs as a transpose plus a reduce
 * (3.8 ms for [1024, 512]); sumRows is one GEMV (0.1 ms). The forward uses the
 * fused matmul+bias kernel where the backend has one (all four do).
 */
export function linear(k: Kernels, x: tf.Tensor2D, w: tf.Tensor2D, b: tf.Tensor | null): tf.Tensor2D {
  if (!recording()) return matMul2d(k, x, w, false, false, b);
  const f = tf.customGrad((...args) => {
    const [input, weight] = args as tf.Tensor2D[];
    const save = args[args.length - 1] as tf.GradSaveFunc;
    save([input, weight]);
    return {
      value: matMul2d(k, input, weight, false, false, b ? (args[2] as tf.Tensor) : null),
      gradFunc: (dy: tf.Tensor, [xs, ws]: tf.Tensor[]) => {
        const g = dy as tf.Tensor2D;
        const dx = matMul2d(k, g, ws as tf.Tensor2D, false, true); // [N, out] @ [out, in]
        const dw = matMul2d(k, xs as tf.Tensor2D, g, true, false); // [in, N] @ [N, out]
        return b ? [dx, dw, sumRows(k, g)] : [dx, dw];
      },
    };
  });
  return (b ? f(x, w, b) : f(x, w)) as tf.Tensor2D;
}

/**
 * The tied output head, x @ wte^T: [N, C] @ [V, C]^T -> [N, V] logits. On
 * the tiled-matmul path its backward is written out (dx = dy @ wte, dwte =
 * dy^T @ x, both without a transpose kernel); elsewhere tf.matMul's autodiff,
 * which is the same two products.
 */
export function tiedHead(k: Kernels, x: tf.Tensor2D, wte: tf.Tensor2D): tf.Tensor2D {
  if (!useTiledMatmul(k)) return tf.matMul(x, wte, false, true);
  if (!recording()) return matMul2d(k, x, wte, false, true);
  const f = tf.customGrad((...args) => {
    const [input, weight] = args as tf.Tensor2D[];
    const save = args[2] as tf.GradSaveFunc;
    save([input, weight]);
    return {
      value: matMul2d(k, input, weight, false, true),
      gradFunc: (dy: tf.Tensor, [xs, ws]: tf.Tensor[]) => {
        const g = dy as tf.Tensor2D;
        return [matMul2d(k, g, ws as tf.Tensor2D, false, false), matMul2d(k, g, xs as tf.Tensor2D, true, false)]; // [N, V] @ [V, C]; [V, N] @ [N, C]
      },
    };
  });
  return f(x, wte) as tf.Tensor2D;
}

/**
 * Column sums of a matrix as one GEMV, ones[1, N] @ x: [N, C] -> [C]. The ones
 * come from tf.fill, a kernel on the device, not tf.ones, whose values are made
 * on the CPU: on webgpu that was an upload per bias per step (12 for `baby`).
 */
export function sumRows(k: Kernels, x: tf.Tensor2D): tf.Tensor1D {
  const [N, C] = x.shape;
  return matMul2d(k, tf.fill([1, N], 1) as tf.Tensor2D, x, false, false).reshape([C]); // [1, N] @ [N, C] -> [1, C] -> [C]
}

/**
 * Rows of w picked by idx, as a one-hot matmul: [V, C], [N] -> [N, C].
 * A matmul, not tf.gather, both ways: gather's gradient needs
 * UnsortedSegmentSum (missing on wasm), and wasm's gather is slow (15 ms for
 * 1024 rows of 512) while the one-hot GEMM is exact (1 * w + 0 * ...) and fast.
 * Backward: dW = onehot(idx)^T @ dy.
 */
export function embeddingLookup(w: tf.Tensor2D, idx: tf.Tensor1D): tf.Tensor2D {
  const V = w.shape[0];
  if (!recording()) return tf.matMul(oneHotFloat(idx, V), w);
  const f = tf.customGrad((...args) => {
    const weight = args[0] as tf.Tensor2D;
    const save = args[1] as tf.GradSaveFunc;
    const oneHot = oneHotFloat(idx, V); // [N, V]
    save([oneHot]);
    return {
      value: tf.matMul(oneHot, weight), // [N, V] @ [V, C]
      gradFunc: (dy: tf.Tensor, [oh]: tf.Tensor[]) => tf.matMul(oh, dy as tf.Tensor2D, true, false), // [V, N] @ [N, C]
    };
  });
  return f(w) as tf.Tensor2D;
}

/**
 * Token plus position embeddings: wte [V, C], wpe [blockSize, C], idx [B, T]
 * int32 -> [B*T, C]. Generic: two one-hot matmuls (embeddingLookup), the
 * positions as rows (not a broadcast add over B) so wpe's gradient is one
 * GEMM. Fused (webgpu): one gather kernel forward, one scatter-add kernel
 * back, positions computed in the kernel (kernels/webgpu/embedding.ts).
 */
export function embed(k: Kernels, wte: tf.Tensor2D, wpe: tf.Tensor2D, idx: tf.Tensor2D): tf.Tensor2D {
  if (useFused(k)) return embeddingFused(wte, wpe, idx);
  const [B, T] = idx.shape;
  return embeddingLookup(wte, idx.reshape([B * T])).add(embeddingLookup(wpe, positions(B, T))) as tf.Tensor2D;
}

/** Position of each row of a [B, T] batch flattened to N = B*T rows: [N] int32, 0..T-1 repeated B times. */
function positions(B: number, T: number): tf.Tensor1D {
  const pos = new Int32Array(B * T);
  for (let i = 0; i < B * T; i++) pos[i] = i % T;
  return tf.tensor1d(pos, 'int32');
}

const LN_EPS = 1e-5; // PyTorch's default, so weights move between the two unchanged

/** (x - mean) / std per row, and 1/std: [N, C] -> [N, C], [N, 1]. */
function normalize(x: tf.Tensor2D): { xhat: tf.Tensor2D; rstd: tf.Tensor2D } {
  const mean = x.mean(-1, true); // [N, 1]
  const xc = x.sub(mean);
  const rstd = xc.square().mean(-1, true).add(LN_EPS).rsqrt() as tf.Tensor2D; // [N, 1]
  return { xhat: xc.mul(rstd) as tf.Tensor2D, rstd };
}

/** LayerNorm over the last axis: [N, C] -> [N, C], gain w [C], optional bias b [C]. */
export function layerNorm(k: Kernels, x: tf.Tensor2D, w: tf.Tensor, b: tf.Tensor | null): tf.Tensor2D {
  if (useFused(k)) return layerNormFused(x, w, b, LN_EPS); // one WGSL kernel each way (kernels/webgpu/layernorm.ts)
  if (!recording()) {
    const scaled = normalize(x).xhat.mul(w);
    return (b ? scaled.add(b) : scaled) as tf.Tensor2D;
  }
  const f = tf.customGrad((...args) => {
    const [input, gain] = args as tf.Tensor2D[];
    const save = args[args.length - 1] as tf.GradSaveFunc;
    const { xhat, rstd } = normalize(input);
    save([xhat, rstd, gain]);
    const scaled = xhat.mul(gain);
    return {
      value: (b ? scaled.add(args[2] as tf.Tensor) : scaled) as tf.Tensor2D,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [xh, rs, g] = saved;
        const dxhat = dy.mul(g); // [N, C]
        // dx = rstd * (dxhat - mean(dxhat) - xhat * mean(dxhat * xhat))
        const dx = dxhat
          .sub(dxhat.mean(-1, true))
          .sub(xh.mul(dxhat.mul(xh).mean(-1, true)))
          .mul(rs);
        const dgain = sumRows(k, dy.mul(xh) as tf.Tensor2D);
        return b ? [dx, dgain, sumRows(k, dy as tf.Tensor2D)] : [dx, dgain];
      },
    };
  });
  return (b ? f(x, w, b) : f(x, w)) as tf.Tensor2D;
}

const GELU_C = Math.sqrt(2 / Math.PI);

/**
 * GELU, tanh approximation (GPT-2's; PyTorch nn.GELU(approximate='tanh')):
 * 0.5 x (1 + tanh(u)), u = sqrt(2/pi) (x + 0.044715 x^3), computed as the
 * identical x * sigmoid(2u) with a closed-form gradient. Why: wasm's Tanh and
 * Pow run at ~16 ns/element (scalar libm) while Sigmoid and Mul are SIMD
 * (~1-2 ns), and autodiff of pow also computes a log for the exponent's grad.
 *   d/dx = s + x s (1 - s) 2u',  s = sigmoid(2u),  2u' = 2 sqrt(2/pi) (1 + 3 * 0.044715 x^2)
 */
export function gelu(k: Kernels, x: tf.Tensor2D, form: GeluForm = 'tanh'): tf.Tensor2D {
  if (useFused(k)) return biasGeluFused(x, null, form); // one WGSL kernel each way (kernels/webgpu/gelu.ts)
  if (form === 'erf') return geluErf(x);
  // sigmoid(2u) = sigmoid(x (2 sqrt(2/pi) + 2 sqrt(2/pi) 0.044715 x^2))
  const sig2u = (input: tf.Tensor, x2: tf.Tensor) => tf.sigmoid(input.mul(x2.mul(2 * GELU_C * 0.044715).add(2 * GELU_C)));
  if (!recording()) return x.mul(sig2u(x, x.square()));
  const f = tf.customGrad((...args) => {
    const input = args[0] as tf.Tensor2D;
    const save = args[1] as tf.GradSaveFunc;
    const x2 = input.square();
    const s = sig2u(input, x2);
    save([input, x2, s]);
    return {
      value: input.mul(s) as tf.Tensor2D,
      gradFunc: (dy: tf.Tensor, [xs, xsq, sg]: tf.Tensor[]) => {
        const du2 = xsq.mul(6 * GELU_C * 0.044715).add(2 * GELU_C); // d(2u)/dx
        const ds = tf.sub(1, sg).mul(sg).mul(xs).mul(du2); // x s (1 - s) d(2u)/dx
        return dy.mul(sg.add(ds));
      },
    };
  });
  return f(x) as tf.Tensor2D;
}

const INV_SQRT2 = Math.SQRT1_2;
const INV_SQRT_2PI = 1 / Math.sqrt(2 * Math.PI);

/**
 * GELU, exact form (PyTorch nn.GELU(), nanoGPT's MLP): x Phi(x) = 0.5 x (1 + erf(x / sqrt 2)),
 * with the closed-form gradient Phi(x) + x phi(x), phi(x) = exp(-x^2 / 2) / sqrt(2 pi).
 * tf.erf is one kernel on every backend (Abramowitz-Stegun 7.1.26, absolute error < 1.5e-7).
 */
function geluErf(x: tf.Tensor2D): tf.Tensor2D {
  const phiCdf = (input: tf.Tensor) => tf.erf(input.mul(INV_SQRT2)).add(1).mul(0.5); // Phi(x)
  if (!recording()) return x.mul(phiCdf(x));
  const f = tf.customGrad((...args) => {
    const input = args[0] as tf.Tensor2D;
    const save = args[1] as tf.GradSaveFunc;
    const cdf = phiCdf(input);
    save([input, cdf]);
    return {
      value: input.mul(cdf) as tf.Tensor2D,
      gradFunc: (dy: tf.Tensor, [xs, c]: tf.Tensor[]) => {
        const pdf = xs.square().mul(-0.5).exp().mul(INV_SQRT_2PI); // phi(x)
        return dy.mul(c.add(xs.mul(pdf)));
      },
    };
  });
  return f(x) as tf.Tensor2D;
}

/**
 * The MLP's first half, gelu(x @ W + b): [N, in] -> [N, out]. Generic: the
 * fused matmul+bias, then gelu. Fused (webgpu): the matmul without bias, then
 * one kernel for the bias add and GELU, whose backward also sums the bias
 * gradient (kernels/webgpu/gelu.ts).
 */
export function linearGelu(k: Kernels, x: tf.Tensor2D, w: tf.Tensor2D, b: tf.Tensor | null, form: GeluForm = 'tanh'): tf.Tensor2D {
  if (useFused(k)) return biasGeluFused(linear(k, x, w, null), b, form);
  return gelu(k, linear(k, x, w, b), form);
}

/**
 * Causal multi-head self-attention up to c_proj: x [N, C] (ln_1's output),
 * c_attn's weight w [C, 3C] and bias b [3C] -> [N, C], N = B*T, nH heads of
 * hs = C/nH columns (the heads side by side, ready for c_proj).
 * Generic: q, k, v projections (qkvProjections), heads to a batch dim,
 * q k^T + mask, softmax, (dropout,) @ v, heads back. Fused (webgpu, no
 * attention dropout, T <= ATTENTION_MAX_T): one [N, C] @ [C, 3C] linear and
 * one kernel each way on its [N, 3C] output, no mask tensor
 * (kernels/webgpu/attention.ts).
 * `mask` gives the [T, T] additive causal mask, only asked for by the generic path.
 * `onAttention` receives the softmax [B, nH, T, T] (core/inspect): it takes the generic path.
 */
export function causalSelfAttention(
  k: Kernels,
  x: tf.Tensor2D,
  w: tf.Tensor,
  b: tf.Tensor | null,
  B: number,
  T: number,
  nH: number,
  mask: () => tf.Tensor,
  dropout: ((att: tf.Tensor) => tf.Tensor) | null,
  onAttention: ((att: tf.Tensor4D) => void) | null = null,
): tf.Tensor2D {
  if (useFused(k) && !dropout && !onAttention && T <= ATTENTION_MAX_T) return causalAttentionFused(linear(k, x, w as tf.Tensor2D, b), B, T, nH);
  const C = x.shape[1];
  const hs = C / nH;
  const [q, kp, v] = qkvProjections(k, x, w, b, hs);
  // [N, C] -> [B, T, nH, hs] -> heads as a batch dim: q, v [B, nH, T, hs], k as k^T [B, nH, hs, T]
  const qh = q.reshape([B, T, nH, hs]).transpose([0, 2, 1, 3]);
  const kT = kp.reshape([B, T, nH, hs]).transpose([0, 2, 3, 1]);
  const vh = v.reshape([B, T, nH, hs]).transpose([0, 2, 1, 3]);
  let att = tf.softmax(tf.matMul(qh, kT).add(mask())); // [B, nH, T, T], q pre-scaled
  onAttention?.(att as tf.Tensor4D); // the views read the probabilities (before dropout)
  if (dropout) att = dropout(att);
  const y = tf.matMul(att, vh); // [B, nH, T, hs]
  // [B, nH, T, hs] -> [B, T, nH, hs] -> [N, C]: the heads side by side again
  return y.transpose([0, 2, 1, 3]).reshape([B * T, C]) as tf.Tensor2D;
}

/**
 * q, k, v projections of c_attn for `x` [n, C], each [n, C]: three column
 * blocks of the one [C, 3C] weight (the same parameters and products as one
 * wide matmul), so each output can go straight to its head-major layout
 * with a 4-D transpose, with no 5-D transpose (wasm's generic N-d transpose
 * costs ~50 ns/element) and no column slices of activations. q comes scaled
 * by 1/sqrt(hs), folded into its weight and bias ([C, C], not [B, nH, T, T]).
 */
function qkvProjections(k: Kernels, x: tf.Tensor2D, w: tf.Tensor, b: tf.Tensor | null, hs: number): [tf.Tensor2D, tf.Tensor2D, tf.Tensor2D] {
  const C = x.shape[1];
  const scale = 1 / Math.sqrt(hs);
  const proj = (i: number, s: number) => {
    const wi = w.slice([0, i * C], [C, C]) as tf.Tensor2D;
    const bi = b ? b.slice([i * C], [C]) : null;
    return s === 1 ? linear(k, x, wi, bi) : linear(k, x, wi.mul(s) as tf.Tensor2D, bi ? bi.mul(s) : null);
  };
  return [proj(0, scale), proj(1, 1), proj(2, 1)];
}

/** Mean cross-entropy in nats: logits [N, V], integer targets [N] -> scalar. */
export function crossEntropy(k: Kernels, logits: tf.Tensor2D, targets: tf.Tensor1D): tf.Scalar {
  if (useFused(k)) return crossEntropyFused(logits, targets); // one WGSL kernel each way (kernels/webgpu/crossentropy.ts)
  const [N, V] = logits.shape;
  if (!recording()) return tf.logSoftmax(logits).mul(oneHotFloat(targets, V)).sum().div(-N);
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
