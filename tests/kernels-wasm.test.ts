// src/core/kernels/wasm/batchmatmul.ts' BatchMatMul for wasm against the cpu backend's reference matmul:
// every transpose combination, batched and broadcast shapes, and gradients,
// with no tensors or backend buffers left behind.

import { describe, it, expect, beforeAll } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { installWasmKernels } from '../src/core/kernels/wasm/batchmatmul.ts';
import { Rng } from '../src/core/rng.ts';

function values(shape: number[], seed: number): Float32Array {
  const rng = new Rng(seed);
  return Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => rng.normal());
}

/** Run f on a backend with fresh inputs, return the outputs as arrays. */
async function on(backend: string, shapes: number[][], f: (...xs: tf.Tensor[]) => tf.Tensor | tf.Tensor[]): Promise<Float32Array[]> {
  await tf.setBackend(backend);
  return tf.tidy(() => {
    const xs = shapes.map((s, i) => tf.tensor(values(s, 100 + i), s));
    const out = f(...xs);
    return (Array.isArray(out) ? out : [out]).map((t) => t.dataSync() as Float32Array);
  });
}

function maxRelDiff(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  const scale = Math.max(1e-6, ...Array.from(b, Math.abs));
  return Math.max(...Array.from(a, (v, i) => Math.abs(v - b[i]))) / scale;
}

beforeAll(async () => {
  await tf.setBackend('wasm');
  await tf.ready();
  expect(installWasmKernels()).toBe(true);
  expect(installWasmKernels()).toBe(true); // idempotent
});

const cases: [string, number[], number[], boolean, boolean][] = [
  ['2-D plain', [7, 5], [5, 3], false, false],
  ['2-D transposeA', [5, 7], [5, 3], true, false],
  ['2-D transposeB', [7, 5], [3, 5], false, true],
  ['2-D both', [5, 7], [3, 5], true, true],
  ['batched plain', [4, 6, 5], [4, 5, 3], false, false],
  ['batched transposeB (q k^T)', [2, 3, 6, 5], [2, 3, 6, 5], false, true],
  ['batched transposeA', [2, 3, 5, 6], [2, 3, 5, 4], true, false],
  ['batched both', [4, 5, 6], [4, 3, 5], true, true],
  ['broadcast b over the batch', [4, 6, 5], [5, 3], false, false],
  ['broadcast a over the batch', [6, 5], [4, 5, 3], false, false],
  ['a single row (generation)', [3, 1, 8], [3, 8, 9], false, false],
];

describe('fast BatchMatMul on wasm equals the cpu backend', () => {
  for (const [name, sa, sb, tA, tB] of cases) {
    it(name, async () => {
      const [want] = await on('cpu', [sa, sb], (a, b) => tf.matMul(a, b, tA, tB));
      await tf.setBackend('wasm');
      const tensors = tf.memory().numTensors;
      const buffers = tf.engine().backend.numDataIds();
      const [got] = await on('wasm', [sa, sb], (a, b) => tf.matMul(a, b, tA, tB));
      expect(maxRelDiff(got, want)).toBeLessThan(1e-5);
      expect(tf.memory().numTensors).toBe(tensors);
      expect(tf.engine().backend.numDataIds()).toBe(buffers); // views and transposed copies are freed
    });
  }

  it('gives the same gradients through matMul with transposes', async () => {
    const f = (a: tf.Tensor, b: tf.Tensor) => tf.grads((x: tf.Tensor, y: tf.Tensor) => tf.matMul(x, y, false, true).square().sum())([a, b]);
    const want = await on(
      'cpu',
      [
        [2, 6, 5],
        [2, 4, 5],
      ],
      f,
    );
    const got = await on(
      'wasm',
      [
        [2, 6, 5],
        [2, 4, 5],
      ],
      f,
    );
    for (let i = 0; i < 2; i++) expect(maxRelDiff(got[i], want[i])).toBeLessThan(1e-5);
  });

  it('rejects mismatched inner dimensions with a clear message', async () => {
    await tf.setBackend('wasm');
    expect(() => tf.tidy(() => tf.matMul(tf.ones([2, 3]), tf.ones([4, 2])))).toThrow(/inner/);
  });
});
