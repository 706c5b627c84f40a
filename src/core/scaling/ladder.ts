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
 * increasing. Throws when the rounding leaves too few distinct sizes or too short a span.
 */
export function ladder(spec: SweepSpec): Rung[] {
  const K = spec.sizes;
  const hs = spec.headSize;
  const count = (nLayer: number, nEmbd: number) =>
    paramCount({ nLayer, nHead: 1, nEmbd, blockSize: spec.blockSize, vocabSize: 0, dropout: 0, bias: true }).nonEmbedding;
  const rungs: Rung[] = [];
  let prev = 0;
  for (let i = 0; i < K; i++) {
    const target = spec.minParams * Math.pow(spec.maxParams / spec.minParams, K === 1 ? 0 : i / (K - 1));
    let best: Rung | null = null;
    let bestScore = Infinity;
    for (let nLayer = MIN_LAYERS; nLayer <= MAX_LAYERS; nLayer++) {
      for (let nHead = 1; nHead <= MAX_HEADS; nHead++) {
        const nEmbd = nHead * hs;
        const N = count(nLayer, nEmbd);
        if (N <= prev) continue;
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
  const span = rungs[K - 1].nonEmbeddingParams / rungs[0].nonEmbeddingParams;
  if (!spec.testOnlySmallLadder && span < MIN_SPAN) {
    throw new SweepError(`sweep spec: the ladder rounds to a ${span.toFixed(1)}x span (${rungs[0].nonEmbeddingParams} to ${rungs[K - 1].nonEmbeddingParams} non-embedding params), under ${MIN_SPAN}x: raise maxParams or lower minParams`);
  }
  return rungs;
}

