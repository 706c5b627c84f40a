// The attention view: every layer's and head's T x T attention weights for a
// window of text (its last blockSize characters), from one forward pass that
// hands each layer's softmax to a collector (ForwardOptions.onAttention).

import * as tf from '@tensorflow/tfjs';
import type { GPT } from '../model';
import type { Tokenizer } from '../tokenizer';
import { contextTokens } from './nextchars';
import type { AttentionMaps } from './types';

export async function attentionMaps(model: GPT, tokenizer: Tokenizer, text: string): Promise<AttentionMaps> {
  const ids = contextTokens(tokenizer, text, model.config.blockSize);
  const T = ids.length;
  const { nLayer, nHead: nH } = model.config;
  const stacked = tf.tidy(() => {
    const layers: tf.Tensor4D[] = [];
    model.forward(tf.tensor2d(ids, [1, T], 'int32'), { onAttention: (_l, att) => layers.push(att) }); // each [1, nH, T, T]
    return tf.concat(layers, 0); // [nLayer, nH, T, T]
  });
  const flat = await stacked.data();
  stacked.dispose();
  const weights: number[][][][] = [];
  for (let l = 0; l < nLayer; l++) {
    const heads: number[][][] = [];
    for (let h = 0; h < nH; h++) {
      const rows: number[][] = [];
      for (let t = 0; t < T; t++) {
        const o = ((l * nH + h) * T + t) * T;
        rows.push(Array.from(flat.subarray(o, o + T)));
      }
      heads.push(rows);
    }
    weights.push(heads);
  }
  return { chars: ids.map((i) => tokenizer.chars[i]), weights };
}
