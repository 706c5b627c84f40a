// The ladder of model sizes a sweep spec implies: targets spaced geometrically in
// non-embedding parameters, each rounded to a real (nLayer, nHead) shape at the spec's
// fixed head size and near its depth-to-width ratio. Pure TypeScript.

import { paramCount } from '../counts';
import { MIN_LAYERS, MIN_SPAN, SweepError, type SweepSpec } from './sweep';

export interface Rung {
  index: number;
  nLayer: number;
  nHead: number;
  nEmbd: number;
  nonEmbeddingParams: number;
  /** The geometric target this rung was rounded from. */
  targetParams: number;
}

// How much a rung may trade its depth-to-width ratio for hitting its target size:
// score = |ln N - ln target| + ASPECT_WEIGHT * |ln(width per layer / wanted)|.
const ASPECT_WEIGHT = 0.5;
const MAX_LAYERS = 48;
const MAX_HEADS = 256;

/**
 * Model shapes for a spec: targets spaced geometrically from minParams to maxParams,
 * each rounded to the (nLayer >= 2, nHead) shape nearest in size and aspect, strictly
 * increasing. Rounding can shrink the span asked for (1,500 to 24,000 rounds to 1,760
 * to 25,472: 14.5x of 16x); the ladder then rounds outward, the largest rung up (or,
 * where no larger shape exists, the smallest down) until the span asked for is kept.
 * Throws when no shapes give enough distinct sizes or the span.
 */
export function ladder(spec: SweepSpec): Rung[] {
  const asked = spec.maxParams / spec.minParams;
  let rungs = roundLadder(spec, spec.minParams, spec.maxParams);
  const spanOf = (r: Rung[]) => r[r.length - 1].nonEmbeddingParams / r[0].nonEmbeddingParams;
  if (spanOf(rungs) < asked) {
    // Outward: the top up to asked x the rounded bottom (shapes are dense there); only when no
    // shape is that large, the bottom down to the rounded top / asked (few small shapes, odd aspects).
    const lo = rungs[0].nonEmbeddingParams,
      hi = rungs[rungs.length - 1].nonEmbeddingParams;
    const up = tryLadder(spec, lo, lo * asked, 'up');
    const down = up && spanOf(up) >= asked ? null : tryLadder(spec, hi / asked, hi, 'down');
    // An end more than 2x from the one asked for is another ladder than the one asked for: refused below instead.
    const near = (r: Rung[]) => r[0].nonEmbeddingParams >= spec.minParams / 2 && r[r.length - 1].nonEmbeddingParams <= spec.maxParams * 2;
    const kept = [up, down].find((r): r is Rung[] => r !== null && spanOf(r) >= asked && near(r));
    if (kept) rungs = kept;
  }
  const span = spanOf(rungs);
  if (!spec.testOnlySmallLadder && span < MIN_SPAN) {
    throw new SweepError(
      `sweep spec: the ladder rounds to a ${span.toFixed(1)}x span (${rungs[0].nonEmbeddingParams} to ${rungs[rungs.length - 1].nonEmbeddingParams} non-embedding params), under ${MIN_SPAN}x: raise maxParams or lower minParams`,
    );
  }
  return rungs;
}

/** What the rounding chose, when it is not what was asked: one line for the CLI and the page, else null. */
export function ladderNote(spec: SweepSpec, rungs: Rung[]): string | null {
  const lo = rungs[0].nonEmbeddingParams,
    hi = rungs[rungs.length - 1].nonEmbeddingParams;
  const asked = spec.maxParams / spec.minParams;
  if (lo === spec.minParams && hi === spec.maxParams) return null;
  const n = (x: number) => Math.round(x).toLocaleString('en-US');
  return `ladder: asked ${n(spec.minParams)} to ${n(spec.maxParams)} non-embedding params (${asked.toFixed(1)}x), rounded to real shapes ${n(lo)} to ${n(hi)} (${(hi / lo).toFixed(1)}x): ${rungs.map((r) => n(r.nonEmbeddingParams)).join(', ')}`;
}

function tryLadder(spec: SweepSpec, lo: number, hi: number, outward: 'up' | 'down'): Rung[] | null {
  try {
    return roundLadder(spec, lo, hi, outward);
  } catch (e) {
    if (e instanceof SweepError) return null;
    throw e;
  }
}

/** Targets lo..hi rounded to shapes; `outward` forces the top rung up to >= hi (or the bottom down to <= lo). */
function roundLadder(spec: SweepSpec, lo: number, hi: number, outward?: 'up' | 'down'): Rung[] {
  const K = spec.sizes;
  const hs = spec.headSize;
  const count = (nLayer: number, nEmbd: number) =>
    paramCount({ nLayer, nHead: 1, nEmbd, blockSize: spec.blockSize, vocabSize: 0, dropout: 0, bias: true }).nonEmbedding;
  const rungs: Rung[] = [];
  let prev = 0;
  for (let i = 0; i < K; i++) {
    const target = lo * Math.pow(hi / lo, K === 1 ? 0 : i / (K - 1));
    let best: Rung | null = null;
    let bestScore = Infinity;
    for (let nLayer = MIN_LAYERS; nLayer <= MAX_LAYERS; nLayer++) {
      for (let nHead = 1; nHead <= MAX_HEADS; nHead++) {
        const nEmbd = nHead * hs;
        const N = count(nLayer, nEmbd);
        if (N <= prev) continue;
        if (outward === 'up' && i === K - 1 && N < hi) continue;
        if (outward === 'down' && i === 0 && N > lo) continue;
        const score = Math.abs(Math.log(N / target)) + ASPECT_WEIGHT * Math.abs(Math.log(nEmbd / nLayer / spec.widthPerLayer));
        if (score < bestScore) {
          bestScore = score;
          best = { index: i, nLayer, nHead, nEmbd, nonEmbeddingParams: N, targetParams: Math.round(target) };
        }
      }
    }
    if (!best) throw new SweepError(`sweep spec: no model shape fits rung ${i + 1} (target ${Math.round(target)} params): lower maxParams or the head size`);
    rungs.push(best);
    prev = best.nonEmbeddingParams;
  }
  return rungs;
}
