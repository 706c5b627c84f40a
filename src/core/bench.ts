// The benchmark: training throughput, MFU, first-step time, tensor counts and
// generation speed of one preset on the current tfjs backend. Backend-neutral:
// the CLI (`tabgpt bench`, Node wasm/cpu) and the bench page's worker
// (webgpu/webgl/wasm/cpu) both call benchPreset and get the same row.
//
// How each figure is taken (so it means the same everywhere):
//  - Training runs the real Trainer through the training loop (train-loop.ts),
//    logging its loss every logInterval steps as in a real run. A "sync"
//    reads back ln_f's gain, which the step's last AdamW update writes, so on
//    a GPU the clock stops when the step's work is done, not when it was
//    queued. Syncs happen only between repeats, never inside a step.
//  - tokens/s is the median over repeats after the first step and a warm-up.
//  - matmulGflops is a plain 2-D matmul (ops.matMul2d: the kernel the model's
//    Linears use, tfjs' or the tiled one of a CPU adapter) at the model's GEMM shapes
//    ([B*T, C] @ [C, 4C], [B*T, 4C] @ [4C, C], [B*T, C] @ [C, C]; the best of
//    the three), timed in the same run; MFU divides the model's FLOP/s
//    (counts.ts' flopsPerToken x tokens/s) by it.
//  - Tensor counts are tf.memory() after steps 10 and 100 of one run.
//  - Generation is sample.ts' generate() from a blockSize-long prompt, with
//    the KV cache and with full recompute, timed end to end.
//  - webgpu rows also carry what a real GPU pays per step whatever its speed
//    (kernels/webgpu/counters.ts counts at the WebGPU API): dispatchesPerStep,
//    bindGroupsPerStep, tfjsKernelsPerStep (kernels run through tfjs' engine),
//    uploadBytesPerStep, readbacksPerStep over a few non-logging steps, with
//    the counters installed for those steps only;
//    encodeMsPerStep, the JavaScript time to issue one step with submission
//    held back to the step's end (so a software GPU does not share the CPU
//    meanwhile): the launch-overhead floor no GPU can beat; gpuMsPerStep, the
//    kernels' GPU time from timestamp queries (tf.time), null without them.
//    `kernels` says which ops ran: generic tfjs ops or the fused kernels.

import * as tf from '@tensorflow/tfjs';
import { makeConfig } from './config';
import type { Dataset } from './data';
import { flopsPerToken, paramCount } from './counts';
import { generate } from './sample';
import { newTrainer, type Trainer } from './train';
import { deviceIdle } from './kernels/webgpu/idle';
import { trainLoop } from './train-loop';
import { kernelsOf, useTiledMatmul, type Kernels } from './kernels/mode';
import { measureGpuSteps, measureStepMemory, sync, type GpuStepFigures } from './bench-step';

export { measureGpuSteps, measureStepMemory, type GpuStepFigures as BenchGpuFigures };
import { matmulGflopsOf, median, mfuOf, modelGflopsOf, stepsPerRepeat } from './benchreport';
import { benchSettings, type BenchRequest, type BenchRow, type ProfileEntry } from './bench-defs';
import { matMul2d } from './ops';
import { releasePooledBuffers } from './kernels/webgpu/oom';
import { NULL_ADAPTER_CEILING } from './benchreport';

/** A row's request (bench-defs.ts: what it may spend, defaults filled in there) and what only the shell has. */
export interface BenchOptions extends BenchRequest {
  /** The text to train and generate on; only its vocabulary size matters for speed. */
  dataset: Dataset;
  /**
   * This process's CPU time in ms (Node: process.cpuUsage), if the shell has
   * one: training and the matmul are then also timed in CPU time, which other
   * processes on a shared machine do not inflate (the wasm backend in Node
   * runs on one thread, so CPU time is its compute time).
   */
  cpuClock?: () => number;
  /** Runtime details to attach to the row (threads, user agent, ...). */
  env?: Record<string, string | number | boolean>;
  /** Progress lines ("baby: first step 812 ms"). */
  log?: (line: string) => void;
  /**
   * The WebGPU adapter's name for the row ("null" for Dawn's null backend).
   * On the null adapter nothing runs: the row is a ceiling (no GPU work), with
   * no GPU time, and its losses are not results.
   */
  adapter?: string;
  /** Checked between phases: stop early (throws BenchAborted). */
  signal?: { aborted: boolean };
}

export class BenchAborted extends Error {
  override name = 'BenchAborted';
}

/** Wall-clock and (where there is a CPU clock) CPU milliseconds of some work. */
interface Timing {
  wallMs: number;
  cpuMs: number;
}

async function timed(work: () => Promise<void>, cpuClock?: () => number): Promise<Timing> {
  const c0 = cpuClock?.() ?? 0;
  const t0 = performance.now();
  await work();
  const wallMs = performance.now() - t0;
  return { wallMs, cpuMs: cpuClock ? cpuClock() - c0 : NaN };
}

/** Train on to step `until` through the training loop, as a run does (the bench's config reaches no evaluation). */
async function trainTo(trainer: Trainer, until: number): Promise<void> {
  for await (const ev of trainLoop(trainer, { until })) void ev;
}

function timeSteps(trainer: Trainer, steps: number, cpuClock?: () => number): Promise<Timing> {
  return timed(async () => {
    await trainTo(trainer, trainer.step + steps);
    await sync(trainer);
  }, cpuClock);
}

/**
 * Dense 2-D matmul throughput [M, K] @ [K, N] in GFLOP/s: median of 3 timed
 * batches of calls after 2 warm-up calls, each batch ended by a scalar
 * readback. `cpu` is the same from CPU time (NaN without a CPU clock).
 * The matmul the model's Linears use (ops.matMul2d with the model's `kernels`:
 * the tiled kernel on the fused path of a CPU adapter), so MFU compares the
 * step with its own GEMM.
 */
export async function measureMatmul(
  kernels: Kernels,
  M: number,
  K: number,
  N: number,
  budgetMs = 1500,
  cpuClock?: () => number,
): Promise<{ wall: number; cpu: number }> {
  const a = tf.randomNormal([M, K]) as tf.Tensor2D;
  const b = tf.randomNormal([K, N]) as tf.Tensor2D;
  const run = (calls: number) =>
    timed(async () => {
      let last: tf.Tensor | null = null;
      for (let i = 0; i < calls; i++) {
        last?.dispose();
        last = matMul2d(kernels, a, b, false, false);
      }
      const s = tf.sum(last!);
      await s.data();
      s.dispose();
      last!.dispose();
    }, cpuClock);
  try {
    await run(1);
    const one = await run(1);
    const calls = Math.max(1, Math.min(50, Math.floor(budgetMs / 3 / Math.max(one.wallMs, 0.01))));
    const wall: number[] = [];
    const cpu: number[] = [];
    for (let r = 0; r < 3; r++) {
      const t = await run(calls);
      wall.push(matmulGflopsOf(M, K, N, t.wallMs / calls));
      cpu.push(matmulGflopsOf(M, K, N, t.cpuMs / calls));
    }
    return { wall: median(wall), cpu: median(cpu) };
  } finally {
    a.dispose();
    b.dispose();
  }
}

/** Step a trainer on to `step` (if it is not there yet), then read tf.memory(). */
async function memoryAt(trainer: Trainer, step: number): Promise<{ numTensors: number; numBytes: number }> {
  await trainTo(trainer, step);
  await sync(trainer);
  const { numTensors, numBytes } = tf.memory();
  return { numTensors, numBytes };
}

/** Generation speed (new chars/s) with or without the KV cache, within a time budget. */
async function measureGeneration(trainer: Trainer, useCache: boolean, tokens: number, budgetMs: number): Promise<{ tokensPerSec: number; tokens: number }> {
  const { model, data } = trainer;
  const prompt = data.text.slice(0, model.config.blockSize);
  const gen = async (n: number) => {
    const t0 = performance.now();
    await generate(model, data.tokenizer, { prompt, maxNewTokens: n, temperature: 0.8, seed: 1, useCache });
    return performance.now() - t0;
  };
  const probe = Math.min(4, tokens);
  const probeMs = await gen(probe); // also warms up (traces, compiles)
  const n = Math.max(probe, Math.min(tokens, Math.floor((budgetMs * probe) / Math.max(probeMs, 1e-3))));
  const ms = await gen(n);
  return { tokensPerSec: (n * 1000) / ms, tokens: n };
}

/** Per-kernel time of `steps` training steps (tf.profile), heaviest first. */
async function profileSteps(trainer: Trainer, steps: number): Promise<ProfileEntry[]> {
  const info = await tf.profile(async () => {
    await trainTo(trainer, trainer.step + steps);
    await sync(trainer);
  });
  const byKernel = new Map<string, { ms: number; calls: number }>();
  for (const k of info.kernels) {
    // Op-level wrappers (fusedMatMul__op, customGrad's 'forward') contain kernels that are listed on their own.
    if (k.name.endsWith('__op') || k.name === 'forward') continue;
    const e = byKernel.get(k.name) ?? { ms: 0, calls: 0 };
    e.ms += typeof k.kernelTimeMs === 'number' ? k.kernelTimeMs : 0;
    e.calls++;
    byKernel.set(k.name, e);
  }
  return [...byKernel.entries()]
    .map(([kernel, e]) => ({ kernel, msPerStep: e.ms / steps, callsPerStep: e.calls / steps }))
    .sort((a, b) => b.msPerStep - a.msPerStep || b.callsPerStep - a.callsPerStep);
}

/** Benchmark one preset on the current backend (tf.getBackend()). */
export async function benchPreset(opts: BenchOptions): Promise<BenchRow> {
  const log = opts.log ?? (() => {});
  const check = () => {
    if (opts.signal?.aborted) throw new BenchAborted('benchmark stopped');
  };
  const s = benchSettings(tf.getBackend(), opts); // the same defaults whichever shell asked
  const repeats = s.repeats;
  const cfg = makeConfig({
    preset: opts.preset,
    ...(s.batchSize ? { batchSize: s.batchSize } : {}),
    ...(opts.step ? { step: opts.step } : {}),
    ...(opts.gradAccumSteps ? { gradAccumSteps: opts.gradAccumSteps } : {}),
    ...(opts.recompute ? { recompute: true } : {}),
    maxIters: 1_000_000,
    evalInterval: 1_000_000,
  });
  const kernels = kernelsOf({ mode: opts.kernels, matmul: opts.matmul }); // the benchmarked models' own choice
  const trainer = newTrainer(cfg, opts.dataset, { kernels });
  const mcfg = trainer.model.config;
  const { batchSize: B, blockSize: T } = trainer.cfg;
  const C = mcfg.nEmbd;
  const webgpu = tf.getBackend() === 'webgpu';
  const matmulKernel = useTiledMatmul(kernels) ? 'tiled' : 'tfjs'; // the fused path's matmul that runs (kernels/mode.ts)
  const name = `${tf.getBackend()} ${opts.preset}${webgpu ? ` ${kernels.mode}${kernels.mode === 'fused' ? ` (${matmulKernel} matmul)` : ''} ${cfg.step}` : ''}`;
  let live: Trainer[] = [trainer]; // disposed at the end, whatever happens
  try {
    // The backend's own dense matmul throughput at the model's GEMM shapes (the
    // MLP's two and the attention projection's), best of the three: a backend
    // may pick a slow program for one shape (WebGPU's tiling heuristics).
    let matmul = { wall: 0, cpu: 0 };
    let matmulShape = '';
    for (const [M, K, N] of [
      [B * T, C, 4 * C],
      [B * T, 4 * C, C],
      [B * T, C, C],
    ]) {
      const m = await measureMatmul(kernels, M, K, N, 1000, opts.cpuClock);
      log(`${name}: matmul [${M}x${K}]@[${K}x${N}] ${m.wall.toFixed(2)} GFLOP/s`);
      if (m.wall > matmul.wall) [matmul, matmulShape] = [m, `${M}x${K}@${K}x${N}`];
      check();
    }
    const matmulGflops = matmul.wall;
    releasePooledBuffers(); // webgpu: the matmul probes' buffers back to the device (a 512 MB one needs them)

    const firstStepMs = (await timeSteps(trainer, 1)).wallMs;
    log(`${name}: first step ${firstStepMs.toFixed(0)} ms`);
    const warmup = s.warmupSteps;
    const warmMs = warmup > 0 ? (await timeSteps(trainer, warmup)).wallMs / warmup : firstStepMs;
    // Tensor counts: this run's steps 10 (now, untimed) and 100 (after the timing) if
    // the ~100 steps fit the count budget; else a tiny stand-in run after the rest.
    const fullCount = !opts.trainingOnly && (100 - trainer.step) * warmMs <= s.countBudgetMs;
    const at10 = fullCount ? await memoryAt(trainer, 10) : null;
    const mem = await measureStepMemory(trainer);
    log(
      `${name}: peak ${(mem.peakBytes / 2 ** 20).toFixed(1)} MiB of tensors in a step${mem.gpuAllocatedBytes !== null ? `, ${(mem.gpuAllocatedBytes / 2 ** 20).toFixed(1)} MiB of GPU buffers held` : ''}`,
    );
    const nullAdapter = opts.adapter === 'null';
    const gpu = await measureGpuSteps(trainer, 3, opts.cpuClock, !nullAdapter, !nullAdapter); // the null adapter's timestamps measure nothing
    releasePooledBuffers(); // its steps held every buffer to the step's end (no reuse): give those back
    if (gpu)
      log(
        `${name}: ${gpu.dispatchesPerStep} dispatches, ${gpu.bindGroupsPerStep} bind groups, ${gpu.tfjsKernelsPerStep} tfjs kernels, ${gpu.encodeMsPerStep.toFixed(1)} ms encode (${gpu.encodeCpuMsPerStep?.toFixed(1) ?? '-'} ms cpu), ${gpu.uploadBytesPerStep} upload bytes, ${gpu.readbacksPerStep} readbacks per step; gpu ${gpu.gpuMsPerStep === null ? '-' : gpu.gpuMsPerStep.toFixed(1)} ms`,
      );
    const steps = stepsPerRepeat(warmMs, repeats, s.trainBudgetMs);
    const rates: number[] = [];
    const cpuRates: number[] = [];
    for (let r = 0; r < repeats; r++) {
      check();
      const t = await timeSteps(trainer, steps, opts.cpuClock);
      rates.push((steps * trainer.tokensPerStep * 1000) / t.wallMs);
      cpuRates.push((steps * trainer.tokensPerStep * 1000) / t.cpuMs);
    }
    const tokensPerSec = median(rates);
    const msPerStep = (trainer.tokensPerStep * 1000) / tokensPerSec;
    log(`${name}: ${tokensPerSec.toFixed(0)} tok/s, ${msPerStep.toFixed(1)} ms/step (${repeats} x ${steps} steps)`);

    let profile: ProfileEntry[] | undefined;
    if (opts.profileSteps && opts.profileSteps > 0) {
      check();
      profile = await profileSteps(trainer, opts.profileSteps);
    }

    check();
    const skipped = { tokensPerSec: NaN, tokens: 0 };
    let cached = skipped;
    let recompute = skipped;
    if (!opts.trainingOnly) {
      const genTokens = s.genTokens;
      const genBudget = s.genBudgetMs;
      cached = await measureGeneration(trainer, true, genTokens, genBudget);
      check();
      recompute = await measureGeneration(trainer, false, genTokens, genBudget);
      log(`${name}: generation ${cached.tokensPerSec.toFixed(1)} tok/s with KV cache, ${recompute.tokensPerSec.toFixed(1)} recomputing`);
    }

    check();
    let counts: { at10: { numTensors: number; numBytes: number }; at100: { numTensors: number; numBytes: number } };
    let countRun = 'full';
    if (opts.trainingOnly) {
      countRun = 'skipped';
      const now = tf.memory();
      counts = { at10: at10 ?? now, at100: now };
    } else if (at10 && trainer.step <= 100) {
      counts = { at10, at100: await memoryAt(trainer, 100) };
    } else {
      countRun = 'B1xT8';
      disposeTrainer(trainer);
      live = [];
      const standIn = newTrainer(
        makeConfig({
          preset: opts.preset,
          batchSize: 1,
          blockSize: 8,
          ...(opts.step ? { step: opts.step } : {}),
          maxIters: 1_000_000,
          evalInterval: 1_000_000,
        }),
        opts.dataset,
        { kernels },
      );
      live = [standIn];
      counts = { at10: await memoryAt(standIn, 10), at100: await memoryAt(standIn, 100) };
    }
    log(`${name}: tensors ${counts.at10.numTensors} at step 10, ${counts.at100.numTensors} at step 100 (${countRun} run)`);

    const params = paramCount(mcfg);
    const fpt = flopsPerToken(mcfg);
    const modelGflops = modelGflopsOf(fpt, tokensPerSec);
    return {
      backend: tf.getBackend(),
      preset: opts.preset,
      ...(webgpu ? { kernels: kernels.mode, ...(kernels.mode === 'fused' ? { matmulKernel } : {}), step: trainer.stepMode.step } : {}),
      ...(gpu ?? {}),
      ...(opts.adapter !== undefined ? { adapter: opts.adapter } : {}),
      ...(nullAdapter ? { ceiling: NULL_ADAPTER_CEILING } : {}),
      peakBytes: mem.peakBytes,
      ...(mem.gpuAllocatedBytes !== null ? { gpuAllocatedBytes: mem.gpuAllocatedBytes } : {}),
      params: params.total,
      nonEmbeddingParams: params.nonEmbedding,
      vocabSize: mcfg.vocabSize,
      batchSize: B,
      ...(trainer.cfg.gradAccumSteps > 1 ? { gradAccumSteps: trainer.cfg.gradAccumSteps } : {}),
      ...(trainer.cfg.recompute ? { recompute: true } : {}),
      blockSize: T,
      flopsPerToken: fpt,
      tokensPerSec,
      msPerStep,
      modelGflops,
      matmulGflops,
      matmulShape,
      mfu: mfuOf(modelGflops, matmulGflops),
      firstStepMs,
      tensorsAtStep10: counts.at10.numTensors,
      tensorsAtStep100: counts.at100.numTensors,
      bytesAtStep10: counts.at10.numBytes,
      bytesAtStep100: counts.at100.numBytes,
      countRun,
      genTokensPerSecCached: cached.tokensPerSec,
      genTokensPerSecRecompute: recompute.tokensPerSec,
      genTokensCached: cached.tokens,
      genTokensRecompute: recompute.tokens,
      ...(opts.cpuClock
        ? { cpuTokensPerSec: median(cpuRates), cpuMatmulGflops: matmul.cpu, cpuMfu: mfuOf(modelGflopsOf(fpt, median(cpuRates)), matmul.cpu) }
        : {}),
      repeats,
      stepsPerRepeat: steps,
      tokensPerSecRepeats: rates,
      ...(profile ? { profile } : {}),
      ...(opts.env ? { env: opts.env } : {}),
      date: new Date().toISOString(),
    };
  } finally {
    for (const t of live) disposeTrainer(t);
    // The row's buffers back to the device before the next row: tfjs' pool released, then the queue drained,
    // which is when Dawn frees a destroyed buffer's memory (a 512 MB device cannot hold two rows of `small`).
    releasePooledBuffers();
    await deviceIdle();
  }
}

function disposeTrainer(t: Trainer): void {
  t.model.dispose();
  t.dispose();
}
