// The sweep protocol's pure pieces: the lr scan's plan and summary, shards that
// partition the plan, merge refusing other sweeps, and Chinchilla's three
// approaches recovering a known compute-optimal exponent from synthetic runs.

import { describe, expect, it } from 'vitest';
import { chinchillaApproaches } from '../src/core/scaling/approaches';
import { summariseLrScan } from '../src/core/scaling/lr-scan';
import { mergeResults } from '../src/core/scaling/merge';
import { peakLr, specFromJSON } from '../src/core/scaling/sweep';
import { isLrScanRun, planRuns, shardRuns, type RunResult } from '../src/core/scaling/sweep-plan';
import { emptyResults, resultsFromCSV, resultsFromJSON, resultsToCSV, resultsToJSON, withRun } from '../src/core/scaling/sweep-results';

const CORPUS = { vocabSize: 65, trainChars: 1_000_000 };
const SPEC = specFromJSON({
  sizes: 6,
  minParams: 3000,
  maxParams: 100_000,
  tokens: 200_000,
  repeatSeeds: [2],
  repeatSizes: [0, 3],
  lrScan: { multipliers: [0.25, 0.5, 1, 2, 4], sizes: 'ends', tokenFraction: 0.25 },
  minSteps: 0, // every run at the spec's batch (the minimum-steps halving is lr-rule.test.ts')
});

/** A finished run with a made-up loss (the record's other fields as planned). */
const finish = (p: ReturnType<typeof planRuns>[number], valLoss: number | null): RunResult => ({
  ...p,
  trainLoss: valLoss as number,
  valLoss: valLoss as number,
  trainBpc: 0,
  valBpc: 0,
  valTokens: 1,
  curve: [],
  wallSec: 1,
  tokensPerSec: 1,
  backend: 'cpu',
  finishedAt: '2026-01-01T00:00:00Z',
  ...(valLoss === null ? { diverged: 'loss became NaN at step 3', trainBpc: null as unknown as number, valBpc: null as unknown as number } : {}),
});

describe('the lr scan', () => {
  const plan = planRuns(SPEC, CORPUS);
  const scan = plan.filter(isLrScanRun);

  it('plans the rule x {1/4 .. 4} at the smallest and largest size, short, before the main runs', () => {
    expect(scan).toHaveLength(10);
    expect(plan.slice(0, 10).every(isLrScanRun)).toBe(true);
    const main = plan.filter((r) => !isLrScanRun(r));
    expect(main).toHaveLength(6 + 2);
    expect(new Set(scan.map((r) => r.sizeIndex))).toEqual(new Set([0, 5]));
    for (const r of scan) {
      const rule = main.find((m) => m.sizeIndex === r.sizeIndex && m.seed === 1) as RunResult;
      // The rule's lr at the scan run's own (shorter) budget, times the factor.
      expect(r.config.lr).toBeCloseTo(peakLr(SPEC.lr, r.nonEmbeddingParams, r.tokens) * (r.lrMultiplier as number), 12);
      expect(rule.config.lr).toBeCloseTo(peakLr(SPEC.lr, r.nonEmbeddingParams, rule.tokens), 12);
      expect(r.tokens).toBeLessThanOrEqual(rule.tokens * 0.25 + 1024);
      expect(r.id).toMatch(/-lrx[0-9.]+$/);
    }
    expect(new Set(plan.map((r) => r.id)).size).toBe(plan.length);
    const all = planRuns({ ...SPEC, lrScan: { ...SPEC.lrScan!, sizes: 'all' } }, CORPUS).filter(isLrScanRun);
    expect(all).toHaveLength(30);
  });

  it('finds the best lr per size and says whether the rule is within 2x; diverged runs are kept apart', () => {
    // Loss a parabola in log2(lr) with its minimum at x2 (small size) and x4 (large size); x4 diverges at the small size.
    let results = emptyResults(SPEC, { source: 'test', chars: 1, trainChars: 1, valChars: 1, vocabSize: 65, sha256: 'x' });
    for (const r of scan) {
      const m = Math.log2(r.lrMultiplier as number);
      const best = r.sizeIndex === 0 ? 1 : 2;
      results = withRun(results, finish(r, r.sizeIndex === 0 && m === 2 ? null : 2 + 0.05 * (m - best) ** 2));
    }
    expect(results.runs).toHaveLength(0);
    expect(results.lrScan).toHaveLength(10);
    const s = summariseLrScan(results.lrScan);
    expect(s.sizes.map((z) => z.bestMultiplier)).toEqual([2, 4]);
    expect(s.sizes[0].ruleWithin2x).toBe(true);
    expect(s.sizes[1].ruleWithin2x).toBe(false);
    expect(s.sizes[1].bestAtEdge).toBe(true);
    expect(s.sizes[1].ruleExcess).toBeCloseTo(0.05 * 4, 12);
    expect(s.ruleOk).toBe(false);
    expect(s.sizes[0].points.find((p) => p.multiplier === 4)?.loss).toBeNull();
    // Both formats keep the scan apart from the main runs, the diverged run included.
    for (const back of [resultsFromJSON(resultsToJSON(results)), resultsFromCSV(resultsToCSV(results))]) {
      expect(back.runs).toHaveLength(0);
      expect(back.lrScan?.map((r) => [r.id, r.lrMultiplier, r.valLoss])).toEqual(results.lrScan?.map((r) => [r.id, r.lrMultiplier, r.valLoss]));
    }
  });
});

describe('shards and merge', () => {
  const plan = planRuns(SPEC, CORPUS);

  it('shards partition the plan, the same way every time, with balanced compute', () => {
    for (const n of [1, 2, 3, 5]) {
      const shards = Array.from({ length: n }, (_, i) => shardRuns(plan, i, n));
      const ids = shards.flatMap((s) => s.map((r) => r.id));
      expect(ids.sort()).toEqual(plan.map((r) => r.id).sort());
      expect(shardRuns(plan, 0, n).map((r) => r.id)).toEqual(shards[0].map((r) => r.id));
      if (n === 2) {
        const load = shards.map((s) => s.reduce((a, r) => a + r.flopsExact, 0));
        expect(Math.max(...load) / Math.min(...load)).toBeLessThan(1.5);
      }
    }
    expect(() => shardRuns(plan, 2, 2)).toThrow(/0 <= i < n/);
  });

  it('merge joins shards and refuses a different sweep or text', () => {
    const info = { source: 'test', chars: 1, trainChars: 1, valChars: 1, vocabSize: 65, sha256: 'x' };
    const fill = (runs: typeof plan) => runs.reduce((acc, r, i) => withRun(acc, finish(r, 2 + i / 100)), emptyResults(SPEC, info));
    const a = fill(shardRuns(plan, 0, 2)),
      b = fill(shardRuns(plan, 1, 2));
    const m = mergeResults([
      { name: 'a', results: a },
      { name: 'b', results: b },
      { name: 'a again', results: a },
    ]);
    expect(m.results.runs.length + (m.results.lrScan?.length ?? 0)).toBe(plan.length);
    expect(m.duplicates.length).toBe(a.runs.length + (a.lrScan?.length ?? 0));
    expect(m.conflicting).toEqual([]);
    const other = { ...b, spec: { ...SPEC, tokens: 100_000 } };
    expect(() =>
      mergeResults([
        { name: 'a', results: a },
        { name: 'c', results: other },
      ]),
    ).toThrow(/c holds a different sweep from a \(tokens differ\)/);
    expect(() =>
      mergeResults([
        { name: 'a', results: a },
        { name: 'd', results: { ...b, corpus: { ...info, sha256: 'y' } } },
      ]),
    ).toThrow(/different text/);
  });
});

describe("Chinchilla's three approaches", () => {
  it('recover a = β/(α+β) from runs drawn from a known L(N, D)', () => {
    const truth = { E: 1.5, A: 400, B: 2000, alpha: 0.34, beta: 0.34 }; // a = 0.5
    const runs: RunResult[] = [];
    const sizes = Array.from({ length: 12 }, (_, i) => Math.round(1e4 * Math.pow(2, i / 1.2)));
    sizes.forEach((N, sizeIndex) => {
      // D/N from 8 to 2048 brackets the optimum (D/N = 1/G^2 ≈ 113 here) at every compute level.
      [0, 1, 2, 3, 4, 5, 6, 7, 8].forEach((k, budgetIndex) => {
        const D = Math.round(N * 2 ** (k + 3));
        const loss = truth.E + truth.A / N ** truth.alpha + truth.B / D ** truth.beta;
        runs.push({
          id: `n${sizeIndex}-d${budgetIndex}`,
          sizeIndex,
          budgetIndex,
          seed: 1,
          nonEmbeddingParams: N,
          params: N,
          tokens: D,
          flopsExact: 6 * N * D,
          flops6ND: 6 * N * D,
          valLoss: loss,
        } as RunResult);
      });
    });
    const [a1, a2, a3] = chinchillaApproaches(runs, 'nonEmbedding', { bootstrap: 20 });
    expect(a3.a).toBeCloseTo(0.5, 2);
    expect(Math.abs((a2.a as number) - 0.5)).toBeLessThan(0.05);
    expect(Math.abs((a1.a as number) - 0.5)).toBeLessThan(0.12);
    for (const x of [a1, a2, a3]) {
      expect(x.interval).not.toBeNull();
      expect(x.interval!.lo).toBeLessThanOrEqual((x.a as number) + 1e-9);
      expect(x.interval!.hi).toBeGreaterThanOrEqual((x.a as number) - 1e-9);
    }
    // A single token budget has no loss-vs-compute curves: approaches 1 and 2 say so.
    const one = chinchillaApproaches(
      runs.filter((r) => r.budgetIndex === 3),
      'nonEmbedding',
      { bootstrap: 0 },
    );
    expect(one[0].a).toBeNull();
    expect(one[1].a).toBeNull();
  });
});

describe('IsoFLOP runs in the plan', () => {
  const iso = specFromJSON({
    corpus: 'builtin-small',
    sizes: 7,
    minParams: 1760,
    maxParams: 90_000,
    headSize: 4,
    tokens: 150_000,
    isoFlops: { flops: [3e9, 1e10, 3e10, 1e11], minTokensPerParam: 5, maxTokensPerParam: 1500 },
  });
  const plan = planRuns(iso, { vocabSize: 26, trainChars: 900_000 });

  it('give each size D = C/(6N) at each level where D/N is in the window, after the ladder, each run once', () => {
    const ladderRuns = plan.filter((r) => r.budgetIndex === 0);
    expect(ladderRuns).toHaveLength(7);
    expect(plan.slice(0, 7)).toEqual(ladderRuns);
    const isoRuns = plan.filter((r) => r.budgetIndex > 0);
    for (const r of isoRuns) {
      const C = iso.isoFlops!.flops[r.budgetIndex - 1];
      expect(Math.abs(r.flops6ND / C - 1)).toBeLessThan(0.01); // D rounded to whole steps of 1024 tokens
      expect(r.tokens / r.nonEmbeddingParams).toBeGreaterThanOrEqual(5 * 0.99);
      expect(r.tokens / r.nonEmbeddingParams).toBeLessThanOrEqual(1500 * 1.01);
    }
    // Small sizes get budgets past the ladder's, large ones smaller: at 1e11, 3,792 trains 4.4M tokens and 48,132 346k.
    const at = (k: number) => isoRuns.filter((r) => r.budgetIndex === k + 1).map((r) => r.nonEmbeddingParams);
    expect(at(0)).toEqual([1760, 3792, 6592]);
    expect(at(3)).toEqual([3792, 6592, 14_496, 25_472, 48_132]);
    expect(new Set(plan.map((r) => r.id)).size).toBe(plan.length);
    expect(() => specFromJSON({ isoFlops: { flops: [1e10], minTokensPerParam: 10, maxTokensPerParam: 5 } })).toThrow(
      /isoFlops needs 0 < minTokensPerParam < maxTokensPerParam/,
    );
  });

  it("with losses from a known L(N, D), all three of Chinchilla's approaches give an exponent and their intervals overlap", () => {
    const truth = { E: 0.29, A: 40, B: 400, alpha: 0.5, beta: 0.5 }; // a = 0.5
    const runs = plan.map((p, i) => {
      const loss = (truth.E + truth.A / p.nonEmbeddingParams ** truth.alpha + truth.B / p.tokens ** truth.beta) * (1 + 0.002 * Math.sin(5 * i));
      return { ...p, flopsExact: p.flops6ND, valLoss: loss, trainLoss: loss } as RunResult;
    });
    const ap = chinchillaApproaches(runs, 'nonEmbedding', { bootstrap: 40 });
    for (const x of ap) {
      expect(x.a, `approach ${x.approach}: ${x.note}`).not.toBeNull();
      expect(x.interval).not.toBeNull();
    }
    const lo = Math.max(...ap.map((x) => x.interval!.lo)),
      hi = Math.min(...ap.map((x) => x.interval!.hi));
    expect(lo).toBeLessThanOrEqual(hi); // the three intervals share a point
    expect(Math.abs((ap[2].a as number) - 0.5)).toBeLessThan(0.1);
    // Read at the design's own levels (the runs trained at each C, as Chinchilla did): the same agreement.
    const [d1, d2] = chinchillaApproaches(runs, 'nonEmbedding', { bootstrap: 40, isoLevelsFrom: iso.budgets.length });
    expect(d1.points.length).toBeGreaterThanOrEqual(2);
    expect(d2.points.map((p) => Math.round(p.C))).toEqual(
      iso.isoFlops!.flops.slice(0, d2.points.length).map((C) => expect.closeTo(C, -8)) as unknown as number[],
    );
    expect(Math.abs((d2.a as number) - 0.5)).toBeLessThan(0.15);
    expect(d1.a).not.toBeNull();
  });
});
