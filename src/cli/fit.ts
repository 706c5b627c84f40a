// `tabgpt fit results.json`: fit L(N) = E + (Nc/N)^alpha (and the pure power law,
// and L(N, D) when the sweep has several token budgets per size) to a sweep's
// final validation losses, with 95% bootstrap intervals and the held-out check.

import { readFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import type { Interval } from '../core/scaling/fit';
import { chinchillaApproaches, type ApproachResult } from '../core/scaling/approaches';
import { summariseLrScan } from '../core/scaling/lr-scan';
import { NOT_A_SCALING_LAW } from '../core/scaling/diagnostics';
import { analyse, hasSeveralBudgets, PARAM_KIND_LABEL, PUBLISHED, type Analysis, type ParamKind } from '../core/scaling/analysis';
import { isoFlops } from '../core/scaling/isoflops';
import { parseResults } from '../core/scaling/sweep-results';
import { isNonNegInt, num, parse } from './args';
import { CliError } from './common';

const HELP = `usage: tabgpt fit RESULTS [--params non-embedding|total] [--bootstrap 200] [--json | --markdown]
  --markdown  the README's tables (both parameter counts, lr scan, seed noise, approaches, ground truth)
  RESULTS   a results file from 'tabgpt sweep' or the scaling page's export (JSON or CSV)
  --params  which parameter count the --json top-level fields use (default non-embedding, Kaplan's N);
            every fit is printed for both counts side by side, and --json has both under byParams`;

export async function fitCommand(argv: string[]): Promise<void> {
  const { values, positionals } = parse(
    argv,
    {
      params: { type: 'string', default: 'non-embedding' },
      bootstrap: { type: 'string' },
      json: { type: 'boolean', default: false },
      markdown: { type: 'boolean', default: false },
    },
    'fit',
    true,
  );
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
  // Every fit on both parameter counts (Pearce & Song 2024: the convention moves small-scale exponents).
  const other: ParamKind = paramKind === 'total' ? 'nonEmbedding' : 'total';
  const a = analyse(results, { paramKind, bootstrap });
  const b = analyse(results, { paramKind: other, bootstrap });
  const multi = hasSeveralBudgets(results);
  const iso = multi ? isoFlops(results.runs, paramKind) : null;
  // An IsoFLOP design: approaches 1 and 2 read its levels' runs directly.
  const design = results.spec.isoFlops ? { isoLevelsFrom: results.spec.budgets.length } : {};
  const approaches = multi ? chinchillaApproaches(results.runs, paramKind, { bootstrap, ...design }) : [];
  const approachesOther = multi ? chinchillaApproaches(results.runs, other, { bootstrap, ...design }) : [];
  const lrScan = summariseLrScan(results.lrScan);
  const H = results.corpus.entropyPerChar;

  if (values.json) {
    const summary = (x: Analysis, ap: ApproachResult[]) => ({
      params: x.paramKind,
      valid: x.diagnosis.valid,
      problems: x.diagnosis.problems,
      E: x.fit?.E ?? null,
      Nc: x.fit?.Nc ?? null,
      alpha: x.fit?.alpha ?? null,
      intervals: x.fit ? x.fit.intervals : null,
      ...(x.fitError ? { fitError: x.fitError } : {}),
      power: x.power ? { Nc: x.power.Nc, alpha: x.power.alpha, intervals: { Nc: x.power.intervals.Nc, alpha: x.power.intervals.alpha } } : null,
      heldOut: x.heldOut,
      joint: x.joint,
      approaches: ap,
    });
    const out = {
      results: path,
      params: paramKind,
      paramsLabel: PARAM_KIND_LABEL[paramKind],
      loss: 'final validation loss, nats per character',
      form: 'L(N) = E + (Nc/N)^alpha',
      // false: the constants below describe these points, not a scaling law (problems says why, one line each).
      valid: a.diagnosis.valid,
      problems: a.diagnosis.problems,
      E: a.fit?.E ?? null,
      Nc: a.fit?.Nc ?? null,
      alpha: a.fit?.alpha ?? null,
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
      approaches,
      byParams: { [paramKind]: summary(a, approaches), [other]: summary(b, approachesOther) },
      lrScan,
      ...(H !== undefined ? { groundTruth: groundTruth(H, a) } : {}),
      dataLimitedRuns: a.dataLimitedRuns,
      corpus: results.corpus,
      published: PUBLISHED,
    };
    console.log(JSON.stringify(out));
    return;
  }

  if (values.markdown) {
    const [ne, tot] = paramKind === 'total' ? [b, a] : [a, b];
    const [apNe, apTot] = paramKind === 'total' ? [approachesOther, approaches] : [approaches, approachesOther];
    console.log(markdown(ne, tot, apNe, apTot, lrScan, H));
    return;
  }

  const iv = (i: Interval | null | undefined, digits = 4) => (i && Number.isFinite(i.lo) ? `[${fmt(i.lo, digits)}, ${fmt(i.hi, digits)}]` : '[n/a]');
  const cell = (x: number | null | undefined, i: Interval | null | undefined, digits = 4) =>
    x === null || x === undefined ? 'n/a' : `${fmt(x, digits)} ${iv(i, digits)}`;
  // An L(N) constant of a fit that failed its checks: shown as what it is, not as a result.
  const lawCell = (y: Analysis, x: number | null | undefined, i: Interval | null | undefined, digits = 4) =>
    y.diagnosis.valid || x === null || x === undefined ? cell(x, i, digits) : `${NOT_A_SCALING_LAW} (${fmt(x, 3)})`;
  const [ne, tot] = paramKind === 'total' ? [b, a] : [a, b];
  console.log(
    `${path}: ${results.runs.length} runs${results.lrScan?.length ? ` (+ ${results.lrScan.length} lr-scan runs)` : ''} on ${results.corpus.source}; loss = final validation loss (nats/char)`,
  );
  console.log(
    `fits: summed Huber (delta 1e-3) on ln L, grid of starts; 95% bootstrap intervals over ${a.fit?.bootstrapSamples ?? bootstrap} resamples of runs`,
  );
  const rows: [string, (x: Analysis) => string][] = [
    ['L(N) = E + (Nc/N)^alpha:  E', (x) => lawCell(x, x.fit?.E, x.fit?.intervals.E)],
    ['                          Nc', (x) => lawCell(x, x.fit?.Nc, x.fit?.intervals.Nc)],
    ['                          alpha', (x) => lawCell(x, x.fit?.alpha, x.fit?.intervals.alpha)],
    ['L(N) = (Nc/N)^alpha:      alpha', (x) => lawCell(x, x.power?.alpha, x.power?.intervals.alpha)],
    [
      'held out the largest size: predicted',
      (x) =>
        x.heldOut
          ? `${x.heldOut.predicted.toFixed(4)} vs ${x.heldOut.measured.toFixed(4)} (${(100 * x.heldOut.error).toFixed(2)}%${x.heldOut.sds !== null ? `, ${x.heldOut.sds.toFixed(2)} seed sd` : ''})`
          : `n/a (${x.heldOutError ?? 'no fit'})`,
    ],
  ];
  if (multi) {
    rows.push(['L(N, D) = E + A/N^alpha + B/D^beta:  E', (x) => cell(x.joint?.E, x.joint?.intervals.E)]);
    rows.push(['                          alpha', (x) => cell(x.joint?.alpha, x.joint?.intervals.alpha, 3)]);
    rows.push(['                          beta', (x) => cell(x.joint?.beta, x.joint?.intervals.beta, 3)]);
  }
  for (const [name, x] of [
    ['non-embedding', ne],
    ['total', tot],
  ] as const) {
    if (x.diagnosis.valid) continue;
    console.log(`${NOT_A_SCALING_LAW.toUpperCase()} (N = ${name}): the L(N) constants below describe these points, not a law:`);
    for (const p of x.diagnosis.problems) console.log(`  - ${p.message}`);
  }
  const w = Math.max(...rows.map((r) => r[0].length)) + 2;
  const colW = 34;
  console.log(`${''.padEnd(w)}${'N = non-embedding params'.padEnd(colW)}N = total params (with embeddings)`);
  for (const [label, f] of rows) console.log(`${label.padEnd(w)}${f(ne).padEnd(colW)}  ${f(tot)}`);
  if (!ne.fit && ne.fitError) console.log(`  (non-embedding L(N) not fitted: ${ne.fitError})`);
  if (!tot.fit && tot.fitError) console.log(`  (total L(N) not fitted: ${tot.fitError})`);
  if (H !== undefined) {
    const g = groundTruth(H, ne),
      gt = groundTruth(H, tot);
    console.log(`ground truth: this corpus was generated with entropy rate ${H.toFixed(4)} nats/char, the true irreducible loss`);
    for (const [name, x] of [
      ['non-embedding', g],
      ['total', gt],
    ] as const) {
      if (x.E === null) continue;
      console.log(
        `  ${name}: E - H = ${x.errorE >= 0 ? '+' : ''}${x.errorE.toFixed(4)} (goal |.| < 0.05), interval ${x.covered ? 'contains' : 'misses'} H, width ${x.width.toFixed(3)} (goal < 0.2)${x.jointErrorE !== null ? `; joint L(N, D): E - H = ${x.jointErrorE >= 0 ? '+' : ''}${x.jointErrorE.toFixed(4)} (goal |.| < 0.1)` : ''}; best run ${x.bestLoss.toFixed(4)}, ${(x.bestLoss - H).toFixed(4)} above H`,
      );
    }
  }
  for (const s of a.seedNoise)
    console.log(
      `seed noise at N = ${s.N.toLocaleString('en-US')} (${PARAM_KIND_LABEL[paramKind]}): ${s.runs} seeds, mean ${s.mean.toFixed(4)}, sd ${s.sd.toFixed(4)} (${(100 * s.relSd).toFixed(2)}%)`,
    );
  if (a.heldOut?.sd)
    console.log(
      `held-out miss in seed sd uses the ${a.heldOut.sdSource === 'pooled' ? 'pooled sd over the sizes with seeds' : 'sd of the held-out size'}: ${a.heldOut.sd.toFixed(4)} nats`,
    );
  console.log(`runs (N = ${PARAM_KIND_LABEL[paramKind]}; D, val loss, residual ln measured - ln fitted):`);
  for (const p of a.points)
    console.log(
      `  ${p.runId.padEnd(26)} N ${String(p.N).padStart(9)}  D ${String(p.D).padStart(9)}  ${p.loss.toFixed(4)}  ${p.residual === undefined ? '' : (p.residual >= 0 ? '+' : '') + p.residual.toFixed(4)}`,
    );
  if (a.joint) {
    const j = a.joint;
    console.log(
      `L(N, D) (${PARAM_KIND_LABEL[paramKind]}):  E ${fmt(j.E, 4)} ${iv(j.intervals.E)}, A ${fmt(j.A, 4)} ${iv(j.intervals.A)}, B ${fmt(j.B, 4)} ${iv(j.intervals.B)}, alpha ${fmt(j.alpha, 3)} ${iv(j.intervals.alpha, 3)}, beta ${fmt(j.beta, 3)} ${iv(j.intervals.beta, 3)}`,
    );
    console.log(
      `  compute-optimal: N_opt ∝ C^${fmt(j.a, 3)} ${iv(j.intervals.a, 3)}, D_opt ∝ C^${fmt(j.b, 3)} ${iv(j.intervals.b, 3)}, tokens per parameter at C = ${fmt(j.referenceCompute ?? NaN, 3)}: ${iv(j.intervals.tokensPerParam, 3)}`,
    );
  } else if (a.jointError) console.log(`L(N, D): not fitted (${a.jointError})`);
  if (multi) {
    console.log(`Chinchilla's three approaches: N_opt ∝ C^a (95% bootstrap over runs)`);
    console.log(`  ${'approach'.padEnd(36)}${'non-embedding N'.padEnd(28)}total N`);
    const [apNe, apTot] = paramKind === 'total' ? [approachesOther, approaches] : [approaches, approachesOther];
    apNe.forEach((x, i) => {
      const y = apTot[i];
      console.log(`  ${`${x.approach}. ${x.name}`.padEnd(36)}${cell(x.a, x.interval, 3).padEnd(28)}${cell(y.a, y.interval, 3)}`);
    });
    for (const x of apNe) console.log(`    ${x.approach}: ${x.note}`);
  }
  if (lrScan.sizes.length) {
    console.log(`lr scan (final validation loss at the rule's lr x multiplier; * = the rule's choice, < = best):`);
    for (const sz of lrScan.sizes) {
      const pts = sz.points
        .map(
          (p) =>
            `x${p.multiplier} ${p.loss === null ? 'diverged' : p.loss.toFixed(4)}${p.multiplier === 1 ? '*' : ''}${p.multiplier === sz.bestMultiplier ? '<' : ''}`,
        )
        .join('  ');
      console.log(`  N ${sz.nonEmbeddingParams.toLocaleString('en-US').padStart(9)} (rule lr ${sz.ruleLr.toPrecision(3)}): ${pts}`);
      console.log(
        `    best lr ${sz.bestLr.toPrecision(3)} = rule x ${sz.bestMultiplier}${sz.bestAtEdge ? ' (at the edge of the scan)' : ''}; the rule costs ${sz.ruleExcess.toFixed(4)} nats here; ${sz.ruleWithin2x ? 'within 2x of the best' : 'NOT within 2x of the best'}`,
      );
    }
    console.log(`  the rule is ${lrScan.ruleOk ? '' : 'NOT '}within 2x of the best lr at every scanned size`);
  }
  if (a.dataLimitedRuns.length)
    console.log(`warning: ${a.dataLimitedRuns.length} runs repeat their text more than ~4 times (data-limited): ${a.dataLimitedRuns.join(', ')}`);
  if (results.spec.testOnlySmallLadder) console.log('warning: this sweep was a test fixture (testOnlySmallLadder): not a measurement');
  const k = PUBLISHED.kaplan,
    c = PUBLISHED.chinchilla;
  console.log(
    `for reference (BPE tokens, not comparable in scale): Kaplan alpha_N ${k.alphaN}, Nc ${k.Nc.toExponential(1)}; Chinchilla E ${c.E}, A ${c.A}, alpha ${c.alpha}, B ${c.B}, beta ${c.beta}, a ${c.a}`,
  );
}

/** docs/scaling.md's tables, exactly as `npm run fit -- FILE --markdown` prints them. */
function markdown(
  ne: Analysis,
  tot: Analysis,
  apNe: ApproachResult[],
  apTot: ApproachResult[],
  lrScan: ReturnType<typeof summariseLrScan>,
  H: number | undefined,
): string {
  const iv = (i: Interval | null | undefined, d = 4) => (i && Number.isFinite(i.lo) ? `[${fmt(i.lo, d)}, ${fmt(i.hi, d)}]` : 'n/a');
  const v = (x: number | null | undefined, d = 4) => (x === null || x === undefined || !Number.isFinite(x) ? 'n/a' : fmt(x, d));
  const out: string[] = ['| | N = non-embedding | 95% interval | N = total | 95% interval |', '|---|---:|---:|---:|---:|'];
  const row = (label: string, f: (x: Analysis) => [number | null | undefined, Interval | null | undefined], d = 4, law = false) => {
    // An L(N) constant whose fit failed its checks: "not a scaling law", the fitted figures only in brackets.
    const cells = (x: Analysis) => {
      const [y, i] = f(x);
      return law && !x.diagnosis.valid && y !== null && y !== undefined ? `${NOT_A_SCALING_LAW} | (fit: ${v(y, d)} ${iv(i, d)})` : `${v(y, d)} | ${iv(i, d)}`;
    };
    out.push(`| ${label} | ${cells(ne)} | ${cells(tot)} |`);
  };
  row('E (nats/char), L = E + (N_c/N)^α', (x) => [x.fit?.E, x.fit?.intervals.E], 4, true);
  row('N_c', (x) => [x.fit?.Nc, x.fit?.intervals.Nc], 4, true);
  row('α', (x) => [x.fit?.alpha, x.fit?.intervals.alpha], 4, true);
  row('α, pure power law L = (N_c/N)^α', (x) => [x.power?.alpha, x.power?.intervals.alpha], 4, true);
  const ho = (x: Analysis) =>
    x.heldOut
      ? `${x.heldOut.predicted.toFixed(4)} vs ${x.heldOut.measured.toFixed(4)} (${x.heldOut.error >= 0 ? '+' : ''}${(100 * x.heldOut.error).toFixed(2)}%${x.heldOut.sds !== null ? `, ${x.heldOut.sds.toFixed(2)} seed sd` : ''})`
      : 'n/a';
  out.push(`| largest size held out: predicted vs measured | ${ho(ne)} | | ${ho(tot)} | |`);
  if (ne.joint || tot.joint) {
    row('L(N, D) = E + A/N^α + B/D^β: E', (x) => [x.joint?.E, x.joint?.intervals.E]);
    row('L(N, D): α', (x) => [x.joint?.alpha, x.joint?.intervals.alpha], 3);
    row('L(N, D): β', (x) => [x.joint?.beta, x.joint?.intervals.beta], 3);
  }
  for (const [name, x] of [
    ['non-embedding', ne],
    ['total', tot],
  ] as const) {
    if (x.diagnosis.valid) continue;
    out.push(
      '',
      `**${NOT_A_SCALING_LAW[0].toUpperCase()}${NOT_A_SCALING_LAW.slice(1)}** (N = ${name}): the L(N) constants above describe these points, not a law.`,
      '',
    );
    for (const p of x.diagnosis.problems) out.push(`- ${p.message}`);
  }
  if (H !== undefined) {
    const g = groundTruth(H, ne),
      gt = groundTruth(H, tot);
    out.push('', `Ground truth: entropy rate H = ${H.toFixed(4)} nats/char.`, '', '| | N = non-embedding | N = total | goal |', '|---|---:|---:|---|');
    const s = (x: number | null) => (x === null || !Number.isFinite(x) ? 'n/a' : `${x >= 0 ? '+' : ''}${x.toFixed(4)}`);
    out.push(`| L(N) fit: E − H | ${s(g.errorE)} | ${s(gt.errorE)} | within ±0.05 |`);
    out.push(
      `| L(N) fit: E's interval contains H / its width | ${g.covered ? 'yes' : 'no'} / ${g.width.toFixed(3)} | ${gt.covered ? 'yes' : 'no'} / ${gt.width.toFixed(3)} | yes / < 0.2 |`,
    );
    out.push(`| L(N, D) fit: E − H | ${s(g.jointErrorE)} | ${s(gt.jointErrorE)} | within ±0.1 |`);
    out.push(`| best run − H | ${s(g.bestLoss - H)} | | ~0.1 |`);
  }
  if (ne.seedNoise.length) {
    out.push('', '| seed noise at N (non-embedding) | seeds | mean | sd |', '|---:|---:|---:|---:|');
    for (const z of ne.seedNoise)
      out.push(`| ${z.N.toLocaleString('en-US')} | ${z.runs} | ${z.mean.toFixed(4)} | ${z.sd.toFixed(4)} (${(100 * z.relSd).toFixed(2)}%) |`);
  }
  if (lrScan.sizes.length) {
    const ms = lrScan.sizes[0].points.map((p) => p.multiplier);
    out.push('', `| N (non-emb) | rule lr | ${ms.map((m) => `× ${m}`).join(' | ')} | best |`, `|---:|---:|${ms.map(() => '---:|').join('')}---|`);
    for (const z of lrScan.sizes) {
      const cells = z.points.map((p) => {
        const c = p.loss === null ? 'diverged' : p.loss.toFixed(4);
        return p.multiplier === 1 ? `**${c}**` : p.multiplier === z.bestMultiplier ? `${c} ←` : c;
      });
      out.push(
        `| ${z.nonEmbeddingParams.toLocaleString('en-US')} | ${z.ruleLr.toPrecision(3)} | ${cells.join(' | ')} | × ${z.bestMultiplier}${z.bestAtEdge ? ' (edge)' : ''}, ${z.ruleWithin2x ? 'rule within 2×' : 'rule NOT within 2×'} |`,
      );
    }
  }
  if (apNe.length) {
    const pub: Record<number, string> = { 1: '0.50', 2: '0.49', 3: '0.46 (0.51 refitted)' };
    out.push('', '| N_opt ∝ C^a | a, N non-embedding | 95% interval | a, N total | 95% interval | Chinchilla 2022 |', '|---|---:|---:|---:|---:|---:|');
    apNe.forEach((x, i) =>
      out.push(`| ${x.approach}. ${x.name} | ${v(x.a, 3)} | ${iv(x.interval, 3)} | ${v(apTot[i]?.a, 3)} | ${iv(apTot[i]?.interval, 3)} | ${pub[x.approach]} |`),
    );
  }
  return out.join('\n');
}

/** How the fitted E compares with a known entropy rate (the built-in corpora). */
function groundTruth(H: number, x: Analysis) {
  const E = x.fit?.E ?? null;
  const i = x.fit?.intervals.E;
  const best = Math.min(...x.points.map((p) => p.loss));
  return {
    entropyPerChar: H,
    E,
    errorE: E === null ? NaN : E - H,
    covered: !!i && i.lo <= H && H <= i.hi,
    width: i ? i.hi - i.lo : NaN,
    jointE: x.joint?.E ?? null,
    jointErrorE: x.joint ? x.joint.E - H : null,
    bestLoss: best,
  };
}

function fmt(x: number, digits: number): string {
  if (!Number.isFinite(x)) return String(x);
  return Math.abs(x) >= 1e5 || (Math.abs(x) < 1e-3 && x !== 0) ? x.toExponential(digits - 1) : x.toPrecision(digits);
}
