// Whole-file validation of a checkpoint's safetensors header, BEFORE any
// tensor is built: a file whose metadata disagrees with its tensors (a config
// saying 100,000 layers, a vocabulary entry that is not one character, a
// tensor of the wrong shape) is refused with one line naming the field, not
// with "missing parameter ..." from deep inside the model, or worse, accepted.
//
// What is checked, in order (the first failure is the one reported):
//   1. every tensor entry is well formed (dtype F32, integer shape, offsets),
//      its byte count matches its shape, and the entries tile the data
//      section exactly (no gaps, no overlaps, nothing missing at the end);
//   2. the tabgpt metadata parses: config, vocab, step, seed, rng_state, optimizer;
//   3. config fields are in range (core/config.ts' validate plus size limits);
//   4. the vocabulary: vocabSize entries, each a single code point, all distinct;
//   5. the tensors are exactly those the config implies, with the file's
//      (PyTorch [out, in]) shapes: no missing, no extra, no wrong shape; the
//      AdamW moments are all there or all absent.
// The expected shapes come from model.ts' paramShapes; nothing here allocates a tensor.

import { DEFAULT_CONFIG, validate, type Config } from './config';
import { isLinearWeight, paramShapes } from './counts';

/** Linear weights: stored [in, out] in tabgpt, [out, in] in the file (PyTorch's nn.Linear). */
export { isLinearWeight };
/** The parameter an optimizer moment belongs to ('' for a parameter itself). */
export const paramNameOf = (name: string) => name.replace(/^optimizer\.exp_avg(_sq)?\./, '');

/**
 * Limits far above anything a browser or a laptop trains, low enough that a
 * corrupt or hostile number is caught before it sizes an allocation.
 */
export const LIMITS = { nLayer: 1024, nHead: 4096, nEmbd: 65536, blockSize: 1 << 20, vocabSize: 0x110000 } as const;

export interface HeaderEntry {
  dtype: string;
  shape: number[];
  data_offsets: [number, number];
}

export interface CheckpointMeta {
  config: Config;
  vocab: string[];
  step: number;
  seed: number;
  /** State of the batch Rng, so a resumed run draws the same batches as an uninterrupted one. */
  rngState: number;
  /** Adam's bias-correction step count; absent for a weights-only file. */
  adamT?: number;
  /** Free-form extras (val loss, corpus name, ...). */
  extra?: Record<string, string>;
}

export interface ValidHeader {
  meta: CheckpointMeta;
  /** Tensor entries in file order. */
  entries: [string, HeaderEntry][];
  /** Bytes of the data section the tensors use (= its length). */
  dataBytes: number;
}

/** A checkpoint problem: one line that names the field. */
export class CheckpointProblem extends Error {
  override name = 'CheckpointProblem';
}

const KNOWN_META = new Set(['format', 'tabgpt.version', 'config', 'vocab', 'step', 'seed', 'rng_state', 'data_sha256', 'optimizer']);
const fail = (why: string): never => {
  throw new CheckpointProblem(why);
};
const isInt = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v);

/**
 * Check a parsed safetensors header against a data section of `bodyLength`
 * bytes. Returns the metadata and entries, or throws CheckpointProblem with
 * the first problem found. Builds nothing.
 */
export function validateHeader(header: unknown, bodyLength: number): ValidHeader {
  if (typeof header !== 'object' || header === null || Array.isArray(header)) fail('its header is not a JSON object (corrupted or not safetensors)');
  const h = header as Record<string, unknown>;
  const metadata = h.__metadata__ as Record<string, unknown> | undefined;
  if (typeof metadata !== 'object' || metadata === null || typeof metadata.config !== 'string' || typeof metadata.vocab !== 'string') {
    fail('no tabgpt metadata (config, vocab): was it written by tabgpt?');
  }
  const md = metadata as Record<string, unknown>;

  // 1. tensor entries and the data section
  const entries: [string, HeaderEntry][] = [];
  for (const [k, v] of Object.entries(h)) {
    if (k === '__metadata__') continue;
    const e = v as Partial<HeaderEntry> | null;
    const [s, end] = Array.isArray(e?.data_offsets) && e.data_offsets.length === 2 ? e.data_offsets : [NaN, NaN];
    if (!Array.isArray(e?.shape) || !e.shape.every((d) => isInt(d) && d >= 0) || !isInt(s) || !isInt(end) || s < 0 || end < s) {
      fail(`tensor ${k} has a malformed header entry (corrupted)`);
    }
    entries.push([k, e as HeaderEntry]);
  }
  const maxEnd = entries.reduce((a, [, e]) => Math.max(a, e.data_offsets[1]), 0);
  if (maxEnd > bodyLength) fail(`data section has ${bodyLength} bytes but tensors need ${maxEnd} (truncated)`);
  for (const [k, e] of entries) {
    if (e.dtype !== 'F32') fail(`tensor ${k} has dtype ${String(e.dtype)}; only F32 is supported`);
    const size = e.shape.reduce((a, b) => a * b, 1);
    const [s, end] = e.data_offsets;
    if (end - s !== size * 4) fail(`tensor ${k} has ${end - s} bytes for shape [${e.shape}] (${size * 4} expected)`);
  }
  const spans = entries.map(([k, e]) => [k, ...e.data_offsets] as const).sort((a, b) => a[1] - b[1]);
  let at = 0;
  for (const [k, s, end] of spans) {
    if (s < at) fail(`tensor ${k} overlaps another tensor's bytes (corrupted)`);
    if (s > at) fail(`${s - at} bytes before tensor ${k} belong to no tensor (corrupted)`);
    at = end;
  }
  if (bodyLength > at) fail(`${bodyLength - at} bytes after the last tensor belong to no tensor (corrupted or appended to)`);

  // 2. metadata
  const json = (field: string): unknown => {
    try {
      return JSON.parse(md[field] as string);
    } catch {
      return fail(`metadata.${field} is not valid JSON`);
    }
  };
  const config = json('config') as Config;
  if (typeof config !== 'object' || config === null || Array.isArray(config)) fail('metadata.config is not a JSON object');
  const vocab = json('vocab') as string[];
  if (!Array.isArray(vocab)) fail('metadata.vocab is not a JSON array of characters');
  const intField = (field: string, min: number, max: number, dflt: number): number => {
    if (md[field] === undefined) return dflt;
    const n = typeof md[field] === 'string' && (md[field] as string).trim() !== '' ? Number(md[field]) : NaN;
    if (!Number.isInteger(n) || n < min || n > max) fail(`metadata.${field} must be an integer in [${min}, ${max}] (got ${JSON.stringify(md[field])})`);
    return n;
  };
  const step = intField('step', 0, Number.MAX_SAFE_INTEGER, 0);
  const seed = intField('seed', -Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER, 0);
  const rngState = intField('rng_state', 0, 0xffffffff, 0);
  let adamT: number | undefined;
  if (md.optimizer !== undefined) {
    const opt = json('optimizer') as { t?: unknown } | null;
    if (typeof opt !== 'object' || opt === null || !isInt(opt.t) || opt.t < 0) fail("metadata.optimizer.t must be a non-negative integer (Adam's step count)");
    adamT = (opt as { t: number }).t;
  }
  for (const [k, v] of Object.entries(md)) if (typeof v !== 'string') fail(`metadata.${k} must be a string (safetensors metadata holds strings)`);

  // 3. config fields in range
  for (const k of ['nLayer', 'nHead', 'nEmbd', 'blockSize', 'vocabSize'] as const) {
    const v = config[k];
    if (!isInt(v) || v < 1 || v > LIMITS[k]) {
      const layers = k === 'nLayer' ? layersInFile(entries) : null;
      fail(
        `config.${k} is ${JSON.stringify(v)}: it must be an integer from 1 to ${LIMITS[k]}${layers !== null ? ` (the file has tensors for ${layers} layers)` : ''}`,
      );
    }
  }
  if (typeof config.bias !== 'boolean') fail(`config.bias must be true or false (got ${JSON.stringify(config.bias)})`);
  config.step ??= DEFAULT_CONFIG.step; // files written before the field existed: the default
  // Files written before gradient accumulation and recomputation existed: one micro-batch, no recomputation.
  config.gradAccumSteps ??= 1;
  config.recompute ??= false;
  if (typeof config.recompute !== 'boolean') fail(`config.recompute must be true or false (got ${JSON.stringify(config.recompute)})`);
  for (const k of [
    'dropout',
    'batchSize',
    'gradAccumSteps',
    'maxIters',
    'lr',
    'minLr',
    'warmupIters',
    'weightDecay',
    'beta1',
    'beta2',
    'eps',
    'gradClip',
    'evalInterval',
    'evalIters',
    'logInterval',
    'seed',
  ] as const) {
    if (typeof config[k] !== 'number') fail(`config.${k} is missing or not a number (got ${JSON.stringify(config[k])})`);
  }
  try {
    validate(config);
  } catch (e) {
    fail(`config.${(e as Error).message}`);
  }

  // 4. vocabulary
  if (vocab.length !== config.vocabSize) fail(`metadata.vocab has ${vocab.length} entries but config.vocabSize is ${config.vocabSize}`);
  const seen = new Map<string, number>();
  for (let i = 0; i < vocab.length; i++) {
    const c = vocab[i];
    if (typeof c !== 'string' || [...c].length !== 1)
      fail(`metadata.vocab[${i}] is ${JSON.stringify(c).slice(0, 40)}: every entry must be a single character (one code point)`);
    const j = seen.get(c);
    if (j !== undefined) fail(`metadata.vocab[${i}] repeats metadata.vocab[${j}] (${JSON.stringify(c)}): entries must be distinct`);
    seen.set(c, i);
  }

  // 5. tensors against the config
  const expected = new Map<string, number[]>();
  for (const [name, shape] of paramShapes(config)) expected.set(name, isLinearWeight(name) ? [...shape].reverse() : shape);
  const have = new Map(entries);
  const hasOptimizer = entries.some(([k]) => k.startsWith('optimizer.'));
  if (hasOptimizer) {
    for (const [name, shape] of [...expected]) {
      expected.set(`optimizer.exp_avg.${name}`, shape);
      expected.set(`optimizer.exp_avg_sq.${name}`, shape);
    }
  }
  for (const [name, shape] of expected) {
    const e = have.get(name);
    if (!e) {
      const layers = layersInFile(entries);
      const hint =
        /^transformer\.h\.\d+\./.test(paramNameOf(name)) && layers !== config.nLayer
          ? ` (config.nLayer is ${config.nLayer}, the file has tensors for ${layers} layers)`
          : '';
      fail(`tensor ${name} is missing${hint}`);
    }
    if (e!.shape.length !== shape.length || e!.shape.some((d, i) => d !== shape[i])) {
      fail(
        `tensor ${name} has shape [${e!.shape}] but the config (nLayer ${config.nLayer}, nEmbd ${config.nEmbd}, blockSize ${config.blockSize}, vocabSize ${config.vocabSize}) implies [${shape}]`,
      );
    }
  }
  for (const [name] of entries) if (!expected.has(name)) fail(`tensor ${name} is not part of a model with this config (an extra tensor)`);
  if (hasOptimizer && adamT === undefined) fail('metadata.optimizer is missing although the file holds optimizer moments');

  const extra = Object.fromEntries(Object.entries(md).filter(([k]) => !KNOWN_META.has(k))) as Record<string, string>;
  return { meta: { config, vocab, step, seed, rngState, adamT, extra }, entries, dataBytes: at };
}

/** How many transformer blocks the file's tensor names describe. */
function layersInFile(entries: [string, HeaderEntry][]): number {
  let n = 0;
  for (const [k] of entries) {
    const m = /^transformer\.h\.(\d+)\./.exec(paramNameOf(k));
    if (m) n = Math.max(n, Number(m[1]) + 1);
  }
  return n;
}
