// nanoGPT's file formats without Python (tests/pytorch-interop.test.ts has the
// real PyTorch): a tabgpt checkpoint through ckpt.pt + meta.pkl and back is
// bit-identical, and bad or hostile files (truncated zip, a pickle calling
// os.system, wrong shapes, no vocabulary, ...) are refused with one line,
// in the library and through the CLI.

import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { zipSync } from 'fflate';
import * as tf from '@tensorflow/tfjs';
import { decodeCheckpoint, disposeCheckpoint, encodeCheckpoint, modelFromCheckpoint, saveTrainer } from '../src/core/checkpoint.ts';
import type { CheckpointMeta } from '../src/core/checkpoint-validate.ts';
import { makeConfig } from '../src/core/config.ts';
import { Dataset } from '../src/core/data.ts';
import { fineTuneOverrides, initFrom } from '../src/core/finetune.ts';
import { fromNanoGPT, NanoGPTError, readMeta, toNanoGPT, tokenBins } from '../src/core/formats/nanogpt.ts';
import { fileTensors, type FileTensor } from '../src/core/formats/safetensors.ts';
import { loadTorch, saveTorch, TorchTensor, type SaveValue } from '../src/core/formats/torch-file.ts';
import { newTrainer } from '../src/core/train.ts';

const TEXT = 'To be, or not to be, that is the question:\nWhether tis nobler in the mind to suffer\n'.repeat(20);
let meta: CheckpointMeta;
let tensors: Map<string, FileTensor>;
let exported: { ckpt: Uint8Array; metaPkl: Uint8Array };
let dir: string;

/** The error `f` throws (it must throw), checked to be one line. */
async function refusal(f: () => unknown): Promise<string> {
  try {
    await f();
  } catch (e) {
    expect(e).toBeInstanceOf(NanoGPTError);
    const msg = (e as Error).message;
    expect(msg).not.toContain('\n');
    return msg;
  }
  throw new Error('expected a refusal');
}

/** A zip holding archive/data.pkl = `pkl` (and nothing else): a torch.save file whose pickle is `pkl`. */
const torchFileWith = (pkl: Uint8Array) =>
  zipSync({ 'archive/data.pkl': [pkl, { level: 0 }], 'archive/version': [new TextEncoder().encode('3\n'), { level: 0 }] });
const bytesOf = (s: string) => Uint8Array.from(s, (c) => c.charCodeAt(0));

beforeAll(async () => {
  await tf.setBackend('cpu');
  const trainer = newTrainer(
    makeConfig({ nLayer: 1, nHead: 2, nEmbd: 8, blockSize: 8, batchSize: 2, maxIters: 10, gelu: 'erf', dropout: 0.1 }),
    new Dataset(TEXT),
  );
  for (let i = 0; i < 3; i++) await trainer.trainStep();
  const bytes = await saveTrainer(trainer, trainer.data.tokenizer, { val_loss: '2.5' });
  const ckpt = await decodeCheckpoint(bytes);
  disposeCheckpoint(ckpt);
  meta = ckpt.meta;
  tensors = fileTensors(bytes);
  exported = toNanoGPT(meta, tensors, { dir: '/data/run', maskBuffers: true });
  trainer.model.dispose();
  trainer.dispose();
  dir = mkdtempSync(join(tmpdir(), 'tabgpt-nano-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('ckpt.pt and meta.pkl round trip', () => {
  it('gives back the same tensors, step, Adam t, vocabulary and config', async () => {
    const { bytes, info } = await fromNanoGPT(exported.ckpt, readMeta(exported.metaPkl));
    expect(info.notes.join(' ')).toContain('causal-mask buffers'); // --mask-buffers' attn.bias, dropped again
    const back = await decodeCheckpoint(bytes);
    disposeCheckpoint(back);
    expect(back.meta.step).toBe(3);
    expect(back.meta.adamT).toBe(3);
    expect(back.meta.vocab).toEqual(meta.vocab);
    expect(back.meta.extra?.val_loss).toBe('2.5');
    const c = back.meta.config;
    expect([c.nLayer, c.nHead, c.nEmbd, c.blockSize, c.vocabSize, c.bias, c.gelu, c.batchSize, c.maxIters, c.warmupIters]).toEqual([
      1,
      2,
      8,
      8,
      meta.vocab.length,
      true,
      'erf',
      2,
      10,
      1,
    ]);
    expect(c.dropout).toBeCloseTo(0.1, 7);
    const again = fileTensors(bytes);
    expect([...again.keys()].sort()).toEqual([...tensors.keys()].sort());
    for (const [k, t] of tensors) expect(again.get(k)!.data).toEqual(t.data);
  });

  it("an imported erf model stays erf when fine-tuned with the page's settings (the form goes with the weights)", async () => {
    const { bytes } = await fromNanoGPT(exported.ckpt, readMeta(exported.metaPkl));
    const ckpt = await decodeCheckpoint(bytes);
    const ft = initFrom(ckpt, TEXT, fineTuneOverrides(makeConfig({ maxIters: 5 })));
    expect(ft.trainer.model.config.gelu).toBe('erf');
    await ft.trainer.trainStep();
    disposeCheckpoint(ckpt);
    ft.trainer.model.dispose();
    ft.trainer.dispose();
  });

  it('keeps a tanh model tanh (export records config.gelu), and the command carries the run settings', async () => {
    const tanh = toNanoGPT({ ...meta, config: { ...meta.config, gelu: 'tanh' } }, tensors, { dir: '/d', maskBuffers: false, maxIters: 50 });
    const { info } = await fromNanoGPT(tanh.ckpt, readMeta(tanh.metaPkl));
    expect(info.config.gelu).toBe('tanh');
    expect(info.notes.join(' ')).not.toContain('causal-mask');
    expect(tanh.flags).toEqual(
      expect.arrayContaining([
        '--init_from=resume',
        '--out_dir=/d',
        '--dataset=/d',
        '--batch_size=2',
        '--block_size=8',
        '--dropout=0.1',
        '--max_iters=50',
        '--lr_decay_iters=50',
        '--beta1=0.9',
        '--beta2=0.99',
        '--gradient_accumulation_steps=1',
      ]),
    );
  });

  it("leaves out an optimizer state that does not follow nanoGPT's groups (frozen parameters), with a note", async () => {
    // read the export back as plain values, drop one parameter from the no-decay group, save again
    const toSave = (v: unknown): SaveValue =>
      v instanceof TorchTensor
        ? { shape: v.shape, data: v.data }
        : v instanceof Map
          ? new Map([...v].map(([k, x]) => [k, toSave(x)]))
          : Array.isArray(v)
            ? v.map(toSave)
            : (v as SaveValue);
    const root = toSave(loadTorch(exported.ckpt)) as Map<unknown, Map<unknown, unknown>>;
    const groups = root.get('optimizer')!.get('param_groups') as Map<string, number[]>[];
    groups[1].set('params', groups[1].get('params')!.slice(1));
    const { bytes, info } = await fromNanoGPT(saveTorch(root as SaveValue), meta.vocab);
    expect(info.optimizer).toBe(false);
    expect(info.notes.join(' ')).toMatch(/does not follow nanoGPT's two parameter groups .* left out/);
    disposeCheckpoint(await decodeCheckpoint(bytes));
  });

  it("train.bin / val.bin: the text as uint16 ids in the checkpoint's vocabulary, 90/10", () => {
    const { train, val } = tokenBins(TEXT, meta.vocab);
    const ids = (b: Uint8Array) => new Uint16Array(b.buffer, b.byteOffset, b.length / 2);
    const n = [...TEXT].length;
    expect(ids(train).length).toBe(Math.floor(n * 0.9));
    expect(ids(val).length).toBe(n - Math.floor(n * 0.9));
    const decode = (u: Uint16Array) => Array.from(u, (i) => meta.vocab[i]).join('');
    expect(decode(ids(train)) + decode(ids(val))).toBe(TEXT);
  });

  it('imports a weights-only file (no optimizer) and a bias=False model', async () => {
    const noBias = newTrainer(makeConfig({ nLayer: 1, nHead: 1, nEmbd: 4, blockSize: 4, maxIters: 5, bias: false }), new Dataset(TEXT));
    const b = await saveTrainer(noBias, noBias.data.tokenizer);
    const ck = await decodeCheckpoint(b);
    disposeCheckpoint(ck);
    const weightsOnly = new Map([...fileTensors(b)].filter(([k]) => !k.startsWith('optimizer.')));
    const out = toNanoGPT({ ...ck.meta, adamT: undefined }, weightsOnly, { dir: '/d', maskBuffers: false });
    const { bytes, info } = await fromNanoGPT(out.ckpt, readMeta(out.metaPkl));
    expect(info.optimizer).toBe(false);
    expect(info.config.bias).toBe(false);
    disposeCheckpoint(await decodeCheckpoint(bytes));
    noBias.model.dispose();
    noBias.dispose();
  });
});

describe('config.gelu in checkpoints', () => {
  it('a file from before the field (no gelu in its config) loads as the tanh form', async () => {
    const logits = async (bytes: Uint8Array) => {
      const ck = await decodeCheckpoint(bytes);
      const { model } = modelFromCheckpoint(ck);
      disposeCheckpoint(ck);
      const idx = tf.tensor2d([[1, 2, 3, 4]], [1, 4], 'int32');
      const out = (await model.forward(idx).data()) as Float32Array;
      idx.dispose();
      model.dispose();
      return { out, gelu: ck.meta.config.gelu };
    };
    const weights = new Map([...tensors].map(([k, t]) => [k, tf.tensor(t.data, t.shape)]));
    const withForm = async (gelu: 'tanh' | 'erf' | undefined) => {
      const config = { ...meta.config, gelu };
      if (gelu === undefined) delete config.gelu;
      // encodeCheckpoint takes tabgpt's layout: Linear weights transposed back from the file's [out, in]
      const tabgpt = new Map([...weights].map(([k, t]) => [k, /\.(c_attn|c_proj|c_fc)\.weight$/.test(k) ? t.transpose() : t]));
      return logits(await encodeCheckpoint({ ...meta, config }, tabgpt));
    };
    const old = await withForm(undefined);
    const tanh = await withForm('tanh');
    const erf = await withForm('erf');
    expect(old.gelu).toBeUndefined();
    expect(old.out).toEqual(tanh.out);
    expect(old.out).not.toEqual(erf.out);
    tf.dispose([...weights.values()]);
  });
});

describe('bad and hostile files: one line each', () => {
  it('a truncated ckpt.pt', async () => {
    expect(await refusal(() => fromNanoGPT(exported.ckpt.subarray(0, exported.ckpt.length >> 1), meta.vocab))).toMatch(
      /ckpt\.pt: is not a complete zip archive .*truncated/,
    );
  });
  it('not a zip at all, and a legacy torch.save file', async () => {
    expect(await refusal(() => fromNanoGPT(bytesOf('hello world'), meta.vocab))).toMatch(/is not a PyTorch file/);
    expect(await refusal(() => fromNanoGPT(bytesOf('\x80\x02\x8a\x0al\xfc\x9cF\xf9 j\xa8P\x19.'), meta.vocab))).toMatch(/legacy \(pre-1\.6\)/);
  });
  it('a pickle that calls os.system is refused by name, never run', async () => {
    const evil = torchFileWith(bytesOf('\x80\x02cos\nsystem\nq\x00X\x0c\x00\x00\x00touch /tmp/xq\x01\x85q\x02Rq\x03.'));
    expect(await refusal(() => fromNanoGPT(evil, meta.vocab))).toMatch(/refers to os\.system, which is not part of a PyTorch checkpoint: refused/);
    // the same through STACK_GLOBAL (protocol 4) and in meta.pkl
    const evil4 = bytesOf('\x80\x04\x8c\x08builtins\x8c\x04eval\x93\x8c\x041+1\x85R.');
    expect(await refusal(() => fromNanoGPT(torchFileWith(evil4), meta.vocab))).toMatch(/refers to builtins\.eval/);
    expect(await refusal(() => readMeta(evil4))).toMatch(/meta\.pkl refers to builtins\.eval/);
  });
  it('a pickle with a negative length (a reader moving backwards would loop) and one cut short', async () => {
    expect(await refusal(() => fromNanoGPT(torchFileWith(bytesOf('\x80\x02B\xfb\xff\xff\xff.')), meta.vocab))).toMatch(/data\.pkl a length of -5 bytes/);
    expect(await refusal(() => fromNanoGPT(torchFileWith(bytesOf('\x80\x02}q\x00(X\x05\x00\x00')), meta.vocab))).toMatch(/data\.pkl is not a valid pickle/);
  });
  it('compressed entries (torch.save stores them) are refused', async () => {
    const z = zipSync({ 'archive/data.pkl': [new Uint8Array(100), { level: 6 }] });
    expect(await refusal(() => fromNanoGPT(z, meta.vocab))).toMatch(/compressed/);
  });
  it('tensors whose shapes disagree with model_args', async () => {
    const wrong = toNanoGPT({ ...meta, config: { ...meta.config, nEmbd: 12 } }, tensors, { dir: '/d', maskBuffers: false });
    expect(await refusal(() => fromNanoGPT(wrong.ckpt, meta.vocab))).toMatch(
      /transformer\.wte\.weight has shape \[\d+,8\] but model_args .* implies \[\d+,12\]/,
    );
  });
  it('no meta.pkl, or one for another vocabulary', async () => {
    expect(await refusal(() => fromNanoGPT(exported.ckpt, null))).toMatch(/has no vocabulary: give its meta\.pkl/);
    expect(await refusal(() => fromNanoGPT(exported.ckpt, meta.vocab.slice(1)))).toMatch(/vocab_size is \d+ but meta\.pkl has \d+ characters/);
    expect(await refusal(() => readMeta(exported.ckpt))).toMatch(/meta\.pkl is not a valid pickle/);
  });
});

describe('the CLI', () => {
  const run = (...args: string[]) =>
    new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
      const env = { ...process.env };
      delete env.TABGPT_DEBUG;
      execFile(process.execPath, [join(import.meta.dirname, '..', 'bin', 'tabgpt.js'), ...args], { env, timeout: 60_000 }, (err, stdout, stderr) =>
        resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr }),
      );
    });
  it('from-nanogpt: a hostile file gets one line and exit 1, and nothing is written', async () => {
    const path = join(dir, 'ckpt.pt');
    writeFileSync(path, torchFileWith(bytesOf('\x80\x02cos\nsystem\nq\x00X\x02\x00\x00\x00idq\x01\x85q\x02Rq\x03.')));
    writeFileSync(join(dir, 'meta.pkl'), exported.metaPkl);
    const r = await run('from-nanogpt', '--ckpt', path, '--out', join(dir, 'out.safetensors'));
    expect(r.stderr.trim().split('\n')).toEqual([
      `tabgpt: error: ${path}: refers to os.system, which is not part of a PyTorch checkpoint: refused (tabgpt never executes a pickle)`,
    ]);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
  }, 60_000);
});
