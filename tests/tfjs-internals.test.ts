// The one module that reaches into tfjs' private members names, in one line,
// whatever a tfjs version lacks (the real webgpu backend passes:
// tests/webgpu-record.test.ts).

import { describe, it, expect } from 'vitest';
import { missingWebGPUInternals, TFJS_VERSION } from '../src/core/kernels/tfjs-internals.ts';
import * as tf from '@tensorflow/tfjs';

describe('tfjs internals check', () => {
  it('names every missing member in one line, with the version to install', () => {
    const fake = { device: {}, queue: {}, tensorMap: {}, bufferManager: { acquireBuffer() {} } };
    const line = missingWebGPUInternals(fake)!;
    expect(line.split('\n')).toHaveLength(1);
    expect(line).toContain('WebGPUBackend.submitQueue');
    expect(line).toContain('WebGPUBackend.uploadToGPU');
    expect(line).toContain('BufferManager.freeBuffers');
    expect(line).not.toContain('WebGPUBackend.device,');
    expect(line).toContain(`@tensorflow/tfjs@${TFJS_VERSION}`);
    expect(tf.version_core).toBe(TFJS_VERSION); // the pinned tfjs is the one the members were read from
  });
});
