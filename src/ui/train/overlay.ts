// The transfer comparison on the page: while a fine-tune runs (or is resumed),
// the loss chart overlays the validation curve of a from-scratch run on the same
// text (same sha256, hence the same 90/10 split and the same fixed evaluation
// batches), saved in the model list. Pure functions, testable without a DOM.

import type { ChartHistory } from './history';
import type { SavedModel } from '../storage';

export interface Overlay {
  /** Legend label, e.g. "from scratch (2×64 ctx 64 · notes.txt, step 300)". */
  label: string;
  steps: number[];
  val: number[];
}

/**
 * The from-scratch run to compare a fine-tune with: saved runs on the text with
 * this sha256 that were not themselves fine-tunes and have validation points;
 * the one with the most steps (ties: the most recent). Null when there is none.
 */
export function scratchOverlay(records: readonly SavedModel[], sha256: string, exceptRunId?: string): Overlay | null {
  const candidates = records.filter(
    (r) => r.source === 'run' && !r.initFrom && r.runId !== exceptRunId && r.corpus.sha256 === sha256 && r.history?.val.some((v) => v !== null),
  );
  if (candidates.length === 0) return null;
  const best = candidates.reduce((a, b) => (b.step > a.step || (b.step === a.step && b.savedAt > a.savedAt) ? b : a));
  return { label: `from scratch (${best.name}, step ${best.step})`, ...valPoints(best.history!) };
}

/** The evaluation rows of a chart history. */
export function valPoints(h: ChartHistory): { steps: number[]; val: number[] } {
  const steps: number[] = [];
  const val: number[] = [];
  h.steps.forEach((s, i) => {
    const v = h.val[i];
    if (v !== null && v !== undefined) {
      steps.push(s);
      val.push(v);
    }
  });
  return { steps, val };
}

/**
 * Merge an overlay into the loss chart's x values: the union of both step lists
 * (sorted), each existing column re-indexed onto it (null where it has no row;
 * reference lines, columns from `firstReference` on, extended), plus the overlay's column.
 */
export function alignOverlay(
  xs: number[],
  cols: (number | null)[][],
  overlay: Overlay,
  firstReference = cols.length,
): { xs: number[]; cols: (number | null)[][] } {
  const all = [...new Set([...xs, ...overlay.steps])].sort((a, b) => a - b);
  const at = new Map(xs.map((s, i) => [s, i]));
  const ov = new Map(overlay.steps.map((s, i) => [s, overlay.val[i]]));
  // Columns from `firstReference` on are reference lines (one value on every row): they stay continuous.
  const out = cols.map((c, j) => all.map((s) => (at.has(s) ? c[at.get(s)!] : j >= firstReference ? c[0] : null)));
  out.push(all.map((s) => ov.get(s) ?? null));
  return { xs: all, cols: out };
}
