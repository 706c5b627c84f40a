// Checkpoints leaving the training worker: the run's (at each evaluation,
// autosave, stop and the end, or on request for a download) and a loaded
// model's bytes for a download. Each goes to the page as a transferable
// buffer (never copied); the run keeps its last one to recover from.

import type { Config } from '../core/config';
import { saveTrainer } from '../core/checkpoint';
import { post, state, type Run } from './state';

export async function sendCheckpoint(r: Run, reason: 'eval' | 'autosave' | 'stop' | 'done' | 'export'): Promise<void> {
  const { trainer } = r;
  const extra: Record<string, string> = { corpus: r.corpus.kind === 'file' || r.corpus.kind === 'paste' ? `text:${r.corpus.name}` : r.corpus.kind };
  if (r.lastVal !== null) extra.val_loss = String(r.lastVal);
  const bytes = await saveTrainer(trainer, trainer.data.tokenizer, extra);
  if (reason !== 'export') {
    r.lastCheckpoint = bytes;
    r.autosave.saved();
  }
  const copy = bytes.slice();
  post(
    {
      type: 'checkpoint',
      runId: r.runId,
      reason,
      bytes: copy.buffer,
      step: trainer.step,
      maxIters: trainer.cfg.maxIters,
      valLoss: r.lastVal,
      trainLoss: r.lastTrain,
      config: trainer.cfg,
      corpus: r.corpus,
    },
    [copy.buffer],
  );
}

/** The 'export' message: the current model's checkpoint, for a download. */
export async function exportModel(): Promise<void> {
  const { run, loaded } = state;
  if (run?.active) {
    // The loop sends it between two steps.
    run.exportRequested = true;
    run.wake?.();
    return;
  }
  if (run) return sendCheckpoint(run, 'export');
  if (loaded) {
    const copy = loaded.bytes.slice();
    const cfg = { ...(loaded.model.config as Config) };
    return post(
      {
        type: 'checkpoint',
        runId: '',
        reason: 'export',
        bytes: copy.buffer,
        step: 0,
        maxIters: 0,
        valLoss: null,
        trainLoss: null,
        config: cfg,
        corpus: { kind: 'file', name: loaded.name, sha256: '' },
      },
      [copy.buffer],
    );
  }
  post({ type: 'error', scope: 'load', message: 'no model to download yet: train one first' });
}
