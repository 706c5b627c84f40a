// The CLI end to end, in subprocesses (`node bin/tabgpt.js ...`): JSON lines
// from train, reproducible samples, resume, divergence keeping the last good
// checkpoint, and one-line errors (no stack trace) for every bad input.

import { mayHaveGpu } from '../src/cli/auto-backend.ts';
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync, copyFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const ROOT = join(import.meta.dirname, '..');
const BIN = join(ROOT, 'bin', 'tabgpt.js');
let dir: string;

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function tabgpt(...args: string[]): Promise<Run> {
  const env = { ...process.env };
  delete env.TABGPT_DEBUG;
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { cwd: ROOT, env, timeout: 90_000, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

const jsonLines = (out: string) =>
  out
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>);

/** A user mistake: non-zero exit, exactly one stderr line 'tabgpt: error: ...', no stack frames. */
function expectOneLineError(r: Run, message: RegExp) {
  expect(r.code, r.stderr).not.toBe(0);
  const lines = r.stderr.trimEnd().split('\n');
  expect(lines, r.stderr).toHaveLength(1);
  expect(lines[0]).toMatch(/^tabgpt: error: /);
  expect(lines[0]).toMatch(message);
  expect(r.stderr).not.toMatch(/^\s+at /m);
}

/** step and metadata of a checkpoint, read from its safetensors header. */
function checkpointMeta(path: string): Record<string, string> {
  const bytes = readFileSync(path);
  const len = Number(bytes.readBigUInt64LE(0));
  return JSON.parse(bytes.subarray(8, 8 + len).toString('utf8')).__metadata__;
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'tabgpt-cli-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('train, sample, resume', () => {
  let ckpt: string;
  let r: Run;

  // One training run for the whole describe: each test reads its output or its checkpoint, none another test's.
  beforeAll(async () => {
    ckpt = join(dir, 'nano.safetensors');
    r = await tabgpt('train', '--corpus', 'builtin', '--preset', 'nano', '--max-iters', '20', '--eval-interval', '10', '--json', '--out', ckpt);
  });

  it('train --json prints eval and done lines with the run summary', () => {
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toBe('');
    const lines = jsonLines(r.stdout);
    expect(lines.map((l) => `${l.event}${l.step ?? ''}`)).toEqual(['eval10', 'eval20', 'done']);
    const done = lines[2];
    for (const k of ['trainLoss', 'valLoss', 'tokensPerSec', 'params', 'nonEmbeddingParams', 'steps', 'elapsedSec']) {
      expect(typeof done[k], k).toBe('number');
      expect(Number.isFinite(done[k]), k).toBe(true);
    }
    expect(done).toMatchObject({ steps: 20, backend: 'wasm' });
    expect(done.params as number).toBeGreaterThan(done.nonEmbeddingParams as number);
    expect(done.valLoss as number).toBeLessThan(Math.log(40)); // it learned something (vocab ~30)
    expect(lines[0].valLoss as number).toBeGreaterThan(done.valLoss as number);
    expect(checkpointMeta(ckpt).step).toBe('20');
    expect(readdirSync(dir).filter((f) => f.includes('.tmp'))).toEqual([]);
  });

  it('sample --json prints {"text"} and a seed reproduces it', async () => {
    expect(r.code, r.stderr).toBe(0);
    const greedy = ['sample', '--ckpt', ckpt, '--json', '--seed', '1', '--temperature', '0', '--max-new-tokens', '40'];
    const a = await tabgpt(...greedy);
    expect(a.code, a.stderr).toBe(0);
    const textA = jsonLines(a.stdout)[0].text as string;
    expect(typeof textA).toBe('string');
    expect([...textA].length).toBe(40);
    const b = await tabgpt(...greedy);
    expect(jsonLines(b.stdout)[0].text).toBe(textA);
    const warm = ['sample', '--ckpt', ckpt, '--json', '--temperature', '1', '--max-new-tokens', '60', '--prompt', 'ba'];
    const s1 = jsonLines((await tabgpt(...warm, '--seed', '7')).stdout)[0].text;
    const s2 = jsonLines((await tabgpt(...warm, '--seed', '7')).stdout)[0].text;
    const s3 = jsonLines((await tabgpt(...warm, '--seed', '8')).stdout)[0].text;
    expect(s2).toBe(s1);
    expect(s3).not.toBe(s1);
  });

  it("train --resume continues from the checkpoint's step", async () => {
    expect(r.code, r.stderr).toBe(0);
    const out = join(dir, 'resumed.safetensors');
    const resumed = await tabgpt('train', '--resume', ckpt, '--max-iters', '30', '--eval-interval', '10', '--json', '--out', out);
    expect(resumed.code, resumed.stderr).toBe(0);
    const lines = jsonLines(resumed.stdout);
    expect(lines.map((l) => `${l.event}${l.step ?? ''}`)).toEqual(['eval30', 'done']);
    expect(lines[1].steps).toBe(30);
    expect(checkpointMeta(out).step).toBe('30');
    expectOneLineError(await tabgpt('train', '--resume', ckpt, '--n-layer', '3', '--json', '--out', out), /--n-layer differs from the checkpoint/);
  });
});

describe('a run on a --text file', () => {
  it('prints human progress lines with a sample, and resumes on the same file without --text', async () => {
    const text = join(dir, 'cats.txt');
    writeFileSync(text, Array.from({ length: 300 }, (_, i) => `the cat sat on mat number ${i % 13}.\r\n`).join(''));
    const ckpt = join(dir, 'cats.safetensors');
    const r = await tabgpt('train', '--text', text, '--preset', 'nano', '--max-iters', '10', '--eval-interval', '10', '--out', ckpt);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^corpus .*cats\.txt: [\d,]+ chars, vocab \d+/m);
    // the default --backend auto: without a GPU, WASM and the reason (no timing); with one, the timed choice
    expect(r.stdout).toMatch(mayHaveGpu() ? /backend (wasm|webgpu) \(auto: / : /backend wasm \(auto: no GPU device here/);
    expect(r.stdout).toMatch(/^step 10\/10 \| loss \d\.\d+ \| val .* \| [\d,]+ tok\/s \| .*ETA/m);
    expect(r.stdout).toMatch(/eval step 10: val loss \d\.\d+ nats \(\d\.\d+ bpc\)/);
    expect(r.stdout).toMatch(/sample: /);
    expect(r.stdout).not.toContain('\r');
    const resumed = await tabgpt('train', '--resume', ckpt, '--max-iters', '20', '--eval-interval', '10', '--json', '--out', join(dir, 'cats2.safetensors'));
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(jsonLines(resumed.stdout).at(-1)).toMatchObject({ event: 'done', steps: 20, corpus: text });
  });
});

describe('divergence', () => {
  it('stops with one line naming the step and keeps the last good checkpoint', async () => {
    const out = join(dir, 'diverge.safetensors');
    const r = await tabgpt(
      'train',
      '--corpus',
      'builtin',
      '--preset',
      'nano',
      '--lr',
      '1e6',
      '--warmup-iters',
      '0',
      '--max-iters',
      '50',
      '--eval-interval',
      '1',
      '--log-interval',
      '1',
      '--json',
      '--out',
      out,
      '--backend',
      'cpu',
    );
    expectOneLineError(r, /loss became (NaN|-?Infinity) at step (\d+): lower the learning rate/);
    const failedAt = Number(/at step (\d+)/.exec(r.stderr)![1]);
    const evals = r.stdout.trim() === '' ? [] : jsonLines(r.stdout);
    expect(evals.length).toBeGreaterThan(0); // at least one good evaluation was saved first
    const meta = checkpointMeta(out);
    expect(Number(meta.step)).toBe(evals[evals.length - 1].step);
    expect(Number(meta.step)).toBeLessThan(failedAt);
    expect(Number.isFinite(Number(meta.val_loss))).toBe(true);
    expect(readdirSync(dir).filter((f) => f.includes('.tmp'))).toEqual([]);
  });

  it('leaves an existing checkpoint byte-for-byte intact when the new run diverges before its first evaluation', async () => {
    const good = join(dir, 'good.safetensors');
    const r0 = await tabgpt('train', '--corpus', 'builtin', '--preset', 'nano', '--max-iters', '4', '--eval-interval', '4', '--json', '--out', good);
    expect(r0.code, r0.stderr).toBe(0);
    const target = join(dir, 'target.safetensors');
    copyFileSync(good, target);
    const before = readFileSync(target);
    const r = await tabgpt(
      'train',
      '--corpus',
      'builtin',
      '--preset',
      'nano',
      '--lr',
      '1e6',
      '--warmup-iters',
      '0',
      '--max-iters',
      '50',
      '--eval-interval',
      '40',
      '--json',
      '--out',
      target,
    );
    expectOneLineError(r, /loss became .* at step \d+/);
    expect(readFileSync(target).equals(before)).toBe(true);
    const s = await tabgpt('sample', '--ckpt', target, '--json', '--max-new-tokens', '5');
    expect(s.code, s.stderr).toBe(0);
  });
});

describe('bad input: one line on stderr, non-zero exit, no stack trace', () => {
  beforeAll(() => {
    writeFileSync(join(dir, 'empty.txt'), '');
    writeFileSync(join(dir, 'binary.bin'), Buffer.from([0x7f, 0x45, 0x4c, 0x46, 0x02, 0x01, 0x01, 0x00, 0x00, 0x00, 0x41, 0x42]));
    writeFileSync(join(dir, 'latin1.txt'), Buffer.from([0x63, 0x61, 0x66, 0xe9, 0x0a]));
    writeFileSync(join(dir, 'garbage.safetensors'), Buffer.from('this is not a checkpoint, just some words in a file\n'.repeat(20)));
  });

  const cases: [string, string[], RegExp][] = [
    ['an unknown flag', ['train', '--bogus', '1'], /--bogus/],
    ['a bad number', ['train', '--n-layer', 'abc'], /n-layer must be a number \(got 'abc'\)/],
    ['nEmbd not divisible by nHead', ['train', '--corpus', 'builtin', '--n-embd', '30', '--n-head', '4'], /nEmbd \(30\) must be divisible by nHead \(4\)/],
    ['a missing --text file', ['train', '--text', '/no/such/dir/missing.txt'], /--text \/no\/such\/dir\/missing\.txt: no such file/],
    ['an empty text file', ['train', '--text', 'EMPTY'], /empty/],
    ['a binary file', ['train', '--text', 'BINARY'], /looks binary/],
    ['a non-UTF-8 file', ['train', '--text', 'LATIN1'], /not valid UTF-8/],
    ['a bad --backend', ['train', '--backend', 'tpu'], /--backend must be one of wasm, cpu.*got 'tpu'/],
    ['a bad --preset', ['train', '--preset', 'huge'], /--preset must be one of/],
    ['an unknown command', ['frobnicate'], /unknown command 'frobnicate'/],
    ['a missing checkpoint', ['sample', '--ckpt', '/no/such/ckpt.safetensors'], /no such file/],
    ['a garbage checkpoint', ['sample', '--ckpt', 'GARBAGE'], /not a valid tabgpt checkpoint/],
    ['a bad sampling value', ['sample', '--top-p', '1.5'], /--top-p must be a number in \(0, 1\]/],
    ['a bad --resume file', ['train', '--resume', 'GARBAGE'], /not a valid tabgpt checkpoint/],
  ];

  it.each(cases)('%s', async (_what, args, message) => {
    const files: Record<string, string> = { EMPTY: 'empty.txt', BINARY: 'binary.bin', LATIN1: 'latin1.txt', GARBAGE: 'garbage.safetensors' };
    const r = await tabgpt(...args.map((a) => (files[a] ? join(dir, files[a]) : a)));
    expectOneLineError(r, message);
    expect(r.stdout).toBe('');
  });
});
