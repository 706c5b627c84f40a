// Screenshots of the views ("see inside the model") for docs/views.md, at a
// desktop and a phone width, in the light and dark themes:
//   npx tsx tests/e2e/screenshot-views.ts [outDir]
// Trains a tiny model on the built-in corpus with views=1 on WebGPU, then
// fills every view (prompt, attention window, scored text, estimate) and
// shoots each view's card. PNGs are written small (device scale 1).

import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { ViewsSnapshot } from '../../src/ui/views/panel';
import { launchBrowser, startServer, waitForState } from './harness';

const outDir = process.argv[2] ?? 'docs';
mkdirSync(outDir, { recursive: true });
const URL = '/?preset=nano&nEmbd=32&blockSize=16&batchSize=8&corpus=builtin&maxIters=60&evalInterval=30&evalIters=2&lr=0.01&views=1&autostart=1';

const server = await startServer();
const browser = await launchBrowser();
try {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, deviceScaleFactor: 1 });
  const page = await context.newPage();
  page.on('pageerror', (e) => console.error('pageerror', e.message));
  /** Two animation frames: what the page changed has been laid out and painted. */
  const painted = () => page.evaluate(() => new Promise<void>((r) => requestAnimationFrame(() => requestAnimationFrame(() => r()))));
  await page.goto(server.url(URL), { timeout: 300_000 });
  const ticker = setInterval(
    () =>
      void page
        .evaluate(() => (window as unknown as { tabgpt: { state: { step: number; status: string } } }).tabgpt.state)
        .then((s) => console.log(new Date().toISOString().slice(11, 19), s.status, 'step', s.step))
        .catch(() => {}),
    20_000,
  );
  const done = await waitForState(page, (s) => s.status === 'done', { timeoutMs: 900_000, what: 'the run' });
  clearInterval(ticker);
  console.log('trained', done.step, 'val', done.valLoss);
  const sample = String(done.sample ?? 'the');
  await page.fill('#gen-prompt', sample.slice(0, 30));
  await page.fill('#attention-text', sample.slice(0, 24));
  await page.click('#attention-run');
  await page.selectOption('#confidence-by', 'p');
  await page.fill('#gen-length', '60');
  await page.click('#generate');
  await waitForState(page, (s) => s.generating === false && String(s.generated).length === 60, { timeoutMs: 600_000, what: 'generation' });
  await page.fill('#score-text', sample.slice(0, 100));
  await page.click('#score-run');
  await page.click('#estimate-run');
  // Every view answered (the estimate, the attention window, the scored text), then drawn.
  await page.waitForFunction(
    () => {
      const v = (window as unknown as { tabgpt: { views: ViewsSnapshot } }).tabgpt.views;
      return (v.device?.estimatedTokensPerSec ?? 0) > 0 && v.attention !== null && v.scores.paste !== undefined && v.embedding !== null;
    },
    undefined,
    { timeout: 600_000, polling: 500 },
  );
  await painted();
  const shoot = async (suffix: string) => {
    for (const id of ['view-next', 'view-attention', 'view-loss-position', 'view-embedding', 'view-confidence', 'view-compare', 'view-device']) {
      await page.locator(`#${id}`).screenshot({ path: join(outDir, `views-${id.slice(5)}-${suffix}.png`) });
    }
  };
  await shoot('desktop');
  await page.screenshot({ path: join(outDir, 'views-page-desktop.png'), fullPage: false, clip: undefined });
  await page.locator('.views-card').screenshot({ path: join(outDir, 'views-all-desktop.png') });
  await page.emulateMedia({ colorScheme: 'dark' });
  await page.evaluate(() => scrollTo(0, 0));
  await page.screenshot({ path: join(outDir, 'views-page-dark-desktop.png') });
  await page.emulateMedia({ colorScheme: 'light' });
  await page.setViewportSize({ width: 390, height: 844 });
  await painted(); // the charts redraw at the new width (resize observers run before the next paint)
  await page.evaluate(() => scrollTo(0, 0));
  await page.screenshot({ path: join(outDir, 'views-page-phone.png') });
  await page.addStyleTag({ content: '.run-buttons { display: none !important; }' }); // the fixed Start bar would cover the cards
  await shoot('phone');
  console.log(`wrote ${outDir}/views-*.png`);
} finally {
  await browser.close();
  await server.close();
}
