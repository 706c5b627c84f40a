// Parameter and FLOP counts of the GPT by formula. Pure arithmetic (no tfjs), so
// the scaling lab's page can size a ladder without loading tfjs; model.ts
// re-exports both and its tests check them against the real variables.

import type { ModelConfig } from './config';

export interface ParamCount {
  /** Every trainable number (the LM head is tied, so counted once). */
  total: number;
  /** Without token and position embeddings: Kaplan et al.'s N. */
  nonEmbedding: number;
}

/** Parameter count by formula (tests check it against the real variables). */
export function paramCount(cfg: ModelConfig): ParamCount {
  const { nLayer: L, nEmbd: C, vocabSize: V, blockSize: T, bias } = cfg;
  const b = bias ? 1 : 0;
  const perLayer =
    2 * (C + b * C) + // ln_1, ln_2
    (C * 3 * C + b * 3 * C) + // attn.c_attn
    (C * C + b * C) + // attn.c_proj
    (C * 4 * C + b * 4 * C) + // mlp.c_fc
    (4 * C * C + b * C); // mlp.c_proj
  const nonEmbedding = L * perLayer + (C + b * C); // + ln_f
  return { total: nonEmbedding + V * C + T * C, nonEmbedding };
}

/**
 * Training FLOPs per token: 6 x (non-embedding params + the tied LM head V*C)
 * for the matmuls' forward and backward, plus attention's QK^T and AV:
 * 2 matmuls x 2 FLOPs x T x C per layer forward, x3 for backward = 12 L T C.
 * The attention term is not negligible for tiny char models (C is not >> T/12).
 */
export function flopsPerToken(cfg: ModelConfig): number {
  const { nonEmbedding } = paramCount(cfg);
  return 6 * (nonEmbedding + cfg.vocabSize * cfg.nEmbd) + 12 * cfg.nLayer * cfg.blockSize * cfg.nEmbd;
}

/** Every parameter: name -> shape ([in, out] for a Linear's weight, as the model keeps it), in nanoGPT's order. */
export function paramShapes(cfg: ModelConfig): [string, number[]][] {
  const { nLayer, nEmbd: C, vocabSize: V, blockSize, bias } = cfg;
  const out: [string, number[]][] = [
    ['transformer.wte.weight', [V, C]],
    ['transformer.wpe.weight', [blockSize, C]],
  ];
  const lin = (name: string, nIn: number, nOut: number) => {
    out.push([`${name}.weight`, [nIn, nOut]]);
    if (bias) out.push([`${name}.bias`, [nOut]]);
  };
  const ln = (name: string) => {
    out.push([`${name}.weight`, [C]]);
    if (bias) out.push([`${name}.bias`, [C]]);
  };
  for (let i = 0; i < nLayer; i++) {
    const h = `transformer.h.${i}`;
    ln(`${h}.ln_1`);
    lin(`${h}.attn.c_attn`, C, 3 * C);
    lin(`${h}.attn.c_proj`, C, C);
    ln(`${h}.ln_2`);
    lin(`${h}.mlp.c_fc`, C, 4 * C);
    lin(`${h}.mlp.c_proj`, 4 * C, C);
  }
  ln('transformer.ln_f');
  return out;
}

/** A Linear's weight: stored [in, out] in the model, [out, in] in PyTorch's files. */
export const isLinearWeight = (name: string): boolean => /\.(c_attn|c_proj|c_fc)\.weight$/.test(name);
