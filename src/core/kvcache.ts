// The key/value cache of generation: each layer's keys and values of the
// positions seen so far, so that a new character costs one position of
// compute. model.ts' block runs unchanged around it (LayerNorms, c_attn,
// c_proj, the MLP); only the attention core differs: the new queries attend
// to the cached keys and values instead of the whole sequence recomputed.
//
// Shape legend: t new positions, n positions attention spans, S blockSize,
// C nEmbd, nH heads, hs = C / nH head size.

import * as tf from '@tensorflow/tfjs';

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
   * masked writes). GPT.newCache() picks by backend.
   */
  fixed: boolean;
}

/**
 * The attention core for `t` new positions (cache.length .. cache.length + t - 1)
 * against the cache, for every layer of one forward call: returns
 * attend(qkv, layer), which takes c_attn's output for the new positions
 * qkv [t, 3C] (q | k | v column blocks, as the fused kernel reads them),
 * writes their keys and values into the layer's cache, and returns the heads'
 * outputs side by side [t, C], ready for c_proj. Call inside a tf.tidy; the
 * caller advances cache.length after the last layer.
 *
 * A fixed cache holds S positions and attention spans all of them, the causal
 * mask hiding those not yet written (they get exactly 0 weight, so the result
 * equals attention over the filled part); a growing cache appends along the
 * position axis (contiguous per head) and needs no mask for one token.
 * `causalMask` is the model's [S, S] additive mask (0 on and below the diagonal).
 */
export function cachedAttention(cache: KVCache, t: number, nH: number, causalMask: tf.Tensor2D): (qkv: tf.Tensor2D, layer: number) => tf.Tensor2D {
  const S = causalMask.shape[0];
  const start = cache.length;
  const n = cache.fixed ? S : start + t; // positions attention spans
  // Row i (absolute position start+i) sees positions 0..start+i: rows of the causal mask
  // (not needed for one new token in a growing cache: it sees all of it).
  const mask = cache.fixed || t > 1 ? causalMask.slice([start, 0], [t, n]) : null; // [t, n]
  // Fixed cache: 1 at the slots this call writes, 0 elsewhere; `keep` is its complement.
  const slots = cache.fixed ? new Float32Array(S).fill(1, start, start + t) : null;
  const write = slots && t === 1 ? tf.tensor1d(slots) : null;
  const keep = slots && start > 0 ? tf.tensor1d(slots.map((v) => 1 - v)) : null;
  // New keys or values [nH, t, hs] into the cache [nH, ., hs]: appended, or written at their slots.
  const place = (fresh: tf.Tensor3D, old: tf.Tensor3D | undefined): tf.Tensor3D => {
    if (!cache.fixed) return old ? tf.concat([old, fresh], 1) : fresh;
    const placed = (
      write
        ? fresh.mul(write.reshape([1, S, 1]))
        : tf.pad(fresh, [
            [0, 0],
            [start, S - start - t],
            [0, 0],
          ])
    ) as tf.Tensor3D;
    return old && keep ? (old.mul(keep.reshape([1, S, 1])).add(placed) as tf.Tensor3D) : placed;
  };
  return (qkv, layer) => {
    const C = qkv.shape[1] / 3;
    const hs = C / nH;
    // A few rows: per-kernel overhead, not FLOPs, is the cost, so c_attn was one [C, 3C] matmul, then column blocks.
    const [q, k, v] = tf.split(qkv, 3, 1); // [t, C] each
    // [t, C] -> [t, nH, hs] -> heads first [nH, t, hs]
    const heads = (z: tf.Tensor) => z.reshape([t, nH, hs]).transpose([1, 0, 2]) as tf.Tensor3D;
    const qh = heads(q).mul(1 / Math.sqrt(hs));
    const kAll = place(heads(k), cache.k[layer]); // [nH, n, hs]
    const vAll = place(heads(v), cache.v[layer]);
    tf.keep(kAll);
    tf.keep(vAll);
    cache.k[layer]?.dispose();
    cache.v[layer]?.dispose();
    cache.k[layer] = kAll;
    cache.v[layer] = vAll;
    const scores = tf.matMul(qh, kAll, false, true); // [nH, t, n]
    const att = tf.softmax(mask ? scores.add(mask) : scores);
    const y = tf.matMul(att, vAll); // [nH, t, hs]
    // [nH, t, hs] -> [t, nH, hs] -> [t, C]
    return y.transpose([1, 0, 2]).reshape([t, C]) as tf.Tensor2D;
  };
}
