// The charts' rows over a long run (ui/train/history.ts' thin): bounded by the cap,
// recent steps at full resolution, validation points kept, the run's first
// step still there.

import { describe, expect, it } from 'vitest';
import { addPoints, addVal, emptyHistory, thin } from '../src/ui/train/history.ts';

const point = (step: number) => ({ step, trainLoss: 5 - step / 10_000, lr: 1e-3, tokensPerSec: 1000, msPerStep: 5 });

describe('thin', () => {
  it('keeps at most cap rows over 20,000 steps, however they arrive', () => {
    const h = emptyHistory();
    const cap = 400;
    let maxRows = 0;
    let thinned = 0;
    for (let s = 1; s <= 20_000; s++) {
      addPoints(h, [point(s)]);
      if (s % 500 === 0) addVal(h, s, 4);
      if (thin(h, cap)) thinned++;
      maxRows = Math.max(maxRows, h.steps.length);
    }
    expect(maxRows).toBeLessThanOrEqual(cap);
    expect(thinned).toBeGreaterThan(10);
    expect(thinned).toBeLessThan(200); // amortised: a pass removes a good share of the rows
    for (const k of ['train', 'val', 'lr', 'tokensPerSec'] as const) expect(h[k]).toHaveLength(h.steps.length);
    expect(h.steps[0]).toBe(1); // the start of the run stays
    expect(h.steps.slice(-cap / 4)).toEqual(Array.from({ length: cap / 4 }, (_, i) => 20_000 - cap / 4 + 1 + i)); // recent at full resolution
    expect(h.steps.filter((_, i) => h.val[i] !== null)).toEqual(Array.from({ length: 40 }, (_, i) => 500 * (i + 1))); // every evaluation
    expect([...h.steps].sort((a, b) => a - b)).toEqual(h.steps); // still in order
  });

  it('thins validation rows too when they alone overflow the cap', () => {
    const h = emptyHistory();
    for (let s = 1; s <= 300; s++) {
      addPoints(h, [point(s)]);
      addVal(h, s, 4);
    }
    thin(h, 100);
    expect(h.steps.length).toBeLessThanOrEqual(250);
    while (thin(h, 100));
    expect(h.steps.length).toBeLessThanOrEqual(100);
  });
});
