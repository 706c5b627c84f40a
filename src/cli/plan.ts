// `tabgpt plan`: what a training run needs before it starts: parameters,
// FLOPs per token, the predicted peak memory of a step (core/memory.ts, the
// function the page's "This machine" panel calls), the settings that make it
// fit a memory budget (--memory), and the run's time on the backends it can
// measure quickly here (a few real steps each). Same flags as `train`.

import * as tf from '@tensorflow/tfjs';
import { makeConfig, NUMERIC_KEYS, PRESET_NAMES, toKebab, type Config, type PresetName } from '../core/config';
import { Dataset } from '../core/data';
import { flopsPerToken, paramCount } from '../core/counts';
import {
  formatBytes,
  HEADROOM,
  kernelPathOf,
  NULL_ADAPTER_BYTES,
  parseBytes,
  planToFit,
  predictMemory,
  WASM_HEAP_BYTES,
  WEBGPU_DEFAULT_MAX_BINDING_BYTES,
  type KernelPath,
} from '../core/memory';
import { newTrainer } from '../core/train';
import { withPeakBytes } from '../core/peak';
import { configFlags, configOverrides, parse } from './args';
import { CliError, formatDuration, loadCorpus, setupBackend } from './common';

const HELP = `usage: tabgpt plan [train's flags] [--memory SIZE] [--measure LIST] [--json]
  --preset ${PRESET_NAMES.join('|')}   ${NUMERIC_KEYS.map((k) => '--' + toKebab(k)).join(' ')} --recompute
  --text FILE | --corpus shakespeare|builtin   the text (its vocabulary sets V)
  --backend webgpu|wasm|cpu   the backend planned for (default webgpu: the page's GPU path, fused kernels)
  --memory SIZE       a memory budget (512MB, 4GB, 1.5GiB): does the run fit, and with which
                      --batch-size / --grad-accum / --recompute (the same sequences per step) it would
  --measure LIST      backends to time a few real steps on, comma-separated (default wasm; none to skip;
                      webgpu runs on this machine's adapter, SwiftShader without a GPU: minutes per step)
  --adapter default|null   with --measure webgpu: Dawn's null adapter times the CPU's share only (a ceiling)
  --json              one JSON object: params, flopsPerToken, peakBytes, fits, recommend, ...`;

/** Seconds at most spent timing one backend (beyond its first, compiling step). */
const MEASURE_BUDGET_S = 30;

export interface PlanTiming {
  backend: string;
  /** Wall ms of a training step after the first. */
  msPerStep: number;
  /** The same in this process's CPU time: robust to other work on a shared machine (wasm runs on this thread; for webgpu it is the CPU's share). */
  cpuMsPerStep: number;
  /** maxIters steps at that pace. */
  runSeconds: number;
  firstStepMs: number;
  /** The step's measured peak (core/peak.ts), beside the prediction for that backend. */
  measuredPeakBytes: number;
  predictedPeakBytes: number;
  /** Why the figure is not a GPU's (Dawn's null adapter), if so. */
  note?: string;
}

export async function planCommand(argv: string[]): Promise<void> {
  const { values } = parse(
    argv,
    {
      ...configFlags(),
      text: { type: 'string' },
      corpus: { type: 'string' },
      preset: { type: 'string' },
      backend: { type: 'string', default: 'webgpu' },
      adapter: { type: 'string' },
      memory: { type: 'string' },
      measure: { type: 'string', default: 'wasm' },
      json: { type: 'boolean', default: false },
    },
    'plan',
  );
  if (values.help) return void console.log(HELP);
  const json = values.json as boolean;
  const preset = values.preset as string | undefined;
  if (preset !== undefined && !PRESET_NAMES.includes(preset as PresetName))
    throw new CliError(`--preset must be one of ${PRESET_NAMES.join(', ')} (got '${preset}')`);
  const backend = values.backend as string;
  if (!['webgpu', 'wasm', 'cpu'].includes(backend)) throw new CliError(`--backend must be webgpu, wasm or cpu (got '${backend}')`);
  let memoryBytes: number | null = null;
  if (values.memory !== undefined) {
    memoryBytes = parseBytes(values.memory as string);
    if (memoryBytes === null || memoryBytes <= 0) throw new CliError(`--memory must be a size such as 512MB, 4GB or 1.5GiB (got '${values.memory}')`);
  }
  const measure = (values.measure as string) === 'none' ? [] : (values.measure as string).split(',').map((s) => s.trim());
  for (const b of measure) if (!['wasm', 'cpu', 'webgpu'].includes(b)) throw new CliError(`--measure must list wasm, cpu or webgpu, or be none (got '${b}')`);
  if (values.adapter !== undefined && !measure.includes('webgpu')) throw new CliError('--adapter applies to --measure webgpu');

  const corpus = await loadCorpus({ text: values.text as string | undefined, corpus: values.corpus as string | undefined });
  if (corpus.notice && !json) console.error(`tabgpt: notice: ${corpus.notice}`);
  const data = new Dataset(corpus.text);
  const cfg: Config = { ...makeConfig({ ...configOverrides(values), preset: preset as PresetName | undefined }), vocabSize: data.tokenizer.vocabSize };
  const counts = paramCount(cfg);
  const fpt = flopsPerToken(cfg);
  const path: KernelPath = kernelPathOf(backend);
  const est = predictMemory(cfg, path);
  const byPath = { generic: predictMemory(cfg, 'generic').peakBytes, fused: predictMemory(cfg, 'fused').peakBytes };
  const limit = memoryBytes ?? (backend === 'webgpu' ? null : WASM_HEAP_BYTES);
  const fit =
    limit !== null
      ? planToFit(cfg, path, { memoryBytes: limit, ...(backend === 'webgpu' ? { maxBindingBytes: WEBGPU_DEFAULT_MAX_BINDING_BYTES } : {}) })
      : null;
  const sequences = cfg.gradAccumSteps * cfg.batchSize;
  const say = (line: string) => {
    if (!json) console.log(line);
  };

  say(
    `model ${cfg.nLayer} layers, ${cfg.nHead} heads, ${cfg.nEmbd} wide, block ${cfg.blockSize}, vocabulary ${cfg.vocabSize}: ${counts.total.toLocaleString('en-US')} parameters; ${(fpt / 1e6).toFixed(1)} MFLOP per token (forward + backward)`,
  );
  say(
    `step: ${sequences} sequences (${cfg.gradAccumSteps} micro-batch${cfg.gradAccumSteps > 1 ? 'es' : ''} of ${cfg.batchSize}${cfg.recompute ? ', recomputing activations' : ''}) = ${est.tokensPerStep.toLocaleString('en-US')} tokens; ${cfg.maxIters} steps = ${((cfg.maxIters * est.tokensPerStep) / 1e6).toFixed(1)}M tokens, ${((cfg.maxIters * est.tokensPerStep * fpt) / 1e15).toFixed(2)} PFLOP`,
  );
  say(
    `predicted peak memory of a step on ${backend} (${path} kernels): ${formatBytes(est.peakBytes)} = weights ${formatBytes(est.weightsBytes)} + AdamW ${formatBytes(est.optimizerBytes)} + gradients ${formatBytes(est.gradientBytes)} + activations ${formatBytes(est.activationBytes)}; largest tensor ${formatBytes(est.largestTensorBytes)}`,
  );
  say(`  (generic ops, as on wasm/cpu: ${formatBytes(byPath.generic)}; fused WebGPU kernels: ${formatBytes(byPath.fused)})`);
  if (fit && limit !== null) {
    const budget = memoryBytes !== null ? `--memory ${formatBytes(limit)}` : `wasm's ${formatBytes(limit)} heap`;
    if (fit.fits) say(`fits ${budget} (${Math.round(HEADROOM * 100)}% usable: ${formatBytes(HEADROOM * limit)})`);
    else if (fit.recommend)
      say(
        `does not fit ${budget}: ${fit.problem}; fits with ${fit.recommend} (the same ${sequences} sequences per step; predicted ${formatBytes(fit.recommendedPeakBytes!)})`,
      );
    else say(`does not fit ${budget}: ${fit.problem}; no split of the batch fits, even with --recompute: use a smaller model or --block-size`);
  } else if (backend === 'webgpu') {
    say(
      `WebGPU does not say how much memory a GPU has: give --memory (e.g. --memory ${formatBytes(NULL_ADAPTER_BYTES)} for Dawn's null adapter or a modest laptop GPU)`,
    );
  }

  const timings: PlanTiming[] = [];
  const skipped: string[] = [];
  for (const b of measure) {
    const p = kernelPathOf(b);
    const peak = predictMemory(cfg, p).peakBytes;
    if (b !== 'webgpu' && peak > HEADROOM * WASM_HEAP_BYTES) {
      skipped.push(`${b}: not timed (predicted ${formatBytes(peak)} exceeds its 4 GB heap)`);
      continue;
    }
    if (b === 'webgpu' && values.adapter === 'null' && peak > HEADROOM * NULL_ADAPTER_BYTES) {
      skipped.push(`webgpu: not timed (predicted ${formatBytes(peak)} exceeds the null adapter's ${formatBytes(NULL_ADAPTER_BYTES)})`);
      continue;
    }
    if (!json) console.error(`plan: timing ${b}...`);
    await setupBackend(b, b === 'webgpu' ? (values.adapter as string | undefined) : undefined);
    timings.push(await timeSteps(cfg, data, b, values.adapter === 'null'));
    const t = timings[timings.length - 1];
    say(
      `${b}${t.note ? ' (null adapter: a ceiling, no GPU work)' : ''}: ${t.msPerStep.toFixed(0)} ms/step (${t.cpuMsPerStep.toFixed(0)} ms CPU; first step ${t.firstStepMs.toFixed(0)} ms) -> ${cfg.maxIters} steps in ${formatDuration(t.runSeconds)}; measured peak ${formatBytes(t.measuredPeakBytes)} (predicted ${formatBytes(t.predictedPeakBytes)})`,
    );
  }
  for (const s of skipped) say(s);
  if (json) {
    console.log(
      JSON.stringify({
        params: counts.total,
        nonEmbeddingParams: counts.nonEmbedding,
        flopsPerToken: fpt,
        tokensPerStep: est.tokensPerStep,
        backend,
        kernels: path,
        peakBytes: est.peakBytes,
        peakBytesByKernels: byPath,
        largestTensorBytes: est.largestTensorBytes,
        parts: { weights: est.weightsBytes, optimizer: est.optimizerBytes, gradients: est.gradientBytes, activations: est.activationBytes },
        ...(fit ? { memoryBytes: limit, fits: fit.fits, recommend: fit.recommend, recommendedPeakBytes: fit.recommendedPeakBytes } : {}),
        timings,
        ...(skipped.length ? { notTimed: skipped } : {}),
      }),
    );
  }
}

function cpuMs(): number {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
}

/** One compiling step, then timed steps (at least one, at most 5, within MEASURE_BUDGET_S), the first of them measured for its peak. */
async function timeSteps(cfg: Config, data: Dataset, backend: string, nullAdapter: boolean): Promise<PlanTiming> {
  const trainer = newTrainer({ ...cfg, maxIters: 1_000_000, evalInterval: 1_000_000, logInterval: 1_000_000 }, data);
  const sync = () => trainer.model.p('transformer.ln_f.weight').data();
  try {
    let t0 = performance.now();
    await trainer.trainStep();
    await sync();
    const firstStepMs = performance.now() - t0;
    t0 = performance.now();
    const c0 = cpuMs();
    const { peakBytes } = await withPeakBytes(async () => {
      await trainer.trainStep();
      await sync();
    });
    let steps = 1;
    while ((performance.now() - t0) / 1000 < MEASURE_BUDGET_S && steps < 5) {
      await trainer.trainStep();
      await sync();
      steps++;
    }
    const msPerStep = (performance.now() - t0) / steps;
    const cpuMsPerStep = (cpuMs() - c0) / steps;
    return {
      backend: tf.getBackend(),
      msPerStep,
      cpuMsPerStep,
      runSeconds: (firstStepMs + msPerStep * (cfg.maxIters - 1)) / 1000,
      firstStepMs,
      measuredPeakBytes: peakBytes,
      predictedPeakBytes: predictMemory(trainer.cfg, kernelPathOf(backend)).peakBytes,
      ...(nullAdapter ? { note: "Dawn's null adapter runs no kernels: this is the CPU's share of a step, the fastest any GPU could go here" } : {}),
    };
  } finally {
    trainer.model.dispose();
    trainer.dispose();
  }
}
