// What the training page's parts share: the state scripts and tests read at
// window.tabgpt.state, and one context object (settings, the worker link, the
// charts, the loaded corpus, whether a run is active) handed to each part, so
// settings, corpus, run control and saved models each live in their own file
// instead of as globals of one long main.ts.

import type { BackendName } from '../../core/backend';
import type { LossUnits } from '../../core/format';
import type { CorpusRef, RunStatus, ToWorker } from '../../worker/protocol';
import type { RunCharts } from './charts';
import type { ConfigForm } from './config-form';
import type { LoadedCorpus } from '../corpus-loader';
import type { ModelList } from './model-list';
import type { PageOptions } from '../page-options';
import type { SavedModel } from '../storage';
import type { PageSettings } from './url';
import type { ViewsPanel } from '../views/panel';

// ------------------------------------------------------------------ state for automation

/** What scripts and tests can read at window.tabgpt.state (a frozen copy). */
export interface PageState {
  backend: BackendName | null;
  backendReason: string | null;
  status: RunStatus;
  statusMessage: string | null;
  step: number;
  maxIters: number;
  trainLoss: number | null;
  valLoss: number | null;
  tokensPerSec: number | null;
  msPerStep: number | null;
  error: string | null;
  /** The latest evaluation sample, complete. */
  sample: string | null;
  sampleStep: number | null;
  /** The Generate panel's output and whether it is still streaming. */
  generated: string;
  generating: boolean;
  /** Step of the last checkpoint stored in IndexedDB. */
  savedStep: number | null;
  /** Step a resumed run continued from. */
  resumedFrom: number | null;
  corpus: { kind: CorpusRef['kind']; chars: number; vocabSize: number } | null;
  /** The model the Generate panel uses. */
  model: { source: string; step: number; params: number } | null;
  runId: string | null;
  notices: string[];
  /** tf.memory().numTensors in the worker at the last logged step (constant unless something leaks). */
  numTensors: number | null;
  /** tf.memory().numBytes in the worker at the last logged step. */
  numBytes: number | null;
  /** Rows the loss chart holds (thinned beyond ?chartPoints=). */
  chartRows: number;
  /** A text file being read: bytes so far of its size. */
  corpusRead: { bytes: number; total: number } | null;
  /** Whether the browser made storage persistent (asked at the first save; null before). */
  storagePersistent: boolean | null;
}

export function initialState(): PageState {
  return {
    backend: null,
    backendReason: null,
    status: 'idle',
    statusMessage: null,
    step: 0,
    maxIters: 0,
    trainLoss: null,
    valLoss: null,
    tokensPerSec: null,
    msPerStep: null,
    error: null,
    sample: null,
    sampleStep: null,
    generated: '',
    generating: false,
    savedStep: null,
    resumedFrom: null,
    corpus: null,
    model: null,
    runId: null,
    notices: [],
    numTensors: null,
    numBytes: null,
    chartRows: 0,
    corpusRead: null,
    storagePersistent: null,
  };
}

// ------------------------------------------------------------------ the shared context

export type Send = (msg: ToWorker, transfer?: Transferable[]) => void;

export interface TrainPage {
  readonly state: PageState;
  readonly settings: PageSettings;
  /** Autosave interval, chart cap, text file limit (page-options.ts). */
  readonly options: PageOptions;
  readonly send: Send;
  readonly form: ConfigForm;
  readonly charts: RunCharts;
  readonly models: ModelList;
  /** The "see inside the model" views; set once built (they read this page back). */
  views: ViewsPanel | null;
  corpus: LoadedCorpus | null;
  corpusKind: CorpusRef['kind'];
  units: LossUnits;
  runActive: boolean;
  /** The current run's origin when it is a fine-tune (stored with its saves; overlay.ts). */
  runInit: SavedModel['initFrom'] | null;
  /** The settings fit the loaded corpus: Start may be enabled. */
  settingsValid: boolean;
  /** A line under the header (badge.ts), also kept in state.notices. */
  notice(message: string): void;
}

/** window.tabgpt: the state, the views' data and a test hook, for scripts and tests. */
export function exposeOnWindow(page: TrainPage): void {
  Object.defineProperty(window, 'tabgpt', {
    value: Object.freeze({
      get state(): Readonly<PageState> {
        return Object.freeze(structuredClone(page.state));
      },
      /** The data behind the views ("see inside the model"): src/ui/views/panel.ts' ViewsSnapshot. */
      get views() {
        return page.views?.snapshot();
      },
      /** Test hook: lose the WebGPU device as a driver reset would. */
      debug: Object.freeze({ loseDevice: () => page.send({ type: 'debugLoseDevice' }) }),
    }),
  });
}
