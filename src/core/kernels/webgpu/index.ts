// The WebGPU story, from this one comment.
//
// tabgpt trains on tfjs' webgpu backend. In `generic` mode (kernels/mode.ts)
// the model is stock tfjs ops, the reference every other path is tested
// against. In `fused` mode (the default on webgpu) ops.ts swaps the ops whose
// generic form is a chain of small kernels for one WGSL kernel per direction,
// registered in tfjs' kernel registry for the webgpu backend, so the model and
// the training loop still call tf ops, tf.grads still differentiates them
// (tf.customGrad in each op calls its backward kernel), and tensors, buffer
// pooling, command batching and profiling stay tfjs'.
//
//   program.ts     the runner: WGSL assembly, one pipeline per variant and device,
//                  a dispatch recorded into tfjs' own compute pass; several outputs
//   layernorm.ts   LayerNorm, forward and backward            (generic 9 + 11 dispatches -> 1 + 1)
//   gelu.ts        c_fc's bias add + GELU after its matmul    (matmul+bias, GELU, bias-grad GEMV:
//                  7 + 11 dispatches for the c_fc linear + GELU -> 2 + 3, the matmuls' 1 + 2 included)
//   attention.ts   c_attn as one [C, 3C] linear, then scores, scale, causal mask, softmax and
//                  the weighted sum in one kernel; dq, dk, dv in one   (12 + 34 -> 2 + 4 per layer,
//                  c_attn's matmul, its two gradient matmuls and its bias-gradient GEMV included)
//   crossentropy.ts  softmax cross-entropy to the mean loss, integer targets (7-10 + 4 -> 1 + 1)
//   embedding.ts   token + position embedding: gather forward, scatter-add back,
//                  positions computed, not uploaded                 (5 + 2 -> 1 + 1)
//
// Dispatches per op are counted in tests/kernels-webgpu.test.ts (fused vs
// generic on the same webgpu backend), where every kernel is also checked
// against the generic op on the cpu backend, values and gradients.

export { layerNormFused } from './layernorm';
export { biasGeluFused } from './gelu';
export { causalAttentionFused, ATTENTION_MAX_T } from './attention';
export { crossEntropyFused } from './crossentropy';
export { embeddingFused } from './embedding';
export { compiledVariants } from './program';
