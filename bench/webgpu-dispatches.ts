// How many GPU dispatches one forward + backward pass of a preset issues on
// WebGPU, generic vs fused (optimizer not included: the fused AdamW adds
// ceil(P/6) + 1 + ceil(P/2) for P parameter tensors, 36 for `baby`). Counted
// by wrapping GPUComputePassEncoder.dispatchWorkgroups, as `npm run bench`
// does, on Dawn in Node (SwiftShader without a GPU). With the tiled matmul
// every matmul is one dispatch, so the counts do not depend on B and T, and a
// small batch keeps this quick on SwiftShader; tfjs' own matmul (generic mode)
// may pick another program at another shape.
//   npx tsx bench/webgpu-dispatches.ts [preset] [batch] [T]

import * as tf from '@tensorflow/tfjs';
import { installNodeWebGPU } from '../src/cli/webgpu';
import { makeConfig, modelConfigOf, type PresetName } from '../src/core/config';
import { setKernelMode, setMatmulChoice } from '../src/core/kernels/mode';
import { GPT } from '../src/core/model';
import { Rng } from '../src/core/rng';
import { lossGrads } from '../src/core/train';

const preset = (process.argv[2] ?? 'baby') as PresetName;
const B = Number(process.argv[3] ?? 1);
const T = Number(process.argv[4] ?? 8);
const V = 65; // Tiny Shakespeare's vocabulary

const gpu = await installNodeWebGPU();
if (typeof gpu === 'string') throw new Error(gpu);
await tf.setBackend('webgpu');
let dispatches = 0;
const proto = (globalThis as unknown as { GPUComputePassEncoder: { prototype: { dispatchWorkgroups: (...a: number[]) => void } } }).GPUComputePassEncoder
  .prototype;
const dispatch = proto.dispatchWorkgroups;
proto.dispatchWorkgroups = function (this: unknown, ...a: number[]) {
  dispatches++;
  return dispatch.apply(this, a);
};

for (const mode of ['generic', 'fused'] as const) {
  setKernelMode(mode);
  setMatmulChoice('tiled');
  const model = new GPT(modelConfigOf(makeConfig({ preset, vocabSize: V, dropout: 0 })), new Rng(1));
  const x = tf.tensor2d(
    Int32Array.from({ length: B * T }, (_, i) => i % V),
    [B, T],
    'int32',
  );
  const y = tf.tensor2d(
    Int32Array.from({ length: B * T }, (_, i) => (i + 1) % V),
    [B, T],
    'int32',
  );
  // Twice: the first pass compiles; both must count the same.
  for (let pass = 0; pass < 2; pass++) {
    let fwd = 0;
    const start = dispatches;
    const { value, grads } = lossGrads(() => {
      const a = dispatches;
      const loss = model.loss(x, y, { training: true });
      fwd = dispatches - a;
      return loss;
    }, [...model.params.values()]);
    const total = dispatches - start; // tfjs records synchronously: every dispatch is issued by now
    await value.data();
    if (pass === 1) console.log(`${preset} ${mode} (B ${B}, T ${T}): forward ${fwd} + backward ${total - fwd} = ${total} dispatches`);
    tf.dispose([value, ...Object.values(grads)]);
  }
  tf.dispose([x, y]);
  model.dispose();
}
process.exit(0);
