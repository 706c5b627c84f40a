// nanoGPT's model: its model_args, its parameters in named_parameters order with
// PyTorch's shapes, and configure_optimizers' two groups. Shared by the export
// (nanogpt-export.ts) and the import (nanogpt-import.ts).

import { isLinearWeight, paramShapes } from '../counts';

/** A nanoGPT file that cannot be converted: one line naming the problem. */
export class NanoGPTError extends Error {
  override name = 'NanoGPTError';
}

export interface ModelArgs {
  n_layer: number;
  n_head: number;
  n_embd: number;
  block_size: number;
  bias: boolean;
  vocab_size: number;
  dropout: number;
}

/** nanoGPT's parameters in named_parameters order with PyTorch shapes (the tied lm_head.weight omitted). */
export function nanoParameters(a: Pick<ModelArgs, 'n_layer' | 'n_embd' | 'block_size' | 'bias' | 'vocab_size'>): [string, number[]][] {
  const shapes = paramShapes({ nLayer: a.n_layer, nHead: 1, nEmbd: a.n_embd, blockSize: a.block_size, vocabSize: a.vocab_size, dropout: 0, bias: a.bias });
  return shapes.map(([name, shape]) => [name, isLinearWeight(name) ? [...shape].reverse() : shape]); // PyTorch's Linear keeps [out, in]
}

/** configure_optimizers' groups: indices into nanoParameters, decay (dim >= 2) first. */
export function optimizerGroups(params: [string, number[]][]): { decay: string[]; noDecay: string[] } {
  return { decay: params.filter(([, s]) => s.length >= 2).map(([n]) => n), noDecay: params.filter(([, s]) => s.length < 2).map(([n]) => n) };
}
