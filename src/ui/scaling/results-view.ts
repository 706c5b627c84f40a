// The scaling lab's results display: refit after every finished run (the E +
// power-law fit with its bootstrap band, IsoFLOPs, the lr check, Chinchilla's
// approaches) and redraw the plots and tables from it, in the chosen parameter
// count and loss units. Plots are plots.ts, tables tables.ts.

import { analyse, hasSeveralBudgets, predictAt, PARAM_KIND_LABEL, type ParamKind } from '../../core/scaling/analysis';
import { computeFrontier, isoFlops } from '../../core/scaling/isoflops';
import { type PlannedRun } from '../../core/scaling/sweep-plan';
import { formatParams } from '../../core/format';
import { chinchillaApproaches } from '../../core/scaling/approaches';
import { NOT_A_SCALING_LAW } from '../../core/scaling/diagnostics';
import { summariseLrScan } from '../../core/scaling/lr-scan';
import { $ } from '../dom';
import type { Lab } from './lab';
import { renderPlan, writeUrl } from './sweep-form';
import { renderApproaches, renderConstants, renderRuns, sci } from './tables';

export function refresh(lab: Lab): void {
  const { state, settings, plots, results } = lab;
  lab.analysis = null;
  lab.iso = null;
  state.fit = null;
  if (results && results.runs.length > 0) {
    const Ns = results.runs.map((r) => (settings.paramKind === 'total' ? r.params : r.nonEmbeddingParams));
    const lo = Math.min(...Ns) / 1.5,
      hi = Math.max(...Ns) * 2;
    const bandN = Array.from({ length: 40 }, (_, i) => lo * Math.pow(hi / lo, i / 39));
    lab.analysis = analyse(results, { paramKind: settings.paramKind, bootstrap: 200, bandN });
    if (lab.analysis.fit) {
      const f = lab.analysis.fit;
      state.fit = {
        paramKind: settings.paramKind,
        E: f.E,
        Nc: f.Nc,
        alpha: f.alpha,
        intervals: f.intervals,
        heldOut: lab.analysis.heldOut,
        points: lab.analysis.points.length,
        valid: lab.analysis.diagnosis.valid,
        problems: lab.analysis.diagnosis.problems.map((p) => p.message),
      };
    }
    if (hasSeveralBudgets(results)) lab.iso = isoFlops(results.runs, settings.paramKind);
  }
  const { analysis, iso } = lab;
  state.predictions = lab.predictions[settings.paramKind];
  const units = settings.units;
  drawLossVsN(lab);
  plots.drawLossVsCompute(results?.runs ?? [], computeFrontier(results?.runs ?? []), units);
  $('iso-card').hidden = !iso || iso.curves.length === 0;
  if (iso && iso.curves.length > 0) {
    plots.drawIsoFlops(iso, units, PARAM_KIND_LABEL[settings.paramKind]);
    plots.drawNopt(iso, analysis?.joint ?? null);
    $('iso-summary').textContent =
      iso.a !== null ? `IsoFLOP minima: N_opt ∝ C^${iso.a.toFixed(3)}` : 'too few IsoFLOP minima inside the ladder for an exponent';
  }
  state.lrScan = results?.lrScan?.length ? summariseLrScan(results.lrScan) : null;
  $('lr-card').hidden = !state.lrScan || state.lrScan.sizes.length === 0;
  if (state.lrScan && state.lrScan.sizes.length > 0) {
    plots.drawLrScan(state.lrScan, units);
    $('lr-summary').textContent =
      state.lrScan.sizes
        .map(
          (z) =>
            `N = ${formatParams(z.nonEmbeddingParams)}: best lr ${z.bestLr.toPrecision(3)} = rule × ${z.bestMultiplier}${z.bestAtEdge ? ' (edge of the scan)' : ''}, the rule costs ${z.ruleExcess.toFixed(4)} nats`,
        )
        .join('; ') + `. The rule is ${state.lrScan.ruleOk ? '' : 'not '}within 2× of the best lr at every scanned size.`;
  }
  state.approaches =
    results && hasSeveralBudgets(results)
      ? chinchillaApproaches(results.runs, settings.paramKind, {
          bootstrap: 100,
          ...(results.spec.isoFlops ? { isoLevelsFrom: results.spec.budgets.length } : {}),
        })
      : [];
  renderApproaches($('approaches') as HTMLTableElement, state.approaches);
  renderConstants($('constants') as HTMLTableElement, analysis, units, iso);
  renderRuns($('runs') as HTMLTableElement, results?.runs ?? [], analysis, lab.predictions[settings.paramKind], units);
  const a = analysis;
  $('fit-summary').textContent = !a
    ? 'no runs yet'
    : !a.diagnosis.valid
      ? `${NOT_A_SCALING_LAW[0].toUpperCase()}${NOT_A_SCALING_LAW.slice(1)}: ${a.diagnosis.problems.map((p) => p.message).join(' ')}`
      : a.fit
        ? `L(N) = ${sci(a.fit.E, 4)} + (${sci(a.fit.Nc)} / N)^${sci(a.fit.alpha)} on ${PARAM_KIND_LABEL[settings.paramKind]} (${a.points.length} runs; band: 95% bootstrap over runs)` +
          (a.heldOut
            ? `; largest size held out: predicted ${a.heldOut.predicted.toFixed(4)}, measured ${a.heldOut.measured.toFixed(4)} (${(100 * a.heldOut.error).toFixed(2)}%)`
            : '')
        : `no E + power-law fit yet: ${a.fitError ?? ''}`;
  showResultsInfo(lab);
  $<HTMLProgressElement>('progress-runs').max = Math.max(1, state.runsTotal);
  $<HTMLProgressElement>('progress-runs').value = state.runsDone;
  if (state.status !== 'running') $('progress-text').textContent = `${state.status}: ${state.runsDone}/${state.runsTotal} runs`;
  renderPlan(lab);
}

export function showResultsInfo(lab: Lab): void {
  const { results } = lab;
  $('results-info').textContent = results
    ? `${results.runs.length} run(s) on ${results.corpus.source}; saved in this browser: ${lab.state.saved}${results.spec.testOnlySmallLadder ? ' (test-only ladder: not a measurement)' : ''}`
    : 'no results';
}

function currentPrediction(lab: Lab, run: PlannedRun): number {
  return lab.analysis ? predictAt(lab.analysis, lab.settings.paramKind === 'total' ? run.params : run.nonEmbeddingParams) : NaN;
}

export function drawLossVsN(lab: Lab): void {
  const { analysis, pending, settings } = lab;
  const kind = settings.paramKind;
  const nOf = (r: PlannedRun) => (kind === 'total' ? r.params : r.nonEmbeddingParams);
  const before = (lab.results?.runs ?? []).map((r) => ({ N: nOf(r), loss: lab.predictions[kind][r.id] ?? NaN }));
  lab.plots.drawLossVsN({
    points: analysis?.points ?? [],
    fit: analysis?.fit ?? null,
    power: analysis?.power ?? null,
    band: analysis?.band ?? null,
    predictedBefore: before,
    pending: pending ? { N: nOf(pending), loss: currentPrediction(lab, pending) } : null,
    paramLabel: PARAM_KIND_LABEL[kind],
    units: settings.units,
    notALaw: analysis ? !analysis.diagnosis.valid : false,
  });
}

/** Which parameter count the fit and plots use, and the loss units: both redraw everything. */
export function wireDisplayOptions(lab: Lab): void {
  const { settings } = lab;
  $('paramKind').addEventListener('change', () => {
    settings.paramKind = $<HTMLSelectElement>('paramKind').value as ParamKind;
    writeUrl(settings);
    refresh(lab);
  });
  $('units').addEventListener('change', () => {
    settings.units = $<HTMLSelectElement>('units').value as 'nats' | 'bpc';
    writeUrl(settings);
    refresh(lab);
  });
}
