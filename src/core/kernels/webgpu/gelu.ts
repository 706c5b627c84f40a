// The MLP's c_fc bias add and GELU as one elementwise WGSL kernel after the
// matmul, and one kernel back. Why: generically the bias rides in the fused
// matmul, but GELU is 6 tfjs kernels forward and 8 backward (square, mul,
// add, mul, sigmoid, mul; then the closed-form derivative), each a pass over
// [N, 4C], the model's widest activation, and the bias gradient is one more
// GEMV. Here the forward reads h once and writes y once; the backward writes
// dh and sums db over rows in the same dispatch (column workgroups).
//
//   forward   h [N, F] (= x @ W), bias b [F]? -> y = gelu(h + b) [N, F]
//   backward  dy, h, b? -> dh = dy * gelu'(h + b) [N, F], db = sum_rows(dh) [F]?
//
// GELU in either form (config.gelu). 'tanh' is ops.ts' tanh approximation in
// its sigmoid form, same constants:
//   gelu(z) = z s,  s = sigmoid(z (2k + 2k 0.044715 z^2)),  k = sqrt(2/pi)
//   gelu'(z) = s + z s (1 - s) (2k + 6k 0.044715 z^2)
// 'erf' is the exact form PyTorch's nn.GELU() computes:
//   gelu(z) = z Phi(z) = 0.5 z (1 + erf(z / sqrt 2)),  gelu'(z) = Phi(z) + z exp(-z^2 / 2) / sqrt(2 pi)
// WGSL has no erf: erf32 below is a float32 minimax approximation (two
// polynomial pieces, fma Horner; N. Juffa's erff), about one float32 ulp.
// tests/kernels-webgpu.test.ts measures the GELU built on it against a
// float64 erf on [-8, 8]: 8.2e-8 (relative to 1 + |y|), where tf.erf's
// Abramowitz-Stegun 7.1.26 (the generic path) gives 2.6e-7.

import * as tf from '@tensorflow/tfjs';
import { insideGradient } from '../tfjs-internals';
import type { GeluForm } from '../../config';
import { runKernel, type KernelSource, type WebGPUBackendLike } from './program';

const WG = 64;
const FWD = 'TabgptBiasGelu';
const BWD = 'TabgptBiasGeluGrad';
const K = Math.sqrt(2 / Math.PI);

const tanhFns = `
const K2 = ${(2 * K).toPrecision(9)};
const K2C = ${(2 * K * 0.044715).toPrecision(9)};
const K6C = ${(6 * K * 0.044715).toPrecision(9)};
fn sig2u(z: f32) -> f32 { return 1.0 / (1.0 + exp(-z * (K2 + K2C * z * z))); }
fn gelu(z: f32) -> f32 { return z * sig2u(z); }
fn dgelu(z: f32) -> f32 { let s = sig2u(z); return s + z * s * (1.0 - s) * (K2 + K6C * z * z); }`;

const erfFns = `
const INV_SQRT2 = ${Math.SQRT1_2.toPrecision(9)};
const INV_SQRT_2PI = ${(1 / Math.sqrt(2 * Math.PI)).toPrecision(9)};
fn erf32(a: f32) -> f32 {
  let t = abs(a);
  let s = a * a;
  if (t > 0.927734375) {
    var r = fma(-1.72853470e-5, t, 3.83197126e-4);
    let w = fma(-3.88396438e-3, t, 2.42546219e-2);
    r = fma(r, s, w);
    r = fma(r, t, -1.06777877e-1);
    r = fma(r, t, -6.34846687e-1);
    r = fma(r, t, -1.28717512e-1);
    r = fma(r, t, -t);
    let e = 1.0 - exp(r);
    return select(-e, e, a >= 0.0);
  }
  var r = -5.96761703e-4;
  r = fma(r, s, 4.99119423e-3);
  r = fma(r, s, -2.67681349e-2);
  r = fma(r, s, 1.12819925e-1);
  r = fma(r, s, -3.76125336e-1);
  r = fma(r, s, 1.28379166e-1);
  return fma(r, a, a);
}
fn cdf(z: f32) -> f32 { return 0.5 * (1.0 + erf32(z * INV_SQRT2)); }
fn gelu(z: f32) -> f32 { return z * cdf(z); }
fn dgelu(z: f32) -> f32 { return cdf(z) + z * exp(-0.5 * z * z) * INV_SQRT_2PI; }`;

const geluFns = (form: GeluForm) => (form === 'erf' ? erfFns : tanhFns);

function forwardSource(bias: boolean, form: GeluForm): KernelSource {
  return {
    key: `bias_gelu_fwd_${bias}_${form}`,
    inputs: [['h', 'f32'], ...(bias ? [['b', 'f32'] as ['b', 'f32']] : [])],
    outputs: ['y'],
    uniforms: [
      ['size', 'i32'],
      ['F', 'i32'],
    ],
    workgroupSize: WG,
    body: `${geluFns(form)}
fn main(g: u32, lid: u32) {
  let i = g * WG + lid;
  if (i >= u32(u.size)) { return; }
  let z = h[i]${bias ? ' + b[i % u32(u.F)]' : ''};
  y[i] = gelu(z);
}`,
  };
}

function backwardSource(bias: boolean, form: GeluForm): KernelSource {
  return {
    key: `bias_gelu_bwd_${bias}_${form}`,
    inputs: [['dy', 'f32'], ['h', 'f32'], ...(bias ? [['b', 'f32'] as ['b', 'f32']] : [])],
    outputs: ['dh', ...(bias ? ['db'] : [])],
    uniforms: [
      ['N', 'i32'],
      ['F', 'i32'],
    ],
    workgroupSize: WG,
    body: `${geluFns(form)}
fn main(g: u32, lid: u32) {
  let N = u32(u.N);
  let F = u32(u.F);
  let elementGroups = (N * F + WG - 1u) / WG;
  if (g < elementGroups) {
    let i = g * WG + lid;
    if (i < N * F) { dh[i] = dy[i] * dgelu(h[i]${bias ? ' + b[i % F]' : ''}); }
  }${
    bias
      ? ` else {
    // db for column f: the sum over rows of the dh this dispatch also writes
    let f = (g - elementGroups) * WG + lid;
    if (f < F) {
      var s = 0.0;
      for (var n = 0u; n < N; n++) { s += dy[n * F + f] * dgelu(h[n * F + f] + b[f]); }
      db[f] = s;
    }
  }`
      : ''
  }
}`,
  };
}

/** The forward and backward kernels, registered for the webgpu backend by index.ts. */
export const kernels: tf.KernelConfig[] = [
  {
    kernelName: FWD,
    backendName: 'webgpu',
    kernelFunc: ({ inputs, backend, attrs }) => {
      const { h, b } = inputs as { h: tf.TensorInfo; b?: tf.TensorInfo };
      const [N, F] = h.shape;
      return runKernel(backend as unknown as WebGPUBackendLike, forwardSource(!!b, formOf(attrs)), {
        inputs: b ? [h, b] : [h],
        outputShapes: [[N, F]],
        uniforms: [N * F, F],
        groups: Math.ceil((N * F) / WG),
      });
    },
  },
  {
    kernelName: BWD,
    backendName: 'webgpu',
    kernelFunc: ({ inputs, backend, attrs }) => {
      const { dy, h, b } = inputs as { dy: tf.TensorInfo; h: tf.TensorInfo; b?: tf.TensorInfo };
      const [N, F] = h.shape;
      return runKernel(backend as unknown as WebGPUBackendLike, backwardSource(!!b, formOf(attrs)), {
        inputs: b ? [dy, h, b] : [dy, h],
        outputShapes: b ? [[N, F], [F]] : [[N, F]],
        uniforms: [N, F],
        groups: Math.ceil((N * F) / WG) + (b ? Math.ceil(F / WG) : 0),
      });
    },
  },
];

/** The kernel attribute `erf` (1) selects the exact form; absent or 0 is tanh. */
const formOf = (attrs: tf.NamedAttrMap | undefined): GeluForm => (attrs?.erf ? 'erf' : 'tanh');

/** Fused gelu(h + b): h [N, F], b [F] or null -> [N, F]; `form` as config.gelu. */
export function biasGeluFused(h: tf.Tensor2D, b: tf.Tensor | null, form: GeluForm = 'tanh'): tf.Tensor2D {
  const attrs = { erf: form === 'erf' ? 1 : 0 };
  const run = (hs: tf.Tensor, bs: tf.Tensor | null) => (tf.engine().runKernel(FWD, bs ? { h: hs, b: bs } : { h: hs }, attrs) as tf.Tensor[])[0] as tf.Tensor2D;
  if (!insideGradient()) return run(h, b);
  const f = tf.customGrad((...args) => {
    const hs = args[0] as tf.Tensor;
    const bs = b ? (args[1] as tf.Tensor) : null;
    const save = args[args.length - 1] as tf.GradSaveFunc;
    save(bs ? [hs, bs] : [hs]);
    return {
      value: run(hs, bs),
      gradFunc: (dy: tf.Tensor, [sh, sb]: tf.Tensor[]) => tf.engine().runKernel(BWD, sb ? { dy, h: sh, b: sb } : { dy, h: sh }, attrs) as tf.Tensor[],
    };
  });
  return (b ? f(h, b) : f(h)) as tf.Tensor2D;
}
