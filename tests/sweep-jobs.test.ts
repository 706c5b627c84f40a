// Parallel and sharded sweeps in real subprocesses, on a tiny ladder with an lr scan:
// `--jobs 2` (with one of its jobs killed -9 mid-sweep), `--shard 0/2` + `--shard 1/2`
// + `sweep merge`, and one in-process sweep give the same runs with bit-identical
// losses; merge refuses files of different sweeps; a parent killed -9 leaves no job
// training for nobody.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const ROOT = resolve(__dirname, '..');
const BIN = join(ROOT, 'bin/tabgpt.js');
const dir = mkdtempSync(join(tmpdir(), 'tabgpt-jobs-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// 2 tiny sizes x 20 steps, plus an lr scan (x1, x2) at both ends: 6 runs of about a second each.
const SPEC = join(dir, 'spec.json');
writeFileSync(
  SPEC,
  JSON.stringify({
    corpus: 'builtin',
    sizes: 2,
    minParams: 1_500,
    maxParams: 10_000,
    headSize: 8,
    widthPerLayer: 8,
    blockSize: 32,
    batchSize: 8,
    tokens: 20 * 8 * 32,
    evalIters: 2,
    evalsPerRun: 2,
    repeatSizes: [],
    testOnlySmallLadder: true,
    minSteps: 0, // 20 steps of 8 as given
    lrScan: { multipliers: [1, 2], sizes: 'ends', tokenFraction: 0.5 },
  }),
);

function cli(args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd: ROOT, encoding: 'utf8', timeout: 550_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

interface Run {
  id: string;
  valLoss: number;
  lrMultiplier?: number;
  config: { lr: number };
}
interface Results {
  runs: Run[];
  lrScan?: Run[];
}
const read = (path: string): Results => JSON.parse(readFileSync(path, 'utf8')) as Results;
/** id -> val loss over main and lr-scan runs, and which list each id is in. */
const losses = (r: Results) => Object.fromEntries([...r.runs.map((x) => [x.id, x.valLoss]), ...(r.lrScan ?? []).map((x) => [`scan:${x.id}`, x.valLoss])]);
const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};
const childrenOf = (pid: number) =>
  spawnSync('pgrep', ['-P', String(pid)], { encoding: 'utf8' })
    .stdout.split('\n')
    .filter(Boolean)
    .map(Number);

// Subprocesses each load tfjs: generous limits for a loaded machine (a few seconds each on an idle one).
const LIMIT = 600_000;

describe('tabgpt sweep --jobs / --shard / merge (subprocess)', () => {
  // The reference every other test compares with: one in-process sweep, run once for the describe.
  const one = join(dir, 'one.json');
  let ref: ReturnType<typeof cli>;
  beforeAll(() => {
    ref = cli(['sweep', '--spec', SPEC, '--jobs', '1', '--out', one, '--json']);
    if (ref.code !== 0) throw new Error(`the reference sweep failed: ${ref.stderr}`);
  }, LIMIT);

  it('one process: 2 main runs and 4 lr-scan runs, kept apart', () => {
    expect(ref.code, ref.stderr).toBe(0);
    const res = read(one);
    expect(res.runs).toHaveLength(2);
    expect(res.lrScan).toHaveLength(4);
    expect(res.runs.every((x) => x.lrMultiplier === undefined)).toBe(true);
    // The scan's lrs are the rule's lr at that size times each multiplier.
    const base = res.lrScan?.find((x) => x.lrMultiplier === 1 && x.id.startsWith(res.runs[0].id.split('-D')[0]));
    const twice = res.lrScan?.find((x) => x.lrMultiplier === 2 && x.id.startsWith(res.runs[0].id.split('-D')[0]));
    expect(twice?.config.lr).toBeCloseTo(2 * (base?.config.lr ?? NaN), 12);
  });

  it('--jobs 2 with one job killed -9 mid-sweep gives the same runs, bit for bit', { timeout: LIMIT }, async () => {
    const out = join(dir, 'two.json');
    const parent = spawn(process.execPath, [BIN, 'sweep', '--spec', SPEC, '--jobs', '2', '--out', out], { cwd: ROOT });
    let stderr = '';
    parent.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    let stdout = '';
    const exited = new Promise<number | null>((r) => parent.on('exit', (code) => r(code)));
    // Once a job has started a run, kill that job's process with SIGKILL.
    await new Promise<void>((r) =>
      parent.stdout.on('data', (c: Buffer) => {
        stdout += c.toString();
        if (/\[job 1\] /.test(stdout)) r();
      }),
    );
    const jobs = childrenOf(parent.pid as number).filter((pid) => readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('--job-worker'));
    expect(jobs.length).toBeGreaterThan(0);
    process.kill(jobs[0], 'SIGKILL');
    expect(await exited, stderr).toBe(0);
    expect(losses(read(out))).toEqual(losses(read(one)));
  });

  it('--shard 0/2 + --shard 1/2 + merge gives the same runs; merge refuses another sweep', { timeout: LIMIT }, () => {
    const [s0, s1, all] = ['s0.json', 's1.json', 'all.json'].map((f) => join(dir, f));
    for (const [i, out] of [
      [0, s0],
      [1, s1],
    ] as const)
      expect(cli(['sweep', '--spec', SPEC, '--jobs', '1', '--shard', `${i}/2`, '--out', out]).code).toBe(0);
    const a = read(s0),
      b = read(s1);
    const ids = (r: Results) => Object.keys(losses(r));
    expect(ids(a).length).toBeGreaterThan(0);
    expect(ids(b).length).toBeGreaterThan(0);
    expect(ids(a).filter((id) => ids(b).includes(id))).toEqual([]); // disjoint shares
    const m = cli(['sweep', 'merge', s0, s1, '--out', all]);
    expect(m.code, m.stderr).toBe(0);
    expect(losses(read(all))).toEqual(losses(read(one)));

    // A file of another sweep (another seed) is refused, in one line, and nothing is written.
    const other = join(dir, 'other.json');
    const shard1 = JSON.parse(readFileSync(s1, 'utf8'));
    writeFileSync(other, JSON.stringify({ ...shard1, spec: { ...shard1.spec, seeds: [7] } }));
    const bad = cli(['sweep', 'merge', s0, other, '--out', join(dir, 'bad.json')]);
    expect(bad.code).toBe(2);
    expect(bad.stderr.trim().split('\n')).toHaveLength(1);
    expect(bad.stderr).toMatch(/holds a different sweep .*seeds.* differ/);
    expect(existsSync(join(dir, 'bad.json'))).toBe(false);
    // An existing --out that is not an input would lose its runs: refused.
    expect(cli(['sweep', 'merge', s0, s1, '--out', other]).stderr).toMatch(/exists and is not among the inputs/);
  });

  it('a parent killed -9 leaves no job behind, and the rerun completes the sweep', { timeout: LIMIT }, async () => {
    const out = join(dir, 'resumed.json');
    const parent = spawn(process.execPath, [BIN, 'sweep', '--spec', SPEC, '--jobs', '2', '--out', out, '--json'], { cwd: ROOT });
    let stdout = '';
    await new Promise<void>((r) =>
      parent.stdout.on('data', (c: Buffer) => {
        stdout += c.toString();
        if (stdout.includes('"event":"run"')) r();
      }),
    );
    const jobs = childrenOf(parent.pid as number).filter(
      (pid) => existsSync(`/proc/${pid}`) && readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('--job-worker'),
    );
    parent.kill('SIGKILL');
    await new Promise((r) => parent.once('exit', r));
    // Each job sees its IPC channel close and exits. They are not this process's children (no 'exit'
    // event to await): poll their state, bounded at 10 s.
    for (let i = 0; i < 100 && jobs.some(alive); i++) await new Promise((r) => setTimeout(r, 100));
    expect(jobs.filter(alive)).toEqual([]);
    const saved = read(out);
    expect(saved.runs.length + (saved.lrScan?.length ?? 0)).toBeGreaterThan(0);
    const r = cli(['sweep', '--out', out, '--jobs', '2']);
    expect(r.code, r.stderr).toBe(0);
    expect(losses(read(out))).toEqual(losses(read(one)));
  });
});
