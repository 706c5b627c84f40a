// Training texts for the page: Tiny Shakespeare (browser cache, then this
// site's data/ cache, then its public URL; sha256 checked), the built-in
// generated corpus, pasted text, or a file. Each becomes a LoadedCorpus with
// the numbers the page shows (characters, vocabulary, split, baselines).

import { BUILTIN_SMALL, builtinCorpus, SHAKESPEARE } from '../core/corpus';
import { baselineLosses, Dataset, decodeText, DataError, MAX_TEXT_CHARS, normaliseText, sha256Hex } from '../core/data';
import type { CorpusRef, FromTextWorker, ToTextWorker } from '../worker/protocol';
import { formatFileSize } from '../core/text-reader';
import { DEFAULT_OPTIONS, MAX_TEXT_MB } from './page-options';
import { loadText, saveText } from './storage';

/** A corpus' baseline losses in nats/char: the loss chart's reference lines. */
export interface References {
  uniform: number;
  unigram: number;
  bigram: number;
  /** Exact entropy rate of a generated corpus (nothing can beat it). */
  floor?: number;
}

export interface LoadedCorpus {
  ref: CorpusRef;
  text: string;
  chars: number;
  vocabSize: number;
  trainChars: number;
  valChars: number;
  refs: References;
  /** Something to tell the user (a fallback, a cache problem). */
  notice?: string;
}

/** Largest file the page can read at all: decodeText's limit (the ?maxTextMB= option stops below it). */
export const MAX_FILE_BYTES = MAX_TEXT_CHARS * 4;

export class CorpusError extends Error {
  override name = 'CorpusError';
}

/** Numbers for the corpus panel and the chart's reference lines. */
export async function describeText(text: string, ref: Omit<CorpusRef, 'sha256'>, floor?: number): Promise<LoadedCorpus> {
  const ds = new Dataset(text); // throws DataError for an empty text
  const sha256 = await sha256Hex(new TextEncoder().encode(text));
  const base = baselineLosses(ds);
  return {
    ref: { ...ref, sha256 },
    text,
    chars: ds.chars,
    vocabSize: ds.tokenizer.vocabSize,
    trainChars: ds.train.length,
    valChars: ds.val.length,
    refs: { ...base, ...(floor !== undefined ? { floor } : {}) },
  };
}

/** The validation split must hold a window of blockSize + 1 characters. */
export function checkLength(c: Pick<LoadedCorpus, 'chars' | 'valChars' | 'trainChars'>, blockSize: number): string | null {
  if (Math.min(c.valChars, c.trainChars) >= blockSize + 1) return null;
  const need = Math.ceil((blockSize + 2) / 0.1);
  return `the text is too short: ${c.chars} characters leave ${c.valChars} for validation (10%), but a block needs ${blockSize + 1}; give at least ${need} characters or lower blockSize`;
}

let builtinCache: LoadedCorpus | null = null;
export async function loadBuiltin(): Promise<LoadedCorpus> {
  if (!builtinCache) {
    const b = builtinCorpus();
    builtinCache = await describeText(b.text, { kind: 'builtin', name: 'built-in corpus' }, b.entropyPerChar);
  }
  return builtinCache;
}

/** The scaling lab's ground truth (core/corpus.ts' BUILTIN_SMALL): a floor the ladder can reach. */
let builtinSmallCache: LoadedCorpus | null = null;
export async function loadBuiltinSmall(): Promise<LoadedCorpus> {
  if (!builtinSmallCache) {
    const b = builtinCorpus(BUILTIN_SMALL);
    builtinSmallCache = await describeText(b.text, { kind: 'builtin-small', name: 'built-in small corpus' }, b.entropyPerChar);
  }
  return builtinSmallCache;
}

async function fetchChecked(url: string): Promise<Uint8Array | null> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(20000) });
    if (!res.ok) return null;
    const bytes = new Uint8Array(await res.arrayBuffer());
    return (await sha256Hex(bytes)) === SHAKESPEARE.sha256 ? bytes : null;
  } catch {
    return null;
  }
}

/**
 * Tiny Shakespeare: from the browser's cache, else this site's data/cache/
 * (the dev server and the build serve it when present), else the public URL;
 * every copy's sha256 is checked and the text cached in the browser.
 */
export async function loadShakespeare(): Promise<LoadedCorpus> {
  const ref = { kind: 'shakespeare' as const, name: 'Tiny Shakespeare' };
  const cached = await loadText(SHAKESPEARE.sha256).catch(() => null);
  if (cached) return describeText(cached, ref);
  const local = new URL(`data/cache/${SHAKESPEARE.cacheName}`, document.baseURI).href;
  const bytes = (await fetchChecked(local)) ?? (await fetchChecked(SHAKESPEARE.url));
  if (!bytes)
    throw new CorpusError(
      `Tiny Shakespeare is not available: not in this site's data/cache/ and ${SHAKESPEARE.url} could not be fetched (offline?); use the built-in corpus`,
    );
  const text = decodeText(bytes, 'Tiny Shakespeare');
  let notice: string | undefined;
  try {
    await saveText(SHAKESPEARE.sha256, text);
  } catch (e) {
    notice = `Tiny Shakespeare could not be cached in this browser (${(e as Error).message}); it will be fetched again next time`;
  }
  return { ...(await describeText(text, ref)), notice };
}

/**
 * A dropped or chosen file, read in a worker as a stream (worker/text.worker.ts):
 * refused before reading when over `maxBytes`, progress while reading, then
 * binary, UTF-8 and length checks with one clear line each. The page's thread
 * only receives the finished text and its numbers.
 */
export function loadFile(file: File, maxBytes = DEFAULT_OPTIONS.maxTextMB * 1e6, onProgress?: (bytes: number, total: number) => void): Promise<LoadedCorpus> {
  const limit = Math.min(maxBytes, MAX_FILE_BYTES);
  const raiseHint = `raise the limit with ?maxTextMB= in the page's address (at most ${MAX_TEXT_MB})`;
  return new Promise((resolve, reject) => {
    const worker = new Worker(new URL('../worker/text.worker.ts', import.meta.url), { type: 'module' });
    const end = () => worker.terminate();
    worker.onmessage = (ev: MessageEvent<FromTextWorker>) => {
      const m = ev.data;
      if (m.type === 'progress') return onProgress?.(m.bytes, m.total);
      end();
      if (m.type === 'error') return reject(new CorpusError(m.message));
      resolve({
        ref: { kind: 'file', name: file.name, sha256: m.sha256 },
        text: m.text,
        chars: m.chars,
        vocabSize: m.vocabSize,
        trainChars: m.trainChars,
        valChars: m.valChars,
        refs: m.refs,
      });
    };
    worker.onerror = (e) => {
      end();
      reject(new CorpusError(`${file.name} could not be read: ${e.message || 'the reader failed'}`));
    };
    worker.postMessage({ file, maxBytes: limit, raiseHint } satisfies ToTextWorker);
  });
}

/** "up to 100 MB": the limit the page shows before a file is chosen. */
export function fileLimitText(maxBytes: number): string {
  return `UTF-8 text, up to ${formatFileSize(Math.min(maxBytes, MAX_FILE_BYTES))}`;
}

export async function loadPasted(raw: string): Promise<LoadedCorpus> {
  const text = normaliseText(raw);
  if (text.trim().length === 0) throw new CorpusError('the pasted text is empty: paste at least a few hundred characters');
  return describeText(text, { kind: 'paste', name: 'pasted text' });
}

/** Keep a pasted or uploaded text so its run can resume after a reload. */
export async function rememberText(c: LoadedCorpus): Promise<void> {
  if (c.ref.kind === 'paste' || c.ref.kind === 'file') await saveText(c.ref.sha256, c.text);
}

/** The text of a saved run's corpus, to resume it. */
export async function textFor(ref: CorpusRef): Promise<LoadedCorpus> {
  if (ref.kind === 'builtin') return loadBuiltin();
  if (ref.kind === 'builtin-small') return loadBuiltinSmall();
  if (ref.kind === 'shakespeare') return loadShakespeare();
  const text = await loadText(ref.sha256);
  if (text === null) throw new CorpusError(`the text of this run (${ref.name}) is no longer stored in this browser: load it again to continue`);
  return describeText(text, ref);
}

export function errorMessage(e: unknown): string {
  if (e instanceof CorpusError || e instanceof DataError) return e.message;
  return (e instanceof Error ? e.message : String(e)).split('\n')[0];
}
