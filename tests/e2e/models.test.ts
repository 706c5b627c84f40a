// Keeping models on the training page, in real Chromium: a checkpoint the CLI
// wrote loads in the page and samples the same text; a run autosaved in
// IndexedDB resumes after a reload and ends exactly where an uninterrupted
// run ends; a fine-tune on a text with new characters grows the vocabulary and
// overlays the from-scratch curve of that text.

import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PageState } from '../../src/ui/main';
import { collectPageErrors, launchBrowser, ROOT, startServer, waitForState, type TestServer } from './harness';

const run = promisify(execFile);

let server: TestServer;
let browser: Browser;
let tmp: string;

beforeAll(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'tabgpt-e2e-'));
  [server, browser] = await Promise.all([startServer(), launchBrowser()]);
});
afterAll(async () => {
  await browser?.close();
  await server?.close();
  rmSync(tmp, { recursive: true, force: true });
});

const until = (page: Page, what: string, pred: (s: PageState) => boolean, timeoutMs = 180_000) =>
  waitForState<PageState & Record<string, unknown>>(page, pred, { timeoutMs, what });

async function generate(page: Page, opts: { prompt: string; length: number; temperature: number; seed: number }): Promise<string> {
  await page.fill('#gen-prompt', opts.prompt);
  await page.fill('#gen-length', String(opts.length));
  await page.fill('#gen-temperature', String(opts.temperature));
  await page.fill('#gen-seed', String(opts.seed));
  await page.click('#generate');
  const s = await until(page, 'generation to finish', (x) => !x.generating && [...x.generated].length === opts.length, 120_000);
  return s.generated;
}

async function cliSample(ckpt: string, args: string[]): Promise<string> {
  const { stdout } = await run('node', ['bin/tabgpt.js', 'sample', '--ckpt', ckpt, '--json', ...args], { cwd: ROOT });
  return (JSON.parse(stdout) as { text: string }).text;
}

describe('saved models', () => {
  it('loads a checkpoint written by the CLI and samples what the CLI samples (greedy and seeded), on WebGPU', async () => {
    const ckpt = join(tmp, 'ckpt.safetensors');
    // lr 0.01 for 60 steps: far enough from uniform that greedy text is not one repeated character.
    await run('node', ['bin/tabgpt.js', 'train', '--corpus', 'builtin', '--preset', 'nano', '--max-iters', '60', '--lr', '0.01', '--out', ckpt, '--json'], {
      cwd: ROOT,
    });
    const greedy = await cliSample(ckpt, ['--temperature', '0', '--prompt', 'the ', '--max-new-tokens', '60']);
    const seeded = await cliSample(ckpt, ['--temperature', '0.8', '--top-k', '10', '--seed', '5', '--max-new-tokens', '60']);
    expect(new Set(greedy).size).toBeGreaterThan(3);

    const context = await browser.newContext();
    const page = await context.newPage();
    const errors = collectPageErrors(page);
    try {
      await page.goto(server.url('/?corpus=builtin&backend=webgpu'));
      await until(page, 'WebGPU', (s) => s.backend === 'webgpu');
      await page.setInputFiles('#model-file', ckpt);
      const loaded = await until(page, 'the uploaded model', (s) => s.model?.source === 'ckpt.safetensors');
      expect(loaded.model!.step).toBe(60);
      await page.waitForSelector('#models-body tr:has-text("uploaded")');
      expect(await generate(page, { prompt: 'the ', length: 60, temperature: 0, seed: 1337 })).toBe(greedy);
      await page.fill('#gen-topk', '10');
      expect(await generate(page, { prompt: '', length: 60, temperature: 0.8, seed: 5 })).toBe(seeded);
    } catch (e) {
      throw new Error(`${(e as Error).message}\npage errors:\n${errors.join('\n')}`);
    } finally {
      await context.close();
    }
  }, 240_000);

  it("takes nanoGPT's ckpt.pt with its meta.pkl (to-nanogpt's export) and samples what the CLI samples; a hostile ckpt.pt dropped on the list gets one line", async () => {
    const ckpt = join(tmp, 'nano.safetensors');
    const out = join(tmp, 'nanogpt');
    await run('node', ['bin/tabgpt.js', 'train', '--corpus', 'builtin', '--preset', 'nano', '--max-iters', '60', '--lr', '0.01', '--out', ckpt, '--json'], {
      cwd: ROOT,
    });
    await run('node', ['bin/tabgpt.js', 'to-nanogpt', '--ckpt', ckpt, '--out', out], { cwd: ROOT });
    const greedy = await cliSample(ckpt, ['--temperature', '0', '--prompt', 'the ', '--max-new-tokens', '60']);
    // a torch.save file whose pickle calls os.system: a zip with archive/data.pkl, stored
    const { zipSync } = await import('fflate');
    const evil = Buffer.from(zipSync({ 'archive/data.pkl': [Buffer.from('\x80\x02cos\nsystem\nX\x02\x00\x00\x00id\x85R.', 'latin1'), { level: 0 }] }));
    const context = await browser.newContext();
    const page = await context.newPage();
    const errors = collectPageErrors(page);
    try {
      await page.goto(server.url('/?corpus=builtin&backend=webgpu'));
      await until(page, 'WebGPU', (s) => s.backend === 'webgpu');
      // dropped on the Saved models card (the real pair below is chosen with the Upload button)
      const dropped = await page.evaluateHandle(
        (bytes) => {
          const dt = new DataTransfer();
          dt.items.add(new File([new Uint8Array(bytes)], 'ckpt.pt'));
          return dt;
        },
        [...evil],
      );
      await page.dispatchEvent('#models-body', 'drop', { dataTransfer: dropped });
      await expect
        .poll(() => page.textContent('#models-error'))
        .toBe('ckpt.pt: refers to os.system, which is not part of a PyTorch checkpoint: refused (tabgpt never executes a pickle)');
      await page.setInputFiles('#model-file', [join(out, 'ckpt.pt'), join(out, 'meta.pkl')]);
      const loaded = await until(page, 'the uploaded ckpt.pt', (s) => s.model?.source === 'ckpt.safetensors');
      expect(loaded.model!.step).toBe(60);
      expect(await page.textContent('#models-error')).toBe('');
      expect(await generate(page, { prompt: 'the ', length: 60, temperature: 0, seed: 1337 })).toBe(greedy);
    } catch (e) {
      throw new Error(`${(e as Error).message}\npage errors:\n${errors.join('\n')}`);
    } finally {
      await context.close();
    }
  }, 240_000);

  it('offers to resume a stopped run after a reload and continues it exactly from its IndexedDB save', async () => {
    const query = 'preset=nano&nLayer=1&nEmbd=16&blockSize=16&batchSize=4&corpus=builtin&maxIters=150&evalInterval=10&logInterval=5&lr=0.01&backend=wasm';
    const context = await browser.newContext();
    const page = await context.newPage();
    const errors = collectPageErrors(page);
    try {
      // The reference: the same run, uninterrupted.
      await page.goto(server.url(`/?${query}&autostart=1`));
      const reference = await until(page, 'the uninterrupted run', (s) => s.status === 'done');
      expect(reference.step).toBe(150);

      // The same run again, stopped mid-way (between evaluations) and the tab reloaded.
      await page.goto(server.url(`/?${query}&autostart=1`));
      await until(page, 'an autosave', (s) => (s.savedStep ?? 0) >= 20 && s.status !== 'done');
      await page.click('#stop');
      const stopped = await until(page, 'the stop to be saved', (s) => s.status === 'done' && s.savedStep === s.step);
      expect(stopped.statusMessage).toBe(`stopped at step ${stopped.step}`);
      expect(stopped.step).toBeLessThan(150);
      await page.reload();
      expect(page.url()).not.toContain('autostart'); // a reload does not start over
      await page.waitForSelector('#resume-offer:not([hidden])');
      expect(await page.textContent('#resume-text')).toContain(`saved at step ${stopped.step} of 150`);
      expect((await until(page, 'the reloaded page', (s) => s.status === 'idle')).step).toBe(0);
      await page.click('#resume-run');
      const resumed = await until(page, 'the resumed run', (s) => s.resumedFrom !== null && s.step > stopped.step);
      expect(resumed.resumedFrom).toBe(stopped.step);
      const done = await until(page, 'the resumed run to finish', (s) => s.status === 'done');
      expect(done.step).toBe(150);
      // Same weights, AdamW moments, step and batch order: the curve continues as if never interrupted.
      expect(done.valLoss).toBeCloseTo(reference.valLoss!, 5);

      // The finished run replaced its unfinished save, so nothing is offered any more; Delete empties the list.
      await page.reload();
      await page.waitForSelector('#models-body tr[data-id]');
      expect(await page.locator('#models-body tr[data-id]').count()).toBe(2); // the reference run and the resumed one
      expect(await page.isHidden('#resume-offer')).toBe(true);
      for (let n = 2; n > 0; n--) {
        await page.click('#models-body tr[data-id] button[data-action="delete"]');
        await expect.poll(() => page.locator('#models-body tr[data-id]').count()).toBe(n - 1);
      }
      expect(await page.textContent('#models-body')).toContain('Nothing saved yet');
    } catch (e) {
      throw new Error(`${(e as Error).message}\npage errors:\n${errors.join('\n')}`);
    } finally {
      await context.close();
    }
  }, 240_000);

  it('fine-tunes a saved model on a text with new characters, names them, and overlays the from-scratch curve of that text', async () => {
    const query = 'preset=nano&nLayer=1&nEmbd=16&blockSize=16&batchSize=4&maxIters=20&evalInterval=10&logInterval=5&lr=0.01&backend=wasm';
    const textA = 'the quick brown fox jumps over the lazy dog. '.repeat(20);
    const textB = 'the café garçon — jumps over the lazy dog. '.repeat(20); // ç é — are new to A's model
    const context = await browser.newContext();
    const page = await context.newPage();
    const errors = collectPageErrors(page);
    const trainOn = async (text: string, previousRun: string | null) => {
      await page.check('input[name=corpus][value=paste]');
      await page.fill('#paste-text', text);
      await page.click('#paste-use');
      await until(page, 'the pasted text', (s) => s.corpus?.kind === 'paste' && s.corpus.chars === [...text].length);
      await page.click('#start');
      // A new run: the previous one's finished state would match the rest at once.
      return until(
        page,
        'the run to finish and be saved',
        (s) => s.runId !== previousRun && s.status === 'done' && s.savedStep === 20 && s.model?.source === s.runId,
      );
    };
    try {
      await page.goto(server.url(`/?${query}`));
      const a = await trainOn(textA, null); // the model to fine-tune
      const b = await trainOn(textB, a.runId); // from scratch on the new text: the curve to compare with
      await page.waitForSelector(`#models-body tr[data-id="${a.runId}@20"]`);
      await page.click(`#models-body tr[data-id="${a.runId}@20"] button[data-action="fine-tune"]`);
      const ft = await until(
        page,
        'the fine-tune to finish',
        (s) => s.status === 'done' && s.runId !== b.runId && s.savedStep === 20 && s.model?.source === s.runId,
      );
      expect(ft.notices).toContain("Fine-tune: 3 new characters: 'ç', 'é', '—' (added to the model's vocabulary)");
      expect(ft.error).toBeNull();
      expect(ft.step).toBe(20);
      expect(ft.model!.params).toBe(a.model!.params + 3 * 16); // three more rows of the (tied) token embedding
      expect(ft.valLoss!).toBeLessThan(Math.log(a.corpus!.vocabSize + 3));
      expect(ft.notices.some((n) => n.startsWith('Dashed: from scratch ('))).toBe(true);
      expect(await page.textContent('#chart-loss .u-legend')).toContain('from scratch (');
    } catch (e) {
      throw new Error(`${(e as Error).message}\npage errors:\n${errors.join('\n')}`);
    } finally {
      await context.close();
    }
  }, 240_000);
});
