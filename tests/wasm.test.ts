// The wasm backend in Node: the model trains (loss falls), including the token
// embedding, whose tf.gather gradient wasm lacks (ops.ts' one-hot workaround).

import { it, expect, beforeAll } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { makeConfig } from '../src/core/config.ts';
import { Dataset } from '../src/core/data.ts';
import { builtinCorpus } from '../src/core/corpus.ts';
import { newTrainer } from '../src/core/train.ts';
import { trainLoop } from '../src/core/train-loop.ts';
import { generate } from '../src/core/sample.ts';

beforeAll(async () => {
  expect(await tf.setBackend('wasm')).toBe(true);
  await tf.ready();
});

it('trains the nano preset on wasm: the loss falls within 30 steps', async () => {
  expect(tf.getBackend()).toBe('wasm');
  const data = new Dataset(builtinCorpus({ chars: 50_000 }).text);
  const trainer = newTrainer(makeConfig({ preset: 'nano', batchSize: 8, maxIters: 30, lr: 3e-3, logInterval: 5, evalInterval: 30, evalIters: 4 }), data);
  const wte0 = trainer.model.p('transformer.wte.weight').dataSync().slice();
  const initial = await trainer.evaluate('val');
  const losses: number[] = [];
  let valLoss = NaN;
  for await (const ev of trainLoop(trainer)) {
    if (ev.event === 'step') losses.push(ev.trainLoss);
    if (ev.event === 'done') {
      valLoss = ev.summary.valLoss;
      expect(ev.summary.backend).toBe('wasm');
    }
  }
  expect(losses.every(Number.isFinite)).toBe(true);
  expect(losses[losses.length - 1]).toBeLessThan(losses[0] - 0.3);
  expect(valLoss).toBeLessThan(initial - 0.3);
  // the embedding moved, i.e. its gradient exists on wasm
  const wte1 = trainer.model.p('transformer.wte.weight').dataSync();
  expect(Math.max(...wte1.map((v, i) => Math.abs(v - wte0[i])))).toBeGreaterThan(1e-3);
  const text = await generate(trainer.model, data.tokenizer, { maxNewTokens: 20, seed: 1 });
  expect([...text].length).toBe(20);
  trainer.model.dispose();
  trainer.dispose();
});
