// WebGPU in Node: the `webgpu` npm package (Dawn) provides navigator.gpu, so
// tfjs' webgpu backend, and with it the same core the page runs, trains on a
// server's GPU through Vulkan (Linux), D3D12 (Windows) or Metal (macOS).
//
// Where the system's Vulkan drivers offer no adapter (a machine without a GPU),
// Dawn is asked (in a child process, to keep native driver warnings out of
// the user's terminal) with SwiftShader's Vulkan driver, which Debian's chromium
// package ships: a CPU implementation of the real API, slow but exact, which is
// what the tests and CI run on. VK_ICD_FILENAMES set by the user is respected.
// tfjs' webgpu backend registers itself only if navigator.gpu exists when its
// module loads, so it is imported here, after navigator.gpu is in place.

import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { isSoftwareAdapter } from '../core/kernels/adapter';
import { setDeviceMemoryBytes } from '../core/kernels/webgpu/oom';
import { NULL_ADAPTER_BYTES } from '../core/memory';

/** SwiftShader's Vulkan ICD from Debian's chromium package. */
export const SWIFTSHADER_ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';

export interface NodeWebGPU {
  /** Adapter vendor / architecture / description as Dawn reports them. */
  adapter: { vendor: string; architecture: string; description: string };
  /** True on a CPU adapter (SwiftShader, llvmpipe; core/kernels/adapter.ts): speeds are not a GPU's. */
  software: boolean;
  /** Dawn's null backend (--adapter null): every call accepted, no kernel run, 512 MB of device memory. */
  nullAdapter: boolean;
}

/**
 * Which adapter: the system's (a GPU, else SwiftShader), or Dawn's null
 * backend, which runs nothing: the CPU cost of a step (the most tokens/s any
 * GPU could give on this CPU) and memory, never losses.
 */
export type AdapterChoice = 'default' | 'null';
export const ADAPTER_CHOICES: readonly AdapterChoice[] = ['default', 'null'];

let installed: NodeWebGPU | null = null;
let installedChoice: AdapterChoice | null = null;

/** How a bench row names the adapter: "null" for Dawn's null backend, else the adapter's description (its vendor and architecture when it gives none). */
export function adapterLabel(found: NodeWebGPU): string {
  if (found.nullAdapter) return 'null';
  return found.adapter.description || `${found.adapter.vendor} ${found.adapter.architecture}`.trim();
}

/**
 * Put a Dawn-backed navigator.gpu on globalThis and register tfjs' webgpu
 * backend. Returns what was found, or a one-line problem naming what is missing.
 * One adapter per process (tfjs' webgpu backend keeps the first device).
 */
export async function installNodeWebGPU(choice: AdapterChoice = 'default'): Promise<NodeWebGPU | string> {
  if (installed) {
    if (choice !== installedChoice) return `WebGPU already runs on the ${installedChoice} adapter in this process: --adapter ${choice} needs a new process`;
    return installed;
  }
  let dawn: typeof import('webgpu');
  try {
    dawn = await import('webgpu');
  } catch (e) {
    return `the webgpu npm package (Dawn) did not load (${(e as Error).message.split('\n')[0]}); run npm install`;
  }
  Object.assign(globalThis, dawn.globals); // GPUBufferUsage, GPUMapMode, ... as in a browser
  ensureRuntimeDir();
  // Which drivers give an adapter is asked in a child process first: the Vulkan
  // loader and Dawn print their complaints about unusable drivers from native
  // code, which would otherwise reach the user's terminal before our one line.
  if (choice === 'null') return installWith(dawn, ['backend=null'], choice);
  const userIcd = process.env.VK_ICD_FILENAMES;
  if (!probeAdapter()) {
    if (userIcd)
      return `WebGPU found no adapter with VK_ICD_FILENAMES=${userIcd}: point it at a working Vulkan driver's ICD JSON, or unset it; wasm and cpu run here`;
    if (!existsSync(SWIFTSHADER_ICD))
      return `WebGPU found no adapter: no Vulkan/D3D12/Metal GPU driver (without a GPU: apt-get install chromium libvulkan1 provides SwiftShader at ${SWIFTSHADER_ICD}); wasm and cpu run here`;
    if (!probeAdapter(SWIFTSHADER_ICD))
      return `WebGPU found no adapter: no Vulkan/D3D12/Metal GPU driver, and SwiftShader (${SWIFTSHADER_ICD}) gave none either (is libvulkan1 installed?); wasm and cpu run here`;
    process.env.VK_ICD_FILENAMES = SWIFTSHADER_ICD; // read by the Vulkan loader at each new instance
  }
  return installWith(dawn, [], choice);
}

async function installWith(dawn: typeof import('webgpu'), flags: string[], choice: AdapterChoice): Promise<NodeWebGPU | string> {
  let gpu: GPU;
  let adapter: GPUAdapter | null;
  try {
    gpu = dawn.create(flags);
    adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
  } catch (e) {
    return `WebGPU (Dawn) failed to start: ${(e as Error).message.split('\n')[0]}; wasm and cpu run here`;
  }
  if (!adapter) return 'WebGPU found no adapter in this process although a probe did; wasm and cpu run here';
  const nav = (globalThis as { navigator?: object }).navigator;
  if (nav) Object.defineProperty(nav, 'gpu', { value: gpu, configurable: true });
  else Object.defineProperty(globalThis, 'navigator', { value: { gpu }, configurable: true });
  await import('@tensorflow/tfjs-backend-webgpu');
  const info = adapter.info;
  installed = {
    adapter: { vendor: info.vendor, architecture: info.architecture, description: choice === 'null' ? "Dawn's null backend (runs nothing)" : info.description },
    software: isSoftwareAdapter(info),
    nullAdapter: choice === 'null',
  };
  installedChoice = choice;
  if (choice === 'null') setDeviceMemoryBytes(NULL_ADAPTER_BYTES); // the null backend's fixed device memory
  return installed;
}

/** Whether Dawn finds an adapter (with VK_ICD_FILENAMES=icd if given), asked in a child process whose stderr is dropped. */
function probeAdapter(icd?: string): boolean {
  const dawnUrl = pathToFileURL(createRequire(import.meta.url).resolve('webgpu')).href;
  const script = `const { create } = await import(${JSON.stringify(dawnUrl)}); const a = await create([]).requestAdapter({ powerPreference: 'high-performance' }); process.stdout.write(a ? 'adapter' : 'none'); process.exit(0);`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
    env: { ...process.env, ...(icd ? { VK_ICD_FILENAMES: icd } : {}) },
    stdio: ['ignore', 'pipe', 'ignore'],
    timeout: 60_000,
    encoding: 'utf8',
  });
  return r.stdout === 'adapter';
}

/**
 * Mesa's Vulkan loader layers complain on stderr (from native code, so it
 * cannot be filtered here) when XDG_RUNTIME_DIR is unset, as in containers and
 * CI: give them a private one, as a login session would.
 */
function ensureRuntimeDir(): void {
  if (process.env.XDG_RUNTIME_DIR) return;
  const dir = join(tmpdir(), `tabgpt-xdg-${process.getuid?.() ?? 0}`);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  process.env.XDG_RUNTIME_DIR = dir;
}
