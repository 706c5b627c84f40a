// What the scaling lab page's parts share: the state tests and scripts read at
// window.tabgpt.state, and one context object (settings, the loaded corpus, the
// plan, the results and their fit) handed to each part, so the sweep form, the
// sweep control, the results display and import/export each live in their own
// file instead of as globals of one long scaling.ts.

import { type Calibration } from '../../core/scaling/sweep-estimate';
import { type PlannedRun } from '../../core/scaling/sweep-plan';
import { type Analysis, type ParamKind } from '../../core/scaling/analysis';
import { type IsoFlopAnalysis } from '../../core/scaling/isoflops';
import { type SweepResults } from '../../core/scaling/sweep-results';
import type { ApproachResult } from '../../core/scaling/approaches';
import type { LrScanSummary } from '../../core/scaling/lr-scan';
import type { LoadedCorpus } from '../corpus-loader';
import { $ } from '../dom';
import type { ScalingPlots } from './plots';
import type { ScalingSettings } from './url';

export type Status = 'loading' | 'idle' | 'calibrating' | 'running' | 'stopping' | 'stopped' | 'done' | 'error';

/** What tests and scripts read: window.tabgpt.state. */
export interface ScalingState {
  status: Status;
  runsDone: number;
  runsTotal: number;
  /** The E + power-law fit on the chosen parameter count, or null until there are enough runs. */
  fit: {
    paramKind: ParamKind;
    E: number;
    Nc: number;
    alpha: number;
    intervals: NonNullable<Analysis['fit']>['intervals'];
    heldOut: Analysis['heldOut'];
    points: number;
    /** false: the fit failed its checks and is shown as "not a scaling law"; problems: one line each. */
    valid: boolean;
    problems: string[];
  } | null;
  error: string | null;
  backend: string | null;
  corpus: string | null;
  currentRun: string | null;
  step: number;
  maxIters: number;
  /** Runs saved in IndexedDB (so far as this page knows). */
  saved: number;
  estimateSec: number | null;
  /** What the fit predicted for each run before it ran (nats, on the chosen parameter count). */
  predictions: Record<string, number>;
  /** Runs this page has started (a resumed sweep does not start the finished ones again). */
  startedThisSession: string[];
  /** The lr check per scanned size, and Chinchilla's three exponents (on the chosen parameter count). */
  lrScan: LrScanSummary | null;
  approaches: ApproachResult[];
}

export function initialState(): ScalingState {
  return {
    status: 'loading',
    runsDone: 0,
    runsTotal: 0,
    fit: null,
    error: null,
    backend: null,
    corpus: null,
    currentRun: null,
    step: 0,
    maxIters: 0,
    saved: 0,
    estimateSec: null,
    predictions: {},
    startedThisSession: [],
    lrScan: null,
    approaches: [],
  };
}

/** Predictions made before each run, per parameter count (nats). */
export type Predictions = Record<ParamKind, Record<string, number>>;

export const noPredictions = (): Predictions => ({ nonEmbedding: {}, total: {} });

export interface Lab {
  readonly state: ScalingState;
  readonly settings: ScalingSettings;
  readonly plots: ScalingPlots;
  corpus: LoadedCorpus | null;
  results: SweepResults | null;
  calibration: Calibration | null;
  /** The runs the form describes (empty while it is not valid). */
  planned: PlannedRun[];
  analysis: Analysis | null;
  iso: IsoFlopAnalysis | null;
  /** Predictions made before each run, per parameter count, kept with the stored sweep. */
  predictions: Predictions;
  /** The run in progress, drawn where the fit placed it. */
  pending: PlannedRun | null;
  /** The last save to IndexedDB; saves are chained so the last one wins. */
  saving: Promise<void>;
}

export function notice(message: string, kind: 'error' | 'info' = 'info'): void {
  const p = document.createElement('p');
  p.className = kind === 'error' ? 'notice error' : 'notice';
  p.textContent = message;
  $('notices').append(p);
}
