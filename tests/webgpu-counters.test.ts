// The GPU counters (core/kernels/webgpu/counters.ts) on real WebGPU (Dawn in
// Node on SwiftShader): a known op sequence gives known counts (tfjs kernels,
// bind groups, dispatches; a customGrad wrapper is not a kernel), and after
// the last uninstall every patched method is the original again; the bench's
// per-step figures come from counters it installs for its steps alone.

import { describe, it, expect, beforeAll } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { requireWebGPU } from './webgpu.ts';
import { countsBetween, gpuCounts, gpuCountersInstalled, installGpuCounters, uninstallGpuCounters } from '../src/core/kernels/webgpu/counters.ts';
import type { WebGPUBackendInternals } from '../src/core/kernels/webgpu/stream.ts';
import { measureGpuSteps } from '../src/core/bench.ts';
import { makeConfig } from '../src/core/config.ts';
import { Dataset } from '../src/core/data.ts';
import { kernelsOf } from '../src/core/kernels/mode.ts';
import { newTrainer } from '../src/core/train.ts';

beforeAll(async () => {
  await requireWebGPU();
});

// Above tfjs' CPU hand-off threshold (WEBGPU_CPU_HANDOFF_SIZE_THRESHOLD, 1000
// elements): smaller inputs whose values still live on the CPU run on the CPU.
const N = 4096;

/** Every method the counters patch, as it is now on its object. */
function patchedMethods(): unknown[] {
  const b = tf.backend() as unknown as WebGPUBackendInternals;
  const enc = b.device.createCommandEncoder();
  const pass = enc.beginComputePass();
  const passProto = Object.getPrototypeOf(pass) as Record<string, unknown>;
  pass.end();
  enc.finish();
  const queueProto = Object.getPrototypeOf(b.device.queue) as Record<string, unknown>;
  const deviceProto = Object.getPrototypeOf(b.device) as Record<string, unknown>;
  const buf = b.device.createBuffer({ size: 4, usage: 0x0001 | 0x0008 });
  const bufferProto = Object.getPrototypeOf(buf) as Record<string, unknown>;
  buf.destroy();
  const engine = tf.engine() as unknown as Record<string, unknown>;
  const backend = b as unknown as Record<string, unknown>;
  return [
    passProto.dispatchWorkgroups,
    passProto.dispatchWorkgroupsIndirect,
    queueProto.submit,
    queueProto.writeBuffer,
    bufferProto.mapAsync,
    deviceProto.createBindGroup,
    backend.uploadToGPU,
    engine.runKernelFunc,
  ];
}

describe('GPU counters', () => {
  it('count N tfjs kernels as N kernels, bind groups and dispatches; a customGrad wrapper adds only its inner kernels', async () => {
    expect(installGpuCounters()).toBe(true);
    try {
      const a = tf.randomUniform([N]);
      const b = tf.randomUniform([N]);
      const [av, bv] = await Promise.all([a.data(), b.data()]); // made and read back before counting
      const c0 = gpuCounts();
      const x = tf.add(a, b); // Add
      const y = tf.mul(x, b); // Multiply
      const z = tf.exp(y); // Exp
      const three = countsBetween(c0, gpuCounts());
      expect(three.tfjsKernels).toBe(3);
      expect(three.bindGroups).toBe(3);
      expect(three.dispatches).toBe(3);

      // customGrad: engine.runKernelFunc without a kernel name (a wrapper), around one Square kernel
      const sq = tf.customGrad((...args) => {
        const [t, save] = args as [tf.Tensor, tf.GradSaveFunc];
        save([t]);
        return { value: tf.square(t), gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => tf.mul(dy, tf.mul(saved[0], 2)) };
      });
      const c1 = gpuCounts();
      const w = sq(z) as tf.Tensor;
      const one = countsBetween(c1, gpuCounts());
      expect(one.tfjsKernels).toBe(1);
      expect(one.dispatches).toBe(1);
      expect(one.bindGroups).toBe(1);
      // the tensors' GPU results are real: one readback of the last one
      const c2 = gpuCounts();
      const got = await w.data();
      expect(countsBetween(c2, gpuCounts()).readbacks).toBeGreaterThanOrEqual(1);
      expect(got[5]).toBeCloseTo(Math.exp((av[5] + bv[5]) * bv[5]) ** 2, 3);
      tf.dispose([a, b, x, y, z, w]);
    } finally {
      uninstallGpuCounters();
    }
  });

  it('put the original methods back after the last uninstall, and not before', () => {
    const engineProto = Object.getPrototypeOf(tf.engine()) as Record<string, unknown>;
    const originals = patchedMethods();
    expect(gpuCountersInstalled()).toBe(false);
    expect(installGpuCounters()).toBe(true);
    const patched = patchedMethods();
    for (let i = 0; i < originals.length; i++) if (originals[i] !== undefined) expect(patched[i], `method ${i}`).not.toBe(originals[i]);
    expect(installGpuCounters()).toBe(true); // a nested user (the bench inside a counted test)
    uninstallGpuCounters();
    expect(gpuCountersInstalled()).toBe(true);
    expect(patchedMethods()).toEqual(patched); // still counting for the outer user
    uninstallGpuCounters();
    expect(gpuCountersInstalled()).toBe(false);
    const restored = patchedMethods();
    for (let i = 0; i < originals.length; i++) expect(restored[i], `method ${i}`).toBe(originals[i]);
    // instance methods are the prototype's again, not an own copy
    expect(Object.prototype.hasOwnProperty.call(tf.engine(), 'runKernelFunc')).toBe(false);
    expect((tf.engine() as unknown as Record<string, unknown>).runKernelFunc).toBe(engineProto.runKernelFunc);
    expect(Object.prototype.hasOwnProperty.call(tf.backend(), 'uploadToGPU')).toBe(false);
    // and nothing is counted any more
    const c0 = gpuCounts();
    tf.tidy(() => tf.add(tf.ones([N]), 1)).dispose();
    expect(countsBetween(c0, gpuCounts())).toEqual(countsBetween(c0, c0));
    uninstallGpuCounters(); // one too many: no effect
    expect(gpuCountersInstalled()).toBe(false);
  });
});

describe("the bench's per-step counts", () => {
  it("installs the counters for its measured steps only, and its tfjs kernel count matches tf.profile's registered kernels", async () => {
    const data = new Dataset('To be, or not to be, that is the question.\n'.repeat(20));
    const cfg = makeConfig({
      nLayer: 1,
      nHead: 1,
      nEmbd: 24,
      blockSize: 7,
      batchSize: 3,
      maxIters: 1000,
      logInterval: 1000,
      evalInterval: 1000,
      evalIters: 1,
      seed: 3,
    });
    const trainer = newTrainer(cfg, data, { kernels: kernelsOf({ mode: 'generic' }) }); // tfjs ops throughout: every kernel is one the profile lists
    try {
      await trainer.trainStep(); // the first step traces and compiles
      const originals = patchedMethods();
      const fig = await measureGpuSteps(trainer, 2, undefined, false);
      expect(gpuCountersInstalled()).toBe(false);
      const after = patchedMethods();
      for (let i = 0; i < originals.length; i++) expect(after[i], `method ${i}`).toBe(originals[i]);
      // tfjs makes one bind group per dispatch
      expect(fig!.dispatchesPerStep).toBeGreaterThan(20);
      expect(fig!.bindGroupsPerStep).toBe(fig!.dispatchesPerStep);
      // the same kind of step under tf.profile: the kernels it lists that are registered ones
      const info = await tf.profile(async () => {
        await trainer.trainStep();
      });
      const registered = info.kernels.filter((k) => tf.getKernel(k.name, 'webgpu') !== undefined).length;
      expect(registered).toBeGreaterThan(20);
      expect(fig!.tfjsKernelsPerStep).toBe(registered);
    } finally {
      trainer.model.dispose();
      trainer.dispose();
    }
  }, 120_000);
});
