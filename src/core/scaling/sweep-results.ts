// A sweep's results file, one format for the CLI and the page: JSON (the
// canonical form) and CSV (one row per run, for spreadsheets), both lossless
// and both importable; plus the analysis that turns runs into fitted laws.
// Pure TypeScript (no tfjs, no DOM).

import { DEFAULT_CONFIG, type Config } from '../config';
import { FitError, fitJoint, fitPowerLaw, heldOutPrediction, predictPowerLaw, type JointFit, type PowerLawFit, type ScalingPoint } from './fit';
import { specFromJSON, SweepError, type Calibration, type CurvePoint, type RunResult, type SweepSpec } from './sweep';

export const RESULTS_FORMAT = 'tabgpt-sweep-results';
export const RESULTS_VERSION = 1;

export interface CorpusInfo {
  /** 'shakespeare', 'builtin', or the file's name. */
  source: string;
  chars: number;
  trainChars: number;
  valChars: number;
  vocabSize: number;
  /** SHA-256 of the normalised text: a resumed sweep must train on the same text. */
  sha256: string;
  /** Known entropy rate (nats/char) for the built-in corpus: the floor the fitted E should approach. */
  entropyPerChar?: number;
}

export interface SweepResults {
  format: typeof RESULTS_FORMAT;
  version: number;
  spec: SweepSpec;
  corpus: CorpusInfo;
  runs: RunResult[];
  /** The lr-scan runs (spec.lrScan), kept apart from `runs`: they check the lr rule and are never fitted. */
  lrScan?: RunResult[];
  calibration?: Calibration;
}

export function emptyResults(spec: SweepSpec, corpus: CorpusInfo): SweepResults {
  return { format: RESULTS_FORMAT, version: RESULTS_VERSION, spec, corpus, runs: [] };
}

/** A copy with `run` added (replacing a run with the same id), runs kept in finishing order. */
export function withRun(results: SweepResults, run: RunResult): SweepResults {
  if (run.lrMultiplier !== undefined) return { ...results, lrScan: [...(results.lrScan ?? []).filter((r) => r.id !== run.id), run] };
  return { ...results, runs: [...results.runs.filter((r) => r.id !== run.id), run] };
}

/** Every finished run, main and lr-scan (what a resumed sweep skips). */
export function allRuns(results: SweepResults): RunResult[] {
  return [...results.runs, ...(results.lrScan ?? [])];
}

// ---------------------------------------------------------------------------------------
// JSON

export function resultsToJSON(results: SweepResults): string {
  return JSON.stringify(results, null, 1) + '\n';
}

const RUN_NUMBERS = ['sizeIndex', 'budgetIndex', 'seed', 'params', 'nonEmbeddingParams', 'tokens', 'epochs', 'flopsPerToken',
  'flops6ND', 'flopsExact', 'trainLoss', 'valLoss', 'trainBpc', 'valBpc', 'valTokens', 'wallSec', 'tokensPerSec'] as const;

function checkResults(obj: unknown, name: string): SweepResults {
  const bad = (msg: string): never => { throw new SweepError(`${name}: ${msg}`); };
  if (typeof obj !== 'object' || obj === null) bad('not a sweep results file (expected a JSON object)');
  const r = obj as Partial<SweepResults>;
  if (r.format !== RESULTS_FORMAT) bad(`not a sweep results file (format is ${JSON.stringify(r.format)}, expected "${RESULTS_FORMAT}"); produce one with 'tabgpt sweep --out FILE' or the scaling page's export`);
  if (r.version !== RESULTS_VERSION) bad(`results version ${r.version} is not supported (this tabgpt reads version ${RESULTS_VERSION})`);
  const spec = specFromJSON(r.spec, `${name}: spec`);
  const c = r.corpus as CorpusInfo | undefined;
  if (!c || typeof c.source !== 'string' || !(c.vocabSize > 0) || !(c.trainChars > 0)) bad('corpus is missing or incomplete (source, vocabSize, trainChars, ...)');
  if (!Array.isArray(r.runs)) bad('runs must be a list');
  if (r.lrScan !== undefined && !Array.isArray(r.lrScan)) bad('lrScan must be a list of runs');
  const runs = r.runs as RunResult[];
  const scan = (r.lrScan ?? []) as RunResult[];
  if (runs.some((run) => run && run.lrMultiplier !== undefined)) bad('an lr-scan run (with lrMultiplier) is among the main runs: it belongs in lrScan');
  if (scan.some((run) => run && !(typeof run.lrMultiplier === 'number' && run.lrMultiplier > 0))) bad('every lrScan run needs a positive lrMultiplier');
  [...runs, ...scan].forEach((run, i) => {
    if (typeof run !== 'object' || run === null || typeof run.id !== 'string') bad(`run ${i} has no id`);
    const divergedScan = run.lrMultiplier !== undefined && typeof run.diverged === 'string';
    const nullable = new Set<string>(divergedScan ? ['trainLoss', 'valLoss', 'trainBpc', 'valBpc'] : []);
    for (const k of RUN_NUMBERS) {
      if (nullable.has(k) && run[k] === null) continue;
      if (typeof run[k] !== 'number' || Number.isNaN(run[k])) bad(`run ${run.id}: ${k} must be a number (got ${JSON.stringify(run[k])})`);
    }
    if (!divergedScan && !(run.valLoss > 0)) bad(`run ${run.id}: valLoss must be positive (got ${run.valLoss})`);
    if (typeof run.config !== 'object' || run.config === null) bad(`run ${run.id}: config is missing`);
    if (!Array.isArray(run.curve)) bad(`run ${run.id}: curve must be a list`);
  });
  if (new Set([...runs, ...scan].map((x) => x.id)).size !== runs.length + scan.length) bad('two runs share an id');
  return {
    format: RESULTS_FORMAT, version: RESULTS_VERSION, spec, corpus: c as CorpusInfo, runs,
    ...(scan.length ? { lrScan: scan } : {}), ...(r.calibration ? { calibration: r.calibration } : {}),
  };
}

export function resultsFromJSON(text: string, name = 'results'): SweepResults {
  let obj: unknown;
  try {
    obj = JSON.parse(text);
  } catch (e) {
    throw new SweepError(`${name} is not valid JSON (${(e as Error).message}): give a results file written by 'tabgpt sweep' or exported from the page`);
  }
  return checkResults(obj, name);
}

// ---------------------------------------------------------------------------------------
// CSV: '#' header lines carry the format, spec, corpus (and calibration) as JSON; then
// one row per run. Config fields are columns 'config.KEY'; the loss curve is a JSON cell.

const CONFIG_KEYS = [...Object.keys(DEFAULT_CONFIG)] as (keyof Config)[];
const RUN_COLUMNS = ['id', ...RUN_NUMBERS, 'dataLimited', 'backend', 'finishedAt'] as const;
// lr-scan runs carry their factor here (empty for main runs); on import it routes them to lrScan.
const LR_COLUMN = 'lrMultiplier';
// Why an lr-scan run diverged (empty otherwise): its losses are then empty too.
const DIVERGED_COLUMN = 'diverged';
const COLUMNS = [...RUN_COLUMNS, LR_COLUMN, DIVERGED_COLUMN, ...CONFIG_KEYS.map((k) => `config.${k}`), 'curve'];

function csvCell(v: unknown): string {
  const s = typeof v === 'string' ? v : JSON.stringify(v);
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export function resultsToCSV(results: SweepResults): string {
  const lines = [
    `# ${RESULTS_FORMAT} ${RESULTS_VERSION}`,
    `# spec ${JSON.stringify(results.spec)}`,
    `# corpus ${JSON.stringify(results.corpus)}`,
  ];
  if (results.calibration) lines.push(`# calibration ${JSON.stringify(results.calibration)}`);
  lines.push(COLUMNS.join(','));
  for (const run of allRuns(results)) {
    const cells = [
      ...RUN_COLUMNS.map((k) => csvCell(run[k])),
      run.lrMultiplier === undefined ? '' : csvCell(run.lrMultiplier),
      run.diverged === undefined ? '' : csvCell(run.diverged),
      ...CONFIG_KEYS.map((k) => csvCell(run.config[k])),
      csvCell(JSON.stringify(run.curve)),
    ];
    lines.push(cells.join(','));
  }
  return lines.join('\n') + '\n';
}

/** RFC 4180 rows: quoted cells may hold commas, quotes ("") and newlines. */
function parseCsvRows(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') { cell += '"'; i++; }
      else if (ch === '"') quoted = false;
      else cell += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') { row.push(cell); cell = ''; }
    else if (ch === '\n' || ch === '\r') {
      if (ch === '\r' && text[i + 1] === '\n') i++;
      row.push(cell); rows.push(row); row = []; cell = '';
    } else cell += ch;
  }
  if (cell !== '' || row.length > 0) { row.push(cell); rows.push(row); }
  return rows;
}

export function resultsFromCSV(text: string, name = 'results.csv'): SweepResults {
  const header: Record<string, unknown> = {};
  const body: string[] = [];
  for (const line of text.split(/\r?\n/)) {
    if (line.startsWith('# ')) {
      const m = /^# (\S+) (.*)$/.exec(line);
      if (!m) continue;
      if (m[1] === RESULTS_FORMAT) header.version = Number(m[2]);
      else {
        try { header[m[1]] = JSON.parse(m[2]); } catch { throw new SweepError(`${name}: the '# ${m[1]}' header line is not valid JSON`); }
      }
    } else body.push(line);
  }
  if (header.version === undefined) throw new SweepError(`${name}: not a sweep results CSV (no '# ${RESULTS_FORMAT}' first line); export one from 'tabgpt sweep' results or the scaling page`);
  const rows = parseCsvRows(body.join('\n')).filter((r) => !(r.length === 1 && r[0] === ''));
  if (rows.length === 0) throw new SweepError(`${name}: the column header row is missing`);
  const cols = rows[0];
  const at = (col: string) => {
    const i = cols.indexOf(col);
    if (i < 0) throw new SweepError(`${name}: column '${col}' is missing`);
    return i;
  };
  const runs = rows.slice(1).map((cells, r) => {
    if (cells.length !== cols.length) throw new SweepError(`${name}: row ${r + 1} has ${cells.length} cells, the header has ${cols.length}`);
    const json = (col: string) => {
      const raw = cells[at(col)];
      try { return JSON.parse(raw) as unknown; } catch { throw new SweepError(`${name}: row ${r + 1}, column '${col}' is not valid (${raw.slice(0, 40)})`); }
    };
    const run: Record<string, unknown> = { id: cells[at('id')], backend: cells[at('backend')], finishedAt: cells[at('finishedAt')] };
    for (const k of RUN_NUMBERS) run[k] = json(k);
    run.dataLimited = json('dataLimited');
    const lrCell = cols.includes(LR_COLUMN) ? cells[at(LR_COLUMN)] : '';
    if (lrCell !== '') run.lrMultiplier = json(LR_COLUMN);
    const divCell = cols.includes(DIVERGED_COLUMN) ? cells[at(DIVERGED_COLUMN)] : '';
    if (divCell !== '') run.diverged = divCell;
    const config: Record<string, unknown> = {};
    for (const k of CONFIG_KEYS) config[k] = json(`config.${k}`);
    run.config = config;
    run.curve = JSON.parse(cells[at('curve')]) as CurvePoint[];
    return run as unknown as RunResult;
  });
  const main = runs.filter((r) => r.lrMultiplier === undefined), scan = runs.filter((r) => r.lrMultiplier !== undefined);
  return checkResults({
    format: RESULTS_FORMAT, version: header.version, spec: header.spec, corpus: header.corpus, runs: main,
    ...(scan.length ? { lrScan: scan } : {}), ...(header.calibration ? { calibration: header.calibration } : {}),
  }, name);
}

/** JSON or CSV, by content. */
export function parseResults(text: string, name = 'results'): SweepResults {
  return text.trimStart().startsWith('{') ? resultsFromJSON(text, name) : resultsFromCSV(text, name);
}

// ---------------------------------------------------------------------------------------
// Analysis: fits of L(N) on one parameter count, the held-out check, seed noise, L(N, D)

export type ParamKind = 'nonEmbedding' | 'total';
export const PARAM_KIND_LABEL: Record<ParamKind, string> = { nonEmbedding: 'non-embedding parameters', total: 'total parameters (with embeddings)' };

export interface AnalysedPoint {
  runId: string;
  N: number;
  D: number;
  /** Final validation loss, nats per character. */
  loss: number;
  seed: number;
  /** ln measured − ln fitted (E + power law), when that fit exists. */
  residual?: number;
}

export interface SeedNoise {
  N: number;
  D: number;
  runs: number;
  mean: number;
  /** Sample standard deviation of the final validation loss across seeds, and relative to the mean. */
  sd: number;
  relSd: number;
}

export interface Analysis {
  paramKind: ParamKind;
  /** Runs at the largest token budget of each size: the points of the L(N) fits. */
  points: AnalysedPoint[];
  fit: PowerLawFit | null;
  fitError?: string;
  power: PowerLawFit | null;
  powerError?: string;
  /**
   * The largest size predicted by the fit without it. `sd` is the seed-to-seed standard
   * deviation at that size when it has several seeds, else pooled over the sizes that do;
   * `sds` = |predicted − measured| / sd, the miss in seed standard deviations.
   */
  heldOut: { params: number; predicted: number; measured: number; error: number; sd: number | null; sdSource: 'held-out size' | 'pooled' | null; sds: number | null } | null;
  heldOutError?: string;
  seedNoise: SeedNoise[];
  /** L(N, D) over every run, when the sweep has several token budgets per size. */
  joint: JointFit | null;
  jointError?: string;
  dataLimitedRuns: string[];
  /** 95% band of the E + power-law curve (2.5% and 97.5% of the bootstrap refits' predictions), when bandN was given. */
  band: { N: number[]; lo: number[]; hi: number[] } | null;
}

/** Published constants for reference (different tokenizers: the scales do not transfer to characters). */
export const PUBLISHED = {
  kaplan: { alphaN: 0.076, Nc: 8.8e13, alphaD: 0.095, note: 'Kaplan et al. 2020, BPE tokens, non-embedding N' },
  chinchilla: { E: 1.69, A: 406.4, B: 410.7, alpha: 0.34, beta: 0.28, a: 0.46, note: 'Hoffmann et al. 2022, Approach 3' },
  besiroglu: { E: 1.82, A: 482, B: 2085, alpha: 0.35, beta: 0.37, a: 0.51, note: 'Besiroglu et al. 2024 refit of Approach 3' },
} as const;

const errorText = (e: unknown) => (e instanceof FitError || e instanceof SweepError ? e.message : `internal error: ${(e as Error).message}`);

export function analyse(results: SweepResults, opts: { paramKind?: ParamKind; bootstrap?: number; bandN?: number[] } = {}): Analysis {
  const paramKind = opts.paramKind ?? 'nonEmbedding';
  const fitOpts = { bootstrap: opts.bootstrap ?? 200 };
  const samples: { E: number; Nc: number; alpha: number }[] = [];
  const nOf = (r: RunResult) => (paramKind === 'total' ? r.params : r.nonEmbeddingParams);
  const maxBudget = new Map<number, number>();
  for (const r of results.runs) maxBudget.set(r.sizeIndex, Math.max(maxBudget.get(r.sizeIndex) ?? 0, r.tokens));
  const lRuns = results.runs.filter((r) => r.tokens === maxBudget.get(r.sizeIndex)).sort((a, b) => nOf(a) - nOf(b));
  const points: AnalysedPoint[] = lRuns.map((r) => ({ runId: r.id, N: nOf(r), D: r.tokens, loss: r.valLoss, seed: r.seed }));
  const scaling: ScalingPoint[] = points.map((p) => ({ N: p.N, loss: p.loss }));
  const out: Analysis = { paramKind, points, fit: null, power: null, heldOut: null, seedNoise: [], joint: null, dataLimitedRuns: results.runs.filter((r) => r.dataLimited).map((r) => r.id), band: null };

  try {
    out.fit = fitPowerLaw(scaling, 'E+power', { ...fitOpts, onBootstrapSample: (p) => samples.push(p as typeof samples[number]) });
    points.forEach((p, i) => (p.residual = out.fit?.residuals[i]));
    if (opts.bandN && samples.length >= 10) out.band = predictionBand(samples, opts.bandN);
  } catch (e) { out.fitError = errorText(e); }
  try { out.power = fitPowerLaw(scaling, 'power', fitOpts); } catch (e) { out.powerError = errorText(e); }
  try {
    const h = heldOutPrediction(scaling, 'E+power', fitOpts);
    out.heldOut = { params: h.params, predicted: h.predicted, measured: h.measured, error: h.error, sd: null, sdSource: null, sds: null };
  } catch (e) { out.heldOutError = errorText(e); }

  const groups = new Map<string, RunResult[]>();
  for (const r of results.runs) {
    const key = `${r.sizeIndex}/${r.tokens}`;
    groups.set(key, [...(groups.get(key) ?? []), r]);
  }
  for (const g of groups.values()) {
    if (g.length < 2) continue;
    const losses = g.map((r) => r.valLoss);
    const mean = losses.reduce((a, b) => a + b, 0) / losses.length;
    const sd = Math.sqrt(losses.reduce((a, b) => a + (b - mean) ** 2, 0) / (losses.length - 1));
    out.seedNoise.push({ N: nOf(g[0]), D: g[0].tokens, runs: g.length, mean, sd, relSd: sd / mean });
  }
  out.seedNoise.sort((a, b) => a.N - b.N);
  if (out.heldOut && out.seedNoise.length > 0) {
    const h = out.heldOut;
    const own = out.seedNoise.find((s) => s.N === h.params && s.D === Math.max(...out.seedNoise.filter((t) => t.N === h.params).map((t) => t.D)));
    // Pooled: the square root of the runs-weighted mean variance over the sizes with seeds.
    const dof = out.seedNoise.reduce((a, s) => a + s.runs - 1, 0);
    const pooled = Math.sqrt(out.seedNoise.reduce((a, s) => a + (s.runs - 1) * s.sd ** 2, 0) / dof);
    h.sd = own ? own.sd : pooled;
    h.sdSource = own ? 'held-out size' : 'pooled';
    h.sds = h.sd > 0 ? Math.abs(h.predicted - h.measured) / h.sd : null;
  }

  if (results.spec.budgets.length > 1) {
    try {
      out.joint = fitJoint(results.runs.map((r) => ({ N: nOf(r), D: r.tokens, loss: r.valLoss })), fitOpts);
    } catch (e) { out.jointError = errorText(e); }
  }
  return out;
}

/** Pointwise 2.5% and 97.5% quantiles of the refits' predicted loss at each N. */
function predictionBand(samples: { E: number; Nc: number; alpha: number }[], Ns: number[]): { N: number[]; lo: number[]; hi: number[] } {
  const lo: number[] = [], hi: number[] = [];
  for (const N of Ns) {
    const preds = samples.map((s) => predictPowerLaw(s, N)).filter(Number.isFinite).sort((a, b) => a - b);
    const q = (f: number) => preds[Math.min(preds.length - 1, Math.max(0, Math.round(f * (preds.length - 1))))];
    lo.push(q(0.025));
    hi.push(q(0.975));
  }
  return { N: [...Ns], lo, hi };
}

/** The prediction at N of the E + power-law fit, else of the pure power law (fewer runs needed), else NaN. */
export function predictAt(analysis: Pick<Analysis, 'fit' | 'power'>, N: number): number {
  const f = analysis.fit ?? analysis.power;
  return f ? predictPowerLaw(f, N) : NaN;
}

/**
 * Loss-vs-compute frontier: the lowest training loss any run reached at or below each
 * compute (exact FLOPs). Training loss, because every curve point has one (at about one
 * epoch it tracks the validation loss).
 */
export function computeFrontier(runs: RunResult[]): { flops: number; loss: number; runId: string }[] {
  const pts = runs.flatMap((r) => r.curve.map((c) => ({ flops: r.flopsPerToken * c.tokens, loss: c.trainLoss, runId: r.id })));
  pts.sort((a, b) => a.flops - b.flops);
  const frontier: { flops: number; loss: number; runId: string }[] = [];
  let best = Infinity;
  for (const p of pts) {
    if (p.loss < best) { best = p.loss; frontier.push(p); }
  }
  return frontier;
}

export interface IsoFlopCurve {
  /** Exact training FLOPs of this curve. */
  flops: number;
  /** Final validation loss per size at this compute (interpolated in ln D between a size's budgets). */
  points: { N: number; loss: number }[];
  /** Minimum of a parabola in ln N through the points (Chinchilla Approach 2), when it has one inside the range. */
  Nopt: number | null;
}

export interface IsoFlopAnalysis {
  curves: IsoFlopCurve[];
  /** N_opt ∝ C^a fitted over the curves with an optimum (least squares in log space), when there are 2 or more. */
  a: number | null;
}

/**
 * IsoFLOP curves from a sweep with several token budgets per size: for compute levels
 * spaced geometrically over the range every size can reach by interpolation, the loss of
 * each size at that compute, a parabola's minimum in ln N, and the exponent of N_opt(C).
 */
export function isoFlops(runs: RunResult[], paramKind: ParamKind = 'nonEmbedding', levels = 5): IsoFlopAnalysis {
  const bySize = new Map<number, RunResult[]>();
  for (const r of runs) bySize.set(r.sizeIndex, [...(bySize.get(r.sizeIndex) ?? []), r]);
  // Per size: (ln C, mean final val loss over seeds) sorted by C.
  const sizes: { N: number; lnC: number[]; loss: number[] }[] = [];
  for (const group of bySize.values()) {
    const byTokens = new Map<number, RunResult[]>();
    for (const r of group) byTokens.set(r.tokens, [...(byTokens.get(r.tokens) ?? []), r]);
    if (byTokens.size < 2) continue;
    const rows = [...byTokens.values()].map((g) => ({ lnC: Math.log(g[0].flopsExact), loss: g.reduce((s, r) => s + r.valLoss, 0) / g.length })).sort((a, b) => a.lnC - b.lnC);
    const N = paramKind === 'total' ? group[0].params : group[0].nonEmbeddingParams;
    sizes.push({ N, lnC: rows.map((r) => r.lnC), loss: rows.map((r) => r.loss) });
  }
  if (sizes.length < 3) return { curves: [], a: null };
  const lo = Math.min(...sizes.map((s) => s.lnC[0]));
  const hi = Math.max(...sizes.map((s) => s.lnC[s.lnC.length - 1]));
  const curves: IsoFlopCurve[] = [];
  for (let k = 0; k < levels; k++) {
    const lnC = lo + ((hi - lo) * (k + 0.5)) / levels;
    const points: { N: number; loss: number }[] = [];
    for (const s of sizes) {
      if (lnC < s.lnC[0] || lnC > s.lnC[s.lnC.length - 1]) continue;
      let i = 0;
      while (i < s.lnC.length - 2 && lnC > s.lnC[i + 1]) i++;
      const t = (lnC - s.lnC[i]) / (s.lnC[i + 1] - s.lnC[i]);
      points.push({ N: s.N, loss: s.loss[i] + t * (s.loss[i + 1] - s.loss[i]) });
    }
    points.sort((a, b) => a.N - b.N);
    curves.push({ flops: Math.exp(lnC), points, Nopt: parabolaMinimum(points) });
  }
  const withOpt = curves.filter((c) => c.Nopt !== null);
  let a: number | null = null;
  if (withOpt.length >= 2) {
    const xs = withOpt.map((c) => Math.log(c.flops)), ys = withOpt.map((c) => Math.log(c.Nopt as number));
    const mx = xs.reduce((p, q) => p + q, 0) / xs.length, my = ys.reduce((p, q) => p + q, 0) / ys.length;
    const sxy = xs.reduce((s, x, i) => s + (x - mx) * (ys[i] - my), 0), sxx = xs.reduce((s, x) => s + (x - mx) ** 2, 0);
    a = sxx > 0 ? sxy / sxx : null;
  }
  return { curves, a };
}

/** Least-squares parabola loss = c0 + c1 u + c2 u² in u = ln N; its minimum N if convex and inside the points' range. */
function parabolaMinimum(points: { N: number; loss: number }[]): number | null {
  if (points.length < 3) return null;
  const u = points.map((p) => Math.log(p.N)), y = points.map((p) => p.loss);
  const mu = u.reduce((a, b) => a + b, 0) / u.length;
  const x = u.map((v) => v - mu); // centred for conditioning
  // Normal equations for [c0, c1, c2].
  const S = (k: number) => x.reduce((s, v) => s + v ** k, 0);
  const T = (k: number) => x.reduce((s, v, i) => s + v ** k * y[i], 0);
  const M = [[S(0), S(1), S(2)], [S(1), S(2), S(3)], [S(2), S(3), S(4)]];
  const c = solve3(M, [T(0), T(1), T(2)]);
  if (!c || !(c[2] > 0)) return null;
  const xMin = -c[1] / (2 * c[2]);
  if (xMin < Math.min(...x) || xMin > Math.max(...x)) return null;
  return Math.exp(xMin + mu);
}

function solve3(M: number[][], b: number[]): number[] | null {
  const A = M.map((row, i) => [...row, b[i]]);
  for (let col = 0; col < 3; col++) {
    let piv = col;
    for (let r = col + 1; r < 3; r++) if (Math.abs(A[r][col]) > Math.abs(A[piv][col])) piv = r;
    if (Math.abs(A[piv][col]) < 1e-12) return null;
    [A[col], A[piv]] = [A[piv], A[col]];
    for (let r = 0; r < 3; r++) {
      if (r === col) continue;
      const f = A[r][col] / A[col][col];
      for (let k = col; k < 4; k++) A[r][k] -= f * A[col][k];
    }
  }
  return [A[0][3] / A[0][0], A[1][3] / A[1][1], A[2][3] / A[2][2]];
}
