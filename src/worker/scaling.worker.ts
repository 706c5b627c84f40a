/// <reference lib="webworker" />
// The scaling lab's worker: owns tfjs and the backend, calibrates throughput per
// ladder size and runs the sweep (core/scaling/sweep-run.ts), posting every sweep event
// to the page. The page saves each finished run the moment it arrives.

import '@tensorflow/tfjs-backend-webgpu';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import wasmPlainUrl from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm?url';
import wasmSimdUrl from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm?url';
import wasmThreadedUrl from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-threaded-simd.wasm?url';
import { BROWSER_ORDER, chooseBackend } from '../core/backend';
import { Dataset } from '../core/data';
import { calibrate, runSweep } from '../core/scaling/sweep-run';
import type { FromScalingWorker, ToScalingWorker } from './protocol';

declare const self: DedicatedWorkerGlobalScope;

setWasmPaths({
  'tfjs-backend-wasm.wasm': wasmPlainUrl,
  'tfjs-backend-wasm-simd.wasm': wasmSimdUrl,
  'tfjs-backend-wasm-threaded-simd.wasm': wasmThreadedUrl,
});

const post = (msg: FromScalingWorker) => self.postMessage(msg);
const errorLine = (e: unknown) => (e instanceof Error ? e.message : String(e)).split('\n')[0];

let ready: Promise<void> = Promise.resolve();
/** The running sweep's stop flag (checked between steps by trainLoop). */
let signal: { aborted: boolean } | null = null;
/** The last text's dataset, kept so calibrate-then-start tokenizes once. */
let cached: { text: string; data: Dataset } | null = null;

function datasetFor(text: string): Dataset {
  if (cached?.text !== text) cached = { text, data: new Dataset(text) };
  return cached.data;
}

/** Let queued messages (Stop) in between steps: the sweep generator awaits this every event. */
const yieldToEvents = () => new Promise<void>((r) => setTimeout(r, 0));

async function start(msg: Extract<ToScalingWorker, { type: 'start' }>): Promise<void> {
  await ready;
  signal = { aborted: false };
  const mine = signal;
  try {
    for await (const event of runSweep(msg.spec, datasetFor(msg.text), { done: msg.done, signal: mine })) {
      post({ type: 'sweep', event });
      await yieldToEvents();
    }
  } catch (e) {
    post({ type: 'error', message: errorLine(e) });
  } finally {
    if (signal === mine) signal = null;
  }
}

self.onmessage = (ev: MessageEvent<ToScalingWorker>) => {
  const msg = ev.data;
  switch (msg.type) {
    case 'init':
      ready = chooseBackend(msg.forced ? [msg.forced] : BROWSER_ORDER).then(
        (choice) => post({ type: 'backend', name: choice.name, fallbacks: choice.fallbacks }),
        (e) => post({ type: 'error', message: errorLine(e) }),
      );
      break;
    case 'calibrate':
      void (async () => {
        await ready;
        try {
          const calibration = await calibrate(msg.spec, datasetFor(msg.text), {
            steps: msg.steps,
            onSize: (done, total) => post({ type: 'calibrating', done, total }),
          });
          post({ type: 'calibration', calibration });
        } catch (e) {
          post({ type: 'error', message: errorLine(e) });
        }
      })();
      break;
    case 'start':
      void start(msg);
      break;
    case 'stop':
      if (signal) signal.aborted = true;
      break;
  }
};
