// The model's math: gradients against finite differences, causality, initial
// loss, parameter and FLOP counts, and the KV cache against full recompute.
// cpu backend, tiny configs.

import { describe, it, expect, beforeAll } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { GPT, flopsPerToken, paramCount, paramShapes } from '../src/core/model.ts';
import { makeConfig, type ModelConfig } from '../src/core/config.ts';
import { Dataset } from '../src/core/data.ts';
import { newTrainer } from '../src/core/train.ts';
import { Rng } from '../src/core/rng.ts';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const tiny = (bias: boolean): ModelConfig => ({ nLayer: 2, nHead: 2, nEmbd: 8, blockSize: 4, vocabSize: 7, dropout: 0, bias });

/**
 * A model with weights far from GPT-2's init (std 0.4, LayerNorm gains 1 ± 0.2,
 * biases ± 0.1): attention is peaked and every gradient is sizeable, so a
 * wrong backward pass shows up instead of hiding under tiny numbers.
 */
function randomModel(cfg: ModelConfig, seed: number): GPT {
  const rng = new Rng(seed);
  const init = new Map<string, tf.Tensor>();
  for (const [name, shape] of paramShapes(cfg)) {
    const n = shape.reduce((a, b) => a * b, 1);
    const isGain = /ln_(\d|f)\.weight$/.test(name);
    const std = name.endsWith('.bias') ? 0.1 : isGain ? 0.2 : 0.4;
    const v = new Float32Array(n);
    for (let i = 0; i < n; i++) v[i] = (isGain ? 1 : 0) + std * rng.normal();
    init.set(name, tf.tensor(v, shape));
  }
  const model = new GPT(cfg, init);
  for (const t of init.values()) t.dispose();
  return model;
}

const int2d = (rows: number[][]) => tf.tensor2d(rows, [rows.length, rows[0].length], 'int32');

describe('gradients', () => {
  // Central differences in float32: eps 1e-2 keeps rounding noise (~1e-7 / eps)
  // well under the tolerance while the O(eps^2) truncation error stays ~1%.
  const EPS = 1e-2;
  const ATOL = 1e-4;
  const RTOL = 0.05;
  const close = (numeric: number, analytic: number) => Math.abs(numeric - analytic) <= ATOL + RTOL * Math.abs(analytic);

  it.each([true, false])('loss gradient w.r.t. every parameter matches central finite differences (bias %s)', (bias) => {
    const cfg = tiny(bias);
    const model = randomModel(cfg, bias ? 3 : 4);
    const x = int2d([
      [1, 2, 3, 4],
      [6, 0, 5, 2],
    ]);
    const y = int2d([
      [2, 3, 4, 5],
      [0, 5, 2, 1],
    ]);
    const params = [...model.params.values()];
    const { value, grads } = tf.variableGrads(() => model.loss(x, y), params);
    value.dispose();
    const lossAt = () => tf.tidy(() => model.loss(x, y).dataSync()[0]);
    const rng = new Rng(99);
    const checks: { name: string; numeric: number; analytic: number }[] = [];
    for (const [name, p] of model.params) {
      const g = grads[p.name].dataSync();
      const orig = p.dataSync().slice();
      for (let c = 0; c < 3; c++) {
        const i = rng.int(orig.length);
        const vals = orig.slice();
        vals[i] = orig[i] + EPS;
        const hi = vals[i]; // the float32 value actually used
        p.assign(tf.tensor(vals, p.shape));
        const lossHi = lossAt();
        vals[i] = orig[i] - EPS;
        const lo = vals[i];
        p.assign(tf.tensor(vals, p.shape));
        const lossLo = lossAt();
        p.assign(tf.tensor(orig, p.shape));
        checks.push({ name: `${name}[${i}]`, numeric: (lossHi - lossLo) / (hi - lo), analytic: g[i] });
      }
    }
    expect(model.params.size).toBe(paramShapes(cfg).length);
    const bad = checks.filter((c) => !close(c.numeric, c.analytic));
    expect(bad, JSON.stringify(bad.slice(0, 5))).toEqual([]);
    // The check has teeth: most gradients are far above ATOL, and an analytic
    // gradient off by 20% (or taken from the wrong coordinate) fails it.
    const sizeable = checks.filter((c) => Math.abs(c.analytic) > 20 * ATOL);
    expect(sizeable.length).toBeGreaterThan(checks.length * 0.6);
    expect(sizeable.filter((c) => close(c.numeric, c.analytic * 1.2)).length).toBe(0);
    const shifted = checks.filter((c, k) => close(c.numeric, checks[(k + 1) % checks.length].analytic));
    expect(shifted.length).toBeLessThan(checks.length * 0.3);
    for (const g of Object.values(grads)) g.dispose();
    x.dispose();
    y.dispose();
    model.dispose();
  });
});

describe('forward', () => {
  it('is causal: changing token t never changes the logits at positions < t', () => {
    const cfg: ModelConfig = { nLayer: 2, nHead: 2, nEmbd: 16, blockSize: 8, vocabSize: 11, dropout: 0, bias: true };
    const model = randomModel(cfg, 5);
    const base = [3, 1, 4, 1, 5, 9, 2, 6];
    const logitsOf = (seq: number[]) => tf.tidy(() => model.forward(int2d([seq])).arraySync() as number[][]);
    const ref = logitsOf(base);
    for (let t = 0; t < base.length; t++) {
      const changed = base.slice();
      changed[t] = (changed[t] + 3) % cfg.vocabSize;
      const got = logitsOf(changed);
      for (let pos = 0; pos < t; pos++) expect(got[pos]).toEqual(ref[pos]); // bit-identical
      // ...while position t itself does see the change (the test can fail)
      const diff = Math.max(...got[t].map((v, j) => Math.abs(v - ref[t][j])));
      expect(diff).toBeGreaterThan(1e-3);
    }
    model.dispose();
  });

  it('starts at a loss of about ln(V) with GPT-2 initialisation', async () => {
    const text = 'abcdefghijklmnopqrstuvwxyz ABCDEFGHIJKLMNOPQRSTUVWXYZ.,;!?\n'.repeat(40);
    const data = new Dataset(text);
    const trainer = newTrainer(makeConfig({ preset: 'nano', batchSize: 4, evalIters: 4 }), data);
    const V = data.tokenizer.vocabSize;
    expect(V).toBe(59);
    const valLoss = await trainer.evaluate('val');
    expect(Math.abs(valLoss - Math.log(V))).toBeLessThan(0.1);
    trainer.model.dispose();
    trainer.dispose();
  });

  it('rejects a sequence longer than blockSize', () => {
    const model = new GPT(tiny(true), new Rng(1));
    expect(() => tf.tidy(() => model.forward(int2d([[1, 2, 3, 4, 5]])))).toThrow(/exceeds blockSize/);
    model.dispose();
  });
});

describe('parameter and FLOP counts', () => {
  const configs: ModelConfig[] = [
    tiny(true),
    tiny(false),
    { ...makeConfig({ preset: 'nano' }), vocabSize: 65 },
    { ...makeConfig({ preset: 'micro' }), vocabSize: 65, bias: false },
    { nLayer: 3, nHead: 3, nEmbd: 48, blockSize: 20, vocabSize: 101, dropout: 0, bias: true },
  ];

  const label = (c: ModelConfig) => `L${c.nLayer} H${c.nHead} C${c.nEmbd} T${c.blockSize} V${c.vocabSize} bias ${c.bias}`;
  it.each(configs.map((c) => [label(c), c] as const))('paramCount equals the real variables (%s)', (_label, cfg) => {
    const model = new GPT(cfg, new Rng(1));
    let total = 0;
    let embedding = 0;
    for (const [name, p] of model.params) {
      total += p.size;
      if (name === 'transformer.wte.weight' || name === 'transformer.wpe.weight') embedding += p.size;
    }
    expect(paramCount(cfg)).toEqual({ total, nonEmbedding: total - embedding });
    expect(model.params.has('lm_head.weight')).toBe(false); // tied to wte
    model.dispose();
  });

  it('names parameters as nanoGPT does', () => {
    const names = paramShapes(tiny(true)).map(([n]) => n);
    expect(names).toContain('transformer.wte.weight');
    expect(names).toContain('transformer.h.1.attn.c_attn.weight');
    expect(names).toContain('transformer.h.0.mlp.c_proj.bias');
    expect(names).toContain('transformer.ln_f.weight');
    expect(paramShapes(tiny(false)).some(([n]) => n.endsWith('.bias'))).toBe(false);
  });

  it('flopsPerToken is 6 x (matmul params) plus the attention term', () => {
    for (const cfg of configs) {
      const { nLayer: L, nEmbd: C, vocabSize: V, blockSize: T } = cfg;
      // From the matmul shapes: per layer c_attn C x 3C, c_proj C x C, c_fc C x 4C, mlp c_proj 4C x C,
      // the tied head C x V; attention QK^T and AV each T x C per token. Forward 2 FLOPs per MAC, backward 2x forward.
      const matmuls = 3 * (2 * (L * 12 * C * C + C * V) + 2 * 2 * L * T * C);
      const got = flopsPerToken(cfg);
      // 6N also counts the biases and LayerNorm gains (6 FLOPs each): exactly the remainder,
      // and only a few % once the model is not toy-sized.
      const vectorParams = paramCount(cfg).nonEmbedding - L * 12 * C * C;
      expect(got).toBe(matmuls + 6 * vectorParams);
      if (C >= 32) expect((got - matmuls) / matmuls).toBeLessThan(0.05);
      // The attention term grows linearly with the context: 12 L C per extra position.
      expect(flopsPerToken({ ...cfg, blockSize: T + 1 }) - got).toBe(12 * L * C);
    }
  });
});

describe('KV cache', () => {
  const cfg: ModelConfig = { nLayer: 2, nHead: 2, nEmbd: 16, blockSize: 12, vocabSize: 9, dropout: 0, bias: true };

  it('gives the same last-position logits as a full recompute at every position', () => {
    const model = randomModel(cfg, 7);
    const seq = [1, 8, 2, 7, 3, 6, 4, 5, 0, 1, 2, 3];
    const full = tf.tidy(() => model.forward(int2d([seq])).arraySync() as number[][]); // [T, V]
    // one token at a time
    const cache = model.newCache();
    for (let t = 0; t < seq.length; t++) {
      const logits = model.forwardCached([seq[t]], cache);
      const got = Array.from(logits.dataSync());
      logits.dispose();
      expect(cache.length).toBe(t + 1);
      const maxDiff = Math.max(...got.map((v, j) => Math.abs(v - full[t][j])));
      expect(maxDiff).toBeLessThan(1e-4);
    }
    expect(() => model.forwardCached([0], cache)).toThrow(/overflow/);
    model.disposeCache(cache);
    // a prompt fed in one piece, then single tokens
    const cache2 = model.newCache();
    const first = model.forwardCached(seq.slice(0, 5), cache2);
    expect(Math.max(...Array.from(first.dataSync()).map((v, j) => Math.abs(v - full[4][j])))).toBeLessThan(1e-4);
    first.dispose();
    for (let t = 5; t < seq.length; t++) {
      const logits = model.forwardCached([seq[t]], cache2);
      expect(Math.max(...Array.from(logits.dataSync()).map((v, j) => Math.abs(v - full[t][j])))).toBeLessThan(1e-4);
      logits.dispose();
    }
    model.disposeCache(cache2);
    model.dispose();
  });

  it('keeps the tensor count bounded (the cache frees what it replaces)', () => {
    const model = randomModel(cfg, 8);
    const before = tf.memory().numTensors;
    for (let round = 0; round < 3; round++) {
      const cache = model.newCache();
      for (let t = 0; t < cfg.blockSize; t++) model.forwardCached([t % cfg.vocabSize], cache).dispose();
      model.disposeCache(cache);
    }
    expect(tf.memory().numTensors).toBe(before);
    model.dispose();
  });
});
