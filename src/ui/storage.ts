// Saved models and cached texts in IndexedDB. A checkpoint's bytes and its
// listing record are written in one transaction; older saves of the same run
// are deleted only after that transaction commits, so a full disk (quota
// error) never costs an earlier save.

import type { Config } from '../core/config';
import type { CorpusRef } from '../worker/protocol';
import type { ChartHistory } from './charts';

const DB_NAME = 'tabgpt';
const DB_VERSION = 1;
const MODELS = 'models'; // listing records (small): SavedModel
const BLOBS = 'blobs'; // checkpoint bytes by model id
const TEXTS = 'texts'; // corpus texts by sha256 (Tiny Shakespeare, pasted and uploaded texts)

export interface SavedModel {
  /** `${runId}@${step}`, or `upload:<name>:<time>` for an uploaded file. */
  id: string;
  runId: string;
  source: 'run' | 'upload';
  name: string;
  step: number;
  maxIters: number;
  valLoss: number | null;
  trainLoss: number | null;
  savedAt: number;
  size: number;
  config: Config;
  corpus: CorpusRef;
  /** The run reached maxIters; unfinished runs are offered for resuming. */
  finished: boolean;
  /** The charts up to this save, so a resumed run shows its whole curve. */
  history?: ChartHistory;
  /** Set for a fine-tune: the saved model it started from (absent: a run from scratch). */
  initFrom?: { name: string; step: number };
}

export class StorageError extends Error {
  override name = 'StorageError';
}

let dbPromise: Promise<IDBDatabase> | null = null;

function open(): Promise<IDBDatabase> {
  dbPromise ??= new Promise((resolve, reject) => {
    if (typeof indexedDB === 'undefined') return reject(new StorageError('this browser has no IndexedDB: models cannot be saved (download them instead)'));
    const req = indexedDB.open(DB_NAME, DB_VERSION);
    req.onupgradeneeded = () => {
      const db = req.result;
      if (!db.objectStoreNames.contains(MODELS)) db.createObjectStore(MODELS, { keyPath: 'id' });
      if (!db.objectStoreNames.contains(BLOBS)) db.createObjectStore(BLOBS);
      if (!db.objectStoreNames.contains(TEXTS)) db.createObjectStore(TEXTS);
    };
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(new StorageError(`cannot open browser storage: ${req.error?.message ?? 'unknown error'} (private mode?)`));
  });
  return dbPromise;
}

/** Resolve when a transaction commits; reject with its error (QuotaExceededError, ...) when it aborts. */
function done(tx: IDBTransaction): Promise<void> {
  return new Promise((resolve, reject) => {
    tx.oncomplete = () => resolve();
    tx.onabort = () => reject(tx.error ?? new DOMException('transaction aborted', 'AbortError'));
    tx.onerror = () => undefined; // onabort follows with the same error
  });
}

function request<T>(req: IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

export function isQuotaError(e: unknown): boolean {
  return e instanceof DOMException && (e.name === 'QuotaExceededError' || e.code === 22);
}

/**
 * Store a checkpoint: record and bytes together, then drop the older saves of
 * the same run. On a quota error nothing is deleted and a StorageError says so.
 */
export async function saveModel(record: SavedModel, bytes: ArrayBuffer): Promise<void> {
  const db = await open();
  const tx = db.transaction([MODELS, BLOBS], 'readwrite');
  tx.objectStore(MODELS).put(record);
  tx.objectStore(BLOBS).put(bytes, record.id);
  try {
    await done(tx);
  } catch (e) {
    if (isQuotaError(e)) {
      throw new StorageError(`browser storage is full: the checkpoint at step ${record.step} was not saved (earlier saves are kept); delete saved models or download this one`);
    }
    throw new StorageError(`saving the checkpoint failed: ${(e as Error).message}`);
  }
  if (record.source !== 'run') return;
  const older = (await listModels()).filter((m) => m.runId === record.runId && m.id !== record.id);
  if (older.length > 0) await deleteModels(older.map((m) => m.id));
}

/** Listing records, newest first (no bytes). */
export async function listModels(): Promise<SavedModel[]> {
  const db = await open();
  const all = await request(db.transaction(MODELS).objectStore(MODELS).getAll() as IDBRequest<SavedModel[]>);
  return all.sort((a, b) => b.savedAt - a.savedAt);
}

export async function loadModelBytes(id: string): Promise<ArrayBuffer> {
  const db = await open();
  const bytes = await request(db.transaction(BLOBS).objectStore(BLOBS).get(id) as IDBRequest<ArrayBuffer | undefined>);
  if (!bytes) throw new StorageError(`saved model ${id} has no data (deleted in another tab?)`);
  return bytes;
}

export async function deleteModels(ids: string[]): Promise<void> {
  const db = await open();
  const tx = db.transaction([MODELS, BLOBS], 'readwrite');
  for (const id of ids) {
    tx.objectStore(MODELS).delete(id);
    tx.objectStore(BLOBS).delete(id);
  }
  await done(tx);
}

/** The newest unfinished run, to offer resuming after a reload. */
export async function lastUnfinishedRun(): Promise<SavedModel | null> {
  return (await listModels()).find((m) => m.source === 'run' && !m.finished) ?? null;
}

export async function saveText(sha256: string, text: string): Promise<void> {
  const db = await open();
  const tx = db.transaction(TEXTS, 'readwrite');
  tx.objectStore(TEXTS).put(text, sha256);
  await done(tx);
}

export async function loadText(sha256: string): Promise<string | null> {
  const db = await open();
  return (await request(db.transaction(TEXTS).objectStore(TEXTS).get(sha256) as IDBRequest<string | undefined>)) ?? null;
}

/** Bytes used and available to this origin, when the browser tells. */
export async function usage(): Promise<{ usage: number; quota: number } | null> {
  if (!navigator.storage?.estimate) return null;
  const { usage: u = 0, quota = 0 } = await navigator.storage.estimate();
  return { usage: u, quota };
}
