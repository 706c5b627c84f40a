// The training page's views ("see inside the model") in real Chromium with
// WebGPU on SwiftShader, all on ONE page load of a tiny model (CI time): each
// view is checked against the model: next-character bars against the worker's
// logits and greedy generation, attention rows (sum 1, causal), loss by
// position against the reported validation loss, one embedding point per
// vocabulary character, scores, run comparison, this machine's panel, the
// exports, and the phone layout and dark theme.

import { readFileSync } from 'node:fs';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PageState } from '../../src/ui/main';
import type { ViewsSnapshot } from '../../src/ui/views/panel';
import { collectPageErrors, launchBrowser, startServer, waitForState, type TestServer } from './harness';

/** 2 layers x 2 heads, 16 wide, 16 characters of context; two evaluations (steps 10 and 20). */
const URL =
  '/?preset=nano&nEmbd=16&blockSize=16&batchSize=4&corpus=builtin&maxIters=20&evalInterval=10&evalIters=2&logInterval=5&lr=0.01&backend=webgpu&views=1&autostart=1';
const T = 16;

let server: TestServer;
let browser: Browser;
let context: BrowserContext;
let page: Page;
let errors: string[];

beforeAll(async () => {
  server = await startServer();
  browser = await launchBrowser();
  context = await browser.newContext({ viewport: { width: 1280, height: 900 }, acceptDownloads: true });
  page = await context.newPage();
  errors = collectPageErrors(page);
  await page.goto(server.url(URL), { timeout: 120_000 }); // a cold dev server transforms tfjs first
});
afterAll(async () => {
  await context?.close();
  await browser?.close();
  await server?.close();
});

const views = () => page.evaluate(() => (window as unknown as { tabgpt: { views: ViewsSnapshot } }).tabgpt.views);
async function untilViews(what: string, pred: (v: ViewsSnapshot) => boolean, timeoutMs = 120_000): Promise<ViewsSnapshot> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await views();
    if (pred(v)) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; views: ${JSON.stringify(v).slice(0, 600)}\npage errors: ${errors.join('\n')}`);
    await page.waitForTimeout(150); // a poll's interval: the predicate is a Node closure, checked on each read of the snapshot
  }
}
const softmax = (z: number[]) => {
  const m = Math.max(...z);
  const e = z.map((v) => Math.exp(v - m));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / s);
};

describe('the views on one trained tiny model', () => {
  // The page loaded once (beforeAll above) trains to the end here, so that every test starts from the
  // trained model, whichever tests run.
  let done: PageState;
  beforeAll(async () => {
    done = await waitForState<PageState & Record<string, unknown>>(page, (s) => s.status === 'done', { timeoutMs: 540_000, what: 'the run to finish' });
  }, 600_000);

  /** Up to 20 characters of the evaluation's sample that the model knows (or 'the'). */
  async function promptText(): Promise<string> {
    const vocab = (await views()).vocab ?? [];
    const prompt = (await page.evaluate(() => (window as unknown as { tabgpt: { state: PageState } }).tabgpt.state.sample)) ?? '';
    return (
      [...prompt]
        .filter((c) => vocab.length === 0 || vocab.includes(c))
        .slice(0, 20)
        .join('') || 'the'
    );
  }

  it('trains with the views open; loss by position has blockSize points and its mean is the reported validation loss', async () => {
    expect(done.backend).toBe('webgpu');
    expect(page.url()).toContain('views=1');
    expect(await page.isVisible('#views')).toBe(true);
    const v = await untilViews('loss by position at step 20', (x) => x.lossByPositionStep === 20);
    expect(v.lossByPosition).toHaveLength(T);
    const mean = v.lossByPosition!.reduce((a, b) => a + b, 0) / T;
    expect(Math.abs(mean - done.valLoss!)).toBeLessThan(1e-6 * Math.max(1, done.valLoss!)); // same batches, float rounding only
    expect(await page.textContent('#kpi-val')).toBe(`${done.valLoss!.toFixed(3)} nats`);
    // The previous evaluation's curve is drawn behind the new one.
    expect(await page.textContent('#view-loss-position .u-legend')).toContain('step 10');
    expect(await page.locator('#chart-loss-position canvas').count()).toBe(1);
  }, 600_000);

  it('embedding map: one labelled point per vocabulary character', async () => {
    const v = await untilViews('the embedding map', (x) => x.embedding !== null);
    expect(v.embedding).toHaveLength(done.corpus!.vocabSize);
    expect(new Set(v.embedding!.map((p) => p.char)).size).toBe(done.corpus!.vocabSize);
    expect(v.embedding!.every((p) => Number.isFinite(p.x) && Number.isFinite(p.y))).toBe(true);
    const drawn = await page.evaluate(() => {
      const c = document.querySelector<HTMLCanvasElement>('#embedding-canvas')!;
      return (
        c.width > 0 &&
        c
          .getContext('2d')!
          .getImageData(0, 0, c.width, c.height)
          .data.some((b, i) => i % 4 !== 3 && b !== 255 && b !== 0)
      );
    });
    expect(drawn).toBe(true);
  }, 300_000);

  it('next-character bars: probabilities sum to at most 1, match the logits, and greedy generation picks the top bar', async () => {
    const text = await promptText();
    await page.fill('#gen-prompt', text);
    const v = await untilViews('next characters for the prompt', (x) => x.nextCharsContext === [...text].slice(-T).join(''));
    const bars = v.nextChars!;
    expect(bars).toHaveLength(10);
    expect(bars.reduce((a, b) => a + b.p, 0)).toBeLessThanOrEqual(1 + 1e-9);
    const p = softmax(v.nextCharsLogits!);
    for (const b of bars) expect(b.p).toBeCloseTo(p[v.vocab!.indexOf(b.char)], 9);
    expect([...p].sort((a, b) => b - a).slice(0, 10)).toEqual(bars.map((b) => b.p).map((x) => expect.closeTo(x, 9)));
    // What is on screen: the same characters and probabilities.
    const shown = await page.$$eval('#view-next .next-bars li', (lis) =>
      lis.map((li) => ({ char: li.getAttribute('data-char'), p: Number(li.getAttribute('data-p')) })),
    );
    expect(shown).toEqual(bars);
    // The Generate panel (KV-cache path) picks the top bar at temperature 0.
    await page.fill('#gen-length', '1');
    await page.fill('#gen-temperature', '0');
    await page.click('#generate');
    const g = await waitForState<PageState & Record<string, unknown>>(page, (s) => !s.generating && s.generated.length === 1, {
      timeoutMs: 240_000,
      what: 'one greedy character',
    });
    expect(g.generated).toBe(bars[0].char);
  }, 300_000);

  it('attention maps: [layer][head][T][T], rows sum to 1 and are zero above the diagonal; a click enlarges one', async () => {
    const text = [...(await promptText())].slice(-T).join(''); // one context window
    await page.fill('#attention-text', text);
    await page.click('#attention-run');
    const v = await untilViews('attention for the window', (x) => x.attentionChars?.join('') === text);
    const att = v.attention!;
    expect(att).toHaveLength(2);
    for (const layer of att) {
      expect(layer).toHaveLength(2);
      for (const head of layer) {
        expect(head).toHaveLength(text.length);
        head.forEach((row, t) => {
          expect(row.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 4);
          for (let s = t + 1; s < row.length; s++) expect(row[s]).toBe(0);
        });
      }
    }
    expect(await page.locator('#view-attention canvas.att-small').count()).toBe(4);
    await page.click('#view-attention canvas[data-layer="1"][data-head="0"]');
    expect(await page.getAttribute('#view-attention canvas.selected', 'data-layer')).toBe('1');
    expect(await page.textContent('#view-attention')).toContain('layer 1, head 0: rows = the position attending');
  }, 300_000);

  it('confidence: the generated text is coloured with hover top-5; a pasted text gets bits, bits/char and surprising spans', async () => {
    await page.selectOption('#confidence-by', 'p');
    await page.fill('#gen-length', '40');
    await page.fill('#gen-temperature', '1');
    await page.click('#generate');
    await waitForState<PageState & Record<string, unknown>>(page, (s) => !s.generating && s.generated.length === 40, {
      timeoutMs: 240_000,
      what: 'a generation',
    });
    const shownText = (await page.textContent('#gen-output'))!;
    const v = await untilViews('the generated text scored', (x) => x.scores.generate?.chars.map((c) => c.char).join('') === shownText);
    const gen = v.scores.generate;
    expect(await page.locator('#gen-output span[data-i]').count()).toBe(gen.chars.length);
    await page.hover('#gen-output span[data-i="5"]');
    const tip = await page.textContent('.char-tip');
    expect(tip).toContain(`p = ${gen.chars[5].p!.toFixed(3)}`);
    expect(await page.locator('.char-tip div').count()).toBe(6); // the character, then the top 5
    await page.mouse.move(0, 0);
    expect(await page.isHidden('.char-tip')).toBe(true);

    const text = gen.chars.map((c) => c.char).join('');
    await page.fill('#score-text', text);
    await page.click('#score-run');
    const pasted = (await untilViews('the pasted text scored', (x) => x.scores.paste !== undefined)).scores.paste;
    const bits = pasted.chars.slice(1).map((c) => c.bits!);
    expect(pasted.chars[0].bits).toBeNull();
    bits.forEach((b, i) => expect(b).toBeCloseTo(-Math.log2(pasted.chars[i + 1].p!), 6));
    expect(pasted.totalBits).toBeCloseTo(
      bits.reduce((a, b) => a + b, 0),
      6,
    );
    expect(pasted.bpc).toBeCloseTo(pasted.totalBits / bits.length, 9);
    // The same text and model: the same scores as the generate panel's.
    pasted.chars.forEach((c, i) => expect(c.p ?? 0).toBeCloseTo(gen.chars[i].p ?? 0, 6));
    expect(pasted.spans.length).toBeGreaterThan(0);
    expect(await page.textContent('#score-summary')).toContain(`${pasted.bpc.toFixed(3)} bits/char`);
  }, 300_000);

  it("compare runs: the saved run's validation curve, exported as PNG and CSV", async () => {
    const v = await untilViews('the saved run in the comparison', (x) => x.compare.some((c) => c.steps.includes(20)));
    const curve = v.compare.find((c) => c.steps.includes(20))!;
    expect(curve.steps).toEqual([10, 20]);
    expect(curve.val[1]).toBeCloseTo(done.valLoss!, 9);
    const [png] = await Promise.all([page.waitForEvent('download'), page.click('#view-compare [data-export=png]')]);
    expect(png.suggestedFilename()).toBe('tabgpt-compare-runs.png');
    expect(
      readFileSync(await png.path())
        .subarray(1, 4)
        .toString(),
    ).toBe('PNG');
    const [csv] = await Promise.all([page.waitForEvent('download'), page.click('#view-compare [data-export=csv]')]);
    const lines = readFileSync(await csv.path(), 'utf8')
      .trim()
      .split('\n');
    expect(lines[0].startsWith('step,')).toBe(true);
    expect(lines.some((l) => l.startsWith('20,'))).toBe(true);
    // The run's loss chart exports its logged steps too.
    const [loss] = await Promise.all([page.waitForEvent('download'), page.click('.loss-card [data-export=csv]')]);
    const rows = readFileSync(await loss.path(), 'utf8')
      .trim()
      .split('\n');
    expect(rows[0]).toBe('step,train_loss,val_loss,lr,tokens_per_sec');
    expect(rows.at(-1)!.startsWith('20,')).toBe(true);
  }, 300_000);

  it('this machine: the adapter, features, limits, a matmul rate and a speed estimate with a warning for long runs', async () => {
    const v = await untilViews('the device report', (x) => x.device !== null);
    const d = v.device!;
    expect(d.backend).toBe('webgpu');
    expect(d.adapter).not.toBeNull();
    expect(Object.keys(d.features).sort()).toEqual(['shader-f16', 'subgroups', 'timestamp-query']);
    expect(d.limits.maxBufferSize).toBeGreaterThan(0);
    expect(d.matmulGflops).toBeGreaterThan(0);
    await page.fill('#f-maxIters', '2000000');
    await page.click('#estimate-run');
    const e = await untilViews('a speed estimate', (x) => (x.device?.estimatedTokensPerSec ?? 0) > 0);
    expect(e.device!.estimatedWallSeconds! * e.device!.estimatedTokensPerSec!).toBeCloseTo(2_000_000 * 4 * T, -3);
    expect(await page.textContent('#estimate-out')).toMatch(/tokens\/s/);
    expect(await page.textContent('#estimate-warn')).toMatch(/would take \d+h/);
  }, 300_000);

  it('fits a phone: status, loss chart and Start on the first screen; a dark theme follows the system', async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    await page.evaluate(() => scrollTo(0, 0));
    for (const sel of ['#start', '#chart-loss', '#progress-card']) {
      const box = (await page.locator(sel).boundingBox())!;
      expect(box.y, sel).toBeLessThan(844);
      expect(box.x + box.width, sel).toBeLessThanOrEqual(390 + 1);
    }
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
    const bg = () => page.evaluate(() => getComputedStyle(document.documentElement).backgroundColor);
    await page.emulateMedia({ colorScheme: 'light' });
    const light = await bg();
    await page.emulateMedia({ colorScheme: 'dark' });
    const dark = await bg();
    const lum = (rgb: string) =>
      rgb
        .match(/\d+/g)!
        .slice(0, 3)
        .map(Number)
        .reduce((a, b) => a + b, 0);
    expect(lum(light)).toBeGreaterThan(600);
    expect(lum(dark)).toBeLessThan(150);
    expect(errors.filter((e) => !/favicon/.test(e))).toEqual([]);
  }, 120_000);
});
