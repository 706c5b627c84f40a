// Starting from a checkpoint (core/finetune.ts) and growing its vocabulary
// (core/vocab.ts): a fresh optimizer and schedule, the checkpoint's logits at
// step 0, old characters' logits unchanged by new rows, freezing that really
// freezes, and the file saved afterwards an ordinary checkpoint. cpu backend.

import { describe, it, expect, beforeAll } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { makeConfig, ConfigError, type Config } from '../src/core/config.ts';
import { Dataset } from '../src/core/data.ts';
import { decodeCheckpoint, disposeCheckpoint, modelFromCheckpoint, resumeTrainer, saveTrainer } from '../src/core/checkpoint.ts';
import { initFrom, initFromConfig, frozenNames } from '../src/core/finetune.ts';
import { describeAdded, extendVocabulary, quoteChar } from '../src/core/vocab.ts';
import { learningRate, newTrainer, type Trainer } from '../src/core/train.ts';
import { trainLoop } from '../src/core/train-loop.ts';
import { Rng } from '../src/core/rng.ts';
import type { GPT } from '../src/core/model.ts';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const OLD = 'Sing, O goddess, the anger of Achilles son of Peleus, that brought countless ills upon the Achaeans.\n'.repeat(10);
const NEW = 'Chante, déesse, la colère d’Achille — ce garçon de Pélée — qui fit tant de maux aux Achéens.\n'.repeat(10);
const small = (o: Partial<Config> = {}) =>
  makeConfig({
    nLayer: 2,
    nHead: 2,
    nEmbd: 16,
    blockSize: 8,
    batchSize: 4,
    maxIters: 20,
    lr: 1e-2,
    evalInterval: 1000,
    evalIters: 2,
    logInterval: 1,
    seed: 3,
    ...o,
  });
const dispose = (t: Trainer) => {
  t.model.dispose();
  t.dispose();
};

/** A trained checkpoint's bytes (20 AdamW steps on OLD: non-zero moments, a schedule part way). */
let bytes: Uint8Array;
beforeAll(async () => {
  const t = newTrainer(small(), new Dataset(OLD));
  for await (const _ of trainLoop(t)) {
    /* run to the end */
  }
  bytes = await saveTrainer(t, t.data.tokenizer);
  dispose(t);
});

/** Logits of a model for `ids` [1, T]: [T, V]. */
const logits = (m: GPT, ids: number[]) => tf.tidy(() => m.forward(tf.tensor2d(ids, [1, ids.length], 'int32')).arraySync() as number[][]);

describe('--init-from', () => {
  it('starts a fresh AdamW state and a fresh warmup/cosine schedule over the new maxIters, at a tenth of the lr', async () => {
    const ckpt = await decodeCheckpoint(bytes);
    expect(ckpt.meta.adamT).toBe(20);
    expect(ckpt.meta.step).toBe(20);
    const { trainer } = initFrom(ckpt, OLD, { maxIters: 50 });
    try {
      expect(trainer.step).toBe(0);
      expect(trainer.optimizer.t).toBe(0);
      for (const m of [...trainer.optimizer.m.values(), ...trainer.optimizer.v.values()]) expect(tf.max(tf.abs(m)).dataSync()[0]).toBe(0);
      expect(trainer.cfg.lr).toBeCloseTo(1e-3, 12);
      expect(trainer.cfg.minLr).toBeCloseTo(trainer.cfg.lr * (ckpt.meta.config.minLr / ckpt.meta.config.lr), 12);
      expect(trainer.cfg.maxIters).toBe(50);
      expect(trainer.cfg.warmupIters).toBe(5); // 10% of the new run, not the old one's
      const log = await trainer.trainStep();
      expect(trainer.optimizer.t).toBe(1);
      expect(log!.step).toBe(1);
      expect(log!.lr).toBeCloseTo(learningRate(trainer.cfg, 0), 12); // the schedule restarts at its warmup
      expect(log!.lr).toBeLessThan(trainer.cfg.lr / 5);
    } finally {
      dispose(trainer);
    }
  });

  it("gives exactly the checkpoint's logits at step 0", async () => {
    const ref = modelFromCheckpoint(await decodeCheckpoint(bytes));
    const { trainer, added } = initFrom(await decodeCheckpoint(bytes), OLD, { maxIters: 10 });
    try {
      expect(added).toEqual([]);
      const ids = Array.from(ref.tokenizer.encode('Achilles'));
      expect(logits(trainer.model, ids)).toEqual(logits(ref.model, ids));
    } finally {
      dispose(trainer);
      ref.model.dispose();
    }
  });

  it("keeps the checkpoint's model shape: a conflicting shape field is a one-line ConfigError", async () => {
    const saved = (await decodeCheckpoint(bytes)).meta.config;
    expect(() => initFromConfig(saved, { nEmbd: 32 }, 0)).toThrow(ConfigError);
    expect(() => initFromConfig(saved, { nEmbd: 32 }, 0)).toThrow(
      /^nEmbd=32 differs from the checkpoint's nEmbd=16: a run from a checkpoint keeps its model shape \(drop the flag\)$/,
    );
    expect(initFromConfig(saved, { nEmbd: 16, dropout: 0.1 }, 0).dropout).toBe(0.1); // same shape, other settings: fine
  });
});

describe('vocabulary extension', () => {
  it("adds rows for new characters after the old ones and leaves old characters' logits unchanged", async () => {
    const ref = modelFromCheckpoint(await decodeCheckpoint(bytes));
    const V = ref.tokenizer.vocabSize;
    const ft = initFrom(await decodeCheckpoint(bytes), NEW, { maxIters: 10 });
    try {
      const added = ref.tokenizer.missing(NEW).sort((a, b) => a.codePointAt(0)! - b.codePointAt(0)!);
      expect(ft.added).toEqual(added);
      expect(ft.added).toContain('é');
      expect(ft.added).toContain('—');
      expect(ft.addedLine).toBe(`${added.length} new characters: ${added.map((c) => `'${c}'`).join(', ')}`);
      const tok = ft.trainer.data.tokenizer;
      expect(tok.vocabSize).toBe(V + added.length);
      expect(tok.chars.slice(0, V)).toEqual(ref.tokenizer.chars); // old ids unchanged
      expect(ft.trainer.cfg.vocabSize).toBe(V + added.length);
      // Old rows bit for bit; new rows drawn as at init, N(0, 0.02).
      const wte = ft.trainer.model.p('transformer.wte.weight').arraySync() as number[][];
      expect(wte.slice(0, V)).toEqual(ref.model.p('transformer.wte.weight').arraySync());
      const fresh = wte.slice(V).flat();
      const std = Math.sqrt(fresh.reduce((a, v) => a + v * v, 0) / fresh.length);
      expect(std).toBeGreaterThan(0.01);
      expect(std).toBeLessThan(0.03);
      // A prompt of old characters: the first V logits are the checkpoint's (float32 rounding).
      const ids = Array.from(ref.tokenizer.encode('e anger '));
      const before = logits(ref.model, ids);
      const after = logits(ft.trainer.model, ids);
      for (let i = 0; i < ids.length; i++) {
        expect(after[i]).toHaveLength(V + added.length);
        for (let j = 0; j < V; j++) expect(Math.abs(after[i][j] - before[i][j])).toBeLessThan(1e-5 * (1 + Math.abs(before[i][j])));
      }
    } finally {
      dispose(ft.trainer);
      ref.model.dispose();
    }
  });

  it('trains on the new text and saves an ordinary checkpoint with the larger vocabulary', async () => {
    const ft = initFrom(await decodeCheckpoint(bytes), NEW, { maxIters: 6, evalInterval: 3 });
    let saved: Uint8Array;
    try {
      for await (const ev of trainLoop(ft.trainer)) if (ev.event === 'done') expect(Number.isFinite(ev.summary.valLoss)).toBe(true);
      saved = await saveTrainer(ft.trainer, ft.trainer.data.tokenizer);
    } finally {
      dispose(ft.trainer);
    }
    const ckpt = await decodeCheckpoint(saved);
    const V = ckpt.meta.vocab.length;
    expect(ckpt.meta.config.vocabSize).toBe(V);
    expect(ckpt.meta.vocab).toContain('é');
    expect(ckpt.tensors.get('transformer.wte.weight')!.shape).toEqual([V, 16]);
    expect(ckpt.tensors.get('optimizer.exp_avg.transformer.wte.weight')!.shape).toEqual([V, 16]);
    // ... which resumes like any other run.
    const resumed = resumeTrainer(ckpt, new Dataset(NEW), { maxIters: 8 });
    try {
      expect(resumed.step).toBe(6);
      expect(resumed.data.tokenizer.chars).toEqual(ckpt.meta.vocab);
      await resumed.trainStep();
      expect(resumed.optimizer.t).toBe(7);
    } finally {
      dispose(resumed);
      disposeCheckpoint(ckpt);
    }
  });

  it('describes new characters in one line, invisible ones by code point', () => {
    expect(describeAdded(['é', 'ç', '—'])).toBe("3 new characters: 'é', 'ç', '—'");
    expect(describeAdded(['é'])).toBe("1 new character: 'é'");
    expect(quoteChar('\t')).toBe('U+0009');
    expect(quoteChar('\u00a0')).toBe('U+00A0');
    expect(describeAdded(Array.from({ length: 25 }, (_, i) => String.fromCodePoint(0x3b1 + i)))).toMatch(/^25 new characters: 'α', .*, \.\.\. \(5 more\)$/);
  });

  it('with nothing new, keeps the weights and drops only the optimizer state', async () => {
    const ckpt = await decodeCheckpoint(bytes);
    const before = tf.memory().numTensors;
    const ext = extendVocabulary(ckpt, 'the anger', new Rng(1));
    expect(ext.added).toEqual([]);
    expect([...ext.checkpoint.tensors.keys()].some((k) => k.startsWith('optimizer.'))).toBe(false);
    expect(ext.checkpoint.meta.adamT).toBeUndefined();
    expect(tf.memory().numTensors).toBe(before - 2 * ext.checkpoint.tensors.size); // the moments are freed
    disposeCheckpoint(ext.checkpoint);
  });
});

describe('--freeze', () => {
  const changed = (a: Map<string, Float32Array>, b: Map<string, Float32Array>) => [...a.keys()].filter((k) => a.get(k)!.some((v, i) => v !== b.get(k)![i]));
  const snapshot = (t: Trainer) => new Map([...t.model.params].map(([k, v]) => [k, v.dataSync().slice() as Float32Array]));

  it('all-but-head trains only the tied head (wte) and ln_f; embeddings freezes wte and wpe', async () => {
    for (const mode of ['all-but-head', 'embeddings'] as const) {
      const ft = initFrom(await decodeCheckpoint(bytes), OLD, { maxIters: 3, weightDecay: 0.1 }, { freeze: mode });
      try {
        const names = [...ft.trainer.model.params.keys()];
        expect(ft.frozen).toEqual(frozenNames(names, mode));
        const before = snapshot(ft.trainer);
        for (let i = 0; i < 3; i++) await ft.trainer.trainStep();
        const moved = changed(before, snapshot(ft.trainer)).sort();
        const trained = names.filter((n) => !ft.frozen.includes(n)).sort();
        expect(moved).toEqual(trained); // frozen: not a bit changed (no update, no weight decay); the rest all moved
        if (mode === 'all-but-head') expect(trained).toEqual(['transformer.ln_f.bias', 'transformer.ln_f.weight', 'transformer.wte.weight']);
        else expect(ft.frozen).toEqual(['transformer.wte.weight', 'transformer.wpe.weight']);
      } finally {
        dispose(ft.trainer);
      }
    }
  });

  it('refuses --freeze embeddings when new characters would stay at their random init', async () => {
    const before = tf.memory().numTensors;
    await expect(async () => initFrom(await decodeCheckpoint(bytes), NEW, { maxIters: 3 }, { freeze: 'embeddings' })).rejects.toThrow(
      /^--freeze embeddings would keep the \d+ new characters: .* at their random init: use --freeze none or all-but-head$/,
    );
    expect(tf.memory().numTensors).toBe(before); // nothing leaked on the way out
  });
});
