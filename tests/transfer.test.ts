// The transfer experiment's definition (core/transfer.ts): how the corpus is cut
// (nothing of the held-out tail in pre-training, code points never split) and the
// gap it reports.

import { describe, it, expect } from 'vitest';
import { pretrainConfig, TRANSFER, transferGap, transferSplit } from '../src/core/transfer.ts';

describe('transferSplit', () => {
  it('holds the tail out of pre-training: adaptation slice first, evaluation after, nothing lost or shared', () => {
    const text = Array.from({ length: 1000 }, (_, i) => String.fromCodePoint(0x41 + (i % 26)) + (i % 7 === 0 ? '😀' : '')).join('');
    const s = transferSplit(text, 300, 50);
    expect(s.pretrain + s.fineTune + s.evaluation).toBe(text);
    expect(Array.from(s.fineTune)).toHaveLength(50);
    expect(Array.from(s.fineTune + s.evaluation)).toHaveLength(300); // code points, not UTF-16 units
    expect(text.endsWith(s.evaluation)).toBe(true);
  });

  it('refuses a text too short for the cut', () => {
    expect(() => transferSplit('abc'.repeat(100), 300, 50)).toThrow(/needs a text of at least 600 characters \(got 300\)/);
  });

  it("pre-trains baby with nanoGPT's CPU settings", () => {
    const cfg = pretrainConfig();
    expect(cfg).toMatchObject({
      nLayer: 4,
      nHead: 4,
      nEmbd: 128,
      blockSize: 64,
      batchSize: 12,
      lr: 1e-3,
      minLr: 1e-4,
      dropout: 0,
      bias: false,
      maxIters: TRANSFER.pretrain.maxIters,
    });
    expect(pretrainConfig(50).warmupIters).toBe(5);
  });
});

describe('transferGap', () => {
  it('is scratch minus fine-tuned at the steps both evaluated', () => {
    const ft = [
      { step: 0, valLoss: 2, trainLoss: NaN },
      { step: 10, valLoss: 1.9, trainLoss: 2 },
      { step: 20, valLoss: 1.8, trainLoss: 1.9 },
    ];
    const sc = [
      { step: 0, valLoss: 4.2, trainLoss: NaN },
      { step: 20, valLoss: 2.5, trainLoss: 2.4 },
    ];
    const gap = transferGap(ft, sc);
    expect(gap.map((g) => g.step)).toEqual([0, 20]);
    expect(gap[0].nats).toBeCloseTo(2.2, 12);
    expect(gap[1].nats).toBeCloseTo(0.7, 12);
  });
});
