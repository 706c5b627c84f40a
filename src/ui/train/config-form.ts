// The model and training fields: one input per config field (named as in the
// config, the URL and the CLI), the preset menu, and a validation message next
// to the field it concerns. Edits update the PageSettings' explicit overrides.

import { ConfigError, PRESET_NAMES, PRESETS, validate, type Config, type PresetName } from '../../core/config';
import { configOf, essentialOverrides, type PageSettings } from './url';

interface FieldSpec {
  key: keyof Config;
  /** What it is, in words (the input's tooltip and small print). */
  about: string;
  step?: number;
  min?: number;
  max?: number;
}

export const MODEL_FIELDS: FieldSpec[] = [
  { key: 'nLayer', about: 'transformer blocks', step: 1, min: 1 },
  { key: 'nHead', about: 'attention heads', step: 1, min: 1 },
  { key: 'nEmbd', about: 'width of the residual stream', step: 8, min: 8 },
  { key: 'blockSize', about: 'context length in characters', step: 8, min: 2 },
  { key: 'dropout', about: 'dropout probability', step: 0.05, min: 0, max: 0.95 },
];
export const TRAIN_FIELDS: FieldSpec[] = [
  { key: 'lr', about: 'peak learning rate (after warmup)', step: 0.0001, min: 0 },
  { key: 'minLr', about: 'floor of the cosine decay', step: 0.0001, min: 0 },
  { key: 'warmupIters', about: 'linear warmup steps', step: 1, min: 0 },
  { key: 'maxIters', about: 'optimizer steps in the run', step: 10, min: 1 },
  { key: 'batchSize', about: 'sequences per micro-batch', step: 1, min: 1 },
  { key: 'gradAccumSteps', about: 'micro-batches per step, gradients averaged (a big batch in the memory of a small one)', step: 1, min: 1 },
  { key: 'evalInterval', about: 'steps between evaluations (and autosaves)', step: 10, min: 1 },
  { key: 'weightDecay', about: 'AdamW weight decay', step: 0.01, min: 0 },
  { key: 'seed', about: 'seed of init, batches and dropout', step: 1 },
];
export const ADVANCED_FIELDS: FieldSpec[] = [
  { key: 'evalIters', about: 'batches per evaluation', step: 1, min: 1 },
  { key: 'logInterval', about: 'steps between loss readbacks', step: 1, min: 1 },
  { key: 'gradClip', about: 'global gradient-norm clip (0 = off)', step: 0.1, min: 0 },
  { key: 'beta1', about: 'Adam first-moment decay', step: 0.01, min: 0, max: 0.999 },
  { key: 'beta2', about: 'Adam second-moment decay', step: 0.001, min: 0, max: 0.9999 },
];
const SHAPE_KEYS = ['nLayer', 'nHead', 'nEmbd', 'blockSize'] as const;

export class ConfigForm {
  private readonly inputs = new Map<keyof Config, HTMLInputElement>();
  private readonly messages = new Map<keyof Config, HTMLElement>();
  private readonly preset: HTMLSelectElement;
  private bias: HTMLInputElement | null = null;
  private recompute: HTMLInputElement | null = null;
  /** Called after every edit with the new settings. */
  onChange: (s: PageSettings) => void = () => {};

  constructor(
    private settings: PageSettings,
    containers: { model: HTMLElement; train: HTMLElement; advanced: HTMLElement },
    preset: HTMLSelectElement,
  ) {
    this.preset = preset;
    for (const name of PRESET_NAMES) {
      const p = PRESETS[name];
      preset.append(new Option(`${name} (${p.nLayer}×${p.nEmbd}, ctx ${p.blockSize})`, name));
    }
    preset.addEventListener('change', () => {
      this.settings.preset = preset.value as PresetName;
      for (const k of SHAPE_KEYS) delete this.settings.overrides[k]; // a preset sets the shape
      this.changed();
    });
    for (const f of MODEL_FIELDS) this.addField(containers.model, f);
    for (const f of TRAIN_FIELDS) this.addField(containers.train, f);
    for (const f of ADVANCED_FIELDS) this.addField(containers.advanced, f);
    this.addBias(containers.advanced);
    this.recompute = this.addCheck(
      containers.advanced,
      'recompute',
      "keep only each block's input and recompute its activations in the backward pass: less memory, about a third more compute",
    );
    this.render();
  }

  private addField(parent: HTMLElement, f: FieldSpec): void {
    const label = document.createElement('label');
    label.className = 'field';
    label.title = f.about;
    const name = document.createElement('span');
    name.className = 'name';
    name.textContent = f.key;
    const input = document.createElement('input');
    input.type = 'number';
    input.id = `f-${f.key}`;
    input.name = f.key;
    if (f.step !== undefined) input.step = String(f.step);
    if (f.min !== undefined) input.min = String(f.min);
    if (f.max !== undefined) input.max = String(f.max);
    const about = document.createElement('span');
    about.className = 'about';
    about.textContent = f.about;
    const msg = document.createElement('span');
    msg.className = 'field-error';
    msg.setAttribute('role', 'alert');
    label.append(name, input, about, msg);
    parent.append(label);
    this.inputs.set(f.key, input);
    this.messages.set(f.key, msg);
    input.addEventListener('input', () => {
      const raw = input.value.trim();
      const value = Number(raw);
      if (raw === '' || !Number.isFinite(value)) {
        this.showErrors({ [f.key]: `${f.key} must be a number` });
        return;
      }
      (this.settings.overrides as Record<string, number>)[f.key] = value;
      this.changed(f.key);
    });
  }

  private addBias(parent: HTMLElement): void {
    const label = document.createElement('label');
    label.className = 'field check';
    label.title = 'biases in Linear and LayerNorm layers';
    const input = document.createElement('input');
    input.type = 'checkbox';
    input.id = 'f-bias';
    label.append(input, document.createTextNode(' bias'));
    parent.append(label);
    this.bias = input;
    input.addEventListener('change', () => {
      this.settings.overrides.bias = input.checked;
      this.changed();
    });
  }

  /** A true/false config field as a checkbox. */
  private addCheck(parent: HTMLElement, key: 'recompute', about: string): HTMLInputElement {
    const label = document.createElement('label');
    label.className = 'field check';
    label.title = about;
    const input = document.createElement('input');
    input.type = 'checkbox';
    input.id = `f-${key}`;
    label.append(input, document.createTextNode(` ${key}`));
    parent.append(label);
    input.addEventListener('change', () => {
      this.settings.overrides[key] = input.checked;
      this.changed();
    });
    return input;
  }

  private changed(editing?: keyof Config): void {
    this.settings.overrides = essentialOverrides(this.settings.preset, this.settings.overrides);
    this.render(editing);
    this.onChange(this.settings);
  }

  /** Replace the settings (a resumed run's) and show them. */
  set(settings: PageSettings): void {
    this.settings = settings;
    this.render();
  }

  /** Show the settings' values; the field being typed in keeps its text. */
  render(editing?: keyof Config): void {
    const cfg = configOf(this.settings);
    this.preset.value = this.settings.preset;
    for (const [key, input] of this.inputs) {
      if (key !== editing) input.value = String(cfg[key]);
      input.classList.toggle('overridden', key in this.settings.overrides);
    }
    if (this.bias) this.bias.checked = cfg.bias;
    if (this.recompute) this.recompute.checked = cfg.recompute;
  }

  /**
   * Validate the config (and the corpus length when known); show the message
   * next to the field it names. Returns the message, or null when valid.
   */
  check(vocabSize: number, minSplitLength?: number, extra: Partial<Record<keyof Config, string>> = {}): string | null {
    const cfg = { ...configOf(this.settings), vocabSize };
    const errors: Partial<Record<keyof Config, string>> = { ...extra };
    try {
      validate(cfg, minSplitLength);
    } catch (e) {
      if (!(e instanceof ConfigError)) throw e;
      errors[fieldOf(e.message)] = e.message;
    }
    this.showErrors(errors);
    return Object.values(errors)[0] ?? null;
  }

  private showErrors(errors: Partial<Record<keyof Config, string>>): void {
    for (const [key, el] of this.messages) {
      el.textContent = errors[key] ?? '';
      this.inputs.get(key)?.setAttribute('aria-invalid', errors[key] ? 'true' : 'false');
    }
  }

  setDisabled(disabled: boolean): void {
    for (const input of this.inputs.values()) input.disabled = disabled;
    if (this.bias) this.bias.disabled = disabled;
    if (this.recompute) this.recompute.disabled = disabled;
    this.preset.disabled = disabled;
  }
}

/** The config field a validation message is about (its first field name), for placing it. */
export function fieldOf(message: string): keyof Config {
  const m = /^(\w+)/.exec(message);
  const word = (m?.[1] ?? '') as keyof Config;
  const known = [...MODEL_FIELDS, ...TRAIN_FIELDS, ...ADVANCED_FIELDS].some((f) => f.key === word);
  return known ? word : 'maxIters';
}
