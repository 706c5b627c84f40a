// One benchmark definition (src/core/bench-defs.ts) for the CLI, the bench page
// and its worker: the page's modules load no tfjs (it only runs in the worker),
// every shell fills what it was not told from the same defaults, and none keeps
// a copy of them or of the choice lists (src/core/choices.ts).

import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { parseAst, transformWithOxc } from 'vite';
import { describe, expect, it } from 'vitest';
import { BENCH_DEFAULTS, benchSettings, defaultBenchBatchSize } from '../src/core/bench-defs.ts';

const root = join(import.meta.dirname, '..');
const read = (file: string) => readFileSync(join(root, file), 'utf8');

/**
 * What a module loads when it runs: its imports after vite's own TypeScript
 * transform has dropped the type-only ones, relative ones followed, as a bundle
 * would. `new Worker(new URL(...))` is another bundle and not followed.
 */
async function loads(entry: string): Promise<{ files: string[]; packages: string[] }> {
  const files = new Set<string>();
  const packages = new Set<string>();
  const visit = async (file: string): Promise<void> => {
    if (files.has(file)) return;
    files.add(file);
    const { code } = await transformWithOxc(readFileSync(file, 'utf8'), file);
    const specs: string[] = [];
    for (const node of parseAst(code).body) {
      if ((node.type === 'ImportDeclaration' || node.type === 'ExportAllDeclaration' || node.type === 'ExportNamedDeclaration') && node.source)
        specs.push(String(node.source.value));
    }
    for (const m of code.matchAll(/\bimport\(\s*['"]([^'"]+)['"]\s*\)/g)) specs.push(m[1]);
    for (const spec of specs) {
      if (!spec.startsWith('.')) {
        packages.add(
          spec
            .split('/')
            .slice(0, spec.startsWith('@') ? 2 : 1)
            .join('/'),
        );
        continue;
      }
      const path = resolve(dirname(file), spec.split('?')[0]);
      const ts = [path, `${path}.ts`].find((p) => p.endsWith('.ts') && existsSync(p));
      if (ts) await visit(ts); // .css and other assets load no code
    }
  };
  await visit(join(root, entry));
  return { files: [...files].map((f) => relative(root, f)), packages: [...packages] };
}

describe('the bench page loads no tfjs', () => {
  it('its modules, followed through every import, reach bench-defs.ts and choices.ts and no @tensorflow package', async () => {
    const { files, packages } = await loads('src/ui/bench.ts');
    expect(files).toEqual(expect.arrayContaining(['src/core/bench-defs.ts', 'src/core/choices.ts', 'src/core/config.ts']));
    expect(packages.filter((p) => p.startsWith('@tensorflow/'))).toEqual([]);
  });

  it('nor do the other pages (the training page and the scaling lab run tfjs in their workers)', async () => {
    for (const entry of ['src/ui/main.ts', 'src/ui/scaling.ts']) {
      const { packages } = await loads(entry);
      expect(
        packages.filter((p) => p.startsWith('@tensorflow/')),
        entry,
      ).toEqual([]);
    }
  });

  it('the import walk finds tfjs where it is loaded (so the checks above can fail)', async () => {
    expect((await loads('src/core/bench.ts')).packages).toContain('@tensorflow/tfjs');
    expect((await loads('src/core/kernels/mode.ts')).packages).toContain('@tensorflow/tfjs');
  });
});

describe('one set of defaults', () => {
  it('fills what a request leaves out from BENCH_DEFAULTS, per backend where it differs', () => {
    const d = BENCH_DEFAULTS;
    const wasm = benchSettings('wasm', { preset: 'nano' });
    expect(wasm).toEqual({
      preset: 'nano',
      batchSize: undefined,
      repeats: d.repeats,
      trainBudgetMs: d.trainBudgetMs,
      warmupSteps: d.warmupSteps,
      genTokens: d.genTokens,
      genBudgetMs: d.genBudgetMs,
      countBudgetMs: d.countBudgetMs,
      trainingOnly: false,
      profileSteps: 0,
    });
    expect(benchSettings('webgpu', { preset: 'nano' })).toEqual(wasm);
    // cpu: its plain-JS matmul makes a step ~50x slower, so a smaller batch and one warm-up step
    expect(benchSettings('cpu', { preset: 'nano' })).toMatchObject({ batchSize: defaultBenchBatchSize('cpu'), warmupSteps: 1 });
    expect(defaultBenchBatchSize('cpu')).toBe(4);
  });

  it('keeps what the request says, defaults or not', () => {
    const asked = {
      preset: 'baby' as const,
      batchSize: 2,
      repeats: 1,
      trainBudgetMs: 50,
      warmupSteps: 0,
      genTokens: 4,
      genBudgetMs: 10,
      countBudgetMs: 0,
      trainingOnly: true,
      profileSteps: 3,
      kernels: 'generic' as const,
    };
    expect(benchSettings('cpu', asked)).toEqual(asked);
  });

  it('no shell keeps its own copy: the CLI, the page (script and HTML), its worker and core/bench.ts', () => {
    const spends =
      /\b(batchSize|repeats|trainBudgetMs|budgetMs|budgetS|warmupSteps|warmup|genTokens|genBudgetMs|countBudgetMs|profileSteps)\b[^\n;]*(\?\?|\|\|)\s*\d/;
    const lists = /\[\s*'(nano|generic|auto|tiled|webgpu)',\s*'(micro|fused|tiled|tfjs|webgl)'/;
    const offenders: string[] = [];
    for (const file of ['src/cli/bench.ts', 'src/cli/benchbrowser.ts', 'src/ui/bench.ts', 'src/worker/bench.worker.ts', 'src/core/bench.ts']) {
      read(file)
        .split('\n')
        .forEach((line, i) => {
          if (spends.test(line) || lists.test(line)) offenders.push(`${file}:${i + 1}: ${line.trim()}`);
        });
    }
    // the page's inputs are filled from BENCH_DEFAULTS, not written into bench.html
    for (const id of ['budget', 'repeats', 'gen', 'batch']) {
      const input = new RegExp(`<input id="${id}"[^>]*>`).exec(read('bench.html'))?.[0];
      expect(input, `bench.html #${id}`).toBeDefined();
      if (/\b(value|placeholder)=/.test(input!)) offenders.push(`bench.html: ${input}`);
    }
    expect(offenders).toEqual([]);
  });

  it('the copy check sees a copy (so it can fail)', () => {
    const spends =
      /\b(batchSize|repeats|trainBudgetMs|budgetMs|budgetS|warmupSteps|warmup|genTokens|genBudgetMs|countBudgetMs|profileSteps)\b[^\n;]*(\?\?|\|\|)\s*\d/;
    expect(spends.test("  const budgetS = numberInput('budget') ?? 4;")).toBe(true);
    expect(spends.test('          trainBudgetMs: flags.budgetMs ?? 3000,')).toBe(true);
  });
});
