// Gradient accumulation and activation recomputation change how a step is
// computed, never what it computes: N micro-batches of B sequences equal one
// batch of N*B (losses and parameters after 5 AdamW steps), and a model that
// recomputes its blocks in the backward pass gives the same gradients as one
// that keeps every activation, to float32 rounding, on cpu, wasm and webgpu
// (Dawn on SwiftShader; a tiny model, as SwiftShader runs on the CPU).

import { describe, it, expect, beforeAll } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { installNodeWebGPU } from '../src/cli/webgpu.ts';
import { makeConfig, type Config } from '../src/core/config.ts';
import { Dataset, getBatch } from '../src/core/data.ts';
import { lossGrads, newTrainer, type Trainer } from '../src/core/train.ts';
import { Rng } from '../src/core/rng.ts';
import { countsBetween, gpuCounts, installGpuCounters } from '../src/core/kernels/webgpu/counters.ts';

const TEXT = 'Now is the winter of our discontent made glorious summer by this sun of York.\n'.repeat(20);
const data = new Dataset(TEXT);
// odd sizes (C = 24, T = 7) so no shape is a lucky power of two
const base = (o: Partial<Config> = {}) =>
  makeConfig({
    nLayer: 2,
    nHead: 2,
    nEmbd: 24,
    blockSize: 7,
    maxIters: 5,
    logInterval: 1,
    evalInterval: 1000,
    evalIters: 1,
    dropout: 0,
    seed: 5,
    lr: 3e-3,
    ...o,
  });

const free = (t: Trainer) => {
  t.model.dispose();
  t.dispose();
};

/** Losses of 5 steps and the parameters after them. */
async function fiveSteps(cfg: Config): Promise<{ losses: number[]; params: Map<string, Float32Array> }> {
  const trainer = newTrainer(cfg, data);
  const losses: number[] = [];
  while (trainer.step < cfg.maxIters) {
    const log = await trainer.trainStep();
    if (log) losses.push(log.trainLoss);
  }
  const params = new Map<string, Float32Array>();
  for (const [k, v] of trainer.model.params) params.set(k, (await v.data()) as Float32Array); // async: webgpu has no dataSync
  free(trainer);
  return { losses, params };
}

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i] - b[i]));
  return d;
}

const BACKENDS = ['cpu', 'wasm', 'webgpu'] as const;

for (const backend of BACKENDS) {
  describe(`${backend}: accumulation and recomputation`, () => {
    beforeAll(async () => {
      if (backend === 'webgpu') {
        const found = await installNodeWebGPU();
        if (typeof found === 'string') throw new Error(found);
      }
      expect(await tf.setBackend(backend)).toBe(true);
    });

    it('4 micro-batches of 2 equal one batch of 8: losses and parameters after 5 steps', async () => {
      const one = await fiveSteps(base({ batchSize: 8 }));
      const accum = await fiveSteps(base({ batchSize: 2, gradAccumSteps: 4 }));
      expect(one.losses.length).toBe(5);
      for (let i = 0; i < 5; i++) expect(Math.abs(accum.losses[i] - one.losses[i])).toBeLessThan(2e-6 * Math.abs(one.losses[i]) + 1e-6);
      let worst = 0;
      for (const [name, p] of one.params) worst = Math.max(worst, maxAbsDiff(p, accum.params.get(name)!));
      // lr 3e-3 over 5 steps moves weights by up to 1.5e-2; Adam's normalised update turns the
      // rounding of near-zero gradients into a few 1e-6 (the largest seen here: 3.7e-6, on webgpu)
      expect(worst).toBeLessThan(1e-5);
      // and the test can tell steps apart: one micro-batch of 2 is a different step
      const two = await fiveSteps(base({ batchSize: 2 }));
      expect(Math.abs(two.losses[4] - one.losses[4])).toBeGreaterThan(1e-3);
      let apart = 0;
      for (const [name, p] of one.params) apart = Math.max(apart, maxAbsDiff(p, two.params.get(name)!));
      expect(apart).toBeGreaterThan(1e-3);
      if (backend === 'webgpu') {
        // the accumulated step recorded (the default: steps 3-5 replayed) and eager, bit for bit
        const eager = await fiveSteps(base({ batchSize: 2, gradAccumSteps: 4, step: 'eager' }));
        expect(accum.losses).toEqual(eager.losses);
        for (const [name, p] of eager.params) expect(maxAbsDiff(p, accum.params.get(name)!), name).toBe(0);
      }
    });

    it('a step with recomputation has the same gradients as one without (dropout on: the same masks)', async () => {
      const cfg = { ...base({ batchSize: 3, dropout: 0.1 }), vocabSize: data.tokenizer.vocabSize };
      const trainer = newTrainer(cfg, data);
      const { model } = trainer;
      const batch = getBatch(data.train, 3, cfg.blockSize, new Rng(1));
      const vars = [...model.params.values()];
      const gradsOf = async (recompute: boolean) => {
        model.recompute = recompute;
        const before = tf.memory().numTensors;
        const { value, grads } = tf.tidy(() => {
          const x = tf.tensor2d(batch.x, [3, cfg.blockSize], 'int32');
          const y = tf.tensor2d(batch.y, [3, cfg.blockSize], 'int32');
          return lossGrads(() => model.loss(x, y, { training: true, dropoutSeed: 42 }), vars);
        });
        const out = { loss: (await value.data())[0], grads: await Promise.all(vars.map(async (v) => (await grads[v.name].data()) as Float32Array)) };
        tf.dispose([value, ...Object.values(grads)]);
        expect(tf.memory().numTensors).toBe(before); // nothing kept behind
        return out;
      };
      const plain = await gradsOf(false);
      const recomputed = await gradsOf(true);
      expect(recomputed.loss).toBeCloseTo(plain.loss, 6);
      vars.forEach((v, i) => {
        const scale = Math.max(...plain.grads[i].map(Math.abs));
        expect(maxAbsDiff(plain.grads[i], recomputed.grads[i]), v.name).toBeLessThanOrEqual(1e-5 * scale + 1e-9);
      });
      free(trainer);
    });

    it.runIf(backend === 'webgpu')('uploads only the micro-batches: 2 per micro-batch (x, y), no readback', async () => {
      expect(installGpuCounters()).toBe(true);
      const trainer = newTrainer(base({ batchSize: 2, gradAccumSteps: 3, recompute: true, maxIters: 50, logInterval: 50 }), data);
      await trainer.trainStep();
      await trainer.trainStep();
      const c0 = gpuCounts();
      await trainer.trainStep();
      const d = countsBetween(c0, gpuCounts());
      expect(d.uploads).toBe(6);
      expect(d.uploadBytes).toBe(6 * 2 * 7 * 4);
      expect(d.readbacks).toBe(0);
      free(trainer);
    });

    it('recomputation and accumulation together train to the same parameters, with a constant tensor count', async () => {
      const plain = await fiveSteps(base({ batchSize: 4 }));
      const both = await fiveSteps(base({ batchSize: 2, gradAccumSteps: 2, recompute: true }));
      for (let i = 0; i < 5; i++) expect(Math.abs(both.losses[i] - plain.losses[i])).toBeLessThan(1e-5);
      let worst = 0;
      for (const [name, p] of plain.params) worst = Math.max(worst, maxAbsDiff(p, both.params.get(name)!));
      expect(worst).toBeLessThan(1e-5);
      const trainer = newTrainer(base({ batchSize: 2, gradAccumSteps: 3, recompute: true, maxIters: 20 }), data);
      await trainer.trainStep();
      await trainer.trainStep();
      const count = tf.memory().numTensors;
      for (let i = 0; i < 8; i++) await trainer.trainStep();
      expect(tf.memory().numTensors).toBe(count);
      free(trainer);
    });
  });
}
