// Keeping tabs in step: every change to the saved models (a save, a delete)
// is announced on a BroadcastChannel, and each tab's list refreshes when
// another tab announces one. The channel carries no data, only "look again":
// IndexedDB stays the one source of truth.

const CHANNEL = 'tabgpt-storage';
let channel: BroadcastChannel | null = null;

function open(): BroadcastChannel | null {
  if (typeof BroadcastChannel === 'undefined') return null;
  channel ??= new BroadcastChannel(CHANNEL);
  return channel;
}

/** Tell the other tabs that the saved models changed. */
export function announceChange(): void {
  open()?.postMessage({ type: 'changed', at: Date.now() });
}

/** Call `fn` whenever another tab changed the saved models. */
export function onChange(fn: () => void): void {
  open()?.addEventListener('message', (ev: MessageEvent<{ type?: string }>) => {
    if (ev.data?.type === 'changed') fn();
  });
}
