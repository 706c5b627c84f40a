// `tabgpt sweep --jobs N`: the planned runs trained side by side in N child
// processes (one wasm backend per process, so one core each). The parent is the
// only writer of the results file: a child trains the run it is handed and sends
// the finished record back over IPC; the parent saves it atomically at once.
//
// Failure model: a child killed mid-run (kill -9, out of memory) loses only that
// run, which is handed to a fresh child once more before it counts as failed; a
// parent killed with -9 closes the IPC channel, and each child exits on the
// 'disconnect' it sees, so no orphan keeps training. Rerunning the same command
// resumes from the file either way.

import { fork, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { Dataset, sha256Hex } from '../core/data';
import { trainRun } from '../core/scaling/sweep-run';
import type { SweepSpec } from '../core/scaling/sweep';
import { planRuns, type PlannedRun, type RunResult } from '../core/scaling/sweep-plan';
import { CliError, loadCorpus, PROJECT_ROOT, setupBackend } from './common';

/** Parent -> child. */
type ToJob = { type: 'init'; spec: SweepSpec; backend: string; sha256: string } | { type: 'run'; id: string };

/** Child -> parent. */
type FromJob =
  | { type: 'ready' }
  | { type: 'progress'; id: string; step: number; maxIters: number; trainLoss: number; valLoss?: number; tokensPerSec: number }
  | { type: 'result'; result: RunResult }
  | { type: 'error'; message: string };

export const JOB_WORKER_FLAG = '--job-worker';

export type JobEvent =
  | { event: 'run-start'; run: PlannedRun; job: number }
  | { event: 'progress'; run: PlannedRun; step: number; maxIters: number; trainLoss: number; valLoss?: number; tokensPerSec: number }
  | { event: 'run'; result: RunResult }
  | { event: 'retry'; run: PlannedRun; why: string }
  | { event: 'failed'; run: PlannedRun; why: string };

/** Times a run is tried (a killed job's run is handed to a fresh job once more). */
const ATTEMPTS = 2;

/**
 * Train `pending` in up to `jobs` child processes, lr-scan runs first, then longest
 * first (so the last runs to finish are short ones). `onEvent` is awaited for each event in order: the caller saves
 * a finished run there before the next event is handled. Resolves with the runs that
 * failed on every attempt.
 */
export async function runJobs(
  spec: SweepSpec,
  backend: string,
  sha256: string,
  pending: PlannedRun[],
  jobs: number,
  onEvent: (ev: JobEvent) => Promise<void> | void,
  onInterrupt: (sig: 'SIGINT' | 'SIGTERM') => void = () => {},
): Promise<{ failed: PlannedRun[]; interrupted: 'SIGINT' | 'SIGTERM' | null }> {
  // The lr scan first (it says whether the ladder's lrs are worth spending on), then longest first.
  const scanFirst = (r: PlannedRun) => (r.lrMultiplier !== undefined ? 0 : 1);
  const queue = [...pending].sort((a, b) => scanFirst(a) - scanFirst(b) || b.flopsExact - a.flopsExact);
  const attempts = new Map<string, number>();
  const failed: PlannedRun[] = [];
  const children = new Set<ChildProcess>();
  let chain = Promise.resolve();
  const emit = (ev: JobEvent) => {
    chain = chain.then(() => onEvent(ev));
  };
  const stopAll = () => {
    for (const c of children) c.kill('SIGKILL');
  };
  // Ctrl-C / kill: hand out no more runs and stop the jobs at once; the runs in progress are
  // dropped (as the one-process sweep drops its run in progress), finished ones are already
  // saved. The handlers go at the first signal, so a second one ends the parent at once.
  let interrupted: 'SIGINT' | 'SIGTERM' | null = null;
  const onSignal = (sig: 'SIGINT' | 'SIGTERM') => {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    interrupted = sig;
    queue.length = 0;
    onInterrupt(sig);
    stopAll();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  let jobNo = 0;

  const startJob = (): Promise<void> =>
    new Promise((resolveJob) => {
      const job = ++jobNo;
      const child = fork(join(PROJECT_ROOT, 'bin', 'tabgpt.js'), ['sweep', JOB_WORKER_FLAG], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
      children.add(child);
      let current: PlannedRun | null = null;
      let initError: string | null = null;
      const next = () => {
        current = queue.shift() ?? null;
        if (!current) {
          child.disconnect();
          return;
        }
        attempts.set(current.id, (attempts.get(current.id) ?? 0) + 1);
        emit({ event: 'run-start', run: current, job });
        child.send({ type: 'run', id: current.id } satisfies ToJob);
      };
      child.on('message', (raw) => {
        const msg = raw as FromJob;
        if (msg.type === 'ready') next();
        else if (msg.type === 'progress' && current)
          emit({
            event: 'progress',
            run: current,
            step: msg.step,
            maxIters: msg.maxIters,
            trainLoss: msg.trainLoss,
            valLoss: msg.valLoss,
            tokensPerSec: msg.tokensPerSec,
          });
        else if (msg.type === 'result') {
          emit({ event: 'run', result: msg.result });
          current = null;
          next();
        } else if (msg.type === 'error') {
          initError = msg.message;
        }
      });
      child.on('exit', (code, signal) => {
        children.delete(child);
        const lost = current as PlannedRun | null;
        if (lost && !interrupted) {
          const why = initError ?? `its job exited (${signal ?? `code ${code}`}) during the run`;
          if ((attempts.get(lost.id) ?? 0) < ATTEMPTS && initError === null) {
            emit({ event: 'retry', run: lost, why });
            queue.unshift(lost);
          } else {
            emit({ event: 'failed', run: lost, why });
            failed.push(lost);
          }
        }
        // A job that could not start (bad backend, corpus) fails the whole sweep: the others would too.
        if (initError !== null && !lost) {
          queue.length = 0;
          fatal ??= initError;
        }
        resolveJob(queue.length > 0 ? startJob() : undefined);
      });
      child.send({ type: 'init', spec, backend, sha256 } satisfies ToJob);
    });

  let fatal: string | null = null;
  try {
    await Promise.all(Array.from({ length: Math.min(jobs, queue.length) }, () => startJob()));
    await chain;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    stopAll();
  }
  if (fatal !== null && !interrupted) throw new CliError(`a sweep job could not start: ${fatal}`);
  return { failed, interrupted };
}

/** The child side: load the text and backend once, then train each run the parent hands over. */
export async function jobWorker(): Promise<void> {
  if (!process.send) throw new CliError(`${JOB_WORKER_FLAG} is internal to 'tabgpt sweep --jobs N'`);
  const send = (m: FromJob) => process.send?.(m);
  // The parent is gone (even by kill -9): stop, do not train for nobody.
  process.on('disconnect', () => process.exit(0));
  // A terminal's Ctrl-C reaches the whole process group: the parent decides (runJobs' onSignal).
  process.on('SIGINT', () => {});
  let ctx: { spec: SweepSpec; data: Dataset; runs: PlannedRun[] } | null = null;
  let busy = Promise.resolve();
  await new Promise<void>((resolveWorker) => {
    process.on('disconnect', resolveWorker);
    process.on('message', (raw) => {
      const msg = raw as ToJob;
      busy = busy.then(async () => {
        try {
          if (msg.type === 'init') {
            const textPath = msg.spec.corpus.startsWith('text:') ? msg.spec.corpus.slice(5) : undefined;
            const corpus = await loadCorpus({ text: textPath, corpus: textPath ? undefined : msg.spec.corpus });
            if ((await sha256Hex(new TextEncoder().encode(corpus.text))) !== msg.sha256) throw new CliError('the job read a different text from the parent');
            const data = new Dataset(corpus.text);
            await setupBackend(msg.backend);
            ctx = { spec: msg.spec, data, runs: planRuns(msg.spec, { vocabSize: data.tokenizer.vocabSize, trainChars: data.train.length }) };
            send({ type: 'ready' });
          } else if (ctx) {
            const run = ctx.runs.find((r) => r.id === msg.id);
            if (!run) throw new CliError(`run ${msg.id} is not in the plan`);
            for await (const ev of trainRun(run, ctx.data)) {
              if ('result' in ev) send({ type: 'result', result: ev.result });
              else if (ev.valLoss !== undefined)
                send({
                  type: 'progress',
                  id: run.id,
                  step: ev.step,
                  maxIters: ev.maxIters,
                  trainLoss: ev.trainLoss,
                  valLoss: ev.valLoss,
                  tokensPerSec: ev.tokensPerSec,
                });
            }
          }
        } catch (e) {
          send({ type: 'error', message: (e as Error).message.split('\n')[0] });
          process.exit(1);
        }
      });
    });
  });
}
