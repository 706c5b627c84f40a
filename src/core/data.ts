// Text in, batches out: UTF-8 decoding and normalisation, the contiguous 90/10
// train/validation split, and random windows drawn from the one seeded Rng.
//
// Shape legend: B batch size, T block size (context length).

import { Rng } from './rng';
import { Tokenizer, describeChar } from './tokenizer';

export class DataError extends Error {
  override name = 'DataError';
}

/** Largest text we hold: 64 Mi characters of Int32 tokens is 256 MiB. */
export const MAX_TEXT_CHARS = 64 * 1024 * 1024;

/**
 * Bytes -> normalised text. Strict UTF-8 (a binary file is refused, not mangled),
 * a leading BOM dropped, CRLF and lone CR turned into LF.
 */
export function decodeText(bytes: Uint8Array, name = 'the file'): string {
  if (bytes.length > MAX_TEXT_CHARS * 4) {
    throw new DataError(`${name} is too large (${(bytes.length / 2 ** 20).toFixed(0)} MiB): use a text under ${MAX_TEXT_CHARS / 2 ** 20} Mi characters`);
  }
  const probe = bytes.subarray(0, 65536);
  if (probe.includes(0)) throw new DataError(`${name} looks binary (it contains NUL bytes): give a UTF-8 text file`);
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new DataError(`${name} is not valid UTF-8 text: convert it to UTF-8 or give a text file`);
  }
  return normaliseText(text);
}

/** Drop a BOM and make every line ending LF. */
export function normaliseText(text: string): string {
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  return text.replace(/\r\n?/g, '\n');
}

export interface Split {
  train: Int32Array;
  val: Int32Array;
}

/** Contiguous split: the first 90% trains, the last 10% validates (as nanoGPT's prepare.py). */
export function splitTokens(tokens: Int32Array, valFraction = 0.1): Split {
  const n = Math.floor(tokens.length * (1 - valFraction));
  return { train: tokens.subarray(0, n), val: tokens.subarray(n) };
}

export interface Batch {
  /** [B*T] inputs, row-major [B, T]. */
  x: Int32Array;
  /** [B*T] targets: x shifted left by one. */
  y: Int32Array;
  batchSize: number;
  blockSize: number;
}

/** B random windows of T+1 tokens from `data`. */
export function getBatch(data: Int32Array, batchSize: number, blockSize: number, rng: Rng): Batch {
  const maxStart = data.length - blockSize - 1;
  if (maxStart < 0) throw new DataError(`split has ${data.length} tokens, fewer than blockSize+1 = ${blockSize + 1}`);
  const x = new Int32Array(batchSize * blockSize);
  const y = new Int32Array(batchSize * blockSize);
  for (let b = 0; b < batchSize; b++) {
    const start = rng.int(maxStart + 1);
    x.set(data.subarray(start, start + blockSize), b * blockSize);
    y.set(data.subarray(start + 1, start + blockSize + 1), b * blockSize);
  }
  return { x, y, batchSize, blockSize };
}

/** Seed of the fixed evaluation batches: the same for every run, so val losses compare across runs. */
export const EVAL_SEED = 0x5eed;

/** A tokenized corpus ready for training. */
export class Dataset {
  readonly tokenizer: Tokenizer;
  readonly train: Int32Array;
  readonly val: Int32Array;
  readonly chars: number;

  readonly text: string;
  /** Set when the validation text was given apart (not the last 10% of `text`). */
  readonly valText?: string;

  /**
   * Tokenize `text` with `tokenizer` (a model's vocabulary) or with the text's own vocabulary.
   * With `valText`, `text` is all training text and `valText` all validation text (an
   * experiment's own split, e.g. the transfer experiment's held-out text); else the 90/10 split.
   */
  constructor(text: string, tokenizer?: Tokenizer, valText?: string) {
    if (text.length === 0) throw new DataError('the text is empty: give a text with at least a few hundred characters');
    if (tokenizer) {
      const missing = tokenizer.missing(valText === undefined ? text : text + valText);
      if (missing.length > 0) {
        throw new DataError(
          `the text has ${missing.length} characters the model does not know: ${missing.slice(0, 20).map(describeChar).join(', ')}${missing.length > 20 ? ', ...' : ''}; a resumed run needs a text within the model's vocabulary (a fine-tune, --init-from, adds them)`,
        );
      }
    }
    this.text = text;
    this.valText = valText;
    this.tokenizer = tokenizer ?? Tokenizer.fromText(valText === undefined ? text : text + valText);
    if (valText === undefined) {
      const tokens = this.tokenizer.encode(text);
      this.chars = tokens.length;
      ({ train: this.train, val: this.val } = splitTokens(tokens));
    } else {
      this.train = this.tokenizer.encode(text);
      this.val = this.tokenizer.encode(valText);
      this.chars = this.train.length + this.val.length;
    }
  }

  /** The same text under another vocabulary (a checkpoint's, which may be a superset). */
  withTokenizer(tokenizer: Tokenizer): Dataset {
    return new Dataset(this.text, tokenizer, this.valText);
  }

  /** Tokens in the smaller split: the most a window may span. */
  get minSplitLength(): number {
    return Math.min(this.train.length, this.val.length);
  }

  /** Fixed validation (or train) batches drawn from EVAL_SEED, for comparable evaluations. */
  evalBatches(split: 'train' | 'val', count: number, batchSize: number, blockSize: number): Batch[] {
    const rng = new Rng(EVAL_SEED + (split === 'val' ? 0 : 1));
    const data = split === 'val' ? this.val : this.train;
    return Array.from({ length: count }, () => getBatch(data, batchSize, blockSize, rng));
  }
}

/** Entropies (nats per character) of counting models on this corpus, as reference lines. */
export function baselineLosses(ds: Dataset): { uniform: number; unigram: number; bigram: number } {
  const V = ds.tokenizer.vocabSize;
  const uni = new Float64Array(V).fill(1); // add-one smoothing
  for (const t of ds.train) uni[t]++;
  const uniTotal = uni.reduce((a, b) => a + b, 0);
  let unigram = 0;
  for (const t of ds.val) unigram -= Math.log(uni[t] / uniTotal);
  const bi = new Float64Array(V * V).fill(1);
  const rowTotal = new Float64Array(V).fill(V);
  for (let i = 1; i < ds.train.length; i++) {
    bi[ds.train[i - 1] * V + ds.train[i]]++;
    rowTotal[ds.train[i - 1]]++;
  }
  let bigram = 0;
  for (let i = 1; i < ds.val.length; i++) bigram -= Math.log(bi[ds.val[i - 1] * V + ds.val[i]] / rowTotal[ds.val[i - 1]]);
  return { uniform: Math.log(V), unigram: unigram / ds.val.length, bigram: bigram / Math.max(1, ds.val.length - 1) };
}

/** SHA-256 hex of bytes (WebCrypto: the same in the browser, the worker and Node >= 20). */
export async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-256', bytes as Uint8Array<ArrayBuffer>);
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, '0')).join('');
}
