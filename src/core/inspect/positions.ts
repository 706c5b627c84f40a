// Loss by position: the validation cross-entropy at each position 0..T-1 of
// the context, averaged over the evaluation batches. A model that uses its
// context gets better further into the window. Its mean over positions is the
// validation loss over the same batches (all batches are B x T).

import * as tf from '@tensorflow/tfjs';
import type { Batch } from '../data';
import type { GPT } from '../model';
import { oneHotFloat } from '../ops';

export async function lossByPosition(model: GPT, batches: Batch[]): Promise<{ byPosition: number[]; mean: number }> {
  if (batches.length === 0) throw new Error('lossByPosition needs at least one batch');
  const T = batches[0].blockSize;
  const V = model.config.vocabSize;
  // One tidy per batch (activations of one batch freed before the next); per-batch [T] sums stay.
  const sums = batches.map((b) =>
    tf.tidy(() => {
      const x = tf.tensor2d(b.x, [b.batchSize, T], 'int32');
      const y = tf.tensor1d(b.y, 'int32');
      const logp = tf.logSoftmax(model.forward(x)); // [N, V]
      const nll = logp.mul(oneHotFloat(y, V)).sum(1).neg(); // [N]
      return nll.reshape([b.batchSize, T]).mean(0); // [B, T] -> [T]
    }),
  );
  const stacked = tf.stack(sums); // [nBatches, T]
  const values = await stacked.data(); // one readback
  stacked.dispose();
  for (const s of sums) s.dispose();
  const byPosition = new Array<number>(T).fill(0);
  for (let i = 0; i < batches.length; i++) for (let t = 0; t < T; t++) byPosition[t] += values[i * T + t] / batches.length;
  return { byPosition, mean: byPosition.reduce((a, v) => a + v, 0) / T };
}
