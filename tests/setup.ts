// Vitest setup: tfjs' cpu backend prints an advert for tfjs-node on its first
// tensor in Node; IS_TEST is tfjs' own switch for silencing such warnings.
import * as tf from '@tensorflow/tfjs';
tf.env().set('IS_TEST', true);
