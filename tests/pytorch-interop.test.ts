// tabgpt and real PyTorch, both ways (tests/pytorch/nanogpt_interop.py is
// PyTorch's side): nanoGPT's checkpoint, saved as its train.py saves it, read
// by from-nanogpt gives the same logits (1e-4) and the same greedy text (also
// for a bias=False model saved without optimizer state); a
// tabgpt checkpoint written by to-nanogpt is read by torch.load, loads
// strictly into nanoGPT's GPT with the same logits (1e-4), and its AdamW state
// loads into torch.optim.AdamW with nanoGPT's groups and keeps training.
// Skipped, with one line saying so, where python3 with torch is missing
// (.ci/run installs Debian's python3-torch).

import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { decodeCheckpoint, disposeCheckpoint, modelFromCheckpoint, resumeTrainer, saveTrainer } from '../src/core/checkpoint.ts';
import { makeConfig } from '../src/core/config.ts';
import { Dataset } from '../src/core/data.ts';
import { fromNanoGPT, readMeta, toNanoGPT, tokenBins } from '../src/core/formats/nanogpt.ts';
import { fileTensors } from '../src/core/formats/safetensors.ts';
import { GPT } from '../src/core/model.ts';
import { generate } from '../src/core/sample.ts';
import { newTrainer } from '../src/core/train.ts';

const SCRIPT = join(import.meta.dirname, 'pytorch', 'nanogpt_interop.py');

/** A python3 that imports torch and numpy: $TABGPT_PYTHON, python3 on the PATH, or Debian's. */
function findPython(): string | null {
  for (const py of [process.env.TABGPT_PYTHON, 'python3', '/usr/bin/python3']) {
    if (py && spawnSync(py, ['-c', 'import torch, numpy'], { stdio: 'ignore' }).status === 0) return py;
  }
  return null;
}
const python = findPython();
if (!python) console.log('pytorch interop tests skipped: no python3 with torch and numpy here (Debian: apt-get install python3-torch)');

function runPython(mode: string, dir: string): void {
  const r = spawnSync(python!, [SCRIPT, mode, dir], { encoding: 'utf8', timeout: 120_000 });
  if (r.status !== 0) throw new Error(`${SCRIPT} ${mode} failed:\n${r.stderr}`);
}

async function logitsOf(model: GPT, probe: number[][]): Promise<Float32Array> {
  const idx = tf.tensor2d(probe, [probe.length, probe[0].length], 'int32');
  const logits = model.forward(idx); // [B*T, V]
  const out = (await logits.data()) as Float32Array;
  tf.dispose([idx, logits]);
  return out;
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

describe.skipIf(!python)('nanoGPT checkpoints against real PyTorch', () => {
  let dir: string;
  let expected: { torch: string; probe: number[][]; logits: number[]; greedy: string; nobias_logits: number[]; mask_buffers: boolean };
  let text: string;

  beforeAll(async () => {
    await tf.setBackend('cpu');
    dir = mkdtempSync(join(tmpdir(), 'tabgpt-torch-'));
    runPython('make', dir); // a small nanoGPT, trained 150 steps and saved as train.py saves it
    expected = JSON.parse(readFileSync(join(dir, 'expected.json'), 'utf8'));
    text = readFileSync(join(dir, 'input.txt'), 'utf8');
  }, 120_000);
  afterAll(() => dir && rmSync(dir, { recursive: true, force: true }));

  it('from-nanogpt: the same logits (1e-4) and the same greedy text as PyTorch; it resumes', async () => {
    const vocab = readMeta(readFileSync(join(dir, 'meta.pkl')));
    const { bytes, info } = await fromNanoGPT(readFileSync(join(dir, 'ckpt.pt')), vocab);
    expect(info.config.gelu).toBe('erf');
    expect(info.config.dropout).toBeCloseTo(0.1, 6);
    expect(info.step).toBe(150);
    expect(info.optimizer).toBe(true);
    const ckpt = await decodeCheckpoint(bytes, 'imported');
    expect(ckpt.meta.adamT).toBe(150);
    const { model, tokenizer } = modelFromCheckpoint(ckpt);
    const err = maxAbsDiff(await logitsOf(model, expected.probe), expected.logits);
    console.log(`from-nanogpt: max |logit difference| vs PyTorch ${expected.torch}: ${err.toExponential(2)}`);
    expect(err).toBeLessThan(1e-4);
    const greedy = await generate(model, tokenizer, { prompt: 'Ben:\n', maxNewTokens: 40, temperature: 0, useCache: false });
    expect('Ben:\n' + greedy).toBe(expected.greedy);
    // resumes: its AdamW moments and step go into a trainer, which keeps training
    const trainer = resumeTrainer(ckpt, new Dataset(text), { evalIters: 2, batchSize: 8 });
    expect(trainer.step).toBe(150);
    expect(trainer.optimizer.t).toBe(150);
    for (let i = 0; i < 3; i++) await trainer.trainStep();
    expect(Number.isFinite(await trainer.evaluate())).toBe(true);
    trainer.model.dispose();
    trainer.dispose();
    disposeCheckpoint(ckpt);
    model.dispose();
  }, 60_000);

  it("from-nanogpt: a bias=False model saved without optimizer state gives PyTorch's logits (1e-4)", async () => {
    const { bytes, info } = await fromNanoGPT(readFileSync(join(dir, 'ckpt_nobias.pt')), readMeta(readFileSync(join(dir, 'meta.pkl'))));
    expect(info.config.bias).toBe(false);
    expect(info.optimizer).toBe(false);
    const ckpt = await decodeCheckpoint(bytes, 'imported');
    const { model } = modelFromCheckpoint(ckpt);
    disposeCheckpoint(ckpt);
    const err = maxAbsDiff(await logitsOf(model, expected.probe), expected.nobias_logits);
    console.log(`from-nanogpt, bias=False: max |logit difference| vs PyTorch: ${err.toExponential(2)}`);
    expect(err).toBeLessThan(1e-4);
    model.dispose();
  });

  it('to-nanogpt: torch.load reads it, the same logits (1e-4), AdamW with nanoGPT groups continues', async () => {
    // a tabgpt run (GPT-2's tanh GELU) of 40 steps on the same text
    const trainer = newTrainer(
      makeConfig({ nLayer: 2, nHead: 2, nEmbd: 32, blockSize: 16, batchSize: 8, maxIters: 60, lr: 3e-3, evalInterval: 40, evalIters: 2, logInterval: 10 }),
      new Dataset(text),
    );
    for (let i = 0; i < 40; i++) await trainer.trainStep();
    const bytes = await saveTrainer(trainer, trainer.data.tokenizer);
    const ckpt = await decodeCheckpoint(bytes, 'run');
    const probe = [Array.from(trainer.data.tokenizer.encode('Ada:\nLet us count the'.slice(0, 16)))];
    const ours = await logitsOf(trainer.model, probe);
    const out = toNanoGPT(ckpt.meta, fileTensors(bytes), { dir, maskBuffers: expected.mask_buffers });
    writeFileSync(join(dir, 'ckpt.pt'), out.ckpt);
    writeFileSync(join(dir, 'meta.pkl'), out.metaPkl);
    writeFileSync(join(dir, 'train.bin'), tokenBins(text, ckpt.meta.vocab).train);
    writeFileSync(join(dir, 'probe.json'), JSON.stringify(probe));
    runPython('check', dir);
    const checked = JSON.parse(readFileSync(join(dir, 'checked.json'), 'utf8'));
    const err = maxAbsDiff(checked.logits, ours);
    console.log(
      `to-nanogpt: max |logit difference| in PyTorch ${checked.torch}: ${err.toExponential(2)}; fixed-batch loss ${checked.loss_before.toFixed(4)} -> ${checked.loss_after.toFixed(4)} after 8 PyTorch steps`,
    );
    expect(err).toBeLessThan(1e-4);
    expect(checked.iter_num).toBe(40);
    expect(checked.tied).toBe(true);
    const n = trainer.model.params.size;
    const nDecay = [...trainer.model.params.values()].filter((p) => p.shape.length >= 2).length;
    expect(checked.groups).toEqual([nDecay, n - nDecay]);
    expect(checked.weight_decay).toEqual([0.1, 0]);
    expect(checked.steps).toEqual(new Array(n).fill(40));
    expect(checked.shapes_ok).toBe(true);
    expect(checked.loss_after).toBeLessThan(checked.loss_before);
    expect(out.flags).toContain('--init_from=resume');
    expect(out.flags).toContain('--dropout=0.0');
    disposeCheckpoint(ckpt);
    trainer.model.dispose();
    trainer.dispose();
  }, 90_000);
});
