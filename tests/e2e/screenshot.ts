// Screenshot of the training page mid-run, for the README:
//   npx tsx tests/e2e/screenshot.ts [out.png] [width]
// Trains the nano preset on Tiny Shakespeare (the built-in corpus when it is
// not cached) on WebGPU, and shoots once two evaluations and a sample are in.

import { launchBrowser, startServer, waitForState } from './harness';

const out = process.argv[2] ?? 'docs/screenshot-training.png';
const width = Number(process.argv[3] ?? 1280);

const server = await startServer();
const browser = await launchBrowser();
try {
  const page = await browser.newPage({ viewport: { width, height: 900 } });
  await page.goto(server.url('/?preset=nano&maxIters=400&evalInterval=40&lr=0.006&autostart=1'));
  await waitForState(page, (s) => (s.step ?? 0) >= 90 && typeof s.sample === 'string' && (s.sample as string).length > 0, {
    timeoutMs: 600_000,
    what: 'two evaluations',
  });
  await page.screenshot({ path: out, fullPage: true });
  console.log(`wrote ${out}`);
} finally {
  await browser.close();
  await server.close();
}
