// The scaling lab page: build a sweep (with a calibrated time estimate and a
// way to shrink it to a budget), run it in a worker, save each finished run to
// IndexedDB at once, refit and replot after every run, resume after a reload,
// export and import results. DOM only: tfjs lives in the worker.

import './style.css';
import './scaling.css';
import type { BackendName } from '../core/backend';
import { DEFAULT_LR_SCAN, specDiff, specFromJSON, type SweepSpec } from '../core/scaling/sweep';
import { estimateSeconds, shrinkToBudget, type Calibration } from '../core/scaling/sweep-estimate';
import { planRuns, type PlannedRun } from '../core/scaling/sweep-plan';
import { analyse, PARAM_KIND_LABEL, predictAt, type Analysis, type ParamKind } from '../core/scaling/analysis';
import { computeFrontier, isoFlops, type IsoFlopAnalysis } from '../core/scaling/isoflops';
import { allRuns, emptyResults, parseResults, resultsToCSV, resultsToJSON, withRun, type CorpusInfo, type SweepResults } from '../core/scaling/sweep-results';
import type { SweepEvent } from '../core/scaling/sweep-run';
import type { FromScalingWorker, ToScalingWorker } from '../worker/protocol';
import { errorMessage, loadBuiltin, loadFile, loadShakespeare, rememberText, textFor, type LoadedCorpus } from './corpus';
import { formatDuration, formatParams } from '../core/format';
import { ScalingPlots } from './scaling-plots';
import { clearSweep, loadSweep, saveSweep, type StoredStatus } from './scaling-store';
import { parseScalingSearch, scalingSearch, type ScalingSettings } from './scaling-url';
import { ladderWarnings, renderApproaches, renderConstants, renderLadder, renderRuns, sci } from './scaling-view';
import { chinchillaApproaches, type ApproachResult } from '../core/scaling/approaches';
import { summariseLrScan, type LrScanSummary } from '../core/scaling/lr-scan';

type Status = 'loading' | 'idle' | 'calibrating' | 'running' | 'stopping' | 'stopped' | 'done' | 'error';

/** What tests and scripts read: window.tabgpt.state. */
export interface ScalingState {
  status: Status;
  runsDone: number;
  runsTotal: number;
  /** The E + power-law fit on the chosen parameter count, or null until there are enough runs. */
  fit: { paramKind: ParamKind; E: number; Nc: number; alpha: number; intervals: NonNullable<Analysis['fit']>['intervals']; heldOut: Analysis['heldOut']; points: number } | null;
  error: string | null;
  backend: string | null;
  corpus: string | null;
  currentRun: string | null;
  step: number;
  maxIters: number;
  /** Runs saved in IndexedDB (so far as this page knows). */
  saved: number;
  estimateSec: number | null;
  /** What the fit predicted for each run before it ran (nats, on the chosen parameter count). */
  predictions: Record<string, number>;
  /** Runs this page has started (a resumed sweep does not start the finished ones again). */
  startedThisSession: string[];
  /** The lr check per scanned size, and Chinchilla's three exponents (on the chosen parameter count). */
  lrScan: LrScanSummary | null;
  approaches: ApproachResult[];
}

const $ = <T extends HTMLElement = HTMLElement>(id: string) => document.getElementById(id) as T;

const state: ScalingState = {
  status: 'loading', runsDone: 0, runsTotal: 0, fit: null, error: null, backend: null, corpus: null,
  currentRun: null, step: 0, maxIters: 0, saved: 0, estimateSec: null, predictions: {}, startedThisSession: [],
  lrScan: null, approaches: [],
};
(window as unknown as { tabgpt: { state: ScalingState } }).tabgpt = { state };

const parsed = parseScalingSearch(location.search);
const settings: ScalingSettings = parsed.settings;
let corpus: LoadedCorpus | null = null;
let results: SweepResults | null = null;
let calibration: Calibration | null = null;
let planned: PlannedRun[] = [];
let analysis: Analysis | null = null;
let iso: IsoFlopAnalysis | null = null;
/** Predictions made before each run, per parameter count, kept with the stored sweep. */
let predictions: Record<ParamKind, Record<string, number>> = { nonEmbedding: {}, total: {} };
let pending: PlannedRun | null = null;
let saving: Promise<void> = Promise.resolve();
let sweepEvents: Promise<void> = Promise.resolve();

const plots = new ScalingPlots({ lossN: $('plot-loss-n'), compute: $('plot-compute'), iso: $('plot-iso'), nopt: $('plot-nopt'), lr: $('plot-lr') });

function notice(message: string, kind: 'error' | 'info' = 'info'): void {
  const p = document.createElement('p');
  p.className = kind === 'error' ? 'notice error' : 'notice';
  p.textContent = message;
  $('notices').append(p);
}

function fail(message: string): void {
  state.status = 'error';
  state.error = message;
  notice(message, 'error');
  updateButtons();
}

// ------------------------------------------------------------------ the form

const NUM_FIELDS = ['sizes', 'minParams', 'maxParams', 'headSize', 'widthPerLayer', 'blockSize', 'batchSize', 'warmupFraction'] as const;

function fillForm(spec: SweepSpec): void {
  for (const k of NUM_FIELDS) $<HTMLInputElement>(k).value = String(spec[k]);
  $<HTMLInputElement>('tokens').value = spec.tokens === null ? '' : String(spec.tokens);
  $<HTMLInputElement>('tokensPerParam').value = spec.tokensPerParam === null ? '' : String(spec.tokensPerParam);
  $<HTMLInputElement>('budgets').value = spec.budgets.join(',');
  $<HTMLInputElement>('seeds').value = spec.seeds.join(',');
  $<HTMLInputElement>('repeatSeeds').value = spec.repeatSeeds.join(',');
  $<HTMLInputElement>('lrScale').value = spec.lr.kind === 'kaplan' ? String(spec.lr.scale) : '';
  $<HTMLSelectElement>('lrScan').value = spec.lrScan?.sizes ?? '';
  const sel = $<HTMLSelectElement>('corpus');
  sel.value = spec.corpus.startsWith('text:') ? 'file' : spec.corpus;
  $<HTMLInputElement>('budgetMin').value = String(settings.budgetMin);
  $<HTMLSelectElement>('paramKind').value = settings.paramKind;
  $<HTMLSelectElement>('units').value = settings.units;
}

/** The spec the form describes; throws a one-line SweepError when it is not valid. */
function readForm(): SweepSpec {
  const o: Record<string, unknown> = { ...settings.spec };
  for (const k of NUM_FIELDS) o[k] = Number($<HTMLInputElement>(k).value);
  const perParam = $<HTMLInputElement>('tokensPerParam').value.trim();
  if (perParam !== '') { o.tokensPerParam = Number(perParam); o.tokens = null; }
  else { o.tokens = Number($<HTMLInputElement>('tokens').value); o.tokensPerParam = null; }
  const list = (id: string) => $<HTMLInputElement>(id).value.split(',').map((s) => s.trim()).filter((s) => s !== '').map(Number);
  o.budgets = list('budgets');
  o.seeds = list('seeds');
  o.repeatSeeds = list('repeatSeeds');
  const scale = $<HTMLInputElement>('lrScale').value.trim();
  if (scale !== '') o.lr = { kind: 'kaplan', scale: Number(scale) };
  const scan = $<HTMLSelectElement>('lrScan').value;
  o.lrScan = scan === 'ends' || scan === 'all' ? { ...DEFAULT_LR_SCAN, sizes: scan } : null;
  o.corpus = corpus?.ref.kind === 'file' ? `text:${corpus.ref.name}` : $<HTMLSelectElement>('corpus').value;
  return specFromJSON(o, 'sweep');
}

function corpusShape() {
  return { vocabSize: corpus?.vocabSize ?? 65, trainChars: corpus?.trainChars ?? 1_003_854 };
}

/** Re-plan from the form: ladder table, warnings, estimate, URL. */
function onSpecChange(): void {
  $('spec-error').textContent = '';
  try {
    settings.spec = readForm();
    planned = planRuns(settings.spec, corpusShape());
  } catch (e) {
    $('spec-error').textContent = errorMessage(e).replace(/^sweep(?: spec)?: /, '');
    planned = [];
  }
  history.replaceState(null, '', location.pathname + scalingSearch(settings));
  renderPlan();
}

function renderPlan(): void {
  const done = new Set((results?.runs ?? []).map((r) => r.id));
  renderLadder($('ladder') as HTMLTableElement, planned, done, calibration);
  $('ladder-warnings').textContent = ladderWarnings(planned);
  if (calibration && planned.length) {
    const todo = planned.filter((r) => !done.has(r.id));
    state.estimateSec = estimateSeconds(todo, calibration);
    $('estimate').textContent = `estimated ${formatDuration(state.estimateSec)} for ${todo.length} run(s) on ${calibration.backend} (calibrated ${calibration.points.length} sizes)`;
  }
  updateButtons();
}

function updateButtons(): void {
  const busy = state.status === 'running' || state.status === 'calibrating' || state.status === 'stopping' || state.status === 'loading';
  $<HTMLButtonElement>('start').disabled = busy || planned.length === 0 || !corpus || !state.backend;
  $<HTMLButtonElement>('calibrate').disabled = busy || planned.length === 0 || !corpus || !state.backend;
  $<HTMLButtonElement>('fit-budget').disabled = busy || !calibration || planned.length === 0;
  $<HTMLButtonElement>('stop').disabled = state.status !== 'running';
  $<HTMLFieldSetElement>('spec-fields').disabled = busy;
  $<HTMLButtonElement>('clear').disabled = busy;
  $<HTMLInputElement>('import').disabled = busy;
}

// ------------------------------------------------------------------ corpus

async function chooseCorpus(kind: string, file?: File): Promise<void> {
  state.corpus = null;
  corpus = null;
  $('corpus-stats').textContent = 'loading…';
  updateButtons();
  try {
    corpus = kind === 'builtin' ? await loadBuiltin() : kind === 'file' && file ? await loadFile(file) : await loadShakespeare();
    if (corpus.ref.kind === 'file') await rememberText(corpus).catch(() => undefined);
    state.corpus = corpus.ref.name;
    $('corpus-stats').textContent = `${corpus.ref.name}: ${corpus.chars.toLocaleString('en-US')} chars, vocab ${corpus.vocabSize}, ${corpus.trainChars.toLocaleString('en-US')} train / ${corpus.valChars.toLocaleString('en-US')} val`;
    if (corpus.notice) notice(corpus.notice);
  } catch (e) {
    $('corpus-stats').textContent = errorMessage(e);
  }
  calibration = null;
  onSpecChange();
}

function corpusInfo(c: LoadedCorpus): CorpusInfo {
  return {
    source: c.ref.kind === 'file' ? c.ref.name : c.ref.kind, chars: c.chars, trainChars: c.trainChars, valChars: c.valChars, vocabSize: c.vocabSize, sha256: c.ref.sha256,
    ...(c.refs.floor !== undefined ? { entropyPerChar: c.refs.floor } : {}),
  };
}

// ------------------------------------------------------------------ worker

const worker = new Worker(new URL('../worker/scaling.worker.ts', import.meta.url), { type: 'module' });
const send = (msg: ToScalingWorker) => worker.postMessage(msg);
worker.onerror = (e) => fail(`the sweep worker failed: ${e.message}`);

worker.onmessage = (ev: MessageEvent<FromScalingWorker>) => {
  const msg = ev.data;
  switch (msg.type) {
    case 'backend':
      state.backend = msg.name;
      $('badge').textContent = msg.name;
      $('badge').dataset.backend = msg.name;
      $('badge-reason').textContent = msg.fallbacks.join('; ');
      if (msg.name !== 'webgpu') notice(`Training on ${msg.name}, not WebGPU: ${msg.fallbacks.join('; ')}. Sweeps will be slow.`);
      updateButtons();
      break;
    case 'calibrating':
      $('estimate').textContent = `calibrating: ${msg.done}/${msg.total} sizes…`;
      break;
    case 'calibration':
      calibration = msg.calibration;
      state.status = 'idle';
      if (results) { results = { ...results, calibration }; }
      renderPlan();
      break;
    case 'sweep': {
      // One at a time: a run's save and refit finish before the next run is placed against the new fit.
      const event = msg.event;
      sweepEvents = sweepEvents.then(() => onSweepEvent(event)).catch((e) => fail(errorMessage(e)));
      break;
    }
    case 'error':
      fail(msg.message);
      break;
  }
};

function currentPrediction(run: PlannedRun): number {
  return analysis ? predictAt(analysis, settings.paramKind === 'total' ? run.params : run.nonEmbeddingParams) : NaN;
}

async function onSweepEvent(ev: SweepEvent): Promise<void> {
  switch (ev.event) {
    case 'plan':
      state.runsTotal = ev.runs.length;
      state.runsDone = ev.skipped.length;
      for (const w of ev.warnings) notice(w);
      break;
    case 'run-start': {
      pending = ev.run;
      state.currentRun = ev.run.id;
      state.startedThisSession.push(ev.run.id);
      state.step = 0;
      state.maxIters = ev.run.config.maxIters;
      // Place the run against the curve before it lands: both parameter counts, from fits on the runs so far.
      for (const kind of ['nonEmbedding', 'total'] as ParamKind[]) {
        const a = kind === settings.paramKind ? analysis : results && results.runs.length ? analyse(results, { paramKind: kind, bootstrap: 0 }) : null;
        const predicted = a ? predictAt(a, kind === 'total' ? ev.run.params : ev.run.nonEmbeddingParams) : NaN;
        if (Number.isFinite(predicted)) predictions[kind][ev.run.id] = predicted;
      }
      state.predictions = predictions[settings.paramKind];
      drawLossVsN();
      break;
    }
    case 'progress':
      state.step = ev.step;
      $<HTMLProgressElement>('progress-steps').max = ev.maxIters;
      $<HTMLProgressElement>('progress-steps').value = ev.step;
      $('progress-text').textContent = `run ${state.runsDone + 1}/${state.runsTotal} ${ev.runId}: step ${ev.step}/${ev.maxIters}, train ${ev.trainLoss.toFixed(4)}${ev.valLoss !== undefined ? `, val ${ev.valLoss.toFixed(4)}` : ''}, ${Math.round(ev.tokensPerSec).toLocaleString('en-US')} tok/s`;
      break;
    case 'run':
      if (!results) return;
      results = withRun(results, ev.result);
      pending = null;
      state.currentRun = null;
      state.runsDone++;
      if (ev.warning) notice(ev.warning);
      {
        const saved = persist('running'); // the transaction starts now
        refresh();
        await saved;
      }
      showResultsInfo();
      break;
    case 'done':
      pending = null;
      state.currentRun = null;
      state.status = ev.stopped ? 'stopped' : 'done';
      await persist(ev.stopped ? 'stopped' : 'done');
      refresh();
      break;
  }
}

/** Save the sweep to IndexedDB; successive saves are chained so the last one wins. */
function persist(status: StoredStatus): Promise<void> {
  const snapshot = results;
  if (!snapshot) return saving;
  const preds = structuredClone(predictions);
  saving = saving.then(() => saveSweep({ ...snapshot, ...(calibration ? { calibration } : {}) }, status, preds)).then(
    () => { state.saved = allRuns(snapshot).length; },
    (e) => notice(errorMessage(e), 'error'),
  );
  return saving;
}

// ------------------------------------------------------------------ analysis and drawing

function refresh(): void {
  analysis = null;
  iso = null;
  state.fit = null;
  if (results && results.runs.length > 0) {
    const Ns = results.runs.map((r) => (settings.paramKind === 'total' ? r.params : r.nonEmbeddingParams));
    const lo = Math.min(...Ns) / 1.5, hi = Math.max(...Ns) * 2;
    const bandN = Array.from({ length: 40 }, (_, i) => lo * Math.pow(hi / lo, i / 39));
    analysis = analyse(results, { paramKind: settings.paramKind, bootstrap: 200, bandN });
    if (analysis.fit) {
      const f = analysis.fit;
      state.fit = { paramKind: settings.paramKind, E: f.E, Nc: f.Nc, alpha: f.alpha, intervals: f.intervals, heldOut: analysis.heldOut, points: analysis.points.length };
    }
    if (results.spec.budgets.length > 1) iso = isoFlops(results.runs, settings.paramKind);
  }
  state.predictions = predictions[settings.paramKind];
  const units = settings.units;
  drawLossVsN();
  plots.drawLossVsCompute(results?.runs ?? [], computeFrontier(results?.runs ?? []), units);
  $('iso-card').hidden = !iso || iso.curves.length === 0;
  if (iso && iso.curves.length > 0) {
    plots.drawIsoFlops(iso, units, PARAM_KIND_LABEL[settings.paramKind]);
    plots.drawNopt(iso, analysis?.joint ?? null);
    $('iso-summary').textContent = iso.a !== null ? `IsoFLOP minima: N_opt ∝ C^${iso.a.toFixed(3)}` : 'too few IsoFLOP minima inside the ladder for an exponent';
  }
  state.lrScan = results?.lrScan?.length ? summariseLrScan(results.lrScan) : null;
  $('lr-card').hidden = !state.lrScan || state.lrScan.sizes.length === 0;
  if (state.lrScan && state.lrScan.sizes.length > 0) {
    plots.drawLrScan(state.lrScan, units);
    $('lr-summary').textContent = state.lrScan.sizes.map((z) => `N = ${formatParams(z.nonEmbeddingParams)}: best lr ${z.bestLr.toPrecision(3)} = rule × ${z.bestMultiplier}${z.bestAtEdge ? ' (edge of the scan)' : ''}, the rule costs ${z.ruleExcess.toFixed(4)} nats`).join('; ')
      + `. The rule is ${state.lrScan.ruleOk ? '' : 'not '}within 2× of the best lr at every scanned size.`;
  }
  state.approaches = results && results.spec.budgets.length > 1 ? chinchillaApproaches(results.runs, settings.paramKind, { bootstrap: 100 }) : [];
  renderApproaches($('approaches') as HTMLTableElement, state.approaches);
  renderConstants($('constants') as HTMLTableElement, analysis, units, iso);
  renderRuns($('runs') as HTMLTableElement, results?.runs ?? [], analysis, predictions[settings.paramKind], units);
  const a = analysis;
  $('fit-summary').textContent = !a ? 'no runs yet'
    : a.fit ? `L(N) = ${sci(a.fit.E, 4)} + (${sci(a.fit.Nc)} / N)^${sci(a.fit.alpha)} on ${PARAM_KIND_LABEL[settings.paramKind]} (${a.points.length} runs; band: 95% bootstrap over runs)`
      + (a.heldOut ? `; largest size held out: predicted ${a.heldOut.predicted.toFixed(4)}, measured ${a.heldOut.measured.toFixed(4)} (${(100 * a.heldOut.error).toFixed(2)}%)` : '')
      : `no E + power-law fit yet: ${a.fitError ?? ''}`;
  showResultsInfo();
  $<HTMLProgressElement>('progress-runs').max = Math.max(1, state.runsTotal);
  $<HTMLProgressElement>('progress-runs').value = state.runsDone;
  if (state.status !== 'running') $('progress-text').textContent = `${state.status}: ${state.runsDone}/${state.runsTotal} runs`;
  renderPlan();
}

function showResultsInfo(): void {
  $('results-info').textContent = results
    ? `${results.runs.length} run(s) on ${results.corpus.source}; saved in this browser: ${state.saved}${results.spec.testOnlySmallLadder ? ' (test-only ladder: not a measurement)' : ''}`
    : 'no results';
}

function drawLossVsN(): void {
  const kind = settings.paramKind;
  const nOf = (r: PlannedRun) => (kind === 'total' ? r.params : r.nonEmbeddingParams);
  const before = (results?.runs ?? []).map((r) => ({ N: nOf(r), loss: predictions[kind][r.id] ?? NaN }));
  plots.drawLossVsN({
    points: analysis?.points ?? [], fit: analysis?.fit ?? null, power: analysis?.power ?? null, band: analysis?.band ?? null,
    predictedBefore: before,
    pending: pending ? { N: nOf(pending), loss: currentPrediction(pending) } : null,
    paramLabel: PARAM_KIND_LABEL[kind], units: settings.units,
  });
}

// ------------------------------------------------------------------ actions

async function startSweep(resumeStored = false): Promise<void> {
  if (!corpus || !state.backend) return;
  let spec: SweepSpec;
  try {
    spec = resumeStored && results ? results.spec : readForm();
  } catch (e) {
    $('spec-error').textContent = errorMessage(e);
    return;
  }
  const info = corpusInfo(corpus);
  // Same sweep on the same text: continue it. Anything else starts fresh results.
  if (!results || specDiff(results.spec, spec).length > 0 || results.corpus.sha256 !== info.sha256) {
    if (results && results.runs.length > 0) notice(`Started a new sweep: the previous ${results.runs.length} run(s) on ${results.corpus.source} are replaced in this browser (export them first to keep them).`);
    results = emptyResults(spec, info);
    predictions = { nonEmbedding: {}, total: {} };
  }
  settings.spec = spec;
  planned = planRuns(spec, corpusShape());
  state.status = 'running';
  state.error = null;
  state.runsTotal = planned.length;
  state.runsDone = allRuns(results).length;
  $('resume-offer').hidden = true;
  await persist('running');
  refresh();
  updateButtons();
  send({ type: 'start', spec, text: corpus.text, done: allRuns(results) });
}

$('start').addEventListener('click', () => void startSweep());
$('stop').addEventListener('click', () => {
  state.status = 'stopping';
  updateButtons();
  send({ type: 'stop' });
});
$('calibrate').addEventListener('click', () => {
  if (!corpus) return;
  try {
    settings.spec = readForm();
  } catch (e) {
    $('spec-error').textContent = errorMessage(e);
    return;
  }
  state.status = 'calibrating';
  updateButtons();
  send({ type: 'calibrate', spec: settings.spec, text: corpus.text, steps: settings.calibrationSteps });
});
$('fit-budget').addEventListener('click', () => {
  if (!calibration) return;
  const minutes = Number($<HTMLInputElement>('budgetMin').value);
  try {
    const shrunk = shrinkToBudget(readForm(), corpusShape(), calibration, minutes * 60);
    settings.budgetMin = minutes;
    fillForm(shrunk.spec);
    notice(shrunk.changes.length ? `To fit ${minutes} min: ${shrunk.changes.join(', ')} (estimate ${formatDuration(shrunk.seconds)}).` : `The sweep already fits ${minutes} min.`);
    onSpecChange();
  } catch (e) {
    $('spec-error').textContent = errorMessage(e);
  }
});

function download(name: string, text: string, type: string): void {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  a.click();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}
$('export-json').addEventListener('click', () => results && download('scaling-results.json', resultsToJSON(results), 'application/json'));
$('export-csv').addEventListener('click', () => results && download('scaling-results.csv', resultsToCSV(results), 'text/csv'));
$('import').addEventListener('change', async () => {
  const input = $<HTMLInputElement>('import');
  const file = input.files?.[0];
  input.value = '';
  if (!file) return;
  try {
    results = parseResults(await file.text(), file.name);
  } catch (e) {
    notice(errorMessage(e), 'error');
    return;
  }
  predictions = { nonEmbedding: {}, total: {} };
  calibration = results.calibration ?? null;
  settings.spec = results.spec;
  fillForm(results.spec);
  state.runsDone = allRuns(results).length;
  state.runsTotal = planRuns(results.spec, { vocabSize: results.corpus.vocabSize, trainChars: results.corpus.trainChars }).length;
  state.status = 'stopped';
  onSpecChange();
  refresh();
  await persist(state.runsDone >= state.runsTotal ? 'done' : 'stopped');
  showResultsInfo();
});
$('clear').addEventListener('click', async () => {
  results = null;
  predictions = { nonEmbedding: {}, total: {} };
  state.runsDone = state.runsTotal = 0;
  state.status = 'idle';
  await clearSweep().catch((e) => notice(errorMessage(e), 'error'));
  state.saved = 0;
  refresh();
});
$('resume-sweep').addEventListener('click', () => void startSweep(true));

$('corpus').addEventListener('change', () => {
  const kind = $<HTMLSelectElement>('corpus').value;
  if (kind === 'file') $<HTMLInputElement>('corpus-file').click();
  else void chooseCorpus(kind);
});
$('corpus-file').addEventListener('change', () => {
  const file = $<HTMLInputElement>('corpus-file').files?.[0];
  if (file) void chooseCorpus('file', file);
});
for (const id of [...NUM_FIELDS, 'tokens', 'tokensPerParam', 'budgets', 'seeds', 'repeatSeeds', 'lrScale']) $(id).addEventListener('change', onSpecChange);
$('paramKind').addEventListener('change', () => {
  settings.paramKind = $<HTMLSelectElement>('paramKind').value as ParamKind;
  history.replaceState(null, '', location.pathname + scalingSearch(settings));
  refresh();
});
$('units').addEventListener('change', () => {
  settings.units = $<HTMLSelectElement>('units').value as 'nats' | 'bpc';
  history.replaceState(null, '', location.pathname + scalingSearch(settings));
  refresh();
});
$('budgetMin').addEventListener('change', () => {
  settings.budgetMin = Number($<HTMLInputElement>('budgetMin').value) || settings.budgetMin;
  history.replaceState(null, '', location.pathname + scalingSearch(settings));
});

// ------------------------------------------------------------------ startup

async function boot(): Promise<void> {
  for (const e of parsed.errors) notice(e, 'error');
  fillForm(settings.spec);
  send({ type: 'init', forced: settings.backend as BackendName | null });
  // A sweep saved in this browser comes back first: its runs, and an offer to resume it.
  const stored = await loadSweep().catch((e) => { notice(errorMessage(e), 'error'); return null; });
  let resumeCorpus: Promise<LoadedCorpus> | null = null;
  if (stored) {
    results = stored.results;
    calibration = stored.results.calibration ?? null;
    predictions = stored.predictions ?? { nonEmbedding: {}, total: {} };
    state.saved = allRuns(results).length;
    state.runsDone = allRuns(results).length;
    state.runsTotal = planRuns(results.spec, { vocabSize: results.corpus.vocabSize, trainChars: results.corpus.trainChars }).length;
    const unfinished = state.runsDone < state.runsTotal;
    if (unfinished && !location.search.includes('autostart=1')) {
      settings.spec = results.spec;
      fillForm(results.spec);
      $('resume-text').textContent = `A sweep on ${results.corpus.source} stopped after ${state.runsDone} of ${state.runsTotal} runs${stored.status === 'running' ? ' (the page was closed mid-run)' : ''}.`;
      $('resume-offer').hidden = false;
      const c = results.corpus;
      const kind = c.source === 'builtin' || c.source === 'shakespeare' ? c.source : 'file';
      resumeCorpus = textFor({ kind, name: c.source, sha256: c.sha256 });
    }
  }
  state.status = 'idle';
  if (resumeCorpus) {
    try {
      corpus = await resumeCorpus;
      state.corpus = corpus.ref.name;
      $<HTMLSelectElement>('corpus').value = corpus.ref.kind === 'file' ? 'file' : corpus.ref.kind;
      $('corpus-stats').textContent = `${corpus.ref.name}: ${corpus.chars.toLocaleString('en-US')} chars, vocab ${corpus.vocabSize}`;
      onSpecChange();
    } catch (e) {
      notice(errorMessage(e), 'error');
      await chooseCorpus($<HTMLSelectElement>('corpus').value);
    }
  } else {
    await chooseCorpus(settings.spec.corpus.startsWith('text:') ? 'shakespeare' : settings.spec.corpus);
  }
  refresh();
  if (settings.autostart) {
    // Wait for the backend, then start (links and tests).
    const t0 = performance.now();
    while (!state.backend && (state.status as Status) !== 'error' && performance.now() - t0 < 120_000) await new Promise((r) => setTimeout(r, 100));
    if (state.backend) await startSweep();
  }
}

void boot();
