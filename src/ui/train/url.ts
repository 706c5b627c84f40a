// The page's settings as URL parameters, so a link reproduces a run. Names
// are the config's own field names (nLayer, maxIters, lr, ...) plus preset,
// corpus, backend and autostart; only values that differ from what the preset
// and the other settings would give are written. Also the equivalent CLI line.
// No DOM here: tests run it in Node.

import { BROWSER_ORDER, type BackendName } from '../../core/choices';
import { makeConfig, NUMERIC_KEYS, PRESET_NAMES, setField, toKebab, type Config, type PresetName } from '../../core/config';
import { isOptionKey, OPTION_KEYS, parseOption, type PageOptions } from '../page-options';
import type { CorpusRef } from '../../worker/protocol';

/** The backends ?backend= may force: the browser's (core/choices.ts, free of tfjs). */
export const URL_BACKENDS: readonly BackendName[] = BROWSER_ORDER;

export type CorpusChoice = 'shakespeare' | 'builtin';
export const DEFAULT_PRESET: PresetName = 'micro';
export const DEFAULT_CORPUS: CorpusChoice = 'shakespeare';

export interface PageSettings {
  preset: PresetName;
  /** Config fields set explicitly (on top of the preset); derived ones (warmupIters, minLr) follow the rest. */
  overrides: Partial<Config>;
  corpus: CorpusChoice;
  /** Forced backend, or null for the automatic order. */
  backend: BackendName | null;
  /** backend=measure: time WebGPU against WASM on the model at Start, even on a CPU adapter, and train on the faster. */
  measure?: boolean;
  autostart: boolean;
  /** Page options the URL set (autosave, chartPoints, maxTextMB: page-options.ts). */
  options: Partial<PageOptions>;
  /** views=1: open the "see inside the model" views. */
  views: boolean;
}

export interface ParsedUrl {
  settings: PageSettings;
  /** One line per parameter that was ignored, naming it and why. */
  problems: string[];
}

/** Every config key the URL accepts (numeric fields, bias, step and recompute). */
export const URL_CONFIG_KEYS: (keyof Config)[] = [...NUMERIC_KEYS, 'bias', 'step', 'recompute'];

export function defaultSettings(): PageSettings {
  return { preset: DEFAULT_PRESET, overrides: {}, corpus: DEFAULT_CORPUS, backend: null, autostart: false, options: {}, views: false };
}

/** The full config the settings describe (vocabSize stays 0 until a corpus is known). */
export function configOf(s: PageSettings): Config {
  return makeConfig({ ...s.overrides, preset: s.preset });
}

/** Read settings from a query string ("?nLayer=2&lr=0.001"); bad values are reported, not fatal. */
export function parseSearch(search: string): ParsedUrl {
  const params = new URLSearchParams(search);
  const settings = defaultSettings();
  const problems: string[] = [];
  const scratch = makeConfig();
  for (const [key, value] of params) {
    if (key === 'preset') {
      if ((PRESET_NAMES as string[]).includes(value)) settings.preset = value as PresetName;
      else problems.push(`preset=${value} ignored: choose one of ${PRESET_NAMES.join(', ')}`);
    } else if (key === 'corpus') {
      if (value === 'shakespeare' || value === 'builtin') settings.corpus = value;
      else problems.push(`corpus=${value} ignored: choose shakespeare or builtin`);
    } else if (key === 'backend') {
      if ((URL_BACKENDS as string[]).includes(value)) settings.backend = value as BackendName;
      else if (value === 'measure') settings.measure = true;
      else if (value !== 'auto') problems.push(`backend=${value} ignored: choose one of ${URL_BACKENDS.join(', ')}`);
    } else if (key === 'autostart') {
      settings.autostart = value === '1' || value === 'true';
    } else if (isOptionKey(key)) {
      try {
        settings.options[key] = parseOption(key, value);
      } catch (e) {
        problems.push(`${key}=${value} ignored: ${(e as Error).message}`);
      }
    } else if (key === 'views') {
      settings.views = value === '1' || value === 'true';
    } else if ((URL_CONFIG_KEYS as string[]).includes(key)) {
      try {
        setField(scratch, key, value);
        (settings.overrides as Record<string, unknown>)[key] = scratch[key as keyof Config];
      } catch (e) {
        problems.push(`${key}=${value} ignored: ${(e as Error).message}`);
      }
    } else {
      problems.push(`unknown parameter '${key}' ignored`);
    }
  }
  settings.overrides = essentialOverrides(settings.preset, settings.overrides);
  return { settings, problems };
}

/**
 * Drop overrides that change nothing: a value equal to what the preset and
 * the remaining overrides would give anyway (nLayer=2 on nano, warmupIters
 * equal to the derived 10% of maxIters, ...).
 */
export function essentialOverrides(preset: PresetName, overrides: Partial<Config>): Partial<Config> {
  const out: Partial<Config> = { ...overrides };
  for (const key of Object.keys(out) as (keyof Config)[]) {
    const { [key]: value, ...others } = out;
    if (makeConfig({ ...others, preset })[key] === value) delete out[key];
  }
  return out;
}

/** Settings -> query string with only the non-defaults, in a stable order ("" when all default). */
export function toSearch(s: PageSettings): string {
  const params = new URLSearchParams();
  if (s.preset !== DEFAULT_PRESET) params.set('preset', s.preset);
  const overrides = essentialOverrides(s.preset, s.overrides);
  for (const key of URL_CONFIG_KEYS) {
    const v = overrides[key];
    if (v !== undefined) params.set(key, String(v));
  }
  if (s.corpus !== DEFAULT_CORPUS) params.set('corpus', s.corpus);
  if (s.backend) params.set('backend', s.backend);
  else if (s.measure) params.set('backend', 'measure');
  if (s.autostart) params.set('autostart', '1');
  for (const key of OPTION_KEYS) if (s.options?.[key] !== undefined) params.set(key, String(s.options[key]));
  if (s.views) params.set('views', '1');
  const q = params.toString();
  return q ? `?${q}` : '';
}

/** Where the run's text comes from, as the CLI would be told. */
export interface CliCorpus {
  kind: CorpusRef['kind'];
  /** The file's name, for 'file'. */
  name?: string;
}

/** The `tabgpt train` line that trains the same run in Node. */
export function cliCommand(s: PageSettings, corpus: CliCorpus): string {
  const args = ['npx', 'tabgpt', 'train'];
  if (corpus.kind === 'shakespeare' || corpus.kind === 'builtin' || corpus.kind === 'builtin-small') args.push('--corpus', corpus.kind);
  else if (corpus.kind === 'paste') args.push('--text', 'pasted.txt');
  else args.push('--text', shellQuote(corpus.name ?? 'corpus.txt'));
  if (s.preset !== DEFAULT_PRESET) args.push('--preset', s.preset);
  const overrides = essentialOverrides(s.preset, s.overrides);
  for (const key of URL_CONFIG_KEYS) {
    const v = overrides[key];
    if (v === undefined) continue;
    if (key === 'recompute') {
      if (v) args.push('--recompute');
    } // a switch on the CLI
    else args.push(`--${toKebab(key)}`, String(v));
  }
  // The CLI runs wasm or cpu; a browser backend has no Node equivalent, so it is left out.
  if (s.backend === 'cpu' || s.backend === 'wasm') args.push('--backend', s.backend);
  return args.join(' ');
}

/** Quote a word for a POSIX shell when it needs it. */
export function shellQuote(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}
