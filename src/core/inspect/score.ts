// Confidence in a text: each character's probability under the model given
// the text before it (up to blockSize characters of context), its surprisal
// in bits, the top-5 alternatives, and the most surprising spans.
//
// Long texts slide a window of T = blockSize by S = T/2: the first window
// scores all its positions, each later one only its last S (so every
// prediction after the first T sees at least T - S characters of context).

import * as tf from '@tensorflow/tfjs';
import type { GPT } from '../model';
import { describeChar, type Tokenizer } from '../tokenizer';
import { surprisingSpans } from './spans';
import { topK } from './topk';
import type { CharScore, TextScore } from './types';

/** Longest text scored at once (more is dropped from the end and reported). */
export const MAX_SCORE_CHARS = 4000;

export async function scoreText(model: GPT, tokenizer: Tokenizer, text: string, spanWidth = 6): Promise<TextScore> {
  const missing = tokenizer.missing(text);
  if (missing.length > 0) throw new Error(`the text has characters the model does not know: ${missing.slice(0, 12).map(describeChar).join(', ')}`);
  const all = [...text];
  const chars = all.slice(0, MAX_SCORE_CHARS);
  const ids = Array.from(tokenizer.encode(chars.join('')));
  const n = ids.length;
  const out: CharScore[] = chars.map((char) => ({ char, p: null, bits: null, top: [] }));
  if (n >= 2) {
    const T = Math.min(model.config.blockSize, n - 1);
    const S = Math.max(1, Math.floor(T / 2));
    // Windows [s, s+T) predicting s+1 .. s+T; a later window scores local positions j >= T - S.
    const starts: number[] = [0];
    while (starts[starts.length - 1] + T < n - 1) starts.push(Math.min(starts[starts.length - 1] + S, n - 1 - T));
    const W = starts.length;
    const x = new Int32Array(W * T);
    starts.forEach((s, w) => x.set(ids.slice(s, s + T), w * T));
    const probs = tf.tidy(() => tf.softmax(model.forward(tf.tensor2d(x, [W, T], 'int32')))); // [W*T, V]
    const p = (await probs.data()) as Float32Array;
    probs.dispose();
    const V = tokenizer.vocabSize;
    let covered = 0; // positions 1..covered are scored
    starts.forEach((s, w) => {
      for (let j = 0; j < T; j++) {
        const target = s + j + 1;
        if (target <= covered) continue;
        const row = p.subarray((w * T + j) * V, (w * T + j + 1) * V);
        const pt = row[ids[target]];
        out[target].p = pt;
        out[target].bits = -Math.log2(Math.max(pt, 1e-30));
        out[target].top = topK(row, tokenizer.chars, 5);
      }
      covered = Math.max(covered, s + T);
    });
  }
  const scored = out.filter((c) => c.bits !== null);
  const totalBits = scored.reduce((a, c) => a + (c.bits ?? 0), 0);
  return {
    chars: out,
    totalBits,
    bpc: scored.length ? totalBits / scored.length : 0,
    spans: surprisingSpans(
      chars,
      out.map((c) => c.bits),
      spanWidth,
      5,
    ),
    truncated: all.length - chars.length,
  };
}
