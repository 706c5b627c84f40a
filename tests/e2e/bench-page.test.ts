// The benchmark page in real Chromium: it runs core/bench.ts in a worker per
// backend and reports the same rows as `tabgpt bench`. Browser WASM must be
// cross-origin isolated (threads available) and SIMD. Tiny budgets; no time is
// asserted. WebGPU and WebGL take minutes per preset on SwiftShader, so the
// row test uses wasm and cpu; `npm run bench -- --browser` covers the rest.

import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import type { Browser } from 'playwright-core';
import type { BenchPageState } from '../../src/ui/bench.ts';
import { BENCH_DEFAULTS } from '../../src/core/bench-defs.ts';
import { collectPageErrors, launchBrowser, startServer, waitForState, type TestServer } from './harness.ts';

let server: TestServer;
let browser: Browser;

beforeAll(async () => {
  server = await startServer();
  browser = await launchBrowser();
});

afterAll(async () => {
  await browser?.close();
  await server?.close();
});

const REQUIRED = [
  'backend',
  'preset',
  'params',
  'tokensPerSec',
  'msPerStep',
  'modelGflops',
  'matmulGflops',
  'mfu',
  'firstStepMs',
  'tensorsAtStep10',
  'tensorsAtStep100',
  'genTokensPerSecCached',
  'genTokensPerSecRecompute',
];

describe('bench.html', () => {
  it('measures nano on wasm and cpu: one row each, no tensor growth, isolated multithread-capable SIMD wasm', async () => {
    const page = await browser.newPage();
    const errors = collectPageErrors(page);
    await page.goto(server.url('/bench.html?auto=1&backends=wasm,cpu&presets=nano&budget=0.1&repeats=1&gen=4&batch=2'));
    const s = await waitForState<BenchPageState & Record<string, unknown>>(page, (st) => st.status === 'done', {
      timeoutMs: 150_000,
      what: 'the benchmark to finish',
    });
    expect(s.errors, errors.join('\n')).toEqual([]);
    expect(s.rows.map((r) => `${r.backend} ${r.preset}`)).toEqual(['wasm nano', 'cpu nano']);
    for (const row of s.rows) {
      for (const k of REQUIRED) expect(row, k).toHaveProperty(k);
      expect(row.batchSize).toBe(2);
      expect(row.tensorsAtStep100).toBe(row.tensorsAtStep10);
      expect(row.tokensPerSec).toBeGreaterThan(0);
      expect(row.mfu).toBeCloseTo(row.modelGflops / row.matmulGflops, 9);
      expect(row.cpuMfu).toBeUndefined(); // no CPU clock in a browser
    }
    expect(s.envs.wasm).toMatchObject({ crossOriginIsolated: true, simd: true, multithread: true });
    expect(s.envs.wasm.threads).toBeGreaterThanOrEqual(1);
    // the same rows as text and JSON lines on the page
    await expect.poll(() => page.textContent('#table')).toMatch(/wasm\s+nano[\s\S]*cpu\s+nano/);
    const json = (await page.textContent('#json'))!
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(json.map((r) => r.backend)).toEqual(['wasm', 'cpu']);
    await page.close();
  });

  it('shows the same defaults as `tabgpt bench` (core/bench-defs.ts) when the URL sets none', async () => {
    const page = await browser.newPage();
    const errors = collectPageErrors(page);
    await page.goto(server.url('/bench.html'));
    await page.waitForSelector('#presets input');
    expect(errors).toEqual([]);
    expect(await page.inputValue('#budget')).toBe(String(BENCH_DEFAULTS.trainBudgetMs / 1000));
    expect(await page.inputValue('#repeats')).toBe(String(BENCH_DEFAULTS.repeats));
    expect(await page.inputValue('#gen')).toBe(String(BENCH_DEFAULTS.genTokens));
    expect(await page.inputValue('#batch')).toBe('');
    const checkedIn = (id: string) => page.$$eval(`#${id} input:checked`, (boxes) => boxes.map((b) => (b as HTMLInputElement).value));
    expect(await checkedIn('presets')).toEqual(BENCH_DEFAULTS.presets);
    expect(await checkedIn('backends')).toEqual(['webgpu', 'webgl', 'wasm', 'cpu']);
    await page.close();
  });

  it('says which URL values are wrong and what to choose', async () => {
    const page = await browser.newPage();
    await page.goto(server.url('/bench.html?backends=tpu,wasm&presets=huge'));
    const s = await waitForState<BenchPageState & Record<string, unknown>>(page, (st) => st.errors.length >= 2, { what: 'the URL errors' });
    expect(s.errors).toEqual(['?backends= has tpu: choose from webgpu, webgl, wasm, cpu', '?presets= has huge: choose from nano, micro, baby, mini, small']);
    expect(await page.textContent('#errors')).toContain('?backends= has tpu');
    // the valid part of the list is kept
    expect(await page.isChecked('#backends input[value=wasm]')).toBe(true);
    expect(await page.isChecked('#backends input[value=webgpu]')).toBe(false);
    await page.close();
  });
});
