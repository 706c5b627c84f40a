// Starting a run from a checkpoint's weights (`tabgpt train --init-from`, the
// page's Fine-tune): the saved model's shape and weights, its vocabulary grown to
// the new text (vocab.ts), a fresh AdamW state (step 0, zero moments) and a fresh
// warmup + cosine schedule over the new run's maxIters. Unlike --resume, nothing
// of the old run's optimizer, step or batch order carries over.
//
// Freezing (`--freeze`): a frozen parameter gets no gradient, no Adam update and
// no weight decay (Trainer honours tf.Variable.trainable). The LM head is tied to
// the token embedding (one [V, C] matrix, transformer.wte.weight), so:
//   none          everything trains.
//   embeddings    the token and position embeddings (wte, wpe) are frozen; as wte
//                 is also the head, the output projection stays fixed too and only
//                 the blocks and the final LayerNorm adapt to it.
//   all-but-head  only the head trains: wte (the tied LM head, hence the input
//                 embedding too) and the final LayerNorm ln_f that feeds it; wpe
//                 and every block are frozen.

import { ConfigError, validate, type Config } from './config';
import { Dataset } from './data';
import { disposeCheckpoint, modelFromCheckpoint, type Checkpoint } from './checkpoint';
import type { GPT } from './model';
import { runRngs, Trainer } from './train';
import { describeAdded, extendVocabulary } from './vocab';

export const FREEZE_MODES = ['none', 'embeddings', 'all-but-head'] as const;
export type FreezeMode = (typeof FREEZE_MODES)[number];

/** Fields that define the model's shape: a run from a checkpoint keeps the checkpoint's. */
export const SHAPE_KEYS = ['nLayer', 'nHead', 'nEmbd', 'blockSize', 'bias'] as const;

const HEAD = ['transformer.wte.weight', 'transformer.ln_f.weight', 'transformer.ln_f.bias'];
const EMBEDDINGS = ['transformer.wte.weight', 'transformer.wpe.weight'];

/** Names of the parameters `mode` freezes, in the model's order. */
export function frozenNames(names: readonly string[], mode: FreezeMode): string[] {
  if (mode === 'embeddings') return names.filter((n) => EMBEDDINGS.includes(n));
  if (mode === 'all-but-head') return names.filter((n) => !HEAD.includes(n));
  return [];
}

/** Mark the frozen parameters untrainable (the Trainer then skips them); returns their names. */
export function applyFreeze(model: GPT, mode: FreezeMode): string[] {
  const frozen = frozenNames([...model.params.keys()], mode);
  for (const [name, p] of model.params) p.trainable = !frozen.includes(name);
  return frozen;
}

/**
 * The new run's config: the checkpoint's shape; its training settings unless
 * overridden; lr a tenth of the checkpoint's unless given (minLr keeping the
 * checkpoint's lr/minLr ratio unless given); warmup 10% of the new maxIters
 * (at most 100) unless given. Throws ConfigError on a conflicting shape field.
 */
export function initFromConfig(saved: Config, overrides: Partial<Config>, vocabSize: number): Config {
  for (const k of SHAPE_KEYS) {
    if (k in overrides && overrides[k] !== undefined && overrides[k] !== saved[k]) {
      throw new ConfigError(
        `${k}=${overrides[k]} differs from the checkpoint's ${k}=${saved[k]}: a run from a checkpoint keeps its model shape (drop the flag)`,
      );
    }
  }
  if (overrides.gelu !== undefined && overrides.gelu !== (saved.gelu ?? 'tanh')) {
    throw new ConfigError(
      `gelu=${overrides.gelu} differs from the checkpoint's gelu=${saved.gelu ?? 'tanh'}: the MLP's GELU form belongs to its weights (drop the flag)`,
    );
  }
  const lr = overrides.lr ?? saved.lr / 10;
  const maxIters = overrides.maxIters ?? saved.maxIters;
  return {
    ...saved,
    ...overrides,
    vocabSize,
    lr,
    minLr: overrides.minLr ?? Math.min(lr, lr * (saved.minLr / saved.lr)),
    maxIters,
    warmupIters: overrides.warmupIters ?? Math.min(100, Math.floor(maxIters / 10)),
  };
}

export interface InitFrom {
  trainer: Trainer;
  /** Characters the checkpoint lacked, now in its vocabulary (after the old ones). */
  added: string[];
  /** `3 new characters: 'é', 'ç', '—'`, or null when there were none. */
  addedLine: string | null;
  frozen: string[];
}

/**
 * A run on `text` (validated on `valText` when given, else the usual 90/10
 * split) from the checkpoint's weights. Consumes `ckpt`'s tensors.
 */
export function initFrom(ckpt: Checkpoint, text: string, overrides: Partial<Config>, opts: { freeze?: FreezeMode; valText?: string } = {}): InitFrom {
  const freeze = opts.freeze ?? 'none';
  const cfg0 = initFromConfig(ckpt.meta.config, overrides, 0); // shape check before any work
  const ext = extendVocabulary(ckpt, opts.valText === undefined ? text : text + opts.valText, runRngs(cfg0.seed).init);
  if (freeze === 'embeddings' && ext.added.length > 0) {
    disposeCheckpoint(ext.checkpoint);
    throw new ConfigError(`--freeze embeddings would keep the ${describeAdded(ext.added)} at their random init: use --freeze none or all-but-head`);
  }
  let model: GPT;
  let data: Dataset;
  let cfg: Config;
  try {
    data = new Dataset(text, ext.tokenizer, opts.valText);
    cfg = { ...cfg0, vocabSize: ext.tokenizer.vocabSize };
    validate(cfg, data.minSplitLength);
    model = modelFromCheckpoint(ext.checkpoint).model;
  } finally {
    disposeCheckpoint(ext.checkpoint); // the model holds its own copies
  }
  const trainer = new Trainer(model, data, cfg, runRngs(cfg.seed).batches);
  const frozen = applyFreeze(model, freeze);
  return { trainer, added: ext.added, addedLine: ext.added.length > 0 ? describeAdded(ext.added) : null, frozen };
}

/** The page's settings as overrides for a fine-tune: everything but the model's shape and vocabulary (those come from the checkpoint). */
export function fineTuneOverrides(config: Config): Partial<Config> {
  const out: Partial<Config> = { ...config };
  for (const k of SHAPE_KEYS) delete out[k];
  delete out.gelu; // the MLP's GELU form goes with the weights, like the shape
  delete out.vocabSize;
  return out;
}
