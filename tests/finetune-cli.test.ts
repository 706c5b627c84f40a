// `tabgpt train --init-from` end to end in subprocesses: a fine-tune on a text
// with new characters says so in one line and saves a checkpoint with the larger
// vocabulary; every misuse is one line on stderr, no stack trace.

import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const ROOT = join(import.meta.dirname, '..');
const BIN = join(ROOT, 'bin', 'tabgpt.js');
let dir: string;
let base: string;
let newText: string;

function tabgpt(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const env = { ...process.env };
  delete env.TABGPT_DEBUG;
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { cwd: ROOT, env, timeout: 90_000, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr });
    });
  });
}

function meta(path: string): Record<string, string> {
  const bytes = readFileSync(path);
  const len = Number(bytes.readBigUInt64LE(0));
  return JSON.parse(bytes.subarray(8, 8 + len).toString('utf8')).__metadata__;
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'tabgpt-ft-'));
  base = join(dir, 'base.safetensors');
  newText = join(dir, 'new.txt');
  writeFileSync(newText, 'la colère — ce garçon, déjà là — et the anger of the builtin corpus\n'.repeat(40));
  const r = await tabgpt('train', '--corpus', 'builtin', '--preset', 'nano', '--max-iters', '10', '--eval-interval', '10', '--json', '--out', base);
  expect(r.code, r.stderr).toBe(0);
}, 120_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('train --init-from', () => {
  it('fine-tunes on a text with new characters, naming them in one line, and saves the larger vocabulary', async () => {
    const out = join(dir, 'ft.safetensors');
    const r = await tabgpt('train', '--init-from', base, '--text', newText, '--max-iters', '6', '--eval-interval', '6', '--out', out);
    expect(r.code, r.stderr).toBe(0);
    const saved = meta(base);
    const oldVocab = JSON.parse(saved.vocab) as string[];
    const added = [...new Set(readFileSync(newText, 'utf8'))].filter((c) => !oldVocab.includes(c)).sort((a, b) => a.codePointAt(0)! - b.codePointAt(0)!);
    expect(added).toContain('—');
    const line = `${added.length} new characters: ${added.map((c) => `'${c}'`).join(', ')}`;
    expect(r.stdout).toContain(`${line} (added to the vocabulary, ${oldVocab.length} -> ${oldVocab.length + added.length})`);
    expect(r.stdout).toMatch(/fresh AdamW state and schedule; lr 0\.0002 \(a tenth of its\)/);
    const m = meta(out);
    expect(JSON.parse(m.vocab)).toEqual([...oldVocab, ...added]);
    expect(JSON.parse(m.config).vocabSize).toBe(oldVocab.length + added.length);
    expect(m.step).toBe('6');
    expect(m.init_from).toBe(base);
  });

  it('refuses misuse with one line and no stack trace', async () => {
    const r = await tabgpt('train', '--corpus', 'builtin', '--init-from', base, '--n-embd', '64');
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toMatch(/^tabgpt: error: --n-embd 64 differs from .*'s nEmbd=32: --init-from keeps the checkpoint's model shape \(drop the flag\)\n$/);
  });

  it('names the problem and the fix for every other misuse (in-process: the same code path, no start-up cost)', async () => {
    const { trainCommand } = await import('../src/cli/train.ts');
    const cases: [string[], RegExp][] = [
      [['--init-from', join(dir, 'nope.safetensors')], /^--init-from .*nope\.safetensors: no such file$/],
      [['--init-from', base, '--preset', 'baby'], /^--preset conflicts with --init-from: the model shape comes from .* \(drop --preset\)$/],
      [['--init-from', base, '--resume', base], /^give --resume FILE \(continue a run\) or --init-from FILE \(a new run from its weights\), not both$/],
      [['--init-from', base, '--freeze', 'head'], /^--freeze must be one of none, embeddings, all-but-head \(got 'head'\)$/],
      [['--freeze', 'embeddings'], /^--freeze needs --init-from FILE/],
      [
        ['--init-from', base, '--text', newText, '--freeze', 'embeddings'],
        /^--freeze embeddings would keep the \d+ new characters: .* at their random init: use --freeze none or all-but-head$/,
      ],
    ];
    for (const [args, message] of cases) {
      const argv = [...(args.includes('--text') ? [] : ['--corpus', 'builtin']), ...args, '--out', join(dir, 'never.safetensors')];
      await expect(trainCommand(argv), args.join(' ')).rejects.toThrow(message);
    }
  });
});
