// A tabgpt checkpoint as nanoGPT's ckpt.pt + meta.pkl (+ train.bin / val.bin), and
// the train.py command that continues it (nanogpt.ts has the file layout).

import type { CheckpointMeta } from '../checkpoint-validate';
import { splitTokens } from '../data';
import { Tokenizer } from '../tokenizer';
import { pickle, PyFloat, PyTuple, type PyValue } from './pickle';
import type { FileTensor } from './safetensors';
import { saveTorch, type SaveValue, type TensorToSave } from './torch-file';
import { NanoGPTError, nanoParameters, optimizerGroups, type ModelArgs } from './nanogpt-args';

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
