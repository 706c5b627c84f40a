// Config: presets, defaults, key=value parsing and validate()'s one-line errors.

import { describe, it, expect } from 'vitest';
import { ConfigError, DEFAULT_CONFIG, PRESETS, makeConfig, setField, toCamel, toKebab, validate, type Config } from '../src/core/config.ts';

const ok = (o: Partial<Config> = {}): Config => ({ ...makeConfig({ preset: 'nano' }), vocabSize: 65, ...o });

/** validate() must throw a ConfigError whose one-line message names `field`. */
function rejects(cfg: Config, field: RegExp, corpusLength?: number) {
  let err: unknown = null;
  try {
    validate(cfg, corpusLength);
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(ConfigError);
  expect((err as Error).message).toMatch(field);
  expect((err as Error).message).not.toContain('\n');
}

describe('presets and defaults', () => {
  it("has nanoGPT's baby preset and a valid default for every preset", () => {
    expect(PRESETS.baby).toEqual({ nLayer: 4, nHead: 4, nEmbd: 128, blockSize: 64 });
    for (const name of Object.keys(PRESETS) as (keyof typeof PRESETS)[]) {
      expect(() => validate(ok({ ...PRESETS[name] }))).not.toThrow();
    }
    expect(() => validate({ ...DEFAULT_CONFIG, vocabSize: 65 })).not.toThrow();
  });

  it('applies defaults, then the preset, then overrides', () => {
    const cfg = makeConfig({ preset: 'mini', nLayer: 3, lr: 5e-4 });
    expect(cfg).toMatchObject({ nLayer: 3, nHead: 6, nEmbd: 192, blockSize: 128, lr: 5e-4, beta2: 0.99 });
    expect(() => makeConfig({ preset: 'huge' as 'nano' })).toThrow(/unknown preset 'huge'/);
  });

  it('derives warmup and the lr floor for short runs and low learning rates, unless given', () => {
    expect(makeConfig({ maxIters: 20 }).warmupIters).toBe(2);
    expect(makeConfig({ maxIters: 20, warmupIters: 0 }).warmupIters).toBe(0);
    expect(() => validate(ok({ ...makeConfig({ maxIters: 20 }), vocabSize: 65 }))).not.toThrow();
    const lowLr = makeConfig({ lr: 1e-4 });
    expect(lowLr.minLr).toBeCloseTo(1e-5, 12);
    expect(() => validate({ ...lowLr, vocabSize: 65 })).not.toThrow();
    expect(makeConfig({ lr: 1e-4, minLr: 0 }).minLr).toBe(0);
  });
});

describe('validate', () => {
  it('rejects nEmbd not divisible by nHead, suggesting head counts', () => {
    rejects(ok({ nEmbd: 30, nHead: 4 }), /nEmbd \(30\) must be divisible by nHead \(4\).*1, 2, 3, 5, 6/);
  });

  it.each(['nLayer', 'nHead', 'nEmbd', 'blockSize', 'batchSize', 'maxIters', 'evalInterval', 'evalIters', 'logInterval'] as const)(
    'rejects a non-positive or fractional %s',
    (field) => {
      rejects(ok({ [field]: 0 }), new RegExp(`^${field} must be a positive integer`));
      rejects(ok({ [field]: -3 }), new RegExp(`^${field} must be a positive integer`));
      rejects(ok({ [field]: 2.5 }), new RegExp(`^${field} must be a positive integer`));
    },
  );

  it('rejects other impossible values, naming the field', () => {
    rejects(ok({ warmupIters: -1 }), /^warmupIters/);
    rejects(ok({ dropout: 1 }), /^dropout/);
    rejects(ok({ dropout: -0.1 }), /^dropout/);
    rejects(ok({ lr: 0 }), /^lr/);
    rejects(ok({ lr: Infinity }), /^lr/);
    rejects(ok({ lr: 1e-3, minLr: 1e-2 }), /^minLr/);
    rejects(ok({ warmupIters: 200, maxIters: 100 }), /^warmupIters \(200\) must not exceed maxIters/);
    rejects(ok({ weightDecay: -1 }), /^weightDecay/);
    rejects(ok({ beta1: 1 }), /^beta1/);
    rejects(ok({ beta2: -0.5 }), /^beta2/);
    rejects(ok({ eps: 0 }), /^eps/);
    rejects(ok({ gradClip: -1 }), /^gradClip/);
    rejects(ok({ seed: 1.5 }), /^seed/);
    rejects(ok({ nLayer: NaN }), /^nLayer/);
  });

  it('rejects a block size larger than the corpus, suggesting one that fits', () => {
    rejects(ok({ blockSize: 32 }), /blockSize \(32\) is larger than the text allows \(20 characters.*--block-size 19/, 20);
    expect(() => validate(ok({ blockSize: 32 }), 33)).not.toThrow();
    rejects(ok({ blockSize: 32 }), /blockSize/, 32);
  });
});

describe('setField', () => {
  it('parses camelCase and kebab-case keys', () => {
    const cfg = makeConfig();
    setField(cfg, 'n-layer', '5');
    setField(cfg, 'blockSize', '48');
    setField(cfg, 'min-lr', '1e-5');
    setField(cfg, 'bias', 'false');
    expect(cfg).toMatchObject({ nLayer: 5, blockSize: 48, minLr: 1e-5, bias: false });
    expect(makeConfig().step).toBe('recorded');
    setField(cfg, 'step', 'eager');
    expect(cfg.step).toBe('eager');
    expect(() => validate({ ...cfg, step: 'fast' as never })).toThrow(/step must be recorded or eager \(got 'fast'\)/);
    expect(toKebab('weightDecay')).toBe('weight-decay');
    expect(toCamel('eval-iters')).toBe('evalIters');
  });

  it('rejects unknown keys and non-numbers with the flag name', () => {
    const cfg = makeConfig();
    expect(() => setField(cfg, 'n-layer', 'abc')).toThrow(/^n-layer must be a number \(got 'abc'\)/);
    expect(() => setField(cfg, 'lr', '')).toThrow(/^lr must be a number/);
    expect(() => setField(cfg, 'n-layers', '3')).toThrow(/unknown config key 'n-layers'/);
    expect(() => setField(cfg, 'bias', 'maybe')).toThrow(/bias must be true or false/);
    expect(() => setField(cfg, 'step', 'replay')).toThrow(/^step must be recorded or eager \(got 'replay'\)/);
    expect(() => setField(cfg, 'vocab-size', '3')).toThrow(ConfigError); // set from the corpus, not by hand
  });
});
