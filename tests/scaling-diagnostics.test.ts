// When a fit means nothing: each diagnosis fires on a synthetic results file built to
// trigger it, stays silent on the committed protocol sweeps, and reaches `tabgpt fit`'s
// text, --json and --markdown.

import { afterAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { analyse } from '../src/core/scaling/analysis';
import { rankCorrelation, type CheckId } from '../src/core/scaling/diagnostics';
import { specFromJSON, type SweepSpec } from '../src/core/scaling/sweep';
import { planRuns, type RunResult } from '../src/core/scaling/sweep-plan';
import { emptyResults, parseResults, resultsToJSON, withRun, type SweepResults } from '../src/core/scaling/sweep-results';

const ROOT = resolve(__dirname, '..');
const BIN = join(ROOT, 'bin/tabgpt.js');
const dir = mkdtempSync(join(tmpdir(), 'tabgpt-diag-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const CORPUS = { source: 'synthetic', chars: 1_115_394, trainChars: 1_003_854, valChars: 111_540, vocabSize: 65, sha256: 'x' };

/** A results file whose main runs have the given losses per ladder size (seed 1 only), written and read back as `fit` reads it. */
function resultsFile(name: string, spec: SweepSpec, lossAt: (N: number, sizeIndex: number, seed: number) => number, keep = (_: number) => true): SweepResults {
  let results = emptyResults(spec, CORPUS);
  for (const p of planRuns(spec, CORPUS)) {
    if (!keep(p.sizeIndex)) continue;
    const loss = lossAt(p.nonEmbeddingParams, p.sizeIndex, p.seed);
    const run: RunResult = {
      ...p,
      trainLoss: loss,
      valLoss: loss,
      trainBpc: loss / Math.LN2,
      valBpc: loss / Math.LN2,
      valTokens: 51_200,
      curve: [{ step: p.config.maxIters, tokens: p.tokens, trainLoss: loss, valLoss: loss }],
      wallSec: 10,
      tokensPerSec: 20_000,
      backend: 'wasm',
      finishedAt: '2026-01-01T00:00:00.000Z',
    };
    results = withRun(results, run);
  }
  const path = join(dir, `${name}.json`);
  writeFileSync(path, resultsToJSON(results));
  return parseResults(readFileSync(path, 'utf8'), path);
}

const checks = (r: SweepResults, kind: 'nonEmbedding' | 'total' = 'nonEmbedding'): CheckId[] =>
  analyse(r, { paramKind: kind, bootstrap: 100 }).diagnosis.problems.map((p) => p.check);

// A sweep like one run at 150k tokens per run with Kaplan x 8 (5 sizes from 5k asked, head size 8): larger models worse.
const SHORT_SPEC = specFromJSON({ sizes: 5, minParams: 5000, maxParams: 120_000, tokens: 150_000 });
const SHORT_LOSSES = [2.661, 3.114, 2.57, 2.828, 2.904];
// A clean curve on the protocol's ladder, E = 1.9, with three seeds at the two smallest sizes.
const GOOD_SPEC = specFromJSON({ sizes: 7, minParams: 1760, maxParams: 90_000, headSize: 4, repeatSeeds: [2, 3], repeatSizes: [0, 1] });
const good = (N: number, i: number, seed: number) => (1.9 + Math.pow(3000 / N, 0.45)) * (1 + 0.004 * Math.sin(3 * i + seed));

describe('diagnostics on synthetic results files', () => {
  it('a clean curve passes every check', () => {
    // (A law in non-embedding N; in total N the same points are not one.)
    expect(checks(resultsFile('good', GOOD_SPEC, good))).toEqual([]);
  });

  it('a 150k-token sweep with larger models worse: loss not falling with N, α <= 0, intervals to the bounds, a held-out miss', () => {
    const r = resultsFile('short', SHORT_SPEC, (_N, i) => SHORT_LOSSES[i]);
    const a = analyse(r, { bootstrap: 100 });
    expect(a.fit?.alpha).toBeLessThan(0);
    const got = a.diagnosis.problems.map((p) => p.check);
    expect(got).toEqual(expect.arrayContaining(['not-falling', 'alpha', 'bounds', 'held-out']));
    expect(a.diagnosis.valid).toBe(false);
    // Each diagnosis is one line with a cause and a fix.
    for (const p of a.diagnosis.problems) {
      expect(p.message).not.toMatch(/\n/);
      expect(p.message).toMatch(/fix: /);
    }
    expect(a.diagnosis.problems.find((p) => p.check === 'not-falling')?.message).toMatch(/largest size \([\d,]+: 2\.9040\) is not better than the smallest/);
  });

  it('loss that wanders with N though the largest size is best: the rank correlation fires alone', () => {
    // Largest best, but the middle of the ladder is shuffled (rank correlation about -0.4).
    const losses = [2.4, 2.2, 2.45, 2.25, 2.42, 2.3, 2.1];
    const r = resultsFile('wander', specFromJSON({ sizes: 7, minParams: 1760, maxParams: 90_000, headSize: 4 }), (_N, i) => losses[i]);
    const a = analyse(r, { bootstrap: 100 });
    expect(a.diagnosis.problems.map((p) => p.check)).toContain('not-falling');
    expect(a.diagnosis.problems.find((p) => p.check === 'not-falling')?.message).toMatch(/rank correlation -0\.\d\d/);
  });

  it('a power law with no floor in reach: E interval runs to 0 (bounds)', () => {
    const r = resultsFile('nofloor', GOOD_SPEC, (N, i, seed) => 6 * Math.pow(N, -0.08) * (1 + 0.004 * Math.sin(3 * i + seed)));
    const a = analyse(r, { bootstrap: 100 });
    expect(a.diagnosis.problems.map((p) => p.check)).toEqual(['bounds']);
    expect(a.diagnosis.problems[0].message).toMatch(/E \[.*\] reaches 0/);
  });

  it('a largest size far off the curve of the others: the held-out miss, in seed standard deviations', () => {
    // Seed sd about 0.4% at the small sizes; the largest size 4% below the curve.
    const r = resultsFile('heldout', GOOD_SPEC, (N, i, seed) => good(N, i, seed) * (i === 6 ? 0.96 : 1));
    const a = analyse(r, { bootstrap: 100 });
    expect(a.heldOut?.sdSource).toBe('pooled');
    expect(a.diagnosis.problems.map((p) => p.check)).toContain('held-out');
    expect(a.diagnosis.problems.find((p) => p.check === 'held-out')?.message).toMatch(/seed sd 0\.0\d+; allowed 3/);
  });

  it('without seed repeats the held-out miss is judged against an assumed 1% seed sd', () => {
    const spec = specFromJSON({ sizes: 7, minParams: 1760, maxParams: 90_000, headSize: 4 });
    const r = resultsFile('heldout-noseeds', spec, (N, i) => good(N, i, 1) * (i === 6 ? 0.94 : 1));
    expect(analyse(r, { bootstrap: 100 }).diagnosis.problems.find((p) => p.check === 'held-out')?.message).toMatch(/assumed seed sd of 1\.0%/);
  });

  it('a sweep stopped after 4 of its sizes: too few sizes and too short a span (ladder)', () => {
    const r = resultsFile('partial', GOOD_SPEC, good, (i) => i < 4);
    const problems = analyse(r, { bootstrap: 100 }).diagnosis.problems;
    expect(problems.map((p) => p.check)).toContain('ladder');
    expect(problems.find((p) => p.check === 'ladder')?.message).toMatch(/4 sizes over a 8\.2x span/);
  });

  it('three sizes: no fit at all (no-fit)', () => {
    const r = resultsFile(
      'three',
      specFromJSON({ sizes: 7, minParams: 1760, maxParams: 90_000, headSize: 4 }),
      (N) => good(N, 0, 1),
      (i) => i < 3,
    );
    expect(checks(r)).toEqual(expect.arrayContaining(['ladder', 'no-fit']));
  });

  it("Spearman's rank correlation: ties get average ranks", () => {
    expect(rankCorrelation([1, 2, 3, 4], [4, 3, 2, 1])).toBeCloseTo(-1, 12);
    expect(rankCorrelation([1, 2, 3, 4], [1, 1, 2, 2])).toBeCloseTo(0.894427, 5);
  });
});

describe('the committed sweeps', () => {
  // The sweeps run to the lab's protocol (lr checked, 5+ sizes over 16x+): real scaling curves.
  const protocol = [
    'scaling-shakespeare.json',
    'scaling-shakespeare-lr4.json',
    'scaling-builtin-small.json',
    'scaling-builtin-small-1m.json',
    'scaling-builtin-small-isoflop.json',
    'scaling-builtin-small-chinchilla.json',
    'scaling-builtin-small-budgets.json',
  ];
  const load = (name: string) => parseResults(readFileSync(join(ROOT, 'data', name), 'utf8'), name);

  it.each(protocol)('%s: every check is silent on both parameter counts', (name) => {
    const r = load(name);
    expect(checks(r)).toEqual([]);
    expect(checks(r, 'total')).toEqual([]);
  });

  it('the one committed sweep that is not a scaling law is flagged, with the reasons', () => {
    // Tiny Shakespeare at the budget rule's lr, 1M tokens, one seed: the largest size (29,372) ends 0.007 below
    // 14,496, so the fit without it predicts it 4.3% too low (held-out); its lower budgets are lr-rule.test.ts'.
    expect(checks(load('scaling-shakespeare-budgets.json'))).toEqual(['held-out']);
  });
});

describe("the ground truth's Chinchilla sweep (subprocess: tabgpt fit --json)", () => {
  // The committed IsoFLOP sweep on builtin-small, whose entropy rate H is known: the goals the README's tables show.
  const r = spawnSync(process.execPath, [BIN, 'fit', join(ROOT, 'data/scaling-builtin-small-chinchilla.json'), '--json'], {
    cwd: ROOT,
    encoding: 'utf8',
    timeout: 120_000,
  });
  it('gives all three approaches an exponent with overlapping 95% intervals, and L(N, D) an E within 0.05 of H that covers H', () => {
    expect(r.status).toBe(0);
    const j = JSON.parse(r.stdout) as {
      valid: boolean;
      approaches: { approach: number; a: number | null; interval: { lo: number; hi: number } | null }[];
      joint: { E: number; intervals: { E: { lo: number; hi: number } } };
      groundTruth: { entropyPerChar: number };
    };
    expect(j.valid).toBe(true);
    expect(j.approaches.map((x) => x.approach)).toEqual([1, 2, 3]);
    for (const x of j.approaches) {
      expect(Number.isFinite(x.a)).toBe(true);
      expect(x.interval!.lo).toBeLessThanOrEqual(x.a!);
      expect(x.interval!.hi).toBeGreaterThanOrEqual(x.a!);
    }
    const lo = Math.max(...j.approaches.map((x) => x.interval!.lo));
    const hi = Math.min(...j.approaches.map((x) => x.interval!.hi));
    expect(lo).toBeLessThan(hi); // one common stretch (0.258 to 0.483 as committed)
    const H = j.groundTruth.entropyPerChar;
    expect(Math.abs(j.joint.E - H)).toBeLessThan(0.05);
    expect(j.joint.intervals.E.lo).toBeLessThanOrEqual(H);
    expect(j.joint.intervals.E.hi).toBeGreaterThanOrEqual(H);
  });
});

describe('tabgpt fit shows it (subprocess)', () => {
  const file = join(dir, 'short-cli.json');
  resultsFile('short-cli', SHORT_SPEC, (_N, i) => SHORT_LOSSES[i]);
  const fit = (...args: string[]) =>
    spawnSync(process.execPath, [BIN, 'fit', file, '--bootstrap', '20', ...args], { cwd: ROOT, encoding: 'utf8', timeout: 120_000 });

  it('--json carries valid: false and the problems; text and --markdown say "not a scaling law"', () => {
    const j = fit('--json');
    expect(j.status).toBe(0);
    const out = JSON.parse(j.stdout) as {
      valid: boolean;
      problems: { check: string; message: string }[];
      byParams: Record<string, { valid: boolean; problems: unknown[] }>;
    };
    expect(out.valid).toBe(false);
    expect(out.problems.map((p) => p.check)).toContain('not-falling');
    expect(out.byParams.total.valid).toBe(false);
    const text = fit();
    expect(text.stdout).toMatch(/NOT A SCALING LAW \(N = non-embedding\)/);
    expect(text.stdout).toMatch(/alpha +not a scaling law \(-/);
    const md = fit('--markdown');
    expect(md.stdout).toMatch(/\| α \| not a scaling law \| \(fit: -/);
    expect(md.stdout).toMatch(/\*\*Not a scaling law\*\* \(N = non-embedding\)/);
  });

  it('a valid fit says nothing of the kind', () => {
    const j = spawnSync(process.execPath, [BIN, 'fit', join(ROOT, 'data/scaling-shakespeare.json'), '--bootstrap', '20', '--json'], {
      cwd: ROOT,
      encoding: 'utf8',
      timeout: 120_000,
    });
    const out = JSON.parse(j.stdout) as { valid: boolean; problems: unknown[] };
    expect(out.valid).toBe(true);
    expect(out.problems).toEqual([]);
  });
});
