// The saved-models table: runs autosaved at each evaluation and uploaded
// safetensors files (or nanoGPT's ckpt.pt with its meta.pkl), with size, step, val loss and date, and the actions
// resume / generate with / fine-tune / download / delete. Plus the upload.
// The list follows the other tabs (storage-sync.ts) and marks runs training
// in another tab (run-lock.ts), which cannot be resumed here meanwhile.

import { formatBytes, formatDate } from '../../core/format';
import { $, download } from '../dom';
import { deleteModels, listModels, loadModelBytes, persisted, usage, type SavedModel } from '../storage';
import { runsElsewhere } from './run-lock';
import { onChange } from '../storage-sync';

type Action = (record: SavedModel, bytes: ArrayBuffer) => void;

export class ModelList {
  onResume: Action = () => {};
  onFineTune: Action = () => {};
  onUse: Action = () => {};
  onUpload: (name: string, bytes: ArrayBuffer) => void = () => {};
  records: SavedModel[] = [];
  /** Run ids training in another tab right now. */
  elsewhere = new Set<string>();
  /** Whether the browser made this site's storage persistent (null: not known yet). */
  persistent: boolean | null = null;
  /** While a run is going, the actions that would start or load another model are disabled. */
  private busy = false;
  /** Counts refresh() calls (see there). */
  private generation = 0;

  constructor(
    private readonly body: HTMLElement,
    private readonly errorEl: HTMLElement,
    private readonly usageEl: HTMLElement,
  ) {
    const input = $<HTMLInputElement>('model-file');
    input.addEventListener('change', () => {
      const files = [...(input.files ?? [])];
      input.value = '';
      void this.take(files);
    });
    // Files dropped on the Saved models card are taken as if chosen (ckpt.pt and meta.pkl together)
    const card = body.closest('section');
    card?.addEventListener('dragover', (e) => e.preventDefault());
    card?.addEventListener('drop', (e) => {
      e.preventDefault();
      void this.take([...(e.dataTransfer?.files ?? [])]);
    });
    onChange(() => void this.refresh());
  }

  /** Chosen or dropped files: a .safetensors file, or nanoGPT's ckpt.pt with its meta.pkl. */
  private async take(files: File[]): Promise<void> {
    this.errorEl.textContent = '';
    // nanoGPT's checkpoint is converted here (core/formats/nanogpt.ts, no tfjs), then loads like a safetensors upload
    const pt = files.find((f) => /\.pt$/i.test(f.name));
    if (pt) return this.uploadNanoGPT(pt, files.find((f) => /\.pkl$/i.test(f.name)) ?? null);
    const file = files[0];
    if (!file) return;
    if (file.size === 0) {
      this.errorEl.textContent = `${file.name} is empty: choose a .safetensors file written by tabgpt (the CLI or this page)`;
      return this.fail(this.errorEl.textContent);
    }
    this.onUpload(file.name, await file.arrayBuffer());
  }

  /** nanoGPT's checkpoint (and vocabulary) as a tabgpt checkpoint, then the usual upload; bad files get one line. */
  private async uploadNanoGPT(pt: File, meta: File | null): Promise<void> {
    try {
      const { fromNanoGPT, readMeta } = await import('../../core/formats/nanogpt');
      const vocab = meta ? readMeta(new Uint8Array(await meta.arrayBuffer()), meta.name) : null;
      const { bytes } = await fromNanoGPT(new Uint8Array(await pt.arrayBuffer()), vocab, pt.name);
      this.onUpload(pt.name.replace(/\.pt$/i, '.safetensors'), bytes.buffer as ArrayBuffer);
    } catch (e) {
      this.errorEl.textContent = (e as Error).message.split('\n')[0];
      this.fail(this.errorEl.textContent);
    }
  }

  /** Errors also reach window.tabgpt.state through this hook. */
  fail: (message: string) => void = () => {};

  async refresh(): Promise<void> {
    // Refreshes overlap (own saves, other tabs' news): only the newest one's reading is shown,
    // so an older reading that comes back late cannot overwrite it.
    const generation = ++this.generation;
    let records: SavedModel[];
    let elsewhere: Set<string>;
    try {
      records = await listModels();
      elsewhere = await runsElsewhere().catch(() => new Set<string>());
    } catch (e) {
      if (generation === this.generation) this.errorEl.textContent = (e as Error).message;
      return;
    }
    if (generation !== this.generation) return;
    this.records = records;
    this.elsewhere = elsewhere;
    this.render();
    const u = await usage().catch(() => null);
    this.persistent = await persisted().catch(() => null);
    const kept =
      this.persistent === true
        ? ' · persistent (the browser will not clear it to free space)'
        : this.persistent === false
          ? ' · not persistent (the browser refused; it may clear saved models when space runs low: download the ones you need)'
          : '';
    this.usageEl.textContent = u && u.quota ? `browser storage: ${formatBytes(u.usage)} used of ${formatBytes(u.quota)}${kept}` : '';
  }

  setBusy(busy: boolean): void {
    if (busy === this.busy) return;
    this.busy = busy;
    this.render();
  }

  private render(): void {
    this.body.replaceChildren(...this.records.map((r) => this.row(r)));
    if (this.records.length === 0) {
      const tr = document.createElement('tr');
      const td = document.createElement('td');
      td.colSpan = 6;
      td.className = 'muted';
      td.textContent = 'Nothing saved yet: runs are saved here at every evaluation.';
      tr.append(td);
      this.body.append(tr);
    }
  }

  private row(r: SavedModel): HTMLTableRowElement {
    const tr = document.createElement('tr');
    tr.dataset.id = r.id;
    const cell = (text: string, cls = '') => {
      const td = document.createElement('td');
      td.textContent = text;
      if (cls) td.className = cls;
      tr.append(td);
      return td;
    };
    const name = cell(r.name, 'name');
    const tag = document.createElement('span');
    tag.className = 'tag';
    const elsewhere = this.elsewhere.has(r.runId);
    tag.textContent = r.source === 'upload' ? 'uploaded' : r.finished ? 'finished' : elsewhere ? 'training in another tab' : 'unfinished';
    name.append(' ', tag);
    cell(r.source === 'run' ? `${r.step} / ${r.maxIters}` : String(r.step), 'num');
    cell(r.valLoss !== null ? r.valLoss.toFixed(3) : '–', 'num');
    cell(formatBytes(r.size), 'num');
    cell(formatDate(r.savedAt));
    const actions = document.createElement('td');
    actions.className = 'actions';
    const button = (label: string, title: string, fn: () => void | Promise<void>, startsSomething = false) => {
      const b = document.createElement('button');
      b.type = 'button';
      b.disabled = startsSomething && this.busy;
      b.textContent = label;
      b.title = title;
      b.dataset.action = label.toLowerCase();
      b.addEventListener('click', async () => {
        this.errorEl.textContent = '';
        try {
          await fn();
        } catch (e) {
          this.errorEl.textContent = (e as Error).message;
        }
      });
      actions.append(b);
    };
    const bytes = () => loadModelBytes(r.id);
    if (r.source === 'run' && !r.finished && !elsewhere)
      button('Resume', 'continue this run where it stopped', async () => this.onResume(r, await bytes()), true);
    button('Use', 'generate text with this model', async () => this.onUse(r, await bytes()), true);
    button('Fine-tune', 'start a new run from this model on the current corpus', async () => this.onFineTune(r, await bytes()), true);
    button('Download', 'download as a safetensors file (the CLI reads it)', async () => {
      download(new Blob([await bytes()], { type: 'application/octet-stream' }), r.source === 'upload' ? r.name : `tabgpt-${r.runId}-step${r.step}.safetensors`);
    });
    button('Delete', 'delete this saved model', async () => {
      await deleteModels([r.id]);
      await this.refresh();
    });
    tr.append(actions);
    return tr;
  }
}
