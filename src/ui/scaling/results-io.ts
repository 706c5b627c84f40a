// Where the scaling lab's results go and come from: saved to IndexedDB after
// every finished run (store.ts), restored with an offer to resume after a
// reload, exported as JSON or CSV, imported from a results file (the page's or
// the CLI's), and cleared.

import { planRuns } from '../../core/scaling/sweep-plan';
import { allRuns, parseResults, resultsToCSV, resultsToJSON, type SweepResults } from '../../core/scaling/sweep-results';
import { errorMessage, textFor, type LoadedCorpus } from '../corpus-loader';
import { $, download } from '../dom';
import { noPredictions, notice, type Lab } from './lab';
import { refresh, showResultsInfo } from './results-view';
import { clearSweep, loadSweep, saveSweep, type StoredStatus } from './store';
import { fillForm, onSpecChange } from './sweep-form';

/** Save the sweep to IndexedDB; successive saves are chained so the last one wins. */
export function persist(lab: Lab, status: StoredStatus): Promise<void> {
  const snapshot = lab.results;
  if (!snapshot) return lab.saving;
  const preds = structuredClone(lab.predictions);
  lab.saving = lab.saving
    .then(() => saveSweep({ ...snapshot, ...(lab.calibration ? { calibration: lab.calibration } : {}) }, status, preds))
    .then(
      () => {
        lab.state.saved = allRuns(snapshot).length;
      },
      (e) => notice(errorMessage(e), 'error'),
    );
  return lab.saving;
}

/**
 * Bring back the sweep saved in this browser: its runs, and (when it is
 * unfinished and the page is not autostarting) its spec in the form and an
 * offer to resume it. Returns its text, still loading, in that case (wrapped:
 * an async function's result would wait for it).
 */
export async function restoreStored(lab: Lab): Promise<{ text: Promise<LoadedCorpus> } | null> {
  const { state, settings } = lab;
  const stored = await loadSweep().catch((e) => {
    notice(errorMessage(e), 'error');
    return null;
  });
  if (!stored) return null;
  const results = (lab.results = stored.results);
  lab.calibration = results.calibration ?? null;
  lab.predictions = stored.predictions ?? noPredictions();
  state.saved = allRuns(results).length;
  state.runsDone = allRuns(results).length;
  state.runsTotal = planRuns(results.spec, { vocabSize: results.corpus.vocabSize, trainChars: results.corpus.trainChars }).length;
  const unfinished = state.runsDone < state.runsTotal;
  if (!unfinished || location.search.includes('autostart=1')) return null;
  settings.spec = results.spec;
  fillForm(lab, results.spec);
  $('resume-text').textContent =
    `A sweep on ${results.corpus.source} stopped after ${state.runsDone} of ${state.runsTotal} runs${stored.status === 'running' ? ' (the page was closed mid-run)' : ''}.`;
  $('resume-offer').hidden = false;
  const c = results.corpus;
  const kind = c.source === 'builtin' || c.source === 'shakespeare' ? c.source : 'file';
  return { text: textFor({ kind, name: c.source, sha256: c.sha256 }) };
}

/** Export (JSON, CSV), import and clear. */
export function wireResultsIO(lab: Lab): void {
  const { state, settings } = lab;
  $('export-json').addEventListener(
    'click',
    () => lab.results && download(new Blob([resultsToJSON(lab.results)], { type: 'application/json' }), 'scaling-results.json'),
  );
  $('export-csv').addEventListener('click', () => lab.results && download(new Blob([resultsToCSV(lab.results)], { type: 'text/csv' }), 'scaling-results.csv'));
  $('import').addEventListener('change', async () => {
    const input = $<HTMLInputElement>('import');
    const file = input.files?.[0];
    input.value = '';
    if (!file) return;
    let results: SweepResults;
    try {
      results = lab.results = parseResults(await file.text(), file.name);
    } catch (e) {
      notice(errorMessage(e), 'error');
      return;
    }
    lab.predictions = noPredictions();
    lab.calibration = results.calibration ?? null;
    settings.spec = results.spec;
    fillForm(lab, results.spec);
    state.runsDone = allRuns(results).length;
    state.runsTotal = planRuns(results.spec, { vocabSize: results.corpus.vocabSize, trainChars: results.corpus.trainChars }).length;
    state.status = 'stopped';
    onSpecChange(lab);
    refresh(lab);
    await persist(lab, state.runsDone >= state.runsTotal ? 'done' : 'stopped');
    showResultsInfo(lab);
  });
  $('clear').addEventListener('click', async () => {
    lab.results = null;
    lab.predictions = noPredictions();
    state.runsDone = state.runsTotal = 0;
    state.status = 'idle';
    await clearSweep().catch((e) => notice(errorMessage(e), 'error'));
    state.saved = 0;
    refresh(lab);
  });
}
