// The automatic backend choice by measurement (core/backend-probe.ts): real
// timed steps of a model on real backends (WASM, the CPU backend, and Dawn's
// WebGPU on SwiftShader, a CPU here), the faster kept as tfjs' backend, and
// the line the badge and the CLI print.

import { describe, expect, it, beforeAll } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { builtinCorpus } from '../src/core/corpus.ts';
import { makeConfig } from '../src/core/config.ts';
import { Dataset } from '../src/core/data.ts';
import { pickFastest, probeBackends, probeSkipReason } from '../src/core/backend-probe.ts';
import { requireWebGPU } from './webgpu.ts';

describe('the backend probe', () => {
  let data: Dataset;
  beforeAll(() => {
    data = new Dataset(builtinCorpus({ chars: 60_000 }).text);
  });
  const nano = makeConfig({ preset: 'nano', batchSize: 4, blockSize: 32 });

  it('says which backend is faster, by how much, and why the others did not run', () => {
    const c = pickFastest([
      { name: 'webgpu', msPerStep: 12, problem: null },
      { name: 'wasm', msPerStep: 3, problem: null },
    ]);
    expect(c.name).toBe('wasm');
    expect(c.reason).toBe('WASM: 4.0x WebGPU for this model (3.0 ms/step; 3 timed steps each)');
    const d = pickFastest([
      { name: 'webgpu', msPerStep: 5, problem: null },
      { name: 'wasm', msPerStep: null, problem: "needs 5.7 GB, over WASM's 4.0 GB heap" },
    ]);
    expect(d).toMatchObject({ name: 'webgpu', reason: expect.stringMatching(/^WebGPU: WASM needs 5\.7 GB, over WASM's 4\.0 GB heap for this model/) });
    expect(() => pickFastest([{ name: 'wasm', msPerStep: null, problem: 'x' }])).toThrow(/no backend could train this model: wasm: x/);
  });

  it("skips WASM for a model whose step does not fit its heap (nanoGPT's shakespeare_char at batch 64)", () => {
    const small = makeConfig({ preset: 'small', batchSize: 64 });
    expect(probeSkipReason(small, 'wasm', 65)).toMatch(/over WASM's .* heap/);
    expect(probeSkipReason(nano, 'wasm', 65)).toBeNull();
    expect(probeSkipReason(small, 'webgpu', 65)).toBeNull();
  });

  it('times cpu and wasm on the model, leaves tfjs on the faster, and leaks no tensor', async () => {
    await tf.setBackend('wasm');
    const before = tf.memory().numTensors;
    const c = await probeBackends(nano, data, ['cpu', 'wasm']);
    expect(c.timings.map((t) => t.name)).toEqual(['cpu', 'wasm']);
    for (const t of c.timings) expect(t.msPerStep).toBeGreaterThan(0);
    const best = Math.min(...c.timings.map((t) => t.msPerStep!));
    expect(c.timings.find((t) => t.name === c.name)!.msPerStep).toBe(best);
    expect(tf.getBackend()).toBe(c.name);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('WebGPU on SwiftShader (a CPU) against WASM: WASM measured faster, and tfjs left on it', async () => {
    await requireWebGPU();
    const c = await probeBackends(nano, data, ['webgpu', 'wasm']);
    expect(c.name).toBe('wasm');
    expect(c.reason).toMatch(/^WASM: \d+\.\dx WebGPU for this model/);
    const [gpu, wasm] = c.timings;
    expect(gpu.msPerStep! / wasm.msPerStep!).toBeGreaterThan(1);
    expect(tf.getBackend()).toBe('wasm');
  }, 120_000);
});
