// Saved models on the training page: each checkpoint the worker sends is stored
// in IndexedDB (or downloaded, for an export), the list's Resume, Fine-tune, Use
// and Upload act on the page, and after a reload an unfinished run is offered
// for resuming. The list itself is model-list.ts; the database is storage.ts.

import { formatLoss, formatParams } from '../../core/format';
import type { FromWorker } from '../../worker/protocol';
import { errorMessage, textFor } from '../corpus-loader';
import { runsElsewhere } from './run-lock';
import { isQuotaError, lastUnfinishedRun, loadModelBytes, saveModel, StorageError, type SavedModel } from '../storage';
import { showCorpusKind, useCorpus } from './corpus-picker';
import { $, download } from '../dom';
import type { TrainPage } from './page';
import { startRun } from './run-control';
import { applyConfig } from './settings';

export class SavedModels {
  /** An uploaded file sent to the worker to load: stored once the worker accepts it. */
  private pendingUpload: { name: string; bytes: ArrayBuffer } | null = null;

  constructor(private readonly page: TrainPage) {
    const { models, send } = page;
    models.onResume = (record, bytes) => void this.resumeFrom(record, bytes);
    models.fail = (message) => void (page.state.error = message);
    models.onFineTune = (record, bytes) => {
      const corpus = page.corpus;
      if (!corpus) return void ($('models-error').textContent = 'load a corpus to fine-tune on first');
      page.notice(
        `Fine-tuning ${record.name} (step ${record.step}) on ${corpus.ref.name}: its shape and weights (new characters are added to its vocabulary), this page's training settings, a fresh optimizer.`,
      );
      void startRun(page, { from: { mode: 'finetune', bytes, record } });
    };
    models.onUse = (record, bytes) => {
      if (page.runActive) return void ($('models-error').textContent = 'stop the run before loading another model');
      send({ type: 'load', bytes, name: record.name }, [bytes]);
    };
    models.onUpload = (name, bytes) => {
      if (page.runActive) return void ($('models-error').textContent = 'stop the run before loading another model');
      this.pendingUpload = { name, bytes: bytes.slice(0) };
      send({ type: 'load', bytes, name }, [bytes]);
    };
    $('download-current').addEventListener('click', () => send({ type: 'export' }));
  }

  async resumeFrom(record: SavedModel, bytes: ArrayBuffer): Promise<void> {
    const page = this.page;
    if (page.runActive) return void ($('models-error').textContent = 'stop the run before resuming another');
    $('resume-offer').hidden = true;
    showCorpusKind(page, record.corpus.kind);
    if (record.corpus.kind === 'shakespeare' || record.corpus.kind === 'builtin') page.settings.corpus = record.corpus.kind;
    const c = await useCorpus(page, () => textFor(record.corpus), record.corpus.name);
    if (!c) return;
    applyConfig(page, record.config);
    await startRun(page, { from: { mode: 'resume', bytes, record } });
  }

  async storeCheckpoint(msg: Extract<FromWorker, { type: 'checkpoint' }>): Promise<void> {
    const { state, models } = this.page;
    if (msg.reason === 'export') {
      const name = msg.runId
        ? `tabgpt-${msg.runId}-step${msg.step}.safetensors`
        : msg.corpus.name.endsWith('.safetensors')
          ? msg.corpus.name
          : `${msg.corpus.name}.safetensors`;
      download(new Blob([msg.bytes], { type: 'application/octet-stream' }), name);
      return;
    }
    const cfg = msg.config;
    const runInit = this.page.runInit;
    const record: SavedModel = {
      id: `${msg.runId}@${msg.step}`,
      runId: msg.runId,
      source: 'run',
      name: `${cfg.nLayer}×${cfg.nEmbd} ctx ${cfg.blockSize} · ${msg.corpus.name}`,
      step: msg.step,
      maxIters: msg.maxIters,
      valLoss: msg.valLoss,
      trainLoss: msg.trainLoss,
      savedAt: Date.now(),
      size: msg.bytes.byteLength,
      config: cfg,
      corpus: msg.corpus,
      finished: msg.reason === 'done',
      history: structuredClone(this.page.charts.history),
      ...(runInit && msg.runId === state.runId ? { initFrom: runInit } : {}),
    };
    try {
      await saveModel(record, msg.bytes);
      state.savedStep = msg.step;
      if ($('models-error').textContent?.startsWith('browser storage is full')) $('models-error').textContent = ''; // saved again: the earlier warning is over
    } catch (e) {
      const m =
        e instanceof StorageError
          ? e.message
          : isQuotaError(e)
            ? 'browser storage is full: this checkpoint was not saved (earlier saves are kept)'
            : `saving failed: ${errorMessage(e)}`;
      $('models-error').textContent = m;
      state.error = m;
    }
    await models.refresh();
    state.storagePersistent = models.persistent;
  }

  /** The worker loaded a model (a run's, a saved one or an upload): show it; store an upload. */
  onModel(msg: Extract<FromWorker, { type: 'model' }>): void {
    const { state, models } = this.page;
    state.model = { source: msg.info.source, step: msg.info.step, params: msg.info.params };
    $('gen-model').textContent = `· ${msg.info.source} at step ${msg.info.step}, ${formatParams(msg.info.params)} params`;
    $('models-error').textContent = '';
    if (this.pendingUpload && msg.info.source === this.pendingUpload.name) {
      const up = this.pendingUpload;
      this.pendingUpload = null;
      const cfg = msg.info.config;
      const record: SavedModel = {
        id: `upload:${up.name}:${Date.now()}`,
        runId: `upload-${Date.now().toString(36)}`,
        source: 'upload',
        name: up.name,
        step: msg.info.step,
        maxIters: cfg.maxIters,
        valLoss: null,
        trainLoss: null,
        savedAt: Date.now(),
        size: up.bytes.byteLength,
        config: cfg,
        corpus: { kind: 'file', name: up.name, sha256: '' },
        finished: true,
      };
      void saveModel(record, up.bytes)
        .then(() => models.refresh())
        .catch((e) => ($('models-error').textContent = errorMessage(e)));
    }
  }

  /** The worker could not load a model: the upload is dropped, the reason shown by the list. */
  loadFailed(message: string): void {
    this.pendingUpload = null;
    $('models-error').textContent = message;
  }

  async offerResume(): Promise<void> {
    const last = await lastUnfinishedRun().catch(() => null);
    if (last && (await runsElsewhere().catch(() => new Set<string>())).has(last.runId)) return; // training in another tab
    if (!last || sessionStorage.getItem('tabgpt.dismissed') === last.id) return;
    $('resume-text').textContent =
      `An unfinished run (${last.name}) was saved at step ${last.step} of ${last.maxIters}${last.valLoss !== null ? `, val loss ${formatLoss(last.valLoss, this.page.units)}` : ''}.`;
    $('resume-offer').hidden = false;
    $('resume-run').onclick = async () => {
      try {
        await this.resumeFrom(last, await loadModelBytes(last.id));
      } catch (e) {
        $('models-error').textContent = errorMessage(e);
      }
    };
    $('resume-dismiss').onclick = () => {
      sessionStorage.setItem('tabgpt.dismissed', last.id);
      $('resume-offer').hidden = true;
    };
  }
}
