// Checkpoints: the safetensors layout, identical logits after a round trip,
// resume equality with an uninterrupted run, and refusal of damaged files.

import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeConfig, type Config } from '../src/core/config.ts';
import { Dataset } from '../src/core/data.ts';
import { newTrainer, type Trainer } from '../src/core/train.ts';
import {
  CheckpointError,
  decodeCheckpoint,
  disposeCheckpoint,
  encodeCheckpoint,
  modelFromCheckpoint,
  resumeTrainer,
  saveTrainer,
} from '../src/core/checkpoint.ts';

const TEXT = 'It is a truth universally acknowledged, that a single man in possession of a good fortune, must be in want of a wife.\n'.repeat(12);
const data = new Dataset(TEXT);
// dropout on, so resuming must also reproduce the dropout masks
const cfg: Config = makeConfig({
  nLayer: 2,
  nHead: 2,
  nEmbd: 16,
  blockSize: 16,
  batchSize: 4,
  maxIters: 12,
  warmupIters: 3,
  lr: 3e-3,
  dropout: 0.1,
  logInterval: 1,
  evalInterval: 1000,
  evalIters: 2,
  seed: 7,
});
let dir: string;

beforeAll(async () => {
  await tf.setBackend('cpu');
  dir = mkdtempSync(join(tmpdir(), 'tabgpt-ckpt-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const dispose = (t: Trainer) => {
  t.model.dispose();
  t.dispose();
};
const logits = (t: Trainer) => tf.tidy(() => t.model.forward(tf.tensor2d([[1, 2, 3, 4, 5, 6, 7, 8]], [1, 8], 'int32')).dataSync());

async function trainSteps(t: Trainer, n: number): Promise<number[]> {
  const losses: number[] = [];
  for (let i = 0; i < n; i++) {
    const log = await t.trainStep();
    expect(log).not.toBeNull(); // logInterval 1: every step reports its own loss
    losses.push(log!.trainLoss);
  }
  return losses;
}

const weights = (t: Trainer) => new Map([...t.model.params].map(([k, v]) => [k, v.dataSync().slice()]));

describe('checkpoint format', () => {
  it('is safetensors: 8-byte header length, JSON header, PyTorch layouts, tabgpt metadata', async () => {
    const t = newTrainer(cfg, data);
    await trainSteps(t, 2);
    const bytes = await saveTrainer(t, data.tokenizer, { corpus: 'test' });
    const headerLen = Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));
    expect((8 + headerLen) % 8).toBe(0); // data section aligned
    const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + headerLen)));
    const C = cfg.nEmbd;
    expect(header['transformer.h.0.attn.c_attn.weight']).toMatchObject({ dtype: 'F32', shape: [3 * C, C] }); // [out, in]
    expect(header['transformer.wte.weight'].shape).toEqual([data.tokenizer.vocabSize, C]);
    expect(header['optimizer.exp_avg.transformer.h.1.mlp.c_fc.weight'].shape).toEqual([4 * C, C]);
    const meta = header.__metadata__;
    expect(JSON.parse(meta.vocab)).toEqual(data.tokenizer.chars);
    expect(JSON.parse(meta.config)).toMatchObject({ nLayer: 2, nEmbd: 16, vocabSize: data.tokenizer.vocabSize, seed: 7 });
    expect(meta.step).toBe('2');
    expect(meta.seed).toBe('7');
    expect(meta.corpus).toBe('test');
    // tensors tile the data section exactly
    const spans = Object.entries(header)
      .filter(([k]) => k !== '__metadata__')
      .map(([, v]) => (v as { data_offsets: [number, number] }).data_offsets)
      .sort((a, b) => a[0] - b[0]);
    spans.forEach(([s], i) => expect(s).toBe(i === 0 ? 0 : spans[i - 1][1]));
    expect(spans[spans.length - 1][1]).toBe(bytes.length - 8 - headerLen);
    dispose(t);
  });

  it('reloads to identical logits, also from a file read back as a Node Buffer', async () => {
    const t = newTrainer(cfg, data);
    await trainSteps(t, 3);
    const want = logits(t);
    const bytes = await saveTrainer(t, data.tokenizer);
    const path = join(dir, 'roundtrip.safetensors');
    writeFileSync(path, bytes);
    for (const source of [bytes, readFileSync(path)]) {
      const ckpt = await decodeCheckpoint(source);
      expect(ckpt.meta.step).toBe(3);
      expect(ckpt.meta.adamT).toBe(3);
      const { model, tokenizer } = modelFromCheckpoint(ckpt);
      disposeCheckpoint(ckpt);
      expect(tokenizer.chars).toEqual(data.tokenizer.chars);
      const got = tf.tidy(() => model.forward(tf.tensor2d([[1, 2, 3, 4, 5, 6, 7, 8]], [1, 8], 'int32')).dataSync());
      expect(Array.from(got)).toEqual(Array.from(want));
      model.dispose();
    }
    dispose(t);
  });
});

describe('resume', () => {
  it('continues the same loss curve and ends at the same weights as an uninterrupted run', async () => {
    const N = 12;
    const k = 5;
    const straight = newTrainer(cfg, data);
    const straightLosses = await trainSteps(straight, N);

    const first = newTrainer(cfg, data);
    const firstLosses = await trainSteps(first, k);
    const bytes = await saveTrainer(first, data.tokenizer);
    dispose(first);
    const ckpt = await decodeCheckpoint(bytes);
    const resumed = resumeTrainer(ckpt, new Dataset(TEXT));
    disposeCheckpoint(ckpt);
    expect(resumed.step).toBe(k);
    const restLosses = await trainSteps(resumed, N - k);

    const all = [...firstLosses, ...restLosses];
    all.forEach((l, i) => expect(Math.abs(l - straightLosses[i])).toBeLessThanOrEqual(1e-6));
    expect(straightLosses[N - 1]).toBeLessThan(straightLosses[0]); // it did train
    const a = weights(straight);
    const b = weights(resumed);
    for (const [name, w] of a) expect(Array.from(b.get(name)!), name).toEqual(Array.from(w));
    // same optimizer state too
    expect(resumed.optimizer.t).toBe(straight.optimizer.t);
    expect(Array.from(resumed.optimizer.v.get('transformer.wte.weight')!.dataSync())).toEqual(
      Array.from(straight.optimizer.v.get('transformer.wte.weight')!.dataSync()),
    );
    dispose(straight);
    dispose(resumed);
  });
});

describe('gradient accumulation and recomputation in checkpoints', () => {
  it('are recorded, resume the same curve, and files from before them load with 1 and off', async () => {
    const acc = { ...cfg, batchSize: 2, gradAccumSteps: 2, recompute: true };
    const straight = newTrainer(acc, data);
    const straightLosses = await trainSteps(straight, 6);
    const first = newTrainer(acc, data);
    await trainSteps(first, 3);
    const bytes = await saveTrainer(first, data.tokenizer);
    dispose(first);
    const ckpt = await decodeCheckpoint(bytes);
    expect(ckpt.meta.config).toMatchObject({ gradAccumSteps: 2, recompute: true });
    // the same file as written before the two fields existed
    const { gradAccumSteps: _a, recompute: _r, ...older } = ckpt.meta.config;
    const old = await decodeCheckpoint(await encodeCheckpoint({ ...ckpt.meta, config: older as Config }, ckpt.tensors));
    expect(old.meta.config).toMatchObject({ gradAccumSteps: 1, recompute: false });
    const resumed = resumeTrainer(ckpt, new Dataset(TEXT));
    expect(resumed.model.recompute).toBe(true);
    const rest = await trainSteps(resumed, 3);
    rest.forEach((l, i) => expect(Math.abs(l - straightLosses[3 + i])).toBeLessThanOrEqual(1e-6));
    disposeCheckpoint(ckpt);
    disposeCheckpoint(old);
    dispose(straight);
    dispose(resumed);
  });
});

describe('damaged files', () => {
  let good: Uint8Array;
  beforeAll(async () => {
    const t = newTrainer(cfg, data);
    good = await saveTrainer(t, data.tokenizer);
    dispose(t);
  });

  const refuse = async (bytes: Uint8Array, why: RegExp) => {
    const err = await decodeCheckpoint(bytes, 'model.safetensors').then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(CheckpointError);
    const msg = (err as Error).message;
    expect(msg).toMatch(/^model\.safetensors is not a valid tabgpt checkpoint: /);
    expect(msg).toMatch(why);
    expect(msg).not.toContain('\n');
  };

  it('refuses a truncated file', async () => {
    await refuse(good.subarray(0, good.length - 100), /truncated/);
    await refuse(good.subarray(0, 200), /truncated/); // cut inside the header
    await refuse(good.subarray(0, 5), /truncated/);
    await refuse(new Uint8Array(0), /truncated/);
  });

  it('refuses a file with a flipped data byte', async () => {
    const bad = good.slice();
    bad[bad.length - 10] ^= 0x40;
    await refuse(bad, /checksum|corrupt/);
  });

  it('refuses a file with a damaged header', async () => {
    const headerLen = Number(new DataView(good.buffer, good.byteOffset).getBigUint64(0, true));
    const bad = good.slice();
    bad[8] = 0x5b; // '{' -> '[' : not an object any more
    await refuse(bad, /header|corrupt/);
    const bad2 = good.slice();
    // a stray quote inside a string in the middle of the JSON: a letter turned into '"' ends it early
    let at = 8 + Math.floor(headerLen / 2);
    while (!/[a-z]/i.test(String.fromCharCode(bad2[at]))) at++;
    bad2[at] = 0x22;
    await refuse(bad2, /header|corrupt|metadata/);
  });

  it('refuses garbage bytes and other files', async () => {
    const rnd = new Uint8Array(4096);
    for (let i = 0; i < rnd.length; i++) rnd[i] = (i * 2654435761) >>> 24;
    await refuse(rnd, /truncated|not safetensors/);
    await refuse(new TextEncoder().encode('First line of a text file, not a checkpoint at all.\n'), /truncated|not safetensors/);
    // a valid safetensors file without tabgpt's metadata
    const json = JSON.stringify({ w: { dtype: 'F32', shape: [1], data_offsets: [0, 4] } });
    const other = new Uint8Array(8 + json.length + 4);
    new DataView(other.buffer).setBigUint64(0, BigInt(json.length), true);
    other.set(new TextEncoder().encode(json), 8);
    await refuse(other, /metadata/);
    // tabgpt metadata, but a tensor entry without offsets
    const json2 = JSON.stringify({ __metadata__: { config: '{}', vocab: '[]' }, w: { dtype: 'F32', shape: [1] } });
    const other2 = new Uint8Array(8 + json2.length + 4);
    new DataView(other2.buffer).setBigUint64(0, BigInt(json2.length), true);
    other2.set(new TextEncoder().encode(json2), 8);
    await refuse(other2, /tensor w has a malformed header entry/);
  });
});
