// Page options that are not part of a run's config: how often the page
// autosaves, how many chart rows it keeps, how large a text file it reads.
// They travel in the URL like the config (?autosave=30&maxTextMB=200) so a
// link reproduces the page, and tests can make them small. No DOM here.

export interface PageOptions {
  /** Seconds of training between autosaves (besides every evaluation): a closed tab loses at most this. 0 = only at evaluations. */
  autosave: number;
  /** Rows the charts keep before thinning the older ones (a 100,000-step run stays drawable and small to save). */
  chartPoints: number;
  /** Largest text file the page reads, in MB (10^6 bytes): refused before reading, so a huge file costs nothing. */
  maxTextMB: number;
}

export const DEFAULT_OPTIONS: PageOptions = { autosave: 60, chartPoints: 4000, maxTextMB: 100 };
/** The page holds at most 64 Mi characters (core/data.ts' MAX_TEXT_CHARS), up to 4 bytes each: 268 MB; 256 is the round limit below. */
export const MAX_TEXT_MB = 256;

/** Allowed ranges. */
const RANGES: Record<keyof PageOptions, { min: number; max: number; integer: boolean }> = {
  autosave: { min: 0, max: 86_400, integer: false },
  chartPoints: { min: 50, max: 1_000_000, integer: true },
  maxTextMB: { min: 0.001, max: MAX_TEXT_MB, integer: false },
};

export const OPTION_KEYS = Object.keys(DEFAULT_OPTIONS) as (keyof PageOptions)[];

export function isOptionKey(key: string): key is keyof PageOptions {
  return (OPTION_KEYS as string[]).includes(key);
}

/** Parse one option's value; throws an Error with one line naming the range. */
export function parseOption(key: keyof PageOptions, value: string): number {
  const r = RANGES[key];
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n < r.min || n > r.max || (r.integer && !Number.isInteger(n))) {
    throw new Error(`${key} must be ${r.integer ? 'an integer' : 'a number'} from ${r.min} to ${r.max}`);
  }
  return n;
}

/** The options in effect: defaults under what the URL set. */
export function optionsOf(set: Partial<PageOptions>): PageOptions {
  return { ...DEFAULT_OPTIONS, ...set };
}
