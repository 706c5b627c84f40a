// A sweep's results file, one format for the CLI and the page: JSON (the
// canonical form) and CSV (one row per run, for spreadsheets), both lossless
// and both importable. The analysis that turns runs into fitted laws is in
// analysis.ts (L(N), L(N, D)) and isoflops.ts (loss against compute).
// Pure TypeScript (no tfjs, no DOM).

import { DEFAULT_CONFIG, type Config } from '../config';
import { specFromJSON, SweepError, type SweepSpec } from './sweep';
import type { Calibration } from './sweep-estimate';
import type { CurvePoint, RunResult } from './sweep-plan';

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

const RUN_NUMBERS = [
  'sizeIndex',
  'budgetIndex',
  'seed',
  'params',
  'nonEmbeddingParams',
  'tokens',
  'epochs',
  'flopsPerToken',
  'flops6ND',
  'flopsExact',
  'trainLoss',
  'valLoss',
  'trainBpc',
  'valBpc',
  'valTokens',
  'wallSec',
  'tokensPerSec',
] as const;

function checkResults(obj: unknown, name: string): SweepResults {
  const bad = (msg: string): never => {
    throw new SweepError(`${name}: ${msg}`);
  };
  if (typeof obj !== 'object' || obj === null) bad('not a sweep results file (expected a JSON object)');
  const r = obj as Partial<SweepResults>;
  if (r.format !== RESULTS_FORMAT)
    bad(
      `not a sweep results file (format is ${JSON.stringify(r.format)}, expected "${RESULTS_FORMAT}"); produce one with 'tabgpt sweep --out FILE' or the scaling page's export`,
    );
  if (r.version !== RESULTS_VERSION) bad(`results version ${r.version} is not supported (this tabgpt reads version ${RESULTS_VERSION})`);
  // a file from before minSteps ran every run at the spec's batch: read it so (its runs plan as they ran)
  const spec = specFromJSON(legacyFields(r.spec), `${name}: spec`);
  const c = r.corpus as CorpusInfo | undefined;
  if (!c || typeof c.source !== 'string' || !(c.vocabSize > 0) || !(c.trainChars > 0))
    bad('corpus is missing or incomplete (source, vocabSize, trainChars, ...)');
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
    format: RESULTS_FORMAT,
    version: RESULTS_VERSION,
    spec,
    corpus: c as CorpusInfo,
    runs,
    ...(scan.length ? { lrScan: scan } : {}),
    ...(r.calibration ? { calibration: r.calibration } : {}),
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
// Config columns added after files were written: absent there, the default then.
const LATER_CONFIG_KEYS: readonly (keyof Config)[] = ['step', 'gelu', 'gradAccumSteps', 'recompute'];
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
  const lines = [`# ${RESULTS_FORMAT} ${RESULTS_VERSION}`, `# spec ${JSON.stringify(results.spec)}`, `# corpus ${JSON.stringify(results.corpus)}`];
  if (results.calibration) lines.push(`# calibration ${JSON.stringify(results.calibration)}`);
  lines.push(COLUMNS.join(','));
  for (const run of allRuns(results)) {
    const cells = [
      ...RUN_COLUMNS.map((k) => csvCell(run[k])),
      run.lrMultiplier === undefined ? '' : csvCell(run.lrMultiplier),
      run.diverged === undefined ? '' : csvCell(run.diverged),
      // JSON cells: numbers as they are, words ("eager") quoted; empty where the run's config predates the field
      ...CONFIG_KEYS.map((k) => (run.config[k] === undefined ? '' : csvCell(JSON.stringify(run.config[k])))),
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
      if (ch === '"' && text[i + 1] === '"') {
        cell += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else cell += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') {
      row.push(cell);
      cell = '';
    } else if (ch === '\n' || ch === '\r') {
      if (ch === '\r' && text[i + 1] === '\n') i++;
      row.push(cell);
      rows.push(row);
      row = [];
      cell = '';
    } else cell += ch;
  }
  if (cell !== '' || row.length > 0) {
    row.push(cell);
    rows.push(row);
  }
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
        try {
          header[m[1]] = JSON.parse(m[2]);
        } catch {
          throw new SweepError(`${name}: the '# ${m[1]}' header line is not valid JSON`);
        }
      }
    } else body.push(line);
  }
  if (header.version === undefined)
    throw new SweepError(`${name}: not a sweep results CSV (no '# ${RESULTS_FORMAT}' first line); export one from 'tabgpt sweep' results or the scaling page`);
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
      try {
        return JSON.parse(raw) as unknown;
      } catch {
        throw new SweepError(`${name}: row ${r + 1}, column '${col}' is not valid (${raw.slice(0, 40)})`);
      }
    };
    const run: Record<string, unknown> = { id: cells[at('id')], backend: cells[at('backend')], finishedAt: cells[at('finishedAt')] };
    for (const k of RUN_NUMBERS) run[k] = json(k);
    run.dataLimited = json('dataLimited');
    const lrCell = cols.includes(LR_COLUMN) ? cells[at(LR_COLUMN)] : '';
    if (lrCell !== '') run.lrMultiplier = json(LR_COLUMN);
    const divCell = cols.includes(DIVERGED_COLUMN) ? cells[at(DIVERGED_COLUMN)] : '';
    if (divCell !== '') run.diverged = divCell;
    const config: Record<string, unknown> = {};
    for (const k of CONFIG_KEYS) {
      if (!cols.includes(`config.${k}`)) {
        if (LATER_CONFIG_KEYS.includes(k))
          config[k] = DEFAULT_CONFIG[k]; // a file written before the column existed
        else json(`config.${k}`); // names the missing column
      } else if (cells[at(`config.${k}`)] !== '' || !LATER_CONFIG_KEYS.includes(k)) config[k] = json(`config.${k}`);
      // else: a run whose config predates the field, as in its JSON: absent
    }
    run.config = config;
    run.curve = JSON.parse(cells[at('curve')]) as CurvePoint[];
    return run as unknown as RunResult;
  });
  const main = runs.filter((r) => r.lrMultiplier === undefined),
    scan = runs.filter((r) => r.lrMultiplier !== undefined);
  return checkResults(
    {
      format: RESULTS_FORMAT,
      version: header.version,
      spec: header.spec,
      corpus: header.corpus,
      runs: main,
      ...(scan.length ? { lrScan: scan } : {}),
      ...(header.calibration ? { calibration: header.calibration } : {}),
    },
    name,
  );
}

/** JSON or CSV, by content. */
export function parseResults(text: string, name = 'results'): SweepResults {
  return text.trimStart().startsWith('{') ? resultsFromJSON(text, name) : resultsFromCSV(text, name);
}

/** A stored spec's fields that predate their defaults: minSteps absent means 0 (every run at the spec's batch). */
export function legacyFields(spec: unknown): unknown {
  return spec && typeof spec === 'object' && !Array.isArray(spec) && !('minSteps' in spec) ? { ...spec, minSteps: 0 } : spec;
}
