// Vocabulary extension: a checkpoint meets a text with characters it lacks.
// Instead of refusing, append one token-embedding row per new character,
// initialised as at init (N(0, 0.02), GPT-2's rule, from the run's seed). Old
// characters keep their ids and rows, and because the LM head is tied to the
// token embedding, the old characters' logits for any prompt of old characters
// are exactly the checkpoint's; the new characters just get logits of their own
// (small: their rows are near zero), so probability mass moves to them only as
// fine-tuning teaches it.
//
// Shape legend: V old vocabulary, K new characters, C nEmbd.

import * as tf from '@tensorflow/tfjs';
import type { Checkpoint } from './checkpoint';
import { initTensor } from './model';
import type { Rng } from './rng';
import { Tokenizer } from './tokenizer';

export interface VocabExtension {
  /** The checkpoint with the larger vocabulary: weights only (optimizer moments dropped: a fresh start). */
  checkpoint: Checkpoint;
  /** Old characters first, in their old ids; new ones after, in code-point order. */
  tokenizer: Tokenizer;
  /** The new characters, in the order of their new ids. */
  added: string[];
}

/**
 * The checkpoint (consumed: its wte and optimizer tensors are disposed when
 * replaced or dropped) with its vocabulary grown to cover `text`. With nothing
 * new the weights are the checkpoint's own; either way `checkpoint.tensors`
 * holds no optimizer state afterwards.
 */
export function extendVocabulary(ckpt: Checkpoint, text: string, rng: Rng): VocabExtension {
  const old = Tokenizer.fromJSON(ckpt.meta.vocab);
  const added = old.missing(text).sort((a, b) => a.codePointAt(0)! - b.codePointAt(0)!);
  const tensors = new Map<string, tf.Tensor>();
  for (const [k, t] of ckpt.tensors) {
    if (k.startsWith('optimizer.')) t.dispose();
    else tensors.set(k, t);
  }
  const tokenizer = new Tokenizer([...old.chars, ...added]);
  if (added.length > 0) {
    const name = 'transformer.wte.weight';
    const wte = tensors.get(name)!; // [V, C]
    const C = ckpt.meta.config.nEmbd;
    const rows = initTensor(name, [added.length, C], ckpt.meta.config, rng); // [K, C]
    tensors.set(name, tf.concat([wte, rows], 0)); // [V+K, C]: old rows first, unchanged
    wte.dispose();
    rows.dispose();
  }
  const config = { ...ckpt.meta.config, vocabSize: tokenizer.vocabSize };
  const { adamT: _dropped, ...meta } = ckpt.meta;
  return { checkpoint: { meta: { ...meta, config, vocab: tokenizer.toJSON() }, tensors }, tokenizer, added };
}

/** One character for a one-line message: 'é', or U+0009 for the invisible ones. */
export function quoteChar(ch: string): string {
  const cp = ch.codePointAt(0)!;
  if (cp < 32 || cp === 127 || (cp >= 0x80 && cp < 0xa0) || (/\s/u.test(ch) && ch !== ' ')) return 'U+' + cp.toString(16).toUpperCase().padStart(4, '0');
  return `'${ch}'`;
}

/** `3 new characters: 'é', 'ç', '—'` (at most 20 listed). */
export function describeAdded(added: string[]): string {
  const list = added.slice(0, 20).map(quoteChar).join(', ') + (added.length > 20 ? `, ... (${added.length - 20} more)` : '');
  return `${added.length} new character${added.length === 1 ? '' : 's'}: ${list}`;
}
