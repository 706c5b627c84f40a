// The sweep as data: spec validation, the ladder (span, fixed head size, >= 2
// layers), compute counts, the epochs warning, time estimates, the results file
// round trips (JSON and CSV), and the analysis on synthetic runs.

import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { paramCount, flopsPerToken } from '../src/core/counts';
import { ladder, ladderNote } from '../src/core/scaling/ladder';
import { budgetMultiplier } from '../src/core/scaling/lr-rule';
import { DEFAULT_SPEC, kaplanLr, specDiff, specFromJSON, SweepError, type SweepSpec } from '../src/core/scaling/sweep';
import { estimateSeconds, shrinkToBudget, type Calibration } from '../src/core/scaling/sweep-estimate';
import { epochWarning, planRuns, type RunResult } from '../src/core/scaling/sweep-plan';
import { analyse } from '../src/core/scaling/analysis';
import { computeFrontier, isoFlops } from '../src/core/scaling/isoflops';
import {
  emptyResults,
  parseResults,
  resultsFromCSV,
  resultsFromJSON,
  resultsToCSV,
  resultsToJSON,
  withRun,
  type CorpusInfo,
  type SweepResults,
} from '../src/core/scaling/sweep-results';
import { predictJoint } from '../src/core/scaling/fit';

const SHAKESPEARE_SHAPE = { vocabSize: 65, trainChars: 1_003_854 };
const CORPUS: CorpusInfo = { source: 'shakespeare', chars: 1_115_394, trainChars: 1_003_854, valChars: 111_540, vocabSize: 65, sha256: 'ab'.repeat(32) };

describe('sweep spec', () => {
  it('accepts the default and fills defaults from partial JSON', () => {
    expect(specFromJSON({})).toEqual(DEFAULT_SPEC); // the default is what an empty spec gives, and it passes validation
    const s = specFromJSON({ sizes: 6, tokensPerParam: 20 });
    expect(s.sizes).toBe(6);
    expect(s.tokens).toBeNull(); // giving tokensPerParam drops the default fixed tokens
    expect(s.tokensPerParam).toBe(20);
    expect(s.headSize).toBe(DEFAULT_SPEC.headSize);
  });

  it('refuses too few sizes, too short a span, unknown fields and both token rules, naming the fix', () => {
    expect(() => specFromJSON({ sizes: 4 })).toThrow(/sizes must be at least 5/);
    expect(() => specFromJSON({ minParams: 10_000, maxParams: 100_000 })).toThrow(/span at least 16x.*maxParams to 160000/);
    expect(() => specFromJSON({ sizez: 5 })).toThrow(/unknown field 'sizez'/);
    expect(() => specFromJSON({ tokens: 1000, tokensPerParam: 20 })).toThrow(/exactly one of tokens/);
    expect(() => specFromJSON({ lr: { kind: 'cosmic' } })).toThrow(/lr must be/);
    expect(() => specFromJSON([1, 2])).toThrow(SweepError);
    // The test-only override is explicit and lets a small ladder through.
    expect(ladder(specFromJSON({ sizes: 3, minParams: 1000, maxParams: 4000, testOnlySmallLadder: true }))).toHaveLength(3);
  });

  it('reports which fields differ between two specs', () => {
    expect(specDiff(DEFAULT_SPEC, { ...DEFAULT_SPEC })).toEqual([]);
    expect(specDiff(DEFAULT_SPEC, { ...DEFAULT_SPEC, sizes: 6, seeds: [2] }).sort()).toEqual(['seeds', 'sizes']);
  });
});

describe('ladder', () => {
  const specs: SweepSpec[] = [
    DEFAULT_SPEC,
    { ...DEFAULT_SPEC, sizes: 6, minParams: 12_000, maxParams: 320_000 },
    { ...DEFAULT_SPEC, sizes: 7, minParams: 50_000, maxParams: 5_000_000, headSize: 16, widthPerLayer: 24 },
  ];
  it.each(specs.map((s) => [`${s.sizes} sizes ${s.minParams}..${s.maxParams} hs ${s.headSize}`, s] as const))(
    '%s: span >= 16x, fixed head size, >= 2 layers, increasing',
    (_, spec) => {
      const rungs = ladder(spec);
      expect(rungs).toHaveLength(spec.sizes);
      expect(rungs[rungs.length - 1].nonEmbeddingParams / rungs[0].nonEmbeddingParams).toBeGreaterThanOrEqual(Math.max(16, spec.maxParams / spec.minParams));
      for (const [i, r] of rungs.entries()) {
        expect(r.nLayer).toBeGreaterThanOrEqual(2);
        expect(r.nEmbd).toBe(r.nHead * spec.headSize); // head size fixed
        // Rounding keeps each rung near its geometric target and near the wanted width per layer.
        expect(Math.abs(Math.log(r.nonEmbeddingParams / r.targetParams))).toBeLessThan(Math.log(1.6));
        expect(Math.abs(Math.log(r.nEmbd / r.nLayer / spec.widthPerLayer))).toBeLessThan(Math.log(2));
        // The ladder's count is the model's count.
        expect(r.nonEmbeddingParams).toBe(
          paramCount({ nLayer: r.nLayer, nHead: r.nHead, nEmbd: r.nEmbd, blockSize: spec.blockSize, vocabSize: 65, dropout: 0, bias: true }).nonEmbedding,
        );
        if (i > 0) expect(r.nonEmbeddingParams).toBeGreaterThan(rungs[i - 1].nonEmbeddingParams);
      }
    },
  );

  it('keeps the span asked for: 1,500..24,000 (16x) rounds outward to 1,760..29,372, not to 1,760..25,472 (14.5x), and says so', () => {
    const spec = { ...DEFAULT_SPEC, sizes: 5, minParams: 1500, maxParams: 24_000, headSize: 4 };
    const rungs = ladder(spec);
    expect(rungs.map((r) => r.nonEmbeddingParams)).toEqual([1760, 3792, 6592, 14_496, 29_372]);
    expect(ladderNote(spec, rungs)).toBe(
      'ladder: asked 1,500 to 24,000 non-embedding params (16.0x), rounded to real shapes 1,760 to 29,372 (16.7x): 1,760, 3,792, 6,592, 14,496, 29,372',
    );
    // A ladder whose nearest shapes already keep the span is left as it was (the committed sweeps' ladder).
    const kept = ladder({ ...spec, sizes: 7, minParams: 1760, maxParams: 90_000 });
    expect(kept.map((r) => r.nonEmbeddingParams)).toEqual([1760, 3792, 6592, 14_496, 25_472, 48_132, 95_304]);
  });

  it('refuses a range that rounds to too short a span', () => {
    // 16x asked, but with head size 64 the smallest 2-layer model is already far above 1000 params.
    expect(() => ladder({ ...DEFAULT_SPEC, minParams: 1000, maxParams: 16_000, headSize: 64 })).toThrow(/span.*under 16x|no model shape/);
  });
});

describe('planned runs', () => {
  const runs = planRuns({ ...DEFAULT_SPEC, budgets: [0.5, 1], repeatSeeds: [7], repeatSizes: [0, 2] }, SHAKESPEARE_SHAPE);

  it('plans sizes x budgets, then the repeat seeds, with unique ids', () => {
    expect(runs).toHaveLength(5 * 2 + 2 * 2);
    expect(new Set(runs.map((r) => r.id)).size).toBe(runs.length);
    expect(runs.slice(-4).every((r) => r.seed === 7)).toBe(true);
    expect(runs.slice(0, 10).map((r) => r.sizeIndex)).toEqual([0, 0, 1, 1, 2, 2, 3, 3, 4, 4]);
  });

  it('matches the schedule to each run: cosine over its own steps, warmup a fixed fraction, the budget lr rule', () => {
    for (const r of runs) {
      const c = r.config;
      expect(c.maxIters * c.batchSize * c.blockSize).toBe(r.tokens);
      expect(c.warmupIters).toBe(Math.round(DEFAULT_SPEC.warmupFraction * c.maxIters));
      // The default rule: Kaplan's lr(N) times the calibrated multiplier at this N and this run's tokens,
      // times sqrt of the batch ratio where the run's batch was halved to reach minSteps.
      const rule = DEFAULT_SPEC.lr;
      if (rule.kind !== 'budget') throw new Error('the default lr rule is the budget rule');
      const batchFactor = Math.sqrt(c.batchSize / DEFAULT_SPEC.batchSize);
      expect(c.maxIters).toBeGreaterThanOrEqual(DEFAULT_SPEC.minSteps!);
      expect(c.lr).toBeCloseTo(
        budgetMultiplier(rule, r.nonEmbeddingParams, r.tokens) * (0.003239 - 0.0001395 * Math.log(r.nonEmbeddingParams)) * batchFactor,
        12,
      );
      expect(c.minLr).toBeCloseTo(c.lr * DEFAULT_SPEC.minLrRatio, 12);
      expect(c.vocabSize).toBe(65);
    }
    // Half the budget is half the sequences (here on half the batch: the same steps, 1,953).
    expect(runs[0].config.maxIters * runs[0].config.batchSize * 2).toBeCloseTo(runs[1].config.maxIters * runs[1].config.batchSize, -2);
    expect([runs[0].config.batchSize, runs[1].config.batchSize]).toEqual([4, 8]);
    expect(kaplanLr(1e5)).toBeCloseTo(0.003239 - 0.0001395 * Math.log(1e5), 12);
  });

  it('counts compute both as 6ND and exactly (LM head and attention included, and larger)', () => {
    for (const r of runs) {
      expect(r.flops6ND).toBe(6 * r.nonEmbeddingParams * r.tokens);
      expect(r.flopsExact).toBe(flopsPerToken(r.config) * r.tokens);
      const c = r.config;
      const extra = 6 * c.vocabSize * c.nEmbd + 12 * c.nLayer * c.blockSize * c.nEmbd;
      expect(r.flopsExact - r.flops6ND).toBe(extra * r.tokens);
    }
    // For these tiny models the correction is far from negligible.
    expect(runs[0].flopsExact / runs[0].flops6ND).toBeGreaterThan(1.3);
  });

  it('warns past ~4 epochs over the training text', () => {
    expect(runs.every((r) => !r.dataLimited && epochWarning(r) === null)).toBe(true);
    const long = planRuns({ ...DEFAULT_SPEC, tokens: 5_000_000 }, SHAKESPEARE_SHAPE);
    expect(long[0].epochs).toBeCloseTo(5_000_000 / 1_003_854, 2);
    expect(long[0].dataLimited).toBe(true);
    expect(epochWarning(long[0])).toMatch(/repeats the training text 5\.0 times.*data-limited/);
    const perParam = planRuns({ ...DEFAULT_SPEC, tokens: null, tokensPerParam: 20 }, SHAKESPEARE_SHAPE);
    expect(perParam.map((r) => r.dataLimited)).toEqual(perParam.map((r) => ((20 * r.nonEmbeddingParams) / 1_003_854 > 4.001 ? true : r.dataLimited)));
    expect(perParam[4].tokens).toBeGreaterThan(perParam[0].tokens * 16);
  });
});

describe('time estimate', () => {
  // A made-up device: overhead-bound for tiny models, FLOP-bound for big ones.
  const cal: Calibration = {
    backend: 'test',
    points: [
      { sizeIndex: 0, nonEmbeddingParams: 14_000, flopsPerToken: 1.3e5, tokensPerSec: 30_000 },
      { sizeIndex: 4, nonEmbeddingParams: 250_000, flopsPerToken: 1.8e6, tokensPerSec: 3_000 },
    ],
  };
  it('sums runs and shrinks the ladder, then the tokens, to fit a budget', () => {
    const spec = { ...DEFAULT_SPEC, maxParams: 500_000 }; // 40x: room to lower the top rung
    const runs = planRuns(spec, SHAKESPEARE_SHAPE);
    const full = estimateSeconds(runs, cal);
    expect(full).toBeGreaterThan(runs.reduce((s, r) => s + r.tokens, 0) / 30_000);
    // A budget that a smaller top rung meets: only maxParams changes.
    const budget = estimateSeconds(planRuns({ ...spec, maxParams: 300_000 }, SHAKESPEARE_SHAPE), cal) * 1.01;
    expect(budget).toBeLessThan(full);
    const mild = shrinkToBudget(spec, SHAKESPEARE_SHAPE, cal, budget);
    expect(mild.seconds).toBeLessThanOrEqual(budget);
    expect(mild.spec.maxParams).toBeLessThan(spec.maxParams);
    expect(mild.spec.tokens).toBe(spec.tokens);
    const hard = shrinkToBudget(spec, SHAKESPEARE_SHAPE, cal, full * 0.1);
    expect(hard.seconds).toBeLessThanOrEqual(full * 0.1);
    expect(hard.spec.maxParams / hard.spec.minParams).toBeGreaterThanOrEqual(16);
    // Still a valid ladder: every size planned, smallest first.
    const sizes = [...new Set(planRuns(hard.spec, SHAKESPEARE_SHAPE).map((r) => r.nonEmbeddingParams))];
    expect(sizes).toHaveLength(hard.spec.sizes);
    expect(sizes).toEqual([...sizes].sort((a, b) => a - b));
    expect(hard.spec.tokens as number).toBeLessThan(spec.tokens as number);
    expect(hard.changes.join(' ')).toMatch(/maxParams.*tokens per run/);
  });
});

// ---------------------------------------------------------------------------------------

/** Synthetic finished runs whose loss follows a known law, with deterministic jitter. */
function syntheticResults(spec: SweepSpec, law: (N: number, D: number) => number): SweepResults {
  let results = emptyResults(spec, CORPUS);
  planRuns(spec, SHAKESPEARE_SHAPE).forEach((p, i) => {
    const loss = law(p.nonEmbeddingParams, p.tokens) * (1 + 0.002 * Math.sin(7 * i + p.seed));
    const run: RunResult = {
      ...p,
      trainLoss: loss * 0.98,
      valLoss: loss,
      trainBpc: (loss * 0.98) / Math.LN2,
      valBpc: loss / Math.LN2,
      valTokens: 51_200,
      curve: [1, 2, 3, 4].map((k) => ({
        step: (k * p.config.maxIters) / 4,
        tokens: (k * p.tokens) / 4,
        trainLoss: loss + 1 / k,
        ...(k === 4 ? { valLoss: loss } : {}),
      })),
      wallSec: 12.5,
      tokensPerSec: 25_000,
      backend: 'wasm',
      finishedAt: `2025-01-0${1 + (i % 9)}T00:00:00.000Z`,
    };
    results = withRun(results, run);
  });
  return results;
}

describe('results file', () => {
  const results = syntheticResults({ ...DEFAULT_SPEC, repeatSeeds: [2], repeatSizes: [0, 2] }, (N) => 1.2 + Math.pow(3e3 / N, 0.4));
  results.calibration = { backend: 'wasm', points: [{ sizeIndex: 0, nonEmbeddingParams: 14_496, flopsPerToken: 133_200, tokensPerSec: 31_234.5 }] };

  it('round-trips through JSON exactly', () => {
    const back = resultsFromJSON(resultsToJSON(results));
    expect(back).toEqual(results);
  });

  it('round-trips through CSV exactly, including the curve and the spec', () => {
    const csv = resultsToCSV(results);
    expect(csv.split('\n')[0]).toBe('# tabgpt-sweep-results 1');
    expect(csv).toContain('config.nLayer');
    const back = resultsFromCSV(csv);
    expect(back).toEqual(results);
    expect(parseResults(csv)).toEqual(results); // detected as CSV by content
    expect(parseResults(resultsToJSON(results))).toEqual(results);
    // a word-valued config cell survives, and a file written before the step column reads as the default
    const eager = { ...results, runs: results.runs.map((r) => ({ ...r, config: { ...r.config, step: 'eager' as const } })) };
    expect(resultsFromCSV(resultsToCSV(eager))).toEqual(eager);
    // a committed sweep, written before the step, gelu, gradAccumSteps and recompute fields: the same runs back
    const committed = parseResults(readFileSync('data/scaling-builtin-small.json', 'utf8'), 'scaling-builtin-small.json');
    expect(resultsFromCSV(resultsToCSV(committed))).toEqual(committed);
    const rows = csv.trimEnd().split('\n');
    const header = rows.findIndex((l) => l.startsWith('id,'));
    const col = rows[header].split(',').indexOf('config.step');
    expect(col).toBeGreaterThan(0);
    // no cell up to the step column holds a comma (the curve, which does, comes after), so dropping it by position is exact
    const old = rows
      .map((l, i) =>
        i < header
          ? l
          : l
              .split(',')
              .filter((_, j) => j !== col)
              .join(','),
      )
      .join('\n');
    expect(resultsFromCSV(old)).toEqual(results);
  });

  it('refuses files that are not results, with one clear line', () => {
    expect(() => resultsFromJSON('{"format":"other"}', 'x.json')).toThrow(/x.json: not a sweep results file/);
    expect(() => resultsFromJSON('not json', 'x.json')).toThrow(/x.json is not valid JSON/);
    expect(() => resultsFromCSV('a,b\n1,2\n', 'x.csv')).toThrow(/not a sweep results CSV/);
    const broken = JSON.parse(resultsToJSON(results));
    broken.runs[1].valLoss = 'low';
    expect(() => resultsFromJSON(JSON.stringify(broken), 'y.json')).toThrow(/valLoss must be a number/);
  });
});

describe('analysis', () => {
  it('recovers E, Nc, alpha of a known L(N), predicts the held-out size, measures seed noise', () => {
    const truth = { E: 1.2, Nc: 3e3, alpha: 0.4 };
    const results = syntheticResults(
      { ...DEFAULT_SPEC, sizes: 6, minParams: 12_000, maxParams: 320_000, repeatSeeds: [2], repeatSizes: [0, 2] },
      (N) => truth.E + Math.pow(truth.Nc / N, truth.alpha),
    );
    const bandN = [1e4, 3e4, 1e5, 3e5];
    const a = analyse(results, { bootstrap: 50, bandN });
    expect(a.paramKind).toBe('nonEmbedding');
    // The 95% band of the curve brackets the true law at every N (noise is 0.2%).
    expect(a.band!.N).toEqual(bandN);
    bandN.forEach((N, i) => {
      const truthAt = truth.E + Math.pow(truth.Nc / N, truth.alpha);
      expect(a.band!.lo[i]).toBeLessThanOrEqual(truthAt * 1.002);
      expect(a.band!.hi[i]).toBeGreaterThanOrEqual(truthAt * 0.998);
      expect(a.band!.hi[i] - a.band!.lo[i]).toBeLessThan(0.05 * truthAt);
    });
    expect(a.points).toHaveLength(8);
    expect(a.fit).not.toBeNull();
    expect(a.fit!.E).toBeCloseTo(truth.E, 1);
    expect(a.fit!.alpha).toBeGreaterThan(0.3);
    expect(a.fit!.alpha).toBeLessThan(0.5);
    expect(a.heldOut!.params).toBe(Math.max(...a.points.map((p) => p.N)));
    expect(Math.abs(a.heldOut!.error)).toBeLessThan(0.01);
    expect(a.seedNoise).toHaveLength(2);
    expect(a.seedNoise[0].runs).toBe(2);
    expect(a.points.every((p) => p.residual !== undefined && Math.abs(p.residual) < 0.01)).toBe(true);
    // The other parameter count gives larger N and a different fit, and says so.
    const t = analyse(results, { paramKind: 'total', bootstrap: 0 });
    expect(t.paramKind).toBe('total');
    expect(t.points[0].N).toBeGreaterThan(a.points[0].N);
  });

  it('says why it cannot fit too few runs instead of throwing', () => {
    const small = syntheticResults(
      { ...DEFAULT_SPEC, sizes: 3, minParams: 2_000, maxParams: 8_000, testOnlySmallLadder: true },
      (N) => 2 + Math.pow(1e3 / N, 0.5),
    );
    const a = analyse(small, { bootstrap: 0 });
    expect(a.fit).toBeNull();
    expect(a.fitError).toMatch(/needs at least 4 runs/);
    expect(a.power).not.toBeNull(); // two parameters fit three points
    expect(a.heldOut).toBeNull();
    expect(a.heldOutError).toMatch(/after holding out/);
  });

  it('fits L(N, D) and IsoFLOP curves when there are several token budgets per size', () => {
    const truth = { E: 1.3, A: 60, B: 900, alpha: 0.45, beta: 0.4 };
    const results = syntheticResults({ ...DEFAULT_SPEC, sizes: 5, budgets: [0.25, 0.5, 1, 2] }, (N, D) => predictJoint(truth, N, D));
    const a = analyse(results, { bootstrap: 0 });
    expect(a.joint).not.toBeNull();
    expect(a.joint!.E).toBeGreaterThan(1.1);
    expect(a.joint!.E).toBeLessThan(1.5);
    expect(a.points).toHaveLength(5); // L(N) uses the largest budget per size
    const iso = isoFlops(results.runs);
    expect(iso.curves.length).toBeGreaterThan(0);
    for (const c of iso.curves) for (const p of c.points) expect(p.loss).toBeGreaterThan(truth.E);
  });

  it('computes a monotone loss-vs-compute frontier over all runs', () => {
    const results = syntheticResults(DEFAULT_SPEC, (N) => 1.2 + Math.pow(3e3 / N, 0.4));
    const f = computeFrontier(results.runs);
    expect(f.length).toBeGreaterThan(1);
    for (let i = 1; i < f.length; i++) {
      expect(f[i].flops).toBeGreaterThanOrEqual(f[i - 1].flops);
      expect(f[i].loss).toBeLessThan(f[i - 1].loss);
    }
  });
});
