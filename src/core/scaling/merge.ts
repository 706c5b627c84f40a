// Joining the results files of one sweep split over machines (`--shard i/n`), or
// of a sweep resumed in several places. Files of different sweeps never mix: a
// spec or text that differs is refused, naming what differs.

import { specDiff, SweepError } from './sweep';
import { allRuns, withRun, type SweepResults } from './sweep-results';

export interface MergeReport {
  results: SweepResults;
  /** Run ids found in more than one file (the first file's record is kept). */
  duplicates: string[];
  /** Of those, the ids whose final validation loss differed between files (not bit-identical reruns). */
  conflicting: string[];
}

export function mergeResults(files: { name: string; results: SweepResults }[]): MergeReport {
  if (files.length === 0) throw new SweepError('merge needs at least one results file');
  const [first, ...rest] = files;
  let merged: SweepResults = { ...first.results, runs: [], lrScan: [] };
  for (const f of rest) {
    const diff = specDiff(first.results.spec, f.results.spec);
    if (diff.length > 0)
      throw new SweepError(`${f.name} holds a different sweep from ${first.name} (${diff.join(', ')} differ): only shards of one sweep can be merged`);
    if (f.results.corpus.sha256 !== first.results.corpus.sha256)
      throw new SweepError(`${f.name} was measured on a different text from ${first.name} (sha256 differs): only shards of one sweep can be merged`);
  }
  const seen = new Map<string, number | null>();
  const duplicates: string[] = [],
    conflicting: string[] = [];
  for (const f of files) {
    for (const run of allRuns(f.results)) {
      if (seen.has(run.id)) {
        duplicates.push(run.id);
        if (seen.get(run.id) !== run.valLoss) conflicting.push(run.id);
        continue;
      }
      seen.set(run.id, run.valLoss);
      merged = withRun(merged, run);
    }
  }
  if (!merged.lrScan?.length) delete merged.lrScan;
  return { results: merged, duplicates, conflicting };
}
