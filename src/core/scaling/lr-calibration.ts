// The lr rule's calibration (lr-rule.ts), as fitted by calibrateLrRule to the committed
// scan files listed below; tests/lr-rule.test.ts refits them and checks these numbers.
// Regenerate with: npm run sweep -- lr-rule data/lr-scans/builtin-small-150000.json data/lr-scans/builtin-small-150000-small.json data/lr-scans/shakespeare-150000.json data/scaling-shakespeare.json data/scaling-shakespeare-lr4.json data/scaling-builtin-small-1m.json data/scaling-builtin-small-isoflop.json data/scaling-builtin-small.json --write src/core/scaling/lr-calibration.ts

import type { LrCalibration } from './lr-rule';

export const LR_CALIBRATION_FILES: string[] = [
  'data/lr-scans/builtin-small-150000.json',
  'data/lr-scans/builtin-small-150000-small.json',
  'data/lr-scans/shakespeare-150000.json',
  'data/scaling-shakespeare.json',
  'data/scaling-shakespeare-lr4.json',
  'data/scaling-builtin-small-1m.json',
  'data/scaling-builtin-small-isoflop.json',
  'data/scaling-builtin-small.json',
];

export const LR_CALIBRATION: Omit<LrCalibration, 'scans'> = {
  warmupFraction: 0.05,
  batchSize: 16,
  blockSize: 64,
  c0: 3.00920517607033,
  cD: 0.34321613356041214,
  cN: -0.39234846512548444,
  tokens: [
    149504,
    499712
  ],
  params: [
    1760,
    95304
  ],
  rmsLn: 0.23981749308936692,
};
