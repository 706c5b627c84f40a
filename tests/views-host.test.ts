// The worker's side of the views (src/worker/views.ts) in Node on the cpu
// backend: requests wait for the loop while a run trains and only the newest of
// each kind is answered; with the views open an evaluation's validation loss is
// the mean of the loss-by-position curve and equals Trainer.evaluate's.

import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { makeConfig } from '../src/core/config.ts';
import { Dataset } from '../src/core/data.ts';
import { newTrainer, type Trainer } from '../src/core/train.ts';
import type { FromWorker } from '../src/worker/protocol.ts';
import { ViewsHost } from '../src/worker/views.ts';

const TEXT = 'the cat sat on the mat. the dog sat on the log.\n'.repeat(40);
let trainer: Trainer;

beforeAll(async () => {
  await tf.setBackend('cpu');
  trainer = newTrainer(makeConfig({ preset: 'nano', nLayer: 1, nEmbd: 16, blockSize: 8, batchSize: 4, evalIters: 3, maxIters: 20 }), new Dataset(TEXT));
  for (let i = 0; i < 10; i++) await trainer.trainStep();
});

/** A fresh host per test (the trained model is shared, read only): what it posts, and a promise for its next post. */
function makeHost() {
  const posted: FromWorker[] = [];
  const waiting: (() => void)[] = [];
  /** Whether the host is told that a run is mid-loop. */
  const flags = { training: false };
  const host = new ViewsHost({
    post: (m) => {
      posted.push(m);
      for (const w of waiting.splice(0)) w();
    },
    current: () => ({ model: trainer.model, tokenizer: trainer.data.tokenizer, step: trainer.step }),
    training: () => flags.training,
  });
  return {
    host,
    posted,
    flags,
    /** Resolves once `n` messages have been posted in all. */
    posts: async (n: number) => {
      while (posted.length < n) await new Promise<void>((r) => waiting.push(r));
    },
    views: () => posted.filter((m): m is Extract<FromWorker, { type: 'view' }> => m.type === 'view'),
  };
}

describe('ViewsHost', () => {
  it('closed: the evaluation is Trainer.evaluate and nothing is posted; open: the mean of loss by position, posted', async () => {
    const { host, posted, views } = makeHost();
    const plain = await trainer.evaluate('val');
    expect(await host.evaluate(trainer)).toBe(plain);
    expect(posted).toEqual([]);
    host.handle({ type: 'views', open: true });
    const mean = await host.evaluate(trainer);
    expect(mean).toBeCloseTo(plain, 5);
    const lbp = views().find((v) => v.view.kind === 'lossByPosition')!.view as Extract<FromWorker, { type: 'view' }>['view'] & { kind: 'lossByPosition' };
    expect(lbp.data.byPosition).toHaveLength(8);
    expect(lbp.data.mean).toBe(mean);
    expect(lbp.data.step).toBe(10);
  });

  it('while training, requests wait for between() and only the newest of each kind is answered', async () => {
    const h = makeHost();
    const { host, posted, views } = h;
    h.flags.training = true;
    for (const text of ['t', 'th', 'the']) host.handle({ type: 'inspect', id: text.length, request: { kind: 'nextChars', text, k: 3 } });
    host.handle({ type: 'inspect', id: 9, request: { kind: 'attention', text: 'the cat' } });
    // Nothing inside a step. What proves that time passed: a request made when no step runs is
    // answered in order after any answer already under way, so once it is posted, an answer to
    // the queued requests that did not wait for between() would have been posted before it.
    h.flags.training = false;
    host.handle({ type: 'inspect', id: 99, request: { kind: 'nextChars', text: 'the', k: 3 } });
    await h.posts(1);
    expect(posted.map((m) => (m as { id: number }).id)).toEqual([99]);
    posted.length = 0;
    await host.between();
    expect(views().map((v) => [v.id, v.view.kind])).toEqual([
      [3, 'nextChars'],
      [9, 'attention'],
    ]);
    const nc = views()[0].view as { kind: 'nextChars'; data: { context: string; top: unknown[] } };
    expect(nc.data.context).toBe('the');
    expect(nc.data.top).toHaveLength(3);
  });

  it('refuses a speed estimate while training and reports unknown characters in one line', async () => {
    const h = makeHost();
    h.flags.training = true;
    h.host.handle({ type: 'inspect', id: 20, request: { kind: 'estimate', config: trainer.cfg, text: TEXT } });
    h.host.handle({ type: 'inspect', id: 21, request: { kind: 'score', text: 'THE CAT', target: 'paste' } });
    await h.host.between();
    expect(h.posted).toEqual([
      { type: 'viewError', id: 20, kind: 'estimate', message: 'a run is training: the estimate is for before Start' },
      {
        type: 'viewError',
        id: 21,
        kind: 'score',
        message: "the text has characters the model does not know: 'T' (U+0054), 'H' (U+0048), 'E' (U+0045), 'C' (U+0043), 'A' (U+0041)",
      },
    ]);
  });

  it('after an evaluation: the embedding map and the last asked views again; no tensors left behind', async () => {
    const h = makeHost();
    h.host.handle({ type: 'views', open: true });
    h.host.handle({ type: 'inspect', id: 1, request: { kind: 'nextChars', text: 'the', k: 3 } });
    h.host.handle({ type: 'inspect', id: 2, request: { kind: 'attention', text: 'the cat' } });
    await h.posts(2); // answered at once (no step runs)
    h.posted.length = 0;
    const before = tf.memory().numTensors;
    await h.host.afterEval(trainer);
    expect(h.views().map((v) => [v.id, v.view.kind])).toEqual([
      [null, 'embedding'],
      [null, 'nextChars'],
      [null, 'attention'],
    ]);
    expect(tf.memory().numTensors).toBe(before);
  });
});
