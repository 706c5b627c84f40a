// bench/gpu.sh's paths that need no GPU: without an NVIDIA driver it stops at
// once with one line saying so (NVIDIA_SMI points it at a missing or failing
// nvidia-smi, so the test means the same on a machine that has a GPU).

import { describe, it, expect } from 'vitest';
import { execFile } from 'node:child_process';
import { join } from 'node:path';

const ROOT = join(import.meta.dirname, '..');

function gpuSh(env: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      'bash',
      [join(ROOT, 'bench', 'gpu.sh'), '/tmp/tabgpt-gpu-test.jsonl'],
      { cwd: ROOT, env: { ...process.env, ...env }, timeout: 30_000 },
      (err, stdout, stderr) => {
        resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr });
      },
    );
  });
}

describe('bench/gpu.sh without a GPU', () => {
  it('says in one line that there is no NVIDIA driver, and fails', async () => {
    const r = await gpuSh({ NVIDIA_SMI: '/nonexistent/nvidia-smi' });
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe(
      "gpu.sh: no NVIDIA driver: '/nonexistent/nvidia-smi' not found; run this on a machine with an NVIDIA GPU (without one, npm run bench measures the CPU side)\n",
    );
  });

  it('says so too when nvidia-smi is there but finds no GPU', async () => {
    const r = await gpuSh({ NVIDIA_SMI: 'false' });
    expect(r.code).toBe(1);
    expect(r.stderr).toBe("gpu.sh: no NVIDIA driver: 'false' found no GPU; check the driver (nvidia-smi) and that this container sees the device\n");
  });
});
