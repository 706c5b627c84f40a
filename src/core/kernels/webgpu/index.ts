// The WebGPU story, from this one comment.
//
// tabgpt trains on tfjs' webgpu backend (in the browser's training worker,
// and in Node through Dawn: src/cli/webgpu.ts). In `generic` mode
// (kernels/mode.ts) the model is stock tfjs ops, the reference every other
// path is tested against. In `fused` mode (the default; it applies on webgpu
// only) ops.ts swaps each op whose generic form is a chain of small kernels
// for one WGSL kernel per direction. The kernels are registered below in
// tfjs' kernel registry for the webgpu backend, so the model and the training
// loop still call tf ops, tf.grads still differentiates them (tf.customGrad in
// each op calls its backward kernel), and tensors, buffer pooling, command
// batching and profiling stay tfjs'. Why fuse: a small model's step on a real
// GPU is bound by launches and tfjs' per-op JavaScript (tens of microseconds
// each), not FLOPs; docs/optimisation-log.md has the per-op profile that ordered this work.
//
//   program.ts       the runner: WGSL assembly, one pipeline per variant and device
//                    (shapes are uniforms: no per-step compiles), a dispatch recorded
//                    into tfjs' own compute pass with any number of outputs
//   layernorm.ts     LayerNorm                                           9 + 13 -> 1 + 1
//   gelu.ts          c_fc's bias add + GELU after its matmul (ops.linearGelu);
//                    the bias gradient is summed in the same backward dispatch
//                    (c_fc linear + GELU:                                 7 + 12 -> 2 + 3)
//   attention.ts     c_attn as one [C, 3C] linear, then scores, scale, causal mask,
//                    softmax and weighted sum in one kernel; dq, dk, dv in one; no
//                    [T, T] mask, no transposes (ops.causalSelfAttention, c_attn's
//                    matmuls and bias GEMV included:                    12 + 37 -> 2 + 5)
//   crossentropy.ts  softmax cross-entropy to the mean loss, integer targets  7-10 + 4 -> 1 + 1
//   embedding.ts     token + position embedding: gather forward, scatter-add back,
//                    positions computed in the kernel, not uploaded      5 + 2 -> 1 + 1
//   matmul.ts        a register-tiled matmul (8 x 8 outputs per invocation, no
//                    workgroup memory, either operand transposed in place, bias
//                    epilogue) for every 2-D matmul of the model (ops.matMul2d:
//                    Linears both ways, bias-gradient GEMVs, the tied head) on
//                    adapters that are CPUs (SwiftShader): 4-10x tfjs' there.
//                    Hardware GPUs keep tfjs' matmul (kernels/mode.ts)
//   adamw.ts         the optimizer step: global-norm clip, moments, bias-corrected
//                    update, weight decay, in place in the Trainer's variables;
//                    ceil(P/6) + 1 + ceil(P/2) dispatches for P tensors (baby: 36,
//                    generic 935), one 16-byte uniform per step, no uploads
//   stream.ts        adamw.ts' runner: raw pipelines recorded into tfjs' compute pass
//   counters.ts      exact per-step dispatches, uploads, uniform writes, readbacks at
//                    the WebGPU API, for `npm run bench` (PERFORMANCE.md)
//   capture.ts       one step's WebGPU calls observed at the API, for record.ts
//   record.ts        the recorded step: the Trainer's second step runs under capture
//                    (every dispatch, bind group and uniform observed at the WebGPU
//                    API), and from then on each step is replayed from plan-owned
//                    buffers and cached bind groups in one submit, with no tfjs op
//                    (config step=recorded, the default; step=eager runs tfjs')
//   ../tfjs-internals.ts  every reach into tfjs' private members, checked when the
//                    backend starts
//
// (dispatches forward + backward per call with biases, generic -> fused, as counted by
// tests/kernels-webgpu.test.ts, which also checks every kernel against the
// generic op on the cpu backend, values and gradients, on odd shapes, and a
// whole nano model's loss, gradients and training losses fused vs generic.)
// A whole `baby` forward + backward (4 layers, C 128, T 64; optimizer not
// included) is 202 + 367 = 569 dispatches generic, 44 + 87 = 131 fused, the
// same loss; the fused backward's 87 include 13 tf.fill dispatches (the
// bias-gradient GEMVs' ones vectors and the gradient seed, made on the device
// rather than uploaded). With the fused AdamW's 36, a fused training step is
// 167 (`npx tsx bench/webgpu-dispatches.ts baby` and `npm run bench --
// --backend webgpu --preset baby --kernels generic,fused --training-only`,
// both counting GPUComputePassEncoder.dispatchWorkgroups; Dawn on SwiftShader).
// What remains per layer: the matmuls (c_attn, c_proj, c_fc, mlp c_proj and
// their gradients), residual adds and the bias-gradient GEMVs.
//
// Not fused here: the matmuls (one dispatch each, tfjs' or matmul.ts'),
// residual adds, dropout (attention with dropout > 0 takes the generic path),
// and the optimizer (AdamW: kernels/webgpu/adamw.ts). Only f32; no
// `shader-f16` or `subgroups` features are used, so any WebGPU adapter runs them.

import { registerOnce } from './program';
import { kernels as layerNorm } from './layernorm';
import { kernels as biasGelu } from './gelu';
import { kernels as attention } from './attention';
import { kernels as crossEntropy } from './crossentropy';
import { kernels as embedding } from './embedding';
import { kernels as matmul } from './matmul';

registerOnce([...layerNorm, ...biasGelu, ...attention, ...crossEntropy, ...embedding, ...matmul]);

export { layerNormFused } from './layernorm';
export { biasGeluFused } from './gelu';
export { causalAttentionFused, ATTENTION_MAX_T } from './attention';
export { crossEntropyFused } from './crossentropy';
export { embeddingFused } from './embedding';
export { matMulTiled } from './matmul';
export { compiledVariants } from './program';
