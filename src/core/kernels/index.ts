// Custom kernels, one room per backend. Imported by the model (model.ts,
// ops.ts) only; the shells never call a kernel directly.
//
//   mode.ts               generic vs fused, and the matmul: a model's choice, passed to every op (fused only on webgpu)
//   adapter.ts            whether a WebGPU adapter is a CPU (SwiftShader, llvmpipe): the one test for it
//   wasm/batchmatmul.ts   transposed and batched matmuls at XNNPACK GEMM speed on wasm
//   webgpu/               fused WGSL kernels (one op per file: WGSL, dispatch, gradient)
//
// The WebGPU story in one place: webgpu/index.ts.

export { installWasmKernels } from './wasm/batchmatmul';
export { DEFAULT_KERNELS, kernelsOf, useFused, KERNEL_MODES, type KernelMode, type Kernels } from './mode';
