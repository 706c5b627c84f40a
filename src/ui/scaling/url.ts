// The scaling page's settings in its URL: every sweep spec field (camelCase,
// only where it differs from the default) plus the page's own view settings,
// so a link reproduces the sweep and the view.

import { BROWSER_ORDER, type BackendName } from '../../core/choices';
import { DEFAULT_LR_SCAN, DEFAULT_SPEC, specFromJSON, type SweepSpec } from '../../core/scaling/sweep';
import type { ParamKind } from '../../core/scaling/analysis';

export interface ScalingSettings {
  spec: SweepSpec;
  /** Which parameter count the plots and the fit use. */
  paramKind: ParamKind;
  units: 'nats' | 'bpc';
  /** ?backend=: try only this backend. */
  backend: BackendName | null;
  /** Time budget for "fit to budget", minutes. */
  budgetMin: number;
  /** Steps per size in the calibration (after the compiling one). */
  calibrationSteps: number;
  /** Start the sweep once the page is ready (links, tests). */
  autostart: boolean;
}

const LIST_KEYS = ['budgets', 'seeds', 'repeatSeeds', 'repeatSizes'] as const;
const NUMBER_KEYS = [
  'sizes',
  'minParams',
  'maxParams',
  'headSize',
  'widthPerLayer',
  'blockSize',
  'batchSize',
  'minSteps',
  'minLrRatio',
  'warmupFraction',
  'evalIters',
  'evalsPerRun',
  'weightDecay',
  'beta2',
  'dropout',
  'gradClip',
] as const;

export function defaultSettings(): ScalingSettings {
  return { spec: { ...DEFAULT_SPEC }, paramKind: 'nonEmbedding', units: 'nats', backend: null, budgetMin: 30, calibrationSteps: 3, autostart: false };
}

/** Parse the URL; a bad value is reported (one line each) and the default kept. */
export function parseScalingSearch(search: string): { settings: ScalingSettings; errors: string[] } {
  const q = new URLSearchParams(search);
  const s = defaultSettings();
  const errors: string[] = [];
  const raw: Record<string, unknown> = {};
  const num = (key: string): number | undefined => {
    const v = q.get(key);
    if (v === null) return undefined;
    const n = Number(v);
    if (v.trim() === '' || !Number.isFinite(n)) {
      errors.push(`URL: ${key} must be a number (got '${v}')`);
      return undefined;
    }
    return n;
  };
  const corpus = q.get('corpus');
  if (corpus !== null) raw.corpus = corpus;
  for (const k of NUMBER_KEYS) {
    const n = num(k);
    if (n !== undefined) raw[k] = n;
  }
  for (const k of LIST_KEYS) {
    const v = q.get(k);
    if (v === null) continue;
    const xs = v.split(',').map(Number);
    if (v.trim() === '' || xs.some((x) => !Number.isFinite(x))) errors.push(`URL: ${k} must be a comma-separated list of numbers (got '${v}')`);
    else raw[k] = xs;
  }
  const tokens = num('tokens'),
    perParam = num('tokensPerParam');
  if (tokens !== undefined) {
    raw.tokens = tokens;
    raw.tokensPerParam = null;
  }
  if (perParam !== undefined) {
    raw.tokensPerParam = perParam;
    if (tokens === undefined) raw.tokens = null;
  }
  const lr = num('lr'),
    lrScale = num('lrScale');
  if (lr !== undefined) raw.lr = { kind: 'fixed', lr };
  else if (lrScale !== undefined) raw.lr = { kind: 'kaplan', scale: lrScale };
  if (q.get('testOnlySmallLadder') === '1') raw.testOnlySmallLadder = true;
  const scan = q.get('lrScan');
  if (scan === 'ends' || scan === 'all') raw.lrScan = { ...DEFAULT_LR_SCAN, sizes: scan };
  else if (scan !== null) errors.push(`URL: lrScan must be ends or all (got '${scan}')`);
  try {
    s.spec = specFromJSON(raw, 'URL');
  } catch (e) {
    errors.push((e as Error).message);
  }
  const params = q.get('params');
  if (params === 'total' || params === 'nonEmbedding') s.paramKind = params;
  else if (params !== null) errors.push(`URL: params must be nonEmbedding or total (got '${params}')`);
  const units = q.get('units');
  if (units === 'nats' || units === 'bpc') s.units = units;
  const backend = q.get('backend');
  if (backend !== null) {
    if ((BROWSER_ORDER as string[]).includes(backend)) s.backend = backend as BackendName;
    else errors.push(`URL: backend must be one of ${BROWSER_ORDER.join(', ')} (got '${backend}')`);
  }
  const budget = num('budgetMin');
  if (budget !== undefined && budget > 0) s.budgetMin = budget;
  const cal = num('calibrationSteps');
  if (cal !== undefined && Number.isInteger(cal) && cal > 0) s.calibrationSteps = cal;
  s.autostart = q.get('autostart') === '1';
  return { settings: s, errors };
}

/** The URL search for settings: only what differs from the defaults. */
export function scalingSearch(s: ScalingSettings): string {
  const q = new URLSearchParams();
  const d = DEFAULT_SPEC;
  const spec = s.spec;
  if (spec.corpus !== d.corpus) q.set('corpus', spec.corpus);
  for (const k of NUMBER_KEYS) if (spec[k] !== d[k]) q.set(k, String(spec[k]));
  for (const k of LIST_KEYS) if (spec[k].join(',') !== d[k].join(',')) q.set(k, spec[k].join(','));
  if (spec.tokens !== null && spec.tokens !== d.tokens) q.set('tokens', String(spec.tokens));
  if (spec.tokensPerParam !== null) q.set('tokensPerParam', String(spec.tokensPerParam));
  if (spec.lr.kind === 'fixed') q.set('lr', String(spec.lr.lr));
  else if (spec.lr.kind === 'kaplan' && (d.lr.kind !== 'kaplan' || spec.lr.scale !== d.lr.scale)) q.set('lrScale', String(spec.lr.scale));
  if (spec.testOnlySmallLadder) q.set('testOnlySmallLadder', '1');
  if (spec.lrScan) q.set('lrScan', spec.lrScan.sizes);
  if (s.paramKind !== 'nonEmbedding') q.set('params', s.paramKind);
  if (s.units !== 'nats') q.set('units', s.units);
  if (s.backend) q.set('backend', s.backend);
  if (s.budgetMin !== 30) q.set('budgetMin', String(s.budgetMin));
  if (s.calibrationSteps !== 3) q.set('calibrationSteps', String(s.calibrationSteps));
  const str = q.toString();
  return str ? `?${str}` : '';
}
