// The scaling page in real headless Chromium on WebGPU (SwiftShader): a tiny
// sweep (3 sizes + a repeat seed, 20 steps each) runs to the end, every run is
// in IndexedDB, a reload mid-sweep offers to resume and the resumed sweep does
// not redo finished runs; the results export and import in the CLI's format.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync, writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { collectPageErrors, launchBrowser, readState, startServer, waitForState, type TestServer } from './harness';
import { emptyResults, parseResults, resultsToCSV, resultsToJSON, withRun } from '../../src/core/scaling/sweep-results';
import { specFromJSON } from '../../src/core/scaling/sweep';
import { planRuns } from '../../src/core/scaling/sweep-plan';
import type { ScalingState } from '../../src/ui/scaling';

// 3 tiny sizes (test-only ladder) plus a second seed at the smallest: 4 runs of 20 steps of 4 x 16 tokens.
// lrScale=4 pins the fixture's lr (the default rule may move with new scans; 20-step runs at 8x Kaplan give a 3-point fit nothing to place).
const SWEEP =
  '?corpus=builtin&sizes=3&minParams=1000&maxParams=5000&testOnlySmallLadder=1&minSteps=0&headSize=8&widthPerLayer=8&lrScale=4' +
  '&blockSize=16&batchSize=4&tokens=1280&evalIters=2&evalsPerRun=1&repeatSeeds=2&repeatSizes=0&backend=webgpu';

type State = ScalingState & Record<string, unknown>;

let server: TestServer;
let browser: Browser;
let page: Page;
let errors: string[] = [];
const dir = mkdtempSync(join(tmpdir(), 'tabgpt-scaling-e2e-'));

beforeAll(async () => {
  server = await startServer();
  browser = await launchBrowser();
  page = await browser.newPage({ acceptDownloads: true });
  errors = collectPageErrors(page);
  page.on('response', (r) => {
    if (r.status() >= 400) errors.push(`HTTP ${r.status()} ${r.url()}`);
  });
});

afterAll(async () => {
  await browser?.close();
  await server?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('scaling page (Chromium, WebGPU)', () => {
  it('runs a tiny sweep, survives a reload mid-sweep, resumes without redoing finished runs', async () => {
    await page.goto(server.url(`/scaling.html${SWEEP}&autostart=1`));
    const running = await waitForState<State>(page, (s) => s.status === 'running' && s.saved >= 1, { timeoutMs: 240_000, what: 'the first saved run' });
    expect(running.backend).toBe('webgpu');
    expect(running.runsTotal).toBe(4);
    const stored = await page.evaluate(
      () =>
        new Promise<{ id: string; finishedAt: string }[]>((resolve, reject) => {
          const req = indexedDB.open('tabgpt-scaling');
          req.onsuccess = () => {
            const get = req.result.transaction('sweeps').objectStore('sweeps').get('current');
            get.onsuccess = () => resolve(get.result.results.runs.map((r: { id: string; finishedAt: string }) => ({ id: r.id, finishedAt: r.finishedAt })));
            get.onerror = () => reject(get.error);
          };
          req.onerror = () => reject(req.error);
        }),
    );
    expect(stored.length).toBeGreaterThanOrEqual(1);

    // Close the tab's work mid-sweep: reload without autostart. The page offers to resume.
    await page.goto(server.url(`/scaling.html${SWEEP}`));
    const reloaded = await waitForState<State>(page, (s) => s.status === 'idle' && s.backend !== null && s.corpus !== null, { what: 'the reloaded page' });
    expect(reloaded.runsDone).toBeGreaterThanOrEqual(stored.length);
    expect(reloaded.runsDone).toBeLessThan(4);
    expect(await page.isVisible('#resume-offer')).toBe(true);
    const doneBefore = reloaded.runsDone;

    await page.click('#resume-sweep');
    const done = await waitForState<State>(page, (s) => s.status === 'done', { timeoutMs: 300_000, what: 'the resumed sweep to finish' });
    expect(done.runsDone).toBe(4);
    expect(done.runsTotal).toBe(4);
    expect(done.saved).toBe(4);
    expect(done.startedThisSession).toHaveLength(4 - doneBefore); // finished runs were not started again
    for (const s of stored) expect(done.startedThisSession).not.toContain(s.id);
    // 4 runs at 3 sizes: enough for E + (Nc/N)^alpha.
    expect(done.fit).not.toBeNull();
    expect(done.fit!.paramKind).toBe('nonEmbedding');
    expect(done.fit!.points).toBe(4);
    expect(Number.isFinite(done.fit!.alpha)).toBe(true);
    // Once 3 runs had landed, the next (the repeat seed) was placed against the fit's prediction before it ran.
    const [lastId] = Object.keys(done.predictions).slice(-1);
    expect(lastId).toMatch(/-s2$/);
    expect(done.predictions[lastId]).toBeGreaterThan(0);
    // The plots are drawn (uPlot canvases) and the tables filled.
    expect(await page.locator('#plot-loss-n canvas').count()).toBeGreaterThan(0);
    expect(await page.locator('#plot-compute canvas').count()).toBeGreaterThan(0);
    expect(await page.locator('#runs tbody tr').count()).toBe(4);
    expect(await page.locator('#constants').textContent()).toContain('Chinchilla');
    expect(errors.filter((e) => !e.includes('favicon'))).toEqual([]);

    // The results export as JSON that the CLI's parser reads.
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#export-json')]);
    const path = join(dir, 'export.json');
    await download.saveAs(path);
    const exported = parseResults(readFileSync(path, 'utf8'), path);
    expect(exported.runs).toHaveLength(4);
    expect(exported.runs.every((r) => r.backend === 'webgpu')).toBe(true);
    expect(exported.spec.testOnlySmallLadder).toBe(true);
  }, 600_000);

  it('imports a CLI sweep as CSV and as JSON, refits on total parameters, and clears', async () => {
    // Its own results (a CLI sweep on the ground-truth corpus, in the repository), on the page cleared first:
    // nothing from the sweep above is needed.
    const small = join(process.cwd(), 'data', 'scaling-builtin-small.json');
    const results = parseResults(readFileSync(small, 'utf8'), small);
    const runs = results.runs.length;
    await page.goto(server.url('/scaling.html'));
    await waitForState<State>(page, (s) => s.backend !== null && s.corpus !== null, { what: 'the page' });
    await page.click('#clear');
    await waitForState<State>(page, (s) => s.runsDone === 0 && s.fit === null, { what: 'the cleared page' });
    const csvPath = join(dir, 'import.csv');
    writeFileSync(csvPath, resultsToCSV(results));
    await page.setInputFiles('#import', csvPath);
    const imported = await waitForState<State>(page, (s) => s.runsDone === runs, { what: 'the imported results' });
    expect(imported.fit).not.toBeNull();
    // The imported sweep is written to IndexedDB too (the transaction may still be committing here).
    await waitForState<State>(page, (s) => s.saved === runs, { what: 'the imported results to be saved' });
    // The parameter-count toggle refits on total parameters (with embeddings).
    await page.selectOption('#paramKind', 'total');
    const total = await waitForState<State>(page, (s) => s.fit?.paramKind === 'total', { what: 'the fit on total parameters' });
    expect(total.fit!.Nc).not.toBe(imported.fit!.Nc);

    // The same sweep as the CLI's JSON file imports with its corpus named in the form, no spec error.
    await page.click('#clear');
    await waitForState<State>(page, (s) => s.runsDone === 0 && s.fit === null, { what: 'the cleared page' });
    await page.setInputFiles('#import', small);
    await waitForState<State>(page, (s) => s.runsDone === runs && s.fit !== null, { what: 'the builtin-small results' });
    expect(await page.inputValue('#corpus')).toBe('builtin-small');
    expect(await page.textContent('#spec-error')).toBe('');
    expect(page.url()).toContain('corpus=builtin-small');
    expect((await readState<State>(page)).fit!.valid).toBe(true);
    expect(await page.locator('#constants').textContent()).not.toContain('not a scaling law');

    // Larger models worse (150k-token runs at too high an lr): the page says the fit is not a scaling law.
    const spec = specFromJSON({ sizes: 5, minParams: 5000, maxParams: 120_000, tokens: 150_000 });
    const losses = [2.661, 3.114, 2.57, 2.828, 2.904];
    const corpus = { source: 'synthetic', chars: 1_115_394, trainChars: 1_003_854, valChars: 111_540, vocabSize: 65, sha256: 'x' };
    const bad = planRuns(spec, corpus).reduce(
      (acc, p) =>
        withRun(acc, {
          ...p,
          trainLoss: losses[p.sizeIndex],
          valLoss: losses[p.sizeIndex],
          trainBpc: 3,
          valBpc: 3,
          valTokens: 51_200,
          curve: [{ step: p.config.maxIters, tokens: p.tokens, trainLoss: losses[p.sizeIndex], valLoss: losses[p.sizeIndex] }],
          wallSec: 10,
          tokensPerSec: 20_000,
          backend: 'wasm',
          finishedAt: '2026-01-01T00:00:00.000Z',
        }),
      emptyResults(spec, corpus),
    );
    const badPath = join(dir, 'not-a-law.json');
    writeFileSync(badPath, resultsToJSON(bad));
    await page.setInputFiles('#import', badPath);
    const invalid = await waitForState<State>(page, (s) => s.runsDone === 5 && s.fit !== null, { what: 'the not-a-law results' });
    expect(invalid.fit!.valid).toBe(false);
    expect(invalid.fit!.problems.join(' ')).toMatch(/largest size .* is not better than the smallest/);
    expect(await page.locator('#constants caption').textContent()).toMatch(/Not a scaling law:.*fix: /);
    expect(await page.locator('#constants tbody tr').first().textContent()).toContain('not a scaling law');
    expect(await page.locator('#plot-loss-n .u-title').textContent()).toContain('not a scaling law');
    expect(await page.textContent('#fit-summary')).toMatch(/^Not a scaling law: /);
  }, 300_000); // three imports, each fitted with bootstrap intervals in the page
});
