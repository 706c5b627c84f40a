// `tabgpt bench --torch`: PyTorch's CPU ceiling beside tabgpt's rows, measured
// in the same sitting. bench/torch-meta.py times nanoGPT's training step on
// PyTorch's `meta` device (every op's CPU path, no arithmetic: what PyTorch's
// own side costs per step, the most tokens/s it could reach on an infinitely
// fast GPU). Here: find a python3 that imports torch, run the script per
// preset with the preset's shape from core/config.ts, and set its ms/step
// beside the webgpu rows'. Without Python or PyTorch: one notice, no rows.

import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { PRESETS, type PresetName } from '../core/config';
import type { BenchRow } from '../core/bench-defs';
import { PROJECT_ROOT } from './common';

export const TORCH_META_SCRIPT = join(PROJECT_ROOT, 'bench', 'torch-meta.py');

/** One line of bench/torch-meta.py (the fields read here; the rest passes through to --json). */
export interface TorchMetaRow {
  tool: 'torch-meta';
  preset: string;
  torch: string;
  batchSize: number;
  blockSize: number;
  vocabSize: number;
  params: number;
  /** The default AdamW's ms per step (1.13: foreach=False), wall clock. */
  msPerStep: number;
  tokensPerSec: number;
  /** Per AdamW setting: its figures, or why it could not run on `meta`. */
  adamw: Record<string, { msPerStep?: number; cpuMsPerStep?: number; tokensPerSec?: number; sameAs?: string; error?: string; why?: string }>;
}

function run(cmd: string, args: string[], timeoutMs: number): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(cmd, args, { timeout: timeoutMs, maxBuffer: 1 << 20 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : -1) : 0;
      resolve({ code, stdout: String(stdout), stderr: String(stderr) });
    });
  });
}

/**
 * The first Python that imports torch: $TABGPT_PYTHON if set, else python3 on
 * the PATH, else the system's /usr/bin/python3 (Debian's python3-torch lives
 * there even when a pyenv or venv python3 comes first). A string says why none.
 */
export async function findTorchPython(): Promise<{ python: string; torch: string } | string> {
  const env = process.env.TABGPT_PYTHON;
  const candidates = env ? [env] : ['python3', '/usr/bin/python3'];
  for (const python of candidates) {
    const r = await run(python, ['-c', 'import torch; print(torch.__version__)'], 60_000);
    if (r.code === 0) return { python, torch: r.stdout.trim() };
  }
  return `no Python with PyTorch found (tried ${candidates.join(', ')}${env ? ' from TABGPT_PYTHON' : '; set TABGPT_PYTHON to another'})`;
}

/** Run bench/torch-meta.py for one preset; a string says why there is no row. */
export async function torchMeta(
  python: string,
  preset: PresetName,
  opts: { batchSize: number; vocabSize: number; budgetS?: number; repeats?: number },
): Promise<TorchMetaRow | string> {
  const p = PRESETS[preset];
  const args = [
    TORCH_META_SCRIPT,
    '--preset',
    preset,
    '--n-layer',
    String(p.nLayer),
    '--n-head',
    String(p.nHead),
    '--n-embd',
    String(p.nEmbd),
    '--block-size',
    String(p.blockSize),
    '--batch-size',
    String(opts.batchSize),
    '--vocab-size',
    String(opts.vocabSize),
  ];
  if (opts.budgetS !== undefined) args.push('--budget-s', String(opts.budgetS));
  if (opts.repeats !== undefined) args.push('--repeats', String(opts.repeats));
  const r = await run(python, args, 600_000);
  const last = r.stdout.trim().split('\n').pop() ?? '';
  if (r.code !== 0 || !last.startsWith('{'))
    return `${preset}: bench/torch-meta.py failed (exit ${r.code}): ${(r.stderr.trim().split('\n').pop() ?? '').slice(0, 300)}`;
  try {
    return JSON.parse(last) as TorchMetaRow;
  } catch {
    return `${preset}: bench/torch-meta.py printed no JSON line`;
  }
}

const fmt = (x: number | undefined, digits: number) =>
  x !== undefined && Number.isFinite(x) ? x.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits }) : '-';

/** A ratio with two significant digits (0.0081x, 0.33x, 12x). */
const times = (x: number) => (Number.isFinite(x) ? `${Number(x.toPrecision(2)).toLocaleString('en-US', { maximumFractionDigits: 6 })}x` : '-');

/**
 * PyTorch's rows as text, then each webgpu row of the same preset and batch
 * as a multiple of PyTorch's step: its ms/step over PyTorch's (below 1x:
 * tabgpt's step costs less than PyTorch's CPU side alone), and the same in
 * CPU time (tabgpt's encode CPU time over PyTorch's step CPU time), which
 * other processes on a shared machine do not inflate.
 */
export function formatTorchCeiling(torch: TorchMetaRow[], rows: BenchRow[]): string {
  if (torch.length === 0) return '';
  const out = ['PyTorch CPU ceiling (nanoGPT step on the meta device: no arithmetic, bench/torch-meta.py):'];
  for (const t of torch) {
    const settings = Object.entries(t.adamw).map(([k, v]) =>
      v.msPerStep !== undefined
        ? `${k} ${fmt(v.msPerStep, 2)} ms (cpu ${fmt(v.cpuMsPerStep, 2)})`
        : v.sameAs
          ? `${k} = ${v.sameAs}`
          : `${k}: ${v.error ?? 'failed'}`,
    );
    out.push(
      `  torch ${t.torch} ${t.preset} B${t.batchSize} T${t.blockSize}: ${fmt(t.msPerStep, 2)} ms/step, ${fmt(t.tokensPerSec, 0)} tok/s ceiling; AdamW ${settings.join('; ')}`,
    );
    const torchCpu = Object.values(t.adamw).find((v) => v.msPerStep === t.msPerStep)?.cpuMsPerStep;
    for (const r of rows.filter((x) => x.backend === 'webgpu' && x.preset === t.preset && x.batchSize === t.batchSize && x.blockSize === t.blockSize)) {
      const label = [r.kernels && `${r.kernels}${r.matmulKernel ? `+${r.matmulKernel}` : ''}`, r.step].filter(Boolean).join(' ');
      const cpu =
        r.encodeCpuMsPerStep !== undefined && torchCpu !== undefined
          ? `; encode cpu ${fmt(r.encodeCpuMsPerStep, 2)} ms = ${times(r.encodeCpuMsPerStep / torchCpu)} PyTorch's step cpu ${fmt(torchCpu, 2)} ms`
          : '';
      out.push(
        `  tabgpt webgpu ${t.preset} ${label}: ${fmt(r.msPerStep, 2)} ms/step = ${times(r.msPerStep / t.msPerStep)} PyTorch's ${fmt(t.msPerStep, 2)} ms${cpu}`,
      );
    }
  }
  return out.join('\n');
}
