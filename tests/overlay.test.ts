// The page's fine-tune vs from-scratch overlay (src/ui/train/overlay.ts): which saved
// run it picks, and how its curve is merged into the loss chart's rows.

import { describe, it, expect } from 'vitest';
import { alignOverlay, scratchOverlay, valPoints } from '../src/ui/train/overlay.ts';
import type { SavedModel } from '../src/ui/storage.ts';
import { makeConfig } from '../src/core/config.ts';

const rec = (o: Partial<SavedModel>): SavedModel => ({
  id: `${o.runId ?? 'r'}@${o.step ?? 10}`,
  runId: 'r',
  source: 'run',
  name: 'n',
  step: 10,
  maxIters: 10,
  valLoss: 2,
  trainLoss: 2,
  savedAt: 1,
  size: 1,
  config: makeConfig(),
  corpus: { kind: 'paste', name: 'pasted text', sha256: 'abc' },
  finished: true,
  history: { steps: [5, 10], train: [3, 2], val: [null, 2.5], lr: [1, 1], tokensPerSec: [1, 1] },
  ...o,
});

describe('scratchOverlay', () => {
  it('picks the longest from-scratch run on the same text, never a fine-tune or another text', () => {
    const records = [
      rec({ runId: 'short', step: 10, name: 'short' }),
      rec({
        runId: 'long',
        step: 30,
        name: 'long',
        history: { steps: [10, 20, 30], train: [3, 2, 1], val: [2.9, null, 2.1], lr: [1, 1, 1], tokensPerSec: [1, 1, 1] },
      }),
      rec({ runId: 'ft', step: 99, initFrom: { name: 'base', step: 5 } }),
      rec({ runId: 'other', step: 99, corpus: { kind: 'paste', name: 'x', sha256: 'zzz' } }),
      rec({ runId: 'upload', step: 99, source: 'upload' }),
    ];
    expect(scratchOverlay(records, 'abc')).toEqual({ label: 'from scratch (long, step 30)', steps: [10, 30], val: [2.9, 2.1] });
    expect(scratchOverlay(records, 'nope')).toBeNull();
    expect(
      scratchOverlay(
        records.filter((r) => r.runId !== 'long' && r.runId !== 'short'),
        'abc',
      ),
    ).toBeNull();
  });

  it('reads the evaluation rows of a history', () => {
    expect(valPoints({ steps: [1, 2, 3], train: [1, 1, 1], val: [null, 4, null], lr: [], tokensPerSec: [] })).toEqual({ steps: [2], val: [4] });
  });
});

describe('alignOverlay', () => {
  it('merges both step lists, keeps reference lines continuous and leaves gaps elsewhere', () => {
    const { xs, cols } = alignOverlay(
      [0, 10, 20],
      [
        [null, 3, 2],
        [null, null, 2.5],
        [4, 4, 4],
      ],
      { label: 'o', steps: [0, 15, 20], val: [4.1, 3.1, 2.9] },
      2,
    );
    expect(xs).toEqual([0, 10, 15, 20]);
    expect(cols).toEqual([
      [null, 3, null, 2],
      [null, null, null, 2.5],
      [4, 4, 4, 4],
      [4.1, null, 3.1, 2.9],
    ]);
  });
});
