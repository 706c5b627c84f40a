// Text generation: temperature, top-k and top-p (nucleus) sampling from the
// model's next-character distribution, streamed one character at a time.
// With the KV cache each new character costs one position of compute; without
// it (`useCache: false`) the whole context is recomputed, as nanoGPT does.

import * as tf from '@tensorflow/tfjs';
import type { GPT } from './model';
import { Rng } from './rng';
import type { Tokenizer } from './tokenizer';

export interface SampleOptions {
  /** Text to continue; cropped to its last blockSize characters. Empty: start from a newline if known. */
  prompt?: string;
  maxNewTokens?: number;
  /** Divide logits by this; < 1 sharper, > 1 flatter; 0 means greedy (argmax). */
  temperature?: number;
  /** Keep only the k most likely characters (0 = all). */
  topK?: number;
  /** Keep the smallest set whose probability reaches p (1 = all). */
  topP?: number;
  seed?: number;
  /** Called with each new character as soon as it is chosen. */
  onToken?: (ch: string) => void;
  /** Checked before each token: set aborted to stop mid-generation. */
  signal?: { aborted: boolean };
  /** KV cache (default) or full recompute per token. */
  useCache?: boolean;
}

export class SampleError extends Error {
  override name = 'SampleError';
}

/** Pick a token from logits [V] (a plain array): deterministic given the Rng. */
export function pickToken(logits: Float32Array, opts: { temperature: number; topK: number; topP: number }, rng: Rng): number {
  const V = logits.length;
  if (opts.temperature === 0 || opts.topK === 1) {
    let best = 0;
    for (let i = 1; i < V; i++) if (logits[i] > logits[best]) best = i;
    return best;
  }
  const order = Array.from({ length: V }, (_, i) => i).sort((a, b) => logits[b] - logits[a]);
  const k = opts.topK > 0 ? Math.min(opts.topK, V) : V;
  const kept = order.slice(0, k);
  const max = logits[kept[0]];
  let probs = kept.map((i) => Math.exp((logits[i] - max) / opts.temperature));
  let sum = probs.reduce((a, b) => a + b, 0);
  probs = probs.map((p) => p / sum);
  if (opts.topP < 1) {
    let cum = 0;
    let cut = probs.length;
    for (let i = 0; i < probs.length; i++) {
      cum += probs[i];
      if (cum >= opts.topP) {
        cut = i + 1;
        break;
      }
    }
    probs = probs.slice(0, cut);
    sum = probs.reduce((a, b) => a + b, 0);
    probs = probs.map((p) => p / sum);
  }
  let u = rng.next();
  for (let i = 0; i < probs.length; i++) {
    u -= probs[i];
    if (u < 0) return kept[i];
  }
  return kept[probs.length - 1];
}

/** Generate text; returns only the new characters (also streamed to onToken). */
export async function generate(model: GPT, tokenizer: Tokenizer, opts: SampleOptions = {}): Promise<string> {
  const temperature = opts.temperature ?? 0.8;
  const topK = opts.topK ?? 0;
  const topP = opts.topP ?? 1;
  const maxNewTokens = opts.maxNewTokens ?? 200;
  if (!(temperature >= 0)) throw new SampleError(`temperature must be >= 0 (got ${temperature})`);
  if (!(topP > 0 && topP <= 1)) throw new SampleError(`top-p must be in (0, 1] (got ${topP})`);
  if (!(Number.isInteger(topK) && topK >= 0)) throw new SampleError(`top-k must be a non-negative integer (got ${topK})`);
  if (!(Number.isInteger(maxNewTokens) && maxNewTokens >= 0)) throw new SampleError(`max-new-tokens must be a non-negative integer (got ${maxNewTokens})`);
  const T = model.config.blockSize;
  const rng = new Rng(opts.seed ?? 1337);
  let context = Array.from(tokenizer.encode(opts.prompt ?? ''));
  if (context.length === 0) context = [tokenizer.has('\n') ? tokenizer.encode('\n')[0] : 0];
  context = context.slice(-T); // a prompt longer than the block is cropped, not an error
  const useCache = opts.useCache ?? true;
  const cache = model.newCache();
  let pendingFeed = context.slice(); // tokens not yet in the cache
  let out = '';
  try {
    for (let n = 0; n < maxNewTokens && !opts.signal?.aborted; n++) {
      let logits: tf.Tensor1D;
      if (useCache) {
        if (cache.length + pendingFeed.length > T) {
          // The cache is full: positions are absolute (learned wpe), so restart
          // from the last half-block of context. Amortised, that keeps most of
          // the cache's speed while every prediction sees >= T/2 characters.
          model.disposeCache(cache);
          pendingFeed = context.slice(-Math.max(1, Math.floor(T / 2)));
        }
        logits = model.forwardCached(pendingFeed, cache);
      } else {
        const window = context.slice(-T);
        logits = tf.tidy(() => {
          const all = model.forward(tf.tensor2d(window, [1, window.length], 'int32')); // [T, V]
          return all.slice([window.length - 1, 0], [1, -1]).reshape([-1]) as tf.Tensor1D; // [V]
        });
      }
      const values = (await logits.data()) as Float32Array;
      logits.dispose();
      const next = pickToken(values, { temperature, topK, topP }, rng);
      context.push(next);
      pendingFeed = [next];
      const ch = tokenizer.chars[next];
      out += ch;
      opts.onToken?.(ch);
    }
  } finally {
    model.disposeCache(cache);
  }
  return out;
}
