// Ctrl-C and `kill` for long commands (train, sweep): the first SIGINT or
// SIGTERM asks the loop to stop after the step in progress, so the command can
// write its checkpoint or results (atomically) and print how to resume; the
// process then exits 130 (SIGINT) or 143 (SIGTERM), as a shell reports a
// command killed by that signal. The handlers remove themselves at the first
// signal, so a second one gets the default action: the process ends at once,
// even in the middle of a step or a write. writeAtomic renames only finished
// files, so the last good checkpoint is never touched; at worst a
// `<file>.tmp-<pid>` is left behind.

import type { StopSignal } from '../core/train-loop';

export type StopSignalName = 'SIGINT' | 'SIGTERM';

/** Exit status for a command stopped by a signal: 128 + its number. */
export const EXIT_CODE: Record<StopSignalName, number> = { SIGINT: 130, SIGTERM: 143 };

export interface InterruptGuard {
  /** For core loops: aborted once a signal came; `wait` lets Node deliver one between steps. */
  readonly signal: StopSignal;
  /** The signal received, or null. */
  readonly received: StopSignalName | null;
  /** 130 or 143 once a signal came, else 0. */
  readonly exitCode: number;
  /** Remove the handlers (the command is done with its loop). */
  dispose(): void;
}

/**
 * Catch SIGINT and SIGTERM until dispose(). `onSignal` runs at the first one
 * (print what will happen); from then on the default action is back.
 */
export function guardInterrupts(onSignal: (name: StopSignalName) => void): InterruptGuard {
  let received: StopSignalName | null = null;
  const handlers = new Map<StopSignalName, () => void>();
  const dispose = () => {
    for (const [name, h] of handlers) process.removeListener(name, h);
    handlers.clear();
  };
  for (const name of ['SIGINT', 'SIGTERM'] as const) {
    const h = () => {
      received = name;
      dispose(); // the next signal ends the process at once
      onSignal(name);
    };
    handlers.set(name, h);
    process.on(name, h);
  }
  return {
    signal: {
      get aborted() {
        return received !== null;
      },
      // A macrotask: the signal handler above can only run when the event loop turns.
      wait: () => new Promise<void>((resolve) => setImmediate(resolve)),
    },
    get received() {
      return received;
    },
    get exitCode() {
      return received ? EXIT_CODE[received] : 0;
    },
    dispose,
  };
}

/** A command line as a user types it: arguments with spaces or quotes single-quoted. */
export function shellLine(args: string[]): string {
  return args.map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`)).join(' ');
}
