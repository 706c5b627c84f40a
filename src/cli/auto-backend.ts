// `--backend auto`, the CLI's default: the backend that trains this model
// fastest here. Without a GPU the answer is WASM and nothing is timed; with a
// GPU, Dawn's WebGPU and WASM each run a few timed steps of the run's own
// model (core/backend-probe.ts) and the faster trains. The line that says
// which, and why, is printed with the model (train.ts).

import { existsSync, readdirSync } from 'node:fs';
import { cpuAdapterReason, type BackendName } from '../core/backend';
import { probeBackends } from '../core/backend-probe';
import type { Config } from '../core/config';
import type { Dataset } from '../core/data';
import { installNodeWebGPU } from './webgpu';

export interface AutoChoice {
  name: BackendName;
  /** One line: why this backend ("no GPU device here", "measured: WebGPU: 7.9x WASM for this model ..."). */
  reason: string;
}

/**
 * Whether this machine may have a GPU for Dawn. On Linux a GPU is a DRM render
 * node or an NVIDIA device file; without one, asking Dawn (a native module, a
 * child process, SwiftShader's start-up) would only find a CPU. Elsewhere
 * (macOS's Metal, Windows' D3D12) Dawn is asked.
 */
export function mayHaveGpu(): boolean {
  if (process.platform !== 'linux') return true;
  try {
    if (readdirSync('/dev/dri').some((n) => n.startsWith('renderD'))) return true;
  } catch {
    /* no /dev/dri */
  }
  return existsSync('/dev/nvidiactl') || existsSync('/dev/nvidia0');
}

/** Choose, and leave tfjs on, the faster backend for `cfg` on `data` (wasm must already be registered). */
export async function autoBackend(cfg: Config, data: Dataset): Promise<AutoChoice> {
  if (!mayHaveGpu()) return { name: 'wasm', reason: 'no GPU device here (/dev/dri, /dev/nvidia*)' };
  const found = await installNodeWebGPU('default');
  if (typeof found === 'string') return { name: 'wasm', reason: `no WebGPU: ${found}` };
  if (found.software) {
    const cpu = cpuAdapterReason(found.adapter) ?? 'the WebGPU adapter is a CPU';
    return { name: 'wasm', reason: `${cpu}: WASM trains faster here (--backend webgpu to use it anyway)` };
  }
  const choice = await probeBackends(cfg, data, ['webgpu', 'wasm']);
  return { name: choice.name, reason: `measured: ${choice.reason}` };
}
