// Checkpoints as one safetensors file: 8-byte little-endian header length, a
// JSON header (tensor name -> dtype, shape, byte offsets, plus __metadata__ of
// strings), then the raw little-endian float32 data. The same bytes are written
// by the CLI and downloaded/uploaded by the page.
//
// Weights use nanoGPT's names and PyTorch's layouts (Linear weights [out, in]),
// so `{k: v for k, v in load_file(f).items() if k.startswith('transformer.')}`
// loads into nanoGPT's GPT (lm_head.weight is tied to transformer.wte.weight).
// AdamW moments travel as tensors named optimizer.exp_avg.<name> and
// optimizer.exp_avg_sq.<name> (PyTorch's names); the rest of the state (config,
// vocabulary, step, seed, Rng state, Adam's t) is in the metadata.
// A sha256 of the data section in the metadata catches corruption the format
// alone would not.

import * as tf from '@tensorflow/tfjs';
import { validate, type Config } from './config';
import { CheckpointProblem, isLinearWeight, paramNameOf, validateHeader, type CheckpointMeta, type ValidHeader } from './checkpoint-validate';
import { sha256Hex, type Dataset } from './data';
import { GPT, type GPTOptions } from './model';
import { Rng } from './rng';
import { Tokenizer } from './tokenizer';
import { Trainer } from './train';
import { CHECKPOINT_VERSION, encodeSafetensors, type FileTensor } from './formats/safetensors';

export class CheckpointError extends Error {
  override name = 'CheckpointError';
}

export { CHECKPOINT_VERSION };

export type { CheckpointMeta };

export interface Checkpoint {
  meta: CheckpointMeta;
  /** tabgpt layout (Linear weights [in, out]); the caller owns and disposes them. */
  tensors: Map<string, tf.Tensor>;
}

/** Serialise named tensors (tabgpt layout) plus metadata into safetensors bytes. */
export async function encodeCheckpoint(meta: CheckpointMeta, tensors: Map<string, tf.Tensor>): Promise<Uint8Array> {
  const entries: FileTensor[] = [];
  for (const [name, t] of tensors) {
    const fileTensor = isLinearWeight(paramNameOf(name)) ? tf.transpose(t) : t;
    const data = (await fileTensor.data()) as Float32Array;
    entries.push({ name, shape: fileTensor.shape, data });
    if (fileTensor !== t) fileTensor.dispose();
  }
  return encodeSafetensors(meta, entries);
}

/** Parse and verify safetensors bytes. Refuses truncated or corrupted files with one clear line. */
export async function decodeCheckpoint(bytes: Uint8Array, name = 'checkpoint'): Promise<Checkpoint> {
  const bad = (why: string) => new CheckpointError(`${name} is not a valid tabgpt checkpoint: ${why}`);
  if (bytes.length < 8) throw bad(`only ${bytes.length} bytes (truncated?)`);
  const headerLen = Number(new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true));
  if (headerLen <= 0 || 8 + headerLen > bytes.length)
    throw bad(`header length ${headerLen} exceeds the file's ${bytes.length} bytes (truncated or not safetensors)`);
  let header: Record<string, unknown>;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + headerLen)));
  } catch {
    throw bad('its header is not valid JSON (corrupted or not safetensors)');
  }
  // The whole header is checked before any tensor is built (checkpoint-validate.ts).
  let valid: ValidHeader;
  try {
    valid = validateHeader(header, bytes.length - 8 - headerLen);
  } catch (e) {
    if (e instanceof CheckpointProblem) throw bad(e.message);
    throw e;
  }
  const body = bytes.subarray(8 + headerLen);
  const { meta } = valid;
  const sha = (header.__metadata__ as Record<string, string>).data_sha256;
  if (sha && (await sha256Hex(body.subarray(0, valid.dataBytes))) !== sha) {
    throw bad('data checksum mismatch (the file is corrupted)');
  }
  const tensors = new Map<string, tf.Tensor>();
  for (const [k, e] of valid.entries) {
    const [s, end] = e.data_offsets;
    const size = e.shape.reduce((a, b) => a * b, 1);
    // Copy into a fresh, aligned buffer. Not body.slice(): on a Node Buffer
    // slice() is a view of the whole file, so .buffer would be the wrong bytes.
    const data = new Float32Array(size);
    new Uint8Array(data.buffer).set(body.subarray(s, end));
    const t = tf.tensor(data, e.shape, 'float32');
    if (isLinearWeight(paramNameOf(k))) {
      tensors.set(k, tf.transpose(t));
      t.dispose();
    } else tensors.set(k, t);
  }
  return { meta, tensors };
}

/** A checkpoint of a training run: weights, AdamW moments, Rng state and step. */
export async function saveTrainer(trainer: Trainer, tokenizer: Tokenizer, extra?: Record<string, string>): Promise<Uint8Array> {
  const tensors = new Map<string, tf.Tensor>();
  for (const [name, p] of trainer.model.params) tensors.set(name, p);
  for (const [name, m] of trainer.optimizer.m) tensors.set(`optimizer.exp_avg.${name}`, m);
  for (const [name, v] of trainer.optimizer.v) tensors.set(`optimizer.exp_avg_sq.${name}`, v);
  return encodeCheckpoint(
    {
      config: trainer.cfg,
      vocab: tokenizer.toJSON(),
      step: trainer.step,
      seed: trainer.cfg.seed,
      rngState: trainer.rng.getState(),
      adamT: trainer.optimizer.t,
      extra,
    },
    tensors,
  );
}

/** Build the model from a decoded checkpoint (takes ownership of its weight tensors' data). */
export function modelFromCheckpoint(ckpt: Checkpoint, options: GPTOptions = {}): { model: GPT; tokenizer: Tokenizer } {
  const weights = new Map([...ckpt.tensors].filter(([k]) => !k.startsWith('optimizer.')));
  const model = new GPT(ckpt.meta.config, weights, options);
  for (const t of weights.values()) t.dispose();
  return { model, tokenizer: Tokenizer.fromJSON(ckpt.meta.vocab) };
}

/** Put a checkpoint's optimizer state, step and Rng state into a fresh trainer (same config). */
export function restoreTrainerState(trainer: Trainer, ckpt: Checkpoint): void {
  for (const [name, m] of trainer.optimizer.m) {
    const saved = ckpt.tensors.get(`optimizer.exp_avg.${name}`);
    const savedV = ckpt.tensors.get(`optimizer.exp_avg_sq.${name}`);
    if (!saved || !savedV)
      throw new CheckpointError(`checkpoint has no optimizer state for ${name}: it cannot resume training (it can still sample or fine-tune)`);
    m.assign(saved);
    trainer.optimizer.v.get(name)!.assign(savedV);
  }
  trainer.optimizer.t = ckpt.meta.adamT ?? ckpt.meta.step;
  trainer.step = ckpt.meta.step;
  trainer.rng.setState(ckpt.meta.rngState);
  trainer.resumedAt(ckpt.meta.step);
}

export function disposeCheckpoint(ckpt: Checkpoint): void {
  for (const t of ckpt.tensors.values()) if (!t.isDisposed) t.dispose();
}

/**
 * Continue a run from its checkpoint: same weights, AdamW moments, step and
 * batch Rng, so the loss curve continues as if never interrupted. `overrides`
 * may only change what does not alter the run's math (intervals, maxIters).
 */
export function resumeTrainer(ckpt: Checkpoint, data: Dataset, overrides: Partial<Config> = {}, options: GPTOptions = {}): Trainer {
  const tokenizer = Tokenizer.fromJSON(ckpt.meta.vocab);
  const cfg: Config = { ...ckpt.meta.config, ...overrides };
  const dataset =
    data.tokenizer.vocabSize === tokenizer.vocabSize && data.tokenizer.chars.every((c, i) => c === tokenizer.chars[i]) ? data : data.withTokenizer(tokenizer);
  const { model } = modelFromCheckpoint(ckpt, options);
  validate(cfg, dataset.minSplitLength);
  const trainer = new Trainer(model, dataset, cfg, new Rng(0));
  restoreTrainerState(trainer, ckpt);
  return trainer;
}
