// The memory model: the predicted peak of a training step (core/memory.ts)
// against the measured one (core/peak.ts) for every preset on wasm (generic
// ops) and on WebGPU's fused kernels (Dawn's null adapter: it runs nothing,
// so a step costs only its JavaScript, and it has 512 MiB like a modest
// laptop GPU), plain, with accumulation and with recomputation; and the
// planner that turns a memory budget into settings.

import { describe, it, expect, beforeAll } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { installNodeWebGPU } from '../src/cli/webgpu.ts';
import { makeConfig, PRESET_NAMES, type Config, type PresetName } from '../src/core/config.ts';
import { Dataset } from '../src/core/data.ts';
import { newTrainer } from '../src/core/train.ts';
import { withPeakBytes } from '../src/core/peak.ts';
import { FUSED_ATTENTION_MAX_T, HEADROOM, kernelPathOf, memoryAdvice, outOfMemoryMessage, parseBytes, planToFit, predictMemory } from '../src/core/memory.ts';
import { ATTENTION_MAX_T } from '../src/core/kernels/webgpu/attention.ts';

// Tiny Shakespeare's vocabulary size without reading it: the model only needs V
const V = 65;
const TEXT = Array.from({ length: V }, (_, i) => String.fromCharCode(48 + i))
  .join('')
  .repeat(400);
const data = new Dataset(TEXT);

/** nanoGPT's shakespeare_char: `small` at batch 64 of 256. */
const shakespeareChar = (): Config => ({ ...makeConfig({ preset: 'small', batchSize: 64 }), vocabSize: V });

/** Peak of one training step after a first (compiling) one, and the prediction for it. */
async function measure(o: Partial<Config> & { preset: PresetName }): Promise<{ measured: number; predicted: number }> {
  const trainer = newTrainer(makeConfig({ ...o, maxIters: 100, logInterval: 100, evalInterval: 100 }), data);
  try {
    await trainer.trainStep();
    await trainer.model.p('transformer.ln_f.weight').data();
    const { peakBytes } = await withPeakBytes(async () => {
      await trainer.trainStep();
      await trainer.model.p('transformer.ln_f.weight').data();
    });
    return { measured: peakBytes, predicted: predictMemory(trainer.cfg, kernelPathOf(tf.getBackend())).peakBytes };
  } finally {
    trainer.model.dispose();
    trainer.dispose();
  }
}

describe('the measured peak', () => {
  beforeAll(async () => {
    await tf.setBackend('cpu');
  });

  it('counts each buffer once: a reshape or a clone of a tensor adds nothing', async () => {
    const before = tf.memory().numBytes;
    const { peakBytes } = await withPeakBytes(() => {
      const a = tf.zeros([256, 1024]); // 1 MiB
      const views = [a.reshape([1024, 256]), a.clone(), tf.keep(a.reshape([-1]))];
      const b = a.add(a); // a second MiB
      tf.dispose([a, b, ...views]);
    });
    expect(peakBytes - before).toBe(2 * 2 ** 20);
    expect(tf.memory().numBytes).toBe(before);
  });
});

describe('the planner', () => {
  it("fits nanoGPT's shakespeare_char into 512 MB on WebGPU by splitting the batch, keeping 64 sequences per step", () => {
    const cfg = shakespeareChar();
    const budget = parseBytes('512MB')!;
    const plan = planToFit(cfg, 'fused', { memoryBytes: budget });
    expect(plan.fits).toBe(false);
    expect(plan.peakBytes).toBeGreaterThan(budget);
    expect(plan.recommend).toMatch(/^--batch-size \d+ --grad-accum \d+( --recompute)?$/);
    const s = plan.settings!;
    expect(s.batchSize * s.gradAccumSteps).toBe(64);
    const after = predictMemory({ ...cfg, ...s }, 'fused');
    expect(after.peakBytes).toBe(plan.recommendedPeakBytes);
    expect(after.peakBytes).toBeLessThanOrEqual(HEADROOM * budget);
    expect(after.tokensPerStep).toBe(64 * 256);
    // a config that fits is left as it is; one that nothing fits gets no recommendation
    expect(planToFit({ ...cfg, batchSize: 1 }, 'fused', { memoryBytes: 4e9 })).toMatchObject({ fits: true, recommend: '' });
    expect(planToFit(cfg, 'fused', { memoryBytes: 50e6 })).toMatchObject({ fits: false, recommend: null, settings: null });
    // WebGPU's per-buffer limit: the generic attention's [B, nH, T, T] at batch 64 is 100 MB
    const bound = planToFit(cfg, 'generic', { memoryBytes: 1e12, maxBindingBytes: 64 * 2 ** 20 });
    expect(bound.fits).toBe(false);
    expect(bound.problem).toMatch(/largest tensor/);
  });

  it('recomputation and accumulation lower the prediction; the message names the fix', () => {
    const cfg = shakespeareChar();
    const plain = predictMemory(cfg, 'fused');
    expect(predictMemory({ ...cfg, recompute: true }, 'fused').activationBytes).toBeLessThan(plain.activationBytes / 4);
    const accum = predictMemory({ ...cfg, batchSize: 16, gradAccumSteps: 4 }, 'fused');
    expect(accum.tokensPerStep).toBe(plain.tokensPerStep);
    expect(accum.activationBytes).toBeCloseTo(plain.activationBytes / 4, -3);
    expect(accum.gradientBytes).toBeGreaterThan(plain.gradientBytes); // the running sum
    const msg = outOfMemoryMessage(cfg, 'fused', 'a GPU buffer', 512 * 2 ** 20);
    expect(msg).toMatch(
      /^out of memory allocating a GPU buffer on a device of 537 MB: this step's predicted peak is 5\.\d\d GB .*; use --batch-size \d+ --grad-accum \d+ --recompute .*the last checkpoint is untouched$/,
    );
  });

  it('gives the page its line and, before Start, a warning naming the settings that fit', () => {
    const micro = { ...makeConfig(), vocabSize: V };
    expect(memoryAdvice(micro, 'wasm')).toMatchObject({ warning: null });
    expect(memoryAdvice(micro, 'webgpu').line).toMatch(/^predicted peak memory of a step on webgpu: [\d.]+ MB \(weights/);
    const small16 = { ...makeConfig({ preset: 'small', batchSize: 16 }), vocabSize: V };
    expect(memoryAdvice(small16, 'wasm').warning).toMatch(
      /^This run will not fit wasm's 4 GB memory .*: set batchSize 8, gradAccumSteps 2 \(the same sequences per step/,
    );
    expect(memoryAdvice(shakespeareChar(), 'webgpu').warning).toMatch(
      /more than a 512 MB laptop GPU holds: there, set batchSize 8, gradAccumSteps 8, recompute on/,
    );
    // an adapter whose buffers are too small for the generic attention's [B, nH, T, T] (dropout takes that path)
    expect(memoryAdvice({ ...shakespeareChar(), dropout: 0.1 }, 'webgpu', { maxStorageBufferBindingSize: 64 * 2 ** 20 }).warning).toMatch(
      /^This run will not fit this GPU: its largest tensor/,
    );
  });

  it('reads sizes as people write them', () => {
    expect(parseBytes('512MB')).toBe(512e6);
    expect(parseBytes('1.5 GiB')).toBe(1.5 * 2 ** 30);
    expect(parseBytes('4g')).toBe(4e9);
    expect(parseBytes('800000')).toBe(800000);
    expect(parseBytes('lots')).toBeNull();
    expect(parseBytes('5 parsecs')).toBeNull();
  });

  it("restates the fused attention's context limit correctly", () => {
    expect(FUSED_ATTENTION_MAX_T).toBe(ATTENTION_MAX_T);
  });
});

const WITHIN = 0.15;

describe('predicted vs measured peak on wasm (generic ops)', () => {
  beforeAll(async () => {
    expect(await tf.setBackend('wasm')).toBe(true);
  });
  // batch sizes that keep `small` near a second a step on wasm
  const cases: (Partial<Config> & { preset: PresetName })[] = [
    ...PRESET_NAMES.map((preset) => ({ preset, batchSize: ({ nano: 16, micro: 8, baby: 4, mini: 2, small: 1 } as Record<string, number>)[preset] })),
    { preset: 'mini', batchSize: 1, gradAccumSteps: 2 },
    { preset: 'mini', batchSize: 2, recompute: true },
    { preset: 'baby', batchSize: 2, dropout: 0.2 },
  ];
  for (const c of cases) {
    it(`${JSON.stringify(c)}`, async () => {
      const { measured, predicted } = await measure(c);
      expect(Math.abs(predicted / measured - 1), `predicted ${predicted}, measured ${measured}`).toBeLessThan(WITHIN);
    });
  }
});

describe("predicted vs measured peak on WebGPU's fused kernels (Dawn's null adapter)", () => {
  beforeAll(async () => {
    const found = await installNodeWebGPU('null');
    if (typeof found === 'string') throw new Error(found);
    expect(await tf.setBackend('webgpu')).toBe(true);
  });
  const cases: (Partial<Config> & { preset: PresetName })[] = [
    ...PRESET_NAMES.map((preset) => ({ preset, batchSize: preset === 'small' ? 2 : 8 })),
    { preset: 'small', batchSize: 2, gradAccumSteps: 2 },
    { preset: 'small', batchSize: 4, recompute: true },
    { preset: 'mini', batchSize: 4, dropout: 0.2, recompute: true },
  ];
  for (const c of cases) {
    it(`${JSON.stringify(c)}`, async () => {
      const { measured, predicted } = await measure(c);
      expect(Math.abs(predicted / measured - 1), `predicted ${predicted}, measured ${measured}`).toBeLessThan(WITHIN);
    });
  }
});
