// The training page in real headless Chromium: WebGPU on SwiftShader, the
// worker, IndexedDB, downloads. Tiny models and few steps: SwiftShader runs
// WebGPU on the CPU, slowly.

import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { paramCount } from '../../src/core/counts';
import { makeConfig } from '../../src/core/config';
import type { PageState } from '../../src/ui/main';
import { collectPageErrors, launchBrowser, readState, ROOT, startServer, waitForState, type TestServer } from './harness';

const run = promisify(execFile);
/** A model small enough for SwiftShader: 1 layer, 16 wide, 16 characters of context. */
const TINY = 'preset=nano&nLayer=1&nEmbd=16&blockSize=16&batchSize=4&corpus=builtin';
const LN_V_BUILTIN = Math.log(26); // the built-in corpus has 26 distinct characters

let server: TestServer;
let browser: Browser;
let tmp: string;

beforeAll(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'tabgpt-e2e-'));
  server = await startServer();
  browser = await launchBrowser();
});
afterAll(async () => {
  await browser?.close();
  await server?.close();
  rmSync(tmp, { recursive: true, force: true });
});

async function openPage(query: string): Promise<{ context: BrowserContext; page: Page; errors: string[] }> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, acceptDownloads: true });
  const page = await context.newPage();
  const errors = collectPageErrors(page);
  await page.goto(server.url(`/?${query}`));
  return { context, page, errors };
}

const state = (page: Page) => readState<PageState>(page);
const until = (page: Page, what: string, pred: (s: PageState) => boolean, timeoutMs = 180_000) =>
  waitForState<PageState & Record<string, unknown>>(page, pred, { timeoutMs, what });

async function generate(page: Page, opts: { prompt: string; length: number; temperature: number; seed?: number }): Promise<string> {
  await page.fill('#gen-prompt', opts.prompt);
  await page.fill('#gen-length', String(opts.length));
  await page.fill('#gen-temperature', String(opts.temperature));
  await page.fill('#gen-seed', String(opts.seed ?? 1337));
  await page.click('#generate');
  const s = await until(page, 'generation to finish', (x) => !x.generating && [...x.generated].length === opts.length, 120_000);
  return s.generated;
}

/**
 * How long to watch for a step that should not come: a few of the run's own step times (its
 * progress messages arrive within one), at least 300 ms. A "nothing happened" check needs a window;
 * this keeps it short and tied to the speed of the run it watches.
 */
const quietWindow = (s: PageState) => Math.min(2000, Math.max(300, 4 * (s.msPerStep ?? 250)));

describe('training page on WebGPU', () => {
  // One page load for the describe (browser page loads are expensive): a 60-step run that each test
  // either follows (the first) or waits to finish (the others), so none needs another test to have run.
  let page: Page;
  let context: BrowserContext;
  beforeAll(async () => {
    // SwiftShader is a CPU: the automatic choice is WASM there (tested below), so WebGPU is asked for by name
    ({ page, context } = await openPage(`${TINY}&maxIters=60&evalInterval=30&logInterval=5&lr=0.01&backend=webgpu&autostart=1`));
  });
  afterAll(async () => context?.close());
  /** The shared run, finished (resumed first if a failed test left it paused). */
  async function finished(): Promise<PageState> {
    if ((await state(page)).status === 'paused') await page.click('#resume');
    return until(page, 'the run to finish', (s) => s.status === 'done');
  }

  it('shows the WebGPU badge, trains with a falling loss and streams a sample; Pause, Step and Resume act within a step', async () => {
    const first = await until(page, 'the first logged loss', (s) => s.trainLoss !== null);
    expect(first.backend).toBe('webgpu');
    expect(first.backendReason).toBe('forced by ?backend=webgpu');
    expect(await page.textContent('#badge')).toBe('WebGPU');
    expect(first.trainLoss!).toBeGreaterThan(LN_V_BUILTIN - 0.3); // an untrained model is near uniform
    // Between two loss readbacks (every 5 steps here) the page still moves every step, in the status line too.
    const between = await until(page, 'a step between two loss readbacks', (s) => s.status === 'training' && s.step % 5 !== 0);
    expect(between.statusMessage).toMatch(/^step \d+ \/ 60 · .* tok\/s · ETA /);

    const sampled = await until(page, 'the first evaluation sample', (s) => s.sample !== null);
    expect(sampled.sampleStep).toBe(30);
    expect(await page.textContent('#eval-sample')).toContain(sampled.sample!);
    expect(await page.locator('#chart-loss canvas').count()).toBeGreaterThan(0);

    await page.click('#pause');
    const paused = await until(page, 'the run to pause', (s) => s.status === 'paused');
    expect(paused.numTensors).toBeGreaterThan(0);
    await page.waitForTimeout(quietWindow(paused));
    expect((await state(page)).step).toBe(paused.step); // no step runs while paused
    await page.click('#step');
    await until(page, 'one more step', (s) => s.step === paused.step + 1);
    await page.waitForTimeout(quietWindow(paused));
    const stepped = await state(page);
    expect(stepped.step).toBe(paused.step + 1); // exactly one
    expect(stepped.status).toBe('paused');
    await page.click('#resume');
    await until(page, 'training to continue', (s) => s.step > paused.step + 1);

    const done = await until(page, 'the run to finish', (s) => s.status === 'done');
    expect(done.step).toBe(60);
    // Evaluations, samples and checkpoints in between, and the worker holds exactly as many tensors.
    expect(done.numTensors).toBe(paused.numTensors);
    expect(done.trainLoss!).toBeLessThan(first.trainLoss! - 0.3);
    expect(done.valLoss!).toBeLessThan(LN_V_BUILTIN - 0.4);
    expect(done.savedStep).toBe(60);
    expect(await page.textContent('#kpi-step')).toBe('60 / 60');
    // Units: nats or bits per character, in the figures and on the chart's axis; log-y redraws the chart.
    expect(await page.textContent('#kpi-val')).toBe(`${done.valLoss!.toFixed(3)} nats`);
    await page.check('input[name=units][value=bpc]');
    expect(await page.textContent('#kpi-val')).toBe(`${(done.valLoss! / Math.LN2).toFixed(3)} bpc`);
    expect(await page.textContent('#loss-units')).toBe('bits/char');
    await page.check('#log-y');
    expect(await page.locator('#chart-loss canvas').count()).toBe(1);
    expect(await page.textContent('#chart-loss')).toContain('uniform ln V');
  }, 300_000);

  it('downloads the model as a safetensors file that the CLI samples identically (greedy)', async () => {
    await finished();
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#download-current')]);
    expect(download.suggestedFilename()).toMatch(/^tabgpt-run-.*-step60\.safetensors$/);
    const file = join(tmp, 'page.safetensors');
    await download.saveAs(file);
    const cli = await run('node', ['bin/tabgpt.js', 'sample', '--ckpt', file, '--temperature', '0', '--prompt', 'the ', '--max-new-tokens', '80', '--json'], {
      cwd: ROOT,
    });
    const fromCli = JSON.parse(cli.stdout) as { text: string; step: number };
    expect(fromCli.step).toBe(60);
    const fromPage = await generate(page, { prompt: 'the ', length: 80, temperature: 0 });
    expect(fromPage).toBe(fromCli.text);
  }, 180_000);

  it('the recorded step (the default here) and the eager one give the same losses to the last bit', async () => {
    const recorded = await finished();
    expect(await page.getAttribute('#badge-step', 'data-step')).toBe('recorded');
    const { page: p, context: c } = await openPage(`${TINY}&maxIters=60&evalInterval=30&logInterval=5&lr=0.01&backend=webgpu&step=eager&autostart=1`);
    try {
      const eager = await until(p, 'the eager run to finish', (s) => s.status === 'done');
      expect(await p.getAttribute('#badge-step', 'data-step')).toBe('eager');
      expect(await p.getAttribute('#badge-step', 'title')).toContain('step=eager');
      expect(eager.step).toBe(60);
      expect(eager.trainLoss).toBe(recorded.trainLoss);
      expect(eager.valLoss).toBe(recorded.valLoss);
    } finally {
      await c.close();
    }
  }, 300_000);

  it('chooses WASM on its own when the WebGPU adapter is a CPU (SwiftShader), and says why on the badge; backend=measure times both', async () => {
    const { page: p, context: c } = await openPage(`${TINY}`);
    try {
      const s = await until(p, 'a backend', (x) => x.backend !== null);
      expect(s.backend).toBe('wasm');
      expect(s.backendReason).toMatch(/webgpu: the WebGPU adapter is SwiftShader, a CPU: WASM trains faster here/);
      expect(await p.textContent('#badge')).toBe('WASM');
      expect(await p.textContent('#badge-reason')).toMatch(/SwiftShader, a CPU/);
    } finally {
      await c.close();
    }
    // backend=measure: the timed choice (what a GPU adapter gets by default), here WebGPU on SwiftShader against WASM
    const { page: m, context: mc } = await openPage(`${TINY}&maxIters=10&evalInterval=10&backend=measure&autostart=1`);
    try {
      const done = await until(m, 'the measured run to finish', (x) => x.status === 'done');
      expect(done.backend).toBe('wasm');
      expect(done.backendReason).toMatch(/^measured: WASM: \d+\.\dx WebGPU for this model \(.* ms\/step; 3 timed steps each\)$/);
      expect(await m.textContent('#badge')).toBe('WASM');
      expect(done.step).toBe(10);
      expect(m.url()).toContain('backend=measure');
    } finally {
      await mc.close();
    }
  }, 180_000);

  it('falls back to WebGL when the GPU device is lost and continues from the last checkpoint', async () => {
    const { page: p, context: c, errors } = await openPage(`${TINY}&maxIters=30&evalInterval=10&backend=webgpu&autostart=1`);
    try {
      await until(p, 'the first autosave', (s) => (s.savedStep ?? 0) >= 10);
      await p.evaluate(() => (window as unknown as { tabgpt: { debug: { loseDevice(): void } } }).tabgpt.debug.loseDevice());
      const moved = await until(p, 'the fallback backend', (s) => s.backend !== 'webgpu');
      expect(moved.backend).toBe('webgl');
      expect(moved.backendReason).toMatch(/webgpu: device lost/);
      expect(await p.textContent('#badge')).toBe('WebGL');
      const done = await until(p, 'the run to finish on WebGL', (s) => s.status === 'done');
      expect(done.notices.join('\n')).toMatch(/device was lost .*continuing on webgl from the checkpoint at step \d+/);
      expect(done.step).toBe(30);
      expect(done.error).toBeNull();
      expect(Number.isFinite(done.valLoss)).toBe(true);
    } catch (e) {
      throw new Error(`${(e as Error).message}\npage errors:\n${errors.join('\n')}`);
    } finally {
      await c.close();
    }
  }, 240_000);
});

describe('training page, other paths', () => {
  it('runs on the CPU backend when ?backend=cpu forces it', async () => {
    const { page, context } = await openPage(`${TINY}&maxIters=30&evalInterval=15&lr=0.01&backend=cpu&autostart=1`);
    try {
      const done = await until(page, 'the CPU run to finish', (s) => s.status === 'done');
      expect(done.backend).toBe('cpu');
      expect(done.backendReason).toBe('forced by ?backend=cpu');
      expect(await page.textContent('#badge')).toBe('CPU');
      expect(done.step).toBe(30);
      expect(done.valLoss!).toBeLessThan(LN_V_BUILTIN - 0.2);
      // autostart is one-shot: the URL no longer carries it, so a reload does not start over
      expect(page.url()).not.toContain('autostart');
      // (Fine-tuning a saved model on a text with new characters: e2e/models.test.ts.)
    } finally {
      await context.close();
    }
  }, 120_000);

  it('reports empty, binary and too-short texts and empty or invalid model files, each in one line', async () => {
    const { page, context } = await openPage('preset=nano&corpus=builtin');
    try {
      await until(page, 'the built-in corpus', (s) => s.corpus?.kind === 'builtin');
      expect(await page.isEnabled('#start')).toBe(true);
      await page.check('input[name=corpus][value=file]');
      const upload = async (name: string, buffer: Buffer) => {
        await page.setInputFiles('#corpus-file', { name, mimeType: 'text/plain', buffer });
        await page.waitForFunction(
          () => document.querySelector('#corpus-error')!.textContent !== '' || document.querySelector('#corpus-stats')!.textContent!.includes('characters'),
        );
        return (await page.textContent('#corpus-error'))!;
      };
      expect(await upload('empty.txt', Buffer.alloc(0))).toBe('empty.txt is empty: give a text file with at least a few hundred characters');
      expect((await state(page)).error).toMatch(/^empty\.txt is empty/);
      expect(await page.isEnabled('#start')).toBe(false);
      expect(await upload('image.png', Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13]))).toMatch(/^image\.png looks binary/);
      expect(await upload('latin1.txt', Buffer.from([0x63, 0x61, 0x66, 0xe9, 0x20, 0x61]))).toMatch(/^latin1\.txt is not valid UTF-8 text/);
      expect(await upload('short.txt', Buffer.from('to be or not to be'))).toMatch(/^the text is too short: 18 characters/);
      expect(await page.isEnabled('#start')).toBe(false);
      expect(await upload('ok.txt', Buffer.from('a quick brown fox jumps over the lazy dog. '.repeat(40)))).toBe('');
      expect(await page.textContent('#corpus-stats')).toMatch(/^ok\.txt: 1,720 characters, vocabulary 28, split 1,548 train \/ 172 val$/);
      expect(await page.isEnabled('#start')).toBe(true);

      await page.check('input[name=corpus][value=paste]');
      await page.fill('#paste-text', '   \n ');
      await page.click('#paste-use');
      await page.waitForFunction(() => document.querySelector('#corpus-error')!.textContent !== '');
      expect(await page.textContent('#corpus-error')).toBe('the pasted text is empty: paste at least a few hundred characters');

      await page.setInputFiles('#model-file', { name: 'empty.safetensors', mimeType: 'application/octet-stream', buffer: Buffer.alloc(0) });
      await page.waitForFunction(() => document.querySelector('#models-error')!.textContent !== '');
      expect(await page.textContent('#models-error')).toMatch(/^empty\.safetensors is empty: choose a \.safetensors file written by tabgpt/);
      await page.setInputFiles('#model-file', {
        name: 'junk.safetensors',
        mimeType: 'application/octet-stream',
        buffer: Buffer.from('not a checkpoint at all, just text'),
      });
      await page.waitForFunction(() => /junk/.test(document.querySelector('#models-error')!.textContent!));
      expect(await page.textContent('#models-error')).toMatch(/^junk\.safetensors is not a valid tabgpt checkpoint: /);
    } finally {
      await context.close();
    }
  }, 120_000);

  it('keeps settings in the URL (non-defaults only), validates next to the field, and builds the CLI line', async () => {
    const { page, context } = await openPage('preset=nano&corpus=builtin');
    try {
      await until(page, 'the built-in corpus', (s) => s.corpus?.kind === 'builtin');
      await page.fill('#f-nLayer', '3');
      await page.waitForFunction(() => location.search.includes('nLayer=3'));
      expect(new URL(page.url()).search).toBe('?preset=nano&nLayer=3&corpus=builtin');
      expect(await page.textContent('#cli-command')).toBe('npx tabgpt train --corpus builtin --preset nano --n-layer 3');
      const counts = paramCount({ ...makeConfig({ preset: 'nano', nLayer: 3 }), vocabSize: 26 });
      expect(await page.textContent('#param-count')).toContain(
        `${(counts.total / 1000).toFixed(1)}k parameters (${(counts.nonEmbedding / 1000).toFixed(1)}k non-embedding)`,
      );
      await page.fill('#f-nLayer', '2'); // back to the preset's value: dropped from the URL
      await page.waitForFunction(() => !location.search.includes('nLayer'));
      await page.fill('#f-nHead', '3');
      const msg = page.locator('#f-nEmbd + .about + .field-error');
      await expect.poll(() => msg.textContent()).toMatch(/^nEmbd \(32\) must be divisible by nHead \(3\)/);
      expect(await page.isEnabled('#start')).toBe(false);
      await page.fill('#f-nHead', '4');
      await expect.poll(() => msg.textContent()).toBe('');
      expect(await page.isEnabled('#start')).toBe(true);
      expect(new URL(page.url()).search).toBe('?preset=nano&nHead=4&corpus=builtin');
    } finally {
      await context.close();
    }
  }, 60_000);

  it('inserts sampled text as text, never as HTML', async () => {
    const { page, context } = await openPage('preset=nano&nLayer=1&nEmbd=16&blockSize=16&batchSize=8&maxIters=60&evalInterval=30&lr=0.01&backend=cpu');
    try {
      await until(page, 'the backend', (s) => s.backend === 'cpu');
      await page.check('input[name=corpus][value=paste]');
      await page.fill('#paste-text', '<b>bold</b> <img src=x onerror="window.pwned=1"> '.repeat(60));
      await page.click('#paste-use');
      await until(page, 'the pasted corpus', (s) => s.corpus?.kind === 'paste');
      await page.click('#start');
      await until(page, 'the run to finish', (s) => s.status === 'done');
      const text = await generate(page, { prompt: '<img src=x ', length: 120, temperature: 1, seed: 3 });
      expect(text).toMatch(/[<>]/); // the model does write markup characters...
      expect(await page.locator('#gen-output *').count()).toBe(1); // ...which stay text: the only element is the prompt's span
      expect(await page.locator('#eval-sample *').count()).toBe(0);
      expect(await page.textContent('#gen-output')).toBe('<img src=x ' + text);
      expect(await page.evaluate(() => (window as unknown as { pwned?: number }).pwned)).toBeUndefined();

      // Stop works mid-generation (on the CPU backend the worker never yields: shared memory carries it).
      await page.fill('#gen-length', '5000');
      await page.click('#generate');
      await until(page, 'the first characters', (s) => s.generating && s.generated.length > 0);
      await page.click('#gen-stop');
      const stopped = await until(page, 'the generation to stop', (s) => !s.generating);
      expect([...stopped.generated].length).toBeLessThan(5000);
      expect(await page.textContent('#gen-stats')).toMatch(/ · stopped$/);
    } finally {
      await context.close();
    }
  }, 120_000);
});
