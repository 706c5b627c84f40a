// How long a sweep will take: tokens per second calibrated per ladder size on this
// device, interpolated to every planned run, and a spec shrunk to fit a time budget.
// Pure TypeScript (the page and the CLI estimate alike).

import { MIN_SPAN, SweepError, type SweepSpec } from './sweep';
import { planRuns, type CorpusShape, type PlannedRun } from './sweep-plan';

export interface CalibrationPoint {
  sizeIndex: number;
  nonEmbeddingParams: number;
  flopsPerToken: number;
  /** Steady training throughput (the compiling first step excluded). */
  tokensPerSec: number;
}

export interface Calibration {
  backend: string;
  points: CalibrationPoint[];
}

/**
 * Seconds per training token at a given flopsPerToken: log-log interpolation between
 * calibrated sizes, extrapolated from the nearest two (tiny models are overhead-bound,
 * so time is not simply proportional to FLOPs).
 */
export function secondsPerToken(cal: Calibration, fpt: number): number {
  const pts = cal.points
    .filter((p) => p.tokensPerSec > 0)
    .map((p) => ({ x: Math.log(p.flopsPerToken), y: Math.log(1 / p.tokensPerSec) }))
    .sort((a, b) => a.x - b.x);
  if (pts.length === 0) throw new SweepError('calibration has no measured sizes');
  if (pts.length === 1) return Math.exp(pts[0].y) * (fpt / Math.exp(pts[0].x));
  const x = Math.log(fpt);
  let i = 0;
  while (i < pts.length - 2 && x > pts[i + 1].x) i++;
  const [a, b] = [pts[i], pts[i + 1]];
  const slope = b.x === a.x ? 1 : (b.y - a.y) / (b.x - a.x);
  return Math.exp(a.y + slope * (x - a.x));
}

/** Evaluation windows cost about a third of a training token each (forward only). */
export function evalTokens(run: PlannedRun): number {
  const evals = Math.ceil(run.config.maxIters / run.config.evalInterval) + 1; // + the final train-split eval
  return evals * run.config.evalIters * run.config.batchSize * run.config.blockSize;
}

export function estimateRunSeconds(run: PlannedRun, cal: Calibration): number {
  return (run.tokens + evalTokens(run) / 3) * secondsPerToken(cal, run.flopsPerToken);
}

export function estimateSeconds(runs: PlannedRun[], cal: Calibration): number {
  return runs.reduce((s, r) => s + estimateRunSeconds(r, cal), 0);
}

/**
 * Shrink a sweep to fit `budgetSec`: first lower maxParams (keeping the sizes and at
 * least the 16x span), then scale the tokens per run down. Returns the new spec, its
 * estimate and what changed, in words.
 */
export function shrinkToBudget(
  spec: SweepSpec,
  corpus: CorpusShape,
  cal: Calibration,
  budgetSec: number,
): { spec: SweepSpec; seconds: number; changes: string[] } {
  if (!(budgetSec > 0)) throw new SweepError(`time budget must be a positive number of seconds (got ${budgetSec})`);
  let cur: SweepSpec = { ...spec };
  let seconds = estimateSeconds(planRuns(cur, corpus), cal);
  const changes: string[] = [];
  const minSpan = spec.testOnlySmallLadder ? 2 : MIN_SPAN;
  while (seconds > budgetSec) {
    const next = { ...cur, maxParams: Math.round(cur.maxParams / 1.1) };
    if (next.maxParams / next.minParams < minSpan) break;
    let s: number;
    try {
      s = estimateSeconds(planRuns(next, corpus), cal);
    } catch {
      break;
    }
    cur = next;
    seconds = s;
  }
  if (cur.maxParams !== spec.maxParams) changes.push(`maxParams ${spec.maxParams} -> ${cur.maxParams}`);
  if (seconds > budgetSec) {
    // Evaluation cost does not shrink with the tokens, so a few proportional steps are needed.
    for (let i = 0; i < 20 && seconds > budgetSec; i++) {
      const factor = (0.97 * budgetSec) / seconds;
      if (cur.tokens !== null) cur = { ...cur, tokens: Math.max(cur.batchSize * cur.blockSize, Math.round(cur.tokens * factor)) };
      else cur = { ...cur, tokensPerParam: (cur.tokensPerParam as number) * factor };
      seconds = estimateSeconds(planRuns(cur, corpus), cal);
    }
    changes.push(
      cur.tokens !== null
        ? `tokens per run ${spec.tokens} -> ${cur.tokens}`
        : `tokensPerParam ${spec.tokensPerParam} -> ${(cur.tokensPerParam as number).toPrecision(3)}`,
    );
  }
  return { spec: cur, seconds, changes };
}
