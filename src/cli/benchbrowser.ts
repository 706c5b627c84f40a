// `tabgpt bench --browser`: serve the project with Vite on 127.0.0.1, open
// bench.html in headless Chromium (WebGPU enabled: SwiftShader where there is
// no GPU), let the page run core/bench.ts per backend in its workers, and
// collect the same rows as the Node benchmark.

import { existsSync } from 'node:fs';
import type { BenchRow } from '../core/bench-defs';
import type { BenchFlags } from './bench';
import { emitRow } from './bench';
import { CHROMIUM, launchChromium, startViteServer } from './chromium';
import { CliError } from './common';

/** The parts of the page's window.tabgpt.state (src/ui/bench.ts) read here. */
interface PageState {
  status: string;
  rows: BenchRow[];
  errors: string[];
  log: string[];
}

export async function benchInBrowser(flags: BenchFlags, progress: (line: string) => void): Promise<BenchRow[]> {
  if (!existsSync(CHROMIUM)) throw new CliError(`no Chromium at ${CHROMIUM}: install chromium, or set TABGPT_CHROMIUM to its path`);
  const { vite: server, origin } = await startViteServer('error');
  const browser = await launchChromium();
  try {
    const page = await browser.newPage();
    page.on('pageerror', (e) => progress(`page error: ${e.message}`));
    const query = new URLSearchParams({ auto: '1', backends: flags.backends.join(','), presets: flags.presets.join(',') });
    if (flags.budgetMs !== undefined) query.set('budget', String(flags.budgetMs / 1000));
    if (flags.repeats !== undefined) query.set('repeats', String(flags.repeats));
    if (flags.genTokens !== undefined) query.set('gen', String(flags.genTokens));
    if (flags.batchSize !== undefined) query.set('batch', String(flags.batchSize));
    if (flags.profile) query.set('profile', '1');
    if (flags.trainingOnly) query.set('trainingonly', '1');
    query.set('kernels', flags.kernels.join(','));
    query.set('matmul', flags.matmul.join(','));
    query.set('step', flags.steps.join(','));
    if (flags.wasmThreads !== undefined) query.set('threads', String(flags.wasmThreads));
    const url = `${origin}/bench.html?${query}`;
    progress(`opening ${url}`);
    await page.goto(url);

    // Poll the page's state: pass on log lines, rows and errors as they come.
    let seenLog = 0;
    let seenRows = 0;
    let seenErrors = 0;
    const rows: BenchRow[] = [];
    for (;;) {
      const s = (await page.evaluate(() => (window as unknown as { tabgpt?: { state: unknown } }).tabgpt?.state ?? null)) as PageState | null;
      if (s) {
        for (const line of s.log.slice(seenLog)) progress(line);
        for (const e of s.errors.slice(seenErrors)) progress(`error: ${e}`);
        for (const row of s.rows.slice(seenRows)) {
          rows.push(row);
          await emitRow(row, flags);
        }
        seenLog = s.log.length;
        seenErrors = s.errors.length;
        seenRows = s.rows.length;
        if (s.status === 'done') {
          if (rows.length === 0) throw new CliError(`the browser benchmark produced no results${s.errors.length ? `: ${s.errors[0]}` : ''}`);
          return rows;
        }
      }
      await new Promise((r) => setTimeout(r, 500));
    }
  } finally {
    await browser.close();
    await server.close();
  }
}
