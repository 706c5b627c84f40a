// The fused WebGPU AdamW against the generic one (train.ts' adamwStep), and the
// GPU counters counting what they claim. Real WebGPU: Dawn in Node on
// SwiftShader's Vulkan driver (src/cli/webgpu.ts), the same API a GPU serves.

import { describe, it, expect, beforeAll } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { requireWebGPU } from './webgpu.ts';
import { adamwStep, decays, type OptimizerState } from '../src/core/train.ts';
import { FusedAdamW } from '../src/core/kernels/webgpu/adamw.ts';
import { countsBetween, gpuCounts, installGpuCounters } from '../src/core/kernels/webgpu/counters.ts';
import { Rng } from '../src/core/rng.ts';
import { matMulTiled } from '../src/core/kernels/webgpu/matmul.ts';

beforeAll(async () => {
  await requireWebGPU();
  expect(installGpuCounters()).toBe(true);
});

// Odd sizes on purpose: one element, a non-multiple of the 256-thread workgroup,
// more than one workgroup, more tensors than one sumsq dispatch takes (6), an odd count.
const SHAPES: [string, number[]][] = [
  ['wte.weight', [65, 24]],
  ['h.0.ln_1.weight', [24]],
  ['h.0.attn.c_attn.weight', [24, 72]],
  ['h.0.attn.c_attn.bias', [72]],
  ['h.0.mlp.c_fc.weight', [24, 96]],
  ['h.0.mlp.c_proj.weight', [96, 24]],
  ['h.0.mlp.c_proj.bias', [1]],
  ['ln_f.weight', [24]],
  ['lm.weight', [300, 7]],
];

const HYPER = { beta1: 0.9, beta2: 0.99, eps: 1e-8, weightDecay: 0.1, gradClip: 1.0 };

interface State {
  params: Map<string, tf.Variable>;
  opt: OptimizerState;
}

function makeState(seed: number): State {
  const rng = new Rng(seed);
  const params = new Map<string, tf.Variable>();
  const opt: OptimizerState = { t: 0, m: new Map(), v: new Map() };
  for (const [name, shape] of SHAPES) {
    const n = shape.reduce((a, b) => a * b, 1);
    const vals = Float32Array.from({ length: n }, () => 0.2 * rng.normal());
    params.set(name, tf.variable(tf.tensor(vals, shape), true));
    opt.m.set(name, tf.variable(tf.zeros(shape), false));
    opt.v.set(name, tf.variable(tf.zeros(shape), false));
  }
  return { params, opt };
}

/** Deterministic gradients for step s: some steps large (clipping on), some small (off), a few exact zeros. */
function gradsFor(params: Map<string, tf.Variable>, s: number): Record<string, tf.Tensor> {
  const rng = new Rng(1000 + s);
  const size = s % 3 === 0 ? 2.0 : 0.01;
  const out: Record<string, tf.Tensor> = {};
  for (const p of params.values()) {
    const vals = Float32Array.from({ length: p.size }, (_, i) => (i % 17 === 0 ? 0 : size * rng.normal()));
    out[p.name] = tf.tensor(vals, p.shape);
  }
  return out;
}

function disposeState(st: State): void {
  for (const v of [...st.params.values(), ...st.opt.m.values(), ...st.opt.v.values()]) v.dispose();
}

describe('fused AdamW on WebGPU', () => {
  it("gives the generic optimizer's numbers to float32 rounding over 50 steps", async () => {
    const a = makeState(7);
    const b = makeState(7);
    const fused = new FusedAdamW(
      [...b.params].map(([name, p]) => ({ name, p, m: b.opt.m.get(name)!, v: b.opt.v.get(name)!, decay: decays(name, p.shape) })),
      HYPER,
    );
    const lr = (s: number) => 3e-3 * (0.5 + 0.5 * Math.cos(s / 10));
    for (let s = 0; s < 50; s++) {
      a.opt.t++;
      tf.tidy(() => adamwStep(a.params, gradsFor(a.params, s), a.opt, HYPER, lr(s)));
      b.opt.t++;
      fused.ensureExclusive();
      tf.tidy(() => {
        const g = gradsFor(b.params, s);
        fused.step(
          [...b.params.values()].map((p) => g[p.name]),
          lr(s),
          b.opt.t,
        );
      });
    }
    let worst = 0;
    for (const [name] of SHAPES) {
      for (const [x, y] of [
        [a.params.get(name)!, b.params.get(name)!],
        [a.opt.m.get(name)!, b.opt.m.get(name)!],
        [a.opt.v.get(name)!, b.opt.v.get(name)!],
      ]) {
        const xv = await x.data();
        const yv = await y.data();
        for (let i = 0; i < xv.length; i++) worst = Math.max(worst, Math.abs(xv[i] - yv[i]) / (Math.abs(xv[i]) + 1e-3));
      }
    }
    // the parameters moved: the comparison is not of two untouched copies
    const moved = (await a.params.get('wte.weight')!.data())[1] - 0.2 * new Rng(7).normal();
    expect(Math.abs(moved)).toBeGreaterThan(1e-3);
    console.log(`fused vs generic AdamW, 50 steps: worst relative difference ${worst.toExponential(2)}`);
    expect(worst).toBeLessThan(2e-5);
    fused.dispose();
    disposeState(a);
    disposeState(b);
  });

  // The step's constants (lr, bias corrections) are one pooled uniform bound by
  // every update dispatch. tfjs returns pending uniforms to its pool at each
  // submit; if one falls between the update dispatches and the buffer went back
  // then, the next kernel's 16-byte uniform (here the tiled matmul's sizes) was
  // written into it before the remaining updates ran (training went NaN).
  it('keeps its step constants until every update dispatch is submitted (submits every 2 or 3 dispatches)', async () => {
    const SUBMIT = 'WEBGPU_DEFERRED_SUBMIT_BATCH_SIZE';
    const saved = tf.env().get(SUBMIT) as number;
    try {
      for (const batch of [2, 3]) {
        tf.env().set(SUBMIT, batch);
        const run = async (interfere: boolean) => {
          const st = makeState(11);
          const fused = new FusedAdamW(
            [...st.params].map(([name, p]) => ({ name, p, m: st.opt.m.get(name)!, v: st.opt.v.get(name)!, decay: true })),
            HYPER,
          );
          const one = tf.ones([1, 1]) as tf.Tensor2D;
          for (let s = 1; s <= 4; s++) {
            tf.tidy(() => {
              const g = gradsFor(st.params, s);
              fused.step(
                [...st.params.values()].map((p) => g[p.name]),
                1e-2,
                s,
              );
            });
            if (interfere)
              matMulTiled(one, one).dispose(); // acquires and writes a 16-byte uniform at once
            else await st.params.get('ln_f.weight')!.data(); // everything submitted and run
          }
          const out = await Promise.all([...st.params.values()].map((p) => p.data() as Promise<Float32Array>));
          one.dispose();
          fused.dispose();
          disposeState(st);
          return out;
        };
        const synced = await run(false);
        const raced = await run(true);
        for (let i = 0; i < synced.length; i++) expect([...raced[i]], `${SHAPES[i][0]}, a submit every ${batch}`).toEqual([...synced[i]]);
      }
    } finally {
      tf.env().set(SUBMIT, saved);
    }
  });

  it('records exactly its dispatches, no readback, one small uniform write per step', () => {
    const st = makeState(3);
    const fused = new FusedAdamW(
      [...st.params].map(([name, p]) => ({ name, p, m: st.opt.m.get(name)!, v: st.opt.v.get(name)!, decay: true })),
      HYPER,
    );
    const grads = gradsFor(st.params, 0);
    const list = [...st.params.values()].map((p) => grads[p.name]);
    fused.step(list, 1e-3, 1); // first step: uploads the gradients' CPU values, compiles nothing new after
    const before = gpuCounts();
    fused.step(list, 1e-3, 2);
    const d = countsBetween(before, gpuCounts());
    // 9 tensors: ceil(9/6) sumsq + 1 scale + ceil(9/2) update dispatches
    expect(fused.dispatchesPerStep).toBe(2 + 1 + 5);
    expect(d.dispatches).toBe(fused.dispatchesPerStep);
    expect(d.readbacks).toBe(0);
    expect(d.uploads).toBe(0);
    expect(d.uniformWrites).toBe(1);
    expect(d.uniformBytes).toBe(16);
    for (const g of list) g.dispose();
    fused.dispose();
    disposeState(st);
  });
});

describe('GPU counters', () => {
  it('count a known op: one dispatch for an add, one upload per CPU tensor, one readback per data()', async () => {
    // 1000 elements: tfjs' webgpu backend computes tiny CPU-resident ops on the CPU (WEBGPU_CPU_FORWARD)
    const n = 1000;
    const before = gpuCounts();
    const x = tf.tensor1d(Float32Array.from({ length: n }, (_, i) => i));
    const y = tf.tensor1d(Float32Array.from({ length: n }, () => 1));
    const z = tf.add(x, y);
    const mid = countsBetween(before, gpuCounts());
    expect(mid.dispatches).toBe(1);
    expect(mid.uploads).toBe(2);
    expect(mid.uploadBytes).toBe(2 * 4 * n);
    expect(mid.readbacks).toBe(0);
    const zv = await z.data();
    expect([zv[0], zv[999]]).toEqual([1, 1000]);
    const after = countsBetween(before, gpuCounts());
    expect(after.readbacks).toBe(1);
    expect(after.submits).toBeGreaterThanOrEqual(1);
    tf.dispose([x, y, z]);
  });
});
