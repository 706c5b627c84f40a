/// <reference types="vitest/config" />
// Vite serves and builds the two pages (training, scaling lab) plus the
// browser benchmark. Cross-origin isolation headers (COOP/COEP) everywhere so
// the WASM backend may use threads (SharedArrayBuffer); the git-ignored corpus
// cache under data/cache/ is served at /data/cache/ by dev and preview alike.

import { defineConfig, type Plugin } from 'vite';
import { existsSync, createReadStream, statSync } from 'node:fs';
import { join, normalize, resolve } from 'node:path';

const isolation = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
};

/** Serve data/cache/* (dev and preview) so the page finds Tiny Shakespeare locally. */
function dataCache(): Plugin {
  const dir = resolve(import.meta.dirname, 'data/cache');
  const handler = (req: { url?: string }, res: import('node:http').ServerResponse, next: () => void) => {
    const url = (req.url ?? '').split('?')[0];
    if (!url.startsWith('/data/cache/')) return next();
    const file = normalize(join(dir, decodeURIComponent(url.slice('/data/cache/'.length))));
    if (!file.startsWith(dir) || !existsSync(file) || !statSync(file).isFile()) {
      res.statusCode = 404;
      return res.end('not cached');
    }
    res.setHeader('Content-Type', 'text/plain; charset=utf-8');
    res.setHeader('Cross-Origin-Resource-Policy', 'same-origin');
    createReadStream(file).pipe(res);
  };
  return {
    name: 'tabgpt-data-cache',
    configureServer: (server) => void server.middlewares.use(handler),
    configurePreviewServer: (server) => void server.middlewares.use(handler),
  };
}

export default defineConfig({
  // Relative asset URLs: the build works from any folder of any static host (a GitHub Pages project site is /<repo>/).
  base: './',
  plugins: [dataCache()],
  server: { host: '127.0.0.1', headers: isolation },
  preview: { host: '127.0.0.1', headers: isolation },
  worker: { format: 'es' },
  build: {
    target: 'es2022',
    // Not minified: tfjs starts its wasm threads from the source text of its
    // module factory (Function.toString), and a minifier's renames outside that
    // function break it in the pthread workers ("e is not defined"). Measured:
    // the same page works unminified; gzip keeps the transfer size reasonable.
    minify: false,
    rollupOptions: {
      input: {
        main: resolve(import.meta.dirname, 'index.html'),
        scaling: resolve(import.meta.dirname, 'scaling.html'),
        bench: resolve(import.meta.dirname, 'bench.html'),
      },
    },
  },
  optimizeDeps: {
    entries: ['*.html'], // whichever pages exist (a missing one must not stop the scan)
    // Pre-bundle what the training worker imports up front: the dep scanner does not
    // follow `new Worker(new URL(...))`, and a late discovery reloads the page mid-run.
    // The wasm backend is bundled too (its threaded worker script is CommonJS, which an
    // excluded package cannot import); its .wasm files come from setWasmPaths (?url imports).
    include: ['@tensorflow/tfjs-core', '@tensorflow/tfjs', '@tensorflow/tfjs-backend-webgpu', '@tensorflow/tfjs-backend-wasm', 'uplot'],
  },
  test: {
    include: ['tests/**/*.test.ts'],
    environment: 'node',
    testTimeout: 120_000,
    hookTimeout: 180_000,
    pool: 'forks',
    setupFiles: ['tests/setup.ts'],
  },
});
