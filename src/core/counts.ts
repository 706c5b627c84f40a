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
