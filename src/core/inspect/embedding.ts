// The embedding map: the token embedding rows (wte, [V, C]) projected onto
// their two principal components, one labelled point per character.

import type { GPT } from '../model';
import type { Tokenizer } from '../tokenizer';
import { pca2 } from './pca';
import type { EmbeddingMap } from './types';

export async function embeddingMap(model: GPT, tokenizer: Tokenizer, step: number): Promise<EmbeddingMap> {
  const wte = model.p('transformer.wte.weight'); // [V, C]
  const [V, C] = wte.shape;
  const values = await wte.data();
  const { coords, explained } = pca2(values, V, C);
  return { step, points: coords.map(([x, y], i) => ({ char: tokenizer.chars[i], x, y })), explained };
}
