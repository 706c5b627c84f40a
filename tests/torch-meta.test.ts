// PyTorch's CPU ceiling (bench/torch-meta.py, src/cli/torch-ceiling.ts): the
// script's preset table is core/config.ts', its nanoGPT model has tabgpt's
// parameter count, a real meta-device run gives a consistent row (PyTorch is
// installed here: python3-torch), and `tabgpt bench --torch` without PyTorch
// says so in one line and carries on.

import { describe, it, expect } from 'vitest';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { PRESETS, PRESET_NAMES } from '../src/core/config.ts';
import { paramCount } from '../src/core/counts.ts';
import type { BenchRow } from '../src/core/bench-defs.ts';
import { findTorchPython, formatTorchCeiling, torchMeta, TORCH_META_SCRIPT, type TorchMetaRow } from '../src/cli/torch-ceiling.ts';

const ROOT = join(import.meta.dirname, '..');
const found = await findTorchPython();
const python = typeof found === 'string' ? 'python3' : found.python;

function sh(cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(cmd, args, { cwd: ROOT, env, timeout: 110_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr });
    });
  });
}

describe('bench/torch-meta.py', () => {
  it('knows the same presets as core/config.ts', async () => {
    const r = await sh(python, [TORCH_META_SCRIPT, '--print-presets']);
    expect(r.code).toBe(0);
    const table = JSON.parse(r.stdout) as Record<string, Record<string, number>>;
    expect(Object.keys(table).sort()).toEqual([...PRESET_NAMES].sort());
    for (const name of PRESET_NAMES) {
      const p = PRESETS[name];
      expect(table[name], name).toEqual({ n_layer: p.nLayer, n_head: p.nHead, n_embd: p.nEmbd, block_size: p.blockSize });
    }
  });

  it.runIf(typeof found !== 'string')(
    "times nanoGPT's step on the meta device: tabgpt's parameter count, tokens/s = B*T/step, each AdamW setting a figure or a reason",
    async () => {
      const row = await torchMeta(python, 'nano', { batchSize: 4, vocabSize: 65, budgetS: 0.3, repeats: 1 });
      if (typeof row === 'string') throw new Error(row);
      expect(row).toMatchObject({ tool: 'torch-meta', preset: 'nano', batchSize: 4, blockSize: 32, vocabSize: 65 });
      expect(row.params).toBe(paramCount({ ...PRESETS.nano, vocabSize: 65, dropout: 0, bias: true }).total); // tied head counted once, as tabgpt does
      expect(row.msPerStep).toBeGreaterThan(0);
      expect(row.tokensPerSec).toBeCloseTo((4 * 32 * 1000) / row.msPerStep, 6);
      for (const [name, s] of Object.entries(row.adamw)) {
        const ran = s.msPerStep !== undefined && s.msPerStep > 0 && s.cpuMsPerStep !== undefined;
        expect(ran || typeof s.sameAs === 'string' || (typeof s.error === 'string' && typeof s.why === 'string'), name).toBe(true);
      }
      expect(row.adamw['foreach=False'].msPerStep).toBeGreaterThan(0); // the per-tensor loop runs on meta in every version
    },
    60_000,
  );
});

describe('the comparison text', () => {
  it("sets each webgpu row of the same preset and batch beside PyTorch's ceiling", () => {
    const t = {
      tool: 'torch-meta',
      preset: 'baby',
      torch: '1.13.1',
      batchSize: 16,
      blockSize: 64,
      vocabSize: 65,
      params: 809856,
      msPerStep: 9,
      tokensPerSec: 113778,
      adamw: {
        'foreach=False': { msPerStep: 9, cpuMsPerStep: 4 },
        default: { sameAs: 'foreach=False' },
        'foreach=True': { error: "Could not run 'aten::_foreach_mul_.Scalar' with arguments from the 'Meta' backend" },
      },
    } as TorchMetaRow;
    const gpu = { backend: 'webgpu', preset: 'baby', batchSize: 16, blockSize: 64, kernels: 'fused', matmulKernel: 'tiled' } as const;
    const rows = [
      { ...gpu, step: 'eager', msPerStep: 36, encodeMsPerStep: 30, encodeCpuMsPerStep: 20 },
      { ...gpu, step: 'recorded', msPerStep: 3, encodeMsPerStep: 1, encodeCpuMsPerStep: 0.03 },
      { ...gpu, batchSize: 8, step: 'recorded', msPerStep: 2 }, // another batch: not comparable
      { backend: 'wasm', preset: 'baby', batchSize: 16, blockSize: 64, msPerStep: 500 },
    ] as unknown as BenchRow[];
    expect(formatTorchCeiling([t], rows).split('\n')).toEqual([
      'PyTorch CPU ceiling (nanoGPT step on the meta device: no arithmetic, bench/torch-meta.py):',
      "  torch 1.13.1 baby B16 T64: 9.00 ms/step, 113,778 tok/s ceiling; AdamW foreach=False 9.00 ms (cpu 4.00); default = foreach=False; foreach=True: Could not run 'aten::_foreach_mul_.Scalar' with arguments from the 'Meta' backend",
      "  tabgpt webgpu baby fused+tiled eager: 36.00 ms/step = 4x PyTorch's 9.00 ms; encode cpu 20.00 ms = 5x PyTorch's step cpu 4.00 ms",
      "  tabgpt webgpu baby fused+tiled recorded: 3.00 ms/step = 0.33x PyTorch's 9.00 ms; encode cpu 0.03 ms = 0.0075x PyTorch's step cpu 4.00 ms",
    ]);
    expect(formatTorchCeiling([], rows)).toBe('');
  });
});

describe('tabgpt bench --torch', () => {
  it('without PyTorch: one notice line, the tabgpt rows still come', async () => {
    const env: NodeJS.ProcessEnv = { ...process.env, TABGPT_PYTHON: '/nonexistent/python3' };
    delete env.TABGPT_DEBUG;
    const r = await sh(
      process.execPath,
      [
        join(ROOT, 'bin', 'tabgpt.js'),
        'bench',
        '--backend',
        'wasm',
        '--preset',
        'nano',
        '--training-only',
        '--json',
        '--torch',
        '--corpus',
        'builtin',
        '--repeats',
        '1',
        '--budget-s',
        '0.05',
        '--batch-size',
        '2',
      ],
      env,
    );
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0])).toMatchObject({ backend: 'wasm', preset: 'nano' });
    const notices = r.stderr.split('\n').filter((l) => l.includes('--torch'));
    expect(notices).toEqual(['bench: notice: --torch skipped: no Python with PyTorch found (tried /nonexistent/python3 from TABGPT_PYTHON)']);
  }, 120_000);
});
