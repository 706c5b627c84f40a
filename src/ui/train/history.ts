// The charts' data: one row per logged step (train loss, lr, tokens/s) with
// validation losses at evaluation steps. Kept apart from the plotting so it
// is testable without a DOM, and stored with checkpoints.

import type { MetricPoint } from '../../worker/protocol';

/** Everything plotted so far, stored with checkpoints so a resumed run shows its whole curve. */
export interface ChartHistory {
  steps: number[];
  train: (number | null)[];
  val: (number | null)[];
  lr: (number | null)[];
  tokensPerSec: (number | null)[];
}

export function emptyHistory(): ChartHistory {
  return { steps: [], train: [], val: [], lr: [], tokensPerSec: [] };
}

/** Row index of `step`, inserting an empty row in order when it is new. */
function rowOf(h: ChartHistory, step: number): number {
  let i = h.steps.length;
  while (i > 0 && h.steps[i - 1] > step) i--;
  if (i > 0 && h.steps[i - 1] === step) return i - 1;
  h.steps.splice(i, 0, step);
  for (const k of ['train', 'val', 'lr', 'tokensPerSec'] as const) h[k].splice(i, 0, null);
  return i;
}

export function addPoints(h: ChartHistory, points: MetricPoint[]): void {
  for (const p of points) {
    const i = rowOf(h, p.step);
    h.train[i] = p.trainLoss;
    h.lr[i] = p.lr;
    h.tokensPerSec[i] = p.tokensPerSec > 0 ? p.tokensPerSec : null;
  }
}

export function addVal(h: ChartHistory, step: number, valLoss: number): void {
  h.val[rowOf(h, step)] = valLoss;
}

const COLUMNS = ['steps', 'train', 'val', 'lr', 'tokensPerSec'] as const;

/**
 * Keep at most `cap` rows, so a run of 100,000 steps stays cheap to draw and to
 * store with each checkpoint. Over the cap, every other row of the older three
 * quarters is dropped (rows holding a validation loss are kept while that is
 * enough): the latest steps stay at full resolution, the whole run's shape
 * stays visible, and the older a stretch the coarser it gets. Each row is
 * copied O(1) times on average. Returns whether rows were dropped.
 */
export function thin(h: ChartHistory, cap: number): boolean {
  const n = h.steps.length;
  if (n <= cap) return false;
  const recent = n - Math.max(1, Math.floor(cap / 4));
  const pick = (keepVal: boolean) => {
    const keep: number[] = [];
    for (let i = 0; i < n; i++) if (i >= recent || i % 2 === 0 || (keepVal && h.val[i] !== null)) keep.push(i);
    return keep;
  };
  let keep = pick(true);
  if (keep.length > cap) keep = pick(false); // validation rows alone overflow the cap: thin them too
  for (const k of COLUMNS) {
    const col = h[k] as (number | null)[];
    (h as unknown as Record<string, (number | null)[]>)[k] = keep.map((i) => col[i]);
  }
  return true;
}
