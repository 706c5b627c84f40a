// The documents hold together: every relative link in README.md, PERFORMANCE.md
// and docs/*.md points to a file that exists (and, for a #fragment into a
// Markdown file, to a heading it has, by GitHub's anchor rule); every repository
// path named in inline code (`src/...`, `tests/...`, ...) exists; the README
// stays short enough to read in ten minutes; and every block of tables marked
// `<!-- fit: FILE -->` ... `<!-- end fit -->` is what `npm run fit -- FILE --markdown` prints now.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '..');
const README_MAX_LINES = 250;

const docs = [
  'README.md',
  'PERFORMANCE.md',
  ...readdirSync(join(root, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .map((f) => `docs/${f}`),
];

/** The text outside fenced code blocks (``` ... ```), line numbers kept. */
function prose(md: string): string {
  let fenced = false;
  return md
    .split('\n')
    .map((line) => {
      if (/^\s*```/.test(line)) {
        fenced = !fenced;
        return '';
      }
      return fenced ? '' : line;
    })
    .join('\n');
}

/** The `<!-- fit: FILE -->` ... `<!-- end fit -->` blocks of a document: the file and the text between, trimmed. */
export function fitBlocks(md: string): { file: string; text: string }[] {
  return [...md.matchAll(/<!-- fit: (\S+) -->\n([\s\S]*?)\n<!-- end fit -->/g)].map((m) => ({ file: m[1], text: m[2].trim() }));
}

/** Relative link targets: [text](target), ![alt](target), <img src>, <a href>; inline code ignored. */
export function linkTargets(md: string): string[] {
  const text = prose(md).replace(/`[^`\n]*`/g, '');
  const out: string[] = [];
  for (const m of text.matchAll(/!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)) out.push(m[1]);
  for (const m of text.matchAll(/<(?:img|a)\b[^>]*?\b(?:src|href)="([^"]+)"/g)) out.push(m[1]);
  return out.filter((t) => !/^[a-z][a-z0-9+.-]*:/i.test(t)); // http:, https:, mailto: ...
}

/** Repository paths named in inline code: `src/core/model.ts`, `tests/e2e/`, `data/x.json` ... */
export function codePaths(md: string): string[] {
  const out: string[] = [];
  for (const m of prose(md).matchAll(/`([^`\n]+)`/g)) {
    const p = m[1].trim();
    if (!/^(src|tests|bench|docs|public|bin|data)\/[\w./-]*$/.test(p)) continue;
    if (p.startsWith('data/cache/')) continue; // git-ignored, made at run time
    out.push(p);
  }
  return out;
}

/** GitHub's anchors for a Markdown file's headings (lower case, punctuation dropped, spaces to hyphens, -1, -2 for repeats). */
export function anchors(md: string): Set<string> {
  const seen = new Map<string, number>();
  const out = new Set<string>();
  for (const line of prose(md).split('\n')) {
    const h = /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(line);
    if (!h) continue;
    const text = h[1].replace(/\[([^\]]*)\]\([^)]*\)/g, '$1'); // a link in a heading keeps its text
    const base = text
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\s_-]/gu, '')
      .replace(/\s/g, '-');
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    out.add(n === 0 ? base : `${base}-${n}`);
  }
  for (const m of md.matchAll(/<a\s+(?:id|name)="([^"]+)"/g)) out.add(m[1]);
  return out;
}

/** Problems with one document's links and paths, one line each. */
function problems(file: string): string[] {
  const md = readFileSync(join(root, file), 'utf8');
  const out: string[] = [];
  for (const target of linkTargets(md)) {
    const [path, fragment] = target.split('#');
    const abs = path === '' ? join(root, file) : join(root, dirname(file), decodeURI(path));
    if (!existsSync(abs)) {
      out.push(`${file}: link to ${target}: no such file (${relative(root, abs)})`);
      continue;
    }
    if (fragment !== undefined && abs.endsWith('.md') && !anchors(readFileSync(abs, 'utf8')).has(fragment)) {
      out.push(`${file}: link to ${target}: ${relative(root, abs)} has no heading with anchor #${fragment}`);
    }
  }
  for (const p of codePaths(md)) if (!existsSync(join(root, p))) out.push(`${file}: names \`${p}\`, which does not exist`);
  return out;
}

describe('documentation', () => {
  it('has links and paths that resolve', () => {
    expect(docs.length).toBeGreaterThan(2);
    expect(docs.flatMap(problems)).toEqual([]);
  });

  it(`keeps the README at most ${README_MAX_LINES} lines`, () => {
    const lines = readFileSync(join(root, 'README.md'), 'utf8').trimEnd().split('\n').length;
    expect(lines).toBeLessThanOrEqual(README_MAX_LINES);
  });

  it('has fit tables that are what `fit --markdown` prints for their results file', () => {
    const blocks = docs.flatMap((doc) => fitBlocks(readFileSync(join(root, doc), 'utf8')).map((b) => ({ doc, ...b })));
    expect(blocks.map((b) => b.doc)).toContain('README.md');
    const printedFor = new Map<string, string>(); // one fit per results file
    for (const { doc, file, text } of blocks) {
      if (!printedFor.has(file))
        printedFor.set(file, execFileSync(process.execPath, [join(root, 'bin/tabgpt.js'), 'fit', file, '--markdown'], { cwd: root, encoding: 'utf8' }));
      const printed = printedFor.get(file) as string;
      // A block is a contiguous piece of the output (the README carries its last tables only).
      expect(printed.includes(text), `${doc}: the block for ${file} differs from 'npm run fit -- ${file} --markdown':\n${printed}`).toBe(true);
    }
  });

  it('finds links, paths and anchors (so the checks above can fail)', () => {
    const md =
      '# A `b` (c)\n\n[x](docs/a.md#a-b-c) ![y](img.png "t") <img src="p.png"> [web](https://x.org) `[z](no.md)`\n`src/core/model.ts` `npm test`\n```\n[in](fence.md) `src/fenced.ts`\n# fenced\n```\n## A `b` (c)\n';
    expect(linkTargets(md)).toEqual(['docs/a.md#a-b-c', 'img.png', 'p.png']);
    expect(codePaths(md)).toEqual(['src/core/model.ts']);
    expect([...anchors(md)]).toEqual(['a-b-c', 'a-b-c-1']);
  });
});
