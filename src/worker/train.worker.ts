/// <reference lib="webworker" />
// The training page's worker: owns tfjs, the backend, the run and the model.
// It trains one step at a time and yields to its message loop between steps,
// so Pause / Resume / Stop / Step act within one step; metrics go to the page
// in batches about every 100 ms; checkpoints go as transferable buffers.
// If the WebGPU device is lost, it falls back to the next backend and
// continues from the last checkpoint.
//
// This file only routes the page's messages (protocol.ts); the work lives in
// backend.ts (backends, device loss), run.ts (the training loop),
// models.ts (load, generate), checkpoints.ts (checkpoints out), views.ts
// (the page's views), with their shared state in state.ts.

import { BROWSER_ORDER } from '../core/backend';
import { initBackend, loseDevice } from './backend';
import { exportModel } from './checkpoints';
import { generateText, load } from './models';
import type { ToWorker } from './protocol';
import { controlRun, start } from './run';
import { errorLine, post, setStatus, state, views } from './state';

declare const self: DedicatedWorkerGlobalScope;

/** Settles once a backend is chosen: messages that need tensors wait for it. */
let ready: Promise<void> = Promise.resolve();

self.onmessage = (ev: MessageEvent<ToWorker>) => {
  const msg = ev.data;
  switch (msg.type) {
    case 'init':
      state.control = msg.control ? new Int32Array(msg.control) : null;
      state.order = msg.forced ? [msg.forced] : BROWSER_ORDER;
      state.auto = msg.forced === null;
      state.measure = msg.measure;
      ready = initBackend(msg.forced).catch((e) => {
        setStatus('error');
        post({ type: 'error', scope: 'backend', message: errorLine(e) });
      });
      return;
    case 'start':
      void ready.then(() => start(msg));
      return;
    case 'pause':
    case 'resume':
    case 'step':
    case 'save':
    case 'stop':
      controlRun(msg.type);
      return;
    case 'stopGenerate':
      state.generateAbort = true;
      return;
    case 'load':
      void ready.then(() => load(new Uint8Array(msg.bytes), msg.name));
      return;
    case 'generate':
      void ready.then(() => generateText(msg.id, msg.options));
      return;
    case 'export':
      void ready.then(exportModel);
      return;
    case 'views':
    case 'inspect':
      void ready.then(() => views.handle(msg));
      return;
    case 'debugLoseDevice':
      loseDevice();
      return;
  }
};
