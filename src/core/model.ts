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
import { crossEntropy, embeddingLookup, gelu, layerNorm, linear } from './ops';

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

export interface ParamCount {
  /** Every trainable number (the LM head is tied, so counted once). */
  total: number;
  /** Without token and position embeddings: Kaplan et al.'s N. */
  nonEmbedding: number;
}

/** Parameter count by formula (tests check it against the real variables). */
export function paramCount(cfg: ModelConfig): ParamCount {
  const { nLayer: L, nEmbd: C, vocabSize: V, blockSize: T, bias } = cfg;
  const b = bias ? 1 : 0;
  const perLayer =
    2 * (C + b * C) + // ln_1, ln_2
    (C * 3 * C + b * 3 * C) + // attn.c_attn
    (C * C + b * C) + // attn.c_proj
    (C * 4 * C + b * 4 * C) + // mlp.c_fc
    (4 * C * C + b * C); // mlp.c_proj
  const nonEmbedding = L * perLayer + (C + b * C); // + ln_f
  return { total: nonEmbedding + V * C + T * C, nonEmbedding };
}

/**
 * Training FLOPs per token: 6 x (non-embedding params + the tied LM head V*C)
 * for the matmuls' forward and backward, plus attention's QK^T and AV:
 * 2 matmuls x 2 FLOPs x T x C per layer forward, x3 for backward = 12 L T C.
 * The attention term is not negligible for tiny char models (C is not >> T/12).
 */
export function flopsPerToken(cfg: ModelConfig): number {
  const { nonEmbedding } = paramCount(cfg);
  return 6 * (nonEmbedding + cfg.vocabSize * cfg.nEmbd) + 12 * cfg.nLayer * cfg.blockSize * cfg.nEmbd;
}

/** Key/value cache for one sequence: per layer [nH, t, hs], grown one position per token. */
export interface KVCache {
  k: tf.Tensor3D[];
  v: tf.Tensor3D[];
  /** Positions already in the cache. */
  length: number;
}

export interface ForwardOptions {
  /** Apply dropout (training only). */
  training?: boolean;
  /** Seed for this call's dropout masks (from the run's Rng, so runs reproduce). */
  dropoutSeed?: number;
}

export class GPT {
  readonly config: ModelConfig;
  readonly params: Params;
  /** [blockSize, blockSize] additive causal mask: 0 on and below the diagonal, -1e9 above. */
  private readonly causalMask: tf.Tensor2D;

  constructor(config: ModelConfig, init: Rng | Map<string, tf.Tensor>) {
    this.config = config;
    this.params = new Map();
    for (const [name, shape] of paramShapes(config)) {
      const t = init instanceof Rng ? initTensor(name, shape, config, init) : init.get(name);
      if (!t) throw new Error(`missing parameter ${name}`);
      if (!tf.util.arraysEqual(t.shape, shape)) throw new Error(`parameter ${name} has shape [${t.shape}], expected [${shape}]`);
      this.params.set(name, tf.variable(t, true, name));
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

  private drop(x: tf.Tensor2D, opts: ForwardOptions, salt: number): tf.Tensor2D {
    const rate = this.config.dropout;
    if (!opts.training || rate === 0) return x;
    return tf.dropout(x, rate, undefined, (opts.dropoutSeed ?? 0) * 1009 + salt) as tf.Tensor2D;
  }

  /** Logits for every position: idx [B, T] int32 -> [B*T, V]. */
  forward(idx: tf.Tensor2D, opts: ForwardOptions = {}): tf.Tensor2D {
    const [B, T] = idx.shape;
    const { nLayer, nEmbd: C, nHead: nH, blockSize } = this.config;
    if (T > blockSize) throw new Error(`sequence length ${T} exceeds blockSize ${blockSize}`);
    const hs = C / nH;
    const wte = this.p('transformer.wte.weight') as tf.Tensor2D;
    const tok = embeddingLookup(wte, idx.reshape([B * T])); // [N, C]
    const pos = this.p('transformer.wpe.weight').slice([0, 0], [T, C]); // [T, C]
    // [N, C] -> [B, T, C] to broadcast the positions over the batch, then back to [N, C]
    let x = tok.reshape([B, T, C]).add(pos).reshape([B * T, C]) as tf.Tensor2D;
    x = this.drop(x, opts, 0);
    const mask = this.causalMask.slice([0, 0], [T, T]); // [T, T]
    for (let l = 0; l < nLayer; l++) {
      const h = `transformer.h.${l}`;
      // --- causal self-attention ---
      const qkv = this.lin(this.ln(x, `${h}.ln_1`), `${h}.attn.c_attn`); // [N, 3C]
      // [N, 3C] -> [B, T, 3, nH, hs] -> [3, B, nH, T, hs]: q, k, v with heads as a batch dim
      const heads = qkv.reshape([B, T, 3, nH, hs]).transpose([2, 0, 3, 1, 4]);
      const [q, k, v] = tf.unstack(heads) as tf.Tensor4D[]; // each [B, nH, T, hs]
      const y = this.attend(q, k, v, mask, opts, l); // [B, nH, T, hs]
      // [B, nH, T, hs] -> [B, T, nH, hs] -> [N, C]: re-assemble the heads side by side
      const merged = y.transpose([0, 2, 1, 3]).reshape([B * T, C]) as tf.Tensor2D;
      x = x.add(this.drop(this.lin(merged, `${h}.attn.c_proj`), opts, 100 + l));
      // --- MLP ---
      const hidden = gelu(this.lin(this.ln(x, `${h}.ln_2`), `${h}.mlp.c_fc`)); // [N, 4C]
      x = x.add(this.drop(this.lin(hidden, `${h}.mlp.c_proj`), opts, 200 + l));
    }
    x = this.ln(x, 'transformer.ln_f');
    return tf.matMul(x, wte, false, true); // tied head: [N, C] @ [C, V] -> [N, V]
  }

  /** Scaled dot-product attention with the causal mask: [B, nH, T, hs] x3 -> [B, nH, T, hs]. */
  private attend(q: tf.Tensor4D, k: tf.Tensor4D, v: tf.Tensor4D, mask: tf.Tensor, opts: ForwardOptions, layer: number): tf.Tensor4D {
    const hs = q.shape[3];
    const scores = tf.matMul(q, k, false, true).mul(1 / Math.sqrt(hs)).add(mask); // [B, nH, T, T]
    let att = tf.softmax(scores) as tf.Tensor4D;
    if (opts.training && this.config.dropout > 0) att = tf.dropout(att, this.config.dropout, undefined, (opts.dropoutSeed ?? 0) * 1009 + 300 + layer) as tf.Tensor4D;
    return tf.matMul(att, v); // [B, nH, T, hs]
  }

  /** Mean next-character cross-entropy (nats): idx, targets [B, T] int32 -> scalar. */
  loss(idx: tf.Tensor2D, targets: tf.Tensor2D, opts: ForwardOptions = {}): tf.Scalar {
    const logits = this.forward(idx, opts); // [N, V]
    return crossEntropy(logits, targets.reshape([-1]) as tf.Tensor1D);
  }

  /**
   * Incremental forward for generation: feed `tokens` (positions cache.length ..
   * cache.length + t - 1), append their keys and values to the cache, and return
   * the logits of the last position [V]. Each new token costs one position.
   */
  forwardCached(tokens: number[], cache: KVCache): tf.Tensor1D {
    const { nLayer, nEmbd: C, nHead: nH, blockSize } = this.config;
    const t = tokens.length;
    const start = cache.length;
    if (start + t > blockSize) throw new Error(`KV cache overflow: ${start + t} > blockSize ${blockSize}`);
    const hs = C / nH;
    const out = tf.tidy(() => {
      const wte = this.p('transformer.wte.weight') as tf.Tensor2D;
      const tok = tf.gather(wte, tf.tensor1d(tokens, 'int32')); // [t, C]
      let x = tok.add(this.p('transformer.wpe.weight').slice([start, 0], [t, C])) as tf.Tensor2D;
      // new query i (absolute position start+i) sees cached keys 0..start+i
      const mask = this.causalMask.slice([start, 0], [t, start + t]); // [t, start+t]
      for (let l = 0; l < nLayer; l++) {
        const h = `transformer.h.${l}`;
        const qkv = this.lin(this.ln(x, `${h}.ln_1`), `${h}.attn.c_attn`); // [t, 3C]
        // [t, 3C] -> [t, 3, nH, hs] -> [3, nH, t, hs]
        const [q, k, v] = tf.unstack(qkv.reshape([t, 3, nH, hs]).transpose([1, 2, 0, 3])) as tf.Tensor3D[];
        const kAll = start === 0 ? k : tf.concat([cache.k[l], k], 1); // [nH, start+t, hs]
        const vAll = start === 0 ? v : tf.concat([cache.v[l], v], 1);
        tf.keep(kAll);
        tf.keep(vAll);
        cache.k[l]?.dispose();
        cache.v[l]?.dispose();
        cache.k[l] = kAll;
        cache.v[l] = vAll;
        const att = tf.softmax(tf.matMul(q, kAll, false, true).mul(1 / Math.sqrt(hs)).add(mask)); // [nH, t, start+t]
        const y = tf.matMul(att, vAll); // [nH, t, hs]
        // [nH, t, hs] -> [t, nH, hs] -> [t, C]
        const merged = y.transpose([1, 0, 2]).reshape([t, C]) as tf.Tensor2D;
        x = x.add(this.lin(merged, `${h}.attn.c_proj`));
        x = x.add(this.lin(gelu(this.lin(this.ln(x, `${h}.ln_2`), `${h}.mlp.c_fc`)), `${h}.mlp.c_proj`));
      }
      const last = this.ln(x.slice([t - 1, 0], [1, C]), 'transformer.ln_f'); // [1, C]
      return tf.matMul(last, wte, false, true).reshape([-1]) as tf.Tensor1D; // [V]
    });
    cache.length = start + t;
    return out;
  }

  newCache(): KVCache {
    return { k: [], v: [], length: 0 };
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
function initTensor(name: string, shape: number[], cfg: ModelConfig, rng: Rng): tf.Tensor {
  const size = shape.reduce((a, b) => a * b, 1);
  if (name.endsWith('.bias')) return tf.zeros(shape);
  if (/ln_\d|ln_f/.test(name)) return tf.ones(shape);
  const std = name.endsWith('c_proj.weight') ? 0.02 / Math.sqrt(2 * cfg.nLayer) : 0.02;
  const values = new Float32Array(size);
  for (let i = 0; i < size; i++) values[i] = rng.normal() * std;
  return tf.tensor(values, shape);
}
