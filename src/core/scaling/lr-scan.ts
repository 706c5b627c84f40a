// The lr check: for each scanned size, final validation loss against peak lr, the
// rule's choice, the best lr found, and whether the rule is within a factor of 2 of
// it (the scan steps by factors of 2, so "within 2x" means the best is the rule's lr
// or a neighbour). Pure TypeScript.

import type { RunResult } from './sweep-plan';

export interface LrScanPoint {
  multiplier: number;
  lr: number;
  /** Final validation loss (nats/char); null when the run diverged. */
  loss: number | null;
  runId: string;
}

export interface LrScanSize {
  sizeIndex: number;
  nonEmbeddingParams: number;
  params: number;
  /** The rule's peak lr at this size (multiplier 1). */
  ruleLr: number;
  points: LrScanPoint[];
  /** The multiplier with the lowest loss, and its lr. */
  bestMultiplier: number;
  bestLr: number;
  /** Loss at the rule's lr minus the best loss (nats): what the rule costs here. */
  ruleExcess: number;
  /** best lr / rule lr within [1/2, 2]. */
  ruleWithin2x: boolean;
  /** The best lr sits at the scan's edge: the true optimum may be further out. */
  bestAtEdge: boolean;
}

export interface LrScanSummary {
  sizes: LrScanSize[];
  /** The rule is within 2x of the best at every scanned size (null without a scan). */
  ruleOk: boolean | null;
}

export function summariseLrScan(runs: RunResult[] | undefined): LrScanSummary {
  const bySize = new Map<number, RunResult[]>();
  for (const r of runs ?? []) if (r.lrMultiplier !== undefined) bySize.set(r.sizeIndex, [...(bySize.get(r.sizeIndex) ?? []), r]);
  const sizes: LrScanSize[] = [];
  for (const [sizeIndex, group] of [...bySize.entries()].sort((a, b) => a[0] - b[0])) {
    const points = group
      .map((r) => ({ multiplier: r.lrMultiplier as number, lr: r.config.lr, loss: r.diverged || !(r.valLoss > 0) ? null : r.valLoss, runId: r.id }))
      .sort((a, b) => a.multiplier - b.multiplier);
    const rule = points.find((p) => p.multiplier === 1);
    const finite = points.filter((p) => p.loss !== null);
    if (!rule || rule.loss === null || finite.length === 0) continue;
    const best = finite.reduce((a, b) => ((b.loss as number) < (a.loss as number) ? b : a));
    const ms = points.map((p) => p.multiplier);
    sizes.push({
      sizeIndex,
      nonEmbeddingParams: group[0].nonEmbeddingParams,
      params: group[0].params,
      ruleLr: rule.lr,
      points,
      bestMultiplier: best.multiplier,
      bestLr: best.lr,
      ruleExcess: rule.loss - (best.loss as number),
      ruleWithin2x: best.multiplier >= 0.5 - 1e-9 && best.multiplier <= 2 + 1e-9,
      bestAtEdge: best.multiplier === Math.min(...ms) || best.multiplier === Math.max(...ms),
    });
  }
  return { sizes, ruleOk: sizes.length ? sizes.every((s) => s.ruleWithin2x) : null };
}
