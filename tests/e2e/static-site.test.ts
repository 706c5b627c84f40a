// The built site (`npm run build`) on static hosts: served by `vite preview`
// (which sends the COOP/COEP headers, as public/_headers asks Netlify and
// Cloudflare Pages to) it is cross-origin isolated and trains; served from a
// sub-folder by a plain file server that sends no such headers (GitHub Pages)
// it still trains, on WASM with threads off, and its badge says so and why.

import { createReadStream, existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { extname, join, normalize } from 'node:path';
import type { Browser } from 'playwright-core';
import type { PreviewServer } from 'vite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../src/cli/chromium';
import type { PageState } from '../../src/ui/main';
import { collectPageErrors, launchBrowser, ROOT, waitForState } from './harness';

const RUN = '?preset=nano&nLayer=1&nEmbd=16&blockSize=16&batchSize=4&corpus=builtin&backend=webgpu&maxIters=10&evalInterval=10&evalIters=2&autostart=1';
let out: string;
let preview: PreviewServer;
let plain: Server;
let plainOrigin: string;
let browser: Browser;

const TYPES: Record<string, string> = {
  '.html': 'text/html',
  '.js': 'text/javascript',
  '.css': 'text/css',
  '.wasm': 'application/wasm',
  '.json': 'application/json',
  '.txt': 'text/plain',
};

/** A file server like GitHub Pages': the site under /tabgpt/, no COOP/COEP headers. */
function plainServer(dir: string): Server {
  return createServer((req, res) => {
    const path = decodeURIComponent((req.url ?? '/').split('?')[0]);
    if (!path.startsWith('/tabgpt/')) return void res.writeHead(404).end();
    let file = normalize(join(dir, path.slice('/tabgpt/'.length)));
    if (existsSync(file) && statSync(file).isDirectory()) file = join(file, 'index.html');
    if (!file.startsWith(dir) || !existsSync(file)) return void res.writeHead(404).end('not found');
    res.writeHead(200, { 'Content-Type': TYPES[extname(file)] ?? 'application/octet-stream' });
    createReadStream(file).pipe(res);
  });
}

beforeAll(async () => {
  out = mkdtempSync(join(tmpdir(), 'tabgpt-dist-'));
  const { build, preview: startPreview } = await import('vite');
  await build({ root: ROOT, configFile: join(ROOT, 'vite.config.ts'), logLevel: 'warn', build: { outDir: out, emptyOutDir: true } });
  preview = await startPreview({
    root: ROOT,
    configFile: join(ROOT, 'vite.config.ts'),
    logLevel: 'warn',
    build: { outDir: out },
    preview: { host: '127.0.0.1', port: await freePort(), strictPort: true },
  });
  const port = await freePort();
  plain = plainServer(out);
  await new Promise<void>((resolve) => plain.listen(port, '127.0.0.1', resolve));
  plainOrigin = `http://127.0.0.1:${port}`;
  browser = await launchBrowser();
}, 300_000);
afterAll(async () => {
  await browser?.close();
  await preview?.close();
  plain?.close();
  if (out) rmSync(out, { recursive: true, force: true });
});

describe('the built site', () => {
  it('ships a _headers file with COOP/COEP; under vite preview it is cross-origin isolated and trains on WebGPU', async () => {
    const headers = readFileSync(join(out, '_headers'), 'utf8');
    expect(headers).toMatch(/Cross-Origin-Opener-Policy: same-origin/);
    expect(headers).toMatch(/Cross-Origin-Embedder-Policy: require-corp/);
    const page = await browser.newPage();
    const errors = collectPageErrors(page);
    try {
      await page.goto(`${preview.resolvedUrls!.local[0].replace(/\/$/, '')}/${RUN}`, { timeout: 120_000 });
      // Trained and checkpointed (the evaluation sample that follows is slow on SwiftShader: not waited for).
      const done = await waitForState<PageState & Record<string, unknown>>(page, (s) => s.savedStep === 10, {
        timeoutMs: 180_000,
        what: 'the run on the built site',
      });
      expect(done.step).toBe(10);
      expect(Number.isFinite(done.valLoss)).toBe(true);
      expect(done.backend).toBe('webgpu');
      expect(await page.evaluate(() => crossOriginIsolated)).toBe(true);
      expect(await page.getAttribute('#badge', 'data-threads')).toBe('on');
      expect(await page.textContent('#badge-reason')).not.toContain('threads off');
      expect(errors).toEqual([]);
    } finally {
      await page.close();
    }
  }, 240_000);

  it('from a sub-folder of a host without those headers it still trains (WASM, one thread) and the badge says threads are off and why', async () => {
    const page = await browser.newPage();
    try {
      await page.goto(`${plainOrigin}/tabgpt/${RUN}&backend=wasm`, { timeout: 120_000 });
      const done = await waitForState<PageState & Record<string, unknown>>(page, (s) => s.status === 'done', {
        timeoutMs: 180_000,
        what: 'the run without isolation',
      });
      expect(done.step).toBe(10);
      expect(done.backend).toBe('wasm');
      expect(Number.isFinite(done.valLoss)).toBe(true);
      expect(await page.evaluate(() => crossOriginIsolated)).toBe(false);
      expect(await page.textContent('#badge')).toBe('WASM');
      expect(await page.getAttribute('#badge', 'data-threads')).toBe('off');
      expect(await page.textContent('#badge-reason')).toMatch(/threads off: this host sends no cross-origin isolation headers \(COOP\/COEP\)/);
    } finally {
      await page.close();
    }
  }, 240_000);
});
