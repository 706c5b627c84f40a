// The scaling lab's sweep control: the worker that calibrates and runs sweeps,
// Start / Resume / Stop / Calibrate, and the sweep's events as they come in:
// each run is placed against the current fit before it starts, saved the
// moment it finishes, and the fit and plots are redone before the next one.

import type { BackendName } from '../../core/backend';
import { planRuns } from '../../core/scaling/sweep-plan';
import { specDiff, type SweepSpec } from '../../core/scaling/sweep';
import { allRuns, emptyResults, withRun } from '../../core/scaling/sweep-results';
import { analyse, predictAt, type ParamKind } from '../../core/scaling/analysis';
import type { SweepEvent } from '../../core/scaling/sweep-run';
import type { FromScalingWorker, ToScalingWorker } from '../../worker/protocol';
import { errorMessage } from '../corpus-loader';
import { corpusInfo } from './corpus-choice';
import { $ } from '../dom';
import { noPredictions, notice, type Lab } from './lab';
import { persist } from './results-io';
import { drawLossVsN, refresh, showResultsInfo } from './results-view';
import { corpusShape, readForm, renderPlan, updateButtons } from './sweep-form';

export class SweepControl {
  private readonly worker = new Worker(new URL('../../worker/scaling.worker.ts', import.meta.url), { type: 'module' });
  /** Sweep events, handled one at a time. */
  private sweepEvents: Promise<void> = Promise.resolve();

  constructor(private readonly lab: Lab) {
    this.worker.onerror = (e) => this.fail(`the sweep worker failed: ${e.message}`);
    this.worker.onmessage = (ev: MessageEvent<FromScalingWorker>) => this.onMessage(ev.data);
  }

  send(msg: ToScalingWorker): void {
    this.worker.postMessage(msg);
  }

  /** Pick the backend (?backend= forces one). */
  init(forced: BackendName | null): void {
    this.send({ type: 'init', forced });
  }

  fail(message: string): void {
    const { state } = this.lab;
    state.status = 'error';
    state.error = message;
    notice(message, 'error');
    updateButtons(this.lab);
  }

  /** Start, Stop, Calibrate and Resume. */
  wireButtons(): void {
    const lab = this.lab;
    const { state, settings } = lab;
    $('start').addEventListener('click', () => void this.startSweep());
    $('stop').addEventListener('click', () => {
      state.status = 'stopping';
      updateButtons(lab);
      this.send({ type: 'stop' });
    });
    $('calibrate').addEventListener('click', () => {
      if (!lab.corpus) return;
      try {
        settings.spec = readForm(lab);
      } catch (e) {
        $('spec-error').textContent = errorMessage(e);
        return;
      }
      state.status = 'calibrating';
      updateButtons(lab);
      this.send({ type: 'calibrate', spec: settings.spec, text: lab.corpus.text, steps: settings.calibrationSteps });
    });
    $('resume-sweep').addEventListener('click', () => void this.startSweep(true));
  }

  async startSweep(resumeStored = false): Promise<void> {
    const lab = this.lab;
    const { state, corpus } = lab;
    if (!corpus || !state.backend) return;
    let spec: SweepSpec;
    try {
      spec = resumeStored && lab.results ? lab.results.spec : readForm(lab);
    } catch (e) {
      $('spec-error').textContent = errorMessage(e);
      return;
    }
    const info = corpusInfo(corpus);
    // Same sweep on the same text: continue it. Anything else starts fresh results.
    let results = lab.results;
    if (!results || specDiff(results.spec, spec).length > 0 || results.corpus.sha256 !== info.sha256) {
      if (results && results.runs.length > 0)
        notice(
          `Started a new sweep: the previous ${results.runs.length} run(s) on ${results.corpus.source} are replaced in this browser (export them first to keep them).`,
        );
      results = lab.results = emptyResults(spec, info);
      lab.predictions = noPredictions();
    }
    lab.settings.spec = spec;
    lab.planned = planRuns(spec, corpusShape(lab));
    state.status = 'running';
    state.error = null;
    state.runsTotal = lab.planned.length;
    state.runsDone = allRuns(results).length;
    $('resume-offer').hidden = true;
    await persist(lab, 'running');
    refresh(lab);
    updateButtons(lab);
    this.send({ type: 'start', spec, text: corpus.text, done: allRuns(results) });
  }

  private onMessage(msg: FromScalingWorker): void {
    const lab = this.lab;
    const { state } = lab;
    switch (msg.type) {
      case 'backend':
        state.backend = msg.name;
        $('badge').textContent = msg.name;
        $('badge').dataset.backend = msg.name;
        $('badge-reason').textContent = msg.fallbacks.join('; ');
        if (msg.name !== 'webgpu') notice(`Training on ${msg.name}, not WebGPU: ${msg.fallbacks.join('; ')}. Sweeps will be slow.`);
        updateButtons(lab);
        break;
      case 'calibrating':
        $('estimate').textContent = `calibrating: ${msg.done}/${msg.total} sizes…`;
        break;
      case 'calibration':
        lab.calibration = msg.calibration;
        state.status = 'idle';
        if (lab.results) {
          lab.results = { ...lab.results, calibration: msg.calibration };
        }
        renderPlan(lab);
        break;
      case 'sweep': {
        // One at a time: a run's save and refit finish before the next run is placed against the new fit.
        const event = msg.event;
        this.sweepEvents = this.sweepEvents.then(() => this.onSweepEvent(event)).catch((e) => this.fail(errorMessage(e)));
        break;
      }
      case 'error':
        this.fail(msg.message);
        break;
    }
  }

  private async onSweepEvent(ev: SweepEvent): Promise<void> {
    const lab = this.lab;
    const { state, settings, predictions } = lab;
    switch (ev.event) {
      case 'plan':
        state.runsTotal = ev.runs.length;
        state.runsDone = ev.skipped.length;
        for (const w of ev.warnings) notice(w);
        break;
      case 'run-start': {
        lab.pending = ev.run;
        state.currentRun = ev.run.id;
        state.startedThisSession.push(ev.run.id);
        state.step = 0;
        state.maxIters = ev.run.config.maxIters;
        // Place the run against the curve before it lands: both parameter counts, from fits on the runs so far.
        for (const kind of ['nonEmbedding', 'total'] as ParamKind[]) {
          const a =
            kind === settings.paramKind
              ? lab.analysis
              : lab.results && lab.results.runs.length
                ? analyse(lab.results, { paramKind: kind, bootstrap: 0 })
                : null;
          const predicted = a ? predictAt(a, kind === 'total' ? ev.run.params : ev.run.nonEmbeddingParams) : NaN;
          if (Number.isFinite(predicted)) predictions[kind][ev.run.id] = predicted;
        }
        state.predictions = predictions[settings.paramKind];
        drawLossVsN(lab);
        break;
      }
      case 'progress':
        state.step = ev.step;
        $<HTMLProgressElement>('progress-steps').max = ev.maxIters;
        $<HTMLProgressElement>('progress-steps').value = ev.step;
        $('progress-text').textContent =
          `run ${state.runsDone + 1}/${state.runsTotal} ${ev.runId}: step ${ev.step}/${ev.maxIters}, train ${ev.trainLoss.toFixed(4)}${ev.valLoss !== undefined ? `, val ${ev.valLoss.toFixed(4)}` : ''}, ${Math.round(ev.tokensPerSec).toLocaleString('en-US')} tok/s`;
        break;
      case 'run':
        if (!lab.results) return;
        lab.results = withRun(lab.results, ev.result);
        lab.pending = null;
        state.currentRun = null;
        state.runsDone++;
        if (ev.warning) notice(ev.warning);
        {
          const saved = persist(lab, 'running'); // the transaction starts now
          refresh(lab);
          await saved;
        }
        showResultsInfo(lab);
        break;
      case 'done':
        lab.pending = null;
        state.currentRun = null;
        state.status = ev.stopped ? 'stopped' : 'done';
        await persist(lab, ev.stopped ? 'stopped' : 'done');
        refresh(lab);
        break;
    }
  }
}
