// LayerNorm as one WGSL kernel each way. Why: the generic composition is 9
// tfjs kernels forward (mean, sub, square, mean, add, rsqrt, mul, mul, add)
// and 12 backward, each a launch and a full pass over [N, C] in memory; here
// one workgroup per row reads the row once per statistic and writes y.
//
//   forward   x [N, C], gain w [C], bias b [C]? -> y [N, C], stats [N, 2] (mean, 1/std per row)
//   backward  dy, x, w, stats -> dx [N, C], dw [C], db [C]?   (one dispatch: N row
//             workgroups for dx, then ceil(C / WG) column workgroups that sum dw, db over rows)
//
// The statistics are those of ops.ts' generic layerNorm (two-pass mean and
// variance, biased, eps inside the square root), so the two agree to float
// rounding; dx = rstd (dxhat - mean(dxhat) - xhat mean(dxhat xhat)), dxhat = dy w.

import * as tf from '@tensorflow/tfjs';
import { insideGradient } from '../tfjs-internals';
import { reduceSnippet, runKernel, type KernelSource, type WebGPUBackendLike } from './program';

const WG = 64;
const FWD = 'TabgptLayerNorm';
const BWD = 'TabgptLayerNormGrad';

function forwardSource(bias: boolean): KernelSource {
  return {
    key: `layernorm_fwd_${bias}`,
    inputs: [['x', 'f32'], ['w', 'f32'], ...(bias ? [['b', 'f32'] as ['b', 'f32']] : [])],
    outputs: ['y', 'stats'],
    uniforms: [
      ['C', 'i32'],
      ['eps', 'f32'],
    ],
    workgroupSize: WG,
    body: `${reduceSnippet(WG, 'sum')}
fn main(row: u32, lid: u32) {
  let C = u32(u.C);
  let base = row * C;
  var s = 0.0;
  for (var c = lid; c < C; c += WG) { s += x[base + c]; }
  let mean = wgSum(s, lid) / f32(C);
  var v = 0.0;
  for (var c = lid; c < C; c += WG) { let d = x[base + c] - mean; v += d * d; }
  let rstd = 1.0 / sqrt(wgSum(v, lid) / f32(C) + u.eps);
  for (var c = lid; c < C; c += WG) {
    y[base + c] = (x[base + c] - mean) * rstd * w[c]${bias ? ' + b[c]' : ''};
  }
  if (lid == 0u) { stats[2u * row] = mean; stats[2u * row + 1u] = rstd; }
}`,
  };
}

function backwardSource(bias: boolean): KernelSource {
  return {
    key: `layernorm_bwd_${bias}`,
    inputs: [
      ['dy', 'f32'],
      ['x', 'f32'],
      ['w', 'f32'],
      ['stats', 'f32'],
    ],
    outputs: ['dx', 'dw', ...(bias ? ['db'] : [])],
    uniforms: [
      ['N', 'i32'],
      ['C', 'i32'],
    ],
    workgroupSize: WG,
    body: `${reduceSnippet(WG, 'sum')}
fn main(g: u32, lid: u32) {
  let N = u32(u.N);
  let C = u32(u.C);
  if (g < N) {
    // dx for row g
    let base = g * C;
    let mean = stats[2u * g];
    let rstd = stats[2u * g + 1u];
    var a = 0.0;
    var b2 = 0.0;
    for (var c = lid; c < C; c += WG) {
      let dxh = dy[base + c] * w[c];
      a += dxh;
      b2 += dxh * (x[base + c] - mean) * rstd;
    }
    let ma = wgSum(a, lid) / f32(C);
    let mb = wgSum(b2, lid) / f32(C);
    for (var c = lid; c < C; c += WG) {
      let xh = (x[base + c] - mean) * rstd;
      dx[base + c] = rstd * (dy[base + c] * w[c] - ma - xh * mb);
    }
  } else {
    // dw (and db) for column c: sums over all N rows
    let c = (g - N) * WG + lid;
    if (c < C) {
      var sw = 0.0;
      var sb = 0.0;
      for (var n = 0u; n < N; n++) {
        let d = dy[n * C + c];
        sw += d * (x[n * C + c] - stats[2u * n]) * stats[2u * n + 1u];
        sb += d;
      }
      dw[c] = sw;
      ${bias ? 'db[c] = sb;' : 'let unused = sb;'}
    }
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
      const { x, w, b } = inputs as { x: tf.TensorInfo; w: tf.TensorInfo; b?: tf.TensorInfo };
      const [N, C] = x.shape;
      return runKernel(backend as unknown as WebGPUBackendLike, forwardSource(!!b), {
        inputs: b ? [x, w, b] : [x, w],
        outputShapes: [
          [N, C],
          [N, 2],
        ],
        uniforms: [C, (attrs as { eps: number }).eps],
        groups: N,
      });
    },
  },
  {
    kernelName: BWD,
    backendName: 'webgpu',
    kernelFunc: ({ inputs, backend, attrs }) => {
      const { dy, x, w, stats } = inputs as Record<string, tf.TensorInfo>;
      const [N, C] = x.shape;
      const bias = (attrs as { bias: boolean }).bias;
      return runKernel(backend as unknown as WebGPUBackendLike, backwardSource(bias), {
        inputs: [dy, x, w, stats],
        outputShapes: bias ? [[N, C], [C], [C]] : [[N, C], [C]],
        uniforms: [N, C],
        groups: N + Math.ceil(C / WG),
      });
    },
  },
];

/** Fused LayerNorm over the last axis: x [N, C], gain w [C], bias b [C] or null -> [N, C]. */
export function layerNormFused(x: tf.Tensor2D, w: tf.Tensor, b: tf.Tensor | null, eps: number): tf.Tensor2D {
  const run = (xs: tf.Tensor, ws: tf.Tensor, bs: tf.Tensor | null) =>
    tf.engine().runKernel(FWD, bs ? { x: xs, w: ws, b: bs } : { x: xs, w: ws }, { eps }) as tf.Tensor[];
  if (!insideGradient()) {
    const [y, stats] = run(x, w, b);
    stats.dispose();
    return y as tf.Tensor2D;
  }
  const f = tf.customGrad((...args) => {
    const [xs, ws] = args as tf.Tensor[];
    const save = args[args.length - 1] as tf.GradSaveFunc;
    const [y, stats] = run(xs, ws, b ? (args[2] as tf.Tensor) : null);
    save([xs, ws, stats]);
    return {
      value: y,
      gradFunc: (dy: tf.Tensor, [sx, sw, st]: tf.Tensor[]) => tf.engine().runKernel(BWD, { dy, x: sx, w: sw, stats: st }, { bias: !!b }) as tf.Tensor[],
    };
  });
  return (b ? f(x, w, b) : f(x, w)) as tf.Tensor2D;
}
