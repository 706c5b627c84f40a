// `tabgpt ... --backend webgpu` in Node where Dawn finds no adapter: one line
// naming what is missing and the backends that do run, exit code 2, no native
// driver warnings (the adapter probe runs in a child process). The drivers are
// hidden by pointing the Vulkan loader at an ICD file that does not exist.

import { describe, it, expect } from 'vitest';
import { execFile } from 'node:child_process';
import { join } from 'node:path';

const ROOT = join(import.meta.dirname, '..');
const BIN = join(ROOT, 'bin', 'tabgpt.js');

function tabgpt(env: Record<string, string>, ...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { cwd: ROOT, env: { ...process.env, ...env }, timeout: 120_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr });
    });
  });
}

describe('--backend webgpu without an adapter', () => {
  it.each([
    ['train', '--max-iters', '1'],
    ['bench', '--training-only'],
  ])('%s: one line naming what is missing and what runs', async (...args) => {
    const r = await tabgpt({ VK_ICD_FILENAMES: '/nonexistent/vulkan_icd.json' }, ...args, '--backend', 'webgpu', '--preset', 'nano', '--corpus', 'builtin');
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr.trimEnd().split('\n'), r.stderr).toEqual([
      "tabgpt: error: WebGPU found no adapter with VK_ICD_FILENAMES=/nonexistent/vulkan_icd.json: point it at a working Vulkan driver's ICD JSON, or unset it; wasm and cpu run here",
    ]);
  });
});
