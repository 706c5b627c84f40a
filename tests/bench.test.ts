// The benchmark's logic, never its timings: MFU and FLOP arithmetic, the
// table, a real (tiny) benchPreset run on wasm whose tensor counts at steps 10
// and 100 must be equal, and the `tabgpt bench` CLI's JSON fields and errors.

import { describe, it, expect, beforeAll } from 'vitest';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { benchPreset } from '../src/core/bench.ts';
import {
  formatGpuTable,
  formatStepRatios,
  formatTable,
  kernelRatios,
  matmulGflopsOf,
  median,
  mfuOf,
  modelGflopsOf,
  stepRatios,
  stepsPerRepeat,
} from '../src/core/benchreport.ts';
import { BENCH_DEFAULTS, benchVariants, type BenchRow } from '../src/core/bench-defs.ts';
import { builtinCorpus } from '../src/core/corpus.ts';
import { flopsPerToken } from '../src/core/counts.ts';
import { Dataset } from '../src/core/data.ts';
import { makeConfig } from '../src/core/config.ts';
import { predictMemory } from '../src/core/memory.ts';

const ROOT = join(import.meta.dirname, '..');

/** The fields every JSON line carries (PERFORMANCE.md's table of fields). */
const REQUIRED = [
  'backend',
  'preset',
  'params',
  'tokensPerSec',
  'msPerStep',
  'modelGflops',
  'matmulGflops',
  'mfu',
  'firstStepMs',
  'tensorsAtStep10',
  'tensorsAtStep100',
  'genTokensPerSecCached',
  'genTokensPerSecRecompute',
];

describe('arithmetic', () => {
  it('matmul GFLOP/s counts 2MKN FLOPs', () => {
    // [128, 512] @ [512, 512] in 3.3554432 ms = 67,108,864 FLOPs -> 20 GFLOP/s
    expect(matmulGflopsOf(128, 512, 512, 3.3554432)).toBeCloseTo(20, 10);
  });

  it('model GFLOP/s is flopsPerToken x tokens/s, and MFU divides it by the matmul rate', () => {
    expect(modelGflopsOf(5e6, 4000)).toBeCloseTo(20, 10);
    expect(mfuOf(20, 40)).toBeCloseTo(0.5, 12);
    expect(mfuOf(20, 0)).toBe(0); // no matmul figure: no MFU, not Infinity
  });

  it('median of odd and even lists, unsorted input', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(() => median([])).toThrow(/empty/);
  });

  it('steps per repeat fill the budget, at least 1 and at most the cap', () => {
    expect(stepsPerRepeat(100, 3, 3000)).toBe(10);
    expect(stepsPerRepeat(5000, 3, 3000)).toBe(1);
    expect(stepsPerRepeat(1, 3, 3000)).toBe(20);
    expect(stepsPerRepeat(0, 3, 3000)).toBe(1);
  });
});

describe('table', () => {
  const row = (over: Partial<BenchRow>): BenchRow => ({
    backend: 'wasm',
    preset: 'nano',
    params: 28576,
    nonEmbeddingParams: 26464,
    vocabSize: 65,
    batchSize: 16,
    blockSize: 32,
    flopsPerToken: 190000,
    tokensPerSec: 12345.6,
    msPerStep: 41.5,
    modelGflops: 2.35,
    matmulGflops: 28.4,
    matmulShape: '512x32@32x128',
    mfu: 0.0827,
    firstStepMs: 173,
    tensorsAtStep10: 197,
    tensorsAtStep100: 197,
    bytesAtStep10: 1,
    bytesAtStep100: 1,
    countRun: 'full',
    genTokensPerSecCached: 300,
    genTokensPerSecRecompute: 100,
    genTokensCached: 256,
    genTokensRecompute: 256,
    repeats: 3,
    stepsPerRepeat: 10,
    tokensPerSecRepeats: [1, 2, 3],
    date: '2025-01-01T00:00:00.000Z',
    ...over,
  });

  it('has a header, a rule and one aligned line per row, with the KV speed-up', () => {
    const lines = formatTable([row({}), row({ backend: 'cpu', preset: 'micro', countRun: 'B1xT8' })]).split('\n');
    expect(lines[0]).toMatch(/^backend\s+preset\s+params/);
    expect(lines[1]).toMatch(/^-+\s+-+/);
    expect(lines[2]).toMatch(/^wasm\s+nano\s+28,576\s+16\s+32\s+12,346\s+41\.5\s+2\.35\s+28\.40\s+0\.08\s+-\s+173\s+197\s+197\s+-\s+300\.0\s+100\.0\s+3\.0$/); // peak MiB '-': a row without peakBytes
    expect(lines[3]).toMatch(/197\*/); // stand-in count run is marked ...
    expect(lines[4]).toMatch(/^\* tensor counts from a B1xT8 run/); // ... and explained
    expect(new Set(lines.slice(0, 4).map((l) => l.length)).size).toBe(1); // columns aligned
  });

  it('runs one row per kernel mode on webgpu, the fused one per matmul choice, one plain row elsewhere', () => {
    expect(benchVariants('webgpu', ['generic', 'fused'], ['tfjs', 'tiled'])).toEqual([
      { kernels: 'generic' },
      { kernels: 'fused', matmul: 'tfjs' },
      { kernels: 'fused', matmul: 'tiled' },
    ]);
    expect(benchVariants('wasm', ['generic', 'fused'], ['auto'])).toEqual([{}]);
  });

  it('runs each webgpu variant once per step mode, in the order given', () => {
    expect(benchVariants('webgpu', ['generic', 'fused'], ['tiled'], ['eager', 'recorded'])).toEqual([
      { kernels: 'generic', step: 'eager' },
      { kernels: 'generic', step: 'recorded' },
      { kernels: 'fused', matmul: 'tiled', step: 'eager' },
      { kernels: 'fused', matmul: 'tiled', step: 'recorded' },
    ]);
    expect(benchVariants('wasm', ['fused'], ['auto'], ['eager', 'recorded'])).toEqual([{}]);
  });

  it("shows the webgpu rows' per-step GPU work and fused/generic ratios measured in the same run", () => {
    const gpu = {
      backend: 'webgpu',
      preset: 'baby',
      readbacksPerStep: 0,
      uploadsPerStep: 2,
      uploadBytesPerStep: 8192,
      uniformWritesPerStep: 10,
      gpuMsPerStep: null,
    };
    const rows = [
      row({}),
      row({ ...gpu, kernels: 'generic', tokensPerSec: 100, dispatchesPerStep: 1000, encodeMsPerStep: 50, encodeCpuMsPerStep: 40 }),
      row({ ...gpu, kernels: 'fused', matmulKernel: 'tfjs', tokensPerSec: 150, dispatchesPerStep: 200, encodeMsPerStep: 10, encodeCpuMsPerStep: 5 }),
      row({ ...gpu, kernels: 'fused', matmulKernel: 'tiled', tokensPerSec: 400, dispatchesPerStep: 200, encodeMsPerStep: 10, encodeCpuMsPerStep: 5 }),
    ];
    expect(kernelRatios(rows)).toEqual([
      { backend: 'webgpu', preset: 'baby', label: 'fused+tfjs', tokensPerSec: 1.5, dispatches: 0.2, encodeMs: 0.2, encodeCpuMs: 0.125 },
      { backend: 'webgpu', preset: 'baby', label: 'fused+tiled', tokensPerSec: 4, dispatches: 0.2, encodeMs: 0.2, encodeCpuMs: 0.125 },
    ]);
    const text = formatGpuTable(rows).split('\n');
    expect(text).toHaveLength(8); // title, header, rule, the three webgpu rows (not the wasm one), two ratio lines
    expect(text[1]).toMatch(/^backend\s+preset\s+kernels\s+step\s+tok\/s\s+ms\/step\s+dispatches\/step\s+bind groups\/step\s+tfjs kernels\/step\s+encode ms/);
    expect(text[3]).toMatch(/^webgpu\s+baby\s+generic\s+-\s+100\s+41\.5\s+1,000\s+-\s+-\s+50\.0\s+40\.0\s+8,192\s+2\s+10\s+0\s+-$/);
    expect(text[5]).toMatch(/^webgpu\s+baby\s+fused\+tiled\s+-\s+400\s/);
    expect(text[6]).toBe('fused+tfjs / generic, webgpu baby: tokens/s x1.50, dispatches x0.200, encode ms x0.200 (cpu x0.125)');
    expect(text[7]).toBe('fused+tiled / generic, webgpu baby: tokens/s x4.00, dispatches x0.200, encode ms x0.200 (cpu x0.125)');
    expect(formatGpuTable([row({})])).toBe('');
  });

  it('pairs recorded and eager rows of the same variant and prints the speed-up with the figures behind it', () => {
    const gpu = {
      backend: 'webgpu',
      preset: 'baby',
      kernels: 'fused',
      matmulKernel: 'tiled',
      dispatchesPerStep: 150,
      readbacksPerStep: 0,
      uploadsPerStep: 1,
      uploadBytesPerStep: 4096,
      uniformWritesPerStep: 0,
      gpuMsPerStep: null,
    } as const;
    const rows = [
      row({
        ...gpu,
        step: 'eager',
        tokensPerSec: 1000,
        msPerStep: 97,
        dispatchesPerStep: 150,
        bindGroupsPerStep: 150,
        tfjsKernelsPerStep: 420,
        encodeMsPerStep: 80,
      }),
      row({
        ...gpu,
        step: 'recorded',
        tokensPerSec: 9700,
        msPerStep: 10,
        dispatchesPerStep: 150,
        bindGroupsPerStep: 0,
        tfjsKernelsPerStep: 0,
        encodeMsPerStep: 2,
      }),
      // another matmul, and a generic row: each pairs only with its own kind
      row({ ...gpu, matmulKernel: 'tfjs', step: 'eager', tokensPerSec: 500, msPerStep: 200 }),
      row({ ...gpu, kernels: 'generic', matmulKernel: undefined, step: 'recorded', tokensPerSec: 2000, msPerStep: 50 }),
    ];
    const ratios = stepRatios(rows);
    expect(ratios).toHaveLength(1);
    expect(ratios[0].label).toBe('fused+tiled');
    expect(ratios[0].speedup).toBeCloseTo(9.7, 12);
    expect(formatStepRatios(rows)).toEqual([
      'recorded vs eager, webgpu baby fused+tiled: 9.7x (ms/step 97.0 -> 10.0, tok/s 1,000 -> 9,700, encode ms/step 80.0 -> 2.0, tfjs kernels/step 420 -> 0, bind groups/step 150 -> 0)',
    ]);
    // rows of different adapters never pair (the field some rows carry)
    const other = rows.map((r, i) => (i === 0 ? ({ ...r, adapter: 'null' } as BenchRow) : r));
    expect(stepRatios(other)).toEqual([]);
    // fused/generic ratios pair within one step mode, and say which
    const both = [
      row({ ...gpu, kernels: 'generic', matmulKernel: undefined, step: 'eager', tokensPerSec: 100 }),
      row({ ...gpu, step: 'recorded', tokensPerSec: 900, msPerStep: 10 }),
      row({ ...gpu, step: 'eager', tokensPerSec: 300, msPerStep: 30 }),
    ];
    expect(kernelRatios(both)).toEqual([expect.objectContaining({ step: 'eager', tokensPerSec: 3 })]);
    expect(formatGpuTable(both)).toMatch(/^fused\+tiled \/ generic \(eager step\), webgpu baby: tokens\/s x3\.00/m);
    expect(formatGpuTable(both)).toMatch(/^recorded vs eager, webgpu baby fused\+tiled: 3\.0x/m);
  });
});

describe('benchPreset on wasm (tiny budgets; no time is asserted)', () => {
  let data: Dataset;
  beforeAll(async () => {
    expect(await tf.setBackend('wasm')).toBe(true);
    await tf.ready();
    data = new Dataset(builtinCorpus({ chars: 30_000 }).text);
  });

  const tiny = { repeats: 1, trainBudgetMs: 50, warmupSteps: 1, genTokens: 6, genBudgetMs: 200 };

  it('reports consistent figures and no tensor growth from step 10 to step 100 of the same run', async () => {
    const before = tf.memory().numTensors;
    const row = await benchPreset({ preset: 'nano', dataset: data, batchSize: 2, countBudgetMs: 1e9, ...tiny });
    for (const k of REQUIRED) expect(row, k).toHaveProperty(k);
    expect(row.backend).toBe('wasm');
    expect(row.countRun).toBe('full');
    expect(row.tensorsAtStep10).toBeGreaterThan(0);
    expect(row.tensorsAtStep100).toBe(row.tensorsAtStep10);
    expect(row.bytesAtStep100).toBe(row.bytesAtStep10);
    expect(row.batchSize).toBe(2);
    expect(row.flopsPerToken).toBe(
      flopsPerToken({ nLayer: 2, nHead: 2, nEmbd: 32, blockSize: 32, vocabSize: data.tokenizer.vocabSize, dropout: 0, bias: true }),
    );
    expect(row.modelGflops).toBeCloseTo((row.flopsPerToken * row.tokensPerSec) / 1e9, 9);
    expect(row.mfu).toBeCloseTo(row.modelGflops / row.matmulGflops, 9);
    expect(row.msPerStep).toBeCloseTo((row.batchSize * row.blockSize * 1000) / row.tokensPerSec, 6);
    expect(['64x32@32x128', '64x128@128x32', '64x32@32x32']).toContain(row.matmulShape); // the best of the model's three GEMM shapes
    expect(row.genTokensCached).toBe(6);
    // the step's peak (core/peak.ts) lies above what lives between steps (weights, AdamW) and near the memory model's prediction
    expect(row.peakBytes!).toBeGreaterThan(row.bytesAtStep10);
    expect(
      Math.abs(row.peakBytes! / predictMemory({ ...makeConfig({ preset: 'nano', batchSize: 2 }), vocabSize: row.vocabSize }, 'generic').peakBytes - 1),
    ).toBeLessThan(0.15);
    for (const k of ['tokensPerSec', 'matmulGflops', 'firstStepMs', 'genTokensPerSecCached', 'genTokensPerSecRecompute'] as const)
      expect(row[k]).toBeGreaterThan(0);
    expect(row.cpuMfu).toBeUndefined(); // no CPU clock given
    expect(tf.memory().numTensors).toBe(before); // everything it made is disposed
  });

  it('adds CPU-time figures when the shell passes a CPU clock', async () => {
    const cpuClock = () => {
      const u = process.cpuUsage();
      return (u.user + u.system) / 1000;
    };
    const row = await benchPreset({ preset: 'nano', dataset: data, batchSize: 2, countBudgetMs: 0, cpuClock, ...tiny });
    expect(row.cpuTokensPerSec).toBeGreaterThan(0);
    expect(row.cpuMatmulGflops).toBeGreaterThan(0);
    expect(row.cpuMfu).toBeCloseTo((row.flopsPerToken * row.cpuTokensPerSec!) / 1e9 / row.cpuMatmulGflops!, 9);
  });

  it('falls back to a batch-1, block-8 run of the same model for the counts when the full run would be too long', async () => {
    const row = await benchPreset({ preset: 'micro', dataset: data, batchSize: 2, countBudgetMs: 0, ...tiny });
    expect(row.countRun).toBe('B1xT8');
    expect(row.tensorsAtStep100).toBe(row.tensorsAtStep10);
  });

  it('adds a per-kernel profile when asked, with the matmul kernel in it', async () => {
    const row = await benchPreset({ preset: 'nano', dataset: data, batchSize: 2, countBudgetMs: 0, profileSteps: 1, ...tiny });
    const kernels = row.profile!.map((p) => p.kernel);
    expect(kernels).toContain('BatchMatMul');
    expect(kernels).not.toContain('forward'); // wrappers are left out: their kernels are listed
    expect(row.profile!.every((p) => p.callsPerStep > 0)).toBe(true);
  });
});

function tabgpt(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const env = { ...process.env };
  delete env.TABGPT_DEBUG;
  return new Promise((resolve) => {
    execFile(process.execPath, [join(ROOT, 'bin', 'tabgpt.js'), ...args], { cwd: ROOT, env, timeout: 110_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr });
    });
  });
}

describe('tabgpt bench', () => {
  it('--json prints one object per line with the named fields', async () => {
    const r = await tabgpt(
      'bench',
      '--backend',
      'wasm',
      '--preset',
      'nano',
      '--json',
      '--corpus',
      'builtin',
      '--repeats',
      '1',
      '--budget-s',
      '0.05',
      '--gen-tokens',
      '4',
      '--batch-size',
      '2',
    );
    expect(r.stderr).not.toMatch(/error/);
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines).toHaveLength(1);
    const row = JSON.parse(lines[0]);
    for (const k of REQUIRED) expect(row, k).toHaveProperty(k);
    expect(row).toMatchObject({ backend: 'wasm', preset: 'nano', batchSize: 2 });
    expect(row.env).toMatchObject({ simd: true, threads: 1 });
  });

  it('--help states the defaults every shell takes (core/bench-defs.ts)', async () => {
    const r = await tabgpt('bench', '--help');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`timed repeats, median reported (default ${BENCH_DEFAULTS.repeats})`);
    expect(r.stdout).toContain(`seconds of timed training per row (default ${BENCH_DEFAULTS.trainBudgetMs / 1000})`);
    expect(r.stdout).toContain(`new characters per generation measurement (default ${BENCH_DEFAULTS.genTokens})`);
    expect(r.stdout).toContain(`default ${BENCH_DEFAULTS.presets.join(', ')} (cpu: not mini)`);
  });

  it('names the problem and the fix in one line for bad flags', async () => {
    const gl = await tabgpt('bench', '--backend', 'webgl');
    expect(gl.code).toBe(2);
    expect(gl.stderr.trim()).toBe("tabgpt: error: --backend must be one of wasm, cpu, webgpu (got 'webgl') (webgl runs in the browser: add --browser)");
    const kernels = await tabgpt('bench', '--backend', 'webgpu', '--kernels', 'fast');
    expect(kernels.code).toBe(2);
    expect(kernels.stderr.trim()).toBe("tabgpt: error: --kernels must be generic, fused or generic,fused (got 'fast')");
    const step = await tabgpt('bench', '--backend', 'webgpu', '--step', 'eager,replay');
    expect(step.code).toBe(2);
    expect(step.stderr.trim()).toBe("tabgpt: error: --step must be recorded, eager or eager,recorded (got 'eager,replay')");
    const matmul = await tabgpt('bench', '--backend', 'webgpu', '--matmul', 'tfjs,fast');
    expect(matmul.code).toBe(2);
    expect(matmul.stderr.trim()).toBe("tabgpt: error: --matmul must be auto, tiled, tfjs or a list of them (got 'tfjs,fast')");
    const preset = await tabgpt('bench', '--preset', 'baby,huge');
    expect(preset.code).toBe(2);
    expect(preset.stderr.trim().split('\n')).toHaveLength(1);
    expect(preset.stderr).toMatch(/--preset must be one of nano, micro, baby, mini, small or a list of them \(got 'baby,huge'\)/);
  });
});
