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
import { initFrom } from '../core/finetune';
import { newTrainer, trainLoop, type Trainer } from '../core/train';
import { pretrainConfig, TRANSFER, transferGap, transferSplit, type CurvePoint, type TransferResults } from '../core/transfer';
import { formatDuration } from '../core/format';
import { isPosInt, num, parse } from './args';
import { CACHE_DIR, CliError, loadShakespeare, setupBackend, writeAtomic } from './common';

const HELP = `usage: tabgpt transfer [flags]   (npm run transfer)
  --pretrain-iters N (${TRANSFER.pretrain.maxIters})   --adapt-iters N (${TRANSFER.adapt.maxIters})   --eval-every N (${TRANSFER.adapt.evalEvery})
  --out FILE (data/transfer.json)   --plot FILE (docs/transfer.png; 'none' to skip)
  --pretrain-only   stop after the (cached) pre-training   --backend wasm|cpu (wasm)
  --plot-only   redraw --plot from the results in --out`;

export async function transferCommand(argv: string[]): Promise<void> {
  const { values } = parse(argv, {
    'pretrain-iters': { type: 'string' },
    'adapt-iters': { type: 'string' },
    'eval-every': { type: 'string' },
    out: { type: 'string', default: 'data/transfer.json' },
    plot: { type: 'string', default: 'docs/transfer.png' },
    'pretrain-only': { type: 'boolean', default: false },
    'plot-only': { type: 'boolean', default: false },
    backend: { type: 'string', default: 'wasm' },
  }, 'transfer');
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
  console.log(`Tiny Shakespeare: ${split.pretrain.length.toLocaleString('en-US')} chars to pre-train on; held-out tail ${TRANSFER.heldOutChars.toLocaleString('en-US')}: ${split.fineTune.length.toLocaleString('en-US')} to adapt on, ${split.evaluation.length.toLocaleString('en-US')} to evaluate on`);

  // ---- 1. pre-training (cached) ----
  const cfg = pretrainConfig(pretrainIters);
  const key = (await sha256Hex(new TextEncoder().encode(JSON.stringify({ sha256, heldOut: TRANSFER.heldOutChars, cfg })))).slice(0, 12);
  const ckptPath = join(CACHE_DIR, 'transfer', `pretrain-baby-${pretrainIters}-${key}.safetensors`);
  if (existsSync(ckptPath)) {
    console.log(`pre-trained model: ${ckptPath} (cached; delete it to pre-train again)`);
  } else {
    console.log(`pre-training baby for ${pretrainIters} steps (batch ${cfg.batchSize}, lr ${cfg.lr} -> ${cfg.minLr}, seed ${cfg.seed}) -> ${ckptPath}`);
    const trainer = newTrainer(cfg, new Dataset(split.pretrain));
    const t0 = performance.now();
    try {
      for await (const ev of trainLoop(trainer)) {
        if (ev.event === 'step' && ev.step % 100 === 0) console.log(`  pre-train step ${ev.step}/${cfg.maxIters}: loss ${ev.trainLoss.toFixed(4)}, ${Math.round(ev.tokensPerSec)} tok/s, ${ev.msPerStep.toFixed(0)} ms/step`);
        if (ev.event === 'eval') console.log(`  pre-train eval step ${ev.step}: val loss ${ev.valLoss.toFixed(4)} (${formatDuration((performance.now() - t0) / 1000)})`);
        if (ev.event === 'done') {
          const wallSec = (performance.now() - t0) / 1000;
          const extra = { corpus: `shakespeare minus its last ${TRANSFER.heldOutChars} characters`, val_loss: String(ev.summary.valLoss), wall_sec: String(wallSec), tokens_per_sec: String(ev.summary.tokensPerSec), backend };
          await writeAtomic(ckptPath, await saveTrainer(trainer, trainer.data.tokenizer, extra));
          console.log(`pre-trained: val loss ${ev.summary.valLoss.toFixed(4)} in ${formatDuration(wallSec)}`);
        }
      }
    } finally {
      trainer.model.dispose();
      trainer.dispose();
    }
  }
  if (values['pretrain-only']) return;
  const bytes = await readFile(ckptPath);
  const pre = (await decodeCheckpoint(bytes, ckptPath)).meta;
  const preExtra = pre.extra ?? {};

  // ---- 2. the two adaptation runs ----
  const { batchSize, warmupIters, evalIters, seed } = TRANSFER.adapt;
  const adapt = { maxIters: adaptIters, batchSize, warmupIters: Math.min(warmupIters, Math.floor(adaptIters / 10)), evalIters, seed, evalInterval: evalEvery, logInterval: 10 };
  const ckpt = await decodeCheckpoint(bytes, ckptPath);
  const ft = initFrom(ckpt, split.fineTune, adapt, { valText: split.evaluation });
  console.log(ft.addedLine ?? 'the held-out text has no characters the pre-trained model lacks');
  // From scratch: the same vocabulary (so both predict over the same characters), the same
  // batches (same seed, same data), the pre-training lr; a fresh init from the seed.
  const scratch = newTrainer({ ...ft.trainer.cfg, lr: pre.config.lr, minLr: pre.config.minLr }, new Dataset(split.fineTune, ft.trainer.data.tokenizer, split.evaluation));
  const runs = {} as TransferResults['runs'];
  for (const [name, trainer] of [['fineTuned', ft.trainer], ['scratch', scratch]] as const) {
    const t0 = performance.now();
    const curve = await measureCurve(trainer, name);
    runs[name] = { lr: trainer.cfg.lr, curve, wallSec: (performance.now() - t0) / 1000 };
    trainer.model.dispose();
    trainer.dispose();
  }
  const gap = transferGap(runs.fineTuned.curve, runs.scratch.curve);
  const results: TransferResults = {
    experiment: 'transfer',
    command: ['npm run transfer', ...argv].join(' ').replace(/^npm run transfer (?=-)/, 'npm run transfer -- '),
    corpus: { name: 'Tiny Shakespeare', sha256, chars: Array.from(text).length },
    split: { pretrainChars: split.pretrain.length, fineTuneChars: split.fineTune.length, evaluationChars: split.evaluation.length, newCharacters: ft.added },
    pretrain: { config: pre.config, steps: pre.step, valLoss: Number(preExtra.val_loss), wallSec: Number(preExtra.wall_sec), tokensPerSec: Number(preExtra.tokens_per_sec) },
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

/** Evaluate at step 0, then at every evaluation of the run to its end. */
async function measureCurve(trainer: Trainer, name: string): Promise<CurvePoint[]> {
  const curve: CurvePoint[] = [{ step: 0, valLoss: await trainer.evaluate('val'), trainLoss: NaN }];
  console.log(`${name}: lr ${trainer.cfg.lr}, step 0: held-out loss ${curve[0].valLoss.toFixed(4)}`);
  for await (const ev of trainLoop(trainer)) {
    if (ev.event !== 'eval') continue;
    curve.push({ step: ev.step, valLoss: ev.valLoss, trainLoss: ev.trainLoss });
    console.log(`${name}: step ${ev.step}: held-out loss ${ev.valLoss.toFixed(4)}, train ${ev.trainLoss.toFixed(4)}`);
  }
  return curve;
}
