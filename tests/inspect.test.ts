// core/inspect, the math behind the training page's views, on the cpu backend:
// each view checked against an independent computation of the same quantity.

import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { makeConfig } from '../src/core/config.ts';
import { Dataset } from '../src/core/data.ts';
import {
  attentionMaps,
  deviceReport,
  embeddingMap,
  estimateSpeed,
  lossByPosition,
  nextChars,
  pca2,
  scoreText,
  softmax,
  surprisingSpans,
  topK,
} from '../src/core/inspect/index.ts';
import { Rng } from '../src/core/rng.ts';
import { generate } from '../src/core/sample.ts';
import { evaluateLoss, newTrainer, type Trainer } from '../src/core/train.ts';

const TEXT = 'the cat sat on the mat. the dog sat on the log. a bird sang in the tree; the sun rose.\n'.repeat(30);
let trainer: Trainer;

beforeAll(async () => {
  await tf.setBackend('cpu');
  // Trained a little, so attention and predictions are not uniform.
  const cfg = makeConfig({ preset: 'nano', nLayer: 2, nHead: 2, nEmbd: 16, blockSize: 12, batchSize: 8, maxIters: 200, lr: 0.01, evalIters: 3, dropout: 0 });
  trainer = newTrainer(cfg, new Dataset(TEXT));
  for (let i = 0; i < 200; i++) await trainer.trainStep();
});

describe('plain math', () => {
  it('softmax sums to 1 and top-k is sorted, at most k long', () => {
    const p = softmax([1, 3, 2, -1000]);
    expect(p.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
    expect(p[3]).toBe(0);
    expect(topK(p, ['a', 'b', 'c', 'd'], 2).map((c) => c.char)).toEqual(['b', 'c']);
    expect(topK(p, ['a', 'b', 'c', 'd'], 9)).toHaveLength(4);
  });

  it('PCA recovers a known plane: data on two orthogonal axes with variances 9 and 1', () => {
    const rng = new Rng(3);
    const C = 6;
    const u = [1, 1, 0, 0, 0, 0].map((v) => v / Math.SQRT2);
    const w = [0, 0, 1, -1, 1, -1].map((v) => v / 2);
    const rows = 400;
    const x = new Float32Array(rows * C);
    const truth: [number, number][] = [];
    for (let r = 0; r < rows; r++) {
      const a = 3 * rng.normal();
      const b = rng.normal();
      truth.push([a, b]);
      for (let c = 0; c < C; c++) x[r * C + c] = 5 + a * u[c] + b * w[c]; // an offset that centring must remove
    }
    const { coords, explained } = pca2(x, rows, C);
    expect(explained[0] + explained[1]).toBeCloseTo(1, 5); // the data is exactly 2-D
    expect(explained[0] / explained[1]).toBeGreaterThan(5);
    // Coordinates equal the true ones up to sign (and centring).
    const mean = (k: 0 | 1) => truth.reduce((s, t) => s + t[k], 0) / rows;
    const corr = (k: 0 | 1) => {
      let dot = 0;
      let n1 = 0;
      let n2 = 0;
      for (let r = 0; r < rows; r++) {
        const a = coords[r][k];
        const b = truth[r][k] - mean(k);
        dot += a * b;
        n1 += a * a;
        n2 += b * b;
      }
      return Math.abs(dot) / Math.sqrt(n1 * n2);
    };
    expect(corr(0)).toBeGreaterThan(0.9999);
    expect(corr(1)).toBeGreaterThan(0.9999);
  });

  it('surprising spans are the heaviest non-overlapping windows', () => {
    const chars = [...'abcdefghij'];
    const bits = [null, 0, 0, 5, 5, 0, 0, 0, 1, 4];
    const spans = surprisingSpans(chars, bits, 2, 3);
    expect(spans).toHaveLength(3);
    expect(spans[0]).toMatchObject({ start: 3, text: 'de', bits: 10 });
    expect(spans[1]).toMatchObject({ start: 8, text: 'ij', bits: 5 });
    for (let i = 0; i < spans.length; i++)
      for (let j = i + 1; j < spans.length; j++) {
        expect(spans[i].start + spans[i].length <= spans[j].start || spans[j].start + spans[j].length <= spans[i].start).toBe(true);
      }
  });
});

describe('views of a trained model', () => {
  it('next characters: the softmax of the last position, and greedy generation picks the top one', async () => {
    const { model, data } = trainer;
    for (const prompt of ['the c', 'sat on the ', '']) {
      const nc = await nextChars(model, data.tokenizer, prompt, 5);
      expect(nc.top).toHaveLength(5);
      expect(nc.top.reduce((a, c) => a + c.p, 0)).toBeLessThanOrEqual(1 + 1e-9);
      const p = softmax(nc.logits);
      for (const c of nc.top) expect(c.p).toBeCloseTo(p[nc.vocab.indexOf(c.char)], 12);
      const greedy = await generate(model, data.tokenizer, { prompt, maxNewTokens: 1, temperature: 0 });
      expect(greedy).toBe(nc.top[0].char);
    }
    await expect(nextChars(model, data.tokenizer, 'Q!')).rejects.toThrow(/characters the model does not know: 'Q'/);
  });

  it('attention: [layer][head][T][T], rows sum to 1, zero above the diagonal', async () => {
    const maps = await attentionMaps(trainer.model, trainer.data.tokenizer, 'the dog sat on the log');
    const T = 12; // the last blockSize characters
    expect(maps.chars.join('')).toBe('the dog sat on the log'.slice(-T));
    expect(maps.weights).toHaveLength(2);
    for (const layer of maps.weights) {
      expect(layer).toHaveLength(2);
      for (const head of layer) {
        expect(head).toHaveLength(T);
        head.forEach((row, t) => {
          expect(row).toHaveLength(T);
          expect(row.reduce((a, v) => a + v, 0)).toBeCloseTo(1, 5);
          for (let s = t + 1; s < T; s++) expect(row[s]).toBe(0);
        });
        expect(head[0][0]).toBeCloseTo(1, 6);
      }
    }
  });

  it('text scores: each probability equals the next-character distribution of its context', async () => {
    const { model, data } = trainer;
    const text = 'the cat sat on'; // 14 chars: one window of 12 and a shifted one
    const score = await scoreText(model, data.tokenizer, text);
    expect(score.chars.map((c) => c.char).join('')).toBe(text);
    expect(score.chars[0].bits).toBeNull();
    for (let i = 1; i < text.length; i++) {
      const c = score.chars[i];
      // The context this position saw: the first window for i <= 12, else the shifted one (T - S >= 6 chars).
      const ctx = i <= 12 ? text.slice(0, i) : text.slice(i - 12, i);
      const nc = await nextChars(model, data.tokenizer, ctx, data.tokenizer.vocabSize);
      const expected = nc.top.find((x) => x.char === text[i])!.p;
      expect(c.p!).toBeCloseTo(expected, 5);
      expect(c.bits!).toBeCloseTo(-Math.log2(expected), 4);
      expect(c.top.map((x) => x.char)).toEqual(nc.top.slice(0, 5).map((x) => x.char));
    }
    expect(score.totalBits).toBeCloseTo(
      score.chars.reduce((a, c) => a + (c.bits ?? 0), 0),
      9,
    );
    expect(score.bpc).toBeCloseTo(score.totalBits / (text.length - 1), 9);
    expect(score.spans.length).toBeGreaterThan(0);
    // A long text: every character after the first is scored.
    const long = await scoreText(model, data.tokenizer, TEXT.slice(0, 300));
    expect(long.chars.slice(1).every((c) => c.bits !== null && Number.isFinite(c.bits))).toBe(true);
  });

  it('loss by position: blockSize long, its mean is the validation loss of the same batches, and context helps', async () => {
    const { model, data, cfg } = trainer;
    const batches = data.evalBatches('val', cfg.evalIters, cfg.batchSize, cfg.blockSize);
    const { byPosition, mean } = await lossByPosition(model, batches);
    expect(byPosition).toHaveLength(cfg.blockSize);
    expect(mean).toBeCloseTo(await evaluateLoss(model, batches), 5);
    // Position 0 sees one character; later positions see more and predict better.
    const late = byPosition.slice(-4).reduce((a, v) => a + v, 0) / 4;
    expect(late).toBeLessThan(byPosition[0]);
  });

  it('embedding map: one point per vocabulary character', async () => {
    const map = await embeddingMap(trainer.model, trainer.data.tokenizer, 60);
    expect(map.points).toHaveLength(trainer.data.tokenizer.vocabSize);
    expect(map.points.map((p) => p.char)).toEqual(trainer.data.tokenizer.chars);
    expect(map.points.every((p) => Number.isFinite(p.x) && Number.isFinite(p.y))).toBe(true);
    expect(map.explained[0]).toBeGreaterThanOrEqual(map.explained[1]);
  });

  it('device report and speed estimate: finite figures, no tensors left behind', async () => {
    const before = tf.memory().numTensors;
    const report = await deviceReport();
    expect(report.backend).toBe('cpu');
    expect(report.adapter).toBeNull();
    expect(report.matmulGflops).toBeGreaterThan(0);
    const cfg = makeConfig({ preset: 'nano', nLayer: 1, nEmbd: 16, blockSize: 8, batchSize: 4, maxIters: 1000 });
    const est = await estimateSpeed(cfg, TEXT, 2);
    expect(est.msPerStep).toBeGreaterThan(0);
    expect(est.tokensPerSec).toBeCloseTo((4 * 8 * 1000) / est.msPerStep, 6);
    expect(est.wallSeconds).toBeCloseTo((1000 * est.msPerStep) / 1000, 6);
    expect(tf.memory().numTensors).toBe(before);
  });
});
