// Flag parsing on node:util's parseArgs (strict: unknown flags are errors),
// with config flags generated from the config's own keys in kebab case, so
// the CLI, the page's URL and nanoGPT's config share one vocabulary.

import { parseArgs, type ParseArgsConfig } from 'node:util';
import { makeConfig, NUMERIC_KEYS, setField, toKebab, type Config } from '../core/config';
import { CliError } from './common';

export type Options = NonNullable<ParseArgsConfig['options']>;

/** --n-layer, --block-size, ... one string flag per numeric config key, and --bias, --step. */
export function configFlags(): Options {
  const out: Options = {};
  for (const k of NUMERIC_KEYS) out[toKebab(k)] = { type: 'string' };
  out.bias = { type: 'string' };
  out.step = { type: 'string' };
  out.gelu = { type: 'string' };
  out.recompute = { type: 'boolean' }; // a switch: --recompute
  return out;
}

export interface Parsed {
  values: Record<string, string | boolean | undefined>;
  positionals: string[];
}

export function parse(argv: string[], options: Options, command: string, allowPositionals = false): Parsed {
  try {
    const { values, positionals } = parseArgs({ args: argv, options: { ...options, help: { type: 'boolean', short: 'h' } }, strict: true, allowPositionals });
    return { values: values as Parsed['values'], positionals };
  } catch (e) {
    // parseArgs' messages are long and mention internals; keep the essential line.
    const msg = (e as Error).message.split('\n')[0].replace(/\. To specify a positional argument.*$/, '');
    throw new CliError(`${command}: ${msg} (see 'tabgpt ${command} --help')`);
  }
}

/** A flag that must be a number in a range; undefined stays undefined. */
export function num(values: Record<string, unknown>, flag: string, check: (n: number) => boolean = Number.isFinite, what = 'a number'): number | undefined {
  const raw = values[flag];
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (String(raw).trim() === '' || !check(n)) throw new CliError(`--${flag} must be ${what} (got '${raw}')`);
  return n;
}

export const isPosInt = (n: number) => Number.isInteger(n) && n > 0;
export const isNonNegInt = (n: number) => Number.isInteger(n) && n >= 0;

/** The config fields set by --n-layer, --lr, ... (only those given), parsed and checked like the page's URL. */
export function configOverrides(values: Parsed['values']): Partial<Config> {
  const overrides: Partial<Config> = {};
  const scratch = makeConfig();
  for (const k of [...NUMERIC_KEYS, 'bias', 'step', 'gelu', 'recompute'] as (keyof Config)[]) {
    const raw = values[toKebab(k)];
    if (raw === undefined) continue;
    setField(scratch, k, String(raw));
    (overrides as Record<string, unknown>)[k] = scratch[k];
  }
  return overrides;
}
