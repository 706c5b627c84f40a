"""PyTorch's side of tests/pytorch-interop.test.ts: nanoGPT's model and checkpoint, for real.

The GPT below mirrors nanoGPT's model.py (same modules, names, init and
forward; the GELU form is a constructor argument so a tabgpt export trained
with the tanh form can be checked exactly), and `make` saves its checkpoint
the way nanoGPT's train.py does.

  python3 nanogpt_interop.py make DIR   train a small nanoGPT a few steps, save DIR/ckpt.pt
                                        (model, optimizer, model_args, iter_num, best_val_loss,
                                        config) and DIR/meta.pkl, and DIR/expected.json: its
                                        logits for a probe and its greedy continuation; also
                                        DIR/ckpt_nobias.pt, a bias=False model without optimizer
  python3 nanogpt_interop.py check DIR  torch.load DIR/ckpt.pt (tabgpt's to-nanogpt), load it
                                        strictly into the GPT, write its logits for the probe,
                                        load the optimizer state into AdamW with nanoGPT's groups
                                        and take a few steps on DIR/train.bin: DIR/checked.json
"""
import json
import math
import os
import pickle
import sys
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn as nn
from torch.nn import functional as F


class LayerNorm(nn.Module):
    def __init__(self, ndim, bias):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(ndim))
        self.bias = nn.Parameter(torch.zeros(ndim)) if bias else None

    def forward(self, input):
        return F.layer_norm(input, self.weight.shape, self.weight, self.bias, 1e-5)


class CausalSelfAttention(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.c_attn = nn.Linear(config.n_embd, 3 * config.n_embd, bias=config.bias)
        self.c_proj = nn.Linear(config.n_embd, config.n_embd, bias=config.bias)
        self.attn_dropout = nn.Dropout(config.dropout)
        self.resid_dropout = nn.Dropout(config.dropout)
        self.n_head = config.n_head
        self.n_embd = config.n_embd
        self.dropout = config.dropout
        self.flash = hasattr(torch.nn.functional, 'scaled_dot_product_attention')
        if not self.flash:
            self.register_buffer("bias", torch.tril(torch.ones(config.block_size, config.block_size))
                                 .view(1, 1, config.block_size, config.block_size))

    def forward(self, x):
        B, T, C = x.size()
        q, k, v = self.c_attn(x).split(self.n_embd, dim=2)
        k = k.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)
        q = q.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)
        v = v.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)
        if self.flash:
            y = torch.nn.functional.scaled_dot_product_attention(q, k, v, attn_mask=None, dropout_p=self.dropout if self.training else 0, is_causal=True)
        else:
            att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(k.size(-1)))
            att = att.masked_fill(self.bias[:, :, :T, :T] == 0, float('-inf'))
            att = F.softmax(att, dim=-1)
            att = self.attn_dropout(att)
            y = att @ v
        y = y.transpose(1, 2).contiguous().view(B, T, C)
        return self.resid_dropout(self.c_proj(y))


class MLP(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.c_fc = nn.Linear(config.n_embd, 4 * config.n_embd, bias=config.bias)
        self.gelu = nn.GELU(approximate='tanh' if config.gelu == 'tanh' else 'none')  # nanoGPT: nn.GELU()
        self.c_proj = nn.Linear(4 * config.n_embd, config.n_embd, bias=config.bias)
        self.dropout = nn.Dropout(config.dropout)

    def forward(self, x):
        return self.dropout(self.c_proj(self.gelu(self.c_fc(x))))


class Block(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.ln_1 = LayerNorm(config.n_embd, bias=config.bias)
        self.attn = CausalSelfAttention(config)
        self.ln_2 = LayerNorm(config.n_embd, bias=config.bias)
        self.mlp = MLP(config)

    def forward(self, x):
        x = x + self.attn(self.ln_1(x))
        return x + self.mlp(self.ln_2(x))


@dataclass
class GPTConfig:
    block_size: int = 1024
    vocab_size: int = 50304
    n_layer: int = 12
    n_head: int = 12
    n_embd: int = 768
    dropout: float = 0.0
    bias: bool = True
    gelu: str = 'erf'


class GPT(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.config = config
        self.transformer = nn.ModuleDict(dict(
            wte=nn.Embedding(config.vocab_size, config.n_embd),
            wpe=nn.Embedding(config.block_size, config.n_embd),
            drop=nn.Dropout(config.dropout),
            h=nn.ModuleList([Block(config) for _ in range(config.n_layer)]),
            ln_f=LayerNorm(config.n_embd, bias=config.bias),
        ))
        self.lm_head = nn.Linear(config.n_embd, config.vocab_size, bias=False)
        self.transformer.wte.weight = self.lm_head.weight
        self.apply(self._init_weights)
        for pn, p in self.named_parameters():
            if pn.endswith('c_proj.weight'):
                torch.nn.init.normal_(p, mean=0.0, std=0.02 / math.sqrt(2 * config.n_layer))

    def _init_weights(self, module):
        if isinstance(module, nn.Linear):
            torch.nn.init.normal_(module.weight, mean=0.0, std=0.02)
            if module.bias is not None:
                torch.nn.init.zeros_(module.bias)
        elif isinstance(module, nn.Embedding):
            torch.nn.init.normal_(module.weight, mean=0.0, std=0.02)

    def forward(self, idx, targets=None):
        b, t = idx.size()
        pos = torch.arange(0, t, dtype=torch.long, device=idx.device)
        x = self.transformer.drop(self.transformer.wte(idx) + self.transformer.wpe(pos))
        for block in self.transformer.h:
            x = block(x)
        x = self.transformer.ln_f(x)
        logits = self.lm_head(x)
        loss = None if targets is None else F.cross_entropy(logits.view(-1, logits.size(-1)), targets.view(-1), ignore_index=-1)
        return logits, loss

    def configure_optimizers(self, weight_decay, learning_rate, betas):
        param_dict = {pn: p for pn, p in self.named_parameters() if p.requires_grad}
        decay_params = [p for n, p in param_dict.items() if p.dim() >= 2]
        nodecay_params = [p for n, p in param_dict.items() if p.dim() < 2]
        optim_groups = [{'params': decay_params, 'weight_decay': weight_decay}, {'params': nodecay_params, 'weight_decay': 0.0}]
        return torch.optim.AdamW(optim_groups, lr=learning_rate, betas=betas)


# a small dialogue of the test's own (no corpus text in the repository)
TEXT = ("Ada:\nLet us count the stones before the tide comes in.\n\nBen:\nCount them, count.\n\n"
        "Ada:\nAre you all ready rather to swim than to wait?\n\nBen:\nReady. ready.\n") * 8


def batches(data, block_size, batch_size, gen):
    ix = torch.randint(len(data) - block_size, (batch_size,), generator=gen)
    x = torch.stack([torch.from_numpy(data[i:i + block_size].astype(np.int64)) for i in ix])
    y = torch.stack([torch.from_numpy(data[i + 1:i + 1 + block_size].astype(np.int64)) for i in ix])
    return x, y


def make(out):
    # nanoGPT's data/shakespeare_char/prepare.py, on a small text
    chars = sorted(set(TEXT))
    stoi = {ch: i for i, ch in enumerate(chars)}
    itos = {i: ch for i, ch in enumerate(chars)}
    data = np.array([stoi[c] for c in TEXT], dtype=np.uint16)
    with open(os.path.join(out, 'input.txt'), 'w') as f:
        f.write(TEXT)
    with open(os.path.join(out, 'meta.pkl'), 'wb') as f:
        pickle.dump({'vocab_size': len(chars), 'itos': itos, 'stoi': stoi}, f)
    torch.manual_seed(1337)
    model_args = dict(n_layer=2, n_head=2, n_embd=48, block_size=24, bias=True, vocab_size=len(chars), dropout=0.1)
    model = GPT(GPTConfig(**model_args))
    optimizer = model.configure_optimizers(0.1, 3e-3, (0.9, 0.99))
    gen = torch.Generator().manual_seed(0)
    model.train()
    for _ in range(150):
        x, y = batches(data, 24, 8, gen)
        _, loss = model(x, y)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
    model.eval()
    config = dict(out_dir=out, eval_interval=10, log_interval=1, eval_iters=5, dataset='tiny_char', gradient_accumulation_steps=1,
                  batch_size=8, block_size=24, n_layer=2, n_head=2, n_embd=48, dropout=0.1, bias=True, learning_rate=3e-3,
                  max_iters=100, weight_decay=0.1, beta1=0.9, beta2=0.99, grad_clip=1.0, decay_lr=True, warmup_iters=10,
                  lr_decay_iters=100, min_lr=3e-4, device='cpu', dtype='float32', compile=False)
    state = model.state_dict()
    # torch.compile'd models save their keys under `_orig_mod.` (nanoGPT strips it on resume): do the same here
    state = type(state)(('_orig_mod.' + k, v) for k, v in state.items())
    checkpoint = {'model': state, 'optimizer': optimizer.state_dict(), 'model_args': model_args, 'iter_num': 150,
                  'best_val_loss': loss.detach(), 'config': config}
    torch.save(checkpoint, os.path.join(out, 'ckpt.pt'))
    probe = [[stoi[c] for c in 'Ada:\nLet us count the sto'[:24]], [stoi[c] for c in 'Ben:\nCount them, count.\n\nAda'[:24]]]
    with torch.no_grad():
        logits, _ = model(torch.tensor(probe))
        idx = torch.tensor([[stoi[c] for c in 'Ben:\n']])
        for _ in range(40):  # greedy, nanoGPT's generate with top_k=1
            nxt, _ = model(idx[:, -24:])
            idx = torch.cat((idx, nxt[:, -1, :].argmax(-1, keepdim=True)), dim=1)
    greedy = ''.join(itos[i] for i in idx[0].tolist())

    # a bias=False model saved with weights only (no optimizer key): random weights, LayerNorm gains perturbed
    torch.manual_seed(7)
    nobias_args = dict(n_layer=1, n_head=4, n_embd=32, block_size=24, bias=False, vocab_size=len(chars), dropout=0.0)
    nobias = GPT(GPTConfig(**nobias_args))
    with torch.no_grad():
        for p in nobias.parameters():
            p.add_(torch.randn_like(p) * 0.3)
    nobias.eval()
    torch.save({'model': nobias.state_dict(), 'model_args': nobias_args, 'iter_num': 0, 'best_val_loss': 1e9, 'config': config},
               os.path.join(out, 'ckpt_nobias.pt'))
    with torch.no_grad():
        nobias_logits, _ = nobias(torch.tensor(probe))
    json.dump({'torch': torch.__version__, 'probe': probe, 'logits': logits.reshape(-1).tolist(), 'greedy': greedy,
               'nobias_logits': nobias_logits.reshape(-1).tolist(), 'mask_buffers': not hasattr(F, 'scaled_dot_product_attention')},
              open(os.path.join(out, 'expected.json'), 'w'))


def check(out):
    ckpt = torch.load(os.path.join(out, 'ckpt.pt'), map_location='cpu')  # as nanoGPT's train.py and sample.py do
    args = ckpt['model_args']
    model = GPT(GPTConfig(**args, gelu=ckpt['config'].get('gelu', 'erf')))
    model.load_state_dict(ckpt['model'])  # strict, as train.py's resume
    model.eval()
    probe = json.load(open(os.path.join(out, 'probe.json')))
    with torch.no_grad():
        logits, _ = model(torch.tensor(probe))
    c = ckpt['config']
    optimizer = model.configure_optimizers(c['weight_decay'], c['learning_rate'], (c['beta1'], c['beta2']))
    optimizer.load_state_dict(ckpt['optimizer'])
    steps = [float(s['step']) for s in optimizer.state.values()]
    # the moments landed on the right parameters: for each, exp_avg_sq has the parameter's shape and is >= 0
    shapes_ok = all(s['exp_avg'].shape == p.shape and bool((s['exp_avg_sq'] >= 0).all())
                    for g in optimizer.param_groups for p in g['params'] for s in [optimizer.state[p]])
    data = np.memmap(os.path.join(out, 'train.bin'), dtype=np.uint16, mode='r')
    gen = torch.Generator().manual_seed(0)
    fixed = [batches(data, args['block_size'], 16, gen) for _ in range(4)]

    def fixed_loss():
        model.eval()
        with torch.no_grad():
            return sum(model(x, y)[1].item() for x, y in fixed) / len(fixed)

    before = fixed_loss()
    model.train()
    for g in optimizer.param_groups:
        g['lr'] = c['min_lr']  # the end of train.py's cosine schedule
    for _ in range(8):
        x, y = batches(data, args['block_size'], c['batch_size'], gen)
        _, loss = model(x, y)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), c['grad_clip'])
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
    after = fixed_loss()
    json.dump({'torch': torch.__version__, 'logits': logits.reshape(-1).tolist(), 'iter_num': ckpt['iter_num'], 'steps': steps,
               'groups': [len(g['params']) for g in optimizer.param_groups], 'weight_decay': [g['weight_decay'] for g in optimizer.param_groups],
               'shapes_ok': shapes_ok, 'loss_before': before, 'loss_after': after, 'tied': model.lm_head.weight is model.transformer.wte.weight},
              open(os.path.join(out, 'checked.json'), 'w'))


if __name__ == '__main__':
    torch.set_num_threads(1)
    {'make': make, 'check': check}[sys.argv[1]](sys.argv[2])
