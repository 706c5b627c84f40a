// Whether a WebGPU adapter is a CPU implementation (SwiftShader, Mesa's
// llvmpipe / lavapipe) rather than a GPU: its speeds are then not a GPU's, and
// the fused path takes the register-tiled matmul (mode.ts). The one test for
// it, shared by the model's kernel choice and the CLI's Dawn start-up
// (cli/webgpu.ts). Plain data in, no WebGPU or tfjs calls: the caller reads
// the adapter info where it has it.

/** What GPUAdapterInfo (or tfjs' copy of it) says about an adapter; every field optional. */
export interface AdapterInfoLike {
  vendor?: string;
  architecture?: string;
  description?: string;
  /** The browser's or Dawn's own flag for a software fallback adapter. */
  isFallbackAdapter?: boolean;
}

/**
 * True for a CPU adapter: the fallback flag where the browser or Dawn sets it,
 * else the names (llvmpipe and lavapipe say so only in the description).
 */
export function isSoftwareAdapter(info: AdapterInfoLike): boolean {
  return info.isFallbackAdapter === true || /swiftshader|llvmpipe|lavapipe/i.test(`${info.vendor ?? ''} ${info.architecture ?? ''} ${info.description ?? ''}`);
}
