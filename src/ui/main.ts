// The training page: settings (URL-backed), corpus, run controls, live charts,
// samples, the Generate panel and saved models. DOM only: tfjs lives in the
// worker, which this file drives through the typed messages of protocol.ts.

import './style.css';
import type { BackendName } from '../core/backend';
import type { Config } from '../core/config';
import { CONTROL_WORDS, EVAL_SAMPLE, type CorpusRef, type FromWorker, type RunStatus, type ToWorker } from '../worker/protocol';
import { RunCharts } from './charts';
import { ConfigForm } from './controls';
import { checkLength, errorMessage, fileLimitText, loadBuiltin, loadFile, loadPasted, loadShakespeare, rememberText, textFor, type LoadedCorpus } from './corpus';
import { formatCount, formatDuration, formatLoss, formatParams, type LossUnits } from '../core/format';
import { GeneratePanel } from './generate';
import { showBackend, showNotice } from './badge';
import { ViewsPanel } from './views/panel';
import { ModelList } from './models';
import { emptyHistory } from './history';
import { scratchOverlay } from './overlay';
import { isQuotaError, lastUnfinishedRun, loadModelBytes, saveModel, StorageError, type SavedModel } from './storage';
import { cliCommand, configOf, DEFAULT_PRESET, essentialOverrides, parseSearch, toSearch, type PageSettings } from './url';
import { PRESET_NAMES, PRESETS, type PresetName } from '../core/config';
import { optionsOf } from './page-options';
import { lockRun, runsElsewhere, unlockRun } from './run-lock';
import { announceChange } from './storage-sync';
import { flopsPerToken, paramCount } from '../core/counts';

const $ = <T extends HTMLElement = HTMLElement>(id: string) => {
  const el = document.getElementById(id);
  if (!el) throw new Error(`page is missing #${id}`);
  return el as T;
};

// ------------------------------------------------------------------ state for automation

/** What scripts and tests can read at window.tabgpt.state (a frozen copy). */
export interface PageState {
  backend: BackendName | null;
  backendReason: string | null;
  status: RunStatus;
  statusMessage: string | null;
  step: number;
  maxIters: number;
  trainLoss: number | null;
  valLoss: number | null;
  tokensPerSec: number | null;
  msPerStep: number | null;
  error: string | null;
  /** The latest evaluation sample, complete. */
  sample: string | null;
  sampleStep: number | null;
  /** The Generate panel's output and whether it is still streaming. */
  generated: string;
  generating: boolean;
  /** Step of the last checkpoint stored in IndexedDB. */
  savedStep: number | null;
  /** Step a resumed run continued from. */
  resumedFrom: number | null;
  corpus: { kind: CorpusRef['kind']; chars: number; vocabSize: number } | null;
  /** The model the Generate panel uses. */
  model: { source: string; step: number; params: number } | null;
  runId: string | null;
  notices: string[];
  /** tf.memory().numTensors in the worker at the last logged step (constant unless something leaks). */
  numTensors: number | null;
  /** tf.memory().numBytes in the worker at the last logged step. */
  numBytes: number | null;
  /** Rows the loss chart holds (thinned beyond ?chartPoints=). */
  chartRows: number;
  /** A text file being read: bytes so far of its size. */
  corpusRead: { bytes: number; total: number } | null;
  /** Whether the browser made storage persistent (asked at the first save; null before). */
  storagePersistent: boolean | null;
}

const state: PageState = {
  backend: null, backendReason: null, status: 'idle', statusMessage: null, step: 0, maxIters: 0, trainLoss: null, valLoss: null,
  tokensPerSec: null, msPerStep: null, error: null, sample: null, sampleStep: null, generated: '', generating: false,
  savedStep: null, resumedFrom: null, corpus: null, model: null, runId: null, notices: [], numTensors: null,
  numBytes: null, chartRows: 0, corpusRead: null, storagePersistent: null,
};

const worker = new Worker(new URL('../worker/train.worker.ts', import.meta.url), { type: 'module' });
const send = (msg: ToWorker, transfer: Transferable[] = []) => worker.postMessage(msg, transfer);
// Shared control words: Stop reaches a generation even on a backend that never yields.
const control = typeof SharedArrayBuffer !== 'undefined' && globalThis.crossOriginIsolated ? new SharedArrayBuffer(4 * CONTROL_WORDS) : null;
const controlWords = control ? new Int32Array(control) : null;

Object.defineProperty(window, 'tabgpt', {
  value: Object.freeze({
    get state(): Readonly<PageState> {
      return Object.freeze(structuredClone(state));
    },
    /** The data behind the views ("see inside the model"): src/ui/views/panel.ts' ViewsSnapshot. */
    get views() {
      return views.snapshot();
    },
    /** Test hook: lose the WebGPU device as a driver reset would. */
    debug: Object.freeze({ loseDevice: () => send({ type: 'debugLoseDevice' }) }),
  }),
});

// ------------------------------------------------------------------ settings and URL

const parsed = parseSearch(location.search);
const settings: PageSettings = parsed.settings;
/** Autosave interval, chart cap, text file limit (page-options.ts). */
const options = optionsOf(settings.options);
const autostart = settings.autostart;
settings.autostart = false; // one-shot: a reload offers to resume instead of starting over
$('url-problems').textContent = parsed.problems.join('; ');

const form = new ConfigForm(settings, { model: $('model-inputs'), train: $('train-inputs'), advanced: $('advanced-inputs') }, $<HTMLSelectElement>('preset'));
form.onChange = () => settingsChanged();

let corpus: LoadedCorpus | null = null;
let corpusKind: CorpusRef['kind'] = settings.corpus;
let units: LossUnits = 'nats';
let runActive = false;
/** The current run's origin when it is a fine-tune (stored with its saves; overlay.ts). */
let runInit: SavedModel['initFrom'] | null = null;
const charts = new RunCharts({ loss: $('chart-loss'), lr: $('chart-lr'), tps: $('chart-tps') });
charts.cap = options.chartPoints;
const models = new ModelList($('models-body'), $('models-error'), $('storage-usage'));

function settingsChanged(): void {
  history.replaceState(null, '', location.pathname + toSearch(settings) + location.hash);
  const cfg = configOf(settings);
  const counts = paramCount({ ...cfg, vocabSize: corpus?.vocabSize ?? 0 });
  $('param-count').textContent = `${formatParams(counts.total)} parameters (${formatParams(counts.nonEmbedding)} non-embedding)${corpus ? '' : ' + embeddings of the vocabulary'} · ${formatParams(flopsPerToken({ ...cfg, vocabSize: corpus?.vocabSize ?? 0 }))} FLOPs/token`;
  $('cli-command').textContent = cliCommand(settings, { kind: corpusKind, name: corpus?.ref.name });
  validateSettings();
  views.settingsChanged();
}

/** Validate the config against the corpus; enable Start only when all is well. */
function validateSettings(): boolean {
  const cfg = configOf(settings);
  const short = corpus ? checkLength(corpus, cfg.blockSize) : null;
  const problem = form.check(corpus?.vocabSize ?? 1, undefined, short ? { blockSize: short } : {});
  if (corpus) $('corpus-error').textContent = short ?? ''; // a text too short for this blockSize
  if (short) state.error = short;
  settingsValid = problem === null && corpus !== null;
  updateButtons();
  return settingsValid;
}
let settingsValid = false;

// ------------------------------------------------------------------ corpus

const corpusRadios = [...document.querySelectorAll<HTMLInputElement>('input[name=corpus]')];
function showCorpusKind(kind: CorpusRef['kind']): void {
  corpusKind = kind;
  for (const r of corpusRadios) r.checked = r.value === kind;
  $('paste-box').hidden = kind !== 'paste';
  $('drop-zone').hidden = kind !== 'file';
}

async function useCorpus(load: () => Promise<LoadedCorpus>, label: string): Promise<LoadedCorpus | null> {
  $('corpus-error').textContent = '';
  $('corpus-stats').textContent = `loading ${label}…`;
  try {
    const c = await load();
    corpus = c;
    state.error = null;
    state.corpus = { kind: c.ref.kind, chars: c.chars, vocabSize: c.vocabSize };
    $('corpus-stats').textContent = `${c.ref.name}: ${formatCount(c.chars)} characters, vocabulary ${c.vocabSize}, split ${formatCount(c.trainChars)} train / ${formatCount(c.valChars)} val`;
    if (c.notice) notice(c.notice);
    if (!runActive) charts.setReferences(c.refs);
    settingsChanged();
    return c;
  } catch (e) {
    corpus = null;
    state.corpus = null;
    const msg = errorMessage(e);
    $('corpus-stats').textContent = '';
    $('corpus-error').textContent = msg;
    state.error = msg;
    settingsChanged();
    return null;
  }
}

async function selectCorpus(kind: CorpusRef['kind']): Promise<LoadedCorpus | null> {
  showCorpusKind(kind);
  if (kind === 'shakespeare' || kind === 'builtin') {
    settings.corpus = kind;
    if (kind === 'builtin') return useCorpus(loadBuiltin, 'the built-in corpus');
    const c = await useCorpus(loadShakespeare, 'Tiny Shakespeare');
    if (c) return c;
    notice('Tiny Shakespeare could not be loaded; using the built-in corpus instead.');
    showCorpusKind('builtin');
    return useCorpus(loadBuiltin, 'the built-in corpus');
  }
  corpus = null;
  $('corpus-stats').textContent = kind === 'paste' ? 'paste a text, then "Use this text"' : 'choose or drop a UTF-8 text file';
  settingsChanged();
  return null;
}

for (const r of corpusRadios) r.addEventListener('change', () => void selectCorpus(r.value as CorpusRef['kind']));
$('paste-use').addEventListener('click', () => void useCorpus(() => loadPasted($<HTMLTextAreaElement>('paste-text').value), 'the pasted text'));
const corpusFile = $<HTMLInputElement>('corpus-file');
corpusFile.addEventListener('change', () => {
  const f = corpusFile.files?.[0];
  if (f) void useCorpus(() => readFile(f), f.name);
  corpusFile.value = '';
});
const drop = $('drop-zone');
drop.querySelector('span')!.textContent = `or drop a text file here (${fileLimitText(options.maxTextMB * 1e6)})`;
/** A text file, read in a worker with the size limit and progress in the corpus line. */
function readFile(f: File): Promise<LoadedCorpus> {
  return loadFile(f, options.maxTextMB * 1e6, (bytes, total) => {
    state.corpusRead = { bytes, total };
    $('corpus-stats').textContent = `reading ${f.name}: ${formatCount(bytes)} of ${formatCount(total)} bytes (${total ? Math.floor((100 * bytes) / total) : 100}%)`;
  });
}
const corpusCard = $('corpus-card');
corpusCard.addEventListener('dragover', (e) => {
  e.preventDefault();
  drop.classList.add('over');
});
corpusCard.addEventListener('dragleave', () => drop.classList.remove('over'));
corpusCard.addEventListener('drop', (e) => {
  e.preventDefault();
  drop.classList.remove('over');
  const f = e.dataTransfer?.files[0];
  if (!f || runActive) return;
  showCorpusKind('file');
  void useCorpus(() => readFile(f), f.name);
});

// ------------------------------------------------------------------ run controls

function updateButtons(): void {
  const valid = settingsValid;
  const s = state.status;
  const running = s === 'compiling' || s === 'training';
  ($('start') as HTMLButtonElement).disabled = runActive || !valid;
  ($('pause') as HTMLButtonElement).disabled = !running;
  ($('resume') as HTMLButtonElement).disabled = s !== 'paused';
  ($('step') as HTMLButtonElement).disabled = runActive ? s === 'compiling' : !valid;
  ($('stop') as HTMLButtonElement).disabled = !runActive;
  form.setDisabled(runActive);
  models.setBusy(runActive);
  ($('corpus-fields') as HTMLFieldSetElement).disabled = runActive;
}

function newRunId(): string {
  return `run-${Date.now().toString(36)}-${Math.floor(Math.random() * 1e4).toString(36)}`;
}

function resetRunState(runId: string, maxIters: number): void {
  Object.assign(state, { runId, step: 0, maxIters, trainLoss: null, valLoss: null, tokensPerSec: null, msPerStep: null, error: null, sample: null, sampleStep: null, savedStep: null, resumedFrom: null });
  $('run-error').textContent = '';
}

/** Start a fresh run (or, with `from`, resume or fine-tune one) on the loaded corpus. */
async function startRun(opts: { paused?: boolean; from?: { mode: 'resume' | 'finetune'; bytes: ArrayBuffer; record: SavedModel } } = {}): Promise<void> {
  if (!corpus || runActive) return;
  const record = opts.from?.record;
  const runId = opts.from?.mode === 'resume' && record ? record.runId : newRunId();
  // One tab per run (run-lock.ts): two tabs resuming one run would overwrite each other's saves.
  runActive = true;
  if (!(await lockRun(runId))) {
    runActive = false;
    const m = `${record?.name ?? runId} is training in another tab: stop it there first, or fine-tune from it here (a new run)`;
    $('models-error').textContent = m;
    state.error = m;
    return;
  }
  if (!corpus) return void (runActive = false);
  const config: Config = opts.from?.mode === 'resume' && record ? record.config : { ...configOf(settings), vocabSize: corpus.vocabSize };
  resetRunState(runId, config.maxIters);
  runActive = true;
  state.status = 'compiling';
  charts.setReferences(corpus.refs);
  charts.reset(opts.from?.mode === 'resume' && record?.history ? record.history : emptyHistory());
  runInit = opts.from?.mode === 'finetune' && record ? { name: record.name, step: record.step } : opts.from?.mode === 'resume' ? record?.initFrom ?? null : null;
  const overlay = runInit ? scratchOverlay(models.records, corpus.ref.sha256) : null; // a fine-tune vs from scratch on the same text
  charts.setOverlay(overlay);
  if (overlay) notice(`Dashed: ${overlay.label} on the same text, for comparison.`);
  if (opts.from?.mode === 'resume' && record) {
    state.resumedFrom = record.step;
    state.step = record.step;
    state.valLoss = record.valLoss;
  }
  void rememberText(corpus).catch((e) => notice(`the text could not be stored for resuming (${errorMessage(e)})`));
  send({ type: 'start', runId, config, text: corpus.text, corpus: corpus.ref, paused: opts.paused, from: opts.from ? { mode: opts.from.mode, bytes: opts.from.bytes } : undefined, autosaveSec: options.autosave }, opts.from ? [opts.from.bytes] : []);
  renderProgress();
  updateButtons();
}

$('start').addEventListener('click', () => void startRun());
$('pause').addEventListener('click', () => send({ type: 'pause' }));
$('resume').addEventListener('click', () => send({ type: 'resume' }));
$('step').addEventListener('click', () => (runActive ? send({ type: 'step' }) : void startRun({ paused: true })));
$('stop').addEventListener('click', () => send({ type: 'stop' }));
$('copy-cli').addEventListener('click', async () => {
  const text = $('cli-command').textContent ?? '';
  try {
    await navigator.clipboard.writeText(text);
    $('copy-cli').textContent = 'Copied';
  } catch {
    // Clipboard denied (permissions): select the text so Ctrl+C works.
    getSelection()?.selectAllChildren($('cli-command'));
    $('copy-cli').textContent = 'Press Ctrl+C';
  }
  setTimeout(() => ($('copy-cli').textContent = 'Copy as CLI command'), 1500);
});

// ------------------------------------------------------------------ progress and charts

function renderProgress(): void {
  const s = state;
  const statusEl = $('status');
  statusEl.textContent = s.status;
  statusEl.dataset.status = s.status;
  $('status-message').textContent = s.statusMessage ?? '';
  const bar = $<HTMLProgressElement>('progress');
  bar.max = Math.max(1, s.maxIters);
  bar.value = s.step;
  $('kpi-step').textContent = s.maxIters ? `${formatCount(s.step)} / ${formatCount(s.maxIters)}` : '–';
  const eta = s.msPerStep && s.maxIters ? ((s.maxIters - s.step) * s.msPerStep) / 1000 : NaN;
  $('kpi-eta').textContent = s.status === 'training' ? formatDuration(eta) : s.status === 'done' ? 'done' : '–';
  $('kpi-ms').textContent = s.msPerStep ? s.msPerStep.toFixed(s.msPerStep < 10 ? 1 : 0) : '–';
  $('kpi-tps').textContent = s.tokensPerSec ? formatCount(s.tokensPerSec) : '–';
  $('kpi-train').textContent = formatLoss(s.trainLoss, units);
  $('kpi-val').textContent = formatLoss(s.valLoss, units);
}

for (const r of document.querySelectorAll<HTMLInputElement>('input[name=units]')) {
  r.addEventListener('change', () => {
    units = r.value as LossUnits;
    charts.setUnits(units);
    $('loss-units').textContent = units === 'bpc' ? 'bits/char' : 'nats/char';
    renderProgress();
  });
}
$<HTMLInputElement>('log-y').addEventListener('change', (e) => charts.setLogY((e.target as HTMLInputElement).checked));

// ------------------------------------------------------------------ notices and badge

const notice = (message: string) => showNotice(state, message);

// ------------------------------------------------------------------ generate

const generatePanel = new GeneratePanel(state, send, controlWords);

// ------------------------------------------------------------------ views: see inside the model

const views = new ViewsPanel($('views'), $<HTMLInputElement>('views-open'), {
  send, running: () => runActive, lossHistory: () => charts.history,
  setup: () => (corpus ? { config: { ...configOf(settings), vocabSize: corpus.vocabSize }, text: corpus.text } : null),
  toggled: (open) => {
    settings.views = open;
    history.replaceState(null, '', location.pathname + toSearch(settings) + location.hash);
  },
}, { prompt: $<HTMLTextAreaElement>('gen-prompt'), sample: $('eval-sample'), generate: $('gen-output') });

// ------------------------------------------------------------------ saved models

models.onResume = (record, bytes) => void resumeFrom(record, bytes);
models.fail = (message) => void (state.error = message);
models.onFineTune = (record, bytes) => {
  if (!corpus) return void ($('models-error').textContent = 'load a corpus to fine-tune on first');
  notice(`Fine-tuning ${record.name} (step ${record.step}) on ${corpus.ref.name}: its shape and weights (new characters are added to its vocabulary), this page's training settings, a fresh optimizer.`);
  void startRun({ from: { mode: 'finetune', bytes, record } });
};
models.onUse = (record, bytes) => {
  if (runActive) return void ($('models-error').textContent = 'stop the run before loading another model');
  send({ type: 'load', bytes, name: record.name }, [bytes]);
};
models.onUpload = (name, bytes) => {
  if (runActive) return void ($('models-error').textContent = 'stop the run before loading another model');
  pendingUpload = { name, bytes: bytes.slice(0) };
  send({ type: 'load', bytes, name }, [bytes]);
};
let pendingUpload: { name: string; bytes: ArrayBuffer } | null = null;
$('download-current').addEventListener('click', () => send({ type: 'export' }));

async function resumeFrom(record: SavedModel, bytes: ArrayBuffer): Promise<void> {
  if (runActive) return void ($('models-error').textContent = 'stop the run before resuming another');
  $('resume-offer').hidden = true;
  showCorpusKind(record.corpus.kind);
  if (record.corpus.kind === 'shakespeare' || record.corpus.kind === 'builtin') settings.corpus = record.corpus.kind;
  const c = await useCorpus(() => textFor(record.corpus), record.corpus.name);
  if (!c) return;
  settings.preset = presetOf(record.config);
  settings.overrides = essentialOverrides(settings.preset, pickConfigFields(record.config));
  form.set(settings);
  settingsChanged();
  await startRun({ from: { mode: 'resume', bytes, record } });
}

function presetOf(cfg: Config): PresetName {
  return PRESET_NAMES.find((n) => (['nLayer', 'nHead', 'nEmbd', 'blockSize'] as const).every((k) => PRESETS[n][k] === cfg[k])) ?? DEFAULT_PRESET;
}
function pickConfigFields(cfg: Config): Partial<Config> {
  const { vocabSize: _v, ...rest } = cfg;
  return rest;
}

async function storeCheckpoint(msg: Extract<FromWorker, { type: 'checkpoint' }>): Promise<void> {
  if (msg.reason === 'export') {
    const name = msg.runId ? `tabgpt-${msg.runId}-step${msg.step}.safetensors` : msg.corpus.name.endsWith('.safetensors') ? msg.corpus.name : `${msg.corpus.name}.safetensors`;
    download(new Blob([msg.bytes], { type: 'application/octet-stream' }), name);
    return;
  }
  const cfg = msg.config;
  const record: SavedModel = {
    id: `${msg.runId}@${msg.step}`, runId: msg.runId, source: 'run',
    name: `${cfg.nLayer}×${cfg.nEmbd} ctx ${cfg.blockSize} · ${msg.corpus.name}`,
    step: msg.step, maxIters: msg.maxIters, valLoss: msg.valLoss, trainLoss: msg.trainLoss, savedAt: Date.now(), size: msg.bytes.byteLength,
    config: cfg, corpus: msg.corpus, finished: msg.reason === 'done', history: structuredClone(charts.history),
    ...(runInit && msg.runId === state.runId ? { initFrom: runInit } : {}),
  };
  try {
    await saveModel(record, msg.bytes);
    state.savedStep = msg.step;
    if ($('models-error').textContent?.startsWith('browser storage is full')) $('models-error').textContent = ''; // saved again: the earlier warning is over
  } catch (e) {
    const m = e instanceof StorageError ? e.message : isQuotaError(e) ? 'browser storage is full: this checkpoint was not saved (earlier saves are kept)' : `saving failed: ${errorMessage(e)}`;
    $('models-error').textContent = m;
    state.error = m;
  }
  await models.refresh();
  state.storagePersistent = models.persistent;
}

function download(blob: Blob, name: string): void {
  const a = document.createElement('a');
  a.href = URL.createObjectURL(blob);
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(a.href), 10_000);
}

async function offerResume(): Promise<void> {
  const last = await lastUnfinishedRun().catch(() => null);
  if (last && (await runsElsewhere().catch(() => new Set<string>())).has(last.runId)) return; // training in another tab
  if (!last || sessionStorage.getItem('tabgpt.dismissed') === last.id) return;
  $('resume-text').textContent = `An unfinished run (${last.name}) was saved at step ${last.step} of ${last.maxIters}${last.valLoss !== null ? `, val loss ${formatLoss(last.valLoss, units)}` : ''}.`;
  $('resume-offer').hidden = false;
  $('resume-run').onclick = async () => {
    try {
      await resumeFrom(last, await loadModelBytes(last.id));
    } catch (e) {
      $('models-error').textContent = errorMessage(e);
    }
  };
  $('resume-dismiss').onclick = () => {
    sessionStorage.setItem('tabgpt.dismissed', last.id);
    $('resume-offer').hidden = true;
  };
}

// ------------------------------------------------------------------ worker messages

let evalSampleText = '';

worker.onmessage = (ev: MessageEvent<FromWorker>) => {
  const msg = ev.data;
  if (views.handle(msg) || generatePanel.handle(msg)) return;
  switch (msg.type) {
    case 'backend':
      showBackend(state, msg.name, msg.fallbacks, msg.forced);
      break;
    case 'status':
      state.status = msg.status;
      state.statusMessage = msg.message ?? null;
      if (msg.status === 'done' || msg.status === 'error') {
        runActive = false;
        if (state.runId) unlockRun(state.runId);
        announceChange(); // other tabs may resume this run now
      }
      if (msg.status === 'error' && !state.error) state.error = msg.message ?? 'the run failed';
      updateButtons();
      renderProgress();
      if (msg.status === 'done') void models.refresh();
      break;
    case 'progress':
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
      renderProgress();
      break;
    case 'eval':
      state.valLoss = msg.valLoss;
      charts.addVal(msg.step, msg.valLoss);
      renderProgress();
      break;
    case 'checkpoint':
      void storeCheckpoint(msg);
      break;
    case 'tokens':
      if (msg.stream === 'eval') {
        const out = $('eval-sample');
        if (msg.reset) {
          out.textContent = '';
          evalSampleText = '';
          $('sample-step').textContent = `at step ${msg.id} (temperature ${EVAL_SAMPLE.temperature})`;
        }
        out.append(msg.text); // text node: never parsed as HTML
        evalSampleText += msg.text;
        if (msg.done) {
          state.sample = evalSampleText;
          state.sampleStep = msg.id;
        }
      }
      break;
    case 'model':
      state.model = { source: msg.info.source, step: msg.info.step, params: msg.info.params };
      $('gen-model').textContent = `· ${msg.info.source} at step ${msg.info.step}, ${formatParams(msg.info.params)} params`;
      $('models-error').textContent = '';
      if (pendingUpload && msg.info.source === pendingUpload.name) {
        const up = pendingUpload;
        pendingUpload = null;
        const cfg = msg.info.config;
        const record: SavedModel = {
          id: `upload:${up.name}:${Date.now()}`, runId: `upload-${Date.now().toString(36)}`, source: 'upload', name: up.name, step: msg.info.step,
          maxIters: cfg.maxIters, valLoss: null, trainLoss: null, savedAt: Date.now(), size: up.bytes.byteLength, config: cfg,
          corpus: { kind: 'file', name: up.name, sha256: '' }, finished: true,
        };
        void saveModel(record, up.bytes).then(() => models.refresh()).catch((e) => ($('models-error').textContent = errorMessage(e)));
      }
      break;
    case 'notice':
      notice(msg.message);
      break;
    case 'error':
      state.error = msg.message;
      if (msg.scope === 'run' || msg.scope === 'backend') {
        $('run-error').textContent = msg.message;
      } else if (msg.scope === 'load') {
        pendingUpload = null;
        $('models-error').textContent = msg.message;
      }
      break;
  }
};
worker.onerror = (e) => {
  const m = `the training worker failed to start: ${e.message || 'unknown error'} (reload the page)`;
  state.error = m;
  state.status = 'error';
  $('run-error').textContent = m;
  renderProgress();
};

// A hidden tab may be closed next: save the run now (the worker also autosaves every ?autosave= seconds of training).
document.addEventListener('visibilitychange', () => {
  if (document.visibilityState === 'hidden' && runActive) send({ type: 'save' });
});

// ------------------------------------------------------------------ start up

send({ type: 'init', forced: settings.backend, control });
if (settings.views) views.setOpen(true);
showCorpusKind(settings.corpus);
settingsChanged();
renderProgress();
void (async () => {
  await models.refresh();
  await selectCorpus(settings.corpus);
  if (autostart && corpus && validateSettings()) await startRun();
  else await offerResume();
})();
