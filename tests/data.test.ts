// Data: the contiguous split, seeded batches, Tiny Shakespeare's known
// figures, and the built-in corpus' determinism and exact entropy.

import { describe, it, expect } from 'vitest';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DataError, Dataset, baselineLosses, decodeText, getBatch, sha256Hex, splitTokens } from '../src/core/data.ts';
import { BUILTIN_DEFAULTS, SHAKESPEARE, builtinCorpus } from '../src/core/corpus.ts';
import { Rng } from '../src/core/rng.ts';
import { Tokenizer } from '../src/core/tokenizer.ts';

const SHAKESPEARE_PATH = join(import.meta.dirname, '..', 'data', 'cache', SHAKESPEARE.cacheName);
const haveShakespeare = existsSync(SHAKESPEARE_PATH);

describe('split and batches', () => {
  const text = Array.from({ length: 1000 }, (_, i) => 'abcdefghij'[(i * 7 + (i >> 3)) % 10]).join('');

  it('splits 90/10, contiguous, train first', () => {
    const ds = new Dataset(text);
    const all = ds.tokenizer.encode(text);
    expect(ds.train.length).toBe(900);
    expect(ds.val.length).toBe(100);
    expect(Array.from(ds.train)).toEqual(Array.from(all.subarray(0, 900)));
    expect(Array.from(ds.val)).toEqual(Array.from(all.subarray(900)));
    expect(ds.minSplitLength).toBe(100);
    const odd = splitTokens(new Int32Array(15));
    expect([odd.train.length, odd.val.length]).toEqual([13, 2]);
  });

  it('draws windows of the data with targets shifted by one, reproducibly from the seed', () => {
    const data = Int32Array.from({ length: 200 }, (_, i) => i);
    const a = getBatch(data, 8, 10, new Rng(1));
    const b = getBatch(data, 8, 10, new Rng(1));
    const c = getBatch(data, 8, 10, new Rng(2));
    expect(a).toEqual(b);
    expect(Array.from(c.x)).not.toEqual(Array.from(a.x));
    for (let r = 0; r < 8; r++) {
      const x = a.x.subarray(r * 10, r * 10 + 10);
      const y = a.y.subarray(r * 10, r * 10 + 10);
      for (let t = 0; t < 10; t++) {
        expect(x[t]).toBe(x[0] + t); // a contiguous window (data[i] = i)
        expect(y[t]).toBe(x[t] + 1);
      }
      expect(x[0] + 10).toBeLessThanOrEqual(199); // the target stays inside the data
    }
  });

  it('reaches both ends of the data', () => {
    const data = Int32Array.from({ length: 30 }, (_, i) => i);
    const rng = new Rng(4);
    const starts = new Set<number>();
    for (let i = 0; i < 500; i++) starts.add(getBatch(data, 1, 10, rng).x[0]);
    expect([...starts].sort((p, q) => p - q)).toEqual(Array.from({ length: 20 }, (_, i) => i));
  });

  it('uses the same evaluation batches every time', () => {
    const ds = new Dataset(text);
    expect(ds.evalBatches('val', 3, 4, 8)).toEqual(ds.evalBatches('val', 3, 4, 8));
    expect(ds.evalBatches('val', 1, 4, 8)[0].x.every((v) => ds.val.includes(v))).toBe(true);
  });

  it('refuses an empty text, and a text outside a given vocabulary, naming the characters', () => {
    expect(() => new Dataset('')).toThrow(DataError);
    expect(() => new Dataset('')).toThrow(/empty/);
    expect(() => new Dataset('abcxyz', Tokenizer.fromText('abc'))).toThrow(
      /3 characters the model does not know: 'x' \(U\+0078\), 'y' \(U\+0079\), 'z' \(U\+007A\)/,
    );
  });
});

describe('Tiny Shakespeare', () => {
  it.skipIf(!haveShakespeare)('has 1,003,854 train / 111,540 val characters, 65 symbols and the known baselines', async () => {
    const bytes = readFileSync(SHAKESPEARE_PATH);
    expect(await sha256Hex(bytes)).toBe(SHAKESPEARE.sha256);
    const ds = new Dataset(decodeText(bytes));
    expect(ds.chars).toBe(SHAKESPEARE.chars);
    expect(ds.train.length).toBe(1_003_854);
    expect(ds.val.length).toBe(111_540);
    expect(ds.tokenizer.vocabSize).toBe(65);
    const b = baselineLosses(ds);
    expect(b.uniform).toBeCloseTo(Math.log(65), 10);
    expect(Math.abs(b.uniform - 4.17)).toBeLessThan(0.01);
    expect(Math.abs(b.unigram - 3.35)).toBeLessThan(0.05);
    expect(Math.abs(b.bigram - 2.48)).toBeLessThan(0.05);
  });
  if (!haveShakespeare) it.skip(`Tiny Shakespeare figures: ${SHAKESPEARE_PATH} is not cached (run .ci/run or npm run train once)`, () => {});
});

describe('built-in corpus', () => {
  it('is deterministic for a seed and differs between seeds', () => {
    const a = builtinCorpus({ chars: 20_000, seed: 5 });
    const b = builtinCorpus({ chars: 20_000, seed: 5 });
    const c = builtinCorpus({ chars: 20_000, seed: 6 });
    expect(a.text).toBe(b.text);
    expect(a.entropyPerChar).toBe(b.entropyPerChar);
    expect(c.text).not.toBe(a.text);
    expect(a.text.length).toBe(20_000);
  });

  it('has the entropy rate it claims (word-level plug-in estimate on 2M characters)', () => {
    const { text, entropyPerChar, lexiconSize } = builtinCorpus({ chars: 2_000_000 });
    expect(lexiconSize).toBe(BUILTIN_DEFAULTS.lexiconSize);
    // Parse back into (word, separator) pairs: separators never occur inside words.
    const words = new Map<string, number>();
    const seps = new Map<string, number>();
    let pairs = 0;
    let chars = 0;
    for (const m of text.matchAll(/([a-z]+)(, |\.\n|! |\?\n| )/g)) {
      words.set(m[1], (words.get(m[1]) ?? 0) + 1);
      seps.set(m[2], (seps.get(m[2]) ?? 0) + 1);
      pairs++;
      chars += m[0].length;
    }
    expect(chars).toBeGreaterThan(text.length - 40); // the parse covers the text (bar a cut-off last pair)
    expect(words.size).toBeLessThanOrEqual(lexiconSize);
    const plugIn = (counts: Map<string, number>) => {
      let h = 0;
      for (const c of counts.values()) h -= (c / pairs) * Math.log(c / pairs);
      return h;
    };
    const empirical = (plugIn(words) + plugIn(seps)) / (chars / pairs);
    expect(Math.abs(empirical - entropyPerChar) / entropyPerChar).toBeLessThan(0.02);
    // far below what a bigram model of the same text would say: there is structure to learn
    const ds = new Dataset(text.slice(0, 300_000));
    expect(baselineLosses(ds).bigram).toBeGreaterThan(entropyPerChar + 0.3);
  });
});
