// Hostile and inconsistent checkpoints: the whole header is validated before a
// single tensor is built, and each problem is one line naming the field.

import { describe, it, expect, beforeAll } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { makeConfig } from '../src/core/config.ts';
import { Dataset } from '../src/core/data.ts';
import { newTrainer } from '../src/core/train.ts';
import { CheckpointError, decodeCheckpoint, disposeCheckpoint, saveTrainer } from '../src/core/checkpoint.ts';

const TEXT = 'It is a truth universally acknowledged, that a single man in possession of a good fortune, must be in want of a wife.\n'.repeat(12);
const data = new Dataset(TEXT);
const cfg = makeConfig({ nLayer: 2, nHead: 2, nEmbd: 16, blockSize: 16, batchSize: 4, maxIters: 12, evalIters: 2, seed: 7 });
let good: Uint8Array;

type Header = Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] }> & { __metadata__: Record<string, string> };

function split(bytes: Uint8Array): { header: Header; body: Uint8Array } {
  const len = Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));
  return { header: JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + len))), body: bytes.subarray(8 + len) };
}
function join(header: object, body: Uint8Array): Uint8Array {
  const h = new TextEncoder().encode(JSON.stringify(header));
  const out = new Uint8Array(8 + h.length + body.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(h.length), true);
  out.set(h, 8);
  out.set(body, 8 + h.length);
  return out;
}
/** The good file with its header edited (the data section, and so its checksum, unchanged unless `body` is given). */
function edited(edit: (h: Header, config: Record<string, unknown>, vocab: string[]) => void, body?: Uint8Array): Uint8Array {
  const { header, body: b } = split(good);
  const config = JSON.parse(header.__metadata__.config);
  const vocab = JSON.parse(header.__metadata__.vocab);
  const raw = { ...header.__metadata__ };
  edit(header, config, vocab);
  // Edits of the parsed config and vocab go back in, unless the edit replaced the raw strings itself.
  if (header.__metadata__.config === raw.config) header.__metadata__.config = JSON.stringify(config);
  if (header.__metadata__.vocab === raw.vocab) header.__metadata__.vocab = JSON.stringify(vocab);
  return join(header, body ?? b);
}

async function refusal(bytes: Uint8Array): Promise<string> {
  const before = tf.memory().numTensors;
  const err = await decodeCheckpoint(bytes, 'model.safetensors').then(
    (c) => {
      disposeCheckpoint(c);
      return null;
    },
    (e: unknown) => e,
  );
  expect(err, 'the file was accepted').toBeInstanceOf(CheckpointError);
  const msg = (err as Error).message;
  expect(msg).toMatch(/^model\.safetensors is not a valid tabgpt checkpoint: /);
  expect(msg).not.toContain('\n');
  expect(msg).not.toMatch(/internal error/);
  expect(tf.memory().numTensors, 'a tensor was built before the file was refused').toBe(before);
  return msg;
}

beforeAll(async () => {
  await tf.setBackend('cpu');
  const t = newTrainer(cfg, data);
  good = await saveTrainer(t, data.tokenizer, { corpus: 'test' });
  t.model.dispose();
  t.dispose();
});

describe('checkpoint validation before any tensor is built', () => {
  it('accepts the good file (and an edit that changes nothing)', async () => {
    for (const bytes of [good, edited(() => {})]) {
      const c = await decodeCheckpoint(bytes);
      expect(c.meta.config.nLayer).toBe(2);
      expect(c.meta.extra).toEqual({ corpus: 'test' });
      disposeCheckpoint(c);
    }
  });

  it('reads a file written before config.step existed with the default step', async () => {
    const c = await decodeCheckpoint(
      edited((_h, cfg) => void delete cfg.step),
      'old.safetensors',
    );
    expect(c.meta.config.step).toBe('recorded');
    disposeCheckpoint(c);
  });

  it('names a config field out of range: 100,000 layers, a zero width, a negative lr, a string bias', async () => {
    expect(await refusal(edited((_h, c) => void (c.nLayer = 100_000)))).toMatch(
      /config\.nLayer is 100000: it must be an integer from 1 to 1024 \(the file has tensors for 2 layers\)/,
    );
    expect(await refusal(edited((_h, c) => void (c.nEmbd = 0)))).toMatch(/config\.nEmbd is 0/);
    expect(await refusal(edited((_h, c) => void (c.nHead = 3)))).toMatch(/config\.nEmbd \(16\) must be divisible by nHead \(3\)/);
    expect(await refusal(edited((_h, c) => void (c.lr = -1)))).toMatch(/config\.lr must be a positive number/);
    expect(await refusal(edited((_h, c) => void (c.bias = 'yes')))).toMatch(/config\.bias must be true or false/);
    expect(await refusal(edited((_h, c) => void delete c.beta2))).toMatch(/config\.beta2 is missing/);
    expect(await refusal(edited((_h, c) => void (c.step = 'fast')))).toMatch(/config\.step must be recorded or eager \(got 'fast'\)/);
  });

  it('names the first tensor the config implies but the file lacks (3 layers claimed, 2 stored)', async () => {
    expect(await refusal(edited((_h, c) => void (c.nLayer = 3)))).toMatch(
      /tensor transformer\.h\.2\.ln_1\.weight is missing \(config\.nLayer is 3, the file has tensors for 2 layers\)/,
    );
    expect(await refusal(edited((_h, c) => void (c.bias = false)))).toMatch(/tensor transformer\.h\.0\.ln_1\.bias is not part of a model with this config/);
  });

  it('refuses a wrong shape, an extra tensor and half an optimizer', async () => {
    expect(await refusal(edited((h) => void (h['transformer.h.0.attn.c_attn.weight'].shape = [16, 48])))).toMatch(
      /tensor transformer\.h\.0\.attn\.c_attn\.weight has shape \[16,48\] but the config .* implies \[48,16\]/,
    );
    expect(await refusal(edited((_h, c) => void (c.blockSize = 8)))).toMatch(/tensor transformer\.wpe\.weight has shape \[16,16\] .* implies \[8,16\]/);
    // an extra tensor appended to the data section
    const { body } = split(good);
    const longer = new Uint8Array(body.length + 16);
    longer.set(body);
    expect(
      await refusal(edited((h) => void (h['evil.payload'] = { dtype: 'F32', shape: [4], data_offsets: [body.length, body.length + 16] }), longer)),
    ).toMatch(/tensor evil\.payload is not part of a model/);
    expect(await refusal(edited((h) => void delete h['optimizer.exp_avg_sq.transformer.ln_f.bias'], body))).toMatch(
      /bytes .*belong to no tensor|optimizer\.exp_avg_sq\.transformer\.ln_f\.bias is missing/,
    );
  });

  it('refuses sizes that disagree with the file length: bytes appended, overlapping tensors', async () => {
    const { header, body } = split(good);
    const padded = new Uint8Array(body.length + 8);
    padded.set(body);
    expect(await refusal(join(header, padded))).toMatch(/8 bytes after the last tensor belong to no tensor/);
    expect(
      await refusal(
        edited((h) => {
          const a = h['transformer.ln_f.weight'].data_offsets;
          h['transformer.ln_f.weight'].data_offsets = [a[0] - 4, a[1] - 4];
        }),
      ),
    ).toMatch(/overlaps|belong to no tensor/);
  });

  it('refuses a vocabulary entry that is not one character, a repeated entry, and a count that disagrees', async () => {
    expect(await refusal(edited((_h, _c, v) => void (v[5] = '<img src=x onerror=alert(1)>')))).toMatch(
      /metadata\.vocab\[5\] is "<img src=x onerror=alert\(1\)>": every entry must be a single character/,
    );
    expect(await refusal(edited((_h, _c, v) => void (v[5] = v[4])))).toMatch(/metadata\.vocab\[5\] repeats metadata\.vocab\[4\]/);
    expect(await refusal(edited((_h, _c, v) => void (v[5] = '')))).toMatch(/metadata\.vocab\[5\]/);
    expect(await refusal(edited((_h, _c, v) => void v.push('Ω')))).toMatch(/metadata\.vocab has \d+ entries but config\.vocabSize is \d+/);
    // an astral character (one code point, two UTF-16 units) is a valid entry
    const astral = edited((_h, _c, v) => void (v[5] = '😀'));
    disposeCheckpoint(await decodeCheckpoint(astral));
  });

  it('refuses metadata that is not what tabgpt writes', async () => {
    expect(await refusal(edited((h) => void (h.__metadata__.step = '-3')))).toMatch(/metadata\.step must be an integer/);
    expect(await refusal(edited((h) => void (h.__metadata__.rng_state = 'x')))).toMatch(/metadata\.rng_state must be an integer/);
    expect(await refusal(edited((h) => void (h.__metadata__.optimizer = '{"t":-1}')))).toMatch(/metadata\.optimizer\.t/);
    expect(await refusal(edited((h) => void (h.__metadata__.config = '[1,2]')))).toMatch(/metadata\.config is not a JSON object/);
  });
});
