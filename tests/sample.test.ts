// Sampling: greedy = argmax, seeds reproduce, top-k / top-p / temperature pick
// from the right distribution, long prompts are cropped, and the KV cache
// generates the same text as full recompute.

import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { GPT, paramShapes } from '../src/core/model.ts';
import type { ModelConfig } from '../src/core/config.ts';
import { Rng } from '../src/core/rng.ts';
import { Tokenizer } from '../src/core/tokenizer.ts';
import { SampleError, generate, pickToken } from '../src/core/sample.ts';

const tokenizer = Tokenizer.fromText('abcdefgh \n');
const cfg: ModelConfig = { nLayer: 2, nHead: 2, nEmbd: 16, blockSize: 16, vocabSize: tokenizer.vocabSize, dropout: 0, bias: true };
let model: GPT;

beforeAll(async () => {
  await tf.setBackend('cpu');
  // Weights well away from init, so the next-character distribution is far from uniform.
  const rng = new Rng(13);
  const init = new Map<string, tf.Tensor>();
  for (const [name, shape] of paramShapes(cfg)) {
    const n = shape.reduce((a, b) => a * b, 1);
    const isGain = /ln_(\d|f)\.weight$/.test(name);
    init.set(
      name,
      tf.tensor(
        Float32Array.from({ length: n }, () => (isGain ? 1 : 0) + 0.3 * rng.normal()),
        shape,
      ),
    );
  }
  model = new GPT(cfg, init);
  for (const t of init.values()) t.dispose();
});

afterAll(() => model.dispose());

/** Greedy decoding by hand: argmax of the full forward pass's last row, context cropped to the block. */
function greedyByHand(prompt: string, n: number): string {
  const ids = Array.from(tokenizer.encode(prompt));
  let out = '';
  for (let i = 0; i < n; i++) {
    const ctx = ids.slice(-cfg.blockSize);
    const row = tf.tidy(() => model.forward(tf.tensor2d(ctx, [1, ctx.length], 'int32')).arraySync() as number[][])[ctx.length - 1];
    const next = row.indexOf(Math.max(...row));
    ids.push(next);
    out += tokenizer.chars[next];
  }
  return out;
}

describe('pickToken', () => {
  const logits = Float32Array.from([0.1, 2.0, -1.0, 1.5, 0.3]);

  it('temperature 0 and top-k 1 both take the argmax', () => {
    const rng = new Rng(1);
    for (let i = 0; i < 20; i++) {
      expect(pickToken(logits, { temperature: 0, topK: 0, topP: 1 }, rng)).toBe(1);
      expect(pickToken(logits, { temperature: 1.5, topK: 1, topP: 1 }, rng)).toBe(1);
    }
  });

  it('samples softmax(logits / temperature)', () => {
    for (const temperature of [0.5, 1, 2]) {
      const rng = new Rng(2);
      const counts = new Array(logits.length).fill(0);
      const n = 20000;
      for (let i = 0; i < n; i++) counts[pickToken(logits, { temperature, topK: 0, topP: 1 }, rng)]++;
      const w = Array.from(logits, (l) => Math.exp(l / temperature));
      const z = w.reduce((a, b) => a + b, 0);
      w.forEach((wi, i) => expect(Math.abs(counts[i] / n - wi / z)).toBeLessThan(0.015));
    }
  });

  it('top-k keeps only the k most likely tokens, renormalised', () => {
    const rng = new Rng(3);
    const counts = new Array(logits.length).fill(0);
    const n = 10000;
    for (let i = 0; i < n; i++) counts[pickToken(logits, { temperature: 1, topK: 2, topP: 1 }, rng)]++;
    expect(counts[0] + counts[2] + counts[4]).toBe(0);
    const p1 = Math.exp(2.0) / (Math.exp(2.0) + Math.exp(1.5));
    expect(Math.abs(counts[1] / n - p1)).toBeLessThan(0.02);
  });

  it('top-p keeps the smallest set whose probability reaches p, renormalised', () => {
    // probabilities 0.5, 0.3, 0.15, 0.05
    const probs = [0.5, 0.3, 0.15, 0.05];
    const lg = Float32Array.from(probs.map(Math.log));
    const draw = (topP: number, seed: number) => {
      const rng = new Rng(seed);
      const counts = [0, 0, 0, 0];
      for (let i = 0; i < 10000; i++) counts[pickToken(lg, { temperature: 1, topK: 0, topP }, rng)]++;
      return counts.map((c) => c / 10000);
    };
    const p70 = draw(0.7, 4); // {0, 1}: 0.5 + 0.3 >= 0.7
    expect(p70[2] + p70[3]).toBe(0);
    expect(Math.abs(p70[0] - 0.5 / 0.8)).toBeLessThan(0.02);
    const p90 = draw(0.9, 5); // {0, 1, 2}
    expect(p90[3]).toBe(0);
    expect(p90[2]).toBeGreaterThan(0.1);
    expect(draw(0.4, 6)).toEqual([1, 0, 0, 0]); // the top token alone reaches 0.4
    expect(draw(1, 7).every((p, i) => Math.abs(p - probs[i]) < 0.02)).toBe(true);
  });
});

describe('generate', () => {
  it('temperature 0 is greedy: argmax of the forward logits', async () => {
    const want = greedyByHand('abc', 30); // runs past the block: the window slides
    expect(new Set(want).size).toBeGreaterThanOrEqual(4); // a varied text, or the comparisons below prove little
    expect(await generate(model, tokenizer, { prompt: 'abc', maxNewTokens: 12, temperature: 0, useCache: false })).toBe(want.slice(0, 12));
    expect(await generate(model, tokenizer, { prompt: 'abc', maxNewTokens: 30, temperature: 0, useCache: false })).toBe(want);
    // with the cache too, while prompt + output fit in the block
    expect(await generate(model, tokenizer, { prompt: 'abc', maxNewTokens: 12, temperature: 0 })).toBe(want.slice(0, 12));
    // top-k 1 at any temperature is the same greedy text
    expect(await generate(model, tokenizer, { prompt: 'abc', maxNewTokens: 12, temperature: 1.3, topK: 1, seed: 9 })).toBe(want.slice(0, 12));
  });

  it('the KV cache and full recompute give the same greedy text within the block', async () => {
    for (const prompt of ['', 'a', 'hgf edcba', 'abcdefgh abcdefg']) {
      const n = cfg.blockSize - Math.max(1, [...prompt].length);
      const cached = await generate(model, tokenizer, { prompt, maxNewTokens: n, temperature: 0, useCache: true });
      const full = await generate(model, tokenizer, { prompt, maxNewTokens: n, temperature: 0, useCache: false });
      expect(cached).toBe(full);
      expect([...cached].length).toBe(n);
    }
  });

  it('a seed reproduces a sample; different seeds differ', async () => {
    const opts = { prompt: 'ab', maxNewTokens: 60, temperature: 1 };
    const a = await generate(model, tokenizer, { ...opts, seed: 5 });
    const b = await generate(model, tokenizer, { ...opts, seed: 5 });
    const c = await generate(model, tokenizer, { ...opts, seed: 6 });
    expect(a).toBe(b);
    expect(c).not.toBe(a);
    expect([...a].length).toBe(60);
    // beyond the block (the cache restarts) a seed still reproduces
    const long = { ...opts, maxNewTokens: 3 * cfg.blockSize, seed: 8 };
    expect(await generate(model, tokenizer, long)).toBe(await generate(model, tokenizer, long));
  });

  it('crops a prompt longer than blockSize instead of crashing', async () => {
    const prompt = 'abcdefgh \nhgfedcba'.repeat(4); // 72 characters, block 16
    const tail = prompt.slice(-cfg.blockSize);
    for (const useCache of [true, false]) {
      const out = await generate(model, tokenizer, { prompt, maxNewTokens: 20, temperature: 0, useCache });
      expect(out).toBe(await generate(model, tokenizer, { prompt: tail, maxNewTokens: 20, temperature: 0, useCache }));
      expect(out.length).toBe(20);
    }
  });

  it('streams each character to onToken and stops on abort', async () => {
    const seen: string[] = [];
    const out = await generate(model, tokenizer, { prompt: 'a', maxNewTokens: 25, seed: 3, onToken: (ch) => seen.push(ch) });
    expect(seen.join('')).toBe(out);
    const signal = { aborted: false };
    let n = 0;
    const partial = await generate(model, tokenizer, { prompt: 'a', maxNewTokens: 25, seed: 3, signal, onToken: () => void (signal.aborted = ++n >= 5) });
    expect(partial).toBe(out.slice(0, 5));
  });

  it('leaks no tensors', async () => {
    const before = tf.memory().numTensors;
    await generate(model, tokenizer, { maxNewTokens: 40, useCache: true });
    await generate(model, tokenizer, { maxNewTokens: 20, useCache: false });
    expect(tf.memory().numTensors).toBe(before);
  });

  it('refuses bad options with a SampleError naming the option', async () => {
    await expect(generate(model, tokenizer, { topP: 0 })).rejects.toThrow(SampleError);
    await expect(generate(model, tokenizer, { topP: 1.5 })).rejects.toThrow(/top-p/);
    await expect(generate(model, tokenizer, { temperature: -1 })).rejects.toThrow(/temperature/);
    await expect(generate(model, tokenizer, { topK: 1.5 })).rejects.toThrow(/top-k/);
    await expect(generate(model, tokenizer, { prompt: 'xyz' })).rejects.toThrow(/'x'/);
  });
});
