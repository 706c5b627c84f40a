// Which backend trains this model faster, by measurement: a few timed steps
// of the run's own model (its shape, micro-batch and kernels) on each
// candidate backend, the fastest kept. The automatic choice (the page's
// default, the CLI's `--backend auto`) uses it where the adapter rule
// (backend.ts' cpuAdapterReason) cannot decide: a real GPU against WASM's
// SIMD kernels, where a small model on a weak GPU can lose to the CPU on
// per-dispatch overhead and a large one wins by a wide margin.
//
// Why a probe and not a rule: the crossover depends on the GPU, the CPU, the
// browser and the model, none of which the page can know in advance; a few
// steps cost a fraction of a second to seconds, once per model shape.
// The probe's trainer is its own (same seed, same data): the run that follows
// starts from scratch on the chosen backend and is unaffected.

import * as tf from '@tensorflow/tfjs';
import type { Config } from './config';
import type { Dataset } from './data';
import { BACKEND_LABELS, type BackendName } from './choices';
import { kernelPathOf, predictMemory, WASM_HEAP_BYTES, formatBytes } from './memory';
import { newTrainer, type Trainer } from './train';

/** One backend's measurement: ms per training step of the model, or why it was not measured. */
export interface BackendTiming {
  name: BackendName;
  msPerStep: number | null;
  problem: string | null;
}

export interface ProbeChoice {
  name: BackendName;
  timings: BackendTiming[];
  /** One line for the badge and the log, e.g. "WASM: 12.3x WebGPU for this model (3 timed steps each)". */
  reason: string;
}

/** Steps before the timing starts: on webgpu the first step is eager, the second is captured, replays follow (train.ts). */
export const PROBE_WARMUP = 2;
/** Timed steps per backend. */
export const PROBE_STEPS = 3;

/** The probe's run: the model and micro-batch of `cfg`, one micro-batch per step, no evaluation, a loss readback every step. */
function probeConfig(cfg: Config): Config {
  const steps = PROBE_WARMUP + PROBE_STEPS;
  return { ...cfg, gradAccumSteps: 1, maxIters: steps, warmupIters: 0, logInterval: 1, evalInterval: steps + 1 };
}

/** Why `backend` cannot run the model at all (its memory), or null. */
export function probeSkipReason(cfg: Config, backend: BackendName, vocabSize: number): string | null {
  if (backend !== 'wasm') return null;
  const peak = predictMemory({ ...probeConfig(cfg), vocabSize }, kernelPathOf('wasm')).peakBytes;
  return peak > WASM_HEAP_BYTES ? `needs ${formatBytes(peak)}, over WASM's ${formatBytes(WASM_HEAP_BYTES)} heap` : null;
}

/** ms per step of `cfg` on the current tfjs backend: PROBE_WARMUP steps, then PROBE_STEPS timed, each ending in its loss readback. */
export async function timeSteps(cfg: Config, data: Dataset, now: () => number = () => performance.now()): Promise<number> {
  let trainer: Trainer | null = null;
  try {
    trainer = newTrainer(probeConfig(cfg), data);
    for (let i = 0; i < PROBE_WARMUP; i++) await trainer.trainStep();
    const t0 = now();
    for (let i = 0; i < PROBE_STEPS; i++) await trainer.trainStep();
    return (now() - t0) / PROBE_STEPS;
  } finally {
    trainer?.model.dispose();
    trainer?.dispose();
  }
}

/**
 * Time `candidates` in order (each must be registered with tfjs) and leave the
 * fastest as tfjs' backend. A candidate that fails to start or to train
 * (out of memory, say) is reported with its problem; at least one must run.
 */
export async function probeBackends(cfg: Config, data: Dataset, candidates: BackendName[], now?: () => number): Promise<ProbeChoice> {
  const timings: BackendTiming[] = [];
  for (const name of candidates) {
    const skip = probeSkipReason(cfg, name, data.tokenizer.vocabSize);
    if (skip) {
      timings.push({ name, msPerStep: null, problem: skip });
      continue;
    }
    try {
      if (!(await tf.setBackend(name))) throw new Error('failed to initialise');
      await tf.ready();
      timings.push({ name, msPerStep: await timeSteps(cfg, data, now), problem: null });
    } catch (e) {
      timings.push({ name, msPerStep: null, problem: (e as Error).message.split('\n')[0] });
    }
  }
  const choice = pickFastest(timings);
  if (tf.getBackend() !== choice.name) await tf.setBackend(choice.name);
  await tf.ready();
  return choice;
}

/** The fastest measured timing and the line that says why (pure: tests check its wording). */
export function pickFastest(timings: BackendTiming[]): ProbeChoice {
  const ran = timings.filter((t): t is BackendTiming & { msPerStep: number } => t.msPerStep !== null);
  if (ran.length === 0) throw new Error(`no backend could train this model: ${timings.map((t) => `${t.name}: ${t.problem}`).join('; ')}`);
  const best = ran.reduce((a, b) => (b.msPerStep < a.msPerStep ? b : a));
  const others = timings.filter((t) => t !== best);
  const parts = others.map((t) =>
    t.msPerStep === null ? `${BACKEND_LABELS[t.name]} ${t.problem}` : `${(t.msPerStep / best.msPerStep).toFixed(1)}x ${BACKEND_LABELS[t.name]}`,
  );
  const reason = `${BACKEND_LABELS[best.name]}: ${parts.join(', ')} for this model (${best.msPerStep.toFixed(1)} ms/step; ${PROBE_STEPS} timed steps each)`;
  return { name: best.name, timings, reason };
}
