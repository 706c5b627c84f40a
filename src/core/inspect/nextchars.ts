// The next-character view: the model's distribution after a text, from one
// full forward pass over the text's last blockSize characters.

import * as tf from '@tensorflow/tfjs';
import type { GPT } from '../model';
import { describeChar, type Tokenizer } from '../tokenizer';
import { softmax, topK } from './topk';
import type { NextChars } from './types';

/**
 * The tokens the model sees for `text`: its last blockSize characters; an
 * empty text becomes "\n" (as generation starts). Unknown characters give a
 * one-line error that names them.
 */
export function contextTokens(tokenizer: Tokenizer, text: string, blockSize: number): number[] {
  const missing = tokenizer.missing(text);
  if (missing.length > 0) throw new Error(`the text has characters the model does not know: ${missing.slice(0, 12).map(describeChar).join(', ')}`);
  const ids = Array.from(tokenizer.encode(text));
  if (ids.length === 0) ids.push(tokenizer.has('\n') ? tokenizer.encode('\n')[0] : 0);
  return ids.slice(-blockSize);
}

/** Logits of the last position after `ids` (at most blockSize of them): [V] read back. */
export async function lastLogits(model: GPT, ids: number[]): Promise<Float32Array> {
  const logits = tf.tidy(() => {
    const all = model.forward(tf.tensor2d(ids, [1, ids.length], 'int32')); // [T, V]
    return all.slice([ids.length - 1, 0], [1, -1]); // [1, V]
  });
  const values = (await logits.data()) as Float32Array;
  logits.dispose();
  return values;
}

export async function nextChars(model: GPT, tokenizer: Tokenizer, text: string, k = 10): Promise<NextChars> {
  const ids = contextTokens(tokenizer, text, model.config.blockSize);
  const logits = await lastLogits(model, ids);
  const vocab = tokenizer.chars;
  return { context: tokenizer.decode(ids), top: topK(softmax(logits), vocab, k), logits: Array.from(logits), vocab: [...vocab] };
}
