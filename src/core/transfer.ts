// The transfer experiment ("pre-train on a lot of text, then adapt to a little"),
// as data: how Tiny Shakespeare is cut, the pre-training run, the two adaptation
// runs, and the results file's shape. The CLI (src/cli/transfer.ts) runs it; the
// page and the plot read the results.
//
// The cut: the last `heldOutChars` characters of Tiny Shakespeare are held out of
// pre-training entirely. Their first `fineTuneChars` are the small text both
// adaptation runs train on; the rest is where both are evaluated. The pre-training
// run sees only the text before the held-out tail (its own 90/10 split inside it).

import { makeConfig, type Config } from './config';

export const TRANSFER = {
  /** Held out of pre-training: the tail of the corpus (about 9% of Tiny Shakespeare). */
  heldOutChars: 100_000,
  /** The small adaptation text: the first characters of the held-out tail. */
  fineTuneChars: 20_000,
  /** Pre-training: nanoGPT's CPU "baby" settings (README, Quality), over 1000 steps (what a shared 2-core machine allowed). */
  pretrain: {
    preset: 'baby' as const,
    batchSize: 12,
    maxIters: 1000,
    lr: 1e-3,
    minLr: 1e-4,
    warmupIters: 100,
    dropout: 0,
    bias: false,
    evalInterval: 500,
    evalIters: 20,
    seed: 1337,
  },
  /**
   * Both adaptation runs: same steps, batch, seed (hence the same batches) and schedule shape.
   * The fine-tune takes --init-from's default lr (a tenth of the pre-training lr); from scratch
   * takes the pre-training lr, the right one for a fresh model of this size.
   */
  adapt: { maxIters: 300, batchSize: 12, warmupIters: 30, evalEvery: 25, evalIters: 20, seed: 1337 },
} as const;

export interface TransferSplit {
  /** Pre-training text (everything before the held-out tail). */
  pretrain: string;
  /** The small adaptation text (start of the held-out tail). */
  fineTune: string;
  /** The rest of the held-out tail: evaluation only. */
  evaluation: string;
}

/** Cut a corpus as above (code points, so a character is never split). */
export function transferSplit(text: string, heldOutChars: number = TRANSFER.heldOutChars, fineTuneChars: number = TRANSFER.fineTuneChars): TransferSplit {
  const chars = Array.from(text);
  if (chars.length < heldOutChars * 2 || fineTuneChars >= heldOutChars) {
    throw new Error(
      `the transfer experiment needs a text of at least ${2 * heldOutChars} characters (got ${chars.length}) and a fine-tune slice shorter than the held-out tail`,
    );
  }
  const cut = chars.length - heldOutChars;
  return {
    pretrain: chars.slice(0, cut).join(''),
    fineTune: chars.slice(cut, cut + fineTuneChars).join(''),
    evaluation: chars.slice(cut + fineTuneChars).join(''),
  };
}

/** The pre-training run's config (vocabSize is set from the text by newTrainer). */
export function pretrainConfig(maxIters: number = TRANSFER.pretrain.maxIters): Config {
  const { preset, ...rest } = TRANSFER.pretrain;
  return makeConfig({ preset, ...rest, maxIters, warmupIters: Math.min(rest.warmupIters, Math.floor(maxIters / 10)) });
}

/** One evaluation of one adaptation run: mean loss (nats/char) on the evaluation text after `step` steps. */
export interface CurvePoint {
  step: number;
  valLoss: number;
  /** Mean training loss of the steps since the previous point (NaN at step 0). */
  trainLoss: number;
}

/** data/transfer.json: everything needed to redraw the plot and recheck the numbers. */
export interface TransferResults {
  experiment: 'transfer';
  command: string;
  corpus: { name: string; sha256: string; chars: number };
  split: { pretrainChars: number; fineTuneChars: number; evaluationChars: number; newCharacters: string[] };
  pretrain: { config: Config; steps: number; valLoss: number; wallSec: number; tokensPerSec: number };
  adapt: { maxIters: number; batchSize: number; seed: number; evalIters: number; evalTokens: number };
  runs: { fineTuned: { lr: number; curve: CurvePoint[]; wallSec: number }; scratch: { lr: number; curve: CurvePoint[]; wallSec: number } };
  /** scratch - fineTuned validation loss at each evaluated step (nats/char; positive = pre-training helped). */
  gap: { step: number; nats: number }[];
  backend: string;
  date: string;
}

/** Gap (scratch minus fine-tuned) at every step both curves share. */
export function transferGap(fineTuned: CurvePoint[], scratch: CurvePoint[]): { step: number; nats: number }[] {
  const byStep = new Map(scratch.map((p) => [p.step, p.valLoss]));
  return fineTuned.filter((p) => byStep.has(p.step)).map((p) => ({ step: p.step, nats: byStep.get(p.step)! - p.valLoss }));
}
