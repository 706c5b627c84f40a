// The page's URL state and CLI line (src/ui/train/url.ts) and chart history
// (src/ui/train/history.ts): pure functions, tested in Node. The CLI line is checked
// by feeding it to the CLI's own flag parser and comparing configs.

import { describe, expect, it } from 'vitest';
import { makeConfig, NUMERIC_KEYS, type Config, type PresetName } from '../src/core/config';
import { configFlags, configOverrides, parse } from '../src/cli/args';
import { BROWSER_ORDER } from '../src/core/backend';
import { cliCommand, configOf, URL_BACKENDS, defaultSettings, essentialOverrides, parseSearch, shellQuote, toSearch } from '../src/ui/train/url';
import { addPoints, addVal, emptyHistory } from '../src/ui/train/history';

describe('URL state', () => {
  it('is empty for the defaults and round-trips non-defaults by config field name', () => {
    expect(toSearch(defaultSettings())).toBe('');
    const { settings, problems } = parseSearch('?preset=nano&nLayer=3&lr=0.001&maxIters=40&corpus=builtin&backend=webgpu&autostart=1');
    expect(problems).toEqual([]);
    expect(settings).toMatchObject({ preset: 'nano', corpus: 'builtin', backend: 'webgpu', autostart: true });
    expect(settings.overrides).toEqual({ nLayer: 3, lr: 0.001, maxIters: 40 });
    const cfg = configOf(settings);
    expect(cfg).toMatchObject({ nLayer: 3, nHead: 2, nEmbd: 32, lr: 0.001, maxIters: 40 });
    expect(toSearch(settings)).toBe('?preset=nano&nLayer=3&maxIters=40&lr=0.001&corpus=builtin&backend=webgpu&autostart=1');
    expect(parseSearch(toSearch(settings)).settings).toEqual(settings);
  });

  it('views=1 opens the views and round-trips; off by default', () => {
    expect(defaultSettings().views).toBe(false);
    const { settings, problems } = parseSearch('?preset=nano&views=1');
    expect(problems).toEqual([]);
    expect(settings.views).toBe(true);
    expect(toSearch(settings)).toBe('?preset=nano&views=1');
    expect(parseSearch('?views=0').settings.views).toBe(false);
  });

  it('drops values equal to what the preset or the derived defaults give', () => {
    // nano has nLayer 2; warmupIters is derived as 10% of maxIters; seed 1337 is the default.
    const { settings } = parseSearch('?preset=nano&nLayer=2&maxIters=200&warmupIters=20&seed=1337');
    expect(settings.overrides).toEqual({ maxIters: 200 });
    expect(toSearch(settings)).toBe('?preset=nano&maxIters=200');
    expect(essentialOverrides('micro', { nEmbd: 64, dropout: 0.1 })).toEqual({ dropout: 0.1 });
  });

  it('reports bad or unknown parameters instead of failing', () => {
    const { settings, problems } = parseSearch('?nLayer=two&preset=huge&corpus=wiki&backend=metal&foo=1&lr=0.01');
    expect(settings.overrides).toEqual({ lr: 0.01 });
    expect(settings.preset).toBe('micro');
    expect(problems).toHaveLength(5);
    expect(problems[0]).toMatch(/^nLayer=two ignored: n-layer must be a number/);
    expect(problems.join('\n')).toMatch(/preset=huge ignored: choose one of nano, micro/);
    expect(problems.join('\n')).toMatch(/unknown parameter 'foo'/);
  });

  it('accepts the browser backends, in the same order as the core', () => {
    expect(URL_BACKENDS).toEqual(BROWSER_ORDER);
    for (const b of BROWSER_ORDER) expect(parseSearch(`?backend=${b}`).settings.backend).toBe(b);
    expect(parseSearch('?backend=auto')).toMatchObject({ settings: { backend: null }, problems: [] });
    // measure: the automatic choice, timed on the model even where the adapter rule would decide; kept in the URL
    const measured = parseSearch('?backend=measure');
    expect(measured).toMatchObject({ settings: { backend: null, measure: true }, problems: [] });
    expect(toSearch(measured.settings)).toBe('?backend=measure');
  });

  it('accepts every numeric config field and bias', () => {
    for (const k of NUMERIC_KEYS) {
      const { settings, problems } = parseSearch(`?${k}=7`);
      expect(problems, k).toEqual([]);
      expect(configOf(settings)[k], k).toBe(7);
    }
    expect(configOf(parseSearch('?bias=false').settings).bias).toBe(false);
  });

  it('step=eager round-trips and reaches the CLI line; a bad step is reported, the default kept', () => {
    const { settings, problems } = parseSearch('?step=eager');
    expect(problems).toEqual([]);
    expect(configOf(settings).step).toBe('eager');
    expect(toSearch(settings)).toBe('?step=eager');
    expect(toSearch(parseSearch('?step=recorded').settings)).toBe(''); // the default: not written
    expect(cliCommand(settings, { kind: 'builtin' })).toBe('npx tabgpt train --corpus builtin --step eager');
    const bad = parseSearch('?step=fast');
    expect(bad.problems).toEqual(["step=fast ignored: step must be recorded or eager (got 'fast')"]);
    expect(configOf(bad.settings).step).toBe('recorded');
  });
});

describe('copy as CLI command', () => {
  /** Configure the way `tabgpt train` does from its flags (src/cli/train.ts). */
  function cliConfig(command: string): { cfg: Config; values: Record<string, unknown> } {
    const argv = command
      .split(' ')
      .slice(3)
      .map((w) => w.replace(/^'|'$/g, ''));
    const { values } = parse(
      argv,
      { ...configFlags(), text: { type: 'string' }, corpus: { type: 'string' }, preset: { type: 'string' }, backend: { type: 'string' } },
      'train',
    );
    const overrides = configOverrides(values);
    return { cfg: makeConfig({ ...overrides, preset: values.preset as PresetName | undefined }), values };
  }

  it('gives a tabgpt train line that the CLI parses into the same config', () => {
    const { settings } = parseSearch('?preset=nano&nEmbd=48&nHead=3&dropout=0.1&lr=0.003&maxIters=300&batchSize=8&seed=7&bias=false&step=eager&corpus=builtin');
    const line = cliCommand(settings, { kind: 'builtin' });
    expect(line).toBe(
      'npx tabgpt train --corpus builtin --preset nano --n-head 3 --n-embd 48 --dropout 0.1 --batch-size 8 --max-iters 300 --lr 0.003 --seed 7 --bias false --step eager',
    );
    const { cfg, values } = cliConfig(line);
    expect(values.corpus).toBe('builtin');
    expect(cfg).toEqual(configOf(settings));
  });

  it('carries gradient accumulation and recomputation: URL, CLI line (--grad-accum, --recompute) and back', () => {
    const { settings, problems } = parseSearch('?preset=small&batchSize=8&gradAccumSteps=8&recompute=true');
    expect(problems).toEqual([]);
    expect(configOf(settings)).toMatchObject({ batchSize: 8, gradAccumSteps: 8, recompute: true });
    expect(toSearch(settings)).toBe('?preset=small&batchSize=8&gradAccumSteps=8&recompute=true');
    const line = cliCommand(settings, { kind: 'shakespeare' });
    expect(line).toBe('npx tabgpt train --corpus shakespeare --preset small --batch-size 8 --grad-accum 8 --recompute');
    expect(cliConfig(line).cfg).toEqual(configOf(settings));
    // the defaults (1, off) stay out of both
    expect(toSearch(parseSearch('?gradAccumSteps=1&recompute=false').settings)).toBe('');
    expect(parseSearch('?recompute=maybe').problems[0]).toMatch(/recompute must be true or false/);
  });

  it('names the text file, and only Node backends', () => {
    const s = { ...defaultSettings(), backend: 'webgpu' as const };
    expect(cliCommand(s, { kind: 'file', name: 'my notes.txt' })).toBe("npx tabgpt train --text 'my notes.txt'");
    expect(cliCommand({ ...s, backend: 'cpu' }, { kind: 'shakespeare' })).toBe('npx tabgpt train --corpus shakespeare --backend cpu');
    expect(cliCommand(s, { kind: 'paste' })).toBe('npx tabgpt train --text pasted.txt');
    expect(shellQuote("it's")).toBe(`'it'\\''s'`);
  });
});

describe('chart history', () => {
  it('keeps one row per step in order, with val losses at evaluation steps', () => {
    const h = emptyHistory();
    addPoints(h, [
      { step: 10, trainLoss: 3, lr: 1e-3, tokensPerSec: 100, msPerStep: 5 },
      { step: 20, trainLoss: 2.5, lr: 2e-3, tokensPerSec: 0, msPerStep: 5 },
    ]);
    addVal(h, 20, 2.6);
    addVal(h, 15, 2.8); // an evaluation between logs gets its own row
    addPoints(h, [{ step: 30, trainLoss: 2, lr: 1e-3, tokensPerSec: 120, msPerStep: 5 }]);
    expect(h.steps).toEqual([10, 15, 20, 30]);
    expect(h.train).toEqual([3, null, 2.5, 2]);
    expect(h.val).toEqual([null, 2.8, 2.6, null]);
    expect(h.tokensPerSec).toEqual([100, null, null, 120]);
  });
});
