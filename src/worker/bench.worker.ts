/// <reference lib="webworker" />
// The bench page's worker: starts one backend, then runs core/bench.ts'
// benchPreset for each preset the page asks for and posts the rows. The page
// starts a fresh worker per backend, so each backend initialises alone and a
// failing one (no WebGPU adapter, a lost device) cannot disturb the others.

import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-webgpu';
import { getThreadsCount, setThreadsCount, setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import wasmPlainUrl from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm?url';
import wasmSimdUrl from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm?url';
import wasmThreadedUrl from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-threaded-simd.wasm?url';
import { webgpuProblem, type BackendName } from '../core/backend';
import { benchPreset } from '../core/bench';
import { builtinCorpus } from '../core/corpus';
import { Dataset } from '../core/data';
import type { FromBenchWorker, ToBenchWorker } from './protocol';
import { webgpuAdapterInfo, webgpuDevice } from '../core/kernels/tfjs-internals';

declare const self: DedicatedWorkerGlobalScope;

setWasmPaths({
  'tfjs-backend-wasm.wasm': wasmPlainUrl,
  'tfjs-backend-wasm-simd.wasm': wasmSimdUrl,
  'tfjs-backend-wasm-threaded-simd.wasm': wasmThreadedUrl,
});

function post(msg: FromBenchWorker): void {
  self.postMessage(msg);
}

let dataset: Dataset | null = null;
let env: Record<string, string | number | boolean> = {};

/** Tiny Shakespeare from the dev server's cache if present, else the built-in corpus (only the vocabulary size matters). */
async function loadDataset(): Promise<{ data: Dataset; corpus: string }> {
  try {
    const res = await fetch('/data/cache/tinyshakespeare.txt');
    if (res.ok) return { data: new Dataset(await res.text()), corpus: 'shakespeare' };
  } catch {
    // offline or not served: fall through
  }
  return { data: new Dataset(builtinCorpus({ chars: 200_000 }).text), corpus: 'builtin' };
}

async function describe(backend: BackendName): Promise<Record<string, string | number | boolean>> {
  const out: Record<string, string | number | boolean> = {
    runtime: 'browser worker',
    userAgent: navigator.userAgent,
    crossOriginIsolated: self.crossOriginIsolated,
    hardwareConcurrency: navigator.hardwareConcurrency,
  };
  if (backend === 'wasm') {
    out.simd = (await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT')) as boolean;
    out.multithread = (await tf.env().getAsync('WASM_HAS_MULTITHREAD_SUPPORT')) as boolean;
    out.threads = getThreadsCount();
  }
  if (backend === 'webgpu') {
    const info = webgpuAdapterInfo();
    out.adapter = [info.vendor, info.architecture].filter(Boolean).join(' ') || 'unknown';
    out.timestampQuery = webgpuDevice()?.features?.has('timestamp-query') ?? false;
  }
  if (backend === 'webgl') out.webglVersion = tf.env().getNumber('WEBGL_VERSION');
  return out;
}

self.onmessage = async (e: MessageEvent<ToBenchWorker>) => {
  const msg = e.data;
  try {
    if (msg.type === 'init') {
      if (msg.backend === 'webgpu') {
        const problem = await webgpuProblem();
        if (problem) throw new Error(`webgpu: ${problem}`);
      }
      if (msg.backend === 'wasm' && msg.wasmThreads) setThreadsCount(msg.wasmThreads);
      if (!tf.findBackendFactory(msg.backend)) throw new Error(`${msg.backend}: not available in this build`);
      if (!(await tf.setBackend(msg.backend))) throw new Error(`${msg.backend}: failed to initialise`);
      await tf.ready();
      const loaded = await loadDataset();
      dataset = loaded.data;
      env = { ...(await describe(msg.backend)), corpus: loaded.corpus };
      post({ type: 'ready', backend: msg.backend, env });
    } else if (msg.type === 'run') {
      if (!dataset) throw new Error('run before init');
      const row = await benchPreset({ ...msg.options, dataset, env, log: (line) => post({ type: 'log', line }) });
      post({ type: 'row', row });
    }
  } catch (err) {
    post({ type: 'error', message: (err as Error).message.split('\n')[0] });
  }
};
