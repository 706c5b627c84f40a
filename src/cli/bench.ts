// `tabgpt bench`: training and generation speed per backend and preset, as a
// table or one JSON object per line (--json). In Node the backends are wasm
// and cpu; --browser runs the same benchmark (core/bench.ts) in headless
// Chromium on webgpu, webgl, wasm and cpu via the bench page.

import { appendFile, mkdir } from 'node:fs/promises';
import { cpus } from 'node:os';
import { dirname } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { getThreadsCount } from '@tensorflow/tfjs-backend-wasm';
import { BROWSER_ORDER, NODE_BACKENDS, type BackendName } from '../core/backend';
import { benchPreset } from '../core/bench';
import { BENCH_DEFAULTS, benchVariants, defaultBenchBatchSize, type BenchRow } from '../core/bench-defs';
import { formatGpuTable, formatProfile, formatStepRatios, formatTable, NULL_ADAPTER_CEILING } from '../core/benchreport';
import { KERNEL_MODES, MATMUL_CHOICES, type KernelMode, type MatmulChoice } from '../core/kernels/mode';
import { DEFAULT_CONFIG, PRESET_NAMES, STEP_MODES, type PresetName, type StepMode } from '../core/config';
import { Dataset } from '../core/data';
import { isPosInt, num, parse } from './args';
import { CliError, loadCorpus, setupBackend } from './common';
import { adapterLabel, installNodeWebGPU, type AdapterChoice } from './webgpu';
import { findTorchPython, formatTorchCeiling, torchMeta, type TorchMetaRow } from './torch-ceiling';

/** Left out of a run without --preset: a cpu step of `mini` takes ~10-30 s here (ask for it by name). */
const SLOW_BY_DEFAULT: Record<string, PresetName[]> = { cpu: ['mini'] };
/** Node backends bench accepts: webgpu (Dawn, src/cli/webgpu.ts) too, though not in the default list. */
const NODE_BENCH_BACKENDS: BackendName[] = [...NODE_BACKENDS, 'webgpu'];

const HELP = `usage: tabgpt bench [flags]
  --backend NAME      one backend (Node: ${NODE_BENCH_BACKENDS.join(', ')}; --browser: ${BROWSER_ORDER.join(', ')}); default all
                      (Node: ${NODE_BACKENDS.join(', ')}; webgpu only when named, as it is minutes per preset on SwiftShader)
  --kernels LIST      webgpu rows: generic, fused or generic,fused (both, side by side, with ratios); default ${BENCH_DEFAULTS.kernels.join(',')}
  --matmul LIST       fused rows' matmul: auto (tiled on a CPU adapter such as SwiftShader, tfjs' on a GPU),
                      tiled, tfjs, or a list (one fused row each, e.g. tfjs,tiled); default ${BENCH_DEFAULTS.matmul.join(',')}
  --step LIST         webgpu rows: recorded (the step replayed from cached bind groups), eager (tfjs ops
                      every step) or eager,recorded (both, side by side, with the speed-up); default recorded
  --preset LIST       presets (${PRESET_NAMES.join(', ')}), one or a list (baby,small); default ${BENCH_DEFAULTS.presets.join(', ')} (cpu: not mini)
  --json              one JSON object per line per backend and preset (progress goes to stderr)
  --browser           run in headless Chromium through the bench page (npm run bench -- --browser);
                      without a GPU, WebGPU/WebGL run on SwiftShader: minutes per preset
  --training-only     training figures only: no generation, no 100-step tensor-count run (software GPUs)
  --profile           add a per-kernel time breakdown (tf.profile) of a few training steps
  --torch             also time nanoGPT's step in PyTorch on the meta device (bench/torch-meta.py: its CPU
                      cost without arithmetic, the ceiling a GPU run could reach) per preset, beside the
                      webgpu rows; skipped with a notice where no python3 imports torch (TABGPT_PYTHON picks one)
  --batch-size N      sequences per step (default ${DEFAULT_CONFIG.batchSize}; ${defaultBenchBatchSize('cpu')} on cpu, which is ~50x slower)
  --grad-accum N      micro-batches of --batch-size per step, gradients averaged (default 1)
  --recompute         recompute each block's activations in the backward pass (less memory, more time)
  --repeats N         timed repeats, median reported (default ${BENCH_DEFAULTS.repeats})
  --budget-s S        seconds of timed training per row (default ${BENCH_DEFAULTS.trainBudgetMs / 1000})
  --gen-tokens N      new characters per generation measurement (default ${BENCH_DEFAULTS.genTokens})
  --wasm-threads N    with --browser: threads for the wasm backend (tfjs caps it at half the logical cores)
  --adapter default|null   webgpu: the system's adapter (default), or Dawn's null backend, which runs no
                      kernels (512 MB): rows are a ceiling on tokens/s and measure memory; losses are not results
  --out FILE          also append the JSON lines to FILE (e.g. bench/node-2core.jsonl)
  --text FILE | --corpus shakespeare|builtin   the text (only its vocabulary size matters)`;

export interface BenchFlags {
  backends: BackendName[];
  /** Kernel modes for webgpu rows, in order (one row each). */
  kernels: KernelMode[];
  /** Matmul choices for fused webgpu rows, in order (one row each). */
  matmul: MatmulChoice[];
  /** Step modes for webgpu rows, in order (one row each; config.step). */
  steps: StepMode[];
  presets: PresetName[];
  json: boolean;
  profile: boolean;
  trainingOnly: boolean;
  /** Also run bench/torch-meta.py per preset (PyTorch's CPU ceiling). */
  torch: boolean;
  batchSize?: number;
  gradAccumSteps?: number;
  recompute?: boolean;
  repeats?: number;
  budgetMs?: number;
  genTokens?: number;
  wasmThreads?: number;
  out?: string;
  /** --adapter: webgpu's adapter, default or null (Dawn's null backend). */
  adapter?: string;
}

function parseFlags(argv: string[]): (BenchFlags & { browser: boolean; presetGiven: boolean; text?: string; corpus?: string }) | null {
  const { values } = parse(
    argv,
    {
      backend: { type: 'string' },
      kernels: { type: 'string' },
      matmul: { type: 'string' },
      step: { type: 'string' },
      preset: { type: 'string' },
      json: { type: 'boolean', default: false },
      browser: { type: 'boolean', default: false },
      profile: { type: 'boolean', default: false },
      'training-only': { type: 'boolean', default: false },
      torch: { type: 'boolean', default: false },
      'batch-size': { type: 'string' },
      'grad-accum': { type: 'string' },
      recompute: { type: 'boolean', default: false },
      repeats: { type: 'string' },
      'budget-s': { type: 'string' },
      'gen-tokens': { type: 'string' },
      'wasm-threads': { type: 'string' },
      out: { type: 'string' },
      adapter: { type: 'string' },
      text: { type: 'string' },
      corpus: { type: 'string' },
    },
    'bench',
  );
  if (values.help) {
    console.log(HELP);
    return null;
  }
  const browser = values.browser as boolean;
  const allowed = browser ? BROWSER_ORDER : NODE_BACKENDS;
  const accepted = browser ? BROWSER_ORDER : NODE_BENCH_BACKENDS;
  const backend = values.backend as string | undefined;
  if (backend !== undefined && !accepted.includes(backend as BackendName)) {
    const hint = !browser && BROWSER_ORDER.includes(backend as BackendName) ? ` (${backend} runs in the browser: add --browser)` : '';
    throw new CliError(`--backend must be one of ${accepted.join(', ')} (got '${backend}')${hint}`);
  }
  const kernels = ((values.kernels as string | undefined) ?? BENCH_DEFAULTS.kernels.join(',')).split(',').map((k) => k.trim());
  for (const k of kernels)
    if (!KERNEL_MODES.includes(k as KernelMode)) throw new CliError(`--kernels must be generic, fused or generic,fused (got '${values.kernels}')`);
  const matmul = ((values.matmul as string | undefined) ?? BENCH_DEFAULTS.matmul.join(',')).split(',').map((k) => k.trim());
  for (const m of matmul)
    if (!MATMUL_CHOICES.includes(m as MatmulChoice)) throw new CliError(`--matmul must be auto, tiled, tfjs or a list of them (got '${values.matmul}')`);
  const steps = ((values.step as string | undefined) ?? 'recorded').split(',').map((k) => k.trim());
  for (const s of steps) if (!STEP_MODES.includes(s as StepMode)) throw new CliError(`--step must be recorded, eager or eager,recorded (got '${values.step}')`);
  const preset = values.preset as string | undefined;
  const presets = preset?.split(',').map((p) => p.trim());
  if (presets?.some((p) => !PRESET_NAMES.includes(p as PresetName)))
    throw new CliError(`--preset must be one of ${PRESET_NAMES.join(', ')} or a list of them (got '${preset}')`);
  const budgetS = num(values, 'budget-s', (n) => n > 0 && Number.isFinite(n), 'a positive number of seconds');
  return {
    backends: backend ? [backend as BackendName] : allowed,
    kernels: [...new Set(kernels)] as KernelMode[],
    matmul: [...new Set(matmul)] as MatmulChoice[],
    steps: [...new Set(steps)] as StepMode[],
    presets: presets ? ([...new Set(presets)] as PresetName[]) : [...BENCH_DEFAULTS.presets],
    presetGiven: preset !== undefined,
    json: values.json as boolean,
    profile: values.profile as boolean,
    trainingOnly: values['training-only'] as boolean,
    torch: values.torch as boolean,
    browser,
    batchSize: num(values, 'batch-size', isPosInt, 'a positive integer'),
    gradAccumSteps: num(values, 'grad-accum', isPosInt, 'a positive integer'),
    recompute: values.recompute as boolean,
    repeats: num(values, 'repeats', isPosInt, 'a positive integer'),
    budgetMs: budgetS !== undefined ? budgetS * 1000 : undefined,
    genTokens: num(values, 'gen-tokens', isPosInt, 'a positive integer'),
    wasmThreads: num(values, 'wasm-threads', isPosInt, 'a positive integer'),
    out: values.out as string | undefined,
    adapter: values.adapter as string | undefined,
    text: values.text as string | undefined,
    corpus: values.corpus as string | undefined,
  };
}

/** Print a row as it completes (JSON mode) and append it to --out (a BenchRow, or --torch's TorchMetaRow). */
export async function emitRow(row: BenchRow | TorchMetaRow, flags: Pick<BenchFlags, 'json' | 'out'>): Promise<void> {
  const line = JSON.stringify(row);
  if (flags.json) console.log(line);
  if (flags.out) {
    await mkdir(dirname(flags.out), { recursive: true });
    await appendFile(flags.out, line + '\n');
  }
}

/** The closing table (and profiles) in text mode; in JSON mode the recorded/eager speed-ups go to stderr beside the progress. */
export function printSummary(rows: BenchRow[], flags: Pick<BenchFlags, 'json'>): void {
  if (flags.json) for (const line of formatStepRatios(rows)) console.error(`bench: ${line}`);
  if (flags.json || rows.length === 0) return;
  console.log(formatTable(rows));
  const gpu = formatGpuTable(rows);
  if (gpu) console.log('\n' + gpu);
  for (const r of rows) if (r.profile) console.log('\n' + formatProfile(r));
}

/** This process's CPU time in ms: tfjs wasm runs on the main thread in Node, so this is its compute time. */
function cpuClock(): number {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
}

export async function benchCommand(argv: string[]): Promise<void> {
  const flags = parseFlags(argv);
  if (!flags) return;
  const progress = (line: string) => console.error(`bench: ${line}`);
  if (flags.wasmThreads !== undefined && !flags.browser)
    throw new CliError('--wasm-threads applies to the browser benchmark: add --browser (Node runs tfjs wasm single-threaded)');
  if (flags.browser) {
    const { benchInBrowser } = await import('./benchbrowser');
    const rows = await benchInBrowser(flags, progress);
    printSummary(rows, flags);
    if (flags.torch) await torchCeiling(flags, rows, 65, progress); // the page's text: Tiny Shakespeare's 65 characters
    return;
  }
  const corpus = await loadCorpus({ text: flags.text, corpus: flags.corpus });
  if (corpus.notice) progress(`notice: ${corpus.notice}`);
  if (flags.adapter !== undefined && (flags.browser || flags.backends.join() !== 'webgpu'))
    throw new CliError('--adapter applies to --backend webgpu in Node (add --backend webgpu)');
  const dataset = new Dataset(corpus.text);
  const rows: BenchRow[] = [];
  for (const backend of flags.backends) {
    await setupBackend(backend, backend === 'webgpu' ? flags.adapter : undefined);
    let adapter: string | undefined;
    const env: Record<string, string | number | boolean> = { runtime: `node ${process.version}`, cpus: cpus().length, corpus: corpus.source };
    if (backend === 'wasm') {
      env.simd = (await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT')) as boolean;
      env.threads = getThreadsCount();
    }
    if (backend === 'webgpu') {
      const found = await installNodeWebGPU((flags.adapter ?? 'default') as AdapterChoice); // already installed by setupBackend: the adapter it found
      if (typeof found !== 'string') {
        env.adapter = `dawn ${found.adapter.vendor} ${found.adapter.architecture} ${found.adapter.description}`.replace(/\s+/g, ' ').trim();
        adapter = adapterLabel(found);
      }
      if (adapter === 'null') progress(`webgpu on Dawn's null adapter: ${NULL_ADAPTER_CEILING}`);
    }
    for (const preset of flags.presets) {
      if (!flags.presetGiven && SLOW_BY_DEFAULT[backend]?.includes(preset)) {
        progress(`${backend} ${preset}: skipped by default (slow); run it with --backend ${backend} --preset ${preset}`);
        continue;
      }
      for (const variant of benchVariants(backend, flags.kernels, flags.matmul, flags.steps)) {
        const row = await benchPreset({
          preset,
          ...variant,
          dataset,
          batchSize: flags.batchSize,
          gradAccumSteps: flags.gradAccumSteps,
          recompute: flags.recompute,
          repeats: flags.repeats,
          trainBudgetMs: flags.budgetMs,
          genTokens: flags.genTokens,
          profileSteps: flags.profile ? BENCH_DEFAULTS.profiledSteps : 0,
          trainingOnly: flags.trainingOnly,
          env,
          adapter,
          cpuClock,
          log: progress,
        });
        rows.push(row);
        await emitRow(row, flags);
      }
    }
  }
  printSummary(rows, flags);
  if (flags.torch) await torchCeiling(flags, rows, dataset.tokenizer.vocabSize, progress);
}

/** --torch: PyTorch's meta-device step per preset after the tabgpt rows, and the comparison (stdout in text mode, stderr beside --json). */
async function torchCeiling(flags: BenchFlags, rows: BenchRow[], vocabSize: number, progress: (line: string) => void): Promise<void> {
  const found = await findTorchPython();
  if (typeof found === 'string') return progress(`notice: --torch skipped: ${found}`);
  const torchRows: TorchMetaRow[] = [];
  for (const preset of flags.presets) {
    progress(`torch ${found.torch} ${preset}: nanoGPT's step on the meta device (${found.python} bench/torch-meta.py)`);
    const t = await torchMeta(found.python, preset, {
      batchSize: flags.batchSize ?? DEFAULT_CONFIG.batchSize,
      vocabSize,
      budgetS: (flags.budgetMs ?? BENCH_DEFAULTS.trainBudgetMs) / 1000,
      repeats: flags.repeats,
    });
    if (typeof t === 'string') {
      progress(`notice: --torch ${t}`);
      continue;
    }
    progress(`torch ${preset}: ${t.msPerStep.toFixed(2)} ms/step, ${Math.round(t.tokensPerSec)} tok/s ceiling`);
    torchRows.push(t);
    await emitRow(t, flags);
  }
  const text = formatTorchCeiling(torchRows, rows);
  if (!text) return;
  if (flags.json) for (const line of text.split('\n')) progress(line);
  else console.log('\n' + text);
}
