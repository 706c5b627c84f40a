// `tabgpt fit results.json`: fit L(N) = E + (Nc/N)^alpha (and the pure power law,
// and L(N, D) when the sweep has several token budgets per size) to a sweep's
// final validation losses, with 95% bootstrap intervals and the held-out check.

import { readFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import type { Interval } from '../core/fit';
import { analyse, isoFlops, parseResults, PARAM_KIND_LABEL, PUBLISHED, type ParamKind } from '../core/sweep-results';
import { isNonNegInt, num, parse } from './args';
import { CliError } from './common';

const HELP = `usage: tabgpt fit RESULTS [--params non-embedding|total] [--bootstrap 200] [--json]
  RESULTS   a results file from 'tabgpt sweep' or the scaling page's export (JSON or CSV)
  --params  which parameter count N is (default non-embedding, Kaplan's N)`;

export async function fitCommand(argv: string[]): Promise<void> {
  const { values, positionals } = parse(argv, {
    params: { type: 'string', default: 'non-embedding' },
    bootstrap: { type: 'string' },
    json: { type: 'boolean', default: false },
  }, 'fit', true);
  if (values.help) return void console.log(HELP);
  if (positionals.length !== 1) throw new CliError(`fit takes one results file (got ${positionals.length}): tabgpt fit results.json`);
  const path = positionals[0];
  if (!existsSync(path)) throw new CliError(`${path}: no such file (run 'tabgpt sweep --out ${path}' first)`);
  const kinds: Record<string, ParamKind> = { 'non-embedding': 'nonEmbedding', nonEmbedding: 'nonEmbedding', total: 'total' };
  const paramKind = kinds[values.params as string];
  if (!paramKind) throw new CliError(`--params must be non-embedding or total (got '${values.params}')`);
  const bootstrap = num(values, 'bootstrap', isNonNegInt, 'a non-negative integer') ?? 200;
  const results = parseResults(await readFile(path, 'utf8'), path);
  if (results.runs.length === 0) throw new CliError(`${path} has no finished runs yet: let the sweep run`);
  const a = analyse(results, { paramKind, bootstrap });
  const iso = results.spec.budgets.length > 1 ? isoFlops(results.runs, paramKind) : null;

  if (values.json) {
    const out = {
      results: path,
      params: paramKind,
      paramsLabel: PARAM_KIND_LABEL[paramKind],
      loss: 'final validation loss, nats per character',
      form: 'L(N) = E + (Nc/N)^alpha',
      E: a.fit?.E ?? null, Nc: a.fit?.Nc ?? null, alpha: a.fit?.alpha ?? null,
      intervals: a.fit ? a.fit.intervals : null,
      bootstrapSamples: a.fit?.bootstrapSamples ?? 0,
      ...(a.fitError ? { fitError: a.fitError } : {}),
      power: a.power ? { Nc: a.power.Nc, alpha: a.power.alpha, intervals: { Nc: a.power.intervals.Nc, alpha: a.power.intervals.alpha } } : null,
      heldOut: a.heldOut,
      ...(a.heldOutError ? { heldOutError: a.heldOutError } : {}),
      points: a.points,
      seedNoise: a.seedNoise,
      joint: a.joint,
      ...(a.jointError ? { jointError: a.jointError } : {}),
      isoFlop: iso,
      dataLimitedRuns: a.dataLimitedRuns,
      corpus: results.corpus,
      published: PUBLISHED,
    };
    console.log(JSON.stringify(out));
    return;
  }

  const iv = (i: Interval | undefined, digits = 4) => (i && Number.isFinite(i.lo) ? `[${fmt(i.lo, digits)}, ${fmt(i.hi, digits)}]` : '[n/a]');
  console.log(`${path}: ${results.runs.length} runs on ${results.corpus.source}; N = ${PARAM_KIND_LABEL[paramKind]}; loss = final validation loss (nats/char)`);
  if (a.fit) {
    const f = a.fit;
    console.log(`L(N) = E + (Nc/N)^alpha   (summed Huber, delta 1e-3; 95% bootstrap intervals over ${f.bootstrapSamples} resamples of runs)`);
    console.log(`  E      ${fmt(f.E, 4).padEnd(12)} ${iv(f.intervals.E)}   (${fmt(f.E / Math.LN2, 3)} bpc)`);
    console.log(`  Nc     ${fmt(f.Nc, 4).padEnd(12)} ${iv(f.intervals.Nc)}`);
    console.log(`  alpha  ${fmt(f.alpha, 4).padEnd(12)} ${iv(f.intervals.alpha)}`);
  } else console.log(`L(N) = E + (Nc/N)^alpha: not fitted (${a.fitError})`);
  const H = results.corpus.entropyPerChar;
  if (H !== undefined) {
    const covered = a.fit ? a.fit.intervals.E.lo <= H && H <= a.fit.intervals.E.hi : false;
    console.log(`  ground truth: this corpus was generated with entropy rate ${H.toFixed(4)} nats/char, the true irreducible loss${a.fit ? ` (${covered ? 'inside' : 'outside'} E's interval)` : ''}`);
  }
  if (a.power) console.log(`L(N) = (Nc/N)^alpha:  Nc ${fmt(a.power.Nc, 4)} ${iv(a.power.intervals.Nc)}, alpha ${fmt(a.power.alpha, 4)} ${iv(a.power.intervals.alpha)}`);
  if (a.heldOut) {
    const h = a.heldOut;
    console.log(`held out the largest size (N = ${h.params.toLocaleString('en-US')}): predicted ${h.predicted.toFixed(4)}, measured ${h.measured.toFixed(4)}, error ${(100 * h.error).toFixed(2)}%`);
  } else console.log(`held-out check: not possible (${a.heldOutError})`);
  for (const s of a.seedNoise) console.log(`seed noise at N = ${s.N.toLocaleString('en-US')}: ${s.runs} seeds, mean ${s.mean.toFixed(4)}, sd ${s.sd.toFixed(4)} (${(100 * s.relSd).toFixed(2)}%)`);
  console.log('runs (N, D, val loss, residual ln measured - ln fitted):');
  for (const p of a.points) console.log(`  ${p.runId.padEnd(26)} N ${String(p.N).padStart(9)}  D ${String(p.D).padStart(9)}  ${p.loss.toFixed(4)}  ${p.residual === undefined ? '' : (p.residual >= 0 ? '+' : '') + p.residual.toFixed(4)}`);
  if (a.joint) {
    const j = a.joint;
    console.log(`L(N, D) = E + A/N^alpha + B/D^beta:  E ${fmt(j.E, 4)} ${iv(j.intervals.E)}, A ${fmt(j.A, 4)} ${iv(j.intervals.A)}, B ${fmt(j.B, 4)} ${iv(j.intervals.B)}, alpha ${fmt(j.alpha, 3)} ${iv(j.intervals.alpha, 3)}, beta ${fmt(j.beta, 3)} ${iv(j.intervals.beta, 3)}`);
    console.log(`  compute-optimal: N_opt ∝ C^${fmt(j.a, 3)} ${iv(j.intervals.a, 3)}, D_opt ∝ C^${fmt(j.b, 3)} ${iv(j.intervals.b, 3)}, tokens per parameter at C = ${fmt(j.referenceCompute ?? NaN, 3)}: ${iv(j.intervals.tokensPerParam, 3)}`);
  } else if (a.jointError) console.log(`L(N, D): not fitted (${a.jointError})`);
  if (iso && iso.a !== null) console.log(`IsoFLOP (Approach 2): N_opt ∝ C^${iso.a.toFixed(3)} over ${iso.curves.filter((c) => c.Nopt !== null).length} compute levels`);
  if (a.dataLimitedRuns.length) console.log(`warning: ${a.dataLimitedRuns.length} runs repeat their text more than ~4 times (data-limited): ${a.dataLimitedRuns.join(', ')}`);
  if (results.spec.testOnlySmallLadder) console.log('warning: this sweep was a test fixture (testOnlySmallLadder): not a measurement');
  const k = PUBLISHED.kaplan, c = PUBLISHED.chinchilla;
  console.log(`for reference (BPE tokens, not comparable in scale): Kaplan alpha_N ${k.alphaN}, Nc ${k.Nc.toExponential(1)}; Chinchilla E ${c.E}, A ${c.A}, alpha ${c.alpha}, B ${c.B}, beta ${c.beta}`);
}

function fmt(x: number, digits: number): string {
  if (!Number.isFinite(x)) return String(x);
  return Math.abs(x) >= 1e5 || (Math.abs(x) < 1e-3 && x !== 0) ? x.toExponential(digits - 1) : x.toPrecision(digits);
}
