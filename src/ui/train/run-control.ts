// Run control on the training page: Start (a fresh run, a resume or a
// fine-tune), Pause, Resume, Step and Stop, one tab per run (run-lock.ts), and
// the worker's run messages (status, progress, evaluations) that move the
// buttons, the charts and the progress line.

import type { Config } from '../../core/config';
import { formatCount, formatDuration, formatParams } from '../../core/format';
import type { FromWorker } from '../../worker/protocol';
import { errorMessage, rememberText } from '../corpus-loader';
import { emptyHistory } from './history';
import { scratchOverlay } from './overlay';
import { lockRun, unlockRun } from './run-lock';
import type { SavedModel } from '../storage';
import { announceChange } from '../storage-sync';
import { configOf } from './url';
import { $ } from '../dom';
import type { TrainPage } from './page';
import { renderProgress } from './progress';

export function updateButtons(page: TrainPage): void {
  const { runActive } = page;
  const valid = page.settingsValid;
  const s = page.state.status;
  const running = s === 'compiling' || s === 'training';
  ($('start') as HTMLButtonElement).disabled = runActive || !valid;
  ($('pause') as HTMLButtonElement).disabled = !running;
  ($('resume') as HTMLButtonElement).disabled = s !== 'paused';
  ($('step') as HTMLButtonElement).disabled = runActive ? s === 'compiling' : !valid;
  ($('stop') as HTMLButtonElement).disabled = !runActive;
  page.form.setDisabled(runActive);
  page.models.setBusy(runActive);
  ($('corpus-fields') as HTMLFieldSetElement).disabled = runActive;
}

function newRunId(): string {
  return `run-${Date.now().toString(36)}-${Math.floor(Math.random() * 1e4).toString(36)}`;
}

function resetRunState(page: TrainPage, runId: string, maxIters: number): void {
  Object.assign(page.state, {
    runId,
    step: 0,
    maxIters,
    trainLoss: null,
    valLoss: null,
    tokensPerSec: null,
    msPerStep: null,
    error: null,
    sample: null,
    sampleStep: null,
    savedStep: null,
    resumedFrom: null,
  });
  $('run-error').textContent = '';
}

/** Start a fresh run (or, with `from`, resume or fine-tune one) on the loaded corpus. */
export async function startRun(
  page: TrainPage,
  opts: { paused?: boolean; from?: { mode: 'resume' | 'finetune'; bytes: ArrayBuffer; record: SavedModel } } = {},
): Promise<void> {
  const { state, charts } = page;
  if (!page.corpus || page.runActive) return;
  const record = opts.from?.record;
  const runId = opts.from?.mode === 'resume' && record ? record.runId : newRunId();
  // One tab per run (run-lock.ts): two tabs resuming one run would overwrite each other's saves.
  page.runActive = true;
  if (!(await lockRun(runId))) {
    page.runActive = false;
    const m = `${record?.name ?? runId} is training in another tab: stop it there first, or fine-tune from it here (a new run)`;
    $('models-error').textContent = m;
    state.error = m;
    return;
  }
  const corpus = page.corpus;
  if (!corpus) return void (page.runActive = false);
  const config: Config = opts.from?.mode === 'resume' && record ? record.config : { ...configOf(page.settings), vocabSize: corpus.vocabSize };
  resetRunState(page, runId, config.maxIters);
  page.runActive = true;
  state.status = 'compiling';
  charts.setReferences(corpus.refs);
  charts.reset(opts.from?.mode === 'resume' && record?.history ? record.history : emptyHistory());
  page.runInit =
    opts.from?.mode === 'finetune' && record ? { name: record.name, step: record.step } : opts.from?.mode === 'resume' ? (record?.initFrom ?? null) : null;
  const overlay = page.runInit ? scratchOverlay(page.models.records, corpus.ref.sha256) : null; // a fine-tune vs from scratch on the same text
  charts.setOverlay(overlay);
  if (overlay) page.notice(`Dashed: ${overlay.label} on the same text, for comparison.`);
  if (opts.from?.mode === 'resume' && record) {
    state.resumedFrom = record.step;
    state.step = record.step;
    state.valLoss = record.valLoss;
  }
  void rememberText(corpus).catch((e) => page.notice(`the text could not be stored for resuming (${errorMessage(e)})`));
  page.send(
    {
      type: 'start',
      runId,
      config,
      text: corpus.text,
      corpus: corpus.ref,
      paused: opts.paused,
      from: opts.from ? { mode: opts.from.mode, bytes: opts.from.bytes } : undefined,
      autosaveSec: page.options.autosave,
    },
    opts.from ? [opts.from.bytes] : [],
  );
  renderProgress(page);
  updateButtons(page);
}

export function wireRunButtons(page: TrainPage): void {
  const { send } = page;
  $('start').addEventListener('click', () => void startRun(page));
  $('pause').addEventListener('click', () => send({ type: 'pause' }));
  $('resume').addEventListener('click', () => send({ type: 'resume' }));
  $('step').addEventListener('click', () => (page.runActive ? send({ type: 'step' }) : void startRun(page, { paused: true })));
  $('stop').addEventListener('click', () => send({ type: 'stop' }));
}

// ------------------------------------------------------------------ the worker's run messages

export function onStatus(page: TrainPage, msg: Extract<FromWorker, { type: 'status' }>): void {
  const { state } = page;
  state.status = msg.status;
  state.statusMessage = msg.message ?? null;
  if (msg.status === 'done' || msg.status === 'error') {
    page.runActive = false;
    // Once the browser has the lock back: other tabs may resume this run now, and a list read
    // before that would still show it as training in a tab.
    const done = msg.status === 'done';
    void unlockRun(state.runId).then(() => {
      announceChange();
      if (done) void page.models.refresh();
    });
  }
  if (msg.status === 'error' && !state.error) state.error = msg.message ?? 'the run failed';
  updateButtons(page);
  renderProgress(page);
}

export function onProgress(page: TrainPage, msg: Extract<FromWorker, { type: 'progress' }>): void {
  const { state, charts } = page;
  state.step = msg.step;
  state.maxIters = msg.maxIters;
  if (msg.msPerStep > 0) state.msPerStep = msg.msPerStep;
  if (msg.tokensPerSec > 0) state.tokensPerSec = msg.tokensPerSec;
  state.numTensors = msg.numTensors;
  state.numBytes = msg.numBytes ?? null;
  if (msg.points.length) state.trainLoss = msg.points[msg.points.length - 1].trainLoss;
  if (state.model && state.model.source === state.runId) {
    state.model.step = msg.step;
    $('gen-model').textContent = `· this run at step ${msg.step}, ${formatParams(state.model.params)} params`;
  }
  charts.addPoints(msg.points);
  state.chartRows = charts.history.steps.length;
  renderProgress(page);
}

/** A step the device finished (every step, at most ten a second): the counter, speed and ETA move between loss readbacks. */
export function onStep(page: TrainPage, msg: Extract<FromWorker, { type: 'step' }>): void {
  const { state } = page;
  state.step = msg.step;
  state.maxIters = msg.maxIters;
  if (msg.msPerStep > 0) state.msPerStep = msg.msPerStep;
  if (msg.tokensPerSec > 0) state.tokensPerSec = msg.tokensPerSec;
  if (state.status === 'training')
    state.statusMessage = `step ${formatCount(msg.step)} / ${formatCount(msg.maxIters)} · ${msg.tokensPerSec > 0 ? formatCount(msg.tokensPerSec) : '–'} tok/s · ETA ${formatDuration(msg.etaSec)}`;
  renderProgress(page);
}

export function onEval(page: TrainPage, msg: Extract<FromWorker, { type: 'eval' }>): void {
  page.state.valLoss = msg.valLoss;
  page.charts.addVal(msg.step, msg.valLoss);
  renderProgress(page);
}

/** The worker itself failed (its script did not load): nothing can run until a reload. */
export function onWorkerError(page: TrainPage, e: ErrorEvent): void {
  const m = `the training worker failed to start: ${e.message || 'unknown error'} (reload the page)`;
  page.state.error = m;
  page.state.status = 'error';
  $('run-error').textContent = m;
  renderProgress(page);
}

// A hidden tab may be closed next: save the run now (the worker also autosaves every ?autosave= seconds of training).
export function saveWhenHidden(page: TrainPage): void {
  document.addEventListener('visibilitychange', () => {
    if (document.visibilityState === 'hidden' && page.runActive) page.send({ type: 'save' });
  });
}
