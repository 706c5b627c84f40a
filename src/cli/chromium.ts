// Headless Chromium and a local Vite server, shared by `tabgpt bench --browser`
// and the end-to-end tests: Debian's /usr/bin/chromium (Playwright's own browser
// download is not used), WebGPU enabled (SwiftShader's adapter where there is no
// GPU), pages served on 127.0.0.1 only (a secure context, so WebGPU is allowed).

import { createServer as createNetServer } from 'node:net';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import type { ViteDevServer } from 'vite';
import { PROJECT_ROOT } from './common';

export const CHROMIUM = process.env.TABGPT_CHROMIUM ?? '/usr/bin/chromium';
export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--enable-unsafe-webgpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** A free TCP port on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createNetServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}

/** The project's Vite dev server (its vite.config.ts) on a free 127.0.0.1 port; no file watching, so an edit cannot reload a page mid-run. */
export async function startViteServer(logLevel: 'error' | 'warn' = 'warn'): Promise<{ vite: ViteDevServer; origin: string }> {
  const { createServer } = await import('vite');
  const port = await freePort();
  const vite = await createServer({
    root: PROJECT_ROOT,
    configFile: join(PROJECT_ROOT, 'vite.config.ts'),
    logLevel,
    clearScreen: false,
    server: { host: '127.0.0.1', port, strictPort: true, hmr: false, watch: null },
  });
  await vite.listen();
  return { vite, origin: `http://127.0.0.1:${port}` };
}

/** Headless Chromium with WebGPU enabled. */
export async function launchChromium(): Promise<Browser> {
  const { chromium } = await import('playwright-core');
  return chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: true });
}
