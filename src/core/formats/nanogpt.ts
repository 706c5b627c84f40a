// nanoGPT's checkpoint (ckpt.pt, written by its train.py with torch.save) and
// vocabulary (meta.pkl, written by its data/*/prepare.py), to and from a
// tabgpt checkpoint. No tfjs: the page converts an upload with it too.
//
// ckpt.pt = {
//   model:         state dict: tabgpt's parameter names and PyTorch layouts,
//                  plus lm_head.weight (tied: the same storage as wte), the
//                  causal-mask buffers transformer.h.<l>.attn.bias that
//                  model.py registers on PyTorch < 2.0, and an `_orig_mod.`
//                  prefix when the model was torch.compile'd
//   optimizer:     torch.optim.AdamW's state dict over nanoGPT's two groups
//                  (configure_optimizers: parameters with dim >= 2 decay,
//                  the rest do not, each in named_parameters order), per
//                  parameter index {step, exp_avg, exp_avg_sq}
//   model_args:    n_layer, n_head, n_embd, block_size, bias, vocab_size, dropout
//   iter_num, best_val_loss, config (train.py's settings)
// }
// meta.pkl = { vocab_size, itos: {id: char}, stoi: {char: id} }
//
// GELU: nanoGPT's MLP is nn.GELU(), the exact erf form; a tabgpt model may use
// GPT-2's tanh form (config.gelu). An import computes erf unless the file
// says otherwise (config.gelu = 'tanh', which an export records).

import { DEFAULT_CONFIG, validate, type Config, type GeluForm } from '../config';
import type { CheckpointMeta } from '../checkpoint-validate';
import { splitTokens } from '../data';
import { Tokenizer } from '../tokenizer';
import { isLinearWeight, paramShapes } from '../counts';
import { pickle, PyFloat, PyTuple, unpickle, PickleError, RefusedGlobal, type PyValue } from './pickle';
import { encodeSafetensors, type FileTensor } from './safetensors';
import { loadTorch, saveTorch, TorchTensor, TorchFileError, type SaveValue, type TensorToSave } from './torch-file';

/** A nanoGPT file that cannot be converted: one line naming the problem. */
export class NanoGPTError extends Error {
  override name = 'NanoGPTError';
}

export interface ModelArgs {
  n_layer: number;
  n_head: number;
  n_embd: number;
  block_size: number;
  bias: boolean;
  vocab_size: number;
  dropout: number;
}

/** nanoGPT's parameters in named_parameters order with PyTorch shapes (the tied lm_head.weight omitted). */
export function nanoParameters(a: Pick<ModelArgs, 'n_layer' | 'n_embd' | 'block_size' | 'bias' | 'vocab_size'>): [string, number[]][] {
  const shapes = paramShapes({ nLayer: a.n_layer, nHead: 1, nEmbd: a.n_embd, blockSize: a.block_size, vocabSize: a.vocab_size, dropout: 0, bias: a.bias });
  return shapes.map(([name, shape]) => [name, isLinearWeight(name) ? [...shape].reverse() : shape]); // PyTorch's Linear keeps [out, in]
}

/** configure_optimizers' groups: indices into nanoParameters, decay (dim >= 2) first. */
function optimizerGroups(params: [string, number[]][]): { decay: string[]; noDecay: string[] } {
  return { decay: params.filter(([, s]) => s.length >= 2).map(([n]) => n), noDecay: params.filter(([, s]) => s.length < 2).map(([n]) => n) };
}

// ---------------------------------------------------------------- export

export interface ExportOptions {
  /** Where ckpt.pt, meta.pkl (and train.bin / val.bin) go: nanoGPT's --out_dir and --dataset. */
  dir: string;
  /** Include model.py's causal-mask buffers (attn.bias): PyTorch < 2.0 registers them, 2.x's strict load refuses them. */
  maskBuffers: boolean;
  /** Continue to this many iterations (default: the run's own maxIters). */
  maxIters?: number;
}

export interface Exported {
  ckpt: Uint8Array;
  metaPkl: Uint8Array;
  /** train.py's --key=value flags that continue the run with the same schedule, batch, block, dropout and betas. */
  flags: string[];
}

/** A Python literal train.py's configurator reads back with the same type (floats keep a '.'). */
function pyLiteral(v: number | boolean | string, float: boolean): string {
  if (typeof v === 'boolean') return v ? 'True' : 'False';
  if (typeof v === 'string') return v;
  if (!float) return String(v);
  const s = String(v);
  return /[.eE]/.test(s) || !Number.isFinite(v) ? s : `${s}.0`;
}

/**
 * nanoGPT's ckpt.pt and meta.pkl for a tabgpt checkpoint: `meta` its metadata,
 * `tensors` its tensors in file layout (safetensors.fileTensors).
 */
export function toNanoGPT(meta: CheckpointMeta, tensors: Map<string, FileTensor>, opts: ExportOptions): Exported {
  const cfg = meta.config;
  const args: ModelArgs = {
    n_layer: cfg.nLayer,
    n_head: cfg.nHead,
    n_embd: cfg.nEmbd,
    block_size: cfg.blockSize,
    bias: cfg.bias,
    vocab_size: cfg.vocabSize,
    dropout: cfg.dropout,
  };
  const params = nanoParameters(args);
  const toSave = (t: FileTensor): TensorToSave => ({ shape: t.shape, data: t.data });
  const model = new Map<PyValue, SaveValue>();
  const wte = toSave(tensors.get('transformer.wte.weight')!);
  for (const [name] of params) {
    const t = tensors.get(name);
    if (!t) throw new NanoGPTError(`the checkpoint has no ${name}`);
    model.set(name, name === 'transformer.wte.weight' ? wte : toSave(t));
    if (opts.maskBuffers && name.endsWith('.ln_1.weight')) {
      // model.py's register_buffer("bias", tril(ones(T, T)).view(1, 1, T, T)) on PyTorch < 2.0
      const T = cfg.blockSize;
      const mask = new Float32Array(T * T);
      for (let i = 0; i < T; i++) for (let j = 0; j <= i; j++) mask[i * T + j] = 1;
      model.set(name.replace('.ln_1.weight', '.attn.bias'), { shape: [1, 1, T, T], data: mask });
    }
  }
  model.set('lm_head.weight', { ...wte, storage: wte }); // tied: one storage, as torch.save writes it

  const maxIters = opts.maxIters ?? cfg.maxIters;
  let optimizer: SaveValue = null;
  if (meta.adamT !== undefined && tensors.has('optimizer.exp_avg.transformer.wte.weight')) {
    const { decay, noDecay } = optimizerGroups(params);
    const state = new Map<PyValue, SaveValue>();
    [...decay, ...noDecay].forEach((name, i) => {
      state.set(
        i,
        new Map<PyValue, SaveValue>([
          ['step', { shape: [], data: Float32Array.of(meta.adamT!) }],
          ['exp_avg', toSave(tensors.get(`optimizer.exp_avg.${name}`)!)],
          ['exp_avg_sq', toSave(tensors.get(`optimizer.exp_avg_sq.${name}`)!)],
        ]),
      );
    });
    // lr: train.py sets every group's lr (get_lr) before each step, so the peak stands here
    const group = (wd: number, ids: number[]) =>
      new Map<PyValue, SaveValue>([
        ['lr', new PyFloat(cfg.lr)],
        ['betas', new PyTuple([new PyFloat(cfg.beta1), new PyFloat(cfg.beta2)])],
        ['eps', new PyFloat(cfg.eps)],
        ['weight_decay', new PyFloat(wd)],
        ['amsgrad', false],
        ['foreach', null],
        ['maximize', false],
        ['capturable', false],
        ['differentiable', false],
        ['fused', null],
        ['params', ids],
      ]);
    optimizer = new Map<PyValue, SaveValue>([
      ['state', state],
      [
        'param_groups',
        [
          group(
            cfg.weightDecay,
            decay.map((_, i) => i),
          ),
          group(
            0,
            noDecay.map((_, i) => decay.length + i),
          ),
        ],
      ],
    ]);
  }

  // train.py's settings, in its order; `gelu` is tabgpt's record of the MLP's form (train.py ignores it).
  const settings: [string, number | boolean | string, boolean][] = [
    ['out_dir', opts.dir, false],
    ['eval_interval', cfg.evalInterval, false],
    ['log_interval', cfg.logInterval, false],
    ['eval_iters', cfg.evalIters, false],
    ['eval_only', false, false],
    ['always_save_checkpoint', true, false],
    ['init_from', 'resume', false],
    ['wandb_log', false, false],
    ['wandb_project', 'owt', false],
    ['wandb_run_name', 'gpt2', false],
    ['dataset', opts.dir, false],
    ['gradient_accumulation_steps', 1, false],
    ['batch_size', cfg.batchSize, false],
    ['block_size', cfg.blockSize, false],
    ['n_layer', cfg.nLayer, false],
    ['n_head', cfg.nHead, false],
    ['n_embd', cfg.nEmbd, false],
    ['dropout', cfg.dropout, true],
    ['bias', cfg.bias, false],
    ['learning_rate', cfg.lr, true],
    ['max_iters', maxIters, false],
    ['weight_decay', cfg.weightDecay, true],
    ['beta1', cfg.beta1, true],
    ['beta2', cfg.beta2, true],
    ['grad_clip', cfg.gradClip, true],
    ['decay_lr', true, false],
    ['warmup_iters', cfg.warmupIters, false],
    ['lr_decay_iters', maxIters, false],
    ['min_lr', cfg.minLr, true],
    ['backend', 'nccl', false],
    ['device', 'cuda', false],
    ['dtype', 'bfloat16', false],
    ['compile', true, false],
  ];
  const config = new Map<PyValue, SaveValue>(settings.map(([k, v, f]) => [k, f ? new PyFloat(v as number) : v]));
  config.set('gelu', cfg.gelu ?? 'tanh');
  const valLoss = Number(meta.extra?.val_loss);
  const ckpt = saveTorch(
    new Map<PyValue, SaveValue>([
      ['model', model],
      ['optimizer', optimizer],
      [
        'model_args',
        new Map<PyValue, SaveValue>([
          ['n_layer', args.n_layer],
          ['n_head', args.n_head],
          ['n_embd', args.n_embd],
          ['block_size', args.block_size],
          ['bias', args.bias],
          ['vocab_size', args.vocab_size],
          ['dropout', new PyFloat(args.dropout)],
        ]),
      ],
      ['iter_num', meta.step],
      ['best_val_loss', new PyFloat(Number.isFinite(valLoss) ? valLoss : 1e9)],
      ['config', config],
    ]),
  );

  const onCommandLine = new Set([
    'init_from',
    'out_dir',
    'dataset',
    'gradient_accumulation_steps',
    'batch_size',
    'block_size',
    'dropout',
    'learning_rate',
    'min_lr',
    'max_iters',
    'lr_decay_iters',
    'warmup_iters',
    'weight_decay',
    'beta1',
    'beta2',
    'grad_clip',
    'eval_interval',
    'eval_iters',
    'log_interval',
  ]);
  const flags = settings.filter(([k]) => onCommandLine.has(k)).map(([k, v, f]) => `--${k}=${pyLiteral(v, f)}`);
  return { ckpt, metaPkl: metaPickle(meta.vocab), flags };
}

/** meta.pkl as nanoGPT's prepare.py writes it. */
export function metaPickle(vocab: string[]): Uint8Array {
  return pickle(
    new Map<PyValue, PyValue>([
      ['vocab_size', vocab.length],
      ['itos', new Map(vocab.map((c, i) => [i, c]))],
      ['stoi', new Map(vocab.map((c, i) => [c, i]))],
    ]),
  );
}

/** train.bin / val.bin: the text's token ids in this vocabulary as uint16, nanoGPT's 90/10 split. */
export function tokenBins(text: string, vocab: string[]): { train: Uint8Array; val: Uint8Array } {
  if (vocab.length > 65536) throw new NanoGPTError(`the vocabulary has ${vocab.length} characters; nanoGPT's .bin files hold uint16 ids (at most 65536)`);
  const tok = new Tokenizer(vocab);
  const missing = tok.missing(text);
  if (missing.length > 0)
    throw new NanoGPTError(
      `the text has ${missing.length} characters the model does not know (${missing
        .slice(0, 5)
        .map((c) => JSON.stringify(c))
        .join(', ')}): give the text the model was trained on`,
    );
  const { train, val } = splitTokens(tok.encode(text));
  const bin = (ids: Int32Array) => new Uint8Array(Uint16Array.from(ids).buffer);
  return { train: bin(train), val: bin(val) };
}

// ---------------------------------------------------------------- import

export interface ImportInfo {
  config: Config;
  step: number;
  bestValLoss: number | null;
  optimizer: boolean;
  /** What was dropped or assumed, one line each (the causal-mask buffers, a compiled model's prefix, ...). */
  notes: string[];
}

const isMap = (v: unknown): v is Map<unknown, unknown> => v instanceof Map;
const num = (v: unknown): number | null =>
  typeof v === 'number' ? v : v instanceof TorchTensor && v.data.length === 1 ? v.data[0] : typeof v === 'boolean' ? Number(v) : null;

/** Read meta.pkl's vocabulary (nanoGPT's character-level itos). */
export function readMeta(bytes: Uint8Array, name = 'meta.pkl'): string[] {
  let meta: unknown;
  try {
    meta = unpickle(bytes, {});
  } catch (e) {
    if (e instanceof RefusedGlobal)
      throw new NanoGPTError(`${name} refers to ${e.qualified}, which nanoGPT's meta.pkl does not: refused (tabgpt never executes a pickle)`);
    if (e instanceof PickleError) throw new NanoGPTError(`${name} ${e.message}`);
    throw e;
  }
  if (!isMap(meta) || !isMap(meta.get('itos')))
    throw new NanoGPTError(
      `${name} has no itos (id -> character) table: tabgpt reads nanoGPT's character-level meta.pkl (data/shakespeare_char/prepare.py writes one)`,
    );
  const itos = meta.get('itos') as Map<unknown, unknown>;
  const size = num(meta.get('vocab_size')) ?? itos.size;
  const vocab: string[] = [];
  for (let i = 0; i < size; i++) {
    const c = itos.get(i);
    if (typeof c !== 'string') throw new NanoGPTError(`${name}: itos has no character for id ${i} (vocab_size ${size})`);
    vocab.push(c);
  }
  return vocab;
}

/**
 * A tabgpt checkpoint (safetensors bytes) from nanoGPT's ckpt.pt bytes and its
 * vocabulary (readMeta). Throws NanoGPTError with one line for anything else.
 */
export async function fromNanoGPT(ckptBytes: Uint8Array, vocab: string[] | null, name = 'ckpt.pt'): Promise<{ bytes: Uint8Array; info: ImportInfo }> {
  const bad = (why: string) => new NanoGPTError(`${name}: ${why}`);
  let root: unknown;
  try {
    root = loadTorch(ckptBytes);
  } catch (e) {
    if (e instanceof TorchFileError) throw bad(e.message);
    throw e;
  }
  if (!isMap(root) || !isMap(root.get('model'))) throw bad('holds no `model` state dict: is it a nanoGPT checkpoint (out/ckpt.pt from train.py)?');
  const margs = root.get('model_args');
  if (!isMap(margs)) throw bad('holds no model_args (n_layer, n_head, n_embd, block_size, bias, vocab_size): is it a nanoGPT checkpoint?');
  const intArg = (k: string) => {
    const v = num(margs.get(k));
    if (v === null || !Number.isInteger(v) || v < 1) throw bad(`model_args.${k} is ${String(margs.get(k))}: a positive integer was expected`);
    return v;
  };
  const args: ModelArgs = {
    n_layer: intArg('n_layer'),
    n_head: intArg('n_head'),
    n_embd: intArg('n_embd'),
    block_size: intArg('block_size'),
    vocab_size: intArg('vocab_size'),
    bias: margs.get('bias') !== false,
    dropout: num(margs.get('dropout')) ?? 0,
  };
  if (!vocab) throw bad('has no vocabulary: give its meta.pkl too (nanoGPT keeps it at data/<dataset>/meta.pkl)');
  if (vocab.length !== args.vocab_size)
    throw bad(
      `model_args.vocab_size is ${args.vocab_size} but meta.pkl has ${vocab.length} characters: give the meta.pkl of the data this model was trained on`,
    );

  const notes: string[] = [];
  const state = new Map<string, unknown>();
  let compiled = false;
  for (const [k, v] of root.get('model') as Map<unknown, unknown>) {
    if (typeof k !== 'string') throw bad('the state dict has a key that is not a string');
    const key = k.startsWith('_orig_mod.') ? ((compiled = true), k.slice('_orig_mod.'.length)) : k;
    state.set(key, v);
  }
  if (compiled) notes.push("the `_orig_mod.` prefix of a torch.compile'd model was removed");
  let masks = 0;
  for (const k of [...state.keys()]) {
    if (/^transformer\.h\.\d+\.attn\.(bias|masked_bias)$/.test(k)) {
      state.delete(k);
      masks++;
    }
  }
  if (masks) notes.push(`${masks} causal-mask buffers (attn.bias, PyTorch < 2.0) dropped: tabgpt builds its own mask`);
  const params = nanoParameters(args);
  const tensor = (key: string, v: unknown, shape: number[], where: string): TorchTensor => {
    if (!(v instanceof TorchTensor)) throw bad(`${where}${key} is missing or not a tensor`);
    if (v.shape.length !== shape.length || v.shape.some((d, i) => d !== shape[i])) {
      throw bad(
        `${where}${key} has shape [${v.shape}] but model_args (n_layer ${args.n_layer}, n_embd ${args.n_embd}, block_size ${args.block_size}, vocab_size ${args.vocab_size}, bias ${args.bias}) implies [${shape}]`,
      );
    }
    return v;
  };
  const entries: FileTensor[] = params.map(([k, shape]) => ({ name: k, shape, data: tensor(k, state.get(k), shape, '').data }));
  const head = state.get('lm_head.weight');
  if (head !== undefined) {
    const wte = state.get('transformer.wte.weight') as TorchTensor;
    const h = tensor('lm_head.weight', head, [args.vocab_size, args.n_embd], '');
    if (h.storageKey !== wte.storageKey && h.data.some((x, i) => x !== wte.data[i]))
      throw bad('lm_head.weight differs from transformer.wte.weight: tabgpt ties them (as nanoGPT does)');
    state.delete('lm_head.weight');
  }
  const known = new Set(params.map(([k]) => k));
  for (const k of state.keys()) if (!known.has(k)) throw bad(`tensor ${k} is not part of nanoGPT's GPT with these model_args (an extra tensor)`);

  const adam = readOptimizer(root.get('optimizer'), params, tensor, bad);
  if ('note' in adam) notes.push(adam.note);
  else entries.push(...adam.entries);
  const adamT = 'note' in adam ? undefined : adam.t;
  const eps = 'note' in adam ? null : adam.eps;

  const config = importConfig(args, root.get('config'), eps);
  try {
    validate(config);
  } catch (e) {
    throw bad(`its settings do not make a valid tabgpt config: ${(e as Error).message}`);
  }
  const step = num(root.get('iter_num'));
  const best = num(root.get('best_val_loss'));
  const bestValLoss = best !== null && best < 1e9 ? best : null;
  const meta: CheckpointMeta = {
    config,
    vocab,
    step: step !== null && Number.isInteger(step) && step >= 0 ? step : 0,
    seed: config.seed,
    rngState: 0,
    adamT,
    extra: { imported_from: `nanoGPT ${name}`, ...(bestValLoss !== null ? { val_loss: String(bestValLoss) } : {}) },
  };
  return { bytes: await encodeSafetensors(meta, entries), info: { config, step: meta.step, bestValLoss, optimizer: adamT !== undefined, notes } };
}

/**
 * AdamW's state dict as tabgpt's optimizer tensors: parameter indices mapped
 * back to names through configure_optimizers' groups (decayed first). A state
 * that is absent or does not follow those groups (a run with frozen
 * parameters) is left out with a note; a malformed one is refused.
 */
function readOptimizer(
  opt: unknown,
  params: [string, number[]][],
  tensor: (key: string, v: unknown, shape: number[], where: string) => TorchTensor,
  bad: (why: string) => NanoGPTError,
): { entries: FileTensor[]; t: number; eps: number | null } | { note: string } {
  const state = isMap(opt) ? opt.get('state') : null;
  if (!isMap(state) || state.size === 0) return { note: 'no optimizer state: the model samples and fine-tunes; resuming starts AdamW afresh' };
  const groups = (opt as Map<unknown, unknown>).get('param_groups');
  const { decay, noDecay } = optimizerGroups(params);
  const ids = Array.isArray(groups) ? groups.map((g) => (isMap(g) && Array.isArray(g.get('params')) ? (g.get('params') as unknown[]) : [])) : [];
  if (ids.length !== 2 || ids[0].length !== decay.length || ids[1].length !== noDecay.length) {
    return {
      note: `its optimizer state does not follow nanoGPT's two parameter groups (${decay.length} decayed, ${noDecay.length} not), so it was left out: resuming starts AdamW afresh`,
    };
  }
  const shapes = new Map(params);
  const entries: FileTensor[] = [];
  let t: number | undefined;
  [...decay, ...noDecay].forEach((name, i) => {
    const s = state.get(i < decay.length ? ids[0][i] : ids[1][i - decay.length]);
    if (!isMap(s)) throw bad(`its optimizer has no state for parameter ${i} (${name})`);
    const step = num(s.get('step'));
    if (step === null || !Number.isInteger(step) || step < 0) throw bad(`its optimizer's step for ${name} is not a count`);
    if (t !== undefined && step !== t) throw bad(`its optimizer's steps differ between parameters (${t} and ${step})`);
    t = step;
    const shape = shapes.get(name)!;
    entries.push({ name: `optimizer.exp_avg.${name}`, shape, data: tensor('exp_avg', s.get('exp_avg'), shape, `optimizer state of ${name}: `).data });
    entries.push({ name: `optimizer.exp_avg_sq.${name}`, shape, data: tensor('exp_avg_sq', s.get('exp_avg_sq'), shape, `optimizer state of ${name}: `).data });
  });
  const g0 = (groups as unknown[])[0];
  return { entries, t: t!, eps: num(isMap(g0) ? g0.get('eps') : null) };
}

/** tabgpt's config from model_args and train.py's settings (defaults where the file has none). */
function importConfig(a: ModelArgs, settings: unknown, eps: number | null): Config {
  const s = isMap(settings) ? settings : new Map<unknown, unknown>();
  const n = (k: string, dflt: number) => num(s.get(k)) ?? dflt;
  const accum = Math.max(1, n('gradient_accumulation_steps', 1));
  const maxIters = s.get('decay_lr') === false ? n('max_iters', DEFAULT_CONFIG.maxIters) : n('lr_decay_iters', n('max_iters', DEFAULT_CONFIG.maxIters));
  const gelu: GeluForm = s.get('gelu') === 'tanh' ? 'tanh' : 'erf';
  return {
    ...DEFAULT_CONFIG,
    nLayer: a.n_layer,
    nHead: a.n_head,
    nEmbd: a.n_embd,
    blockSize: a.block_size,
    vocabSize: a.vocab_size,
    dropout: a.dropout,
    bias: a.bias,
    gelu,
    // tokens per step as train.py counts them: batch_size sequences per micro-step, gradient_accumulation_steps micro-steps
    batchSize: n('batch_size', DEFAULT_CONFIG.batchSize) * accum,
    maxIters,
    lr: n('learning_rate', DEFAULT_CONFIG.lr),
    minLr: n('min_lr', DEFAULT_CONFIG.minLr),
    warmupIters: Math.min(n('warmup_iters', DEFAULT_CONFIG.warmupIters), maxIters),
    weightDecay: n('weight_decay', DEFAULT_CONFIG.weightDecay),
    beta1: n('beta1', DEFAULT_CONFIG.beta1),
    beta2: n('beta2', DEFAULT_CONFIG.beta2),
    eps: eps ?? DEFAULT_CONFIG.eps,
    gradClip: n('grad_clip', DEFAULT_CONFIG.gradClip),
    evalInterval: n('eval_interval', DEFAULT_CONFIG.evalInterval),
    evalIters: n('eval_iters', DEFAULT_CONFIG.evalIters),
    logInterval: n('log_interval', DEFAULT_CONFIG.logInterval),
  };
}
