// The scaling lab page: build a sweep (with a calibrated time estimate and a
// way to shrink it to a budget), run it in a worker, save each finished run to
// IndexedDB at once, refit and replot after every run, resume after a reload,
// export and import results. DOM only: tfjs lives in the worker.
// This file wires the parts together; each part is a file in src/ui/scaling/.

import './style.css';
import './scaling/scaling.css';
import type { BackendName } from '../core/backend';
import { ScalingPlots } from './scaling/plots';
import { parseScalingSearch } from './scaling/url';
import { $ } from './dom';
import { initialState, noPredictions, notice, type Lab, type Status } from './scaling/lab';
import { fillForm, wireSweepForm } from './scaling/sweep-form';
import { chooseCorpus, resumeCorpus, wireCorpusChoice } from './scaling/corpus-choice';
import { SweepControl } from './scaling/sweep-control';
import { refresh, wireDisplayOptions } from './scaling/results-view';
import { restoreStored, wireResultsIO } from './scaling/results-io';

export type { ScalingState } from './scaling/lab';

const state = initialState();
(window as unknown as { tabgpt: { state: typeof state } }).tabgpt = { state };

const parsed = parseScalingSearch(location.search);
const settings = parsed.settings;
const lab: Lab = {
  state,
  settings,
  plots: new ScalingPlots({ lossN: $('plot-loss-n'), compute: $('plot-compute'), iso: $('plot-iso'), nopt: $('plot-nopt'), lr: $('plot-lr') }),
  corpus: null,
  results: null,
  calibration: null,
  planned: [],
  analysis: null,
  iso: null,
  predictions: noPredictions(),
  pending: null,
  saving: Promise.resolve(),
};

const control = new SweepControl(lab);
control.wireButtons();
wireSweepForm(lab);
wireResultsIO(lab);
wireCorpusChoice(lab);
wireDisplayOptions(lab);

// ------------------------------------------------------------------ startup

async function boot(): Promise<void> {
  for (const e of parsed.errors) notice(e, 'error');
  fillForm(lab, settings.spec);
  control.init(settings.backend as BackendName | null);
  // A sweep saved in this browser comes back first: its runs, and an offer to resume it.
  const resume = await restoreStored(lab);
  state.status = 'idle';
  if (resume) await resumeCorpus(lab, resume.text);
  else await chooseCorpus(lab, settings.spec.corpus.startsWith('text:') ? 'shakespeare' : settings.spec.corpus);
  refresh(lab);
  if (settings.autostart) {
    // Wait for the backend, then start (links and tests).
    const t0 = performance.now();
    while (!state.backend && (state.status as Status) !== 'error' && performance.now() - t0 < 120_000) await new Promise((r) => setTimeout(r, 100));
    if (state.backend) await control.startSweep();
  }
}

void boot();
