// `tabgpt sweep`: train a ladder of model sizes and record each run's loss in a
// results file, written atomically after every finished run. Rerunning with the
// same --out resumes: finished runs are read back and skipped.

import { readFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { Dataset, sha256Hex } from '../core/data';
import { calibrate, runSweep } from '../core/scaling/sweep-run';
import { allRuns, emptyResults, parseResults, resultsToJSON, withRun, type CorpusInfo, type SweepResults } from '../core/scaling/sweep-results';
import { DEFAULT_LR_SCAN, DEFAULT_SPEC, specDiff, specFromJSON, SweepError, type LrScan, type SweepSpec } from '../core/scaling/sweep';
import { estimateRunSeconds, estimateSeconds, shrinkToBudget } from '../core/scaling/sweep-estimate';
import { epochWarning, planRuns, planWarnings, shardRuns, type PlannedRun, type RunResult } from '../core/scaling/sweep-plan';
import { isPosInt, num, parse } from './args';
import { CliError, formatDuration, loadCorpus, setupBackend, writeAtomic } from './common';
import { EXIT_CODE, guardInterrupts, shellLine } from './interrupt';
import { JOB_WORKER_FLAG, jobWorker, runJobs } from './sweep-jobs';
import { mergeCommand } from './sweep-merge';
import { lrRuleCommand } from './lr-rule';
import { ladder, ladderNote } from '../core/scaling/ladder';

const HELP = `usage: tabgpt sweep [flags]      (tabgpt sweep merge A.json B.json ... --out all.json: join shards;
                                  tabgpt sweep lr-rule SCANS.json ...: fit the default lr rule to lr scans)
  --spec FILE                  the sweep as JSON (any flag below overrides its field)
  --text FILE | --corpus shakespeare|builtin|builtin-small   training text (default shakespeare; builtin-small: the ground truth the ladder can reach)
  --sizes K (${DEFAULT_SPEC.sizes})   --min-params N (${DEFAULT_SPEC.minParams})   --max-params N (${DEFAULT_SPEC.maxParams})   non-embedding params
  --tokens N (${DEFAULT_SPEC.tokens}, per run) | --tokens-per-param R
  --budgets 0.25,0.5,1         several token budgets per size (multipliers), for L(N, D)
  --isoflops 1e10,3e10,1e11    also IsoFLOP runs: at each C = 6ND every size with D/N in --isoflop-tokens-per-param LO,HI (5,1500)
                               trains D = C/(6N) (Chinchilla's approaches 1 and 2 need optima inside the ladder at 2+ levels)
  --seed S (1)   --repeat-seeds K   K extra seeds at ladder sizes --repeat-sizes 0,2 (seed noise)
  --head-size ${DEFAULT_SPEC.headSize}  --width-per-layer ${DEFAULT_SPEC.widthPerLayer}  --block-size ${DEFAULT_SPEC.blockSize}  --batch-size ${DEFAULT_SPEC.batchSize}
  --min-steps S (${DEFAULT_SPEC.minSteps})   a shorter run halves its batch until it takes S steps (lr x sqrt of the batch ratio)
  --lr X (fixed peak lr)   --lr-scale F (F x Kaplan's lr(N) = 0.003239 - 0.0001395 ln N)   default: Kaplan's lr(N) x a multiplier
                               that follows N and the tokens per run, calibrated by lr scans (docs/scaling-results.md); see --lr-scan
  --warmup-fraction F (${DEFAULT_SPEC.warmupFraction})   --eval-iters K (${DEFAULT_SPEC.evalIters})
  --lr-scan                    also train short runs at the rule's lr x ${DEFAULT_LR_SCAN.multipliers.join(', ')} (stored apart, in lrScan)
  --lr-scan-sizes ends|all|smallest|largest (ends: smallest and largest size)   --lr-scan-tokens F (${DEFAULT_LR_SCAN.tokenFraction} of a main run's tokens)
  --jobs N (default: the number of cores, ${availableParallelism()} here)   runs side by side in N processes; one writer, the parent
  --shard i/n                  run only share i (0-based) of n of the plan, e.g. one task of a Slurm or Kubernetes array job
  --only lr-scan|main          run only the lr scan (check the rule before spending the ladder) or only the main runs
  --estimate                   calibrate, print the plan and its time estimate, and exit
  --time-budget SEC            calibrate, then shrink the ladder (then the tokens) to fit
  --backend wasm|cpu (default wasm)
  --out FILE (default results.json): resumes when it exists; each finished run is saved at once
  --json                       one JSON line per finished run, then {"event":"done",...}`;

/** Flags that define the sweep (as opposed to how to run it). */
const SPEC_FLAGS = [
  'spec',
  'text',
  'corpus',
  'sizes',
  'min-params',
  'max-params',
  'tokens',
  'tokens-per-param',
  'budgets',
  'seed',
  'repeat-seeds',
  'repeat-sizes',
  'head-size',
  'width-per-layer',
  'block-size',
  'batch-size',
  'min-steps',
  'lr',
  'lr-scale',
  'warmup-fraction',
  'eval-iters',
  'time-budget',
  'lr-scan-sizes',
  'lr-scan-tokens',
  'isoflops',
  'isoflop-tokens-per-param',
];

export async function sweepCommand(argv: string[]): Promise<void> {
  if (argv[0] === 'merge') return mergeCommand(argv.slice(1));
  if (argv[0] === 'lr-rule') return lrRuleCommand(argv.slice(1));
  if (argv[0] === JOB_WORKER_FLAG) return jobWorker();
  const options = Object.fromEntries(SPEC_FLAGS.map((f) => [f, { type: 'string' as const }]));
  const { values } = parse(
    argv,
    {
      ...options,
      'lr-scan': { type: 'boolean' },
      jobs: { type: 'string' },
      shard: { type: 'string' },
      only: { type: 'string' },
      estimate: { type: 'boolean', default: false },
      backend: { type: 'string', default: 'wasm' },
      out: { type: 'string', default: 'results.json' },
      json: { type: 'boolean', default: false },
    },
    'sweep',
  );
  if (values.help) return void console.log(HELP);
  const json = values.json as boolean;
  const say = (line: string) => {
    if (!json) console.log(line);
  };
  const emit = (obj: object) => {
    if (json) console.log(JSON.stringify(obj));
  };
  const out = values.out as string;

  // A results file that exists is resumed. Without sweep flags its own spec is used;
  // with flags they must describe the same sweep.
  let previous: SweepResults | null = null;
  if (existsSync(out)) {
    try {
      previous = parseResults(await readFile(out, 'utf8'), out);
    } catch (e) {
      throw new CliError(`--out ${out} exists but cannot be resumed: ${(e as Error).message.replace(`${out}: `, '')}; move it away or choose another --out`);
    }
  }
  const jobs = num(values, 'jobs', isPosInt, 'a positive integer (processes side by side)') ?? availableParallelism();
  const shard = parseShard(values.shard as string | undefined);
  const specGiven = SPEC_FLAGS.some((f) => values[f] !== undefined);
  let spec = previous && !specGiven ? previous.spec : await specFromFlags(values);
  // --lr-scan adds the scan to a sweep (also to one already in the file); without it a resumed file keeps its own.
  if (values['lr-scan'] === true && !spec.lrScan) spec = { ...spec, lrScan: { ...DEFAULT_LR_SCAN } };
  if (previous?.spec.lrScan && !spec.lrScan) spec = { ...spec, lrScan: previous.spec.lrScan };

  const corpusName = spec.corpus.startsWith('text:') ? undefined : spec.corpus;
  const textPath = spec.corpus.startsWith('text:') ? spec.corpus.slice(5) : undefined;
  const corpus = await loadCorpus({ text: textPath, corpus: corpusName });
  const data = new Dataset(corpus.text);
  const sha256 = await sha256Hex(new TextEncoder().encode(corpus.text));
  const corpusInfo: CorpusInfo = {
    source: corpus.source,
    chars: data.chars,
    trainChars: data.train.length,
    valChars: data.val.length,
    vocabSize: data.tokenizer.vocabSize,
    sha256,
    ...(corpus.entropyPerChar !== undefined ? { entropyPerChar: corpus.entropyPerChar } : {}),
  };
  const backend = await setupBackend(values.backend as string);
  const shape = { vocabSize: data.tokenizer.vocabSize, trainChars: data.train.length };

  if (values['time-budget'] !== undefined || values.estimate) {
    say(`calibrating ${spec.sizes} sizes on ${backend} ...`);
    const cal = await calibrate(spec, data);
    if (values['time-budget'] !== undefined) {
      const budget = num(values, 'time-budget', (n) => n > 0, 'a positive number of seconds') as number;
      const shrunk = shrinkToBudget(spec, shape, cal, budget);
      spec = shrunk.spec;
      say(shrunk.changes.length ? `to fit ${formatDuration(budget)}: ${shrunk.changes.join(', ')}` : `the sweep fits ${formatDuration(budget)} as it is`);
    }
    const runs = planRuns(spec, shape);
    for (const r of runs)
      say(
        `  ${r.id.padEnd(24)} N ${String(r.nonEmbeddingParams).padStart(9)} non-emb (${r.params} total)  D ${r.tokens}  ${r.epochs.toFixed(2)} epochs  ${r.config.maxIters} steps x ${r.config.batchSize}  lr ${r.config.lr.toFixed(5)}  ~${formatDuration(estimateRunSeconds(r, cal))}`,
      );
    say(`estimated total ${formatDuration(estimateSeconds(runs, cal))} on ${backend} (${runs.length} runs)`);
    emit({ event: 'estimate', seconds: estimateSeconds(runs, cal), calibration: cal, spec });
    if (values.estimate) return;
  }

  let results: SweepResults;
  if (previous) {
    // The lr scan may be added to a finished ladder: it changes no main run.
    // IsoFLOP levels may be appended (same window): the runs already there keep their levels.
    const was = previous.spec.isoFlops,
      now = spec.isoFlops;
    const extended =
      !!was &&
      !!now &&
      was.minTokensPerParam === now.minTokensPerParam &&
      was.maxTokensPerParam === now.maxTokensPerParam &&
      now.flops.length > was.flops.length &&
      was.flops.every((C, i) => now.flops[i] === C);
    const diff = specDiff(previous.spec, spec).filter((k) => (k !== 'lrScan' || previous?.spec.lrScan) && (k !== 'isoFlops' || !extended));
    if (diff.length > 0)
      throw new CliError(`--out ${out} holds a different sweep (${diff.join(', ')} differ): rerun with the same flags, no sweep flags, or another --out`);
    if (previous.corpus.sha256 !== sha256)
      throw new CliError(`--out ${out} was measured on a different text (sha256 differs): use the same text or another --out`);
    results = { ...previous, spec };
  } else {
    results = emptyResults(spec, corpusInfo);
  }

  say(
    `corpus ${corpus.source}: ${data.chars.toLocaleString('en-US')} chars, vocab ${data.tokenizer.vocabSize}, ${data.train.length.toLocaleString('en-US')} train / ${data.val.length.toLocaleString('en-US')} val; backend ${backend}; results ${out}`,
  );
  if (spec.testOnlySmallLadder) console.error('tabgpt: warning: testOnlySmallLadder is set: this ladder is a test fixture, not a scaling measurement');
  const only = values.only as string | undefined;
  if (only !== undefined && only !== 'lr-scan' && only !== 'main') throw new CliError(`--only must be lr-scan or main (got '${only}')`);
  const select = (runs: PlannedRun[]) => {
    const part = only === undefined ? runs : runs.filter((r) => (r.lrMultiplier !== undefined) === (only === 'lr-scan'));
    return shard ? shardRuns(part, shard.index, shard.count) : part;
  };
  let saving = Promise.resolve();
  const save = async (result: RunResult) => {
    results = withRun(results, result);
    const snapshot = resultsToJSON(results);
    saving = saving.then(() => writeAtomic(out, snapshot));
    await saving;
  };
  const reportRun = (r: RunResult, warning: string | null) => {
    if (warning) console.error(`tabgpt: warning: ${warning}`);
    if (r.diverged) say(`    done: ${r.id} diverged (${r.diverged.split(':')[0]}); saved ${out}`);
    else
      say(
        `    done: ${r.id} val ${r.valLoss.toFixed(4)} nats (${r.valBpc.toFixed(3)} bpc), train ${r.trainLoss.toFixed(4)}, ${formatDuration(r.wallSec)}; saved ${out}`,
      );
    const { curve: _curve, config, ...rest } = r;
    void _curve;
    emit({ event: 'run', ...rest, nLayer: config.nLayer, nHead: config.nHead, nEmbd: config.nEmbd, lr: config.lr, out });
  };
  const runStart = (r: PlannedRun, label: string) =>
    say(
      `${label} ${r.id}: ${r.config.nLayer} layers x ${r.config.nEmbd} wide (${r.config.nHead} heads), N ${r.nonEmbeddingParams.toLocaleString('en-US')} non-embedding / ${r.params.toLocaleString('en-US')} total, D ${r.tokens.toLocaleString('en-US')} tokens (${r.epochs.toFixed(2)} epochs, ${r.config.maxIters} steps of ${r.config.batchSize}), lr ${r.config.lr.toFixed(5)}${r.lrMultiplier !== undefined ? ` (lr scan: rule x ${r.lrMultiplier})` : ''}`,
    );
  const planLine = (runs: PlannedRun[], skipped: string[], warnings: string[]) => {
    for (const w of warnings) console.error(`tabgpt: warning: ${w}`);
    say(
      `${runs.length} runs planned${shard ? ` (shard ${shard.index}/${shard.count})` : ''}${skipped.length ? `, ${skipped.length} already in ${out} (skipped)` : ''}`,
    );
    emit({ event: 'plan', runs: runs.length, skipped });
  };
  const doneLine = (runsDone: number, runsTotal: number, wallSec: number) => {
    say(`done: ${runsDone}/${runsTotal} runs in ${out} (${formatDuration(wallSec)} this session); fit them with: npm run fit -- ${out}`);
    emit({ event: 'done', runsDone, runsTotal, wallSec, out });
  };

  // The results file holds the spec: --out (and how this process ran) is all a rerun needs.
  const how = (['backend', 'shard', 'only', 'jobs'] as const).flatMap((k) =>
    values[k] !== undefined && !(k === 'backend' && values[k] === 'wasm') ? [`--${k}`, String(values[k])] : [],
  );
  const resumeCommand = 'npm run sweep -- ' + shellLine(['--out', out, ...how]);
  const interruptedLine = (sig: 'SIGINT' | 'SIGTERM', runsDone: number, runsTotal: number) => {
    say(`interrupted (${sig}): ${runsDone}/${runsTotal} runs finished and kept in ${out}, the run in progress was dropped; resume with: ${resumeCommand}`);
    emit({ event: 'interrupted', signal: sig, runsDone, runsTotal, out, resume: resumeCommand });
    process.exitCode = EXIT_CODE[sig];
  };
  const stopping = (sig: string) => console.error(`tabgpt: ${sig}: stopping the sweep; finished runs are kept in ${out}; press Ctrl-C again to quit at once`);

  const planned = planRuns(spec, shape);
  const note = ladderNote(spec, ladder(spec));
  if (note) say(note);
  const mine = select(planned);
  const doneIds = new Set(allRuns(results).map((r) => r.id));
  const pending = mine.filter((r) => !doneIds.has(r.id));
  if (jobs > 1 && pending.length > 1) {
    // Side by side in child processes; this process stays the only writer of --out.
    const started = performance.now();
    planLine(
      mine,
      mine.filter((r) => doneIds.has(r.id)).map((r) => r.id),
      planWarnings(spec, mine),
    );
    say(`${Math.min(jobs, pending.length)} jobs side by side`);
    let finished = mine.length - pending.length;
    // Ctrl-C / kill: the jobs stop at once; only the runs in progress are lost (sweep-jobs.ts).
    const { failed, interrupted } = await runJobs(
      spec,
      backend,
      sha256,
      pending,
      jobs,
      async (ev) => {
        if (ev.event === 'run-start') runStart(ev.run, `[job ${ev.job}]`);
        else if (ev.event === 'progress') {
          if (ev.valLoss !== undefined)
            say(
              `    ${ev.run.id} step ${ev.step}/${ev.maxIters} | train ${ev.trainLoss.toFixed(4)} | val ${ev.valLoss.toFixed(4)} | ${Math.round(ev.tokensPerSec).toLocaleString('en-US')} tok/s`,
            );
        } else if (ev.event === 'retry') console.error(`tabgpt: warning: run ${ev.run.id} lost (${ev.why}); trying it once more`);
        else if (ev.event === 'failed') console.error(`tabgpt: warning: run ${ev.run.id} failed (${ev.why})`);
        else {
          finished++;
          await save(ev.result);
          reportRun(ev.result, epochWarning(ev.result));
        }
      },
      stopping,
    );
    if (interrupted) return interruptedLine(interrupted, finished, mine.length);
    doneLine(finished, mine.length, (performance.now() - started) / 1000);
    if (failed.length)
      throw new CliError(
        `${failed.length} run(s) failed (${failed.map((r) => r.id).join(', ')}); the others are saved in ${out}: rerun the same command to retry them`,
      );
    return;
  }
  // One process: Ctrl-C / kill stops after the step in progress; finished runs are already saved (cli/interrupt.ts).
  const interrupts = guardInterrupts(stopping);
  try {
    for await (const ev of runSweep(spec, data, { done: allRuns(results), select, signal: interrupts.signal })) {
      if (ev.event === 'plan') planLine(ev.runs, ev.skipped, ev.warnings);
      else if (ev.event === 'run-start') runStart(ev.run, `[${ev.index + 1}/${ev.total}]`);
      else if (ev.event === 'progress') {
        if (ev.valLoss !== undefined)
          say(
            `    step ${ev.step}/${ev.maxIters} | train ${ev.trainLoss.toFixed(4)} | val ${ev.valLoss.toFixed(4)} | ${Math.round(ev.tokensPerSec).toLocaleString('en-US')} tok/s`,
          );
      } else if (ev.event === 'run') {
        await save(ev.result);
        reportRun(ev.result, ev.warning);
      } else if (interrupts.received && ev.stopped) interruptedLine(interrupts.received, ev.runsDone, ev.runsTotal);
      else doneLine(ev.runsDone, ev.runsTotal, ev.wallSec);
    }
  } finally {
    interrupts.dispose();
  }
}

/** --shard i/n, 0-based. */
function parseShard(raw: string | undefined): { index: number; count: number } | null {
  if (raw === undefined) return null;
  const m = /^(\d+)\/(\d+)$/.exec(raw.trim());
  const index = m ? Number(m[1]) : NaN,
    count = m ? Number(m[2]) : NaN;
  if (!m || !(count >= 1) || !(index < count))
    throw new CliError(
      `--shard must be i/n with 0 <= i < n, e.g. 0/4 (got '${raw}'); with a Slurm array use --shard $SLURM_ARRAY_TASK_ID/$SLURM_ARRAY_TASK_COUNT`,
    );
  return { index, count };
}

/** The spec from --spec FILE (if any) with the flags laid over it. */
async function specFromFlags(values: Record<string, string | boolean | undefined>): Promise<SweepSpec> {
  let base: Record<string, unknown> = {};
  if (values.spec !== undefined) {
    const path = values.spec as string;
    if (!existsSync(path)) throw new CliError(`--spec ${path}: no such file`);
    try {
      base = JSON.parse(await readFile(path, 'utf8')) as Record<string, unknown>;
    } catch (e) {
      throw new CliError(`--spec ${path} is not valid JSON (${(e as Error).message})`);
    }
    if (typeof base !== 'object' || base === null || Array.isArray(base)) throw new CliError(`--spec ${path} must hold a JSON object`);
  }
  const o: Record<string, unknown> = { ...base };
  if (values.text !== undefined && values.corpus !== undefined) throw new CliError('give --text FILE or --corpus NAME, not both');
  if (values.text !== undefined) {
    if (!existsSync(values.text as string)) throw new CliError(`--text ${values.text}: no such file`);
    o.corpus = `text:${values.text}`;
  }
  if (values.corpus !== undefined) {
    if (!['shakespeare', 'builtin', 'builtin-small'].includes(values.corpus as string))
      throw new CliError(`--corpus must be shakespeare, builtin or builtin-small (got '${values.corpus}')`);
    o.corpus = values.corpus;
  }
  const positive = (n: number) => n > 0 && Number.isFinite(n);
  const setNum = (flag: string, key: string, check = positive, what = 'a positive number') => {
    const v = num(values, flag, check, what);
    if (v !== undefined) o[key] = v;
  };
  setNum('sizes', 'sizes', isPosInt, 'a positive integer');
  setNum('min-params', 'minParams');
  setNum('max-params', 'maxParams');
  setNum('head-size', 'headSize', isPosInt, 'a positive integer');
  setNum('width-per-layer', 'widthPerLayer');
  setNum('block-size', 'blockSize', isPosInt, 'a positive integer');
  setNum('batch-size', 'batchSize', isPosInt, 'a positive integer');
  setNum('min-steps', 'minSteps', (n) => Number.isInteger(n) && n >= 0, 'an integer >= 0');
  setNum('warmup-fraction', 'warmupFraction', (n) => n >= 0 && n < 0.5, 'a fraction in [0, 0.5)');
  setNum('eval-iters', 'evalIters', isPosInt, 'a positive integer');
  if (values.tokens !== undefined && values['tokens-per-param'] !== undefined) throw new CliError('give --tokens N or --tokens-per-param R, not both');
  if (values.tokens !== undefined) {
    o.tokens = num(values, 'tokens', positive, 'a positive number of tokens');
    o.tokensPerParam = null;
  }
  if (values['tokens-per-param'] !== undefined) {
    o.tokensPerParam = num(values, 'tokens-per-param', positive, 'a positive number');
    o.tokens = null;
  }
  const list = (flag: string, check: (n: number) => boolean, what: string): number[] | undefined => {
    const raw = values[flag];
    if (raw === undefined) return undefined;
    const xs = String(raw)
      .split(',')
      .map((s) => Number(s.trim()));
    if (xs.length === 0 || xs.some((x, i) => String(raw).split(',')[i].trim() === '' || !check(x)))
      throw new CliError(`--${flag} must be a comma-separated list of ${what} (got '${raw}')`);
    return xs;
  };
  const isoFlops = list('isoflops', positive, 'positive compute levels C = 6ND, e.g. 1e10,3e10,1e11');
  const isoRatio = list('isoflop-tokens-per-param', positive, 'two numbers, the lowest and highest D/N, e.g. 5,1500');
  if (isoRatio && (isoRatio.length !== 2 || !isoFlops))
    throw new CliError('--isoflop-tokens-per-param takes two numbers (lowest and highest D/N) and goes with --isoflops');
  if (isoFlops) o.isoFlops = { flops: isoFlops, minTokensPerParam: isoRatio?.[0] ?? 5, maxTokensPerParam: isoRatio?.[1] ?? 1500 };
  const budgets = list('budgets', positive, 'positive multipliers, e.g. 0.25,0.5,1');
  if (budgets) o.budgets = budgets;
  const seed = num(values, 'seed', Number.isInteger, 'an integer');
  if (seed !== undefined) o.seeds = [seed];
  const repeats = num(values, 'repeat-seeds', (n) => Number.isInteger(n) && n >= 0, 'a non-negative integer');
  const seeds = (o.seeds as number[] | undefined) ?? DEFAULT_SPEC.seeds;
  if (repeats !== undefined) o.repeatSeeds = Array.from({ length: repeats }, (_, i) => Math.max(...seeds) + 1 + i);
  const repeatSizes = list('repeat-sizes', (n) => Number.isInteger(n) && n >= 0, 'ladder indices');
  if (repeatSizes) o.repeatSizes = repeatSizes;
  if (values.lr !== undefined && values['lr-scale'] !== undefined) throw new CliError('give --lr (fixed) or --lr-scale (Kaplan rule scaled), not both');
  if (values.lr !== undefined) o.lr = { kind: 'fixed', lr: num(values, 'lr', positive, 'a positive number') };
  if (values['lr-scale'] !== undefined) o.lr = { kind: 'kaplan', scale: num(values, 'lr-scale', positive, 'a positive number') };
  if (values['lr-scan-sizes'] !== undefined || values['lr-scan-tokens'] !== undefined || values['lr-scan'] === true) {
    const sizes = (values['lr-scan-sizes'] ?? DEFAULT_LR_SCAN.sizes) as string;
    if (!['ends', 'all', 'smallest', 'largest'].includes(sizes)) throw new CliError(`--lr-scan-sizes must be ends, all, smallest or largest (got '${sizes}')`);
    const tokenFraction = num(values, 'lr-scan-tokens', (n) => n > 0 && n <= 1, 'a fraction in (0, 1]') ?? DEFAULT_LR_SCAN.tokenFraction;
    o.lrScan = { ...DEFAULT_LR_SCAN, sizes: sizes as LrScan['sizes'], tokenFraction };
  }
  try {
    return specFromJSON(o, values.spec !== undefined ? `--spec ${values.spec}` : 'the sweep flags');
  } catch (e) {
    if (e instanceof SweepError) throw new CliError(e.message.replace(/^sweep spec: /, ''));
    throw e;
  }
}
