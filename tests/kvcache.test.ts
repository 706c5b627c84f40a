// The KV cache in both layouts (model.ts' KVCache.fixed: grown per token on
// CPU backends, fixed blockSize slots on WebGL) against a full recompute, on
// the wasm backend (whose batched matmuls go through src/core/kernels/wasm/batchmatmul.ts).

import { describe, it, expect, beforeAll } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { GPT } from '../src/core/model.ts';
import { Rng } from '../src/core/rng.ts';

const cfg = { nLayer: 2, nHead: 2, nEmbd: 16, blockSize: 12, vocabSize: 9, dropout: 0, bias: true };
const seq = [1, 8, 2, 7, 3, 6, 4, 5, 0, 1, 2, 3];

beforeAll(async () => {
  expect(await tf.setBackend('wasm')).toBe(true);
  await tf.ready();
});

function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  return Math.max(...Array.from(a, (v, i) => Math.abs(v - b[i])));
}

describe('KV cache layouts on wasm', () => {
  for (const fixed of [false, true]) {
    it(`${fixed ? 'fixed' : 'growing'}: a prompt in one piece, then single tokens, then a reset, match the full forward`, () => {
      const model = new GPT(cfg, new Rng(5));
      const full = tf.tidy(() => model.forward(tf.tensor2d([seq], [1, seq.length], 'int32')).arraySync() as number[][]);
      const before = tf.memory().numTensors;
      const cache = model.newCache(fixed);
      expect(cache.fixed).toBe(fixed);
      const check = (tokens: number[], pos: number) => {
        const logits = model.forwardCached(tokens, cache);
        expect(maxDiff(logits.dataSync(), full[pos])).toBeLessThan(1e-4);
        logits.dispose();
      };
      check(seq.slice(0, 4), 3);
      for (let p = 4; p < 8; p++) check([seq[p]], p);
      check(seq.slice(8, 10), 9); // a second multi-token piece after single tokens
      for (let p = 10; p < seq.length; p++) check([seq[p]], p);
      const shape = cache.k[0].shape;
      expect(shape).toEqual([cfg.nHead, cfg.blockSize, cfg.nEmbd / cfg.nHead]); // full either way at the end
      model.disposeCache(cache);
      check(seq.slice(0, 3), 2); // reused after a reset
      model.disposeCache(cache);
      expect(tf.memory().numTensors).toBe(before);
      model.dispose();
    });
  }

  it('the fixed cache keeps its shape from the first token on', () => {
    const model = new GPT(cfg, new Rng(6));
    const cache = model.newCache(true);
    model.forwardCached([1], cache).dispose();
    expect(cache.k[0].shape).toEqual([2, 12, 8]);
    expect(cache.v[0].shape).toEqual([2, 12, 8]);
    model.forwardCached([2], cache).dispose();
    expect(cache.k[0].shape).toEqual([2, 12, 8]);
    model.disposeCache(cache);
    model.dispose();
  });
});
