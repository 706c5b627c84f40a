// Whole-model training on real WebGPU (Dawn in Node, SwiftShader): the fused
// path (fused kernels where they exist, the fused AdamW) against the generic
// tfjs ops, same seed, same batches; a fused run's checkpoint loads in a
// generic run and greedy-samples the same text; the per-step GPU budget
// (no readback inside a step, uploads = the batch). A tiny model: SwiftShader
// runs on the CPU.

import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { requireWebGPU } from './webgpu.ts';
import { makeConfig } from '../src/core/config.ts';
import { Dataset } from '../src/core/data.ts';
import { newTrainer, type Trainer } from '../src/core/train.ts';
import { kernelsOf } from '../src/core/kernels/mode.ts';
import { trainLoop } from '../src/core/train-loop.ts';
import { countsBetween, gpuCounts, installGpuCounters } from '../src/core/kernels/webgpu/counters.ts';
import { decodeCheckpoint, disposeCheckpoint, modelFromCheckpoint, saveTrainer } from '../src/core/checkpoint.ts';
import { generate } from '../src/core/sample.ts';
import { applyFreeze } from '../src/core/finetune.ts';

beforeAll(async () => {
  await requireWebGPU();
  installGpuCounters();
});

const TEXT = 'To be, or not to be, that is the question: whether tis nobler in the mind to suffer.\n'.repeat(20);
const data = new Dataset(TEXT);
// odd sizes: C = 24 (not a power of two), one head, T = 7
const cfg = makeConfig({
  nLayer: 1,
  nHead: 1,
  nEmbd: 24,
  blockSize: 7,
  batchSize: 3,
  maxIters: 20,
  logInterval: 5,
  evalInterval: 1000,
  evalIters: 1,
  dropout: 0,
  seed: 11,
  step: 'eager',
}); // eager: tfjs' own path (webgpu-record.test.ts tests the recorded one)

async function run(mode: 'generic' | 'fused'): Promise<{ trainer: Trainer; losses: number[] }> {
  const trainer = newTrainer(cfg, data, { kernels: kernelsOf({ mode }) }); // the model's own choice
  const losses: number[] = [];
  while (trainer.step < cfg.maxIters) {
    const log = await trainer.trainStep();
    if (log) losses.push(log.trainLoss);
  }
  return { trainer, losses };
}

const free = (t: Trainer) => {
  t.model.dispose();
  t.dispose();
};

describe('training on WebGPU: generic vs fused', () => {
  let generic: { trainer: Trainer; losses: number[] };
  let fused: { trainer: Trainer; losses: number[] };

  // 2 x 20 steps plus shader compilation: ~1 min on 2 idle cores, far more on a loaded machine
  beforeAll(async () => {
    generic = await run('generic');
    fused = await run('fused');
  }, 900_000);
  afterAll(() => {
    if (generic) free(generic.trainer);
    if (fused) free(fused.trainer);
  });

  it('gives the same losses within 1e-4 over 20 steps, and the same weights', async () => {
    expect(generic.losses).toHaveLength(4);
    expect(generic.losses[3]).toBeLessThan(generic.losses[0] - 0.1); // it learned: the comparison is of a moving run
    for (let i = 0; i < 4; i++) expect(Math.abs(fused.losses[i] - generic.losses[i])).toBeLessThan(1e-4);
    let worst = 0;
    for (const [name, p] of generic.trainer.model.params) {
      const a = await p.data();
      const b = await fused.trainer.model.p(name).data();
      for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]));
    }
    expect(worst).toBeLessThan(1e-4);
  });

  it("a fused run's checkpoint loads in a generic run and greedy-samples the same text", async () => {
    const bytes = await saveTrainer(fused.trainer, data.tokenizer);
    const opts = { prompt: 'To be', maxNewTokens: 12, temperature: 0, seed: 1 };
    const fromFused = await generate(fused.trainer.model, data.tokenizer, opts);
    const ckpt = await decodeCheckpoint(bytes);
    const { model, tokenizer } = modelFromCheckpoint(ckpt, { kernels: kernelsOf({ mode: 'generic' }) });
    expect(fused.trainer.model.kernels.mode).toBe('fused'); // two models, two choices, side by side
    const fromGeneric = await generate(model, tokenizer, opts);
    expect(fromGeneric).toBe(fromFused);
    expect(fromFused.length).toBeGreaterThan(opts.prompt.length);
    model.dispose();
    disposeCheckpoint(ckpt);
  }, 600_000);

  it('steps read nothing back, repeat the same GPU work, and the fused path issues far fewer dispatches and uploads', async () => {
    const perStep = async (t: Trainer) => {
      const steps: ReturnType<typeof countsBetween>[] = [];
      const tensors: number[] = [];
      for (let i = 0; i < 3; i++) {
        const c0 = gpuCounts();
        const log = await t.trainStep(); // steps 21-23: not log steps (logInterval 5)
        expect(log).toBeNull();
        steps.push(countsBetween(c0, gpuCounts()));
        tensors.push(tf.memory().numTensors);
      }
      for (const d of steps) {
        expect(d.readbacks).toBe(0);
        expect(d.dispatches).toBe(steps[0].dispatches);
        expect(d.uploads).toBe(steps[0].uploads);
        expect(d.uploadBytes).toBeGreaterThanOrEqual(2 * 4 * cfg.batchSize * cfg.blockSize); // x and y token ids, int32
      }
      // one more tensor per step: that step's loss, queued on the device until the next log step reads it
      expect(tensors.slice(1).map((n, i) => n - tensors[i])).toEqual([1, 1]);
      return steps[0];
    };
    const g = await perStep(generic.trainer);
    const f = await perStep(fused.trainer);
    console.log(
      `per step, generic -> fused: ${g.dispatches} -> ${f.dispatches} dispatches, ${g.uploads} -> ${f.uploads} uploads (${g.uploadBytes} -> ${f.uploadBytes} bytes)`,
    );
    expect(f.dispatches).toBeLessThan(g.dispatches / 2);
    expect(f.uploads).toBeLessThan(g.uploads / 10);
    // The fused step uploads the batch and nothing else: x and y token ids, int32.
    expect(f.uploads).toBe(2);
    expect(f.uploadBytes).toBe(2 * 4 * cfg.batchSize * cfg.blockSize);
  }, 600_000);
  it("a save mid-run does not freeze what later saves read: the fused update drops tfjs' stale CPU copies", async () => {
    // Saving reads every parameter and moment, and tfjs keeps those values on the
    // CPU; the fused AdamW then writes the GPU buffers in place. A later save must
    // hold the new values (the GPU's, read through a fresh tensor), not the cached ones.
    const t = fused.trainer;
    const first = await decodeCheckpoint(await saveTrainer(t, data.tokenizer));
    await t.trainStep();
    const second = await decodeCheckpoint(await saveTrainer(t, data.tokenizer));
    let moved = 0;
    for (const [name, p] of t.model.params) {
      const onGpu = tf.tidy(() => tf.add(p, 0));
      const live = await onGpu.data();
      onGpu.dispose();
      const saved = await second.tensors.get(name)!.data();
      expect(Array.from(saved)).toEqual(Array.from(live));
      const before = await first.tensors.get(name)!.data();
      if (before.some((x, i) => x !== saved[i])) moved++;
    }
    expect(moved).toBe(t.model.params.size); // every tensor took the step
    for (const [name, m] of t.optimizer.m) {
      const onGpu = tf.tidy(() => tf.add(m, 0));
      expect(Array.from(await second.tensors.get(`optimizer.exp_avg.${name}`)!.data())).toEqual(Array.from(await onGpu.data()));
      onGpu.dispose();
    }
    disposeCheckpoint(first);
    disposeCheckpoint(second);
  }, 600_000);
  it('the training loop reports every step as the GPU finishes it, between loss readbacks, with no readback of its own', async () => {
    const t = newTrainer({ ...cfg, maxIters: 10, logInterval: 5 }, data);
    try {
      const order: string[] = [];
      const r0 = gpuCounts().readbacks;
      for await (const ev of trainLoop(t, { onStepDone: (p) => order.push(`done${p.step}`) })) if (ev.event === 'step') order.push(`log${ev.step}`);
      await new Promise((resolve) => setTimeout(resolve, 100)); // the last completion notice
      const readbacks = gpuCounts().readbacks - r0;
      expect(order.filter((e) => e.startsWith('done'))).toEqual(Array.from({ length: 10 }, (_, i) => `done${i + 1}`));
      // steps 1-4 reported before the step-5 readback returned; 6-9 before step 10's
      expect(order.indexOf('log5')).toBeGreaterThan(order.indexOf('done4'));
      expect(order.indexOf('log10')).toBeGreaterThan(order.indexOf('done9'));
      console.log(`loop on webgpu: ${order.join(' ')}; readbacks ${readbacks}`);
      expect(readbacks).toBe(3); // the losses at steps 5 and 10, and the evaluation at the end (one stacked read)
    } finally {
      free(t);
    }
  }, 600_000);
  it("frozen parameters (fine-tuning's --freeze) do not move by a bit under the fused AdamW; the rest all move", async () => {
    const t = newTrainer({ ...cfg, weightDecay: 0.1 }, data); // fused: the default
    try {
      const frozen = applyFreeze(t.model, 'embeddings');
      expect(frozen).toEqual(['transformer.wte.weight', 'transformer.wpe.weight']);
      const read = async () => new Map(await Promise.all([...t.model.params].map(async ([n, p]) => [n, Array.from(await p.data())] as const)));
      const before = await read();
      for (let i = 0; i < 2; i++) await t.trainStep();
      const after = await read();
      const moved = [...before.keys()].filter((n) => before.get(n)!.some((x, i) => x !== after.get(n)![i]));
      expect(moved.sort()).toEqual([...before.keys()].filter((n) => !frozen.includes(n)).sort());
    } finally {
      free(t);
    }
  }, 600_000);
});
