// Shared pieces of the Node shell: one-line errors, backend setup, corpus
// loading (file, cached Tiny Shakespeare, built-in), atomic file writes.

import { mkdir, readFile, rename, open } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { missingWebGPUInternals } from '../core/kernels/tfjs-internals';
import '@tensorflow/tfjs-backend-wasm';
import { NODE_BACKENDS, type BackendName } from '../core/backend';
import { BUILTIN_SMALL, builtinCorpus, SHAKESPEARE, type CorpusName } from '../core/corpus';
import { decodeText, sha256Hex } from '../core/data';
import { ADAPTER_CHOICES, installNodeWebGPU, type AdapterChoice } from './webgpu';

/** A user mistake: printed as one line, exit code 2, no stack trace. */
export class CliError extends Error {
  override name = 'CliError';
}

export const PROJECT_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const CACHE_DIR = process.env.TABGPT_CACHE_DIR ?? join(PROJECT_ROOT, 'data', 'cache');

/** Start a Node backend (wasm, cpu, or webgpu through Dawn), silencing tfjs' advert for tfjs-node. */
export async function setupBackend(name: string, adapter?: string): Promise<BackendName> {
  if (adapter !== undefined && !(ADAPTER_CHOICES as readonly string[]).includes(adapter))
    throw new CliError(`--adapter must be ${ADAPTER_CHOICES.join(' or ')} (got '${adapter}')`);
  if (adapter !== undefined && name !== 'webgpu') throw new CliError(`--adapter applies to --backend webgpu (got --backend ${name})`);
  if (name === 'webgpu') {
    const found = await installNodeWebGPU(adapter as AdapterChoice | undefined);
    if (typeof found === 'string') throw new CliError(found);
  } else if (!NODE_BACKENDS.includes(name as BackendName)) {
    throw new CliError(`--backend must be one of ${[...NODE_BACKENDS, 'webgpu'].join(', ')} in Node (got '${name}'); webgl runs in the browser page`);
  }
  const warn = console.warn;
  const log = console.log;
  const quiet = (...args: unknown[]) => (String(args[0]).includes('tfjs-node') || String(args[0]).includes('=====') ? undefined : warn(...args));
  console.warn = quiet;
  console.log = (...args: unknown[]) => (String(args[0]).includes('tfjs-node') || String(args[0]).includes('=====') ? undefined : log(...args));
  try {
    if (!(await tf.setBackend(name))) throw new CliError(`backend ${name} failed to initialise`);
    await tf.ready();
    tf.scalar(0).dispose(); // the cpu backend prints its tfjs-node advert on the first tensor: let that happen here
    const missing = name === 'webgpu' ? missingWebGPUInternals(tf.backend()) : null;
    if (missing) throw new CliError(missing);
  } finally {
    console.warn = warn;
    console.log = log;
  }
  return name as BackendName;
}

export interface LoadedText {
  text: string;
  /** What the text is, for logs and checkpoint metadata ("shakespeare", "builtin", a path). */
  source: string;
  /** Set for the built-in corpus: its exact entropy rate (nats/char). */
  entropyPerChar?: number;
  notice?: string;
}

/** Read a text file as normalised UTF-8, with one-line errors for the usual mistakes. */
export async function readTextFile(path: string): Promise<string> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new CliError(`--text ${path}: no such file`);
    if (code === 'EISDIR') throw new CliError(`--text ${path}: is a directory, give a text file`);
    throw new CliError(`--text ${path}: cannot read (${code ?? (e as Error).message})`);
  }
  return decodeText(bytes, path);
}

/**
 * Tiny Shakespeare from the cache in data/cache/, else downloaded once from
 * its public URL into the cache; sha256 checked both times.
 */
export async function loadShakespeare(timeoutMs = 15000): Promise<string> {
  const path = join(CACHE_DIR, SHAKESPEARE.cacheName);
  if (existsSync(path)) {
    const bytes = await readFile(path);
    if ((await sha256Hex(bytes)) === SHAKESPEARE.sha256) return decodeText(bytes, path);
    throw new CliError(`${path} does not match Tiny Shakespeare's sha256: delete it and run again to re-download`);
  }
  let bytes: Uint8Array;
  try {
    const res = await fetch(SHAKESPEARE.url, { signal: AbortSignal.timeout(timeoutMs) });
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    bytes = new Uint8Array(await res.arrayBuffer());
  } catch (e) {
    throw new CliError(
      `could not download Tiny Shakespeare from ${SHAKESPEARE.url} (${(e as Error).message}): check the network, or place the file at ${path}`,
    );
  }
  if ((await sha256Hex(bytes)) !== SHAKESPEARE.sha256) throw new CliError(`downloaded Tiny Shakespeare has the wrong sha256: not saved; try again later`);
  await writeAtomic(path, bytes);
  return decodeText(bytes, path);
}

/**
 * The training text from --text or --corpus. With neither, Tiny Shakespeare,
 * falling back to the built-in corpus (with a notice) when it cannot be had.
 */
export async function loadCorpus(opts: { text?: string; corpus?: string }): Promise<LoadedText> {
  if (opts.text !== undefined && opts.corpus !== undefined) throw new CliError('give --text FILE or --corpus NAME, not both');
  if (opts.text !== undefined) return { text: await readTextFile(opts.text), source: opts.text };
  const name = (opts.corpus ?? 'default') as CorpusName | 'default';
  if (name === 'builtin') {
    const b = builtinCorpus();
    return { text: b.text, source: 'builtin', entropyPerChar: b.entropyPerChar };
  }
  if ((name as string) === 'builtin-small') {
    const b = builtinCorpus(BUILTIN_SMALL);
    return { text: b.text, source: 'builtin-small', entropyPerChar: b.entropyPerChar };
  }
  if (name !== 'shakespeare' && name !== 'default') throw new CliError(`--corpus must be shakespeare, builtin or builtin-small (got '${name}')`);
  try {
    return { text: await loadShakespeare(name === 'default' ? 5000 : 15000), source: 'shakespeare' };
  } catch (e) {
    if (name === 'shakespeare') throw e;
    const b = builtinCorpus();
    return {
      text: b.text,
      source: 'builtin',
      entropyPerChar: b.entropyPerChar,
      notice: `Tiny Shakespeare is not available offline (${(e as Error).message.split(' (')[0]}); training on the built-in generated corpus instead (entropy ${b.entropyPerChar.toFixed(3)} nats/char)`,
    };
  }
}

/** Write a file so a reader never sees it half-written: temp file, fsync, rename. */
export async function writeAtomic(path: string, data: Uint8Array | string): Promise<void> {
  await mkdir(dirname(resolve(path)), { recursive: true });
  const tmp = `${path}.tmp-${process.pid}`;
  const fh = await open(tmp, 'w');
  try {
    await fh.writeFile(data);
    await fh.sync();
  } finally {
    await fh.close();
  }
  await rename(tmp, path);
}

export { formatDuration } from '../core/format';
