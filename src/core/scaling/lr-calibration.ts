// The lr rule's calibration (lr-rule.ts), as fitted by calibrateLrRule to the committed
// scan files listed below; tests/lr-rule.test.ts refits them and checks these numbers.
// Regenerate with: npm run sweep -- lr-rule data/lr-scans/builtin-small-1000000-large.json data/lr-scans/builtin-small-1000000-small.json data/lr-scans/builtin-small-1000000-steps1500.json data/lr-scans/builtin-small-1000000-x2.json data/lr-scans/builtin-small-150000-small.json data/lr-scans/builtin-small-150000-steps1500.json data/lr-scans/builtin-small-150000.json data/lr-scans/builtin-small-500000-small.json data/lr-scans/builtin-small-500000-steps1500.json data/lr-scans/builtin-small-500000.json data/lr-scans/shakespeare-1000000-large.json data/lr-scans/shakespeare-1000000-mid.json data/lr-scans/shakespeare-1000000-small.json data/lr-scans/shakespeare-1000000-steps1500.json data/lr-scans/shakespeare-1000000-x16.json data/lr-scans/shakespeare-150000-ladder5.json data/lr-scans/shakespeare-150000-steps1500.json data/lr-scans/shakespeare-150000.json data/lr-scans/shakespeare-500000-mid.json data/lr-scans/shakespeare-500000-steps1500.json data/scaling-shakespeare.json data/scaling-shakespeare-lr4.json data/scaling-builtin-small-1m.json data/scaling-builtin-small-isoflop.json data/scaling-builtin-small.json --write src/core/scaling/lr-calibration.ts

import type { LrCalibration } from './lr-rule';

export const LR_CALIBRATION_FILES: string[] = [
  'data/lr-scans/builtin-small-1000000-large.json',
  'data/lr-scans/builtin-small-1000000-small.json',
  'data/lr-scans/builtin-small-1000000-steps1500.json',
  'data/lr-scans/builtin-small-1000000-x2.json',
  'data/lr-scans/builtin-small-150000-small.json',
  'data/lr-scans/builtin-small-150000-steps1500.json',
  'data/lr-scans/builtin-small-150000.json',
  'data/lr-scans/builtin-small-500000-small.json',
  'data/lr-scans/builtin-small-500000-steps1500.json',
  'data/lr-scans/builtin-small-500000.json',
  'data/lr-scans/shakespeare-1000000-large.json',
  'data/lr-scans/shakespeare-1000000-mid.json',
  'data/lr-scans/shakespeare-1000000-small.json',
  'data/lr-scans/shakespeare-1000000-steps1500.json',
  'data/lr-scans/shakespeare-1000000-x16.json',
  'data/lr-scans/shakespeare-150000-ladder5.json',
  'data/lr-scans/shakespeare-150000-steps1500.json',
  'data/lr-scans/shakespeare-150000.json',
  'data/lr-scans/shakespeare-500000-mid.json',
  'data/lr-scans/shakespeare-500000-steps1500.json',
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
  c0: 2.427172485357178,
  cD: -0.30440358505831033,
  cN: -0.1932756685302262,
  tokens: [150016, 1000448],
  params: [1760, 95304],
  rmsLn: 0.6009031501113834,
};
