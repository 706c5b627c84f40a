// `tabgpt transfer` (`npm run transfer`): the pre-train-then-fine-tune experiment
// of core/transfer.ts, end to end. Pre-trains `baby` on Tiny Shakespeare minus its
// held-out tail (cached in data/cache/transfer/, keyed by text and config, so a
// rerun reuses it), then trains on the first 20k held-out characters twice, same
// steps, batches and seed: from the pre-trained weights (--init-from's path) and
// from scratch; evaluates both on the rest of the held-out text along the way;
// writes data/transfer.json and draws docs/transfer.png (transfer-plot.ts).

import { readFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { decodeCheckpoint, saveTrainer } from '../core/checkpoint';
import { Dataset, sha256Hex } from '../core/data';
import { initFrom, initFromConfig } from '../core/finetune';
import type { Config } from '../core/config';
import { Tokenizer } from '../core/tokenizer';
import { newTrainer, type Trainer } from '../core/train';
import { trainLoop } from '../core/train-loop';
import { pretrainConfig, TRANSFER, transferGap, transferSplit, type CurvePoint, type TransferResults } from '../core/transfer';
import { formatDuration } from '../core/format';
import { isPosInt, num, parse } from './args';
import { CACHE_DIR, CliError, loadShakespeare, setupBackend, writeAtomic } from './common';

const HELP = `usage: tabgpt transfer [flags]   (npm run transfer)
  --pretrain-iters N (${TRANSFER.pretrain.maxIters})   --adapt-iters N (${TRANSFER.adapt.maxIters})   --eval-every N (${TRANSFER.adapt.evalEvery})
  --out FILE (data/transfer.json)   --plot FILE (docs/transfer.png; 'none' to skip)
  --pretrain-only   stop after the (cached) pre-training   --backend wasm|cpu (wasm)
  --scratch-only    only the (cached) from-scratch run: it needs no pre-trained model, so it can run alongside
  --plot-only   redraw --plot from the results in --out`;

export async function transferCommand(argv: string[]): Promise<void> {
  const { values } = parse(
    argv,
    {
      'pretrain-iters': { type: 'string' },
      'adapt-iters': { type: 'string' },
      'eval-every': { type: 'string' },
      out: { type: 'string', default: 'data/transfer.json' },
      plot: { type: 'string', default: 'docs/transfer.png' },
      'pretrain-only': { type: 'boolean', default: false },
      'scratch-only': { type: 'boolean', default: false },
      'plot-only': { type: 'boolean', default: false },
      backend: { type: 'string', default: 'wasm' },
    },
    'transfer',
  );
  if (values.help) return void console.log(HELP);
  const pretrainIters = num(values, 'pretrain-iters', isPosInt, 'a positive integer') ?? TRANSFER.pretrain.maxIters;
  const adaptIters = num(values, 'adapt-iters', isPosInt, 'a positive integer') ?? TRANSFER.adapt.maxIters;
  const evalEvery = num(values, 'eval-every', isPosInt, 'a positive integer') ?? TRANSFER.adapt.evalEvery;
  if (values['plot-only']) {
    const out = values.out as string;
    if (!existsSync(out)) throw new CliError(`--plot-only: ${out} does not exist: run the experiment first (npm run transfer)`);
    const { drawTransferPlot } = await import('./transfer-plot');
    await drawTransferPlot(JSON.parse(await readFile(out, 'utf8')) as TransferResults, values.plot as string);
    return void console.log(`plot: ${values.plot}`);
  }
  const backend = await setupBackend(values.backend as string);

  const text = await loadShakespeare();
  const sha256 = await sha256Hex(new TextEncoder().encode(text));
  const split = transferSplit(text);
  console.log(
    `Tiny Shakespeare: ${split.pretrain.length.toLocaleString('en-US')} chars to pre-train on; held-out tail ${TRANSFER.heldOutChars.toLocaleString('en-US')}: ${split.fineTune.length.toLocaleString('en-US')} to adapt on, ${split.evaluation.length.toLocaleString('en-US')} to evaluate on`,
  );

  // ---- 1. pre-training (cached) ----
  const cfg = pretrainConfig(pretrainIters);
  const key = (await sha256Hex(new TextEncoder().encode(JSON.stringify({ sha256, heldOut: TRANSFER.heldOutChars, cfg })))).slice(0, 12);
  const ckptPath = join(CACHE_DIR, 'transfer', `pretrain-baby-${pretrainIters}-${key}.safetensors`);
  if (!values['scratch-only']) await pretrain(cfg, split.pretrain, ckptPath, backend);
  if (values['pretrain-only']) return;

  // ---- 2. the two adaptation runs: same steps, batches (same seed and data) and vocabulary ----
  const { batchSize, warmupIters, evalIters, seed } = TRANSFER.adapt;
  const adapt = {
    maxIters: adaptIters,
    batchSize,
    warmupIters: Math.min(warmupIters, Math.floor(adaptIters / 10)),
    evalIters,
    seed,
    evalInterval: evalEvery,
    logInterval: 10,
  };
  // The pre-trained model's vocabulary is the pre-training text's; the held-out text's new characters go after it.
  const preTok = Tokenizer.fromText(split.pretrain);
  const added = preTok.missing(split.fineTune + split.evaluation).sort((a, b) => a.codePointAt(0)! - b.codePointAt(0)!);
  const vocab = new Tokenizer([...preTok.chars, ...added]);
  const ftCfg = initFromConfig({ ...cfg, vocabSize: preTok.vocabSize }, adapt, vocab.vocabSize); // what --init-from makes of it
  // From scratch: the fine-tune's settings but the pre-training lr (right for a fresh model of this size), a fresh init from the seed.
  // It needs no pre-trained weights, so it can run (and is cached) apart: --scratch-only.
  const scratchCfg: Config = { ...ftCfg, lr: cfg.lr, minLr: cfg.minLr };
  const scratchPath = join(
    CACHE_DIR,
    'transfer',
    `scratch-${(await sha256Hex(new TextEncoder().encode(JSON.stringify({ sha256, heldOut: TRANSFER.heldOutChars, fineTune: TRANSFER.fineTuneChars, scratchCfg, vocab: vocab.chars })))).slice(0, 12)}.json`,
  );
  let scratch: RunCurve;
  if (existsSync(scratchPath)) {
    scratch = JSON.parse(await readFile(scratchPath, 'utf8')) as RunCurve;
    console.log(`from-scratch curve: ${scratchPath} (cached)`);
  } else {
    const trainer = newTrainer(scratchCfg, new Dataset(split.fineTune, vocab, split.evaluation));
    scratch = await runCurve(trainer, 'scratch');
    await writeAtomic(scratchPath, JSON.stringify(scratch));
  }
  if (values['scratch-only']) return;

  const bytes = await readFile(ckptPath);
  const pre = (await decodeCheckpoint(bytes, ckptPath)).meta;
  const preExtra = pre.extra ?? {};
  const ft = initFrom(await decodeCheckpoint(bytes, ckptPath), split.fineTune, adapt, { valText: split.evaluation });
  console.log(ft.addedLine ?? 'the held-out text has no characters the pre-trained model lacks');
  if (ft.trainer.data.tokenizer.chars.join('') !== vocab.chars.join('') || ft.trainer.cfg.lr !== ftCfg.lr)
    throw new Error("the fine-tune does not match the from-scratch run's vocabulary and settings");
  const runs: TransferResults['runs'] = { fineTuned: await runCurve(ft.trainer, 'fineTuned'), scratch };
  const gap = transferGap(runs.fineTuned.curve, runs.scratch.curve);
  const results: TransferResults = {
    experiment: 'transfer',
    command: ['npm run transfer', ...argv].join(' ').replace(/^npm run transfer (?=-)/, 'npm run transfer -- '),
    corpus: { name: 'Tiny Shakespeare', sha256, chars: Array.from(text).length },
    split: { pretrainChars: split.pretrain.length, fineTuneChars: split.fineTune.length, evaluationChars: split.evaluation.length, newCharacters: ft.added },
    pretrain: {
      config: pre.config,
      steps: pre.step,
      valLoss: Number(preExtra.val_loss),
      wallSec: Number(preExtra.wall_sec),
      tokensPerSec: Number(preExtra.tokens_per_sec),
    },
    adapt: { maxIters: adaptIters, batchSize, seed, evalIters, evalTokens: evalIters * batchSize * pre.config.blockSize },
    runs,
    gap,
    backend: tf.getBackend(),
    date: new Date().toISOString(),
  };
  await writeAtomic(values.out as string, JSON.stringify(results, null, 1) + '\n');
  console.log('\nstep  fine-tuned  scratch  gap (nats)');
  for (const g of gap) {
    const f = runs.fineTuned.curve.find((p) => p.step === g.step)!.valLoss;
    console.log(`${String(g.step).padStart(4)}  ${f.toFixed(4).padStart(10)}  ${(f + g.nats).toFixed(4).padStart(7)}  ${g.nats.toFixed(4).padStart(10)}`);
  }
  console.log(`results: ${values.out}`);
  if (values.plot !== 'none') {
    const { drawTransferPlot } = await import('./transfer-plot');
    await drawTransferPlot(results, values.plot as string);
    console.log(`plot: ${values.plot}`);
  }
}

type RunCurve = TransferResults['runs']['scratch'];

/** Evaluate at step 0, then at every evaluation of the run to its end; frees the trainer. */
async function runCurve(trainer: Trainer, name: string): Promise<RunCurve> {
  const t0 = performance.now();
  try {
    const curve: CurvePoint[] = [{ step: 0, valLoss: await trainer.evaluate('val'), trainLoss: NaN }];
    console.log(`${name}: lr ${trainer.cfg.lr}, step 0: held-out loss ${curve[0].valLoss.toFixed(4)}`);
    for await (const ev of trainLoop(trainer)) {
      if (ev.event !== 'eval') continue;
      curve.push({ step: ev.step, valLoss: ev.valLoss, trainLoss: ev.trainLoss });
      console.log(
        `${name}: step ${ev.step}: held-out loss ${ev.valLoss.toFixed(4)}, train ${ev.trainLoss.toFixed(4)} (${formatDuration((performance.now() - t0) / 1000)})`,
      );
    }
    return { lr: trainer.cfg.lr, curve, wallSec: (performance.now() - t0) / 1000 };
  } finally {
    trainer.model.dispose();
    trainer.dispose();
  }
}

/** Pre-train on `text` unless the checkpoint is already there. */
async function pretrain(cfg: Config, text: string, ckptPath: string, backend: string): Promise<void> {
  if (existsSync(ckptPath)) return void console.log(`pre-trained model: ${ckptPath} (cached; delete it to pre-train again)`);
  console.log(`pre-training baby for ${cfg.maxIters} steps (batch ${cfg.batchSize}, lr ${cfg.lr} -> ${cfg.minLr}, seed ${cfg.seed}) -> ${ckptPath}`);
  const trainer = newTrainer(cfg, new Dataset(text));
  const t0 = performance.now();
  try {
    for await (const ev of trainLoop(trainer)) {
      if (ev.event === 'step' && ev.step % 100 === 0)
        console.log(
          `  pre-train step ${ev.step}/${cfg.maxIters}: loss ${ev.trainLoss.toFixed(4)}, ${Math.round(ev.tokensPerSec)} tok/s, ${ev.msPerStep.toFixed(0)} ms/step`,
        );
      if (ev.event === 'eval')
        console.log(`  pre-train eval step ${ev.step}: val loss ${ev.valLoss.toFixed(4)} (${formatDuration((performance.now() - t0) / 1000)})`);
      if (ev.event === 'done') {
        const wallSec = (performance.now() - t0) / 1000;
        const extra = {
          corpus: `shakespeare minus its last ${TRANSFER.heldOutChars} characters`,
          val_loss: String(ev.summary.valLoss),
          wall_sec: String(wallSec),
          tokens_per_sec: String(ev.summary.tokensPerSec),
          backend,
        };
        await writeAtomic(ckptPath, await saveTrainer(trainer, trainer.data.tokenizer, extra));
        console.log(`pre-trained: val loss ${ev.summary.valLoss.toFixed(4)} in ${formatDuration(wallSec)}`);
      }
    }
  } finally {
    trainer.model.dispose();
    trainer.dispose();
  }
}
