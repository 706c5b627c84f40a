// The names a run chooses among: backends, kernel modes and matmul kernels,
// as plain data. No tfjs here, so the pages and the argument parsers can list
// and check them without loading a backend; backend.ts and kernels/mode.ts,
// which act on them, re-export them.

export type BackendName = 'webgpu' | 'webgl' | 'wasm' | 'cpu';
/** The browser's preference: the first that starts wins (backend.ts' chooseBackend). */
export const BROWSER_ORDER: BackendName[] = ['webgpu', 'webgl', 'wasm', 'cpu'];
/** What tfjs offers in Node without a GPU (Dawn's webgpu is asked for by name: src/cli/webgpu.ts). */
export const NODE_BACKENDS: BackendName[] = ['wasm', 'cpu'];
/** How the page's badge and the backend probe's line name each backend. */
export const BACKEND_LABELS: Record<BackendName, string> = { webgpu: 'WebGPU', webgl: 'WebGL', wasm: 'WASM', cpu: 'CPU' };

/** Which ops the model runs: stock tfjs ops (`generic`, the reference) or the fused WebGPU kernels. */
export type KernelMode = 'generic' | 'fused';
export const KERNEL_MODES: readonly KernelMode[] = ['generic', 'fused'];

/** The fused path's matmul: the register-tiled kernel, tfjs' own, or `auto` (tiled on CPU adapters). */
export type MatmulChoice = 'auto' | 'tiled' | 'tfjs';
export const MATMUL_CHOICES: readonly MatmulChoice[] = ['auto', 'tiled', 'tfjs'];
