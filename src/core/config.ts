// Model and training configuration: every field with the reason it exists.
// Names follow nanoGPT (nLayer, nHead, nEmbd, blockSize, dropout, bias) so a
// config reads the same here, in nanoGPT's train.py and on the tabgpt CLI
// (kebab case: --n-layer, --block-size, ...).

export interface ModelConfig {
  /** Number of transformer blocks: depth. */
  nLayer: number;
  /** Attention heads per block; head size = nEmbd / nHead. */
  nHead: number;
  /** Width of the residual stream (C). */
  nEmbd: number;
  /** Context length in characters (T max): positions the model can see. */
  blockSize: number;
  /** Vocabulary size (V): set from the corpus' tokenizer, not by hand. */
  vocabSize: number;
  /** Dropout probability on attention, residual and embedding paths; 0 for tiny data-rich runs. */
  dropout: number;
  /** Biases in Linear and LayerNorm layers (GPT-2 style); false is slightly faster and no worse. */
  bias: boolean;
  /**
   * The MLP's GELU: 'tanh' is GPT-2's approximation (tabgpt's default), 'erf' the exact form that
   * nanoGPT's nn.GELU() computes, so a model imported from PyTorch computes what PyTorch does.
   * Absent (checkpoints from before the field) means 'tanh'.
   */
  gelu?: GeluForm;
}

export type GeluForm = 'tanh' | 'erf';
export const GELU_FORMS: readonly GeluForm[] = ['tanh', 'erf'];

export interface TrainConfig {
  /** Sequences per micro-batch (B); tokens per step = gradAccumSteps * batchSize * blockSize. */
  batchSize: number;
  /** Micro-batches per optimizer step, gradients averaged (nanoGPT's gradient_accumulation_steps): a big batch in the memory of a small one. */
  gradAccumSteps: number;
  /** Keep only each block's input in the forward pass and recompute its activations in the backward: less memory for about a third more compute. */
  recompute: boolean;
  /** Optimizer steps in the run; the cosine schedule decays over exactly this many. */
  maxIters: number;
  /** Peak learning rate, reached at the end of warmup. */
  lr: number;
  /** Floor of the cosine decay (nanoGPT: about lr / 10). */
  minLr: number;
  /** Linear warmup steps from 0 to lr: keeps the first Adam steps from overshooting (default 10% of maxIters, at most 100). */
  warmupIters: number;
  /** AdamW decoupled weight decay, applied to 2-D weights only. */
  weightDecay: number;
  /** Adam first-moment decay. */
  beta1: number;
  /** Adam second-moment decay; 0.99 (not 0.999) because tiny batches give noisy gradients. */
  beta2: number;
  /** Adam epsilon, always passed explicitly (webgl's default epsilon is 1e-4). */
  eps: number;
  /** Clip the global gradient norm to this value; 0 disables clipping. */
  gradClip: number;
  /** Evaluate validation loss (and sample) every this many steps. */
  evalInterval: number;
  /** Batches averaged per evaluation; the batches are fixed so curves are comparable. */
  evalIters: number;
  /** Read the training loss back from the device every this many steps (no sync in between). */
  logInterval: number;
  /** Seed of the one PRNG: init, batches, dropout and sampling all derive from it. */
  seed: number;
  /** WebGPU: 'recorded' replays the step recorded at the first (cached pipelines and bind groups, no tfjs op per step); 'eager' runs tfjs' ops every step, to compare and to debug. */
  step: StepMode;
}

/** How a WebGPU training step is issued (TrainConfig.step). */
export const STEP_MODES = ['recorded', 'eager'] as const;
export type StepMode = (typeof STEP_MODES)[number];

export type Config = ModelConfig & TrainConfig;

/** Named model shapes. `baby` is nanoGPT's CPU run (README "I only have a macbook"). */
export const PRESETS = {
  nano: { nLayer: 2, nHead: 2, nEmbd: 32, blockSize: 32 },
  micro: { nLayer: 2, nHead: 4, nEmbd: 64, blockSize: 64 },
  baby: { nLayer: 4, nHead: 4, nEmbd: 128, blockSize: 64 },
  mini: { nLayer: 6, nHead: 6, nEmbd: 192, blockSize: 128 },
  small: { nLayer: 6, nHead: 6, nEmbd: 384, blockSize: 256 },
} as const satisfies Record<string, Pick<ModelConfig, 'nLayer' | 'nHead' | 'nEmbd' | 'blockSize'>>;
export type PresetName = keyof typeof PRESETS;
export const PRESET_NAMES = Object.keys(PRESETS) as PresetName[];

/** Defaults: `tabgpt train` with no flags finishes in about two minutes on a laptop CPU. */
export const DEFAULT_CONFIG: Config = {
  ...PRESETS.micro,
  vocabSize: 0,
  dropout: 0,
  bias: true,
  gelu: 'tanh',
  batchSize: 16,
  gradAccumSteps: 1,
  recompute: false,
  maxIters: 2000,
  lr: 2e-3,
  minLr: 2e-4,
  warmupIters: 100, // what makeConfig derives for maxIters 2000: 10% of maxIters, at most 100, unless given
  weightDecay: 0.1,
  beta1: 0.9,
  beta2: 0.99,
  eps: 1e-8,
  gradClip: 1.0,
  evalInterval: 250,
  evalIters: 10,
  logInterval: 10,
  seed: 1337,
  step: 'recorded',
};

export class ConfigError extends Error {
  override name = 'ConfigError';
}

const INT_FIELDS = [
  'nLayer',
  'nHead',
  'nEmbd',
  'blockSize',
  'batchSize',
  'gradAccumSteps',
  'maxIters',
  'warmupIters',
  'evalInterval',
  'evalIters',
  'logInterval',
] as const;

/**
 * Reject impossible configs with one line naming the field and the fix.
 * `corpusLength` (optional) is the length of the smaller split, which must hold a window.
 */
export function validate(cfg: Config, corpusLength?: number): void {
  for (const k of INT_FIELDS) {
    const v = cfg[k];
    if (!Number.isInteger(v) || v <= 0) {
      if (k === 'warmupIters' && v === 0) continue;
      throw new ConfigError(`${k} must be a positive integer (got ${v})`);
    }
  }
  if (cfg.nEmbd % cfg.nHead !== 0) {
    throw new ConfigError(`nEmbd (${cfg.nEmbd}) must be divisible by nHead (${cfg.nHead}): pick nHead among ${divisors(cfg.nEmbd).join(', ')}`);
  }
  if (cfg.gelu !== undefined && !GELU_FORMS.includes(cfg.gelu))
    throw new ConfigError(`gelu must be ${GELU_FORMS.join(' or ')} (got ${JSON.stringify(cfg.gelu)})`);
  if (!(cfg.dropout >= 0 && cfg.dropout < 1)) throw new ConfigError(`dropout must be in [0, 1) (got ${cfg.dropout})`);
  if (!(cfg.lr > 0 && Number.isFinite(cfg.lr))) throw new ConfigError(`lr must be a positive number (got ${cfg.lr})`);
  if (!(cfg.minLr >= 0 && cfg.minLr <= cfg.lr)) throw new ConfigError(`minLr must be between 0 and lr=${cfg.lr} (got ${cfg.minLr})`);
  if (cfg.warmupIters > cfg.maxIters) throw new ConfigError(`warmupIters (${cfg.warmupIters}) must not exceed maxIters (${cfg.maxIters})`);
  if (!(cfg.weightDecay >= 0)) throw new ConfigError(`weightDecay must be >= 0 (got ${cfg.weightDecay})`);
  for (const k of ['beta1', 'beta2'] as const) {
    if (!(cfg[k] >= 0 && cfg[k] < 1)) throw new ConfigError(`${k} must be in [0, 1) (got ${cfg[k]})`);
  }
  if (!(cfg.eps > 0)) throw new ConfigError(`eps must be > 0 (got ${cfg.eps})`);
  if (!(cfg.gradClip >= 0)) throw new ConfigError(`gradClip must be >= 0 (got ${cfg.gradClip})`);
  if (!Number.isInteger(cfg.seed)) throw new ConfigError(`seed must be an integer (got ${cfg.seed})`);
  // Absent in checkpoints and results written before the field existed: the default then.
  if (cfg.step !== undefined && !STEP_MODES.includes(cfg.step)) throw new ConfigError(`step must be ${STEP_MODES.join(' or ')} (got '${cfg.step}')`);
  if (corpusLength !== undefined && cfg.blockSize + 1 > corpusLength) {
    throw new ConfigError(
      `blockSize (${cfg.blockSize}) is larger than the text allows (${corpusLength} characters in the smaller split): use a longer text or --block-size ${Math.max(1, corpusLength - 1)} or less`,
    );
  }
}

function divisors(n: number): number[] {
  const out: number[] = [];
  for (let d = 1; d <= n; d++) if (n % d === 0) out.push(d);
  return out.slice(0, 8);
}

/** Build a config from defaults, then a preset, then explicit overrides (in that order). */
export function makeConfig(overrides: Partial<Config> & { preset?: PresetName } = {}): Config {
  const { preset, ...rest } = overrides;
  if (preset !== undefined && !(preset in PRESETS)) {
    throw new ConfigError(`unknown preset '${preset}': choose one of ${PRESET_NAMES.join(', ')}`);
  }
  const base = preset ? { ...DEFAULT_CONFIG, ...PRESETS[preset] } : { ...DEFAULT_CONFIG };
  const cfg = { ...base } as Config;
  for (const [k, v] of Object.entries(rest)) if (v !== undefined) (cfg as unknown as Record<string, unknown>)[k] = v;
  // Unless set explicitly, warmup is 10% of the run (at most 100 steps), so a short run still decays.
  if (rest.warmupIters === undefined) cfg.warmupIters = Math.min(100, Math.floor(cfg.maxIters / 10));
  // Likewise a --lr below the default floor brings the floor down with it (nanoGPT: minLr ~ lr / 10).
  if (rest.minLr === undefined && cfg.minLr > cfg.lr) cfg.minLr = cfg.lr / 10;
  return cfg;
}

/** CLI flags that are not the kebab case of their field: nanoGPT users type --grad-accum. */
const FLAG_ALIASES: Record<string, string> = { gradAccumSteps: 'grad-accum' };

/** camelCase config key -> kebab-case CLI flag (nLayer -> n-layer; gradAccumSteps -> grad-accum). */
export function toKebab(key: string): string {
  return FLAG_ALIASES[key] ?? key.replace(/[A-Z]/g, (m) => '-' + m.toLowerCase());
}
/** kebab-case CLI flag -> camelCase config key (block-size -> blockSize; grad-accum -> gradAccumSteps). */
export function toCamel(flag: string): string {
  const alias = Object.keys(FLAG_ALIASES).find((k) => FLAG_ALIASES[k] === flag);
  return alias ?? flag.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
}

/** Every numeric config key (the ones a CLI flag or URL parameter may set). */
export const NUMERIC_KEYS = Object.keys(DEFAULT_CONFIG).filter(
  (k) => typeof DEFAULT_CONFIG[k as keyof Config] === 'number' && k !== 'vocabSize',
) as (keyof Config)[];

/**
 * Parse one `key=value` pair (camelCase or kebab-case key) onto a config.
 * Shared by the CLI flags and the page's URL so both accept the same names.
 */
export function setField(cfg: Config, key: string, value: string): void {
  const k = (key.includes('-') ? toCamel(key) : key) as keyof Config;
  if (k === 'bias' || k === 'recompute') {
    if (value !== 'true' && value !== 'false' && value !== '1' && value !== '0') throw new ConfigError(`${k} must be true or false (got '${value}')`);
    cfg[k] = value === 'true' || value === '1';
    return;
  }
  if (k === 'step') {
    if (!(STEP_MODES as readonly string[]).includes(value)) throw new ConfigError(`step must be ${STEP_MODES.join(' or ')} (got '${value}')`);
    cfg.step = value as StepMode;
    return;
  }
  if (k === 'gelu') {
    if (!GELU_FORMS.includes(value as GeluForm)) throw new ConfigError(`gelu must be ${GELU_FORMS.join(' or ')} (got '${value}')`);
    cfg.gelu = value as GeluForm;
    return;
  }
  if (!NUMERIC_KEYS.includes(k)) throw new ConfigError(`unknown config key '${key}'`);
  const num = Number(value);
  if (value.trim() === '' || !Number.isFinite(num)) throw new ConfigError(`${toKebab(k)} must be a number (got '${value}')`);
  (cfg as unknown as Record<string, number>)[k] = num;
}

export function modelConfigOf(cfg: ModelConfig): ModelConfig {
  const { nLayer, nHead, nEmbd, blockSize, vocabSize, dropout, bias, gelu } = cfg;
  return { nLayer, nHead, nEmbd, blockSize, vocabSize, dropout, bias, ...(gelu !== undefined ? { gelu } : {}) };
}
