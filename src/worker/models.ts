// Models for generation in the training worker: loading a saved or uploaded
// checkpoint (it replaces the run's model), and generating text from the
// current model, streamed character by character and stoppable mid-way.

import { decodeCheckpoint, disposeCheckpoint, modelFromCheckpoint } from '../core/checkpoint';
import { paramCount } from '../core/counts';
import type { GPT } from '../core/model';
import { generate } from '../core/sample';
import type { Tokenizer } from '../core/tokenizer';
import { CONTROL, type GenerateOptions } from './protocol';
import { disposeLoaded, disposeRun, errorLine, post, state, yieldToEvents } from './state';

function current(): { model: GPT; tokenizer: Tokenizer } | null {
  if (state.run) return { model: state.run.trainer.model, tokenizer: state.run.trainer.data.tokenizer };
  return state.loaded;
}

/** End a generation in progress (its model is about to be replaced). */
export async function stopGenerating(): Promise<void> {
  state.generateAbort = true;
  while (state.generating) await yieldToEvents();
}

export async function load(bytes: Uint8Array, name: string): Promise<void> {
  if (state.run?.active) return post({ type: 'error', scope: 'load', message: 'a run is going: stop it before loading another model' });
  let ckpt;
  try {
    ckpt = await decodeCheckpoint(bytes, name);
  } catch (e) {
    return post({ type: 'error', scope: 'load', message: errorLine(e) });
  }
  await stopGenerating();
  disposeRun();
  disposeLoaded();
  try {
    const { model, tokenizer } = modelFromCheckpoint(ckpt);
    state.loaded = { model, tokenizer, bytes, name };
    post({
      type: 'model',
      info: {
        config: ckpt.meta.config,
        vocabSize: tokenizer.vocabSize,
        step: ckpt.meta.step,
        params: paramCount(model.config).total,
        nonEmbeddingParams: paramCount(model.config).nonEmbedding,
        source: name,
      },
    });
  } catch (e) {
    post({ type: 'error', scope: 'load', message: `${name}: ${errorLine(e)}` });
  } finally {
    disposeCheckpoint(ckpt);
  }
}

export async function generateText(id: number, opts: GenerateOptions): Promise<void> {
  const cur = current();
  if (!cur) return post({ type: 'error', scope: 'generate', message: 'no model yet: train one, or load a saved or uploaded model' });
  if (state.generating) return post({ type: 'error', scope: 'generate', message: 'already generating: stop it first' });
  const missing = cur.tokenizer.missing(opts.prompt);
  if (missing.length > 0) {
    return post({
      type: 'error',
      scope: 'generate',
      message: `the prompt has characters the model does not know: ${missing
        .slice(0, 12)
        .map((c) => JSON.stringify(c))
        .join(', ')}`,
    });
  }
  state.generating = true;
  state.generateAbort = false;
  if (state.control) Atomics.store(state.control, CONTROL.stopGenerate, 0);
  // Checked before each character; shared memory reaches us even when the backend never yields.
  const signal = {
    get aborted() {
      return state.generateAbort || (state.control !== null && Atomics.load(state.control, CONTROL.stopGenerate) === 1);
    },
  };
  const t0 = performance.now();
  let n = 0;
  try {
    const text = await generate(cur.model, cur.tokenizer, {
      ...opts,
      signal,
      onToken: (ch) => {
        n++;
        post({ type: 'tokens', stream: 'generate', id, text: ch });
      },
    });
    const sec = (performance.now() - t0) / 1000;
    post({ type: 'generated', id, text, tokensPerSec: sec > 0 ? n / sec : 0, stopped: signal.aborted });
  } catch (e) {
    post({ type: 'error', scope: 'generate', message: errorLine(e) });
  } finally {
    state.generating = false;
  }
}
