// Does opening the views slow training? Runs the same tiny run on WebGPU with
// views=0 and views=1, alternating (A B A B ...) in one browser so machine
// noise hits both alike, and prints the trainer's ms/step (the step alone)
// and the wall time per step including evaluations (where the views work).
//   npx tsx tests/e2e/measure-views.ts [pairs] [maxIters]

import { launchBrowser, startServer, waitForState } from './harness';

const pairs = Number(process.argv[2] ?? 2);
const maxIters = Number(process.argv[3] ?? 60);
const RUN = `/?preset=nano&nEmbd=32&blockSize=32&batchSize=8&corpus=builtin&maxIters=${maxIters}&evalInterval=${maxIters / 3}&evalIters=4&logInterval=5&lr=0.01&autostart=1`;

const server = await startServer();
const browser = await launchBrowser();
const results: Record<string, { msPerStep: number[]; wallPerStep: number[] }> = { off: { msPerStep: [], wallPerStep: [] }, on: { msPerStep: [], wallPerStep: [] } };
try {
  for (let i = 0; i < pairs; i++) {
    for (const views of ['off', 'on'] as const) {
      const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
      await page.goto(server.url(`${RUN}${views === 'on' ? '&views=1' : ''}`));
      // From the end of the first (compiling) step to the end of the run: steps and evaluations.
      const first = await waitForState(page, (s) => (s.step ?? 0) >= 1, { timeoutMs: 600_000, intervalMs: 20, what: 'the first step' });
      const t0 = Date.now();
      const done = await waitForState(page, (s) => s.status === 'done', { timeoutMs: 900_000, intervalMs: 20, what: 'the run' });
      const wall = (Date.now() - t0) / (maxIters - (first.step ?? 1));
      results[views].msPerStep.push(done.msPerStep as number);
      results[views].wallPerStep.push(wall);
      console.log(`views ${views}: trainer ${(done.msPerStep as number).toFixed(1)} ms/step, wall ${wall.toFixed(1)} ms/step incl. evaluations`);
      await page.close();
    }
  }
  const median = (a: number[]) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];
  for (const k of ['msPerStep', 'wallPerStep'] as const) {
    const off = median(results.off[k]);
    const on = median(results.on[k]);
    console.log(`${k}: off ${off.toFixed(1)}, on ${on.toFixed(1)}, ratio on/off ${(on / off).toFixed(3)}`);
  }
} finally {
  await browser.close();
  await server.close();
}
