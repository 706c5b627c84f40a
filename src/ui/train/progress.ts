// What the training page shows of a run in progress: the status, the progress
// bar and the figures (step, ETA, ms per step, tokens per second, train and
// val loss in nats or bits per char), the chart options, and the evaluation
// sample as the worker streams it in.

import { formatCount, formatDuration, formatLoss, type LossUnits } from '../../core/format';
import { EVAL_SAMPLE, type FromWorker } from '../../worker/protocol';
import { $ } from '../dom';
import type { TrainPage } from './page';

export function renderProgress(page: TrainPage): void {
  const s = page.state;
  const units = page.units;
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

/** The loss units (nats or bits per char) and the log-scale switch of the charts. */
export function wireChartOptions(page: TrainPage): void {
  for (const r of document.querySelectorAll<HTMLInputElement>('input[name=units]')) {
    r.addEventListener('change', () => {
      page.units = r.value as LossUnits;
      page.charts.setUnits(page.units);
      $('loss-units').textContent = page.units === 'bpc' ? 'bits/char' : 'nats/char';
      renderProgress(page);
    });
  }
  $<HTMLInputElement>('log-y').addEventListener('change', (e) => page.charts.setLogY((e.target as HTMLInputElement).checked));
}

/** The evaluation sample, appended as it streams (text nodes: never parsed as HTML); complete in state.sample. */
export class EvalSample {
  private text = '';

  constructor(private readonly page: TrainPage) {}

  tokens(msg: Extract<FromWorker, { type: 'tokens' }>): void {
    if (msg.stream !== 'eval') return;
    const out = $('eval-sample');
    if (msg.reset) {
      out.textContent = '';
      this.text = '';
      $('sample-step').textContent = `at step ${msg.id} (temperature ${EVAL_SAMPLE.temperature})`;
    }
    out.append(msg.text); // text node: never parsed as HTML
    this.text += msg.text;
    if (msg.done) {
      this.page.state.sample = this.text;
      this.page.state.sampleStep = msg.id;
    }
  }
}
