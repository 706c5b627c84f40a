// `tabgpt train --init-from FILE [--freeze MODE]`: a new run from a checkpoint's
// weights (core/finetune.ts). Kept apart from train.ts, which only dispatches here.

import { readFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import type { Config } from '../core/config';
import { decodeCheckpoint } from '../core/checkpoint';
import { applyFreeze, FREEZE_MODES, initFrom, SHAPE_KEYS, type FreezeMode } from '../core/finetune';
import { toKebab } from '../core/config';
import type { Trainer } from '../core/train';
import { CliError, loadCorpus } from './common';

export interface InitFromFlags {
  path: string;
  freeze: string | undefined;
  text: string | undefined;
  corpus: string | undefined;
  preset: string | undefined;
  resume: string | undefined;
  /** --json: the new-characters line goes to stderr as a notice (stdout is JSON lines only). */
  json: boolean;
}

/** Check the flags, load the checkpoint and the text, and build the trainer; `say` prints the extra lines. */
export async function trainerFromInit(
  flags: InitFromFlags,
  overrides: Partial<Config>,
  say: (line: string) => void,
): Promise<{ trainer: Trainer; source: string; extra: Record<string, string> }> {
  const { path } = flags;
  if (flags.resume !== undefined) throw new CliError('give --resume FILE (continue a run) or --init-from FILE (a new run from its weights), not both');
  if (flags.preset !== undefined) throw new CliError(`--preset conflicts with --init-from: the model shape comes from ${path} (drop --preset)`);
  const freeze = (flags.freeze ?? 'none') as FreezeMode;
  if (!FREEZE_MODES.includes(freeze)) throw new CliError(`--freeze must be one of ${FREEZE_MODES.join(', ')} (got '${flags.freeze}')`);
  if (!existsSync(path)) throw new CliError(`--init-from ${path}: no such file`);
  const ckpt = await decodeCheckpoint(await readFile(path), path);
  for (const k of SHAPE_KEYS) {
    if (k in overrides && overrides[k] !== ckpt.meta.config[k]) {
      throw new CliError(
        `--${toKebab(k)} ${overrides[k]} differs from ${path}'s ${k}=${ckpt.meta.config[k]}: --init-from keeps the checkpoint's model shape (drop the flag)`,
      );
    }
  }
  const corpus = await loadCorpus({ text: flags.text, corpus: flags.corpus });
  if (corpus.notice) console.error(`tabgpt: notice: ${corpus.notice}`);
  const ft = initFrom(ckpt, corpus.text, overrides, { freeze });
  const saved = ckpt.meta;
  say(
    `initialised from ${path} (step ${saved.step}, lr ${saved.config.lr}): fresh AdamW state and schedule; lr ${ft.trainer.cfg.lr}${overrides.lr === undefined ? ' (a tenth of its)' : ''}`,
  );
  if (ft.addedLine) {
    const line = `${ft.addedLine} (added to the vocabulary, ${saved.vocab.length} -> ${ft.trainer.data.tokenizer.vocabSize})`;
    if (flags.json) console.error(`tabgpt: notice: ${line}`);
    else say(line);
  }
  if (freeze !== 'none') {
    const trained = [...ft.trainer.model.params.keys()].filter((n) => !ft.frozen.includes(n));
    say(
      freeze === 'embeddings'
        ? `--freeze embeddings: ${ft.frozen.join(', ')} frozen (wte is also the tied LM head); the ${trained.length} other tensors train`
        : `--freeze all-but-head: training only ${trained.join(', ')} (wte is the tied LM head); the ${ft.frozen.length} other tensors are frozen`,
    );
  }
  const extra: Record<string, string> = { init_from: path, init_from_step: String(saved.step) };
  if (freeze !== 'none') extra.freeze = freeze;
  if (ft.added.length > 0) extra.added_characters = JSON.stringify(ft.added);
  return { trainer: ft.trainer, source: corpus.source, extra };
}

/** On --resume of a run started with --init-from: keep its provenance in later saves and its --freeze in force. */
export function resumedInitExtra(saved: Record<string, string>, trainer: Trainer): Record<string, string> {
  const extra: Record<string, string> = {};
  for (const k of ['init_from', 'init_from_step', 'freeze', 'added_characters']) if (saved[k] !== undefined) extra[k] = saved[k];
  if (extra.freeze !== undefined) {
    if (!FREEZE_MODES.includes(extra.freeze as FreezeMode)) throw new CliError(`the checkpoint says freeze=${extra.freeze}, which this tabgpt does not know`);
    applyFreeze(trainer.model, extra.freeze as FreezeMode);
  }
  return extra;
}
