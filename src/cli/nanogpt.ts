// `tabgpt to-nanogpt` and `tabgpt from-nanogpt`: a tabgpt checkpoint to
// nanoGPT's ckpt.pt + meta.pkl (+ train.bin / val.bin) and back
// (core/formats/nanogpt.ts does the work; this is files and messages).

import { readFile } from 'node:fs/promises';
import { existsSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { decodeCheckpoint, disposeCheckpoint } from '../core/checkpoint';
import { fileTensors } from '../core/formats/safetensors';
import { fromNanoGPT, readMeta, toNanoGPT, tokenBins } from '../core/formats/nanogpt';
import { isPosInt, num, parse } from './args';
import { CliError, loadCorpus, setupBackend, writeAtomic } from './common';
import { shellLine } from './interrupt';

const TO_HELP = `usage: tabgpt to-nanogpt --ckpt model.safetensors --out DIR [--text FILE | --corpus shakespeare]
                          [--max-iters N] [--mask-buffers]
  writes DIR/ckpt.pt and DIR/meta.pkl in nanoGPT's format; with --text / --corpus also
  DIR/train.bin and DIR/val.bin (the text in the checkpoint's vocabulary, 90/10 split),
  and prints the nanoGPT command that continues the run
  --max-iters N     continue to N iterations (default: the run's own; the cosine schedule stretches to N)
  --mask-buffers    add model.py's causal-mask buffers (attn.bias), which PyTorch < 2.0 expects
                    and PyTorch 2.x refuses (for nanoGPT on PyTorch 1.x)`;

const FROM_HELP = `usage: tabgpt from-nanogpt --ckpt ckpt.pt [--meta meta.pkl] --out model.safetensors
  reads nanoGPT's checkpoint (its weights, AdamW state, step and settings) and its vocabulary
  (--meta, default: meta.pkl beside ckpt.pt) into a tabgpt checkpoint`;

async function readInput(flag: string, path: string, what: string): Promise<Uint8Array> {
  if (!existsSync(path)) throw new CliError(`--${flag} ${path}: no such file (${what})`);
  if (statSync(path).isDirectory()) throw new CliError(`--${flag} ${path}: is a directory, give the file (${what})`);
  return new Uint8Array(await readFile(path));
}

export async function toNanoGPTCommand(argv: string[]): Promise<void> {
  const { values } = parse(
    argv,
    {
      ckpt: { type: 'string' },
      out: { type: 'string' },
      text: { type: 'string' },
      corpus: { type: 'string' },
      'max-iters': { type: 'string' },
      'mask-buffers': { type: 'boolean', default: false },
    },
    'to-nanogpt',
  );
  if (values.help) return void console.log(TO_HELP);
  if (values.ckpt === undefined) throw new CliError('to-nanogpt: give the tabgpt checkpoint with --ckpt FILE');
  if (values.out === undefined) throw new CliError('to-nanogpt: give the output folder with --out DIR (ckpt.pt and meta.pkl go there)');
  const path = values.ckpt as string;
  const dir = resolve(values.out as string);
  if (existsSync(dir) && !statSync(dir).isDirectory()) throw new CliError(`--out ${values.out}: is a file; give a folder (nanoGPT's --out_dir)`);
  // train.py's configurator splits each --key=value at '=' (so a folder with one cannot be passed)
  if (dir.includes('=')) throw new CliError(`--out ${values.out}: nanoGPT's train.py cannot take a folder whose path has '=' in it: choose another`);
  const maxIters = num(values, 'max-iters', isPosInt, 'a positive integer');
  const bytes = await readInput('ckpt', path, 'a tabgpt .safetensors checkpoint');
  if (bytes[0] === 0x50 && bytes[1] === 0x4b)
    throw new CliError(`--ckpt ${path}: is a PyTorch (zip) file; to-nanogpt takes a tabgpt .safetensors checkpoint (from-nanogpt reads ckpt.pt)`);
  await setupBackend('cpu');
  const ckpt = await decodeCheckpoint(bytes, path); // validates the whole file
  disposeCheckpoint(ckpt);
  const { meta } = ckpt;
  if (maxIters !== undefined && maxIters < meta.step) throw new CliError(`--max-iters ${maxIters} is below the checkpoint's step ${meta.step}`);
  const text =
    values.text !== undefined || values.corpus !== undefined
      ? await loadCorpus({ text: values.text as string | undefined, corpus: values.corpus as string | undefined })
      : null;
  let bins: ReturnType<typeof tokenBins> | null = null;
  try {
    bins = text ? tokenBins(text.text, meta.vocab) : null;
  } catch (e) {
    throw new CliError(`${values.text !== undefined ? `--text ${values.text}` : `--corpus ${values.corpus}`}: ${(e as Error).message}`);
  }
  const out = toNanoGPT(meta, fileTensors(bytes), { dir, maskBuffers: values['mask-buffers'] as boolean, maxIters });
  await writeAtomic(join(dir, 'ckpt.pt'), out.ckpt);
  await writeAtomic(join(dir, 'meta.pkl'), out.metaPkl);
  if (bins) {
    await writeAtomic(join(dir, 'train.bin'), bins.train);
    await writeAtomic(join(dir, 'val.bin'), bins.val);
  }
  const cfg = meta.config;
  const gelu = cfg.gelu ?? 'tanh';
  console.log(
    `wrote ${join(dir, 'ckpt.pt')}: ${cfg.nLayer} layers, ${cfg.nHead} heads, ${cfg.nEmbd} wide, block ${cfg.blockSize}, vocab ${cfg.vocabSize}; step ${meta.step}; AdamW state ${meta.adamT !== undefined ? `yes (t = ${meta.adamT})` : 'none (weights only: nanoGPT resumes with fresh moments)'}`,
  );
  console.log(
    `wrote ${join(dir, 'meta.pkl')} (${meta.vocab.length} characters)${bins ? `, train.bin (${(bins.train.length / 2).toLocaleString('en-US')} tokens) and val.bin (${(bins.val.length / 2).toLocaleString('en-US')} tokens) from ${text!.source}` : ''}`,
  );
  if (!bins) console.log('no --text: put train.bin and val.bin (uint16 ids in this vocabulary) in that folder, or run again with --text FILE');
  console.log(
    gelu === 'erf'
      ? "GELU: this model was trained with the exact (erf) form, which nanoGPT's nn.GELU() computes"
      : "GELU: this model was trained with the tanh form (GPT-2's); nanoGPT's model.py uses nn.GELU() (erf), so its first steps adjust the weights to it. For the same function, edit model.py's MLP to nn.GELU(approximate='tanh')",
  );
  if (values['mask-buffers'])
    console.log('causal-mask buffers included: for nanoGPT on PyTorch < 2.0 (PyTorch 2.x refuses them; export again without --mask-buffers)');
  console.log('\ncontinue the run with nanoGPT, in its folder (one GPU):');
  console.log(`  python train.py ${shellLine(out.flags)}`);
  console.log(
    `on N GPUs of one machine: torchrun --standalone --nproc_per_node=N train.py with the same flags, but --gradient_accumulation_steps=N and --batch_size=${cfg.batchSize}/N (the same ${cfg.batchSize} sequences per step)`,
  );
  if ((maxIters ?? cfg.maxIters) <= meta.step)
    console.log(`the run is at the end of its schedule (step ${meta.step} of ${cfg.maxIters}): export again with --max-iters N to continue to N`);
  console.log(
    `without a GPU add --device=cpu --compile=False; bring the result back with: npm run from-nanogpt -- ${shellLine(['--ckpt', join(dir, 'ckpt.pt'), '--out', 'model.safetensors'])}`,
  );
}

export async function fromNanoGPTCommand(argv: string[]): Promise<void> {
  const { values } = parse(
    argv,
    {
      ckpt: { type: 'string' },
      meta: { type: 'string' },
      out: { type: 'string' },
    },
    'from-nanogpt',
  );
  if (values.help) return void console.log(FROM_HELP);
  if (values.ckpt === undefined) throw new CliError("from-nanogpt: give nanoGPT's checkpoint with --ckpt ckpt.pt");
  if (values.out === undefined) throw new CliError('from-nanogpt: give the tabgpt checkpoint to write with --out model.safetensors');
  const path = values.ckpt as string;
  const ckptBytes = await readInput('ckpt', path, "nanoGPT's ckpt.pt");
  const metaPath = (values.meta as string | undefined) ?? join(dirname(path), 'meta.pkl');
  if (ckptBytes[0] !== 0x50 && ckptBytes.length >= 8 && ckptBytes[0] !== 0x80) {
    // a safetensors file opens with its header length, then '{'
    if (ckptBytes[8] === 0x7b)
      throw new CliError(`--ckpt ${path}: is a safetensors file, not nanoGPT's ckpt.pt (to-nanogpt converts tabgpt's checkpoints the other way)`);
  }
  if (values.meta === undefined && !existsSync(metaPath))
    throw new CliError(`no meta.pkl beside ${path}: give nanoGPT's vocabulary with --meta FILE (nanoGPT keeps it at data/<dataset>/meta.pkl)`);
  const vocab = readMeta(await readInput('meta', metaPath, "nanoGPT's meta.pkl"), metaPath);
  const { bytes, info } = await fromNanoGPT(ckptBytes, vocab, path);
  await setupBackend('cpu');
  disposeCheckpoint(await decodeCheckpoint(bytes, values.out as string)); // the result passes tabgpt's own checks before it is written
  const out = values.out as string;
  await writeAtomic(out, bytes);
  const c = info.config;
  console.log(
    `read ${path} and ${metaPath}: ${c.nLayer} layers, ${c.nHead} heads, ${c.nEmbd} wide, block ${c.blockSize}, vocab ${c.vocabSize}, bias ${c.bias}, dropout ${c.dropout}; step ${info.step}${info.bestValLoss !== null ? `, best val loss ${info.bestValLoss.toFixed(4)}` : ''}; AdamW state ${info.optimizer ? 'yes' : 'no'}; GELU ${c.gelu}`,
  );
  for (const n of info.notes) console.log(`  ${n}`);
  console.log(`wrote ${out}: sample with  npm run sample -- --ckpt ${out}   (or Upload it, or ckpt.pt with meta.pkl, on the training page)`);
}
