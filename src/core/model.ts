// The GPT: token + learned position embeddings, nLayer pre-LayerNorm blocks of
// causal multi-head self-attention and a 4x GELU MLP, a final LayerNorm, and an
// LM head tied to the token embedding. Written on tf ops over tf.Variables so
// every backend (webgpu, webgl, wasm, cpu) runs the same code.
//
// Shape legend:
//   B  batch size            T  sequence length (<= blockSize)
//   C  nEmbd (model width)   V  vocabulary size
//   nH number of heads       hs head size = C / nH
//   N  B*T rows: activations are kept 2-D [N, C] between blocks so every
//      Linear is one plain 2-D matmul (the fast path on every backend).
//
// Parameter names follow nanoGPT (transformer.h.0.attn.c_attn.weight, ...).
// Linear weights are stored here as [in, out] so the forward pass is x @ W;
// checkpoint.ts writes them as PyTorch's [out, in].

import * as tf from '@tensorflow/tfjs';
import type { ModelConfig } from './config';
import { Rng } from './rng';
import { paramShapes } from './counts';

export { paramShapes };
import { causalSelfAttention, crossEntropy, embed, layerNorm, linear, linearGelu, tiedHead } from './ops';
import { installWasmKernels } from './kernels';
import { DEFAULT_KERNELS, type Kernels } from './kernels/mode';
import { cachedAttention, type KVCache } from './kvcache';
import { insideGradient, nestedGradients } from './kernels/tfjs-internals';

export type Params = Map<string, tf.Variable>;

// Counting lives in counts.ts (pure arithmetic, importable by the pages).
export { paramCount, flopsPerToken, type ParamCount } from './counts';

export type { KVCache } from './kvcache';

export interface ForwardOptions {
  /** Apply dropout (training only). */
  training?: boolean;
  /** Seed for this call's dropout masks (from the run's Rng, so runs reproduce). */
  dropoutSeed?: number;
  /** Called with each layer's attention weights [B, nH, T, T] (core/inspect reads them; training never sets it). */
  onAttention?: (layer: number, att: tf.Tensor4D) => void;
}

/**
 * Attention up to c_proj inside a block: ln_1's output x [N, C] and c_attn's
 * weight w [C, 3C] and bias b [3C] -> [N, C]. Training and evaluation attend
 * over the whole sequence (ops.causalSelfAttention: fused on webgpu);
 * generation attends to the KV cache (kvcache.ts).
 */
type Attend = (x: tf.Tensor2D, w: tf.Tensor2D, b: tf.Tensor | null, layer: number) => tf.Tensor2D;

export interface GPTOptions {
  /** Which kernels this model's ops run (kernels/mode.ts): fused on webgpu unless told generic; default DEFAULT_KERNELS. */
  kernels?: Kernels;
}

export class GPT {
  readonly config: ModelConfig;
  readonly params: Params;
  /** This model's kernel choice, passed to every op (not a process-wide setting: two models may differ). */
  readonly kernels: Kernels;
  /** Recompute each block's activations in the backward pass (the training config's `recompute`; the Trainer sets it). */
  recompute = false;
  /** [blockSize, blockSize] additive causal mask: 0 on and below the diagonal, -1e9 above. */
  private readonly causalMask: tf.Tensor2D;

  constructor(config: ModelConfig, init: Rng | Map<string, tf.Tensor>, options: GPTOptions = {}) {
    this.config = config;
    this.kernels = options.kernels ?? DEFAULT_KERNELS;
    installWasmKernels(); // transposed and batched matmuls at 2-D GEMM speed on wasm (kernels/wasm/batchmatmul.ts)
    this.params = new Map();
    for (const [name, shape] of paramShapes(config)) {
      const t = init instanceof Rng ? initTensor(name, shape, config, init) : init.get(name);
      if (!t) throw new Error(`missing parameter ${name}`);
      if (!tf.util.arraysEqual(t.shape, shape)) throw new Error(`parameter ${name} has shape [${t.shape}], expected [${shape}]`);
      // No global name: tfjs variable names must be unique, and two models (a run and a loaded checkpoint) may coexist.
      this.params.set(name, tf.variable(t, true));
      if (init instanceof Rng) t.dispose();
    }
    const T = config.blockSize;
    const mask = new Float32Array(T * T);
    for (let i = 0; i < T; i++) for (let j = i + 1; j < T; j++) mask[i * T + j] = -1e9;
    this.causalMask = tf.tensor2d(mask, [T, T]);
  }

  p(name: string): tf.Variable {
    const v = this.params.get(name);
    if (!v) throw new Error(`no parameter ${name}`);
    return v;
  }

  private optBias(name: string): tf.Tensor | null {
    return this.config.bias ? this.p(`${name}.bias`) : null;
  }

  private ln(x: tf.Tensor2D, name: string): tf.Tensor2D {
    return layerNorm(this.kernels, x, this.p(`${name}.weight`), this.optBias(name));
  }

  private lin(x: tf.Tensor2D, name: string): tf.Tensor2D {
    return linear(this.kernels, x, this.p(`${name}.weight`) as tf.Tensor2D, this.optBias(name));
  }

  /** gelu(x @ W + b) for the MLP's c_fc (ops.ts: bias and GELU fused on webgpu). */
  private linGelu(x: tf.Tensor2D, name: string): tf.Tensor2D {
    return linearGelu(this.kernels, x, this.p(`${name}.weight`) as tf.Tensor2D, this.optBias(name), this.config.gelu ?? 'tanh');
  }

  private drop(x: tf.Tensor2D, opts: ForwardOptions, salt: number): tf.Tensor2D {
    const rate = this.config.dropout;
    if (!opts.training || rate === 0) return x;
    return tf.dropout(x, rate, undefined, (opts.dropoutSeed ?? 0) * 1009 + salt) as tf.Tensor2D;
  }

  /** Logits for every position: idx [B, T] int32 -> [B*T, V]. */
  forward(idx: tf.Tensor2D, opts: ForwardOptions = {}): tf.Tensor2D {
    installWasmKernels(); // in case the wasm backend registered after this model was built
    const [B, T] = idx.shape;
    const { nLayer, blockSize } = this.config;
    if (T > blockSize) throw new Error(`sequence length ${T} exceeds blockSize ${blockSize}`);
    const wte = this.p('transformer.wte.weight') as tf.Tensor2D;
    const wpe = this.p('transformer.wpe.weight') as tf.Tensor2D;
    let x = embed(this.kernels, wte, wpe, idx); // token + position embeddings (ops.ts): [N, C]
    x = this.drop(x, opts, 0);
    const rate = this.config.dropout;
    // An attend for one scope: the causal mask [T, T] sliced at most once in it, only if the generic attention asks.
    const attendIn = (): Attend => {
      let maskT: tf.Tensor | null = null;
      const mask = () => (maskT ??= this.causalMask.slice([0, 0], [T, T]));
      return (h, w, b, l) => {
        const dropout = opts.training && rate > 0 ? (att: tf.Tensor) => tf.dropout(att, rate, undefined, (opts.dropoutSeed ?? 0) * 1009 + 300 + l) : null;
        // onAttention (the views' inspection forward) needs the softmax itself: the generic path then
        const onAtt = opts.onAttention ? (att: tf.Tensor4D) => opts.onAttention!(l, att) : null;
        return causalSelfAttention(this.kernels, h, w, b, B, T, this.config.nHead, mask, dropout, onAtt); // ops.ts: c_attn and attention, fused on webgpu
      };
    };
    const attend = attendIn();
    const recompute = this.recompute && opts.training === true && insideGradient();
    for (let l = 0; l < nLayer; l++) x = recompute ? this.recomputedBlock(x, l, attendIn, opts) : this.block(x, l, attend, opts); // [N, C]
    x = this.ln(x, 'transformer.ln_f');
    return tiedHead(this.kernels, x, wte); // tied head: [N, C] @ [V, C]^T -> [N, V]
  }

  /**
   * One pre-LayerNorm transformer block, x [N, C] -> [N, C]: the same code for
   * training, evaluation and KV-cache generation, which differ only in
   * `attend` (see Attend).
   *   x = x + dropout(c_proj(attend(ln_1(x))))
   *   x = x + dropout(mlp.c_proj(gelu(c_fc(ln_2(x)))))
   */
  private block(x: tf.Tensor2D, l: number, attend: Attend, opts: ForwardOptions): tf.Tensor2D {
    const h = `transformer.h.${l}`;
    const y = attend(this.ln(x, `${h}.ln_1`), this.p(`${h}.attn.c_attn.weight`) as tf.Tensor2D, this.optBias(`${h}.attn.c_attn`), l); // [N, C]
    x = x.add(this.drop(this.lin(y, `${h}.attn.c_proj`), opts, 100 + l));
    const hidden = this.linGelu(this.ln(x, `${h}.ln_2`), `${h}.mlp.c_fc`); // [N, 4C]
    return x.add(this.drop(this.lin(hidden, `${h}.mlp.c_proj`), opts, 200 + l));
  }

  /**
   * The same block with activation recomputation (config.recompute): a custom
   * gradient whose forward runs the block off the tape and saves only its input
   * [N, C]; its backward runs the block's forward again on the tape and
   * backpropagates through it. Activation memory drops from every layer's
   * intermediates to one layer's, for one more forward pass per step. Dropout
   * masks come from fixed seeds, so the recomputed forward is the same one.
   */
  private recomputedBlock(x: tf.Tensor2D, l: number, attendIn: () => Attend, opts: ForwardOptions): tf.Tensor2D {
    const prefix = `transformer.h.${l}.`;
    const names = [...this.params.keys()].filter((n) => n.startsWith(prefix));
    const vars = names.map((n) => this.p(n));
    const f = tf.customGrad((...args) => {
      const input = args[0] as tf.Tensor2D;
      const save = args[args.length - 1] as tf.GradSaveFunc;
      save([input]);
      return {
        value: tf.tidy(() => this.block(input, l, attendIn(), opts)), // off the tape (inside a kernel): nothing else kept
        gradFunc: (dy: tf.Tensor, [saved]: tf.Tensor[]) => {
          // A nested gradient inside the outer backward pass (tfjs-internals.ts keeps the outer tape).
          const { value, grads } = nestedGradients(() => this.block(saved as tf.Tensor2D, l, attendIn(), opts), [saved, ...vars], dy);
          value.dispose();
          return grads.map((g, i) => g ?? tf.zerosLike(i === 0 ? saved : vars[i - 1]));
        },
      };
    });
    return f(x, ...vars) as tf.Tensor2D;
  }

  /** Mean next-character cross-entropy (nats): idx, targets [B, T] int32 -> scalar. */
  loss(idx: tf.Tensor2D, targets: tf.Tensor2D, opts: ForwardOptions = {}): tf.Scalar {
    const logits = this.forward(idx, opts); // [N, V]
    return crossEntropy(this.kernels, logits, targets.reshape([-1]) as tf.Tensor1D);
  }

  /**
   * Incremental forward for generation: feed `tokens` (positions cache.length ..
   * cache.length + t - 1), write their keys and values into the cache, and
   * return the logits of the last position [V]. Each new token costs one
   * position: the same blocks as forward(), attending to the cache (kvcache.ts).
   */
  forwardCached(tokens: number[], cache: KVCache): tf.Tensor1D {
    installWasmKernels();
    const { nLayer, nEmbd: C, nHead: nH, blockSize: S } = this.config;
    const t = tokens.length;
    const start = cache.length;
    if (start + t > S) throw new Error(`KV cache overflow: ${start + t} > blockSize ${S}`);
    const out = tf.tidy(() => {
      const wte = this.p('transformer.wte.weight') as tf.Tensor2D;
      const tok = tf.gather(wte, tf.tensor1d(tokens, 'int32')); // [t, C]: no gradient here, so a plain gather
      let x = tok.add(this.p('transformer.wpe.weight').slice([start, 0], [t, C])) as tf.Tensor2D;
      const attendCache = cachedAttention(cache, t, nH, this.causalMask);
      // c_attn as one [C, 3C] linear (the op the fused path runs), then the cached attention core
      const attend: Attend = (h, w, b, l) => attendCache(linear(this.kernels, h, w, b), l);
      for (let l = 0; l < nLayer; l++) x = this.block(x, l, attend, {});
      const last = this.ln(t > 1 ? x.slice([t - 1, 0], [1, C]) : x, 'transformer.ln_f'); // [1, C]
      return tiedHead(this.kernels, last as tf.Tensor2D, wte).reshape([-1]) as tf.Tensor1D; // [1, V] -> [V]
    });
    cache.length = start + t;
    return out;
  }

  /** An empty KV cache; fixed-size on webgl (see KVCache.fixed) unless told otherwise. */
  newCache(fixed = tf.getBackend() === 'webgl'): KVCache {
    return { k: [], v: [], length: 0, fixed };
  }

  disposeCache(cache: KVCache): void {
    for (const t of [...cache.k, ...cache.v]) t.dispose();
    cache.k = [];
    cache.v = [];
    cache.length = 0;
  }

  dispose(): void {
    for (const v of this.params.values()) v.dispose();
    this.causalMask.dispose();
  }
}

/**
 * GPT-2 initialisation: weights N(0, 0.02), the residual projections (c_proj)
 * scaled by 1/sqrt(2 nLayer) so the residual stream's variance does not grow
 * with depth; biases 0, LayerNorm gains 1. Drawn from the run's Rng.
 */
export function initTensor(name: string, shape: number[], cfg: ModelConfig, rng: Rng): tf.Tensor {
  const size = shape.reduce((a, b) => a * b, 1);
  if (name.endsWith('.bias')) return tf.zeros(shape);
  if (/ln_\d|ln_f/.test(name)) return tf.ones(shape);
  const std = name.endsWith('c_proj.weight') ? 0.02 / Math.sqrt(2 * cfg.nLayer) : 0.02;
  const values = new Float32Array(size);
  for (let i = 0; i < size; i++) values[i] = rng.normal() * std;
  return tf.tensor(values, shape);
}
