// Custom kernels, one room per backend. Imported by the model (model.ts,
// ops.ts) only; the shells never call a kernel directly.
//
//   mode.ts               generic vs fused: which path ops.ts takes (fused only on webgpu)
//   wasm/batchmatmul.ts   transposed and batched matmuls at XNNPACK GEMM speed on wasm
//   webgpu/               fused WGSL kernels (one op per file: WGSL, dispatch, gradient)
//
// The WebGPU story in one place: webgpu/index.ts.

export { installWasmKernels } from './wasm/batchmatmul';
export { kernelMode, setKernelMode, useFused, KERNEL_MODES, type KernelMode } from './mode';
