// `tabgpt train`: train on a text, log progress, sample at each evaluation,
// checkpoint atomically. `--json` prints one JSON object per line instead.

import { readFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { makeConfig, PRESET_NAMES, NUMERIC_KEYS, toKebab, type PresetName } from '../core/config';
import { decodeCheckpoint, resumeTrainer, saveTrainer } from '../core/checkpoint';
import { Dataset } from '../core/data';
import { CORPUS_NAMES } from '../core/corpus';
import { generate } from '../core/sample';
import { newTrainer, type Trainer } from '../core/train';
import { trainLoop, type CheckpointReason } from '../core/train-loop';
import { configFlags, configOverrides, parse } from './args';
import { CliError, formatDuration, loadCorpus, setupBackend, writeAtomic } from './common';
import { guardInterrupts, shellLine } from './interrupt';
import { autoBackend } from './auto-backend';

const HELP = `usage: tabgpt train [flags]
  --text FILE | --corpus shakespeare|builtin   training text (default: shakespeare, built-in offline)
  --preset ${PRESET_NAMES.join('|')}   model shape (then any of the flags below override it)
  ${NUMERIC_KEYS.map((k) => '--' + toKebab(k)).join(' ')} --bias true|false --gelu tanh|erf --recompute
  --step recorded|eager   webgpu: replay the recorded step (default) or run tfjs' ops every step
  --backend auto|wasm|cpu|webgpu (default auto: WASM without a GPU; with one, the faster of WebGPU and WASM on this model, timed)
  --out FILE (default out/ckpt.safetensors)
  --adapter default|null   webgpu: the system's adapter, or Dawn's null backend (runs nothing: speed ceiling, memory)
  --grad-accum N   micro-batches of --batch-size per step (gradients averaged)   --recompute   recompute activations in backward
  --resume FILE   continue a run from its checkpoint   --json   machine-readable lines
  --init-from FILE   a new run from a checkpoint's weights: fresh AdamW and schedule, its model shape,
                     default --lr a tenth of its; new characters in the text are added to its vocabulary
  --freeze none|embeddings|all-but-head   with --init-from: parameters left untrained (default none)`;

export async function trainCommand(argv: string[]): Promise<void> {
  const { values } = parse(
    argv,
    {
      ...configFlags(),
      text: { type: 'string' },
      corpus: { type: 'string' },
      preset: { type: 'string' },
      backend: { type: 'string', default: 'auto' },
      adapter: { type: 'string' },
      out: { type: 'string', default: 'out/ckpt.safetensors' },
      resume: { type: 'string' },
      'init-from': { type: 'string' },
      freeze: { type: 'string' },
      json: { type: 'boolean', default: false },
    },
    'train',
  );
  if (values.help) return void console.log(HELP);
  const json = values.json as boolean;
  const say = (line: string) => {
    if (!json) console.log(line);
  };
  const emit = (obj: object) => {
    if (json) console.log(JSON.stringify(obj));
  };

  const preset = values.preset as string | undefined;
  if (preset !== undefined && !PRESET_NAMES.includes(preset as PresetName))
    throw new CliError(`--preset must be one of ${PRESET_NAMES.join(', ')} (got '${preset}')`);
  const overrides = configOverrides(values);
  const requested = values.backend as string;
  // auto: the trainer is built on wasm, then (on a machine with a GPU) WebGPU and WASM are timed on its model
  // (auto-backend.ts); if WebGPU wins, the same trainer is built again there (building is deterministic).
  if (requested === 'auto' && values.adapter !== undefined) throw new CliError('--adapter applies to --backend webgpu (got --backend auto)');
  let backend = await setupBackend(requested === 'auto' ? 'wasm' : requested, values.adapter as string | undefined);
  if (values.adapter === 'null')
    console.error(
      `tabgpt: notice: --adapter null: Dawn's null backend runs no kernels: tokens/s is the most any GPU could give on this CPU, and losses and checkpoints are not results`,
    );

  // `rebuild`: the same trainer again on the backend auto chose; what the first build said is not said twice
  const build = async (say: (line: string) => void, rebuild = false): Promise<{ trainer: Trainer; source: string; runExtra: Record<string, string> }> => {
    let trainer: Trainer;
    let source: string;
    let runExtra: Record<string, string> = {}; // --init-from's provenance (and --freeze), kept in every save
    if (values['init-from'] !== undefined) {
      const { trainerFromInit } = await import('./init-from');
      const v = values as Record<string, string | undefined>;
      ({
        trainer,
        source,
        extra: runExtra,
      } = await trainerFromInit({ path: v['init-from']!, freeze: v.freeze, text: v.text, corpus: v.corpus, preset, resume: v.resume, json }, overrides, say));
    } else if (values.freeze !== undefined) {
      throw new CliError('--freeze needs --init-from FILE (or --resume a run that was started with it)');
    } else if (values.resume !== undefined) {
      const path = values.resume as string;
      if (!existsSync(path)) throw new CliError(`--resume ${path}: no such file`);
      const ckpt = await decodeCheckpoint(await readFile(path), path);
      // Without --text / --corpus, resume on what the run trained on: a corpus name or a file path.
      const saved = ckpt.meta.extra?.corpus;
      let text = values.text as string | undefined;
      let corpusName = values.corpus as string | undefined;
      if (text === undefined && corpusName === undefined && saved !== undefined) {
        if ((CORPUS_NAMES as string[]).includes(saved)) corpusName = saved;
        else if (existsSync(saved)) text = saved;
        else throw new CliError(`--resume ${path}: it was trained on ${saved}, which is not there any more: give the text with --text FILE`);
      }
      const corpus = await loadCorpus({ text, corpus: corpusName });
      const shape = ['nLayer', 'nHead', 'nEmbd', 'blockSize', 'bias'] as const;
      for (const k of shape)
        if (k in overrides && overrides[k] !== ckpt.meta.config[k])
          throw new CliError(`--${toKebab(k)} differs from the checkpoint's ${k}=${ckpt.meta.config[k]}: a resumed run keeps its model shape`);
      trainer = resumeTrainer(ckpt, new Dataset(corpus.text), overrides);
      runExtra = await import('./init-from').then((m) => m.resumedInitExtra(ckpt.meta.extra ?? {}, trainer));
      source = corpus.source;
      say(`resuming ${path} at step ${trainer.step}`);
    } else {
      const corpus = await loadCorpus({ text: values.text as string | undefined, corpus: values.corpus as string | undefined });
      if (corpus.notice && !rebuild) console.error(`tabgpt: notice: ${corpus.notice}`);
      trainer = newTrainer(makeConfig({ ...overrides, preset: preset as PresetName | undefined }), new Dataset(corpus.text));
      source = corpus.source;
    }
    return { trainer, source, runExtra };
  };
  const said: string[] = [];
  let { trainer, source, runExtra } = await build((line) => said.push(line));
  let backendReason = '';
  if (requested === 'auto') {
    const auto = await autoBackend(trainer.cfg, trainer.data);
    backendReason = ` (auto: ${auto.reason})`;
    if (auto.name !== backend) {
      trainer.model.dispose();
      trainer.dispose();
      backend = await setupBackend(auto.name);
      ({ trainer, source, runExtra } = await build(() => {}, true));
    }
  }
  said.forEach(say);
  const { cfg } = trainer;
  const data = trainer.data;
  const out = values.out as string;
  const { paramCount } = await import('../core/model');
  const counts = paramCount(trainer.model.config);
  say(
    `corpus ${source}: ${data.chars.toLocaleString('en-US')} chars, vocab ${data.tokenizer.vocabSize}, split ${data.train.length.toLocaleString('en-US')} train / ${data.val.length.toLocaleString('en-US')} val`,
  );
  say(
    `model ${cfg.nLayer} layers, ${cfg.nHead} heads, ${cfg.nEmbd} wide, block ${cfg.blockSize}: ${counts.total.toLocaleString('en-US')} params (${counts.nonEmbedding.toLocaleString('en-US')} non-embedding); backend ${backend}${backendReason}`,
  );
  say(
    `training ${cfg.maxIters} iters, batch ${cfg.batchSize}${cfg.gradAccumSteps > 1 ? ` x ${cfg.gradAccumSteps} micro-batches` : ''}${cfg.recompute ? ' (recomputing activations)' : ''}, lr ${cfg.lr} -> ${cfg.minLr}, warmup ${cfg.warmupIters}, seed ${cfg.seed}`,
  );

  const stepsAtStart = trainer.step;
  const started = performance.now();
  let lastEvalVal = NaN;
  // Ctrl-C / kill: finish the step, save, say how to resume (cli/interrupt.ts).
  const resumeCommand =
    'npm run train -- ' +
    shellLine(['--resume', out, ...(out !== 'out/ckpt.safetensors' ? ['--out', out] : []), ...(backend !== 'wasm' ? ['--backend', backend] : [])]);
  const interrupts = guardInterrupts((sig) => {
    console.error(`tabgpt: ${sig}: stopping after the step in progress, then saving ${out}; press Ctrl-C again to quit at once (${out} stays as it was)`);
  });
  // Test hook (tests/cli-interrupt.test.ts): with TABGPT_HOLD_EVAL=1 an evaluation that starts after a stop
  // signal says so on stderr and waits for stdin to close, so a second Ctrl-C lands inside it for certain.
  if (process.env.TABGPT_HOLD_EVAL === '1') {
    const evaluate = trainer.evaluate.bind(trainer);
    trainer.evaluate = async (split) => {
      if (interrupts.received) {
        console.error('tabgpt: evaluating (held by TABGPT_HOLD_EVAL until stdin closes)');
        await new Promise((resolve) => process.stdin.once('end', resolve).resume());
      }
      return evaluate(split);
    };
  }
  let stepModeSaid = false;
  // Checkpoints at each evaluation and at a stop (core/train-loop.ts says when).
  const checkpoint = async (reason: CheckpointReason, valLoss: number) => {
    if (reason === 'stop') interrupts.dispose(); // a second Ctrl-C now quits at once, leaving the last checkpoint as it was
    await writeAtomic(out, await saveTrainer(trainer, data.tokenizer, { ...runExtra, corpus: source, val_loss: String(valLoss) }));
  };
  try {
    for await (const ev of trainLoop(trainer, { signal: interrupts.signal, checkpoint })) {
      if (ev.event === 'step') {
        if (backend === 'webgpu' && !stepModeSaid) {
          stepModeSaid = true;
          const m = trainer.stepMode;
          say(m.step === 'recorded' ? 'step: recorded (captured once, replayed from cached bind groups: no tfjs op per step)' : `step: eager (${m.reason})`);
        }
        const done = ev.step - stepsAtStart;
        const eta = ((cfg.maxIters - ev.step) * ev.msPerStep) / 1000;
        say(
          `step ${String(ev.step).padStart(String(cfg.maxIters).length)}/${cfg.maxIters} | loss ${ev.trainLoss.toFixed(4)} | val ${Number.isNaN(lastEvalVal) ? '   -  ' : lastEvalVal.toFixed(4)} | lr ${ev.lr.toExponential(2)} | ${Math.round(ev.tokensPerSec).toLocaleString('en-US')} tok/s | ${ev.msPerStep.toFixed(0)} ms/step | ETA ${formatDuration(done > 0 ? eta : NaN)}`,
        );
      } else if (ev.event === 'eval') {
        lastEvalVal = ev.valLoss;
        emit({
          event: 'eval',
          step: ev.step,
          trainLoss: ev.trainLoss,
          valLoss: ev.valLoss,
          valBpc: ev.valLoss / Math.LN2,
          lr: ev.lr,
          tokensPerSec: ev.tokensPerSec,
          elapsedSec: ev.elapsedSec,
          checkpoint: out,
        });
        if (!json && !interrupts.received) {
          const sample = await generate(trainer.model, data.tokenizer, { maxNewTokens: 120, temperature: 0.8, seed: ev.step });
          say(`  eval step ${ev.step}: val loss ${ev.valLoss.toFixed(4)} nats (${(ev.valLoss / Math.LN2).toFixed(3)} bpc), saved ${out}`);
          say('  sample: ' + sample.replace(/\n/g, '\n          '));
        }
      } else if (interrupts.received && ev.summary.steps < cfg.maxIters) {
        const s = ev.summary;
        emit({
          event: 'interrupted',
          signal: interrupts.received,
          step: s.steps,
          maxIters: cfg.maxIters,
          valLoss: s.valLoss,
          checkpoint: out,
          resume: resumeCommand,
        });
        say(`interrupted (${interrupts.received}) at step ${s.steps}/${cfg.maxIters}: val loss ${s.valLoss.toFixed(4)}; saved ${out}`);
        say(`resume with: ${resumeCommand}`);
        process.exitCode = interrupts.exitCode;
      } else {
        const s = ev.summary;
        emit({ event: 'done', ...s, valBpc: s.valLoss / Math.LN2, checkpoint: out, corpus: source });
        if (!json) {
          const sample = await generate(trainer.model, data.tokenizer, { maxNewTokens: 300, temperature: 0.8, seed: cfg.seed });
          say(
            `done: ${s.steps} steps in ${formatDuration((performance.now() - started) / 1000)}; train loss ${s.trainLoss.toFixed(4)}, val loss ${s.valLoss.toFixed(4)} (${(s.valLoss / Math.LN2).toFixed(3)} bpc); ${Math.round(s.tokensPerSec).toLocaleString('en-US')} tok/s on ${s.backend}; checkpoint ${out}`,
          );
          say('--- sample ---\n' + sample + '\n---');
          const prompt = source === 'shakespeare' ? ' --prompt "ROMEO:"' : '';
          say(`more text: npm run sample -- --ckpt ${out}${prompt}`);
        }
      }
    }
  } finally {
    if (interrupts.received) process.exitCode = interrupts.exitCode;
    interrupts.dispose();
    trainer.model.dispose();
    trainer.dispose();
  }
}
