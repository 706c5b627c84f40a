// Softmax and top-k on plain arrays (the page's bars and the hover lists).

import type { CharProb } from './types';

/** Numerically stable softmax of logits (float64 sums). */
export function softmax(logits: ArrayLike<number>): Float64Array {
  let max = -Infinity;
  for (let i = 0; i < logits.length; i++) max = Math.max(max, logits[i]);
  const out = new Float64Array(logits.length);
  let sum = 0;
  for (let i = 0; i < logits.length; i++) sum += out[i] = Math.exp(logits[i] - max);
  for (let i = 0; i < out.length; i++) out[i] /= sum;
  return out;
}

/** The k largest probabilities with their characters, largest first (ties: lower id first). */
export function topK(probs: ArrayLike<number>, vocab: readonly string[], k: number): CharProb[] {
  const ids = Array.from({ length: probs.length }, (_, i) => i);
  ids.sort((a, b) => probs[b] - probs[a] || a - b);
  return ids.slice(0, Math.max(0, k)).map((i) => ({ char: vocab[i], p: probs[i] }));
}
