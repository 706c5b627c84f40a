// Ctrl-C and kill in real subprocesses: `train` finishes its step, saves, prints
// the exact --resume command (which then works) and exits 130 / 143; a second
// Ctrl-C ends it at once and the last good checkpoint is untouched; a sweep
// keeps its finished runs and says how to resume. Plus a hostile checkpoint
// given to the CLI: one line naming the field, not an internal error.

import { afterAll, describe, expect, it } from 'vitest';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { saveTrainer } from '../src/core/checkpoint';
import { makeConfig } from '../src/core/config';
import { Dataset } from '../src/core/data';
import { newTrainer } from '../src/core/train';

const ROOT = resolve(__dirname, '..');
const BIN = join(ROOT, 'bin/tabgpt.js');
const dir = mkdtempSync(join(tmpdir(), 'tabgpt-int-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface Done {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  ms: number;
}

/**
 * Start the CLI; each time stdout or stderr matches the next `[pattern, action]`,
 * run the action (send a signal). Resolves when the process exits.
 */
function drive(args: string[], script: [RegExp, (p: ReturnType<typeof spawn>) => void][], env: Record<string, string> = {}): Promise<Done> {
  const child = spawn(process.execPath, [BIN, ...args], { cwd: ROOT, env: { ...process.env, TABGPT_DEBUG: '', ...env } });
  let stdout = '';
  let stderr = '';
  let lastAction = 0;
  const check = () => {
    while (script.length > 0 && script[0][0].test(stdout + stderr)) {
      script.shift()![1](child);
      lastAction = Date.now();
    }
  };
  child.stdout!.on('data', (c: Buffer) => ((stdout += c.toString()), check()));
  child.stderr!.on('data', (c: Buffer) => ((stderr += c.toString()), check()));
  const timer = setTimeout(() => child.kill('SIGKILL'), 150_000); // a hang's backstop, not a wait
  return new Promise((res) =>
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      res({ code, signal, stdout, stderr, ms: Date.now() - lastAction });
    }),
  );
}

function meta(path: string): Record<string, string> {
  const b = readFileSync(path);
  const len = Number(b.readBigUInt64LE(0));
  return JSON.parse(b.subarray(8, 8 + len).toString('utf8')).__metadata__;
}

const TRAIN = ['train', '--corpus', 'builtin', '--preset', 'nano', '--max-iters', '100000', '--warmup-iters', '5', '--log-interval', '5'];

describe('interrupting tabgpt train', () => {
  it('SIGINT: finishes the step, saves, prints the exact --resume command (which works) and exits 130', async () => {
    const out = join(dir, 'my run.safetensors'); // a space: the printed command must quote it
    const r = await drive([...TRAIN, '--eval-interval', '100000', '--out', out], [[/step +30\//, (p) => p.kill('SIGINT')]]);
    expect(r.code, r.stderr).toBe(130);
    const m = /interrupted \(SIGINT\) at step (\d+)\/100000: val loss [\d.]+; saved /.exec(r.stdout);
    expect(m, r.stdout).not.toBeNull();
    const step = Number(m![1]);
    expect(step).toBeGreaterThanOrEqual(30);
    expect(meta(out).step).toBe(String(step)); // no evaluation ran before: this save is the interrupt's
    expect(readdirSync(dir).filter((f) => f.includes('.tmp'))).toEqual([]);
    expect(r.stderr).toMatch(/^tabgpt: SIGINT: stopping after the step in progress/);

    const cmd = /resume with: npm run train -- (.*)$/m.exec(r.stdout)![1];
    expect(cmd).toBe(`--resume '${out}' --out '${out}'`);
    // The printed arguments, as a shell would split them, continue the run from that step.
    const args = [...cmd.matchAll(/'([^']*)'|(\S+)/g)].map((x) => x[1] ?? x[2]);
    const resumed = spawnSync(process.execPath, [BIN, 'train', ...args, '--max-iters', String(step + 5), '--json'], {
      cwd: ROOT,
      encoding: 'utf8',
      timeout: 120_000,
    });
    expect(resumed.status, resumed.stderr).toBe(0);
    const done = resumed.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l))
      .find((l) => l.event === 'done');
    expect(done.steps).toBe(step + 5);
    expect(meta(out).step).toBe(String(step + 5));
  }, 180_000);

  it('SIGTERM: the same, exit 143, with an "interrupted" JSON line under --json', async () => {
    const out = join(dir, 'term.safetensors');
    const r = await drive([...TRAIN, '--eval-interval', '20', '--json', '--out', out], [[/"event":"eval"/, (p) => p.kill('SIGTERM')]]);
    expect(r.code, r.stderr).toBe(143);
    const last = JSON.parse(r.stdout.trim().split('\n').pop()!);
    expect(last).toMatchObject({ event: 'interrupted', signal: 'SIGTERM', checkpoint: out, resume: `npm run train -- --resume ${out} --out ${out}` });
    expect(last.step).toBeGreaterThanOrEqual(20);
    expect(meta(out).step).toBe(String(last.step));
  }, 180_000);

  it('a second Ctrl-C quits at once, without saving: the last good checkpoint stays as it was', async () => {
    const out = join(dir, 'twice.safetensors');
    // TABGPT_HOLD_EVAL (cli/train.ts) holds the evaluation that follows the first Ctrl-C and says so:
    // the second Ctrl-C lands inside it, whatever the machine's load.
    const r = await drive(
      [...TRAIN, '--eval-interval', '10', '--eval-iters', '4', '--out', out],
      [
        [/eval step 10: .* saved /, (p) => p.kill('SIGINT')],
        [/evaluating \(held by TABGPT_HOLD_EVAL/, (p) => p.kill('SIGINT')],
      ],
      { TABGPT_HOLD_EVAL: '1' },
    );
    expect(r.stderr).toMatch(/SIGINT: stopping after the step in progress/); // the first one was caught...
    expect(r.signal, `${r.code} ${r.stdout.slice(-300)} ${r.stderr}`).toBe('SIGINT'); // ...the second got the default action: killed
    expect(r.stdout).not.toMatch(/interrupted/);
    expect(meta(out).step).toBe('10');
    expect(readdirSync(dir).filter((f) => f.startsWith('twice.safetensors.tmp'))).toEqual([]); // killed before it began to write
    const sample = spawnSync(process.execPath, [BIN, 'sample', '--ckpt', out, '--max-new-tokens', '5', '--json'], { cwd: ROOT, encoding: 'utf8' });
    expect(sample.status, sample.stderr).toBe(0); // still a whole, valid checkpoint
  }, 180_000);
});

describe('interrupting tabgpt sweep', () => {
  it('keeps every finished run, says how to resume, exits 130; the printed command resumes', async () => {
    const out = join(dir, 'results.json');
    const SWEEP = [
      'sweep',
      '--corpus',
      'builtin',
      '--sizes',
      '5',
      '--min-params',
      '1500',
      '--max-params',
      '40000',
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
      '--min-steps',
      '0',
    ];
    const r = await drive([...SWEEP, '--out', out], [[/done: .*val .* saved /, (p) => p.kill('SIGINT')]]);
    expect(r.code, r.stderr).toBe(130);
    const m = /interrupted \(SIGINT\): (\d+)\/5 runs finished and kept in .*; resume with: npm run sweep -- (.*)$/m.exec(r.stdout);
    expect(m, r.stdout).not.toBeNull();
    const kept = JSON.parse(readFileSync(out, 'utf8')).runs as { id: string }[];
    expect(kept.length).toBe(Number(m![1]));
    expect(kept.length).toBeGreaterThanOrEqual(1);
    expect(m![2]).toBe(`--out ${out}`);
    // The printed command picks the sweep up: its plan skips the kept runs (then it is stopped again).
    const again = await drive(['sweep', '--out', out, '--json'], [[/"event":"plan"/, (p) => p.kill('SIGKILL')]]);
    const plan = JSON.parse(again.stdout.split('\n').find((l) => l.includes('"event":"plan"'))!);
    expect([...plan.skipped].sort()).toEqual(kept.map((k) => k.id).sort()); // --jobs keeps runs in the order they finish
  }, 180_000);
});

describe('a hostile checkpoint given to the CLI', () => {
  it('one line naming the field (config.nLayer), no internal error', async () => {
    // A good 2-layer checkpoint of its own (built here, in-process), then its header edited to lie.
    await tf.setBackend('cpu');
    const t = newTrainer(
      makeConfig({ nLayer: 2, nHead: 2, nEmbd: 16, blockSize: 16, batchSize: 2, maxIters: 1 }),
      new Dataset('to be or not to be, that is the question. '.repeat(20)),
    );
    const good = Buffer.from(await saveTrainer(t, t.data.tokenizer));
    t.model.dispose();
    t.dispose();
    const len = Number(good.readBigUInt64LE(0));
    const header = JSON.parse(good.subarray(8, 8 + len).toString('utf8'));
    header.__metadata__.config = JSON.stringify({ ...JSON.parse(header.__metadata__.config), nLayer: 100_000 });
    const h = Buffer.from(JSON.stringify(header));
    const bad = Buffer.alloc(8 + h.length + good.length - 8 - len);
    bad.writeBigUInt64LE(BigInt(h.length), 0);
    h.copy(bad, 8);
    good.subarray(8 + len).copy(bad, 8 + h.length);
    const path = join(dir, 'evil.safetensors');
    writeFileSync(path, bad);
    for (const args of [
      ['sample', '--ckpt', path],
      ['train', '--resume', path],
    ]) {
      const r = spawnSync(process.execPath, [BIN, ...args], { cwd: ROOT, encoding: 'utf8', env: { ...process.env, TABGPT_DEBUG: '' } });
      expect(r.status).toBe(1);
      expect(r.stderr.trim().split('\n'), r.stderr).toHaveLength(1);
      expect(r.stderr).toMatch(
        /^tabgpt: error: .*evil\.safetensors is not a valid tabgpt checkpoint: config\.nLayer is 100000: it must be an integer from 1 to 1024 \(the file has tensors for 2 layers\)/,
      );
    }
  });
});
