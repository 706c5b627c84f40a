// The scaling plots of docs/scaling.md, drawn by the page itself from a committed results file:
//   npx tsx tests/e2e/scaling-shots.ts data/scaling-shakespeare.json docs/scaling-shakespeare [total]
// Imports the file into scaling.html and shoots each plot card it shows
// (PREFIX-fit.png, -lr.png, -compute.png, -iso.png; the last only for multi-budget sweeps).

import { launchBrowser, startServer, waitForState } from './harness';

const [file, prefix = 'docs/scaling', params = 'nonEmbedding'] = process.argv.slice(2);
if (!file) throw new Error('usage: npx tsx tests/e2e/scaling-shots.ts RESULTS.json OUT-PREFIX [total]');

const server = await startServer();
const browser = await launchBrowser();
try {
  const page = await browser.newPage({ viewport: { width: 1100, height: 900 } });
  await page.goto(server.url(`/scaling.html?params=${params === 'total' ? 'total' : 'nonEmbedding'}`));
  await waitForState(page, (s) => s.status === 'idle', { timeoutMs: 300_000, what: 'the page' });
  await page.setInputFiles('#import', file);
  await waitForState(page, (s) => (s.runsDone as number) > 0 && s.fit !== null, { timeoutMs: 300_000, what: 'the imported results' });
  const shots: [string, string][] = [
    ['#plot-loss-n', 'fit'],
    ['#lr-card', 'lr'],
    ['#plot-compute', 'compute'],
    ['#iso-card', 'iso'],
  ];
  for (const [sel, name] of shots) {
    if (!(await page.isVisible(sel))) continue;
    const card = page.locator(sel).locator('xpath=ancestor-or-self::section[1]');
    await card.screenshot({ path: `${prefix}-${name}.png` });
    console.log(`wrote ${prefix}-${name}.png`);
  }
} finally {
  await browser.close();
  await server.close();
}
