// Vitest setup: tfjs' cpu backend prints an advert for tfjs-node on its first
// tensor in Node; PROD silences tfjs' warnings. (Not IS_TEST: that also turns
// on tfjs' per-kernel leak check, which counts the intermediates a customGrad
// op saves for its backward pass, e.g. ops.ts' layerNorm, as leaks.)
import * as tf from '@tensorflow/tfjs';
tf.env().set('PROD', true);
