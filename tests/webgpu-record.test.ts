// The recorded WebGPU step (kernels/webgpu/record.ts) against the eager one,
// on real WebGPU (Dawn in Node, SwiftShader): bit-identical losses and
// parameters over 100 steps; a replayed step issues the eager step's
// dispatches from cached bind groups with no tfjs kernel, no bind group and
// one submit; a checkpoint saved mid-run resumes identically; frozen
// parameters stay put; a NaN stops the run. A tiny model: SwiftShader runs
// on the CPU (1,000-step counts: webgpu-null.test.ts).

import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { countDuring, requireWebGPU } from './webgpu.ts';
import { makeConfig, type Config } from '../src/core/config.ts';
import { Dataset } from '../src/core/data.ts';
import { DivergedError, newTrainer, type Trainer } from '../src/core/train.ts';
import { decodeCheckpoint, resumeTrainer, saveTrainer } from '../src/core/checkpoint.ts';
import { applyFreeze } from '../src/core/finetune.ts';
import { missingWebGPUInternals } from '../src/core/kernels/tfjs-internals.ts';

beforeAll(async () => {
  await requireWebGPU();
});

const TEXT = 'To be, or not to be, that is the question: whether tis nobler in the mind to suffer.\n'.repeat(20);
const data = new Dataset(TEXT);
// two layers, two heads, odd sizes: C = 20, T = 7, B = 3
const base = makeConfig({
  nLayer: 2,
  nHead: 2,
  nEmbd: 20,
  blockSize: 7,
  batchSize: 3,
  maxIters: 100,
  logInterval: 10,
  evalInterval: 1000,
  evalIters: 2,
  dropout: 0,
  seed: 5,
});

const free = (t: Trainer) => {
  t.model.dispose();
  t.dispose();
};

async function params(t: Trainer): Promise<Float32Array[]> {
  return Promise.all([...t.model.params.values(), ...t.optimizer.m.values(), ...t.optimizer.v.values()].map(async (p) => (await p.data()) as Float32Array));
}

async function run(cfg: Config, steps: number, t = newTrainer(cfg, data)): Promise<{ t: Trainer; losses: number[] }> {
  const losses: number[] = [];
  while (t.step < steps) {
    const log = await t.trainStep();
    if (log) losses.push(log.trainLoss);
  }
  return { t, losses };
}

function expectSame(a: Float32Array[], b: Float32Array[]): void {
  expect(a.length).toBe(b.length);
  for (let i = 0; i < a.length; i++) expect(Buffer.from(b[i].buffer).equals(Buffer.from(a[i].buffer))).toBe(true);
}

describe('the recorded WebGPU training step', () => {
  let eager: { t: Trainer; losses: number[] };
  let recorded: { t: Trainer; losses: number[] };
  beforeAll(async () => {
    eager = await run({ ...base, step: 'eager' }, 100);
    recorded = await run({ ...base, step: 'recorded' }, 100);
  }, 900_000);
  afterAll(() => {
    free(eager.t);
    free(recorded.t);
  });

  it('runs on a tfjs whose private members are all there', () => {
    expect(missingWebGPUInternals(tf.backend())).toBeNull();
  });

  it('gives bit-identical losses, parameters, moments and evaluation to the eager step over 100 steps', async () => {
    expect(eager.t.stepMode.step).toBe('eager');
    expect(recorded.t.stepMode).toEqual({ step: 'recorded', reason: null });
    expect(recorded.losses).toHaveLength(10);
    expect(recorded.losses[9]).toBeLessThan(recorded.losses[0] - 0.3); // a moving run
    expect(recorded.losses).toEqual(eager.losses);
    expectSame(await params(eager.t), await params(recorded.t));
    expect(await recorded.t.evaluate()).toBe(await eager.t.evaluate()); // evaluation on tfjs reads the replayed weights
  });

  it("a replayed step is the eager step's dispatches, with no tfjs kernel, no new bind group and one submit", async () => {
    const e = await countDuring(() => eager.t.trainStep());
    const r = await countDuring(() => recorded.t.trainStep());
    expect(e.kernels).toBeGreaterThan(50);
    expect(e.bindGroups).toBe(e.dispatches);
    expect(r).toEqual({ bindGroups: 0, kernels: 0, submits: 1, dispatches: e.dispatches });
  });
});

describe('the recorded step in a run', () => {
  it('resumes a checkpoint saved mid-run identically', async () => {
    const cfg = { ...base, maxIters: 40 };
    const whole = await run(cfg, 40);
    const first = await run(cfg, 20);
    const bytes = await saveTrainer(first.t, data.tokenizer);
    const rest = await run(cfg, 40, resumeTrainer(await decodeCheckpoint(bytes), data));
    expect(rest.t.stepMode.step).toBe('recorded');
    expect([...first.losses, ...rest.losses]).toEqual(whole.losses);
    expectSame(await params(whole.t), await params(rest.t));
    for (const x of [whole, first, rest]) free(x.t);
  }, 600_000);

  it("keeps frozen parameters (fine-tuning's --freeze) bit for bit", async () => {
    const t = newTrainer({ ...base, weightDecay: 0.1 }, data);
    const frozen = applyFreeze(t.model, 'embeddings');
    const read = async () => new Map(await Promise.all([...t.model.params].map(async ([n, p]) => [n, Array.from(await p.data())] as const)));
    const start = await read();
    await run(t.cfg, 12, t);
    expect(t.stepMode.step).toBe('recorded');
    const end = await read();
    const moved = [...start.keys()].filter((n) => start.get(n)!.some((x, i) => x !== end.get(n)![i]));
    expect(moved.sort()).toEqual([...start.keys()].filter((n) => !frozen.includes(n)).sort());
    free(t);
  }, 600_000);

  it("stops with DivergedError when a replayed step's loss goes NaN", async () => {
    const t = newTrainer({ ...base, lr: 1e6, minLr: 0, warmupIters: 0, gradClip: 0, logInterval: 5 }, data);
    const err = await run(t.cfg, 100, t).then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(DivergedError);
    expect(Number(/at step (\d+)/.exec((err as Error).message)?.[1])).toBeGreaterThan(2); // a replayed step's
    expect(t.stepMode.step).toBe('recorded');
    free(t);
  }, 600_000);
});
