#!/usr/bin/env python3
"""The PyTorch side of the device check: the same GPT as rdlab's engines, timed on the same GPU.

GPT-2 with Hugging Face's layout (Conv1D weights [in, out], tied head, tanh GELU, LayerNorm eps
1e-5), trained with rdlab's loss (mean over samples of c_b times the mean token cross-entropy over
the loss mask; c_b = 1 here) and torch.optim.Adam, one step per batch of random tokens. Modes:
eager fp32 (TF32 off, as torch's default), bf16 autocast, torch.compile fp32 and bf16 (each in a
child process with a time limit: compiling can take longer than the check allows). Sampling: a
KV-cache loop with multinomial draws, and Hugging Face generate when transformers is installed.

    python3 torch_gpt.py --out torch.json                 # on the GPU machine (check.sh)
    python3 torch_gpt.py --device cpu --tiny --out x.json # anywhere: proves the script runs

Each result is written to --out as soon as it is measured, so a timeout keeps what was done.
"""
import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import time

import torch
import torch.nn.functional as F

CONFIGS = {
    # rdlab's `bench train` default and the anchor: the `small` preset at 30 positions.
    "anchor": dict(vocab_size=4096, n_positions=30, n_embd=128, n_layer=4, n_head=4),
    # GPT-2 124M with the positions a 30-token step uses (as rdlab bench train builds it).
    "gpt2": dict(vocab_size=50257, n_positions=30, n_embd=768, n_layer=12, n_head=12),
    # For --tiny runs on a CPU.
    "tiny": dict(vocab_size=97, n_positions=16, n_embd=32, n_layer=2, n_head=4),
}


class Gpt(torch.nn.Module):
    """GPT-2 with parameters named as rdlab names them (gpt2ParameterShapes), Conv1D layout."""

    def __init__(self, vocab_size, n_positions, n_embd, n_layer, n_head, eps=1e-5):
        super().__init__()
        self.V, self.P, self.C, self.L, self.H, self.eps = vocab_size, n_positions, n_embd, n_layer, n_head, eps
        P = torch.nn.Parameter
        C = n_embd
        self.params = torch.nn.ParameterDict()
        self.params["wte_weight"] = P(torch.randn(vocab_size, C) * 0.02)
        self.params["wpe_weight"] = P(torch.randn(n_positions, C) * 0.01)
        for l in range(n_layer):
            h = f"h.{l}."
            for name, shape, init in [
                ("ln_1.weight", (C,), "one"),
                ("ln_1.bias", (C,), "zero"),
                ("attn.c_attn.weight", (C, 3 * C), "normal"),
                ("attn.c_attn.bias", (3 * C,), "zero"),
                ("attn.c_proj.weight", (C, C), "normal"),
                ("attn.c_proj.bias", (C,), "zero"),
                ("ln_2.weight", (C,), "one"),
                ("ln_2.bias", (C,), "zero"),
                ("mlp.c_fc.weight", (C, 4 * C), "normal"),
                ("mlp.c_fc.bias", (4 * C,), "zero"),
                ("mlp.c_proj.weight", (4 * C, C), "normal"),
                ("mlp.c_proj.bias", (C,), "zero"),
            ]:
                t = torch.ones(shape) if init == "one" else torch.zeros(shape) if init == "zero" else torch.randn(shape) * 0.02
                self.params[(h + name).replace(".", "_")] = P(t)
        self.params["ln_f_weight"] = P(torch.ones(C))
        self.params["ln_f_bias"] = P(torch.zeros(C))

    def p(self, name):
        return self.params[name.replace(".", "_")]

    def names(self):
        names = ["wte.weight", "wpe.weight"]
        for l in range(self.L):
            for n in ["ln_1.weight", "ln_1.bias", "attn.c_attn.weight", "attn.c_attn.bias", "attn.c_proj.weight", "attn.c_proj.bias",
                      "ln_2.weight", "ln_2.bias", "mlp.c_fc.weight", "mlp.c_fc.bias", "mlp.c_proj.weight", "mlp.c_proj.bias"]:
                names.append(f"h.{l}.{n}")
        return names + ["ln_f.weight", "ln_f.bias"]

    @staticmethod
    def conv1d(x, w, b):
        # Hugging Face's Conv1D: x · W + b with W [in, out].
        return torch.addmm(b, x.reshape(-1, x.shape[-1]), w).reshape(*x.shape[:-1], w.shape[1])

    def attention(self, q, k, v, causal):
        if hasattr(F, "scaled_dot_product_attention"):
            return F.scaled_dot_product_attention(q, k, v, is_causal=causal)
        att = (q @ k.transpose(-2, -1)) / math.sqrt(q.shape[-1])
        if causal:
            T, S = q.shape[-2], k.shape[-2]
            mask = torch.ones(T, S, dtype=torch.bool, device=q.device).tril(S - T)
            att = att.masked_fill(~mask, float("-inf"))
        return att.softmax(-1) @ v

    def block(self, x, l, past=None):
        B, T, C = x.shape
        H, D = self.H, C // self.H
        h = f"h.{l}."
        a = F.layer_norm(x, (C,), self.p(h + "ln_1.weight"), self.p(h + "ln_1.bias"), self.eps)
        qkv = self.conv1d(a, self.p(h + "attn.c_attn.weight"), self.p(h + "attn.c_attn.bias"))
        q, k, v = qkv.split(C, dim=-1)
        q, k, v = (t.view(B, T, H, D).transpose(1, 2) for t in (q, k, v))
        if past is not None:
            if past[0] is not None:
                k = torch.cat([past[0], k], dim=2)
                v = torch.cat([past[1], v], dim=2)
            past = (k, v)
        # With a cache, a single new query sees every key: no mask needed.
        y = self.attention(q, k, v, causal=T > 1)
        y = y.transpose(1, 2).reshape(B, T, C)
        x = x + self.conv1d(y, self.p(h + "attn.c_proj.weight"), self.p(h + "attn.c_proj.bias"))
        m = F.layer_norm(x, (C,), self.p(h + "ln_2.weight"), self.p(h + "ln_2.bias"), self.eps)
        m = F.gelu(self.conv1d(m, self.p(h + "mlp.c_fc.weight"), self.p(h + "mlp.c_fc.bias")), approximate="tanh")
        x = x + self.conv1d(m, self.p(h + "mlp.c_proj.weight"), self.p(h + "mlp.c_proj.bias"))
        return x, past

    def forward(self, ids, offset=0, cache=None):
        B, T = ids.shape
        pos = torch.arange(offset, offset + T, device=ids.device)
        x = self.p("wte.weight")[ids] + self.p("wpe.weight")[pos]
        new_cache = [] if cache is not None else None
        for l in range(self.L):
            x, past = self.block(x, l, cache[l] if cache is not None else None)
            if new_cache is not None:
                new_cache.append(past)
        x = F.layer_norm(x, (self.C,), self.p("ln_f.weight"), self.p("ln_f.bias"), self.eps)
        return x @ self.p("wte.weight").t(), new_cache


def weighted_loss(logits, ids, mask, coefficients):
    """rdlab's loss: mean_b(c_b · mean over the loss mask of −log p(ids[b, t] | ids[b, <t]))."""
    logp = torch.log_softmax(logits[:, :-1].float(), dim=-1).gather(-1, ids[:, 1:, None])[..., 0]
    m = mask[:, 1:]
    ce = -(logp * m).sum(1) / m.sum(1)
    return (coefficients * ce).mean(), logp


def sync(device):
    if device == "cuda":
        torch.cuda.synchronize()


def bench_train(cfg, device, batch, seq, steps, mode):
    torch.manual_seed(1)
    model = Gpt(**cfg).to(device)
    opt = torch.optim.Adam(model.parameters(), lr=1e-4)
    g = torch.Generator().manual_seed(2)
    ids = torch.randint(0, cfg["vocab_size"], (batch, seq), generator=g).to(device)
    mask = torch.ones(batch, seq, device=device)
    mask[:, 0] = 0
    coefficients = torch.ones(batch, device=device)
    forward = torch.compile(model) if mode.startswith("compile") else model
    use_bf16 = mode in ("autocast-bf16", "compile-bf16")

    def step():
        opt.zero_grad(set_to_none=True)
        with torch.autocast(device_type=device, dtype=torch.bfloat16, enabled=use_bf16):
            logits, _ = forward(ids)
        loss, _ = weighted_loss(logits, ids, mask, coefficients)
        loss.backward()
        opt.step()
        return loss.item()  # rdlab's engines return the loss (and log-probabilities) each step

    for _ in range(3):
        step()
    times = []
    for _ in range(steps):
        sync(device)
        start = time.perf_counter()
        step()
        sync(device)
        times.append(time.perf_counter() - start)
    s = statistics.median(times)
    return {"tokens_per_s": batch * seq / s, "step_s": s, "steps": steps}


@torch.no_grad()
def bench_sample(cfg, device, batch, prefix, length, dtype):
    """KV-cached sampling at temperature 1 to `length` tokens, every row to full length."""
    torch.manual_seed(3)
    model = Gpt(**cfg).to(device=device, dtype=dtype)
    ids = torch.randint(0, cfg["vocab_size"], (batch, prefix), device=device)

    def run():
        cache = [(None, None)] * model.L
        logits, cache = model(ids, 0, cache)
        out = [ids]
        for t in range(prefix, length):
            probs = torch.softmax(logits[:, -1].float(), dim=-1)
            nxt = torch.multinomial(probs, 1)
            out.append(nxt)
            if t == length - 1:
                break
            logits, cache = model(nxt, t, cache)
        return torch.cat(out, 1)

    run()
    sync(device)
    start = time.perf_counter()
    repeats = 2
    for _ in range(repeats):
        run()
    sync(device)
    return {"tokens_per_s": repeats * batch * (length - prefix) / (time.perf_counter() - start)}


@torch.no_grad()
def bench_hf_generate(cfg, device, batch, prefix, length, dtype):
    try:
        from transformers import GPT2Config, GPT2LMHeadModel
    except ImportError:
        return {"skipped": "transformers is not installed"}
    config = GPT2Config(vocab_size=cfg["vocab_size"], n_positions=max(cfg["n_positions"], length), n_embd=cfg["n_embd"],
                        n_layer=cfg["n_layer"], n_head=cfg["n_head"])
    model = GPT2LMHeadModel(config).to(device=device, dtype=dtype).eval()
    ids = torch.randint(0, cfg["vocab_size"], (batch, prefix), device=device)
    kw = dict(do_sample=True, max_new_tokens=length - prefix, min_new_tokens=length - prefix, pad_token_id=0, top_k=0)
    model.generate(ids, **kw)
    sync(device)
    start = time.perf_counter()
    model.generate(ids, **kw)
    sync(device)
    return {"tokens_per_s": batch * (length - prefix) / (time.perf_counter() - start)}


def child_train(args):
    """One compile mode in this process (the parent runs it under a time limit)."""
    r = bench_train(CONFIGS[args.config], args.device, args.batch, args.seq, args.steps, args.mode)
    print(json.dumps(r))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", required=True, help="JSON file, rewritten after each measurement")
    ap.add_argument("--device", default="cuda")
    ap.add_argument("--configs", default="anchor,gpt2")
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--seq", type=int, default=30)
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--modes", default="eager-fp32,autocast-bf16,compile-fp32,compile-bf16")
    ap.add_argument("--compile-timeout", type=float, default=75, help="seconds per compiled mode")
    ap.add_argument("--sample-batches", default="anchor:64,anchor:1024,gpt2:64,gpt2:512")
    ap.add_argument("--tiny", action="store_true", help="the tiny config, batch 4 × 8, 2 steps: a CPU run")
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--config", help=argparse.SUPPRESS)
    ap.add_argument("--mode", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.tiny:
        args.configs, args.batch, args.seq, args.steps = "tiny", 4, 8, 2
        args.sample_batches = "tiny:4"
    if args.device == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = False  # torch's default: the fp32 comparison
        torch.backends.cudnn.allow_tf32 = False
    if args.child:
        return child_train(args)

    report = {
        "torch": torch.__version__,
        "device": torch.cuda.get_device_name(0) if args.device == "cuda" else "cpu",
        "batch": args.batch,
        "seq": args.seq,
        "train": {},
        "sample": {},
    }

    def save():
        with open(args.out, "w") as f:
            json.dump(report, f, indent=1)

    save()

    def train(name, mode):
        cfg = CONFIGS[name]
        start = time.perf_counter()
        try:
            if mode.startswith("compile"):
                if not hasattr(torch, "compile"):
                    raise RuntimeError(f"torch {torch.__version__} has no torch.compile")
                cmd = [sys.executable, __file__, "--child", "--out", os.devnull, "--device", args.device, "--config", name, "--mode", mode,
                       "--batch", str(args.batch), "--seq", str(args.seq), "--steps", str(args.steps)]
                p = subprocess.run(cmd, capture_output=True, text=True, timeout=args.compile_timeout)
                if p.returncode != 0:
                    raise RuntimeError((p.stderr.strip().splitlines() or ["failed"])[-1])
                r = json.loads(p.stdout.strip().splitlines()[-1])
            else:
                r = bench_train(cfg, args.device, args.batch, args.seq, args.steps, mode)
        except subprocess.TimeoutExpired:
            r = {"skipped": f"did not compile and run within {args.compile_timeout:.0f} s"}
        except Exception as e:  # a mode that fails is reported, the others still run
            r = {"error": f"{type(e).__name__}: {e}"}
        r["wall_s"] = round(time.perf_counter() - start, 2)
        report["train"].setdefault(name, {})[mode] = r
        print(f"train {name} {mode}: {r}", flush=True)
        save()
        if args.device == "cuda":
            torch.cuda.empty_cache()

    modes = args.modes.split(",")
    names = args.configs.split(",")
    # Eager and autocast first, then sampling, then torch.compile (the slow, time-limited part):
    # a check that runs out of time loses the compiled figures, not the others.
    for name in names:
        for mode in modes:
            if not mode.startswith("compile"):
                train(name, mode)
    for spec in args.sample_batches.split(","):
        name, batch = spec.split(":")
        cfg, batch = CONFIGS[name], int(batch)
        prefix, length = (4, 30) if not args.tiny else (2, 8)
        for label, dtype in [("fp32", torch.float32), ("bf16", torch.bfloat16)]:
            key = f"{name}:{batch}:{label}"
            for kind, fn in [("kv-loop", bench_sample), ("hf-generate", bench_hf_generate)]:
                try:
                    r = fn(cfg, args.device, batch, prefix, length, dtype)
                except Exception as e:
                    r = {"error": f"{type(e).__name__}: {e}"}
                report["sample"].setdefault(key, {})[kind] = r
                print(f"sample {key} {kind}: {r}", flush=True)
                save()
            if args.device == "cuda":
                torch.cuda.empty_cache()
    for name in names:
        for mode in modes:
            if mode.startswith("compile"):
                train(name, mode)

if __name__ == "__main__":
    main()
