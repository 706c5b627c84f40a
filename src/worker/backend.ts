// The training worker's backend: which tfjs backend it runs on, and what
// happens when the WebGPU device is lost (as a driver reset would): drop the
// dead backend, start the next one in order, and rebuild the model that was
// there. A run going at that moment recovers itself (run.ts, recover()).

import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-webgpu';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import wasmPlainUrl from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm?url';
import wasmSimdUrl from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm?url';
import wasmThreadedUrl from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-threaded-simd.wasm?url';
import { BROWSER_ORDER, chooseBackend, type BackendName } from '../core/backend';
import { probeBackends, type ProbeChoice } from '../core/backend-probe';
import type { Config } from '../core/config';
import { Dataset } from '../core/data';
import { load } from './models';
import { post, setStatus, state } from './state';
import { webgpuDevice as webgpuDeviceOf } from '../core/kernels/tfjs-internals';

// WASM uses threads where the page is cross-origin isolated (COOP/COEP headers
// in dev, preview and the build; tfjs picks half the logical cores) and SIMD.
// The build is not minified because tfjs starts its pthreads from the source
// text of its module factory, which a minifier's renames break (vite.config.ts).

// Vite serves (and the build emits) the three wasm binaries; tell tfjs where.
setWasmPaths({
  'tfjs-backend-wasm.wasm': wasmPlainUrl,
  'tfjs-backend-wasm-simd.wasm': wasmSimdUrl,
  'tfjs-backend-wasm-threaded-simd.wasm': wasmThreadedUrl,
});

/** Thrown by the run loop when the device was lost between steps. */
export class DeviceLostError extends Error {}

export async function initBackend(forced: BackendName | null, prior: string[] = []): Promise<void> {
  const choice = await chooseBackend(state.order, state.measure);
  state.backend = choice.name;
  state.deviceLost = null;
  if (state.backend === 'webgpu') watchDevice();
  post({ type: 'backend', name: state.backend, fallbacks: [...prior, ...choice.fallbacks], forced: forced !== null });
}

/** What the timed steps chose, per model shape and micro-batch: a shape is measured once per page. */
const measured = new Map<string, ProbeChoice>();

/**
 * The automatic choice by measurement (core/backend-probe.ts): where the worker
 * chose WebGPU on its own (a GPU adapter, or ?backend=measure) and WASM is
 * there too, a fresh run's model is timed on both before it is built, and the
 * run trains on the faster; the badge says which and by how much.
 */
export async function measureBackends(config: Config, text: string): Promise<void> {
  if (!state.auto || !tf.findBackendFactory('wasm') || (state.backend !== 'webgpu' && !state.measuredFrom)) return;
  const { nLayer, nHead, nEmbd, blockSize, batchSize, recompute, dropout } = config;
  const key = JSON.stringify([nLayer, nHead, nEmbd, blockSize, batchSize, recompute, dropout, text.length]);
  let choice = measured.get(key);
  if (!choice) {
    setStatus('compiling', 'timing WebGPU and WASM on this model');
    choice = await probeBackends(config, new Dataset(text), ['webgpu', 'wasm']);
    measured.set(key, choice);
  } else if (tf.getBackend() !== choice.name) {
    await tf.setBackend(choice.name);
    await tf.ready();
  }
  state.measuredFrom = 'webgpu';
  state.backend = choice.name;
  post({ type: 'backend', name: choice.name, fallbacks: [], forced: false, measured: choice.reason });
}

function webgpuDevice(): GPUDevice | undefined {
  return webgpuDeviceOf() ?? undefined;
}

/** The tfjs WebGPU backend does not watch for device loss; we do. */
function watchDevice(): void {
  const device = webgpuDevice();
  device?.lost.then(async (info) => {
    if (state.backend !== 'webgpu') return;
    state.deviceLost = info.message || info.reason || 'unknown reason';
    // A run notices at its next step; with no run going, fall back now.
    if (!state.run?.active) {
      const reason = `device lost (${state.deviceLost})`;
      await fallBack(reason);
      post({ type: 'notice', message: `The WebGPU ${reason.replace('device lost', 'device was lost')}: now on ${state.backend}.` });
    }
  });
}

/**
 * Whether an error on WebGPU came from a lost device: a failed readback often
 * arrives before device.lost resolves, so give that promise a moment.
 */
export async function lostReason(e: unknown): Promise<string | null> {
  if (state.deviceLost) return state.deviceLost;
  const device = webgpuDevice();
  if (!device) return e instanceof DeviceLostError ? e.message : null;
  // The failed op (often a readback: "Buffer was unmapped before mapping was resolved") can
  // surface well before device.lost settles on a busy machine: give it 10 s, not 1 (a real
  // error then reaches the page 10 s late, a lost device is never reported as an error).
  const timeout = new Promise<null>((resolve) => setTimeout(() => resolve(null), 10_000));
  const info = await Promise.race([device.lost, timeout]);
  return info ? info.message || info.reason || 'unknown reason' : null;
}

/** Drop the dead backend and start the next one in order; every tensor is gone after this. */
export async function fallBack(reason: string): Promise<void> {
  const from = state.backend ?? 'webgpu';
  const { run, loaded } = state;
  // What to rebuild for generation afterwards: a loaded model, or a finished run's last checkpoint.
  const reload = loaded
    ? { bytes: loaded.bytes, name: loaded.name }
    : run && !run.active && run.lastCheckpoint
      ? { bytes: run.lastCheckpoint, name: run.runId }
      : null;
  state.loaded = null;
  if (!run?.active) state.run = null;
  try {
    tf.engine().reset();
  } catch {
    /* the lost device may throw while disposing; nothing on it is usable anyway */
  }
  state.order = BROWSER_ORDER.slice(BROWSER_ORDER.indexOf(from) + 1);
  state.measuredFrom = null; // the lost WebGPU is not timed again
  await initBackend(null, [`${from}: ${reason}`]);
  if (reload) await load(reload.bytes, reload.name);
}

/** Test hook ('debugLoseDevice'): destroy the WebGPU device, as a driver reset would. */
export function loseDevice(): void {
  const device = webgpuDevice();
  if (state.backend === 'webgpu' && device) device.destroy();
  else post({ type: 'error', scope: 'backend', message: `no WebGPU device to lose (backend is ${state.backend})` });
}
