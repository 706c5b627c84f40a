// The header's backend badge and the notices under it. The badge names the
// backend the worker chose and why (forced, timed against the others on the
// model at Start, or which backends fell back), and
// says when WASM threads are off because the page is not cross-origin
// isolated: a static host that cannot send COOP/COEP headers (GitHub Pages)
// still trains, on a single WASM thread where WASM is the backend.

import { BACKEND_LABELS, type BackendName } from '../../core/choices';
import { $ } from '../dom';

/** Why WASM threads are off here, or null when they can run. */
export function threadsOffReason(): string | null {
  if (globalThis.crossOriginIsolated && typeof SharedArrayBuffer !== 'undefined') return null;
  return 'threads off: this host sends no cross-origin isolation headers (COOP/COEP), so SharedArrayBuffer is unavailable; serve the _headers file (Netlify, Cloudflare Pages) for multi-threaded WASM';
}

export function showBackend(
  state: { backend: BackendName | null; backendReason: string | null },
  name: BackendName,
  fallbacks: string[],
  forced: boolean,
  measured?: string,
): void {
  state.backend = name;
  const reason = forced ? `forced by ?backend=${name}` : measured ? `measured: ${measured}` : fallbacks.length ? `fell back: ${fallbacks.join('; ')}` : null;
  state.backendReason = reason;
  const threads = threadsOffReason();
  const badge = $('badge');
  badge.textContent = BACKEND_LABELS[name];
  badge.dataset.backend = name;
  badge.dataset.threads = threads ? 'off' : 'on';
  badge.title = [reason ?? 'the fastest backend available here', threads].filter(Boolean).join('\n');
  $('badge-reason').textContent = [reason, threads].filter(Boolean).join(' · ');
}

/** The training step's mode beside the backend badge: "recorded step", or "eager step" with the reason in its title. */
export function showStepMode(step: 'recorded' | 'eager', reason: string | null): void {
  const el = document.getElementById('badge-step');
  if (!el) return;
  el.textContent = step === 'recorded' ? 'recorded step' : 'eager step';
  el.dataset.step = step;
  el.title =
    step === 'recorded'
      ? 'the training step was recorded once and is replayed from cached bind groups (no tfjs op per step)'
      : `each op runs through tfjs: ${reason ?? ''}`;
}

export function showNotice(state: { notices: string[] }, message: string): void {
  state.notices.push(message);
  const el = document.createElement('div');
  el.className = 'notice';
  el.textContent = message;
  const close = document.createElement('button');
  close.type = 'button';
  close.textContent = '×';
  close.setAttribute('aria-label', 'dismiss');
  close.addEventListener('click', () => el.remove());
  el.append(close);
  $('notices').append(el);
}
