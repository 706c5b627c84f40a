// Does opening the page's views slow training? The worker's loop, run in Node
// on the CLI's wasm backend with the same core: `evalInterval` training steps,
// then an evaluation. Views closed: trainer.evaluate. Views open: what
// worker/views.ts does instead (loss by position on the same batches, the
// embedding map, next characters and attention for a prompt). Closed and open
// alternate (A B A B ...) so machine noise hits both; prints ms per step
// including evaluations, and the training step alone.
//   npx tsx bench/views-overhead.ts [preset] [rounds]

import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { makeConfig, type PresetName } from '../src/core/config';
import { Dataset } from '../src/core/data';
import { attentionMaps, embeddingMap, lossByPosition, nextChars } from '../src/core/inspect';
import { newTrainer } from '../src/core/train';
import { readFileSync } from 'node:fs';

const preset = (process.argv[2] ?? 'micro') as PresetName;
const rounds = Number(process.argv[3] ?? 4);
await tf.setBackend('wasm');
await tf.ready();
const text = readFileSync('data/cache/tinyshakespeare.txt', 'utf8').slice(0, 400_000);
const cfg = makeConfig({ preset, maxIters: 100_000, evalInterval: 50, evalIters: 20, logInterval: 10, batchSize: 16 });
const trainer = newTrainer(cfg, new Dataset(text));
const prompt = 'ROMEO:\nBut soft, what light through yonder';

async function segment(open: boolean): Promise<{ stepMs: number; totalMs: number }> {
  const t0 = performance.now();
  for (let i = 0; i < cfg.evalInterval; i++) await trainer.trainStep();
  await trainer.model.p('transformer.ln_f.weight').data();
  const t1 = performance.now();
  if (open) {
    await lossByPosition(trainer.model, trainer.data.evalBatches('val', cfg.evalIters, cfg.batchSize, cfg.blockSize));
    await embeddingMap(trainer.model, trainer.data.tokenizer, trainer.step);
    await nextChars(trainer.model, trainer.data.tokenizer, prompt, 10);
    await attentionMaps(trainer.model, trainer.data.tokenizer, prompt);
  } else {
    await trainer.evaluate('val');
  }
  const t2 = performance.now();
  return { stepMs: (t1 - t0) / cfg.evalInterval, totalMs: (t2 - t0) / cfg.evalInterval };
}

await segment(true); // warm-up: compile, trace
await segment(false);
const res = { closed: [] as { stepMs: number; totalMs: number }[], open: [] as { stepMs: number; totalMs: number }[] };
for (let r = 0; r < rounds; r++) {
  res.closed.push(await segment(false));
  res.open.push(await segment(true));
}
const median = (a: number[]) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];
const m = (k: 'closed' | 'open', f: 'stepMs' | 'totalMs') => median(res[k].map((x) => x[f]));
console.log(`${preset}, batch ${cfg.batchSize}, evalInterval ${cfg.evalInterval}, evalIters ${cfg.evalIters}, ${rounds} rounds, wasm (Node)`);
console.log(
  `training step alone: closed ${m('closed', 'stepMs').toFixed(1)} ms, open ${m('open', 'stepMs').toFixed(1)} ms (ratio ${(m('open', 'stepMs') / m('closed', 'stepMs')).toFixed(3)})`,
);
console.log(
  `per step incl. evaluation: closed ${m('closed', 'totalMs').toFixed(1)} ms, open ${m('open', 'totalMs').toFixed(1)} ms (ratio ${(m('open', 'totalMs') / m('closed', 'totalMs')).toFixed(3)})`,
);
