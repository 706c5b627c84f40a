// The scaling lab's IndexedDB store: the current sweep (spec, corpus, finished
// runs, calibration) is written again after every finished run, so a closed
// tab loses at most the run in progress and the page resumes after a reload.
// Its own database, so it never races the training page's schema upgrades.

import { type SweepResults } from '../../core/scaling/sweep-results';

const DB_NAME = 'tabgpt-scaling';
const STORE = 'sweeps';
const CURRENT = 'current';

export type StoredStatus = 'running' | 'stopped' | 'done';

export interface StoredSweep {
  results: SweepResults;
  /** 'running' when the page went away mid-sweep: offer to resume. */
  status: StoredStatus;
  savedAt: number;
  /** What the fit predicted for each run before it ran, per parameter count (nats). */
  predictions?: Record<'nonEmbedding' | 'total', Record<string, number>>;
}

let dbPromise: Promise<IDBDatabase> | null = null;

function open(): Promise<IDBDatabase> {
  dbPromise ??= new Promise((resolve, reject) => {
    const req = indexedDB.open(DB_NAME, 1);
    req.onupgradeneeded = () => req.result.createObjectStore(STORE);
    req.onsuccess = () => resolve(req.result);
    req.onerror = () =>
      reject(new Error(`IndexedDB is not available (${req.error?.message ?? 'unknown error'}): results will not survive a reload; export them`));
  });
  return dbPromise;
}

function tx<T>(mode: IDBTransactionMode, body: (store: IDBObjectStore) => IDBRequest<T>): Promise<T> {
  return open().then(
    (db) =>
      new Promise<T>((resolve, reject) => {
        const t = db.transaction(STORE, mode);
        const req = body(t.objectStore(STORE));
        t.oncomplete = () => resolve(req.result);
        t.onerror = () => reject(new Error(`saving to IndexedDB failed (${t.error?.name ?? 'error'}): export the results to keep them`));
        t.onabort = t.onerror;
      }),
  );
}

/** Write the sweep; resolves once the transaction has committed. */
export function saveSweep(results: SweepResults, status: StoredStatus, predictions?: StoredSweep['predictions']): Promise<void> {
  const record: StoredSweep = { results, status, savedAt: Date.now(), ...(predictions ? { predictions } : {}) };
  return tx('readwrite', (s) => s.put(record, CURRENT)).then(() => undefined);
}

export function loadSweep(): Promise<StoredSweep | null> {
  return tx<StoredSweep | undefined>('readonly', (s) => s.get(CURRENT) as IDBRequest<StoredSweep | undefined>).then((r) => r ?? null);
}

export function clearSweep(): Promise<void> {
  return tx('readwrite', (s) => s.delete(CURRENT)).then(() => undefined);
}
