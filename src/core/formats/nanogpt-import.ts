// nanoGPT's ckpt.pt (+ meta.pkl) read into a tabgpt checkpoint; a pickle is never
// executed (pickle.ts builds only known structures). nanogpt.ts has the file layout.

import { DEFAULT_CONFIG, validate, type Config, type GeluForm } from '../config';
import type { CheckpointMeta } from '../checkpoint-validate';
import { unpickle, PickleError, RefusedGlobal } from './pickle';
import { encodeSafetensors, type FileTensor } from './safetensors';
import { loadTorch, TorchTensor, TorchFileError } from './torch-file';
import { NanoGPTError, nanoParameters, optimizerGroups, type ModelArgs } from './nanogpt-args';

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
