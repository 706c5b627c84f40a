// The training page: settings (URL-backed), corpus, run controls, live charts,
// samples, the Generate panel and saved models. DOM only: tfjs lives in the
// worker, which this file drives through the typed messages of protocol.ts.
// This file wires the parts together; each part is a file in src/ui/train/
// (and src/ui/views/ for "see inside the model").

import './style.css';
import { CONTROL_WORDS, type FromWorker } from '../worker/protocol';
import { RunCharts } from './train/charts';
import { ConfigForm } from './train/config-form';
import { GeneratePanel } from './train/generate';
import { showBackend, showNotice, showStepMode } from './train/badge';
import { ViewsPanel } from './views/panel';
import { ModelList } from './train/model-list';
import { configOf, parseSearch } from './train/url';
import { optionsOf } from './page-options';
import { $ } from './dom';
import { exposeOnWindow, initialState, type Send, type TrainPage } from './train/page';
import { settingsChanged, validateSettings, wireCopyCli, writeUrl } from './train/settings';
import { selectCorpus, showCorpusKind, wireCorpusPicker } from './train/corpus-picker';
import { onEval, onProgress, onStatus, onStep, onWorkerError, saveWhenHidden, startRun, wireRunButtons } from './train/run-control';
import { EvalSample, renderProgress, wireChartOptions } from './train/progress';
import { SavedModels } from './train/saved-models';

export type { PageState } from './train/page';

const state = initialState();
const worker = new Worker(new URL('../worker/train.worker.ts', import.meta.url), { type: 'module' });
const send: Send = (msg, transfer = []) => worker.postMessage(msg, transfer);
// Shared control words: Stop reaches a generation even on a backend that never yields.
const control = typeof SharedArrayBuffer !== 'undefined' && globalThis.crossOriginIsolated ? new SharedArrayBuffer(4 * CONTROL_WORDS) : null;
const controlWords = control ? new Int32Array(control) : null;

// ------------------------------------------------------------------ settings and URL

const parsed = parseSearch(location.search);
const settings = parsed.settings;
/** Autosave interval, chart cap, text file limit (page-options.ts). */
const options = optionsOf(settings.options);
const autostart = settings.autostart;
settings.autostart = false; // one-shot: a reload offers to resume instead of starting over
$('url-problems').textContent = parsed.problems.join('; ');

const form = new ConfigForm(settings, { model: $('model-inputs'), train: $('train-inputs'), advanced: $('advanced-inputs') }, $<HTMLSelectElement>('preset'));
const charts = new RunCharts({ loss: $('chart-loss'), lr: $('chart-lr'), tps: $('chart-tps') });
charts.cap = options.chartPoints;
const models = new ModelList($('models-body'), $('models-error'), $('storage-usage'));

const page: TrainPage = {
  state,
  settings,
  options,
  send,
  form,
  charts,
  models,
  views: null,
  corpus: null,
  corpusKind: settings.corpus,
  units: 'nats',
  runActive: false,
  runInit: null,
  settingsValid: false,
  notice: (message) => showNotice(state, message),
};
exposeOnWindow(page);
form.onChange = () => settingsChanged(page);

// ------------------------------------------------------------------ the page's parts

wireCorpusPicker(page);
wireRunButtons(page);
wireCopyCli();
wireChartOptions(page);
const generatePanel = new GeneratePanel(state, send, controlWords);
const views = new ViewsPanel(
  $('views'),
  $<HTMLInputElement>('views-open'),
  {
    send,
    running: () => page.runActive,
    lossHistory: () => charts.history,
    setup: () => (page.corpus ? { config: { ...configOf(settings), vocabSize: page.corpus.vocabSize }, text: page.corpus.text } : null),
    toggled: (open) => {
      settings.views = open;
      writeUrl(settings);
    },
  },
  { prompt: $<HTMLTextAreaElement>('gen-prompt'), sample: $('eval-sample'), generate: $('gen-output') },
);
page.views = views;
const saved = new SavedModels(page);
const evalSample = new EvalSample(page);

// ------------------------------------------------------------------ worker messages

worker.onmessage = (ev: MessageEvent<FromWorker>) => {
  const msg = ev.data;
  if (views.handle(msg) || generatePanel.handle(msg)) return;
  switch (msg.type) {
    case 'backend':
      showBackend(state, msg.name, msg.fallbacks, msg.forced, msg.measured);
      settingsChanged(page); // the memory line depends on the backend's kernels
      break;
    case 'status':
      onStatus(page, msg);
      break;
    case 'stepMode':
      showStepMode(msg.step, msg.reason);
      break;
    case 'progress':
      onProgress(page, msg);
      break;
    case 'step':
      onStep(page, msg);
      break;
    case 'eval':
      onEval(page, msg);
      break;
    case 'checkpoint':
      void saved.storeCheckpoint(msg);
      break;
    case 'tokens':
      evalSample.tokens(msg);
      break;
    case 'model':
      saved.onModel(msg);
      break;
    case 'notice':
      page.notice(msg.message);
      break;
    case 'error':
      state.error = msg.message;
      if (msg.scope === 'run' || msg.scope === 'backend') $('run-error').textContent = msg.message;
      else if (msg.scope === 'load') saved.loadFailed(msg.message);
      break;
  }
};
worker.onerror = (e) => onWorkerError(page, e);
saveWhenHidden(page);

// ------------------------------------------------------------------ start up

send({ type: 'init', forced: settings.backend, measure: settings.measure === true, control });
if (settings.views) views.setOpen(true);
showCorpusKind(page, settings.corpus);
settingsChanged(page);
renderProgress(page);
void (async () => {
  await models.refresh();
  await selectCorpus(page, settings.corpus);
  if (autostart && page.corpus && validateSettings(page)) await startRun(page);
  else await saved.offerResume();
})();
