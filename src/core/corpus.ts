// Corpus sources the core knows about. Reading files and the network lives in
// the shells (cli/, ui/); here are the constants they check against and the
// built-in corpus, which the project generates itself so it runs offline.

import { Rng } from './rng';

export const SHAKESPEARE = {
  url: 'https://raw.githubusercontent.com/karpathy/char-rnn/master/data/tinyshakespeare/input.txt',
  sha256: '86c4e6aa9db7c042ec79f339dcb96d42b0075e16b8fc2e86bf0ca57e2dc565ed',
  chars: 1115394,
  /** File name of the git-ignored cache under data/cache/ (served by the dev server too). */
  cacheName: 'tinyshakespeare.txt',
} as const;

export type CorpusName = 'shakespeare' | 'builtin';
export const CORPUS_NAMES: CorpusName[] = ['shakespeare', 'builtin'];

/**
 * The built-in corpus: a stream of pseudo-words drawn i.i.d. from a Zipf
 * distribution over a generated lexicon, each followed by a separator drawn
 * i.i.d. from a small set. Separators never occur inside words, so the text
 * parses back into (word, separator) pairs uniquely and its entropy rate is
 * known exactly (renewal-reward theorem):
 *
 *   H = (H(word) + H(separator)) / (E[len word] + E[len separator])  nats/char
 *
 * A model can never beat H, so the scaling lab's fitted irreducible loss E has
 * a ground truth on this corpus. Learning the lexicon takes capacity, so bigger
 * models do get closer to H: the curve has somewhere to go.
 */
export interface BuiltinCorpus {
  text: string;
  /** Exact entropy rate of the generating process, nats per character. */
  entropyPerChar: number;
  lexiconSize: number;
}

const ONSETS = ['', 'b', 'c', 'd', 'f', 'g', 'h', 'l', 'm', 'n', 'p', 'r', 's', 't', 'v', 'w', 'br', 'st', 'th', 'sh', 'tr', 'gl'];
const VOWELS = ['a', 'e', 'i', 'o', 'u', 'ea', 'ou', 'ai'];
const CODAS = ['', '', 'n', 'r', 's', 't', 'l', 'nd', 'st', 'ng'];
const SEPARATORS: [string, number][] = [
  [' ', 0.82],
  [', ', 0.08],
  ['.\n', 0.06],
  ['! ', 0.02],
  ['?\n', 0.02],
];

export const BUILTIN_DEFAULTS = { chars: 1_000_000, lexiconSize: 2000, zipfExponent: 1.05, seed: 42 };

/**
 * 'builtin-small', the scaling lab's ground truth: the same generator with a smaller
 * lexicon and a steeper Zipf law, so the words a model has not yet learned carry little
 * probability and the ladder a CPU sweep can afford gets close to the entropy floor
 * (with 2000 words at exponent 1.05 the largest CPU model stays ~0.4 nats above it).
 */
export const BUILTIN_SMALL = { lexiconSize: 500, zipfExponent: 2.0 };

export function builtinCorpus(opts: Partial<typeof BUILTIN_DEFAULTS> = {}): BuiltinCorpus {
  const { chars, lexiconSize, zipfExponent, seed } = { ...BUILTIN_DEFAULTS, ...opts };
  const rng = new Rng(seed);
  // Lexicon: distinct words of 1-3 syllables.
  const words: string[] = [];
  const seen = new Set<string>();
  while (words.length < lexiconSize) {
    const syllables = 1 + rng.int(3);
    let w = '';
    for (let s = 0; s < syllables; s++) w += pick(ONSETS, rng) + pick(VOWELS, rng) + pick(CODAS, rng);
    if (!seen.has(w)) {
      seen.add(w);
      words.push(w);
    }
  }
  // Zipf probabilities p_r ∝ r^-s, and their cumulative table for sampling.
  const weights = words.map((_, r) => Math.pow(r + 1, -zipfExponent));
  const total = weights.reduce((a, b) => a + b, 0);
  const probs = weights.map((w) => w / total);
  const cum = cumulative(probs);
  const sepProbs = SEPARATORS.map(([, p]) => p);
  const sepCum = cumulative(sepProbs);

  const parts: string[] = [];
  let length = 0;
  while (length < chars) {
    const w = words[searchCum(cum, rng.next())];
    const sep = SEPARATORS[searchCum(sepCum, rng.next())][0];
    parts.push(w, sep);
    length += w.length + sep.length;
  }
  const text = parts.join('').slice(0, chars);

  const entropy = (ps: number[]) => -ps.reduce((a, p) => a + (p > 0 ? p * Math.log(p) : 0), 0);
  const meanWordLen = probs.reduce((a, p, i) => a + p * words[i].length, 0);
  const meanSepLen = SEPARATORS.reduce((a, [s, p]) => a + p * s.length, 0);
  const entropyPerChar = (entropy(probs) + entropy(sepProbs)) / (meanWordLen + meanSepLen);
  return { text, entropyPerChar, lexiconSize };
}

function pick<T>(xs: readonly T[], rng: Rng): T {
  return xs[rng.int(xs.length)];
}
function cumulative(ps: number[]): Float64Array {
  const c = new Float64Array(ps.length);
  let s = 0;
  ps.forEach((p, i) => (c[i] = s += p));
  c[c.length - 1] = 1;
  return c;
}
function searchCum(cum: Float64Array, u: number): number {
  let lo = 0,
    hi = cum.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (cum[mid] > u) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}
