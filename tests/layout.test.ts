// The architecture rule, checked: one core shared by three shells. src/core
// has no DOM and no Node APIs; src/ui never imports tfjs (training runs in a
// worker); so the same core runs in the worker, the pages and the CLI.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '..');
// Every .ts file under dir, subfolders included (core/scaling/, ui/views/, ui/train/, ...).
const sources = (dir: string) =>
  (readdirSync(join(root, dir), { recursive: true }) as string[])
    .filter((f) => f.endsWith('.ts'))
    .map((f) => ({ file: `${dir}/${f}`, text: readFileSync(join(root, dir, f), 'utf8') }));
const imports = (text: string) =>
  [...text.matchAll(/(?:^|\n)\s*(?:import|export)[^'"]*?from\s+['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g)].map((m) => m[1] ?? m[2]);

describe('project layout', () => {
  it('src/core imports no Node module and touches no DOM', () => {
    const offenders: string[] = [];
    for (const { file, text } of sources('src/core')) {
      for (const spec of imports(text))
        if (spec.startsWith('node:') || ['fs', 'path', 'os', 'child_process', 'url'].includes(spec)) offenders.push(`${file}: imports ${spec}`);
      const code = text.replace(/\/\/.*$/gm, '').replace(/\/\*[\s\S]*?\*\//g, '');
      if (/\bdocument\s*\.|\bwindow\s*\.(?!length)|\bprocess\s*\./.test(code)) offenders.push(`${file}: uses document/window/process`);
    }
    expect(offenders).toEqual([]);
  });

  it('src/ui never imports tfjs (the page stays light; training runs in the worker)', () => {
    const offenders = sources('src/ui').flatMap(({ file, text }) =>
      imports(text)
        .filter((s) => s.startsWith('@tensorflow/'))
        .map((s) => `${file}: imports ${s}`),
    );
    expect(offenders).toEqual([]);
  });

  it('the import scanner sees imports (so the checks above can fail)', () => {
    expect(imports("import * as tf from '@tensorflow/tfjs';\nimport { x } from 'node:fs';")).toEqual(['@tensorflow/tfjs', 'node:fs']);
  });
});
