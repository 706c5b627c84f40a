// The most surprising stretches of a scored text: fixed-width windows with the
// largest summed surprisal, chosen greedily so that none overlap.

import type { Span } from './types';

/**
 * Top `count` non-overlapping windows of `width` characters by total bits.
 * `bits[i]` is null where nothing was predicted (the first character).
 */
export function surprisingSpans(chars: readonly string[], bits: readonly (number | null)[], width = 6, count = 5): Span[] {
  const n = chars.length;
  const w = Math.max(1, Math.min(width, n));
  const windows: Span[] = [];
  let sum = 0;
  for (let i = 0; i < n; i++) {
    sum += bits[i] ?? 0;
    if (i >= w) sum -= bits[i - w] ?? 0;
    if (i >= w - 1) windows.push({ start: i - w + 1, length: w, text: '', bits: sum });
  }
  windows.sort((a, b) => b.bits - a.bits || a.start - b.start);
  const taken: Span[] = [];
  for (const s of windows) {
    if (taken.length >= count) break;
    if (taken.some((t) => s.start < t.start + t.length && t.start < s.start + s.length)) continue;
    taken.push({ ...s, text: chars.slice(s.start, s.start + s.length).join('') });
  }
  return taken;
}
