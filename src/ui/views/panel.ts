// "See inside the model": the training page's views, wired together. Owns the
// views' cards, sends their requests to the worker, routes the answers, and
// exposes what they show at window.tabgpt.views. main.ts only creates it and
// passes it the worker's messages.

import type { Config } from '../../core/config';
import type { FromWorker, InspectRequest, ToWorker } from '../../worker/protocol';
import { AttentionView } from './attention';
import { CompareView } from './compare';
import { ConfidenceView } from './confidence';
import { DeviceView } from './device';
import type { ChartHistory } from '../train/history';
import { el, exportButtons, toCsv } from '../dom';
import { EmbeddingView } from './embedding';
import { LossByPositionView } from './lossbypos';
import { NEXT_K, NextCharsView } from './nextchars';
import './views.css';

export interface ViewsPage {
  send(msg: ToWorker): void;
  /** The chosen configuration and the loaded text, for the speed estimate (null without a corpus). */
  setup(): { config: Config; text: string } | null;
  /** A run is going (the estimate waits for it to end). */
  running(): boolean;
  /** The views were opened or closed (the page keeps views=1 in its URL). */
  toggled(open: boolean): void;
  /** The run's loss curves, for the loss chart's CSV export. */
  lossHistory(): ChartHistory;
}

/** What window.tabgpt.views returns: the data behind what the views show. */
export interface ViewsSnapshot {
  open: boolean;
  nextChars: { char: string; p: number }[] | null;
  nextCharsContext: string | null;
  nextCharsLogits: number[] | null;
  vocab: string[] | null;
  attention: number[][][][] | null;
  attentionChars: string[] | null;
  lossByPosition: number[] | null;
  lossByPositionStep: number | null;
  lossByPositionMean: number | null;
  embedding: { char: string; x: number; y: number }[] | null;
  device: {
    backend: string;
    adapter: { vendor: string; architecture: string; device: string; description: string } | null;
    features: Record<string, boolean>;
    limits: Record<string, number>;
    matmulGflops: number;
    estimatedTokensPerSec: number | null;
    estimatedWallSeconds: number | null;
  } | null;
  scores: Record<
    string,
    {
      totalBits: number;
      bpc: number;
      spans: { start: number; length: number; text: string; bits: number }[];
      chars: { char: string; p: number | null; bits: number | null }[];
    }
  >;
  compare: { runId: string; name: string; steps: number[]; val: number[] }[];
  errors: Record<string, string>;
}

export class ViewsPanel {
  open = false;
  private id = 0;
  private hasModel = false;
  private deviceAsked = false;
  private autoEstimated = false;
  private sample = '';
  private readonly errors: Record<string, string> = {};
  private readonly genOut: HTMLElement;
  readonly next: NextCharsView;
  readonly confidence: ConfidenceView;
  readonly attention: AttentionView;
  readonly lossByPosition = new LossByPositionView();
  readonly embedding = new EmbeddingView();
  readonly compare = new CompareView();
  readonly device: DeviceView;

  constructor(
    private readonly container: HTMLElement,
    private readonly toggle: HTMLInputElement,
    private readonly page: ViewsPage,
    els: { prompt: HTMLTextAreaElement; sample: HTMLElement; generate: HTMLElement },
  ) {
    this.genOut = els.generate;
    this.next = new NextCharsView(els.prompt, (text) => this.ask({ kind: 'nextChars', text, k: NEXT_K }));
    this.confidence = new ConfidenceView(
      { sample: els.sample, generate: els.generate },
      (text, target) => this.ask({ kind: 'score', text, target }),
      () => ({
        sample: this.sample || null,
        generate: els.generate.textContent || null,
      }),
    );
    this.attention = new AttentionView((text) => this.ask({ kind: 'attention', text }));
    this.device = new DeviceView(() => this.estimate());
    container.append(
      el('div', { class: 'views-col' }, this.device.root, this.next.root, this.lossByPosition.root, this.embedding.root),
      el('div', { class: 'views-col' }, this.attention.root, this.confidence.root, this.compare.root),
    );
    toggle.addEventListener('change', () => this.setOpen(toggle.checked));
    // The run's own loss chart exports too (PNG of the chart, CSV of every logged step).
    const lossHead = document.querySelector<HTMLElement>('.loss-card .card-head');
    if (lossHead)
      exportButtons(
        lossHead,
        'loss',
        () => document.querySelector<HTMLCanvasElement>('#chart-loss canvas'),
        () => {
          const h = page.lossHistory();
          return h.steps.length
            ? toCsv([
                ['step', 'train_loss', 'val_loss', 'lr', 'tokens_per_sec'],
                ...h.steps.map((st, i) => [st, h.train[i], h.val[i], h.lr[i], h.tokensPerSec[i]]),
              ])
            : null;
        },
      );
    matchMedia('(prefers-color-scheme: dark)').addEventListener('change', () => this.themeChanged());
  }

  /** Canvases take their colours when drawn: redraw them in the new theme's. */
  private themeChanged(): void {
    this.lossByPosition.rebuild();
    this.compare.draw();
    this.embedding.draw();
    if (this.attention.data) this.attention.show(this.attention.data);
  }

  setOpen(open: boolean): void {
    this.open = open;
    this.toggle.checked = open;
    this.container.hidden = !open;
    this.page.send({ type: 'views', open });
    this.page.toggled(open);
    if (!open) return;
    if (!this.deviceAsked) {
      this.deviceAsked = true;
      this.ask({ kind: 'device' });
    }
    if (this.hasModel) this.refreshModelViews();
    void this.compare.refresh();
    this.autoEstimate();
  }

  /** The settings or the corpus changed. */
  settingsChanged(): void {
    this.device.stale();
    this.showMemory();
    this.autoEstimate();
  }

  /** The chosen config's predicted memory against the adapter's limits (needs the device report). */
  private showMemory(): void {
    const setup = this.page.setup();
    if (setup) this.device.showMemory(setup.config);
  }

  /**
   * Once per page, as soon as a corpus is loaded and nothing trains: the speed
   * estimate of the chosen settings. A moment later, so an autostarted run
   * (which starts right after its corpus loads) goes first and is not slowed.
   */
  private autoEstimate(): void {
    if (!this.open || this.autoEstimated || !this.page.setup() || this.page.running()) return;
    this.autoEstimated = true;
    setTimeout(() => {
      if (!this.page.running()) this.estimate();
    }, 1000);
  }

  /** Handle a worker message: true when it was for the views; others are only watched. */
  handle(msg: FromWorker): boolean {
    switch (msg.type) {
      case 'view':
        this.show(msg.view);
        return true;
      case 'viewError':
        this.errors[msg.kind] = msg.message;
        if (msg.kind === 'nextChars') this.next.showError(msg.message);
        else if (msg.kind === 'attention') this.attention.showError(msg.message);
        else if (msg.kind === 'score') this.confidence.showError(msg.message);
        else if (msg.kind === 'device' || msg.kind === 'estimate') this.device.showError(msg.message);
        return true;
      case 'backend':
        this.deviceAsked = false; // a new backend (a fallback): measure again
        if (this.open) this.setOpen(true);
        return false;
      case 'model':
        this.hasModel = true;
        if (this.open) this.refreshModelViews();
        return false;
      case 'tokens':
        if (msg.stream === 'eval') {
          if (msg.reset) this.sample = '';
          this.sample += msg.text;
          if (msg.done) this.confidence.textReady('sample', this.sample);
        }
        return false;
      case 'generated':
        queueMicrotask(() => this.confidence.textReady('generate', this.genOut.textContent ?? ''));
        return false;
      case 'checkpoint':
      case 'status':
        if (this.open && (msg.type === 'checkpoint' || msg.status === 'done')) setTimeout(() => void this.compare.refresh(), 400); // after the page stored it
        return false;
      default:
        return false;
    }
  }

  snapshot(): ViewsSnapshot {
    const d = this.device.report;
    const est = this.device.estimate?.data ?? null;
    const scores: ViewsSnapshot['scores'] = {};
    for (const [k, s] of Object.entries(this.confidence.scores)) {
      if (s) scores[k] = { totalBits: s.totalBits, bpc: s.bpc, spans: s.spans, chars: s.chars.map((c) => ({ char: c.char, p: c.p, bits: c.bits })) };
    }
    return structuredClone({
      open: this.open,
      nextChars: this.next.data?.top ?? null,
      nextCharsContext: this.next.data?.context ?? null,
      nextCharsLogits: this.next.data?.logits ?? null,
      vocab: this.next.data?.vocab ?? null,
      attention: this.attention.data?.weights ?? null,
      attentionChars: this.attention.data?.chars ?? null,
      lossByPosition: this.lossByPosition.current?.byPosition ?? null,
      lossByPositionStep: this.lossByPosition.current?.step ?? null,
      lossByPositionMean: this.lossByPosition.current?.mean ?? null,
      embedding: this.embedding.data?.points ?? null,
      device: d
        ? {
            backend: d.backend,
            adapter: d.adapter,
            features: d.features,
            limits: d.limits,
            matmulGflops: d.matmulGflops,
            estimatedTokensPerSec: est?.tokensPerSec ?? null,
            estimatedWallSeconds: est?.wallSeconds ?? null,
          }
        : null,
      scores,
      compare: this.compare.curves,
      errors: this.errors,
    });
  }

  private refreshModelViews(): void {
    this.next.refresh();
    this.attention.suggest(this.next.data?.context ?? 'the quick brown fox jumps');
    this.ask({ kind: 'attention', text: this.attention.text });
    this.ask({ kind: 'embedding' });
  }

  private estimate(): void {
    const setup = this.page.setup();
    if (!setup) return this.device.showError('load a corpus first: the estimate trains a few steps on it');
    if (this.page.running()) return this.device.showError('a run is training: its own tokens/s are in the figures above');
    this.device.estimating();
    this.ask({ kind: 'estimate', config: setup.config, text: setup.text });
  }

  private ask(request: InspectRequest): void {
    if (!this.open && request.kind !== 'estimate') return;
    delete this.errors[request.kind];
    this.page.send({ type: 'inspect', id: ++this.id, request });
  }

  private show(view: Extract<FromWorker, { type: 'view' }>['view']): void {
    switch (view.kind) {
      case 'nextChars':
        return this.next.show(view.data);
      case 'attention':
        return this.attention.show(view.data);
      case 'score':
        return this.confidence.show(view.target, view.data);
      case 'lossByPosition':
        return this.lossByPosition.show(view.data);
      case 'embedding':
        return this.embedding.show(view.data);
      case 'device':
        this.device.showReport(view.data);
        return this.showMemory();
      case 'estimate':
        return this.device.showEstimate(view.data, view.config);
    }
  }
}
