// docs/transfer.png from data/transfer.json: both adaptation curves (held-out
// loss against steps) on one uPlot chart, the gap in nats per evaluated step in
// a table under it, drawn in headless Chromium (the same uPlot the page uses) and
// screenshotted. `tabgpt transfer` calls it at the end; `--plot-only` redraws it.

import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { TransferResults } from '../core/transfer';
import { launchChromium } from './chromium';
import { PROJECT_ROOT, writeAtomic } from './common';

const esc = (s: string) => s.replace(/[&<>]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;' })[c]!);

export function transferPlotHtml(r: TransferResults, uplotJs: string, uplotCss: string): string {
  const ft = r.runs.fineTuned.curve;
  const sc = r.runs.scratch.curve;
  const steps = ft.map((p) => p.step);
  const data = [steps, ft.map((p) => p.valLoss), steps.map((s) => sc.find((p) => p.step === s)?.valLoss ?? null)];
  const c = r.pretrain.config;
  const title = `Pre-train, then fine-tune: baby (${c.nLayer}×${c.nEmbd}, ctx ${c.blockSize}) on ${r.split.fineTuneChars.toLocaleString('en-US')} held-out characters of Tiny Shakespeare`;
  const sub = `pre-trained ${r.pretrain.steps} steps on the first ${r.split.pretrainChars.toLocaleString('en-US')} characters (val ${r.pretrain.valLoss.toFixed(3)}); both runs: ${r.adapt.maxIters} steps, batch ${r.adapt.batchSize}, seed ${r.adapt.seed}, same batches; fine-tune lr ${r.runs.fineTuned.lr}, scratch lr ${r.runs.scratch.lr}; loss on ${r.adapt.evalTokens.toLocaleString('en-US')} fixed characters of the other ${r.split.evaluationChars.toLocaleString('en-US')} held-out`;
  const rows = r.gap.map((g) => `<td>${g.step}</td>`).join('');
  const gaps = r.gap.map((g) => `<td>${g.nats.toFixed(3)}</td>`).join('');
  return `<!doctype html><html><head><meta charset="utf-8"><style>${uplotCss}
body{margin:0;font:13px system-ui,sans-serif;color:#111;background:#fff}#fig{width:900px;padding:14px 16px 10px}
h1{font-size:15px;margin:0 0 4px}p{margin:0 0 8px;color:#444;font-size:12px}
table{border-collapse:collapse;margin-top:6px;font-size:12px}td,th{border:1px solid #ddd;padding:2px 6px;text-align:right}th{text-align:left;background:#f6f6f6}
</style><script>${uplotJs}</script></head><body><div id="fig"><h1>${esc(title)}</h1><p>${esc(sub)}</p><div id="chart"></div>
<table><tr><th>step</th>${rows}</tr><tr><th>gap (nats)</th>${gaps}</tr></table></div>
<script>
const data = ${JSON.stringify(data)};
new uPlot({ width: 900, height: 420, scales: { x: { time: false } },
  series: [{ label: 'step' },
    { label: 'fine-tuned from the pre-trained model', stroke: '#2563eb', width: 2, points: { show: true, size: 6, fill: '#2563eb' }, value: (u, v) => v == null ? '–' : v.toFixed(3) },
    { label: 'from scratch', stroke: '#ea580c', width: 2, points: { show: true, size: 6, fill: '#ea580c' }, value: (u, v) => v == null ? '–' : v.toFixed(3) }],
  axes: [{ label: 'training steps on the ${r.split.fineTuneChars.toLocaleString('en-US')}-character slice' }, { label: 'held-out loss (nats/char)', size: 60 }],
  legend: { live: false } }, data, document.getElementById('chart'));
</script></body></html>`;
}

/** Render the figure in headless Chromium and write it as a PNG. */
export async function drawTransferPlot(r: TransferResults, out: string): Promise<void> {
  const dist = join(PROJECT_ROOT, 'node_modules', 'uplot', 'dist');
  const [js, css] = await Promise.all([readFile(join(dist, 'uPlot.iife.min.js'), 'utf8'), readFile(join(dist, 'uPlot.min.css'), 'utf8')]);
  const browser = await launchChromium();
  try {
    const page = await browser.newPage({ viewport: { width: 940, height: 700 }, deviceScaleFactor: 1 });
    await page.setContent(transferPlotHtml(r, js, css));
    await page.waitForSelector('#chart canvas');
    await writeAtomic(out, await page.locator('#fig').screenshot({ type: 'png' }));
  } finally {
    await browser.close();
  }
}
