// The training worker's side of the page's views ("see inside the model"):
// answers 'inspect' requests with core/inspect's functions, and, while the
// views are open, adds loss by position, the embedding map and a refresh of
// the last asked next-character and attention views to each evaluation.
//
// Nothing here runs inside a training step: while a run is mid-loop the
// requests wait in a queue (the latest of each kind) that the loop drains
// between steps (between()); when no step is running they run at once.

import * as tf from '@tensorflow/tfjs';
import { attentionMaps, deviceReport, embeddingMap, estimateSpeed, lossByPosition, nextChars, scoreText } from '../core/inspect';
import type { GPT } from '../core/model';
import type { Tokenizer } from '../core/tokenizer';
import type { Trainer } from '../core/train';
import type { FromWorker, InspectRequest, ToWorker, ViewData } from './protocol';

type Inspect = Extract<ToWorker, { type: 'inspect' }>;

export interface ViewsHostDeps {
  post: (msg: FromWorker) => void;
  /** The model views are computed on (the run's or a loaded one), with its step. */
  current: () => { model: GPT; tokenizer: Tokenizer; step: number } | null;
  /** True while the training loop is mid-run and will call between() (requests then wait for it). */
  training: () => boolean;
}

const errorLine = (e: unknown) => (e instanceof Error ? e.message : String(e)).split('\n')[0];

export class ViewsHost {
  /** The page's views are open. */
  open = false;
  private queue: Inspect[] = [];
  /** The last texts asked for, refreshed at each evaluation. */
  private lastNext: Extract<InspectRequest, { kind: 'nextChars' }> | null = null;
  private lastAttention: Extract<InspectRequest, { kind: 'attention' }> | null = null;
  /** Requests run one at a time, in order. */
  private chain: Promise<void> = Promise.resolve();

  constructor(private readonly deps: ViewsHostDeps) {}

  handle(msg: Extract<ToWorker, { type: 'views' | 'inspect' }>): void {
    if (msg.type === 'views') {
      this.open = msg.open;
      return;
    }
    if (msg.request.kind === 'nextChars') this.lastNext = msg.request;
    if (msg.request.kind === 'attention') this.lastAttention = msg.request;
    if (this.deps.training()) {
      // Keystrokes come faster than steps: keep only the newest request of each kind (score: of each target).
      const key = (m: Inspect) => (m.request.kind === 'score' ? `score:${m.request.target}` : m.request.kind);
      this.queue = this.queue.filter((m) => key(m) !== key(msg));
      this.queue.push(msg);
    } else {
      this.chain = this.chain.then(() => this.answer(msg));
    }
  }

  /** Between two training steps: answer what the page asked meanwhile. */
  async between(): Promise<void> {
    if (this.queue.length === 0) return;
    const pending = this.queue;
    this.queue = [];
    for (const msg of pending) await this.answer(msg);
  }

  /**
   * The validation loss at an evaluation. With the views open it comes from
   * the per-position losses of the same evaluation batches (one pass), so the
   * loss-by-position curve's mean is exactly the reported loss.
   */
  async evaluate(trainer: Trainer): Promise<number> {
    if (!this.open) return trainer.evaluate('val');
    const { cfg, data, model } = trainer;
    const { byPosition, mean } = await lossByPosition(model, data.evalBatches('val', cfg.evalIters, cfg.batchSize, cfg.blockSize));
    this.deps.post({ type: 'view', id: null, view: { kind: 'lossByPosition', data: { step: trainer.step, byPosition, mean } } });
    return mean;
  }

  /** After an evaluation, with the views open: the embedding map and the last asked views, recomputed. */
  async afterEval(trainer: Trainer): Promise<void> {
    if (!this.open) return;
    const cur = { model: trainer.model, tokenizer: trainer.data.tokenizer, step: trainer.step };
    const jobs: InspectRequest[] = [{ kind: 'embedding' }];
    if (this.lastNext) jobs.push(this.lastNext);
    if (this.lastAttention) jobs.push(this.lastAttention);
    for (const request of jobs) {
      try {
        this.deps.post({ type: 'view', id: null, view: await this.compute(request, cur) });
      } catch {
        /* a text the model cannot read: the page already showed that error when it asked */
      }
    }
  }

  private async answer(msg: Inspect): Promise<void> {
    const { id, request } = msg;
    try {
      if (request.kind === 'estimate' && this.deps.training()) throw new Error('a run is training: the estimate is for before Start');
      const cur = request.kind === 'device' || request.kind === 'estimate' ? null : this.deps.current();
      if (!cur && request.kind !== 'device' && request.kind !== 'estimate') throw new Error('no model yet: train one, or load a saved model');
      this.deps.post({ type: 'view', id, view: await this.compute(request, cur!) });
    } catch (e) {
      this.deps.post({ type: 'viewError', id, kind: request.kind, message: errorLine(e) });
    }
  }

  private async compute(request: InspectRequest, cur: { model: GPT; tokenizer: Tokenizer; step: number }): Promise<ViewData> {
    switch (request.kind) {
      case 'nextChars':
        return { kind: 'nextChars', data: await nextChars(cur.model, cur.tokenizer, request.text, request.k) };
      case 'attention':
        return { kind: 'attention', data: await attentionMaps(cur.model, cur.tokenizer, request.text) };
      case 'score':
        return { kind: 'score', target: request.target, data: await scoreText(cur.model, cur.tokenizer, request.text) };
      case 'embedding':
        return { kind: 'embedding', data: await embeddingMap(cur.model, cur.tokenizer, cur.step) };
      case 'device':
        return { kind: 'device', data: await deviceReport() };
      case 'estimate': {
        const before = tf.memory().numTensors;
        const data = await estimateSpeed(request.config, request.text);
        if (tf.memory().numTensors !== before) throw new Error(`the speed estimate left ${tf.memory().numTensors - before} tensors behind`);
        return { kind: 'estimate', data, config: request.config };
      }
    }
  }
}
