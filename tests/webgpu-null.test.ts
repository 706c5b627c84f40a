// The recorded step on Dawn's null adapter (every WebGPU call accepted, no
// GPU work: webgpu.create(['backend=null'])): what a step costs the CPU and
// what it allocates, at full size and for many steps, without waiting on
// SwiftShader. Losses from this adapter are meaningless and never checked;
// the counts are exact: `baby`'s fused step is 167 dispatches (299 tfjs
// kernels) and, once
// recorded, is replayed with no tfjs kernel and no new bind group; tensors
// and GPU buffers stay constant over 1,000 steps.

import { describe, it, expect, beforeAll } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { makeConfig } from '../src/core/config.ts';
import { Dataset } from '../src/core/data.ts';
import { newTrainer } from '../src/core/train.ts';
import { webgpuBackend } from '../src/core/kernels/tfjs-internals.ts';
import { kernelsOf } from '../src/core/kernels/mode.ts';
import { countDuring } from './webgpu.ts';

beforeAll(async () => {
  const dawn = await import('webgpu');
  Object.assign(globalThis, dawn.globals);
  const gpu = dawn.create(['backend=null']);
  Object.defineProperty(globalThis, 'navigator', { value: { gpu }, configurable: true });
  await import('@tensorflow/tfjs-backend-webgpu');
  expect(await tf.setBackend('webgpu')).toBe(true);
});

// tfjs' matmul: a hardware GPU's choice (auto picks it on the null adapter too, which is not a CPU one)
const kernels = kernelsOf({ mode: 'fused', matmul: 'tfjs' });
const data = new Dataset('To be, or not to be, that is the question: whether tis nobler in the mind to suffer.\n'.repeat(40));

describe('the recorded step on the null adapter', () => {
  it('baby: 167 dispatches a step either way; replayed with 0 tfjs kernels and 0 bind groups', async () => {
    const cfg = makeConfig({ preset: 'baby', batchSize: 16, maxIters: 1000, logInterval: 10, evalInterval: 1000 });
    const eager = newTrainer({ ...cfg, step: 'eager' }, data, { kernels });
    const recorded = newTrainer(cfg, data, { kernels });
    for (let i = 0; i < 3; i++) {
      await eager.trainStep();
      await recorded.trainStep();
    }
    const e = await countDuring(() => eager.trainStep());
    const r = await countDuring(() => recorded.trainStep());
    expect(recorded.stepMode.step).toBe('recorded');
    expect(e.dispatches).toBe(167);
    expect(e.bindGroups).toBe(167);
    expect(e.kernels).toBe(299); // tfjs kernels an eager fused step runs (shape ops included)
    expect(r).toEqual({ bindGroups: 0, kernels: 0, submits: 1, dispatches: 167 });
    for (const t of [eager, recorded]) {
      t.model.dispose();
      t.dispose();
    }
  }, 120_000);

  it('holds tensors and GPU buffers constant over 1,000 recorded steps', async () => {
    const t = newTrainer(makeConfig({ preset: 'nano', batchSize: 8, maxIters: 1010, logInterval: 10, evalInterval: 100_000 }), data);
    const b = webgpuBackend();
    const snap = () => ({ tensors: tf.memory().numTensors, bytes: b.bufferManager.numBytesAllocated, used: b.bufferManager.numBytesUsed });
    while (t.step < 10) await t.trainStep();
    const at10 = snap();
    while (t.step < 1010) await t.trainStep();
    expect(t.stepMode.step).toBe('recorded');
    expect(snap()).toEqual(at10);
    t.model.dispose();
    t.dispose();
  }, 120_000);
});
