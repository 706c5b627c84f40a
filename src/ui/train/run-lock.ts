// One tab per run: a run holds a Web Lock named after its id while it trains,
// so a second tab cannot resume the same run at the same time (both would
// save under one run id, and each save deletes that run's older saves: the
// two would overwrite each other). Runs started fresh get new ids and never
// collide. Without the Web Locks API (old browsers) runs are not locked.

const PREFIX = 'tabgpt-run:';
const held = new Map<string, () => void>();

/** Take the run's lock; false when another tab holds it. */
export function lockRun(runId: string): Promise<boolean> {
  if (held.has(runId)) return Promise.resolve(true);
  if (!navigator.locks) return Promise.resolve(true);
  return new Promise((resolve) => {
    void navigator.locks.request(PREFIX + runId, { ifAvailable: true }, (lock) => {
      if (!lock) {
        resolve(false);
        return undefined;
      }
      resolve(true);
      // Held until unlockRun (or until the tab closes).
      return new Promise<void>((release) => held.set(runId, release));
    });
  });
}

export function unlockRun(runId: string): void {
  held.get(runId)?.();
  held.delete(runId);
}

/** Ids of the runs training in other tabs of this browser. */
export async function runsElsewhere(): Promise<Set<string>> {
  if (!navigator.locks?.query) return new Set();
  const { held: locks = [] } = await navigator.locks.query();
  return new Set(locks.map((l) => l.name ?? '').filter((n) => n.startsWith(PREFIX)).map((n) => n.slice(PREFIX.length)).filter((id) => !held.has(id)));
}
