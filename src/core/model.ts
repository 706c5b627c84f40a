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
import { causalSelfAttention, crossEntropy, embed, layerNorm, linear, linearGelu, tiedHead } from './ops';
import { installWasmKernels } from './kernels';

export type Params = Map<string, tf.Variable>;

/** Every parameter: name -> shape, in nanoGPT's order. */
export function paramShapes(cfg: ModelConfig): [string, number[]][] {
  const { nLayer, nEmbd: C, vocabSize: V, blockSize, bias } = cfg;
  const out: [string, number[]][] = [
    ['transformer.wte.weight', [V, C]],
    ['transformer.wpe.weight', [blockSize, C]],
  ];
  const lin = (name: string, nIn: number, nOut: number) => {
    out.push([`${name}.weight`, [nIn, nOut]]);
    if (bias) out.push([`${name}.bias`, [nOut]]);
  };
  const ln = (name: string) => {
    out.push([`${name}.weight`, [C]]);
    if (bias) out.push([`${name}.bias`, [C]]);
  };
  for (let i = 0; i < nLayer; i++) {
    const h = `transformer.h.${i}`;
    ln(`${h}.ln_1`);
    lin(`${h}.attn.c_attn`, C, 3 * C);
    lin(`${h}.attn.c_proj`, C, C);
    ln(`${h}.ln_2`);
    lin(`${h}.mlp.c_fc`, C, 4 * C);
    lin(`${h}.mlp.c_proj`, 4 * C, C);
  }
  ln('transformer.ln_f');
  return out;
}

// Counting lives in counts.ts (pure arithmetic, importable by the pages).
export { paramCount, flopsPerToken, type ParamCount } from './counts';

/**
 * Key/value cache for one sequence: per layer k and v [nH, n, hs], filled up
 * to `length`. n = length (grown per token) or blockSize (fixed).
 */
export interface KVCache {
  k: tf.Tensor3D[];
  v: tf.Tensor3D[];
  /** Positions already in the cache. */
  length: number;
  /**
   * Fixed size: every token then runs the same shapes, which WebGL compiles
   * once instead of once per position (it keys shaders on shapes); on CPU
   * backends growing is cheaper (attention over the filled part only, no
   * masked writes). newCache() picks by backend.
   */
  fixed: boolean;
}

export interface ForwardOptions {
  /** Apply dropout (training only). */
  training?: boolean;
  /** Seed for this call's dropout masks (from the run's Rng, so runs reproduce). */
  dropoutSeed?: number;
  /** Called with each layer's attention weights [B, nH, T, T] (core/inspect reads them; training never sets it). */
  onAttention?: (layer: number, att: tf.Tensor4D) => void;
}

export class GPT {
  readonly config: ModelConfig;
  readonly params: Params;
  /** Recompute each block's activations in the backward pass (the training config's `recompute`; the Trainer sets it). */
  recompute = false;
  /** [blockSize, blockSize] additive causal mask: 0 on and below the diagonal, -1e9 above. */
  private readonly causalMask: tf.Tensor2D;

  constructor(config: ModelConfig, init: Rng | Map<string, tf.Tensor>) {
    this.config = config;
    installWasmKernels(); // transposed and batched matmuls at 2-D GEMM speed on wasm (kernels.ts)
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
    return layerNorm(x, this.p(`${name}.weight`), this.optBias(name));
  }

  private lin(x: tf.Tensor2D, name: string): tf.Tensor2D {
    return linear(x, this.p(`${name}.weight`) as tf.Tensor2D, this.optBias(name));
  }

  /** gelu(x @ W + b) for the MLP's c_fc (ops.ts: bias and GELU fused on webgpu). */
  private linGelu(x: tf.Tensor2D, name: string): tf.Tensor2D {
    return linearGelu(x, this.p(`${name}.weight`) as tf.Tensor2D, this.optBias(name));
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
    let x = embed(wte, wpe, idx); // token + position embeddings (ops.ts): [N, C]
    x = this.drop(x, opts, 0);
    // The block's causal mask [T, T], sliced at most once per scope, only if the generic attention asks.
    const maskFn = () => {
      let maskT: tf.Tensor | null = null;
      return () => (maskT ??= this.causalMask.slice([0, 0], [T, T]));
    };
    const mask = maskFn();
    const recompute = this.recompute && opts.training === true && tf.engine().state.gradientDepth > 0;
    for (let l = 0; l < nLayer; l++) {
      x = recompute ? this.recomputedBlock(x, l, B, T, maskFn, opts) : this.block(x, l, B, T, mask, opts); // [N, C]
    }
    x = this.ln(x, 'transformer.ln_f');
    return tiedHead(x, wte); // tied head: [N, C] @ [V, C]^T -> [N, V]
  }

  /** Block `l`, pre-LayerNorm: x + attn(ln_1(x)), then + mlp(ln_2(x)): [N, C] -> [N, C]. */
  private block(x: tf.Tensor2D, l: number, B: number, T: number, mask: () => tf.Tensor, opts: ForwardOptions): tf.Tensor2D {
    const h = `transformer.h.${l}`;
    const y = this.attention(this.ln(x, `${h}.ln_1`), B, T, `${h}.attn.c_attn`, mask, opts, l); // [N, C]
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
  private recomputedBlock(x: tf.Tensor2D, l: number, B: number, T: number, maskFn: () => () => tf.Tensor, opts: ForwardOptions): tf.Tensor2D {
    const prefix = `transformer.h.${l}.`;
    const names = [...this.params.keys()].filter((n) => n.startsWith(prefix));
    const vars = names.map((n) => this.p(n));
    const f = tf.customGrad((...args) => {
      const input = args[0] as tf.Tensor2D;
      const save = args[args.length - 1] as tf.GradSaveFunc;
      save([input]);
      return {
        value: tf.tidy(() => this.block(input, l, B, T, maskFn(), opts)), // off the tape (inside a kernel): nothing else kept
        gradFunc: (dy: tf.Tensor, [saved]: tf.Tensor[]) => {
          const engine = tf.engine();
          // A nested engine.gradients replaces (then clears) the engine's tape; the outer backward pass still owns it.
          const outerTape = engine.state.activeTape;
          try {
            const { value, grads } = engine.gradients(() => this.block(saved as tf.Tensor2D, l, B, T, maskFn(), opts), [saved, ...vars], dy, true);
            value.dispose();
            return grads.map((g, i) => g ?? tf.zerosLike(i === 0 ? saved : vars[i - 1]));
          } finally {
            engine.state.activeTape = outerTape;
          }
        },
      };
    });
    return f(x, ...vars) as tf.Tensor2D;
  }

  /** Causal multi-head self-attention before c_proj: [N, C] (ln_1's output) -> [N, C]. */
  private attention(x: tf.Tensor2D, B: number, T: number, name: string, mask: () => tf.Tensor, opts: ForwardOptions, layer: number): tf.Tensor2D {
    const rate = this.config.dropout;
    const dropout = opts.training && rate > 0 ? (att: tf.Tensor) => tf.dropout(att, rate, undefined, (opts.dropoutSeed ?? 0) * 1009 + 300 + layer) : null;
    // ops.ts: c_attn's projections and attention, fused on webgpu
    // onAttention (the views' inspection forward) needs the softmax itself: the generic path then
    const onAtt = opts.onAttention ? (att: tf.Tensor4D) => opts.onAttention!(layer, att) : null;
    return causalSelfAttention(x, this.p(`${name}.weight`), this.optBias(name), B, T, this.config.nHead, mask, dropout, onAtt);
  }

  /** Mean next-character cross-entropy (nats): idx, targets [B, T] int32 -> scalar. */
  loss(idx: tf.Tensor2D, targets: tf.Tensor2D, opts: ForwardOptions = {}): tf.Scalar {
    const logits = this.forward(idx, opts); // [N, V]
    return crossEntropy(logits, targets.reshape([-1]) as tf.Tensor1D);
  }

  /**
   * Incremental forward for generation: feed `tokens` (positions cache.length ..
   * cache.length + t - 1), write their keys and values into the cache, and
   * return the logits of the last position [V]. Each new token costs one position.
   *
   * A fixed cache (KVCache.fixed) holds blockSize positions and attention
   * spans all of them, the causal mask hiding those not yet written (they get
   * exactly 0 weight, so the result equals attention over the filled part); a
   * growing cache appends along the position axis (contiguous per head) and
   * needs no mask for one token.
   */
  forwardCached(tokens: number[], cache: KVCache): tf.Tensor1D {
    installWasmKernels();
    const { nLayer, nEmbd: C, nHead: nH, blockSize: S } = this.config;
    const t = tokens.length;
    const start = cache.length;
    if (start + t > S) throw new Error(`KV cache overflow: ${start + t} > blockSize ${S}`);
    const hs = C / nH;
    const scale = 1 / Math.sqrt(hs);
    const out = tf.tidy(() => {
      const wte = this.p('transformer.wte.weight') as tf.Tensor2D;
      const tok = tf.gather(wte, tf.tensor1d(tokens, 'int32')); // [t, C]: no gradient here, so a plain gather
      let x = tok.add(this.p('transformer.wpe.weight').slice([start, 0], [t, C])) as tf.Tensor2D;
      const n = cache.fixed ? S : start + t; // positions attention spans
      // Row i (absolute position start+i) sees positions 0..start+i: rows of the causal mask
      // (not needed for one new token in a growing cache: it sees all of it).
      const mask = cache.fixed || t > 1 ? this.causalMask.slice([start, 0], [t, n]) : null; // [t, n]
      // Fixed cache: 1 at the slots this call writes, 0 elsewhere; `keep` is its complement.
      const slots = cache.fixed ? new Float32Array(S).fill(1, start, start + t) : null;
      const write = slots && t === 1 ? tf.tensor1d(slots) : null;
      const keep = slots && start > 0 ? tf.tensor1d(slots.map((v) => 1 - v)) : null;
      // New keys or values [nH, t, hs] into the cache [nH, ., hs]: appended, or written at their slots.
      const place = (fresh: tf.Tensor3D, old: tf.Tensor3D | undefined): tf.Tensor3D => {
        if (!cache.fixed) return old ? tf.concat([old, fresh], 1) : fresh;
        const placed = (write ? fresh.mul(write.reshape([1, S, 1])) : tf.pad(fresh, [[0, 0], [start, S - start - t], [0, 0]])) as tf.Tensor3D;
        return old && keep ? (old.mul(keep.reshape([1, S, 1])).add(placed) as tf.Tensor3D) : placed;
      };
      for (let l = 0; l < nLayer; l++) {
        const h = `transformer.h.${l}`;
        // One [C, 3C] matmul here (a few rows: per-kernel overhead, not FLOPs, is the cost), then column blocks.
        const [q, k, v] = tf.split(this.lin(this.ln(x, `${h}.ln_1`), `${h}.attn.c_attn`), 3, 1); // [t, C] each
        // [t, C] -> [t, nH, hs] -> heads first [nH, t, hs]
        const heads = (z: tf.Tensor) => z.reshape([t, nH, hs]).transpose([1, 0, 2]) as tf.Tensor3D;
        const qh = heads(q).mul(scale);
        const kAll = place(heads(k), cache.k[l]); // [nH, n, hs]
        const vAll = place(heads(v), cache.v[l]);
        tf.keep(kAll);
        tf.keep(vAll);
        cache.k[l]?.dispose();
        cache.v[l]?.dispose();
        cache.k[l] = kAll;
        cache.v[l] = vAll;
        const scores = tf.matMul(qh, kAll, false, true); // [nH, t, n]
        const att = tf.softmax(mask ? scores.add(mask) : scores);
        const y = tf.matMul(att, vAll); // [nH, t, hs]
        // [nH, t, hs] -> [t, nH, hs] -> [t, C]
        const merged = y.transpose([1, 0, 2]).reshape([t, C]) as tf.Tensor2D;
        x = x.add(this.lin(merged, `${h}.attn.c_proj`));
        x = x.add(this.lin(this.linGelu(this.ln(x, `${h}.ln_2`), `${h}.mlp.c_fc`), `${h}.mlp.c_proj`));
      }
      const last = this.ln(t > 1 ? x.slice([t - 1, 0], [1, C]) : x, 'transformer.ln_f'); // [1, C]
      return tiedHead(last as tf.Tensor2D, wte).reshape([-1]) as tf.Tensor1D; // [1, V] -> [V]
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
