// Shared harness for the browser tests: a Vite dev server on 127.0.0.1 (a free
// port), headless Debian Chromium through playwright-core with WebGPU on
// SwiftShader, and helpers that follow a page through window.tabgpt.state.
//
//   const server = await startServer();
//   const browser = await launchBrowser();
//   const page = await browser.newPage();
//   await page.goto(server.url('/?preset=nano&autostart=1'));
//   await waitForState(page, (s) => s.step >= 10);

import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import type { ViteDevServer } from 'vite';
import { launchChromium, startViteServer } from '../../src/cli/chromium';

export const ROOT = resolve(fileURLToPath(new URL('../..', import.meta.url)));
export { CHROMIUM, CHROMIUM_ARGS } from '../../src/cli/chromium';

export interface TestServer {
  vite: ViteDevServer;
  origin: string;
  /** Absolute URL of a path on the server ("/?nLayer=1", "/scaling.html"). */
  url(path?: string): string;
  close(): Promise<void>;
}

/** Start the project's Vite dev server (its own vite.config.ts) on a free local port. */
export async function startServer(): Promise<TestServer> {
  const { vite, origin } = await startViteServer('warn');
  return { vite, origin, url: (path = '/') => origin + path, close: () => vite.close() };
}

/** Headless Chromium with WebGPU (SwiftShader's adapter on machines without a GPU). */
export async function launchBrowser(): Promise<Browser> {
  return launchChromium();
}

/** The page's window.tabgpt.state (any page that exposes one). */
export type PageStateLike = Record<string, unknown> & {
  status?: string;
  step?: number;
  error?: string | null;
};

export async function readState<S = PageStateLike>(page: Page): Promise<S> {
  return page.evaluate(() => (window as unknown as { tabgpt: { state: unknown } }).tabgpt.state) as Promise<S>;
}

/**
 * Poll window.tabgpt.state until `predicate` holds; fail early when the page
 * reports an error (unless `allowError`), and on timeout with the last state.
 */
export async function waitForState<S extends PageStateLike = PageStateLike>(
  page: Page,
  predicate: (s: S) => boolean,
  opts: { timeoutMs?: number; intervalMs?: number; allowError?: boolean; what?: string } = {},
): Promise<S> {
  const { timeoutMs = 120_000, intervalMs = 150, allowError = false, what = 'the page state' } = opts;
  const deadline = Date.now() + timeoutMs;
  let last: S | null = null;
  for (;;) {
    try {
      last = await readState<S>(page);
    } catch {
      last = null; // navigation in progress, or the state is not there yet
    }
    if (last) {
      if (predicate(last)) return last;
      if (!allowError && last.status === 'error') throw new Error(`page reported an error while waiting for ${what}: ${last.error}`);
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; last state: ${JSON.stringify(last)?.slice(0, 800)}`);
    await page.waitForTimeout(intervalMs); // a poll's interval, not a sleep: the predicate is a Node closure read against each new state
  }
}

/** Collect the page's console errors and uncaught exceptions (to print when a test fails). */
export function collectPageErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(`console: ${m.text()}`);
  });
  page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
  return errors;
}
