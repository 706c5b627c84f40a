// Saved models and cached texts in IndexedDB. A checkpoint's bytes and its
// listing record are written in one transaction; older saves of the same run
// are deleted only after that transaction commits, so a full disk (quota
// error) never costs an earlier save. The first save asks the browser to make
// the storage persistent; every change is announced to the other tabs
// (storage-sync.ts).

import type { Config } from '../core/config';
import type { CorpusRef } from '../worker/protocol';
import type { ChartHistory } from './train/history';
import { formatBytes } from '../core/format';
import { announceChange } from './storage-sync';

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
  void requestPersistence();
  const db = await open();
  const tx = db.transaction([MODELS, BLOBS], 'readwrite');
  tx.objectStore(MODELS).put(record);
  tx.objectStore(BLOBS).put(bytes, record.id);
  try {
    await done(tx);
  } catch (e) {
    if (isQuotaError(e)) throw new StorageError(await quotaMessage(record, bytes.byteLength));
    throw new StorageError(`saving the checkpoint failed: ${(e as Error).message}`);
  }
  announceChange();
  if (record.source !== 'run') return;
  const older = (await listModels()).filter((m) => m.runId === record.runId && m.id !== record.id);
  if (older.length > 0) await deleteModels(older.map((m) => m.id));
}

/**
 * What a full disk means for this save, in one line: what was kept, and which
 * saved models to delete (the largest others first) to make room.
 */
async function quotaMessage(record: SavedModel, size: number): Promise<string> {
  const all = await listModels().catch(() => [] as SavedModel[]);
  const kept = all.find((m) => m.runId === record.runId);
  const others = all
    .filter((m) => m.runId !== record.runId)
    .sort((a, b) => b.size - a.size)
    .slice(0, 3);
  const u = await usage().catch(() => null);
  return [
    `browser storage is full${u && u.quota ? ` (${formatBytes(u.usage)} used of ${formatBytes(u.quota)})` : ''}: the checkpoint at step ${record.step} (${formatBytes(size)}) was not saved;`,
    kept ? `this run's save at step ${kept.step} is kept;` : 'the run goes on, and "Download current model" still has it;',
    others.length
      ? `delete saved models you no longer need (largest: ${others.map((m) => `${m.name} at step ${m.step}, ${formatBytes(m.size)}`).join('; ')})`
      : 'free space for this site (or download this model)',
    'and the next autosave will store it',
  ].join(' ');
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
  announceChange();
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

let persistence: Promise<boolean | null> | null = null;

/**
 * Ask the browser once (at the first save) not to evict this site's storage
 * under pressure. Resolves to whether it is persistent (null: no Storage API).
 */
export function requestPersistence(): Promise<boolean | null> {
  persistence ??= (async () => {
    if (!navigator.storage?.persist) return null;
    try {
      return (await navigator.storage.persisted()) || (await navigator.storage.persist());
    } catch {
      return false;
    }
  })();
  return persistence;
}

/** Whether storage is persistent, without asking (null: not asked yet this session and not persistent, or no API). */
export async function persisted(): Promise<boolean | null> {
  if (persistence) return persistence;
  if (!navigator.storage?.persisted) return null;
  return (await navigator.storage.persisted().catch(() => false)) || null;
}

/** Bytes used and available to this origin, when the browser tells. */
export async function usage(): Promise<{ usage: number; quota: number } | null> {
  if (!navigator.storage?.estimate) return null;
  const { usage: u = 0, quota = 0 } = await navigator.storage.estimate();
  return { usage: u, quota };
}
