// "This machine": the backend's adapter (vendor, architecture), the features
// that matter for training (shader-f16, subgroups, timestamp-query), key
// limits, a measured matmul rate, and, before Start, the expected tokens/s and
// wall time of the chosen configuration (from a few timed steps), with a
// warning when the run would take hours; the predicted peak memory of a step
// against the adapter's buffer limits, with a warning when it will not fit.

import type { Config } from '../../core/config';
import { formatCount, formatDuration } from '../../core/format';
import type { DeviceReport, SpeedEstimate } from '../../core/inspect/types';
import { card, el } from '../dom';
import { memoryAdvice } from '../../core/memory';

/** Above this, a run "takes hours": say so before Start. */
export const LONG_RUN_SECONDS = 3600;

export class DeviceView {
  readonly root: HTMLElement;
  report: DeviceReport | null = null;
  estimate: { data: SpeedEstimate; config: Config } | null = null;
  private readonly info: HTMLElement;
  private readonly est: HTMLElement;
  private readonly warn: HTMLElement;
  private readonly error: HTMLElement;
  private readonly memory: HTMLElement;
  private readonly memoryWarn: HTMLElement;
  readonly button: HTMLButtonElement;

  constructor(askEstimate: () => void) {
    const c = card('view-device', 'This machine', 'What this browser trains on, and how long the chosen configuration would take here.');
    this.root = c.root;
    this.info = el('dl', { class: 'device-info' }, el('dt', { text: 'backend' }), el('dd', { text: 'measuring…' }));
    this.button = el('button', { type: 'button', id: 'estimate-run', text: 'Estimate speed' });
    this.button.addEventListener('click', askEstimate);
    this.est = el('p', { id: 'estimate-out', class: 'estimate' });
    this.warn = el('p', { class: 'warn', id: 'estimate-warn' });
    this.error = el('p', { class: 'error' });
    this.memory = el('p', { id: 'device-memory', class: 'estimate' });
    this.memoryWarn = el('p', { id: 'device-memory-warn', class: 'warn' });
    c.body.append(
      this.info,
      this.memory,
      this.memoryWarn,
      el('div', { class: 'buttons' }, this.button, el('span', { class: 'muted', text: 'times a few training steps of the settings above' })),
      this.est,
      this.warn,
      this.error,
    );
  }

  showReport(r: DeviceReport): void {
    this.report = r;
    const rows: [string, string][] = [['backend', r.backend]];
    if (r.adapter)
      rows.push([
        'adapter',
        [r.adapter.vendor, r.adapter.architecture, r.adapter.device || r.adapter.description].filter((s) => s && s !== '?').join(' · ') || 'unnamed',
      ]);
    for (const [k, v] of Object.entries(r.limits)) rows.push([k, v >= 2 ** 20 ? `${(v / 2 ** 20).toFixed(0)} MiB` : formatCount(v)]);
    rows.push(['matmul', `${r.matmulGflops.toFixed(r.matmulGflops < 10 ? 2 : 0)} GFLOP/s (float32, ${r.matmulSize}×${r.matmulSize})`]);
    const features = Object.entries(r.features).map(([f, on]) => el('span', { class: 'feature', text: `${on ? '✓' : '✗'} ${f}` }));
    this.info.replaceChildren(
      ...rows.slice(0, r.adapter ? 2 : 1).flatMap(([k, v]) => [el('dt', { text: k }), el('dd', { text: v })]),
      ...(features.length ? [el('dt', { text: 'features' }), el('dd', {}, ...features)] : []),
      ...rows.slice(r.adapter ? 2 : 1).flatMap(([k, v]) => [el('dt', { text: k }), el('dd', { text: v })]),
    );
  }

  estimating(): void {
    this.error.textContent = '';
    this.est.textContent = 'timing a few steps…';
    this.button.disabled = true;
  }

  /** The predicted peak of a step of `config` against this adapter's limits (core/memory.ts), with a warning when it will not fit. */
  showMemory(config: Config): void {
    if (!this.report) return;
    const advice = memoryAdvice(config, this.report.backend, this.report.limits as { maxBufferSize?: number; maxStorageBufferBindingSize?: number });
    this.memory.textContent = advice.line;
    this.memoryWarn.textContent = advice.warning ?? '';
  }

  showEstimate(data: SpeedEstimate, config: Config): void {
    this.estimate = { data, config };
    this.button.disabled = false;
    this.est.textContent = `≈ ${formatCount(data.tokensPerSec)} tokens/s · ${data.msPerStep.toFixed(data.msPerStep < 10 ? 1 : 0)} ms/step → ${formatCount(config.maxIters)} steps in ≈ ${formatDuration(data.wallSeconds)} (plus evaluations)`;
    this.warn.textContent =
      data.wallSeconds > LONG_RUN_SECONDS
        ? `This run would take ${formatDuration(data.wallSeconds)} here: consider a smaller preset, fewer steps (maxIters) or a shorter context (blockSize).`
        : '';
  }

  /** The settings changed: an old estimate no longer applies. */
  stale(): void {
    if (!this.estimate) return;
    this.estimate = null;
    this.est.textContent = 'settings changed: estimate again';
    this.warn.textContent = '';
  }

  showError(message: string): void {
    this.button.disabled = false;
    this.est.textContent = '';
    this.error.textContent = message;
  }
}
