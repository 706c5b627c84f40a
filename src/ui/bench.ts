// The benchmark page: pick backends and presets, run core/bench.ts in a
// worker per backend (src/worker/bench.worker.ts), show the same table and
// JSON lines as `tabgpt bench`. DOM only (no tfjs here).
//
// URL parameters (all optional), so `npm run bench -- --browser` can drive it:
//   backends=webgpu,webgl,wasm,cpu  presets=nano,micro  budget=3 (s)  repeats=3
//   gen=256 (chars)  batch=16  profile=1  threads=N (wasm)  auto=1 (start on load)
//   kernels=generic,fused (webgpu rows: one per mode, side by side)  matmul=tfjs,tiled (fused rows' matmul; auto)  trainingonly=1
//   step=eager,recorded (webgpu rows: how the trainer issues a step; recorded)
// What is not given is core/bench-defs.ts' default, as for `tabgpt bench`.
// Progress and results are also on window.tabgpt.state (as on the other
// pages) for the headless driver and the browser tests.

import { BENCH_DEFAULTS, benchVariants, defaultBenchBatchSize, type BenchRequest, type BenchRow } from '../core/bench-defs';
import { formatGpuTable, formatProfile, formatTable } from '../core/benchreport';
import { BROWSER_ORDER, KERNEL_MODES, MATMUL_CHOICES, type BackendName } from '../core/choices';
import { DEFAULT_CONFIG, PRESET_NAMES, STEP_MODES, type PresetName } from '../core/config';
import type { FromBenchWorker, ToBenchWorker } from '../worker/protocol';
import { $ } from './dom';

export interface BenchPageState {
  status: 'idle' | 'running' | 'done';
  rows: BenchRow[];
  /** One line per backend or preset that failed (the others still run). */
  errors: string[];
  log: string[];
  /** Per backend: what the worker reported about it (threads, SIMD, adapter, ...). */
  envs: Record<string, Record<string, string | number | boolean>>;
}
const state: BenchPageState = { status: 'idle', rows: [], errors: [], log: [], envs: {} };
(window as unknown as { tabgpt: { state: BenchPageState } }).tabgpt = { state };

const params = new URLSearchParams(location.search);

function listParam<T extends string>(name: string, allowed: readonly T[], fallback: readonly T[]): T[] {
  const raw = params.get(name);
  if (!raw) return [...fallback];
  const items = raw
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const bad = items.filter((s) => !allowed.includes(s as T));
  if (bad.length > 0) showError(`?${name}= has ${bad.join(', ')}: choose from ${allowed.join(', ')}`);
  return items.filter((s): s is T => allowed.includes(s as T));
}

function checkboxes(container: HTMLElement, names: readonly string[], checked: string[]): void {
  for (const name of names) {
    const label = document.createElement('label');
    const box = document.createElement('input');
    box.type = 'checkbox';
    box.value = name;
    box.checked = checked.includes(name);
    label.append(box, ' ' + name);
    container.append(label);
  }
}

function checked(container: HTMLElement): string[] {
  return [...container.querySelectorAll<HTMLInputElement>('input[type=checkbox]')].filter((b) => b.checked).map((b) => b.value);
}

function showError(message: string): void {
  state.errors.push(message);
  const p = document.createElement('p');
  p.textContent = message;
  $('errors').append(p);
}

function logLine(line: string): void {
  state.log.push(line);
  $('log').textContent = state.log.join('\n');
}

const envs = state.envs;
function render(): void {
  const gpu = formatGpuTable(state.rows);
  $('table').textContent = state.rows.length ? formatTable(state.rows) + (gpu ? `\n\n${gpu}` : '') : '(no results yet)';
  $('json').textContent = state.rows.map((r) => JSON.stringify(r)).join('\n');
  const profiles = state.rows.filter((r) => r.profile).map((r) => formatProfile(r));
  $('profiles').hidden = profiles.length === 0;
  $('profiles').textContent = profiles.join('\n\n');
  $('env').textContent =
    Object.entries(envs)
      .map(
        ([b, e]) =>
          `${b}: ${Object.entries(e)
            .map(([k, v]) => `${k}=${v}`)
            .join(', ')}`,
      )
      .join('\n') || '(backends not started yet)';
}

/** Talk to one worker: send a message, resolve on the reply that ends it (ready, row or error). */
function request(worker: Worker, msg: ToBenchWorker): Promise<FromBenchWorker> {
  return new Promise((resolve) => {
    const onMessage = (e: MessageEvent<FromBenchWorker>) => {
      const reply = e.data;
      if (reply.type === 'log') return logLine(reply.line);
      worker.removeEventListener('message', onMessage);
      worker.removeEventListener('error', onError);
      resolve(reply);
    };
    const onError = (e: ErrorEvent) => {
      worker.removeEventListener('message', onMessage);
      worker.removeEventListener('error', onError);
      resolve({ type: 'error', message: `worker failed: ${e.message || 'unknown error'}` });
    };
    worker.addEventListener('message', onMessage);
    worker.addEventListener('error', onError);
    worker.postMessage(msg);
  });
}

async function runBackend(backend: BackendName, presets: PresetName[], base: Omit<BenchRequest, 'preset'>): Promise<void> {
  $('status').textContent = `starting ${backend}…`;
  const worker = new Worker(new URL('../worker/bench.worker.ts', import.meta.url), { type: 'module' });
  try {
    const threads = Number(params.get('threads'));
    const ready = await request(worker, { type: 'init', backend, ...(threads > 0 ? { wasmThreads: threads } : {}) });
    if (ready.type !== 'ready') return showError(ready.type === 'error' ? `${backend}: ${ready.message}` : `${backend}: unexpected reply`);
    envs[backend] = ready.env;
    render();
    for (const preset of presets) {
      for (const variant of benchVariants(backend, kernelModes, matmuls, steps)) {
        $('status').textContent =
          `${backend} ${preset}${variant.kernels ? ` ${variant.kernels}` : ''}${variant.matmul ? ` (${variant.matmul} matmul)` : ''}${variant.step ? ` ${variant.step}` : ''}…`;
        const reply = await request(worker, { type: 'run', options: { ...base, preset, ...variant } });
        if (reply.type === 'row') {
          state.rows.push(reply.row);
          render();
        } else if (reply.type === 'error') {
          showError(`${backend} ${preset}: ${reply.message}`);
        }
      }
    }
  } finally {
    worker.terminate();
  }
}

function numberInput(id: string): number | undefined {
  const v = ($(id) as HTMLInputElement).value.trim();
  if (v === '') return undefined;
  const n = Number(v);
  return Number.isFinite(n) && n > 0 ? n : undefined;
}

async function runAll(): Promise<void> {
  if (state.status === 'running') return;
  state.status = 'running';
  ($('run') as HTMLButtonElement).disabled = true;
  const backends = checked($('backends')) as BackendName[];
  const presets = checked($('presets')) as PresetName[];
  const budgetS = numberInput('budget');
  const base: Omit<BenchRequest, 'preset'> = {
    trainBudgetMs: budgetS !== undefined ? budgetS * 1000 : undefined,
    repeats: numberInput('repeats'),
    genTokens: numberInput('gen'),
    batchSize: numberInput('batch'),
    profileSteps: ($('profile') as HTMLInputElement).checked ? BENCH_DEFAULTS.profiledSteps : 0,
    trainingOnly: params.get('trainingonly') === '1',
  };
  try {
    if (backends.length === 0 || presets.length === 0) showError('pick at least one backend and one preset');
    for (const backend of backends) await runBackend(backend, presets, base);
    $('status').textContent = `done: ${state.rows.length} rows${state.errors.length ? `, ${state.errors.length} errors` : ''}`;
  } catch (e) {
    showError((e as Error).message);
  } finally {
    state.status = 'done';
    ($('run') as HTMLButtonElement).disabled = false;
  }
}

const kernelModes = listParam('kernels', KERNEL_MODES, BENCH_DEFAULTS.kernels);
const matmuls = listParam('matmul', MATMUL_CHOICES, BENCH_DEFAULTS.matmul);
const steps = listParam('step', STEP_MODES, ['recorded']);
checkboxes($('backends'), BROWSER_ORDER, listParam('backends', BROWSER_ORDER, BROWSER_ORDER));
checkboxes($('presets'), PRESET_NAMES, listParam('presets', PRESET_NAMES, BENCH_DEFAULTS.presets));
// The form shows the defaults (bench-defs.ts, the CLI's too); the URL's values replace them.
const shown: Record<string, string> = {
  budget: String(BENCH_DEFAULTS.trainBudgetMs / 1000),
  repeats: String(BENCH_DEFAULTS.repeats),
  gen: String(BENCH_DEFAULTS.genTokens),
  batch: '',
};
for (const [param, value] of Object.entries(shown)) ($(param) as HTMLInputElement).value = params.get(param) ?? value;
($('batch') as HTMLInputElement).placeholder = `${DEFAULT_CONFIG.batchSize} (cpu ${defaultBenchBatchSize('cpu')})`;
($('profile') as HTMLInputElement).checked = params.get('profile') === '1';
$('form').addEventListener('submit', (e) => {
  e.preventDefault();
  void runAll();
});
if (!crossOriginIsolated) logLine('note: this page is not cross-origin isolated, so browser WASM runs single-threaded');
if (params.get('auto') === '1') void runAll();
