// Training: the lr schedule, AdamW's decoupled weight decay on 2-D weights
// only, gradient clipping, a constant tensor count, divergence detection and
// overfitting a short text to near-zero loss. cpu backend.

import { describe, it, expect, beforeAll } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { makeConfig, type Config } from '../src/core/config.ts';
import { Dataset } from '../src/core/data.ts';
import { DivergedError, decays, learningRate, newTrainer, type Trainer } from '../src/core/train.ts';
import { trainLoop } from '../src/core/train-loop.ts';
import { paramShapes } from '../src/core/model.ts';
import { generate } from '../src/core/sample.ts';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const TEXT = 'Sing, O goddess, the anger of Achilles son of Peleus, that brought countless ills upon the Achaeans.\n'.repeat(10);
const data = new Dataset(TEXT);
const small = (o: Partial<Config> = {}) =>
  makeConfig({ nLayer: 2, nHead: 2, nEmbd: 16, blockSize: 8, batchSize: 4, maxIters: 100, evalInterval: 1000, evalIters: 2, seed: 3, ...o });
const dispose = (t: Trainer) => {
  t.model.dispose();
  t.dispose();
};
const snapshot = (t: Trainer) => new Map([...t.model.params].map(([k, v]) => [k, v.dataSync().slice()]));

describe('learning rate schedule', () => {
  const cfg = { lr: 1e-3, minLr: 1e-4, warmupIters: 10, maxIters: 110 };

  it('warms up linearly to lr', () => {
    const lrs = Array.from({ length: 11 }, (_, i) => learningRate(cfg, i));
    const steps = lrs.slice(1).map((v, i) => v - lrs[i]);
    for (const d of steps) expect(d).toBeCloseTo(steps[0], 12);
    expect(lrs[0]).toBeGreaterThan(0);
    expect(lrs[0]).toBeLessThan(cfg.lr / 5);
    expect(learningRate(cfg, cfg.warmupIters)).toBeCloseTo(cfg.lr, 12);
  });

  it('decays monotonically by a cosine to minLr at maxIters', () => {
    let prev = Infinity;
    for (let it = cfg.warmupIters; it <= cfg.maxIters; it++) {
      const lr = learningRate(cfg, it);
      expect(lr).toBeLessThanOrEqual(prev);
      expect(lr).toBeGreaterThanOrEqual(cfg.minLr);
      prev = lr;
    }
    expect(learningRate(cfg, 60)).toBeCloseTo((cfg.lr + cfg.minLr) / 2, 12); // half way: cos = 0
    expect(learningRate(cfg, cfg.maxIters)).toBeCloseTo(cfg.minLr, 12);
    expect(learningRate(cfg, cfg.maxIters + 50)).toBe(cfg.minLr);
    // no warmup: starts at the peak
    expect(learningRate({ ...cfg, warmupIters: 0 }, 0)).toBe(cfg.lr);
  });
});

describe('AdamW', () => {
  it('decays matrices and the embedding, not biases or LayerNorm parameters', () => {
    const shapes = new Map(paramShapes({ nLayer: 1, nHead: 2, nEmbd: 8, blockSize: 4, vocabSize: 5, dropout: 0, bias: true }));
    const decayed = [...shapes]
      .filter(([n, s]) => decays(n, s))
      .map(([n]) => n)
      .sort();
    expect(decayed).toEqual([
      'transformer.h.0.attn.c_attn.weight',
      'transformer.h.0.attn.c_proj.weight',
      'transformer.h.0.mlp.c_fc.weight',
      'transformer.h.0.mlp.c_proj.weight',
      'transformer.wpe.weight',
      'transformer.wte.weight',
    ]);
  });

  it('applies weight decay as a decoupled shrink of the 2-D weights only', async () => {
    // Two runs, identical but for weightDecay: after one step every decayed
    // weight differs by exactly -lr * wd * w0 and every other parameter is identical.
    const lr = 1e-2;
    const wd = 0.5;
    const plain = newTrainer(small({ lr, weightDecay: 0, warmupIters: 0 }), data);
    const decayed = newTrainer(small({ lr, weightDecay: wd, warmupIters: 0 }), data);
    const w0 = snapshot(plain);
    await plain.trainStep();
    await decayed.trainStep();
    const a = snapshot(plain);
    const b = snapshot(decayed);
    let checked = 0;
    for (const [name, p] of plain.model.params) {
      const x0 = w0.get(name)!;
      const xa = a.get(name)!;
      const xb = b.get(name)!;
      if (decays(name, p.shape)) {
        for (let i = 0; i < x0.length; i++) expect(Math.abs(xb[i] - xa[i] - -lr * wd * x0[i])).toBeLessThan(1e-7);
        checked++;
      } else {
        expect(Array.from(xb), name).toEqual(Array.from(xa));
      }
    }
    expect(checked).toBe(2 + 4 * 2);
    dispose(plain);
    dispose(decayed);
  });

  it('with zero gradient, a bias stays put while a matrix shrinks', async () => {
    // Zero layer 0's c_fc (weight and bias): the MLP's hidden activations are
    // gelu(0) = 0, so mlp.c_proj.weight (a matrix) and ln_2 (gain and bias, whose
    // output is multiplied by the zero c_fc) get exactly zero gradient. Adam's
    // update is then exactly 0, and only the decoupled decay may move them.
    const lr = 1e-2;
    const wd = 0.5;
    const t = newTrainer(small({ lr, weightDecay: wd, warmupIters: 0 }), data);
    const h = 'transformer.h.0';
    for (const n of [`${h}.mlp.c_fc.weight`, `${h}.mlp.c_fc.bias`]) t.model.p(n).assign(tf.zerosLike(t.model.p(n)));
    const w0 = snapshot(t);
    await t.trainStep();
    const w1 = snapshot(t);
    expect(Array.from(w1.get(`${h}.ln_2.bias`)!)).toEqual(Array.from(w0.get(`${h}.ln_2.bias`)!));
    expect(Array.from(w1.get(`${h}.ln_2.weight`)!)).toEqual(Array.from(w0.get(`${h}.ln_2.weight`)!));
    const m0 = w0.get(`${h}.mlp.c_proj.weight`)!;
    const m1 = w1.get(`${h}.mlp.c_proj.weight`)!;
    m0.forEach((v, i) => expect(Math.abs(m1[i] - v * (1 - lr * wd))).toBeLessThanOrEqual(1e-6 * Math.abs(v)));
    expect(m0.some((v) => v !== 0)).toBe(true);
    // ...while parameters with a gradient did move by ~lr (Adam's first step)
    const b0 = w0.get(`${h}.mlp.c_proj.bias`)!;
    const b1 = w1.get(`${h}.mlp.c_proj.bias`)!;
    expect(Math.max(...b1.map((v, i) => Math.abs(v - b0[i])))).toBeGreaterThan(0.5 * lr);
    dispose(t);
  });

  it('clips the global gradient norm', async () => {
    // Adam's first step is update_i = g_i / (|g_i| + eps) ~ sign(g_i): size ~1 per
    // coordinate. With the gradient clipped to global norm c << eps the update is
    // at most g_i c / (|g| eps), so the whole update vector has norm <= c / eps.
    const lr = 1e-2;
    const eps = 1e-8;
    const clip = 1e-10;
    const deltaNorm = async (gradClip: number) => {
      const t = newTrainer(small({ lr, eps, gradClip, weightDecay: 0, warmupIters: 0 }), data);
      const w0 = snapshot(t);
      await t.trainStep();
      const w1 = snapshot(t);
      let sq = 0;
      for (const [k, v] of w0) v.forEach((x, i) => (sq += ((w1.get(k)![i] - x) / lr) ** 2));
      dispose(t);
      return Math.sqrt(sq);
    };
    const unclipped = await deltaNorm(0);
    const clipped = await deltaNorm(clip);
    const huge = await deltaNorm(1e9); // clip far above the norm: no effect
    expect(unclipped).toBeGreaterThan(10);
    expect(clipped).toBeLessThanOrEqual((clip / eps) * 1.01);
    expect(clipped).toBeGreaterThan((clip / eps) * 0.1);
    expect(Math.abs(huge - unclipped)).toBeLessThan(1e-3 * unclipped);
  });
});

describe('training loop', () => {
  it('keeps tf.memory().numTensors the same after step 10 and step 100', async () => {
    const t = newTrainer(small({ maxIters: 100, logInterval: 10, evalInterval: 50, dropout: 0.1 }), data);
    let atStep10 = -1;
    const counts: number[] = [];
    for await (const ev of trainLoop(t)) {
      if (ev.event === 'step' && ev.step === 10) atStep10 = tf.memory().numTensors;
      if (ev.event === 'step') counts.push(tf.memory().numTensors);
      if (ev.event === 'eval') await generate(t.model, data.tokenizer, { maxNewTokens: 10 });
    }
    expect(t.step).toBe(100);
    expect(atStep10).toBeGreaterThan(0);
    expect(tf.memory().numTensors).toBe(atStep10);
    expect(new Set(counts).size).toBe(1);
    dispose(t);
  });

  it('yields step, eval and done events with the run summary', async () => {
    const t = newTrainer(small({ maxIters: 20, logInterval: 5, evalInterval: 10 }), data);
    const events: string[] = [];
    let summary: Record<string, unknown> = {};
    for await (const ev of trainLoop(t)) {
      events.push(ev.event === 'step' ? `step${ev.step}` : ev.event === 'eval' ? `eval${ev.step}` : 'done');
      if (ev.event === 'done') summary = { ...ev.summary };
    }
    expect(events).toEqual(['step5', 'step10', 'eval10', 'step15', 'step20', 'eval20', 'done']);
    expect(summary).toMatchObject({ steps: 20, backend: 'cpu', tokens: 20 * 4 * 8 });
    for (const k of ['trainLoss', 'valLoss', 'tokensPerSec', 'params', 'nonEmbeddingParams', 'elapsedSec']) {
      expect(Number.isFinite(summary[k]), k).toBe(true);
    }
    dispose(t);
  });

  it('runs its hooks: a checkpoint after each evaluation, each step reported as done in order, a stop saved where it stopped', async () => {
    const t = newTrainer(small({ maxIters: 20, logInterval: 5, evalInterval: 10 }), data);
    const saves: string[] = [];
    const done: { step: number; msPerStep: number; etaSec: number }[] = [];
    let before = 0;
    let after = 0;
    const events: string[] = [];
    let summary: { steps: number; valLoss: number } | null = null;
    const loop = trainLoop(t, {
      signal: {
        get aborted() {
          return t.step >= 13;
        },
      },
      beforeStep: async () => void before++,
      afterStep: async () => void after++,
      onStepDone: (p) => done.push(p),
      checkpoint: async (reason, valLoss) => void saves.push(`${reason}@${t.step}:${Number.isFinite(valLoss)}`),
      evalOnStop: false,
    });
    for await (const ev of loop) {
      events.push(ev.event === 'done' ? 'done' : `${ev.event}${ev.step}`);
      if (ev.event === 'eval') expect(saves.at(-1)).toBe('eval@10:true'); // saved before the event
      if (ev.event === 'done') summary = ev.summary;
    }
    expect(events).toEqual(['step5', 'step10', 'eval10', 'done']);
    expect(saves).toEqual(['eval@10:true', 'stop@13:true']); // the stop carries the last evaluation's loss
    expect(summary).toMatchObject({ steps: 13 });
    expect([before, after]).toEqual([13, 13]);
    expect(done.map((p) => p.step)).toEqual(Array.from({ length: 13 }, (_, i) => i + 1));
    expect(done[0].msPerStep).toBeNaN(); // the first step compiles: no speed from it
    for (const p of done.slice(1)) {
      expect(p.msPerStep).toBeGreaterThan(0);
      expect(p.etaSec).toBeCloseTo(((20 - p.step) * p.msPerStep) / 1000, 6);
    }
    // `until`: train on to step 17 (no evaluation, no checkpoint), then to the end
    const saves2 = saves.length;
    for await (const ev of trainLoop(t, { until: 17, checkpoint: async (r) => void saves.push(r) })) expect(ev.event).not.toBe('eval');
    expect(t.step).toBe(17);
    expect(saves.length).toBe(saves2);
    for await (const ev of trainLoop(t, { checkpoint: async (r) => void saves.push(`${r}@${t.step}`) })) void ev;
    expect(saves.slice(saves2)).toEqual(['done@20']);
    dispose(t);
  });

  it('stops with DivergedError when the validation loss is not finite, saving nothing', async () => {
    const t = newTrainer(small({ maxIters: 10, logInterval: 5, evalInterval: 5 }), data);
    const saves: string[] = [];
    const run = async () => {
      for await (const ev of trainLoop(t, { evaluate: async () => NaN, checkpoint: async (r) => void saves.push(r) })) void ev;
    };
    const err = await run().then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(DivergedError);
    expect((err as Error).message).toMatch(/validation loss became NaN at step 5: lower the learning rate/);
    expect(saves).toEqual([]);
    dispose(t);
  });

  it('stops with DivergedError naming the step when a NaN gets in', async () => {
    const t = newTrainer(small({ logInterval: 5 }), data);
    for (let i = 0; i < 3; i++) await t.trainStep();
    const wte = t.model.p('transformer.wte.weight');
    wte.assign(tf.tidy(() => wte.add(tf.scalar(NaN))));
    await t.trainStep(); // step 4: its loss is NaN, but not read back until step 5
    const err = await t.trainStep().then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(DivergedError);
    expect((err as Error).message).toMatch(/loss became NaN at step 4: lower the learning rate/);
    dispose(t);
  });

  it('stops with DivergedError when the learning rate is absurd', async () => {
    const t = newTrainer(small({ lr: 1e6, warmupIters: 0, logInterval: 5 }), data);
    const err = await (async () => {
      while (t.step < 100) await t.trainStep();
    })().then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(DivergedError);
    expect((err as Error).message).toMatch(/at step \d+/);
    dispose(t);
  });
});

describe('overfitting', () => {
  it('memorises a short text: near-zero loss wherever the context determines the next character', async () => {
    const text = 'The quick brown fox jumps over the lazy dog. Pack my box with five dozen liquor jugs! Sphinx of black quartz, judge my vow.\n';
    const ds = new Dataset(text.repeat(2)); // 248 characters
    const T = 16;
    const t = newTrainer(
      makeConfig({
        nLayer: 2,
        nHead: 2,
        nEmbd: 32,
        blockSize: T,
        batchSize: 16,
        maxIters: 150,
        lr: 2e-2,
        minLr: 2e-3,
        warmupIters: 10,
        weightDecay: 0,
        dropout: 0,
        evalInterval: 1000,
        logInterval: 50,
        seed: 1,
      }),
      ds,
    );
    const initial = await t.evaluate('train');
    while (t.step < t.cfg.maxIters) await t.trainStep();
    // Score every window of the training split. The first few positions of a
    // window see 1-3 characters, which cannot determine what follows ("e" after
    // "th"?): memorisation shows at positions with >= 8 characters of context.
    const ids = ds.train;
    const starts = Array.from({ length: ids.length - T }, (_, i) => i);
    const x = tf.tensor2d(
      starts.flatMap((s) => Array.from(ids.subarray(s, s + T))),
      [starts.length, T],
      'int32',
    );
    const logp = tf.tidy(() => tf.logSoftmax(t.model.forward(x)).arraySync() as number[][]); // [N*T, V]
    let nll = 0;
    let n = 0;
    let nllAll = 0;
    starts.forEach((s, b) => {
      for (let p = 0; p < T; p++) {
        const l = -logp[b * T + p][ids[s + p + 1]];
        nllAll += l;
        if (p >= 7) {
          nll += l;
          n++;
        }
      }
    });
    x.dispose();
    expect(initial).toBeGreaterThan(3); // ~ln(V) before training
    expect(nll / n).toBeLessThan(0.1);
    expect(nllAll / (starts.length * T)).toBeLessThan(0.3);
    // and greedy decoding from a prefix recites the text
    const prompt = text.slice(0, T);
    const recited = await generate(t.model, ds.tokenizer, { prompt, maxNewTokens: 40, temperature: 0, useCache: false });
    expect(recited).toBe(text.slice(T, T + 40));
    dispose(t);
  });
});
