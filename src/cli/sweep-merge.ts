// `tabgpt sweep merge A.json B.json ... --out all.json`: the shards of one sweep
// (`--shard i/n` on several machines) joined into one results file.

import { readFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { mergeResults } from '../core/scaling/merge';
import { parseResults, resultsToJSON } from '../core/scaling/sweep-results';
import { SweepError } from '../core/scaling/sweep';
import { parse } from './args';
import { CliError, writeAtomic } from './common';

const HELP = `usage: tabgpt sweep merge A.json B.json ... --out all.json
  joins results files of the same sweep (same spec and text), e.g. the shards of --shard i/n;
  refuses files whose specs or texts differ. A run in several files is kept once.`;

export async function mergeCommand(argv: string[]): Promise<void> {
  const { values, positionals } = parse(argv, { out: { type: 'string' }, json: { type: 'boolean', default: false } }, 'sweep merge', true);
  if (values.help) return void console.log(HELP);
  const out = values.out as string | undefined;
  if (out === undefined) throw new CliError('sweep merge needs --out FILE for the merged results');
  if (positionals.length === 0) throw new CliError('sweep merge needs the results files to join: tabgpt sweep merge A.json B.json --out all.json');
  // Never silently replace runs: an existing --out must be one of the inputs.
  if (existsSync(out) && !positionals.some((p) => resolve(p) === resolve(out))) {
    throw new CliError(`--out ${out} exists and is not among the inputs: add it as an input (its runs are kept) or choose another --out`);
  }
  const files = [];
  for (const name of positionals) {
    if (!existsSync(name)) throw new CliError(`${name}: no such file`);
    try {
      files.push({ name, results: parseResults(await readFile(name, 'utf8'), name) });
    } catch (e) {
      if (e instanceof SweepError) throw new CliError(e.message);
      throw e;
    }
  }
  let report;
  try {
    report = mergeResults(files);
  } catch (e) {
    if (e instanceof SweepError) throw new CliError(e.message);
    throw e;
  }
  await writeAtomic(out, resultsToJSON(report.results));
  if (report.conflicting.length)
    console.error(
      `tabgpt: warning: ${report.conflicting.length} run(s) appear in several files with different losses (kept the first file's): ${report.conflicting.join(', ')}`,
    );
  const n = report.results.runs.length,
    k = report.results.lrScan?.length ?? 0;
  if (values.json) console.log(JSON.stringify({ event: 'merged', files: positionals.length, runs: n, lrScanRuns: k, duplicates: report.duplicates, out }));
  else
    console.log(
      `merged ${positionals.length} files: ${n} runs${k ? ` + ${k} lr-scan runs` : ''}${report.duplicates.length ? ` (${report.duplicates.length} duplicates kept once)` : ''} -> ${out}`,
    );
}
