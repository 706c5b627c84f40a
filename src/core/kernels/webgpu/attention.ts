// Causal self-attention as one WGSL kernel per direction: scores, scale,
// causal mask, softmax and the weighted sum of values in one forward
// dispatch, and dq, dk, dv in one backward dispatch. Why: generically
// attention is three projections from column slices of c_attn (slices, a
// scale, three matmuls), heads transposed out of [N, C] (3 transposes), a
// batched matmul, a [T, T] mask add, a softmax, a second matmul and a
// transpose back, each a launch, and the [B, nH, T, T] scores and
// probabilities go through memory several times each way. Here c_attn is one
// plain [N, C] @ [C, 3C] linear, the kernels read q, k, v straight from its
// [N, 3C] output (no transposes, no slices), the 1/sqrt(hs) scale is applied
// to the scores, the mask is the loop bound j <= i (no mask tensor; masked
// entries are exactly 0 in the generic softmax too), and the probabilities
// live in workgroup memory only; the backward recomputes them from the saved
// row log-sum-exp (FlashAttention's recipe, without its tiling: T is small)
// and writes dq, dk, dv into one [N, 3C] gradient, c_attn's output gradient.
//
// Shape legend: B batch, T positions, nH heads, hs = C / nH head size,
// N = B T rows; qkv [N, 3C] = [q | k | v], head h in columns h hs .. (h+1) hs - 1
// of each third; y [N, C] the heads side by side (c_proj's input).
//
//   forward   one workgroup per (b, h, query i): s_j = scale q_i . k_j (j <= i),
//             p = softmax(s), y_i = sum_j p_j v_j; also lse_i = log sum_j exp(s_j)  [B nH T]
//   backward  one dispatch, two kinds of workgroup:
//             per (b, h, query i):  dq_i = scale sum_{j<=i} dS_ij k_j
//             per (b, h, key j):    dk_j = scale sum_{i>=j} dS_ij q_i,  dv_j = sum_{i>=j} P_ij dy_i
//             with P_ij = exp(s_ij - lse_i), dS_ij = P_ij (dy_i . v_j - dy_i . y_i)
//
// The row buffers are workgroup arrays of a compile-time length, the smallest
// of 64, 128, ... 1024 that holds T: a model compiles one or two variants, not
// one per T. Longer contexts take the generic path (ATTENTION_MAX_T).

import * as tf from '@tensorflow/tfjs';
import { reduceSnippet, runKernel, withBackward, type KernelSource, type WebGPUBackendLike } from './program';

const WG = 64;
const FWD = 'TabgptCausalAttention';
const BWD = 'TabgptCausalAttentionGrad';
/** Longest T the fused kernels take: two f32 rows of 1024 are 8 KiB of the 16 KiB of workgroup memory WebGPU guarantees. */
export const ATTENTION_MAX_T = 1024;

function rowLength(T: number): number {
  let n = 64;
  while (n < T) n *= 2;
  return n;
}

const common = `
  let T = u32(u.T);
  let nH = u32(u.nH);
  let hs = u32(u.hs);
  let C = u32(u.C);
  let W = 3u * C; // a qkv row`;

function forwardSource(maxT: number): KernelSource {
  return {
    key: `attention_fwd_${maxT}`,
    inputs: [['qkv', 'f32']],
    outputs: ['y', 'lse'],
    uniforms: [
      ['T', 'i32'],
      ['nH', 'i32'],
      ['hs', 'i32'],
      ['C', 'i32'],
      ['scale', 'f32'],
    ],
    workgroupSize: WG,
    body: `${reduceSnippet(WG, 'sum')}
${reduceSnippet(WG, 'max')}
var<workgroup> p: array<f32, ${maxT}>;
fn main(g: u32, lid: u32) {${common}
  let i = g % T;
  let bh = g / T;
  let h = bh % nH;
  let b = bh / nH;
  let qo = (b * T + i) * W + h * hs; // q_i
  let base = b * T * W + h * hs;     // q_j at base + j W, k_j C further, v_j 2C further
  var m = -3.0e38;
  for (var j = lid; j <= i; j += WG) {
    var s = 0.0;
    for (var d = 0u; d < hs; d++) { s += qkv[qo + d] * qkv[base + j * W + C + d]; }
    s *= u.scale;
    p[j] = s;
    m = max(m, s);
  }
  let mx = wgMax(m, lid);
  var se = 0.0;
  for (var j = lid; j <= i; j += WG) { let e = exp(p[j] - mx); p[j] = e; se += e; }
  let sum = wgSum(se, lid); // its barriers also publish p
  let yo = (b * T + i) * C + h * hs;
  for (var d = lid; d < hs; d += WG) {
    var acc = 0.0;
    for (var j = 0u; j <= i; j++) { acc += p[j] * qkv[base + j * W + 2u * C + d]; }
    y[yo + d] = acc / sum;
  }
  if (lid == 0u) { lse[g] = mx + log(sum); }
}`,
  };
}

function backwardSource(maxT: number): KernelSource {
  return {
    key: `attention_bwd_${maxT}`,
    inputs: [
      ['dy', 'f32'],
      ['qkv', 'f32'],
      ['y', 'f32'],
      ['lse', 'f32'],
    ],
    outputs: ['dqkv'],
    uniforms: [
      ['T', 'i32'],
      ['nH', 'i32'],
      ['hs', 'i32'],
      ['C', 'i32'],
      ['scale', 'f32'],
      ['R', 'i32'],
    ],
    workgroupSize: WG,
    body: `${reduceSnippet(WG, 'sum')}
var<workgroup> pa: array<f32, ${maxT}>;
var<workgroup> pb: array<f32, ${maxT}>;
fn main(g: u32, lid: u32) {${common}
  let R = u32(u.R); // B nH T: query-row workgroups first, then as many key-row ones
  let row = select(g - R, g, g < R);
  let t = row % T;
  let bh = row / T;
  let h = bh % nH;
  let b = bh / nH;
  let to = (b * T + t) * W + h * hs; // q_t in qkv (k_t at +C, v_t at +2C)
  let yt = (b * T + t) * C + h * hs; // y_t, dy_t
  let base = b * T * W + h * hs;
  let ybase = b * T * C + h * hs;
  if (g < R) {
    // query i = t: dq_i = scale sum_{j<=i} P_ij (dP_ij - D_i) k_j,  D_i = dy_i . y_i
    var dd = 0.0;
    for (var d = lid; d < hs; d += WG) { dd += dy[yt + d] * y[yt + d]; }
    let D = wgSum(dd, lid);
    let L = lse[row];
    for (var j = lid; j <= t; j += WG) {
      var s = 0.0;
      var dp = 0.0;
      for (var d = 0u; d < hs; d++) {
        s += qkv[to + d] * qkv[base + j * W + C + d];
        dp += dy[yt + d] * qkv[base + j * W + 2u * C + d];
      }
      pa[j] = exp(s * u.scale - L) * (dp - D);
    }
    workgroupBarrier();
    for (var d = lid; d < hs; d += WG) {
      var acc = 0.0;
      for (var j = 0u; j <= t; j++) { acc += pa[j] * qkv[base + j * W + C + d]; }
      dqkv[to + d] = acc * u.scale;
    }
  } else {
    // key j = t: dk_j = scale sum_{i>=j} dS_ij q_i,  dv_j = sum_{i>=j} P_ij dy_i
    for (var i = t + lid; i < T; i += WG) {
      let io = base + i * W;
      let iy = ybase + i * C;
      var s = 0.0;
      var dp = 0.0;
      var D = 0.0;
      for (var d = 0u; d < hs; d++) {
        s += qkv[io + d] * qkv[to + C + d];
        dp += dy[iy + d] * qkv[to + 2u * C + d];
        D += dy[iy + d] * y[iy + d];
      }
      let P = exp(s * u.scale - lse[bh * T + i]);
      pa[i] = P;
      pb[i] = P * (dp - D);
    }
    workgroupBarrier();
    for (var d = lid; d < hs; d += WG) {
      var ak = 0.0;
      var av = 0.0;
      for (var i = t; i < T; i++) {
        ak += pb[i] * qkv[base + i * W + d];
        av += pa[i] * dy[ybase + i * C + d];
      }
      dqkv[to + C + d] = ak * u.scale;
      dqkv[to + 2u * C + d] = av;
    }
  }
}`,
  };
}

interface Attrs {
  B: number;
  T: number;
  nH: number;
}

/** The forward and backward kernels, registered for the webgpu backend by index.ts. */
export const kernels: tf.KernelConfig[] = [
  {
    kernelName: FWD,
    backendName: 'webgpu',
    kernelFunc: ({ inputs, backend, attrs }) => {
      const { qkv } = inputs as Record<string, tf.TensorInfo>;
      const { B, T, nH } = attrs as unknown as Attrs;
      const C = qkv.shape[1] / 3;
      return runKernel(backend as unknown as WebGPUBackendLike, forwardSource(rowLength(T)), {
        inputs: [qkv],
        outputShapes: [[B * T, C], [B * nH * T]],
        uniforms: [T, nH, C / nH, C, 1 / Math.sqrt(C / nH)],
        groups: B * nH * T,
      });
    },
  },
  {
    kernelName: BWD,
    backendName: 'webgpu',
    kernelFunc: ({ inputs, backend, attrs }) => {
      const { dy, qkv, y, lse } = inputs as Record<string, tf.TensorInfo>;
      const { B, T, nH } = attrs as unknown as Attrs;
      const C = qkv.shape[1] / 3;
      const R = B * nH * T;
      return runKernel(backend as unknown as WebGPUBackendLike, backwardSource(rowLength(T)), {
        inputs: [dy, qkv, y, lse],
        outputShapes: [[B * T, 3 * C]],
        uniforms: [T, nH, C / nH, C, 1 / Math.sqrt(C / nH), R],
        groups: 2 * R,
      });
    },
  },
];

/**
 * Fused causal attention on c_attn's output: qkv [B T, 3C] = [q | k | v] (q not
 * yet scaled), nH heads -> y [B T, C]. T <= ATTENTION_MAX_T.
 */
export function causalAttentionFused(qkv: tf.Tensor2D, B: number, T: number, nH: number): tf.Tensor2D {
  const attrs = { B, T, nH } as unknown as tf.NamedAttrMap;
  return withBackward(
    qkv,
    (x) => tf.engine().runKernel(FWD, { qkv: x }, attrs) as tf.Tensor[], // [y, lse]
    (dy, s) => (tf.engine().runKernel(BWD, { dy, qkv: s.x, y: s.y, lse: s.aux }, attrs) as tf.Tensor[])[0],
  ) as tf.Tensor2D;
}
