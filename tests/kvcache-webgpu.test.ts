// Generation with the KV cache on real WebGPU (Dawn in Node, SwiftShader):
// the cached forward runs the same block as training, so with the fused
// kernels on it must give the full recompute's logits (the fused forward) in
// both cache layouts, and take the fused kernels (fewer dispatches per token
// than the generic ops).

import { describe, it, expect, beforeAll } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { requireWebGPU } from './webgpu.ts';
import { GPT } from '../src/core/model.ts';
import { Rng } from '../src/core/rng.ts';
import { kernelsOf } from '../src/core/kernels/mode.ts';
import { gpuCounts, installGpuCounters } from '../src/core/kernels/webgpu/counters.ts';

// C = 24 (not a power of two), 2 heads, blockSize 12
const cfg = { nLayer: 2, nHead: 2, nEmbd: 24, blockSize: 12, vocabSize: 9, dropout: 0, bias: true };
const seq = [1, 8, 2, 7, 3, 6, 4, 5, 0, 1, 2, 3];

beforeAll(async () => {
  await requireWebGPU();
  installGpuCounters();
});

function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  return Math.max(...Array.from(a, (v, i) => Math.abs(v - b[i])));
}

describe('KV cache on WebGPU, fused kernels', () => {
  for (const fixed of [false, true]) {
    it(`${fixed ? 'fixed' : 'growing'} cache: a prompt, single tokens and a second piece match the fused full forward`, async () => {
      const model = new GPT(cfg, new Rng(5), { kernels: kernelsOf({ mode: 'fused' }) });
      const full = tf.tidy(() => model.forward(tf.tensor2d([seq], [1, seq.length], 'int32')));
      const rows = (await full.array()) as number[][]; // [T, V]
      full.dispose();
      const tensors = tf.memory().numTensors;
      const cache = model.newCache(fixed);
      let worst = 0;
      const check = async (tokens: number[], pos: number) => {
        const logits = model.forwardCached(tokens, cache);
        worst = Math.max(worst, maxDiff(await logits.data(), rows[pos]));
        logits.dispose();
      };
      await check(seq.slice(0, 4), 3);
      for (let p = 4; p < 8; p++) await check([seq[p]], p);
      await check(seq.slice(8, 10), 9);
      for (let p = 10; p < seq.length; p++) await check([seq[p]], p);
      expect(worst).toBeLessThan(1e-4);
      model.disposeCache(cache);
      expect(tf.memory().numTensors).toBe(tensors);
      model.dispose();
      console.log(`webgpu fused KV cache (${fixed ? 'fixed' : 'growing'}) vs full forward: max |logit diff| ${worst.toExponential(1)}`);
    }, 300_000);
  }

  it('a cached token takes the fused kernels: fewer dispatches than the generic ops, same logits', async () => {
    const perToken = async (mode: 'generic' | 'fused') => {
      const model = new GPT(cfg, new Rng(7), { kernels: kernelsOf({ mode }) });
      const cache = model.newCache(false);
      await model.forwardCached(seq.slice(0, 5), cache).data();
      const d0 = gpuCounts().dispatches;
      const logits = model.forwardCached([seq[5]], cache);
      const dispatches = gpuCounts().dispatches - d0;
      const values = await logits.data();
      logits.dispose();
      model.disposeCache(cache);
      model.dispose();
      return { dispatches, values };
    };
    const g = await perToken('generic');
    const f = await perToken('fused');
    expect(maxDiff(f.values, g.values)).toBeLessThan(1e-4);
    expect(f.dispatches).toBeLessThan(g.dispatches);
    console.log(`dispatches per cached token: generic ${g.dispatches}, fused ${f.dispatches}`);
  }, 300_000);
});
