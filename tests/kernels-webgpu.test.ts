// The fused WebGPU kernels (src/core/kernels/webgpu/) on real WebGPU (Dawn in
// Node, on SwiftShader here) against the generic ops on the cpu backend:
// values and gradients, with odd shapes (one row, T = 1, T not a multiple of
// the workgroup, one head, C not a power of two), and the dispatch count of
// each op, fused vs generic (a fused op is one dispatch each way).

import { describe, it, expect, beforeAll } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { installNodeWebGPU } from '../src/cli/webgpu.ts';
import { setKernelMode } from '../src/core/kernels/mode.ts';
import * as ops from '../src/core/ops.ts';
import { Rng } from '../src/core/rng.ts';

type Input = { shape: number[]; int?: number }; // int: integer values in [0, int)

function make(inputs: Input[], seed: number): tf.Tensor[] {
  const rng = new Rng(seed);
  return inputs.map(({ shape, int }) => {
    const n = shape.reduce((a, b) => a * b, 1);
    if (int) return tf.tensor(Int32Array.from({ length: n }, () => rng.int(int)), shape, 'int32');
    return tf.tensor(Float32Array.from({ length: n }, () => rng.normal()), shape);
  });
}

let dispatches = 0;

/**
 * f's value and its input gradients for a fixed random cotangent dy, on `backend` in `mode`,
 * with the GPU dispatches of f's forward and backward passes (webgpu only).
 */
async function run(backend: string, mode: 'generic' | 'fused', inputs: Input[], f: (...xs: tf.Tensor[]) => tf.Tensor) {
  await tf.setBackend(backend);
  setKernelMode(mode);
  const xs = make(inputs, 7);
  const wrt = xs.filter((_, i) => !inputs[i].int);
  const all = (ws: tf.Tensor[]) => { let k = 0; return xs.map((x, i) => (inputs[i].int ? x : ws[k++])); };
  const value = f(...xs);
  const dy = make([{ shape: value.shape }], 11)[0];
  await value.data(); // everything before the gradient pass is done
  let fwd = 0;
  const start = dispatches;
  const grads = tf.grads((...ws: tf.Tensor[]) => {
    const a = dispatches;
    const y = f(...all(ws));
    fwd = dispatches - a;
    return y;
  })(wrt, dy);
  const bwd = dispatches - start - fwd; // tfjs records synchronously: every dispatch is issued by now
  const out = (await Promise.all([value, ...grads].map((t) => t.data()))) as Float32Array[];
  tf.dispose([...xs, dy, value, ...grads]);
  return { out, fwd, bwd };
}

function maxErr(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]) / (1 + Math.abs(b[i])));
  return m;
}

/** Fused on webgpu vs generic on cpu: values and grads; returns the max error and dispatches fused/generic. */
async function check(inputs: Input[], f: (...xs: tf.Tensor[]) => tf.Tensor, tol = 2e-5) {
  const ref = await run('cpu', 'generic', inputs, f);
  const fused = await run('webgpu', 'fused', inputs, f);
  const generic = await run('webgpu', 'generic', inputs, f);
  let err = 0;
  ref.out.forEach((r, i) => (err = Math.max(err, maxErr(fused.out[i], r))));
  expect(err).toBeLessThan(tol);
  return { err, fused: `${fused.fwd}+${fused.bwd}`, generic: `${generic.fwd}+${generic.bwd}` };
}

beforeAll(async () => {
  const gpu = await installNodeWebGPU();
  if (typeof gpu === 'string') throw new Error(gpu);
  await tf.setBackend('webgpu');
  const proto = (globalThis as unknown as { GPUComputePassEncoder: { prototype: { dispatchWorkgroups: (...a: number[]) => void } } }).GPUComputePassEncoder.prototype;
  const orig = proto.dispatchWorkgroups;
  proto.dispatchWorkgroups = function (this: unknown, ...a: number[]) {
    dispatches++;
    return orig.apply(this, a);
  };
});

describe('fused LayerNorm', () => {
  for (const [N, C, bias] of [[1, 5, true], [7, 96, true], [130, 200, false]] as [number, number, boolean][]) {
    it(`N=${N} C=${C} bias=${bias}`, async () => {
      const inputs = [{ shape: [N, C] }, { shape: [C] }, ...(bias ? [{ shape: [C] }] : [])];
      const r = await check(inputs, (x, w, b) => ops.layerNorm(x as tf.Tensor2D, w, b ?? null));
      console.log(`layerNorm [${N},${C}] err ${r.err.toExponential(1)} dispatches fused ${r.fused} generic ${r.generic}`);
    });
  }
});

describe('fused bias + GELU (after the c_fc matmul)', () => {
  for (const [N, F, bias] of [[1, 3, true], [5, 67, true], [9, 130, false]] as [number, number, boolean][]) {
    it(`N=${N} F=${F} bias=${bias}`, async () => {
      const inputs = [{ shape: [N, 4] }, { shape: [4, F] }, ...(bias ? [{ shape: [F] }] : [])];
      const r = await check(inputs, (x, w, b) => ops.linearGelu(x as tf.Tensor2D, w as tf.Tensor2D, b ?? null));
      console.log(`linearGelu [${N},${F}] err ${r.err.toExponential(1)} dispatches fused ${r.fused} generic ${r.generic}`);
    });
  }
});
