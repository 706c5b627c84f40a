// `tabgpt sweep lr-rule FILE...`: fit the sweep's default lr rule to lr scans in results
// files (lr-scan runs and main runs alike: a size at one budget with 3+ lrs is a scan),
// print each scan's best multiplier of Kaplan's lr and the fitted rule, and with --write
// regenerate src/core/scaling/lr-calibration.ts from them.

import { readFile, writeFile } from 'node:fs/promises';
import { calibrateLrRule } from '../core/scaling/lr-rule';
import { parseResults } from '../core/scaling/sweep-results';
import { parse } from './args';
import { CliError } from './common';

const HELP = `usage: tabgpt sweep lr-rule FILE... [--write src/core/scaling/lr-calibration.ts]
  fits ln m = c0 + cD ln(D/1e6) + cN ln(N/1e4) (m: the best multiplier of Kaplan's lr) to the lr scans in the files`;

export async function lrRuleCommand(argv: string[]): Promise<void> {
  const { values, positionals } = parse(argv, { write: { type: 'string' } }, 'sweep lr-rule', true);
  if (values.help) return void console.log(HELP);
  if (positionals.length === 0) throw new CliError('sweep lr-rule takes results files with lr scans: tabgpt sweep lr-rule data/lr-scans/*.json');
  const files = await Promise.all(positionals.map(async (p) => parseResults(await readFile(p, 'utf8'), p)));
  let cal;
  try {
    cal = calibrateLrRule(files);
  } catch (e) {
    throw new CliError((e as Error).message);
  }
  console.log(
    `${cal.scans.length} scans (warmup ${cal.warmupFraction} of each run, batch ${cal.batchSize} x block ${cal.blockSize}); m = best lr / Kaplan's lr(N):`,
  );
  console.log('| text | D (tokens) | N (non-emb) | run batch | loss at m = ... | best m |');
  console.log('|---|---:|---:|---:|---|---:|');
  for (const s of cal.scans) {
    const pts = s.points.map((p) => `${+p.m.toPrecision(3)}: ${p.loss === null ? 'diverged' : p.loss.toFixed(4)}`).join(', ');
    console.log(
      `| ${s.corpus} | ${s.tokens.toLocaleString('en-US')} | ${s.nonEmbeddingParams.toLocaleString('en-US')} | ${s.batchSize} | ${pts} | ${s.best.toFixed(2)}${s.atEdge ? ' (edge)' : ''} |`,
    );
  }
  console.log(
    `rule: ln m = ${cal.c0.toFixed(4)} ${cal.cD >= 0 ? '+' : '-'} ${Math.abs(cal.cD).toFixed(4)} ln(D/1e6) ${cal.cN >= 0 ? '+' : '-'} ${Math.abs(cal.cN).toFixed(4)} ln(N/1e4); rms residual ${cal.rmsLn.toFixed(3)} in ln m (x${Math.exp(cal.rmsLn).toFixed(2)})`,
  );
  console.log(
    `calibrated for D ${cal.tokens[0].toLocaleString('en-US')}..${cal.tokens[1].toLocaleString('en-US')} tokens per run and N ${cal.params[0].toLocaleString('en-US')}..${cal.params[1].toLocaleString('en-US')}`,
  );
  if (values.write) {
    const { scans: _scans, ...numbers } = cal;
    void _scans;
    const text = `// The lr rule's calibration (lr-rule.ts), as fitted by calibrateLrRule to the committed
// scan files listed below; tests/lr-rule.test.ts refits them and checks these numbers.
// Regenerate with: npm run sweep -- lr-rule ${positionals.join(' ')} --write ${values.write}

import type { LrCalibration } from './lr-rule';

export const LR_CALIBRATION_FILES: string[] = ${JSON.stringify(positionals, null, 2).replace(/"/g, "'").replace(/\n]/, ',\n]')};

export const LR_CALIBRATION: Omit<LrCalibration, 'scans'> = ${JSON.stringify(numbers, null, 2)
      .replace(/\[\s+([\d.e+-]+),\s+([\d.e+-]+)\s+\]/g, '[$1, $2]')
      .replace(/"(\w+)":/g, '$1:')
      .replace(/\n}/, ',\n}')};
`;
    await writeFile(values.write as string, text);
    console.log(`wrote ${values.write}`);
  }
}
