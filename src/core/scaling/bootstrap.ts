// Percentile bootstrap intervals for the scaling-law fits: resample whole runs (never
// checkpoints, Besiroglu et al. 2024), refit, take the 2.5% and 97.5% quantiles. Used by
// fit-power.ts and fit-joint.ts; approaches.ts shares the quantile. Pure TypeScript,
// seeded through core/rng.ts so every interval is reproducible.

import { Rng } from '../rng';
import type { Interval } from './fit';

// How many of the best starting points seed the bootstrap refits (besides the full-data optimum).
export const BOOTSTRAP_EXTRA_STARTS = 3;

/** Type-7 (linear interpolation) quantile of a sorted array. */
export function quantile(sorted: number[], q: number): number {
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos),
    hi = Math.ceil(pos);
  if (lo === hi) return sorted[lo];
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}

/**
 * Resample runs with replacement `samples` times; `usable` rejects resamples that cannot
 * identify the model (too few distinct sizes), `refit` returns named statistics of the
 * refit. Returns 95% percentile intervals over finite values and the number of refits.
 */
export function bootstrapIntervals<K extends string>(
  nPoints: number,
  samples: number,
  seed: number,
  weights: Float64Array,
  usable: () => boolean,
  refit: () => Record<K, number>,
  keys: readonly K[],
  onSample?: (params: Record<string, number>) => void,
): { intervals: Record<K, Interval>; count: number } {
  const rng = new Rng(seed); // seeded, so intervals are reproducible
  const columns = new Map<K, number[]>(keys.map((k) => [k, []]));
  let count = 0;
  for (let s = 0; s < samples; s++) {
    let ok = false;
    for (let attempt = 0; attempt < 100 && !ok; attempt++) {
      weights.fill(0);
      for (let i = 0; i < nPoints; i++) weights[rng.int(nPoints)] += 1;
      ok = usable();
    }
    if (!ok) continue;
    const stats = refit();
    onSample?.(stats);
    for (const k of keys) columns.get(k)?.push(stats[k]);
    count++;
  }
  weights.fill(1); // leave the closure's weights as the full data
  const intervals = {} as Record<K, Interval>;
  for (const k of keys) {
    const finite = (columns.get(k) ?? []).filter((v) => !Number.isNaN(v)).sort((p, q) => p - q);
    intervals[k] = finite.length === 0 ? { lo: NaN, hi: NaN } : { lo: quantile(finite, 0.025), hi: quantile(finite, 0.975) };
  }
  return { intervals, count };
}
