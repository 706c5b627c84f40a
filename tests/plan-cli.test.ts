// `tabgpt plan` and running out of memory, end to end in subprocesses: the
// planner's recommendation for nanoGPT's shakespeare_char in 512 MB is one
// that fits by its own measure with the same tokens per step, and a run that
// does not fit Dawn's null device (512 MiB, runs nothing: fast) stops with one
// line naming the fix, leaving the checkpoint it was to overwrite untouched.

import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const ROOT = join(import.meta.dirname, '..');
const BIN = join(ROOT, 'bin', 'tabgpt.js');
let dir: string;

function tabgpt(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const env = { ...process.env };
  delete env.TABGPT_DEBUG;
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { cwd: ROOT, env, timeout: 120_000, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr });
    });
  });
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'tabgpt-plan-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('tabgpt plan', () => {
  it("recommends settings that fit shakespeare_char's 64 x 256 batch into 512MB, which the planner then accepts", async () => {
    const base = ['plan', '--corpus', 'builtin', '--preset', 'small', '--batch-size', '64', '--measure', 'none', '--json'];
    const r = await tabgpt(...base, '--memory', '512MB');
    expect(r.code, r.stderr).toBe(0);
    const plan = JSON.parse(r.stdout);
    expect(plan.params).toBeGreaterThan(10e6);
    expect(plan.flopsPerToken).toBeGreaterThan(6 * plan.nonEmbeddingParams);
    expect(plan.peakBytes).toBeGreaterThan(512e6);
    expect(plan.fits).toBe(false);
    expect(plan.recommend).toMatch(/^--batch-size \d+ --grad-accum \d+( --recompute)?$/);
    const again = await tabgpt(...base.filter((a) => a !== '64' && a !== '--batch-size'), ...plan.recommend.split(' '), '--memory', '512MB');
    const fitted = JSON.parse(again.stdout);
    expect(fitted).toMatchObject({ fits: true, recommend: '', tokensPerStep: plan.tokensPerStep });
    expect(fitted.peakBytes).toBe(plan.recommendedPeakBytes);
  });

  it('refuses a budget it cannot read, and --adapter off webgpu, in one line', async () => {
    const r = await tabgpt('plan', '--memory', 'lots', '--measure', 'none');
    expect(r.code).not.toBe(0);
    expect(r.stderr.trim()).toMatch(/^tabgpt: error: --memory must be a size such as 512MB/);
    const t = await tabgpt('train', '--backend', 'wasm', '--adapter', 'null');
    expect(t.stderr.trim()).toMatch(/^tabgpt: error: --adapter applies to --backend webgpu/);
  });
});

describe('out of memory', () => {
  it("is one line with the predicted peak and the fix; the last checkpoint is untouched (Dawn's null device)", async () => {
    const out = join(dir, 'ckpt.safetensors');
    writeFileSync(out, 'the previous run');
    const r = await tabgpt(
      'train',
      '--corpus',
      'builtin',
      '--backend',
      'webgpu',
      '--adapter',
      'null',
      '--preset',
      'small',
      '--batch-size',
      '16',
      '--max-iters',
      '4',
      '--log-interval',
      '2',
      '--out',
      out,
    );
    expect(r.code).not.toBe(0);
    const lines = r.stderr
      .trimEnd()
      .split('\n')
      .filter((l) => !l.startsWith('tabgpt: notice:'));
    expect(lines, r.stderr).toHaveLength(1);
    expect(lines[0]).toMatch(
      /^tabgpt: error: out of memory allocating .* predicted peak is 1\.\d\d GB .*; use --batch-size \d+ --grad-accum \d+( --recompute)? .*the last checkpoint is untouched$/,
    );
    expect(r.stderr).not.toMatch(/internal error|^\s+at /m);
    expect(readFileSync(out, 'utf8')).toBe('the previous run');
  });
});
