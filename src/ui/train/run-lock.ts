// One tab per run: a run holds a Web Lock named after its id while it trains,
// so a second tab cannot resume the same run at the same time (both would
// save under one run id, and each save deletes that run's older saves: the
// two would overwrite each other). Runs started fresh get new ids and never
// collide. Without the Web Locks API (old browsers) runs are not locked.

const PREFIX = 'tabgpt-run:';
/** The locks this tab holds: how to let go of each, and when the browser has taken it back. */
const held = new Map<string, { release: () => void; released: Promise<unknown> }>();
/** Locks this tab let go of that the browser has not taken back yet (still this tab's, not another's). */
const releasing = new Map<string, Promise<unknown>>();

/** Take the run's lock; false when another tab holds it. */
export function lockRun(runId: string): Promise<boolean> {
  if (held.has(runId)) return Promise.resolve(true);
  if (!navigator.locks) return Promise.resolve(true);
  return (releasing.get(runId) ?? Promise.resolve()).then(
    () =>
      new Promise((resolve) => {
        const lock = { release: () => {}, released: Promise.resolve() as Promise<unknown> };
        // The callback runs after request() returned, so `released` is set by then.
        lock.released = navigator.locks
          .request(PREFIX + runId, { ifAvailable: true }, (granted) => {
            if (!granted) {
              resolve(false);
              return undefined;
            }
            held.set(runId, lock);
            resolve(true);
            // Held until unlockRun (or until the tab closes).
            return new Promise<void>((release) => (lock.release = release));
          })
          .catch(() => undefined);
      }),
  );
}

/**
 * Let go of the run's lock; resolves once the browser has taken it back, so that
 * a list read after it (here or in another tab told of it) no longer shows the
 * run as training in a tab.
 */
export async function unlockRun(runId: string | null): Promise<void> {
  const lock = runId === null ? undefined : held.get(runId);
  if (!lock) return;
  held.delete(runId!);
  releasing.set(runId!, lock.released);
  lock.release();
  await lock.released;
  if (releasing.get(runId!) === lock.released) releasing.delete(runId!);
}

/** Ids of the runs training in other tabs of this browser. */
export async function runsElsewhere(): Promise<Set<string>> {
  if (!navigator.locks?.query) return new Set();
  // This tab's own, taken before asking: the answer may list a lock that was being let go meanwhile.
  const mine = new Set([...held.keys(), ...releasing.keys()]);
  const { held: locks = [] } = await navigator.locks.query();
  return new Set(
    locks
      .map((l) => l.name ?? '')
      .filter((n) => n.startsWith(PREFIX))
      .map((n) => n.slice(PREFIX.length))
      .filter((id) => !mine.has(id)),
  );
}
