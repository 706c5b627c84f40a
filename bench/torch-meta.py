#!/usr/bin/env python3
"""PyTorch's CPU ceiling for one training step of nanoGPT's GPT at a tabgpt preset.

The model is built on the `meta` device: every tensor has a shape and a dtype
but no storage, and every op runs PyTorch's whole CPU path (Python modules,
the dispatcher, autograd's graph and backward, the optimizer's loop) except
the arithmetic. A step timed there is what PyTorch's own CPU side costs per
step, so B*T / that time is the most tokens/s PyTorch could train at on a GPU
of infinite speed. It leaves out what only a real device adds: the CUDA
driver's launch cost per kernel (a few microseconds each), the caching
allocator, and any wait on the GPU. It is the figure to set beside tabgpt's
step on Dawn's null adapter, which likewise runs everything but the kernels.

The step is nanoGPT's (train.py, fp32 path): forward with the loss,
backward, clip_grad_norm_(1.0), AdamW step with nanoGPT's two parameter
groups (weight decay on 2-D tensors only), zero_grad(set_to_none=True). The
model mirrors nanoGPT's model.py: tied wte/lm_head, GPT-2 blocks (pre-norm,
LayerNorm with optional bias, fused c_attn, GELU MLP), dropout modules kept
(p = --dropout, 0 by default as in tabgpt), and the explicit causal-mask
attention that nanoGPT runs where scaled_dot_product_attention is missing
(PyTorch < 2.0, such as the 1.13 this is written against).

AdamW is timed per `foreach` setting: False (the per-tensor loop) and the
default (None). In PyTorch 1.13 None means False, so the two are one
measurement, reported once with `sameAs`. foreach=True needs `_foreach_*`
kernels that PyTorch 1.13 has for CPU and CUDA but not for `meta`; where it
fails, the row says so and why instead of a number.

Prints one JSON object (one line). Usage:
  python3 bench/torch-meta.py --preset baby [--batch-size 16] [--vocab-size 65]
  python3 bench/torch-meta.py --print-presets   (no torch needed)
"""

import argparse
import json
import math
import platform
import statistics
import sys
import time

# tabgpt's presets (src/core/config.ts PRESETS); tests/torch-meta.test.ts checks they agree.
PRESETS = {
    "nano": dict(n_layer=2, n_head=2, n_embd=32, block_size=32),
    "micro": dict(n_layer=2, n_head=4, n_embd=64, block_size=64),
    "baby": dict(n_layer=4, n_head=4, n_embd=128, block_size=64),
    "mini": dict(n_layer=6, n_head=6, n_embd=192, block_size=128),
    "small": dict(n_layer=6, n_head=6, n_embd=384, block_size=256),
}


def build(torch, cfg):
    """nanoGPT's GPT (model.py) for `cfg`, written afresh; returns the module class."""
    nn = torch.nn
    F = torch.nn.functional

    class LayerNorm(nn.Module):
        # nn.LayerNorm cannot drop only the bias; nanoGPT calls F.layer_norm itself.
        def __init__(self, ndim, bias):
            super().__init__()
            self.weight = nn.Parameter(torch.ones(ndim))
            self.bias = nn.Parameter(torch.zeros(ndim)) if bias else None

        def forward(self, x):
            return F.layer_norm(x, self.weight.shape, self.weight, self.bias, 1e-5)

    class SelfAttention(nn.Module):
        def __init__(self):
            super().__init__()
            C = cfg["n_embd"]
            self.c_attn = nn.Linear(C, 3 * C, bias=cfg["bias"])  # q, k, v of all heads in one matmul
            self.c_proj = nn.Linear(C, C, bias=cfg["bias"])
            self.attn_dropout = nn.Dropout(cfg["dropout"])
            self.resid_dropout = nn.Dropout(cfg["dropout"])
            self.flash = hasattr(F, "scaled_dot_product_attention")
            if not self.flash:
                T = cfg["block_size"]
                self.register_buffer("bias", torch.tril(torch.ones(T, T)).view(1, 1, T, T))  # causal mask

        def forward(self, x):
            B, T, C = x.size()
            H = cfg["n_head"]
            q, k, v = self.c_attn(x).split(C, dim=2)  # 3 x (B, T, C)
            q = q.view(B, T, H, C // H).transpose(1, 2)  # (B, H, T, hs)
            k = k.view(B, T, H, C // H).transpose(1, 2)
            v = v.view(B, T, H, C // H).transpose(1, 2)
            if self.flash:
                p = cfg["dropout"] if self.training else 0.0
                y = F.scaled_dot_product_attention(q, k, v, attn_mask=None, dropout_p=p, is_causal=True)
            else:
                att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(k.size(-1)))  # (B, H, T, T)
                att = att.masked_fill(self.bias[:, :, :T, :T] == 0, float("-inf"))
                att = self.attn_dropout(F.softmax(att, dim=-1))
                y = att @ v  # (B, H, T, hs)
            y = y.transpose(1, 2).contiguous().view(B, T, C)  # heads side by side again
            return self.resid_dropout(self.c_proj(y))

    class MLP(nn.Module):
        def __init__(self):
            super().__init__()
            C = cfg["n_embd"]
            self.c_fc = nn.Linear(C, 4 * C, bias=cfg["bias"])
            self.gelu = nn.GELU()
            self.c_proj = nn.Linear(4 * C, C, bias=cfg["bias"])
            self.dropout = nn.Dropout(cfg["dropout"])

        def forward(self, x):
            return self.dropout(self.c_proj(self.gelu(self.c_fc(x))))

    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.ln_1 = LayerNorm(cfg["n_embd"], cfg["bias"])
            self.attn = SelfAttention()
            self.ln_2 = LayerNorm(cfg["n_embd"], cfg["bias"])
            self.mlp = MLP()

        def forward(self, x):
            x = x + self.attn(self.ln_1(x))
            return x + self.mlp(self.ln_2(x))

    class GPT(nn.Module):
        def __init__(self):
            super().__init__()
            C, V, T = cfg["n_embd"], cfg["vocab_size"], cfg["block_size"]
            self.transformer = nn.ModuleDict(dict(
                wte=nn.Embedding(V, C),
                wpe=nn.Embedding(T, C),
                drop=nn.Dropout(cfg["dropout"]),
                h=nn.ModuleList([Block() for _ in range(cfg["n_layer"])]),
                ln_f=LayerNorm(C, cfg["bias"]),
            ))
            self.lm_head = nn.Linear(C, V, bias=False)
            self.transformer.wte.weight = self.lm_head.weight  # tied, as in GPT-2 and nanoGPT
            # (nanoGPT's init runs here; on `meta` it would only cost time at build, none per step)

        def forward(self, idx, targets):
            b, t = idx.size()
            pos = torch.arange(0, t, dtype=torch.long, device=idx.device)  # (T)
            x = self.transformer.drop(self.transformer.wte(idx) + self.transformer.wpe(pos))  # (B, T, C)
            for block in self.transformer.h:
                x = block(x)
            logits = self.lm_head(self.transformer.ln_f(x))  # (B, T, V)
            return F.cross_entropy(logits.view(-1, logits.size(-1)), targets.view(-1), ignore_index=-1)

        def optimizer(self, lr, weight_decay, betas, **extra):
            # nanoGPT's configure_optimizers: decay every 2-D tensor (matmul weights, embeddings), not biases or norms
            params = [p for p in self.parameters() if p.requires_grad]
            groups = [
                {"params": [p for p in params if p.dim() >= 2], "weight_decay": weight_decay},
                {"params": [p for p in params if p.dim() < 2], "weight_decay": 0.0},
            ]
            return torch.optim.AdamW(groups, lr=lr, betas=betas, **extra)

    return GPT


def measure(torch, GPT, cfg, B, foreach, steps, repeats, warmup):
    """Median ms per step (and per phase) over `repeats` runs of `steps` steps, after `warmup` steps."""
    device = torch.device("meta")
    model = GPT().to(device)  # built on the CPU (small), then storage dropped
    model.transformer.wte.weight = model.lm_head.weight  # .to() gives each module its own copy: tie them again
    model.train()
    extra = {} if foreach == "default" else {"foreach": foreach}
    opt = model.optimizer(lr=1e-3, weight_decay=0.1, betas=(0.9, 0.99), **extra)
    T = cfg["block_size"]
    x = torch.empty((B, T), dtype=torch.long, device=device)  # the batch: ids of shape (B, T), no values
    y = torch.empty((B, T), dtype=torch.long, device=device)
    phases = ("forward", "backward", "clip", "optimizer")
    clock = time.perf_counter

    def step(lr, record):
        t0 = clock()
        for g in opt.param_groups:  # nanoGPT sets the scheduled lr every iteration
            g["lr"] = lr
        loss = model(x, y)
        t1 = clock()
        loss.backward()
        t2 = clock()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        t3 = clock()
        opt.step()
        opt.zero_grad(set_to_none=True)
        t4 = clock()
        if record is not None:
            for k, d in zip(phases, (t1 - t0, t2 - t1, t3 - t2, t4 - t3)):
                record[k] += d

    for i in range(warmup):
        step(1e-3, None)
    per_step, per_phase, cpu = [], [], []
    for r in range(repeats):
        rec = {k: 0.0 for k in phases}
        c0, t0 = time.process_time(), clock()
        for i in range(steps):
            step(1e-3 * (0.5 + 0.5 * math.cos(math.pi * i / steps)), rec)
        per_step.append((clock() - t0) * 1000 / steps)
        cpu.append((time.process_time() - c0) * 1000 / steps)
        per_phase.append({k: v * 1000 / steps for k, v in rec.items()})
    ms = statistics.median(per_step)
    mid = per_phase[per_step.index(sorted(per_step)[len(per_step) // 2])]
    return {
        "msPerStep": ms,
        "tokensPerSec": B * T * 1000 / ms,
        # this process's CPU time: robust to other processes sharing the cores (tabgpt's bench reports the same)
        "cpuMsPerStep": statistics.median(cpu),
        "phaseMsPerStep": {k: round(v, 4) for k, v in mid.items()},
        "msPerStepRepeats": per_step,
        "params": sum(p.numel() for p in model.parameters()),
        "paramTensors": sum(1 for _ in model.parameters()),
    }


def main():
    ap = argparse.ArgumentParser(description="PyTorch meta-device step time of nanoGPT's GPT at a tabgpt preset (JSON line)")
    ap.add_argument("--preset", choices=sorted(PRESETS), help="model shape (src/core/config.ts PRESETS)")
    ap.add_argument("--n-layer", type=int)
    ap.add_argument("--n-head", type=int)
    ap.add_argument("--n-embd", type=int)
    ap.add_argument("--block-size", type=int)
    ap.add_argument("--vocab-size", type=int, default=65, help="65: Tiny Shakespeare's characters")
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument("--dropout", type=float, default=0.0)
    ap.add_argument("--no-bias", action="store_true", help="no biases in Linear and LayerNorm (tabgpt's bias=false)")
    ap.add_argument("--budget-s", type=float, default=3.0, help="seconds of timed steps per optimizer setting")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--print-presets", action="store_true", help="print the preset table as JSON and exit")
    a = ap.parse_args()
    if a.print_presets:
        print(json.dumps(PRESETS))
        return 0
    cfg = dict(PRESETS[a.preset]) if a.preset else {}
    for k in ("n_layer", "n_head", "n_embd", "block_size"):
        v = getattr(a, k)
        if v is not None:
            cfg[k] = v
        elif k not in cfg:
            print(f"torch-meta: give --preset or --{k.replace('_', '-')}", file=sys.stderr)
            return 2
    if cfg["n_embd"] % cfg["n_head"]:
        print(f"torch-meta: --n-embd {cfg['n_embd']} must be divisible by --n-head {cfg['n_head']}", file=sys.stderr)
        return 2
    cfg.update(vocab_size=a.vocab_size, dropout=a.dropout, bias=not a.no_bias)
    try:
        import torch
    except ImportError as e:
        print(f"torch-meta: PyTorch is not importable by {sys.executable} ({e}); install it (Debian: apt-get install python3-torch) or run another python3", file=sys.stderr)
        return 3
    B = a.batch_size
    GPT = build(torch, cfg)

    # A probe step per setting sizes the timed run to the budget.
    results = {}
    v1 = torch.__version__.startswith("1.")
    for setting in (False, "default", True):
        name = f"foreach={setting}" if setting != "default" else "default"
        if setting == "default" and v1:
            results[name] = {"sameAs": "foreach=False", "why": f"PyTorch {torch.__version__}'s AdamW treats foreach=None as False"}
            continue
        try:
            probe = measure(torch, GPT, cfg, B, setting, steps=2, repeats=1, warmup=1)
            steps = max(3, min(500, int(a.budget_s * 1000 / a.repeats / max(probe["msPerStep"], 1e-3))))
            results[name] = measure(torch, GPT, cfg, B, setting, steps=steps, repeats=a.repeats, warmup=3)
            results[name]["stepsPerRepeat"] = steps
            if setting == "default":  # PyTorch >= 2 picks foreach (or fused) for CUDA tensors only
                results[name]["note"] = "on meta tensors the default is the per-tensor loop; on CUDA it would be foreach"
        except (NotImplementedError, RuntimeError) as e:
            first = str(e).strip().split("\n")[0].split(". This could be")[0]
            results[name] = {"error": first, "why": "this PyTorch has no meta-device kernel for it: no CPU-only figure can be taken this way"}
    ok = {k: v for k, v in results.items() if "msPerStep" in v}
    if not ok:
        print(f"torch-meta: no optimizer setting ran on the meta device: {json.dumps(results)}", file=sys.stderr)
        return 1
    params = next(iter(ok.values()))["params"]
    row = {
        "tool": "torch-meta",
        "preset": a.preset or "custom",
        "device": "meta",
        "torch": torch.__version__,
        "python": platform.python_version(),
        "threads": torch.get_num_threads(),
        "nLayer": cfg["n_layer"], "nHead": cfg["n_head"], "nEmbd": cfg["n_embd"], "blockSize": cfg["block_size"],
        "vocabSize": cfg["vocab_size"], "dropout": cfg["dropout"], "bias": cfg["bias"],
        "batchSize": B,
        "params": params,
        "attention": "scaled_dot_product_attention" if hasattr(torch.nn.functional, "scaled_dot_product_attention") else "explicit causal mask (PyTorch < 2.0)",
        # the figure to quote: the default optimizer's, else the first that ran
        "msPerStep": (results.get("default") if "msPerStep" in results.get("default", {}) else next(iter(ok.values())))["msPerStep"],
        "adamw": results,
        "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    row["tokensPerSec"] = B * cfg["block_size"] * 1000 / row["msPerStep"]
    print(json.dumps(row))
    return 0


if __name__ == "__main__":
    sys.exit(main())
