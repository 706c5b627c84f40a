// The fused WebGPU kernels (src/core/kernels/webgpu/) on real WebGPU (Dawn in
// Node, on SwiftShader here) against the generic ops on the cpu backend:
// values and gradients, with odd shapes (one row, T = 1, T not a multiple of
// the workgroup, one head, C not a power of two), and the dispatch count of
// each op, fused vs generic (a fused op is one dispatch each way).

import { describe, it, expect, beforeAll } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { installNodeWebGPU } from '../src/cli/webgpu.ts';
import { requireWebGPU } from './webgpu.ts';
import { kernelsOf, useTiledMatmul, type Kernels } from '../src/core/kernels/mode.ts';
import { matMulTiled } from '../src/core/kernels/webgpu/matmul.ts';
import * as ops from '../src/core/ops.ts';
import { Rng } from '../src/core/rng.ts';
import { makeConfig, modelConfigOf } from '../src/core/config.ts';
import { Dataset } from '../src/core/data.ts';
import { GPT } from '../src/core/model.ts';
import { newTrainer, runRngs } from '../src/core/train.ts';
import { compiledVariants } from '../src/core/kernels/webgpu/program.ts';

type Input = { shape: number[]; int?: number; std?: number }; // int: integer values in [0, int); std: of the normal values (1)

function make(inputs: Input[], seed: number): tf.Tensor[] {
  const rng = new Rng(seed);
  return inputs.map(({ shape, int, std }) => {
    const n = shape.reduce((a, b) => a * b, 1);
    if (int)
      return tf.tensor(
        Int32Array.from({ length: n }, () => rng.int(int)),
        shape,
        'int32',
      );
    return tf.tensor(
      Float32Array.from({ length: n }, () => rng.normal() * (std ?? 1)),
      shape,
    );
  });
}

let dispatches = 0;

/**
 * f's value and its input gradients for a fixed random cotangent dy, on `backend` with the ops in `mode`,
 * with the GPU dispatches of f's forward and backward passes (webgpu only).
 */
type Op = (k: Kernels, ...xs: tf.Tensor[]) => tf.Tensor;

async function run(backend: string, mode: 'generic' | 'fused', inputs: Input[], op: Op) {
  await tf.setBackend(backend);
  const k = kernelsOf({ mode });
  const f = (...xs: tf.Tensor[]) => op(k, ...xs);
  const xs = make(inputs, 7);
  const wrt = xs.filter((_, i) => !inputs[i].int);
  const all = (ws: tf.Tensor[]) => {
    let j = 0;
    return xs.map((x, i) => (inputs[i].int ? x : ws[j++]));
  };
  const value = f(...xs);
  const dy = make([{ shape: value.shape }], 11)[0];
  await value.data(); // everything before the gradient pass is done
  let fwd = 0;
  const start = dispatches;
  const grads = tf.grads((...ws: tf.Tensor[]) => {
    const a = dispatches;
    const y = f(...all(ws));
    fwd = dispatches - a;
    return y;
  })(wrt, dy);
  const bwd = dispatches - start - fwd; // tfjs records synchronously: every dispatch is issued by now
  const out = (await Promise.all([value, ...grads].map((t) => t.data()))) as Float32Array[];
  tf.dispose([...xs, dy, value, ...grads]);
  return { out, fwd, bwd };
}

function maxErr(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]) / (1 + Math.abs(b[i])));
  return m;
}

/** Fused on webgpu vs generic on cpu: values and grads; returns the max error and dispatches fused/generic. */
async function check(inputs: Input[], f: Op, tol = 2e-5) {
  const ref = await run('cpu', 'generic', inputs, f);
  const fused = await run('webgpu', 'fused', inputs, f);
  const generic = await run('webgpu', 'generic', inputs, f);
  let err = 0;
  let genericErr = 0; // the generic ops on webgpu vs cpu: float rounding's share
  ref.out.forEach((r, i) => (err = Math.max(err, maxErr(fused.out[i], r))));
  ref.out.forEach((r, i) => (genericErr = Math.max(genericErr, maxErr(generic.out[i], r))));
  expect(err).toBeLessThan(tol);
  return {
    err: `${err.toExponential(1)} (generic ${genericErr.toExponential(1)})`,
    fused: `${fused.fwd}+${fused.bwd}`,
    generic: `${generic.fwd}+${generic.bwd}`,
  };
}

beforeAll(async () => {
  await requireWebGPU();
  const proto = (globalThis as unknown as { GPUComputePassEncoder: { prototype: { dispatchWorkgroups: (...a: number[]) => void } } }).GPUComputePassEncoder
    .prototype;
  const orig = proto.dispatchWorkgroups;
  proto.dispatchWorkgroups = function (this: unknown, ...a: number[]) {
    dispatches++;
    return orig.apply(this, a);
  };
});

describe('fused LayerNorm', () => {
  for (const [N, C, bias] of [
    [1, 5, true],
    [7, 96, true],
    [130, 200, false],
  ] as [number, number, boolean][]) {
    it(`N=${N} C=${C} bias=${bias}`, async () => {
      const inputs = [{ shape: [N, C] }, { shape: [C] }, ...(bias ? [{ shape: [C] }] : [])];
      const r = await check(inputs, (k, x, w, b) => ops.layerNorm(k, x as tf.Tensor2D, w, b ?? null));
      console.log(`layerNorm [${N},${C}] err ${r.err} dispatches fused ${r.fused} generic ${r.generic}`);
    });
  }
});

describe('fused bias + GELU (after the c_fc matmul)', () => {
  for (const [N, F, bias] of [
    [1, 3, true],
    [5, 67, true],
    [9, 130, false],
  ] as [number, number, boolean][]) {
    it(`N=${N} F=${F} bias=${bias}`, async () => {
      const inputs = [{ shape: [N, 4] }, { shape: [4, F] }, ...(bias ? [{ shape: [F] }] : [])];
      const r = await check(inputs, (k, x, w, b) => ops.linearGelu(k, x as tf.Tensor2D, w as tf.Tensor2D, b ?? null));
      console.log(`linearGelu [${N},${F}] err ${r.err} dispatches fused ${r.fused} generic ${r.generic}`);
    });
  }
});

describe('fused bias + GELU, exact (erf) form', () => {
  // std 2 puts inputs on both branches of the kernel's erf (|z| / sqrt 2 above and below 0.93) and into the tails
  for (const [N, F, bias] of [
    [1, 3, true],
    [5, 67, true],
    [9, 130, false],
  ] as [number, number, boolean][]) {
    it(`N=${N} F=${F} bias=${bias}`, async () => {
      const inputs = [{ shape: [N, 4], std: 2 }, { shape: [4, F] }, ...(bias ? [{ shape: [F] }] : [])];
      const r = await check(inputs, (k, x, w, b) => ops.linearGelu(k, x as tf.Tensor2D, w as tf.Tensor2D, b ?? null, 'erf'));
      console.log(`linearGelu erf [${N},${F}] err ${r.err} dispatches fused ${r.fused} generic ${r.generic}`);
    });
  }
  it('is float32-accurate: within 3e-7 of the exact GELU on [-8, 8] (the generic tf.erf path for comparison)', async () => {
    // float64 reference: erf's Taylor series below 2, erfc's continued fraction above
    const erf = (x: number): number => {
      const a = Math.abs(x);
      if (a < 2) {
        let term = a,
          sum = a;
        for (let n = 1; n < 60; n++) {
          term *= (-a * a) / n;
          sum += term / (2 * n + 1);
        }
        return Math.sign(x) * (2 / Math.sqrt(Math.PI)) * sum;
      }
      let k = a;
      for (let n = 80; n >= 1; n--) k = a + n / 2 / k;
      return Math.sign(x) * (1 - Math.exp(-a * a) / (Math.sqrt(Math.PI) * k));
    };
    const n = 4097;
    const xs = Float32Array.from({ length: n }, (_, i) => -8 + (16 * i) / (n - 1));
    const exact = Array.from(xs, (x) => 0.5 * x * (1 + erf(x / Math.SQRT2)));
    const errOf = async (mode: 'fused' | 'generic') => {
      const x = tf.tensor2d(xs, [1, n]);
      const y = (await ops.gelu(kernelsOf({ mode }), x, 'erf').data()) as Float32Array;
      x.dispose();
      return y.reduce((m, v, i) => Math.max(m, Math.abs(v - exact[i]) / (1 + Math.abs(exact[i]))), 0);
    };
    await tf.setBackend('webgpu');
    const fused = await errOf('fused');
    const generic = await errOf('generic');
    console.log(`erf GELU vs exact on [-8, 8]: fused kernel ${fused.toExponential(2)}, generic tf.erf ${generic.toExponential(2)}`);
    expect(fused).toBeLessThan(3e-7);
  });

  it('differs from the tanh form (the form reaches the kernel)', async () => {
    await tf.setBackend('webgpu');
    const k = kernelsOf({ mode: 'fused' });
    const x = tf.tensor2d([[-3, -1.5, -0.5, 0.7, 2.5]]);
    const [e, t] = (await Promise.all([ops.gelu(k, x, 'erf').data(), ops.gelu(k, x, 'tanh').data()])) as Float32Array[];
    // 0.5 x (1 + erf(x / sqrt 2)) at x = -3 is -0.0040497, the tanh form gives -0.0036374
    expect(e[0]).toBeCloseTo(-0.0040497, 6);
    expect(t[0]).toBeCloseTo(-0.0036374, 6);
    tf.dispose(x);
  });
});

describe('fused causal self-attention (c_attn linear + attention)', () => {
  const S = 140;
  const maskValues = new Float32Array(S * S);
  for (let i = 0; i < S; i++) for (let j = i + 1; j < S; j++) maskValues[i * S + j] = -1e9;
  // [B, T, nH, C, bias]: T = 1; T not a multiple of the 64-wide workgroup; one head with hs > 64; T past 128 (the 256 variant)
  const cases: [number, number, number, number, boolean][] = [
    [2, 1, 1, 6, true],
    [1, 67, 3, 12, true],
    [2, 5, 1, 72, false],
    [1, 130, 2, 10, true],
  ];
  for (const [B, T, nH, C, bias] of cases) {
    it(`B=${B} T=${T} nH=${nH} C=${C} bias=${bias}`, async () => {
      const inputs = [{ shape: [B * T, C] }, { shape: [C, 3 * C], std: 1 / Math.sqrt(C) }, ...(bias ? [{ shape: [3 * C], std: 0.1 }] : [])];
      const mask = () => tf.tensor2d(maskValues, [S, S]).slice([0, 0], [T, T]);
      const r = await check(inputs, (k, x, w, b) => ops.causalSelfAttention(k, x as tf.Tensor2D, w, b ?? null, B, T, nH, mask, null));
      console.log(`causalSelfAttention B=${B} T=${T} nH=${nH} C=${C} err ${r.err} dispatches fused ${r.fused} generic ${r.generic}`);
    });
  }
});

describe('fused softmax cross-entropy', () => {
  // N = 1; N past the 256-wide workgroup; V not a power of two
  for (const [N, V] of [
    [1, 5],
    [300, 65],
  ]) {
    it(`N=${N} V=${V}`, async () => {
      const inputs = [
        { shape: [N, V], std: 3 },
        { shape: [N], int: V },
      ];
      const r = await check(inputs, (k, l, t) => ops.crossEntropy(k, l as tf.Tensor2D, t as tf.Tensor1D));
      console.log(`crossEntropy [${N},${V}] err ${r.err} dispatches fused ${r.fused} generic ${r.generic}`);
    });
  }
});

describe('fused token + position embedding (scatter-add gradient)', () => {
  // [B, T, V, P = blockSize, C]: T = 1 (P = 2: the generic one-hot needs depth >= 2); T < P (wpe rows past T get 0); repeated tokens; C not a power of two
  for (const [B, T, V, P, C] of [
    [1, 1, 3, 2, 5],
    [3, 7, 11, 9, 67],
  ]) {
    it(`B=${B} T=${T} V=${V} P=${P} C=${C}`, async () => {
      const inputs = [{ shape: [V, C] }, { shape: [P, C] }, { shape: [B, T], int: V }];
      const r = await check(inputs, (k, wte, wpe, idx) => ops.embed(k, wte as tf.Tensor2D, wpe as tf.Tensor2D, idx as tf.Tensor2D));
      console.log(`embed B=${B} T=${T} V=${V} C=${C} err ${r.err} dispatches fused ${r.fused} generic ${r.generic}`);
    });
  }
});

describe('register-tiled matmul (the fused path on a CPU adapter)', () => {
  it('is what auto picks on a CPU adapter (SwiftShader) and not on a GPU, and only in fused mode', async () => {
    await tf.setBackend('webgpu');
    const found = await installNodeWebGPU(); // already installed: what Dawn found
    expect(useTiledMatmul(kernelsOf({ mode: 'fused', matmul: 'auto' }))).toBe(typeof found !== 'string' && found.software);
    expect(useTiledMatmul(kernelsOf({ mode: 'fused', matmul: 'tiled' }))).toBe(true);
    expect(useTiledMatmul(kernelsOf({ mode: 'fused', matmul: 'tfjs' }))).toBe(false);
    expect(useTiledMatmul(kernelsOf({ mode: 'generic', matmul: 'tiled' }))).toBe(false);
    await tf.setBackend('cpu');
    expect(useTiledMatmul(kernelsOf({ mode: 'fused', matmul: 'tiled' }))).toBe(false); // fused kernels exist only on webgpu
    await tf.setBackend('webgpu');
  });
  // [M, K, N]: one row, K = 1, sizes not multiples of the 8 x 8 block or the 64-lane workgroup, baby's shapes.
  // Against float64 sums in JS, within the float32 bound for any order of a K-term sum:
  // |err| <= (K + 1) u (sum_k |a_k b_k| + |bias|), u = 2^-24.
  for (const [M, K, N] of [
    [1, 7, 3],
    [5, 1, 9],
    [37, 13, 65],
    [65, 1024, 128],
    [1024, 128, 512],
  ]) {
    it(`op(a) @ op(b) (+ bias), all four transposes, [${M}, ${K}] x [${K}, ${N}], within float32's bound`, async () => {
      await tf.setBackend('webgpu');
      for (const [tA, tB] of [
        [false, false],
        [false, true],
        [true, false],
        [true, true],
      ]) {
        const [a, b, bias] = make([{ shape: tA ? [K, M] : [M, K] }, { shape: tB ? [N, K] : [K, N] }, { shape: [N] }], 3) as tf.Tensor2D[];
        const [av, bv, biasv] = (await Promise.all([a, b, bias].map((t) => t.data()))) as Float32Array[];
        const outs = [matMulTiled(a, b, tA, tB, bias), matMulTiled(a, b, tA, tB)];
        const [withBias, plain] = (await Promise.all(outs.map((t) => t.data()))) as Float32Array[];
        tf.dispose([a, b, bias, ...outs]);
        let worst = 0; // error / bound, over both outputs
        for (let i = 0; i < M; i++) {
          for (let j = 0; j < N; j++) {
            let sum = 0;
            let abs = 0;
            for (let k = 0; k < K; k++) {
              const p = av[tA ? k * M + i : i * K + k] * bv[tB ? j * K + k : k * N + j];
              sum += p;
              abs += Math.abs(p);
            }
            const u = (K + 1) * 2 ** -24;
            worst = Math.max(
              worst,
              Math.abs(plain[i * N + j] - sum) / (u * abs + 1e-30),
              Math.abs(withBias[i * N + j] - sum - biasv[j]) / (u * (abs + Math.abs(biasv[j])) + 1e-30),
            );
          }
        }
        expect(worst, `tA ${tA} tB ${tB}`).toBeLessThanOrEqual(1);
      }
    });
  }
  for (const [N, I, O] of [
    [1, 5, 3],
    [37, 13, 65],
  ]) {
    it(`linear (bias gradient as a GEMV) N=${N} in=${I} out=${O}`, async () => {
      const r = await check([{ shape: [N, I] }, { shape: [I, O] }, { shape: [O] }], (k, x, w, b) => ops.linear(k, x as tf.Tensor2D, w as tf.Tensor2D, b));
      console.log(`linear [${N},${I}]x[${I},${O}] err ${r.err} dispatches fused ${r.fused} generic ${r.generic}`);
    });
  }
  for (const [N, C, V] of [
    [1, 8, 65],
    [19, 24, 65],
  ]) {
    it(`tied head x @ wte^T N=${N} C=${C} V=${V}`, async () => {
      const r = await check([{ shape: [N, C] }, { shape: [V, C] }], (k, x, w) => ops.tiedHead(k, x as tf.Tensor2D, w as tf.Tensor2D));
      console.log(`tiedHead [${N},${C}]x[${V},${C}]^T err ${r.err} dispatches fused ${r.fused} generic ${r.generic}`);
    });
  }
});

describe('whole nano model, fused vs generic on webgpu', () => {
  const TEXT = 'Sing, O goddess, the anger of Achilles son of Peleus, that brought countless ills upon the Achaeans.\n'.repeat(10);
  const data = new Dataset(TEXT);
  // SwiftShader runs a nano step in seconds: a small batch, and 5 steps (bench runs longer ones)
  const cfg = makeConfig({ preset: 'nano', batchSize: 2, maxIters: 5, logInterval: 1, evalInterval: 1000, seed: 5, vocabSize: data.tokenizer.vocabSize });

  // tiled: the fused path here (a CPU adapter); tfjs: the fused path on a hardware GPU; erf: nanoGPT's GELU
  for (const [matmul, gelu] of [
    ['tiled', 'tanh'],
    ['tfjs', 'tanh'],
    ['tiled', 'erf'],
  ] as const)
    it(`same loss and gradients at init (1e-4), ${matmul} matmul${gelu === 'erf' ? ', erf GELU' : ''}`, async () => {
      await tf.setBackend('webgpu');
      const batch = data.evalBatches('train', 1, cfg.batchSize, cfg.blockSize)[0];
      const lossAndGrads = async (mode: 'generic' | 'fused') => {
        const model = new GPT({ ...modelConfigOf(cfg), gelu }, runRngs(cfg.seed).init, { kernels: kernelsOf({ mode, matmul }) });
        const x = tf.tensor2d(batch.x, [cfg.batchSize, cfg.blockSize], 'int32');
        const y = tf.tensor2d(batch.y, [cfg.batchSize, cfg.blockSize], 'int32');
        const { value, grads } = tf.variableGrads(() => model.loss(x, y), [...model.params.values()]);
        const names = [...model.params].map(([n, p]) => [n, p.name]);
        const out = { loss: (await value.data())[0], grads: await Promise.all(names.map(async ([n, id]) => [n, await grads[id].data()] as const)) };
        tf.dispose([x, y, value, ...Object.values(grads)]);
        model.dispose();
        return out;
      };
      const g = await lossAndGrads('generic');
      const f = await lossAndGrads('fused');
      expect(Math.abs(f.loss - g.loss)).toBeLessThan(1e-4);
      let worst = 0;
      for (let i = 0; i < g.grads.length; i++) {
        const [name, a] = g.grads[i];
        const b = f.grads[i][1];
        let e = 0;
        for (let j = 0; j < a.length; j++) e = Math.max(e, Math.abs(a[j] - b[j]));
        expect(e, name).toBeLessThan(1e-4);
        worst = Math.max(worst, e);
      }
      console.log(`nano at init (${matmul} matmul, ${gelu} GELU): loss generic ${g.loss} fused ${f.loss}; max |grad diff| ${worst.toExponential(1)}`);
    });

  it('same training losses over 5 steps (1e-4), constant dispatch and tensor counts, no per-step compiles', { timeout: 400_000 }, async () => {
    await tf.setBackend('webgpu');
    const device = (tf.backend() as unknown as { device: GPUDevice }).device;
    const train = async (mode: 'generic' | 'fused') => {
      const trainer = newTrainer(cfg, data, { kernels: kernelsOf({ mode }) });
      const losses: number[] = [];
      const perStep: number[] = [];
      const variants: number[] = [];
      const tensors: number[] = [];
      for (let i = 0; i < cfg.maxIters; i++) {
        const before = dispatches;
        const log = await trainer.trainStep();
        perStep.push(dispatches - before);
        variants.push(compiledVariants(device));
        tensors.push(tf.memory().numTensors);
        losses.push(log!.trainLoss);
      }
      trainer.model.dispose();
      trainer.dispose();
      return { losses, perStep, variants, tensors };
    };
    const g = await train('generic');
    const f = await train('fused');
    for (let i = 0; i < g.losses.length; i++) expect(Math.abs(f.losses[i] - g.losses[i]), `step ${i + 1}`).toBeLessThan(1e-4);
    expect(f.losses[cfg.maxIters - 1]).toBeLessThan(f.losses[0]); // it learns
    expect(new Set(f.perStep.slice(1)).size).toBe(1);
    expect(f.perStep[1]).toBeLessThan(g.perStep[1]);
    expect(f.variants[1]).toBe(f.variants[cfg.maxIters - 1]); // every fused variant compiled by step 2
    expect(new Set(f.tensors).size).toBe(1); // nothing leaks per step
    console.log(
      `nano training: losses generic ${g.losses[0].toFixed(4)}..${g.losses.at(-1)!.toFixed(4)} fused ${f.losses[0].toFixed(4)}..${f.losses.at(-1)!.toFixed(4)}, max diff ${Math.max(...g.losses.map((l, i) => Math.abs(l - f.losses[i]))).toExponential(1)}; dispatches per step (incl. optimizer and loss readback) generic ${g.perStep[1]} fused ${f.perStep[1]}`,
    );
  });
});
