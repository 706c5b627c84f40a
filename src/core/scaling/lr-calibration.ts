// The lr rule's calibration (lr-rule.ts), as fitted by calibrateLrRule to the committed
// scan files listed below; tests/lr-rule.test.ts refits them and checks these numbers.
// Regenerate with: npm run sweep -- lr-rule data/lr-scans/builtin-small-1000000-large.json data/lr-scans/builtin-small-1000000-small.json data/lr-scans/builtin-small-1000000-x2.json data/lr-scans/builtin-small-150000-small.json data/lr-scans/builtin-small-150000.json data/lr-scans/builtin-small-500000-small.json data/lr-scans/builtin-small-500000.json data/lr-scans/shakespeare-1000000-large.json data/lr-scans/shakespeare-1000000-small.json data/lr-scans/shakespeare-1000000-x16.json data/lr-scans/shakespeare-150000.json data/scaling-shakespeare.json data/scaling-shakespeare-lr4.json data/scaling-builtin-small-1m.json data/scaling-builtin-small-isoflop.json data/scaling-builtin-small.json data/lr-scans/shakespeare-150000-ladder5.json data/lr-scans/shakespeare-500000-mid.json data/lr-scans/shakespeare-1000000-mid.json --write src/core/scaling/lr-calibration.ts

import type { LrCalibration } from './lr-rule';

export const LR_CALIBRATION_FILES: string[] = [
  'data/lr-scans/builtin-small-1000000-large.json',
  'data/lr-scans/builtin-small-1000000-small.json',
  'data/lr-scans/builtin-small-1000000-x2.json',
  'data/lr-scans/builtin-small-150000-small.json',
  'data/lr-scans/builtin-small-150000.json',
  'data/lr-scans/builtin-small-500000-small.json',
  'data/lr-scans/builtin-small-500000.json',
  'data/lr-scans/shakespeare-1000000-large.json',
  'data/lr-scans/shakespeare-1000000-small.json',
  'data/lr-scans/shakespeare-1000000-x16.json',
  'data/lr-scans/shakespeare-150000.json',
  'data/scaling-shakespeare.json',
  'data/scaling-shakespeare-lr4.json',
  'data/scaling-builtin-small-1m.json',
  'data/scaling-builtin-small-isoflop.json',
  'data/scaling-builtin-small.json',
  'data/lr-scans/shakespeare-150000-ladder5.json',
  'data/lr-scans/shakespeare-500000-mid.json',
  'data/lr-scans/shakespeare-1000000-mid.json',
];

export const LR_CALIBRATION: Omit<LrCalibration, 'scans'> = {
  warmupFraction: 0.05,
  batchSize: 16,
  blockSize: 64,
  c0: 2.4650359796236314,
  cD: -0.2633420089488599,
  cN: -0.2571375373036881,
  tokens: [150016, 1000448],
  params: [1760, 95304],
  rmsLn: 0.6915020261847427,
};
