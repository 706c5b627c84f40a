// The CLI in real subprocesses: a sweep killed after its first run resumes
// without redoing it; `tabgpt fit --json` reports every field of the fit;
// bad input is one line and exit code 2.

import { afterAll, describe, expect, it } from 'vitest';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const ROOT = resolve(__dirname, '..');
const BIN = join(ROOT, 'bin/tabgpt.js');
const dir = mkdtempSync(join(tmpdir(), 'tabgpt-sweep-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// 5 tiny sizes on the built-in corpus, 60 steps each: a few seconds per run.
const SWEEP = [
  'sweep',
  '--corpus',
  'builtin',
  '--sizes',
  '5',
  '--min-params',
  '1760',
  '--max-params',
  '38176',
  '--head-size',
  '8',
  '--width-per-layer',
  '8',
  '--block-size',
  '32',
  '--batch-size',
  '8',
  '--tokens',
  String(60 * 8 * 32),
  '--eval-iters',
  '4',
  '--json',
  '--lr-scale',
  '8',
  '--min-steps',
  '0',
]; // 60-step runs are far below the budget rule's calibration: a fixed Kaplan multiple pins the fixture's lr

interface Line {
  event: string;
  [k: string]: unknown;
}
const lines = (stdout: string): Line[] =>
  stdout
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Line);

function runCli(args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd: ROOT, encoding: 'utf8', timeout: 300_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('tabgpt sweep (subprocess)', () => {
  const out = join(dir, 'results.json');

  it('killed after its first run, resumes without redoing it', async () => {
    // Start, and SIGKILL the process as soon as its first run is reported (the file is written before the line).
    const child = spawn(process.execPath, [BIN, ...SWEEP, '--out', out], { cwd: ROOT });
    let buffer = '';
    const firstRun = await new Promise<Line>((resolveRun, reject) => {
      child.stdout.on('data', (chunk: Buffer) => {
        buffer += chunk.toString();
        const run = lines(buffer).find((l) => l.event === 'run');
        if (run) {
          child.kill('SIGKILL');
          resolveRun(run);
        }
      });
      child.on('exit', (code) => reject(new Error(`sweep exited (${code}) before its first run: ${buffer}`)));
    });
    await new Promise((r) => child.once('exit', r));
    const afterKill = JSON.parse(readFileSync(out, 'utf8'));
    expect(afterKill.runs).toHaveLength(1);
    expect(afterKill.runs[0].id).toBe(firstRun.id);
    expect(readFileSync(out, 'utf8')).not.toContain('.tmp-'); // no half-written file left behind
    const firstRecord = afterKill.runs[0];

    // Rerun with the same flags: it skips the finished run and does the other four.
    const second = runCli([...SWEEP, '--out', out]);
    expect(second.code).toBe(0);
    const events = lines(second.stdout);
    expect(events[0]).toMatchObject({ event: 'plan', runs: 5, skipped: [firstRun.id] });
    const ran = events.filter((e) => e.event === 'run').map((e) => e.id);
    expect(ran).toHaveLength(4);
    expect(ran).not.toContain(firstRun.id);
    expect(events[events.length - 1]).toMatchObject({ event: 'done', runsDone: 5, runsTotal: 5 });
    const final = JSON.parse(readFileSync(out, 'utf8'));
    expect(final.runs).toHaveLength(5);
    expect(final.runs[0]).toEqual(firstRecord); // untouched, not redone (same finishedAt, same curve)

    // A third call with only --out (no sweep flags) resumes from the file's own spec: nothing to do.
    const third = runCli(['sweep', '--out', out, '--json']);
    expect(third.code).toBe(0);
    expect(lines(third.stdout)[0]).toMatchObject({ event: 'plan', runs: 5 });
    expect((lines(third.stdout)[0].skipped as string[]).length).toBe(5);
  });

  it('fit --json reports E, Nc, alpha, 95% intervals, the held-out check and the points', () => {
    // A sweep of its own: the CLI's results on the ground-truth corpus, kept in the repository.
    const small = join(ROOT, 'data', 'scaling-builtin-small.json');
    const sizes = new Set((JSON.parse(readFileSync(small, 'utf8')) as { runs: { nonEmbeddingParams: number }[] }).runs.map((x) => x.nonEmbeddingParams)).size;
    const r = runCli(['fit', small, '--json', '--bootstrap', '30']);
    expect(r.code, r.stderr).toBe(0);
    const fit = JSON.parse(r.stdout) as Record<string, unknown>;
    expect(fit.params).toBe('nonEmbedding');
    for (const k of ['E', 'Nc', 'alpha', 'intervals', 'heldOut', 'points']) expect(fit).toHaveProperty(k);
    expect((fit.points as unknown[]).length).toBe(sizes); // one point per size
    const held = fit.heldOut as { params: number; predicted: number; measured: number; error: number } | null;
    if (held) {
      expect(held.error).toBeCloseTo((held.predicted - held.measured) / held.measured, 10);
      expect(held.params).toBe(Math.max(...(fit.points as { N: number }[]).map((p) => p.N)));
    } else {
      expect(fit.heldOutError).toMatch(/after holding out/); // four tiny points may not pin E
    }
    const total = JSON.parse(runCli(['fit', small, '--json', '--params', 'total', '--bootstrap', '0']).stdout);
    expect(total.params).toBe('total');
    expect(total.points[0].N).toBeGreaterThan((fit.points as { N: number }[])[0].N);
    const human = runCli(['fit', small, '--bootstrap', '0']);
    expect(human.stdout).toContain('N = non-embedding parameters');
  });

  it('refuses bad input with one line and exit code 2', () => {
    const cases: [string[], RegExp][] = [
      [['sweep', '--sizes', '3', '--out', join(dir, 'x.json')], /sizes must be at least 5/],
      [['sweep', '--tokens', '1000', '--tokens-per-param', '20', '--out', join(dir, 'x.json')], /not both/],
      [['sweep', '--min-params', '10000', '--max-params', '50000', '--out', join(dir, 'x.json')], /span at least 16x/],
      [['sweep', '--spec', join(dir, 'missing.json')], /no such file/],
      [['fit', join(dir, 'missing.json')], /no such file/],
      [['fit', '--params', 'some', out], /--params must be/],
      [[...SWEEP, '--sizes', '6', '--out', out], /holds a different sweep \(sizes differ\)/],
    ];
    for (const [args, want] of cases) {
      const r = runCli(args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(want);
    }
    expect(existsSync(join(dir, 'x.json'))).toBe(false);
  });
});
