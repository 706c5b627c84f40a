/// <reference lib="webworker" />
// Reads a text file for the training page off its main thread: a stream with
// the size limit checked before reading (core/text-reader.ts), progress about
// every 100 ms, then the numbers the corpus panel shows (characters,
// vocabulary, split, baselines, sha256), so the page never tokenises a large
// text itself. One worker per file; the page ends it after the answer.

import { baselineLosses, Dataset, DataError, sha256Hex } from '../core/data';
import { TokenizerError } from '../core/tokenizer';
import { readTextStream } from '../core/text-reader';
import type { FromTextWorker, ToTextWorker } from './protocol';

declare const self: DedicatedWorkerGlobalScope;

const post = (msg: FromTextWorker) => self.postMessage(msg);

self.onmessage = async (ev: MessageEvent<ToTextWorker>) => {
  const { file, maxBytes, raiseHint } = ev.data;
  try {
    let last = 0;
    post({ type: 'progress', bytes: 0, total: file.size });
    const text = await readTextStream(file.stream(), {
      name: file.name,
      size: file.size,
      maxBytes,
      raiseHint,
      onProgress: (bytes) => {
        const now = performance.now();
        if (now - last < 100) return;
        last = now;
        post({ type: 'progress', bytes, total: file.size });
      },
    });
    post({ type: 'progress', bytes: file.size, total: file.size });
    if (text.trim().length === 0) throw new DataError(`${file.name} has only whitespace: give a text file with at least a few hundred characters`);
    const ds = new Dataset(text);
    const sha256 = await sha256Hex(new TextEncoder().encode(text));
    post({
      type: 'text',
      text,
      sha256,
      chars: ds.chars,
      vocabSize: ds.tokenizer.vocabSize,
      trainChars: ds.train.length,
      valChars: ds.val.length,
      refs: baselineLosses(ds),
    });
  } catch (e) {
    const known = e instanceof DataError || e instanceof TokenizerError;
    const line = (e instanceof Error ? e.message : String(e)).split('\n')[0];
    post({ type: 'error', message: known ? line : `${file.name} could not be read: ${line}` });
  }
};
