// The Generate panel: prompt and sampling settings in, characters streamed
// out as they are chosen (KV cache in the worker), with tokens/s and a Stop
// that works mid-generation. Text is appended as text nodes, never as HTML.

import { CONTROL, type FromWorker, type GenerateOptions, type ToWorker } from '../../worker/protocol';
import { $ } from '../dom';

/** The part of the page's state this panel keeps current. */
export interface GenerateState {
  generated: string;
  generating: boolean;
  error: string | null;
}

export class GeneratePanel {
  private id = 0;
  private started = 0;
  private chars = 0;
  private readonly out = $<HTMLElement>('gen-output');
  private readonly stats = $<HTMLElement>('gen-stats');
  private readonly errorEl = $<HTMLElement>('gen-error');

  constructor(
    private readonly state: GenerateState,
    private readonly send: (msg: ToWorker) => void,
    /** Shared control words (cross-origin isolated pages): Stop reaches a worker that never yields. */
    private readonly control: Int32Array | null,
  ) {
    $('generate').addEventListener('click', () => this.start());
    $('gen-stop').addEventListener('click', () => this.stop());
  }

  private options(): GenerateOptions {
    const num = (id: string, fallback: number) => {
      const v = Number($<HTMLInputElement>(id).value);
      return Number.isFinite(v) ? v : fallback;
    };
    return {
      prompt: $<HTMLTextAreaElement>('gen-prompt').value,
      maxNewTokens: Math.round(num('gen-length', 300)),
      temperature: num('gen-temperature', 0.8),
      topK: Math.round(num('gen-topk', 0)),
      topP: num('gen-topp', 1),
      seed: Math.round(num('gen-seed', 1337)),
    };
  }

  start(): void {
    if (this.state.generating) return;
    const options = this.options();
    this.id++;
    const prompt = document.createElement('span');
    prompt.className = 'prompt';
    prompt.textContent = options.prompt; // text, never HTML
    this.out.replaceChildren(prompt);
    this.state.generated = '';
    this.state.generating = true;
    this.errorEl.textContent = '';
    this.stats.textContent = '';
    this.started = performance.now();
    this.chars = 0;
    if (this.control) Atomics.store(this.control, CONTROL.stopGenerate, 0);
    this.send({ type: 'generate', id: this.id, options });
  }

  stop(): void {
    if (this.control) Atomics.store(this.control, CONTROL.stopGenerate, 1);
    this.send({ type: 'stopGenerate' });
  }

  /** Handle the worker's generation messages; false for any other message. */
  handle(msg: FromWorker): boolean {
    if (msg.type === 'tokens' && msg.stream === 'generate') {
      if (msg.id !== this.id) return true;
      this.out.append(msg.text); // a text node
      this.state.generated += msg.text;
      this.chars += [...msg.text].length;
      const sec = (performance.now() - this.started) / 1000;
      this.stats.textContent = `${this.chars} chars · ${sec > 0 ? (this.chars / sec).toFixed(1) : '–'} chars/s`;
      return true;
    }
    if (msg.type === 'generated') {
      if (msg.id !== this.id) return true;
      this.state.generating = false;
      this.state.generated = msg.text;
      this.stats.textContent = `${[...msg.text].length} chars · ${msg.tokensPerSec.toFixed(1)} tokens/s${msg.stopped ? ' · stopped' : ''}`;
      return true;
    }
    if (msg.type === 'error' && msg.scope === 'generate') {
      this.state.generating = false;
      this.state.error = msg.message;
      this.errorEl.textContent = msg.message;
      return true;
    }
    return false;
  }
}
