#!/usr/bin/env python3
"""A float64 PyTorch reference for the CUDA engine's parity check, where the native CPU engine
cannot be built (no OpenBLAS on the GPU machine).

Reads a model (safetensors with rdlab's parameter names, as check.mjs writes it) and a batch
(JSON: config, ids [B][T], mask [B][T], coefficients [B], lr, clip), and writes the logits
[B, T, V], the loss, the gradient of every parameter, the global gradient norm and the parameters
after one torch.optim.Adam step with clip_grad_norm_, as safetensors (float32) plus a JSON file.

    python3 torch_reference.py --model m.safetensors --batch batch.json --out ref
"""
import argparse
import json
import struct

import torch

from torch_gpt import Gpt


def read_safetensors(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for name, t in header.items():
        if name == "__metadata__":
            continue
        if t["dtype"] != "F32":
            raise ValueError(f"{name}: dtype {t['dtype']}, expected F32")
        a, b = t["data_offsets"]
        out[name] = torch.frombuffer(bytearray(data[a:b]), dtype=torch.float32).reshape(t["shape"]).clone()
    return out


def write_safetensors(path, tensors):
    header, blobs, at = {}, [], 0
    for name, t in tensors.items():
        raw = t.detach().to(torch.float32).contiguous().numpy().tobytes()
        header[name] = {"dtype": "F32", "shape": list(t.shape), "data_offsets": [at, at + len(raw)]}
        blobs.append(raw)
        at += len(raw)
    text = json.dumps(header).encode()
    text += b" " * ((8 - len(text) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for b in blobs:
            f.write(b)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", required=True)
    ap.add_argument("--batch", required=True)
    ap.add_argument("--out", required=True, help="prefix: <out>.safetensors and <out>.json")
    args = ap.parse_args()
    batch = json.load(open(args.batch))
    c = batch["config"]
    model = Gpt(c["vocab_size"], c["n_positions"], c["n_embd"], c["n_layer"], c["n_head"], c["layer_norm_epsilon"]).double()
    weights = read_safetensors(args.model)
    with torch.no_grad():
        for name in model.names():
            model.p(name).copy_(weights[name].double())
    ids = torch.tensor(batch["ids"], dtype=torch.long)
    mask = torch.tensor(batch["mask"], dtype=torch.float64)
    coefficients = torch.tensor(batch["coefficients"], dtype=torch.float64)
    logits, _ = model(ids)
    logits = logits.double()
    logp = torch.log_softmax(logits[:, :-1], dim=-1).gather(-1, ids[:, 1:, None])[..., 0]
    m = mask[:, 1:]
    loss = (coefficients * (-(logp * m).sum(1) / m.sum(1))).mean()
    loss.backward()
    grads = {name: model.p(name).grad.clone() for name in model.names()}
    norm = torch.sqrt(sum((g * g).sum() for g in grads.values())).item()
    opt = torch.optim.Adam(model.parameters(), lr=batch["lr"], betas=(0.9, 0.999), eps=1e-8)
    if batch["clip"] > 0:
        torch.nn.utils.clip_grad_norm_(model.parameters(), batch["clip"])
    opt.step()
    out = {"logits": logits.detach()}
    out.update({f"grad.{n}": g for n, g in grads.items()})
    out.update({f"after.{n}": model.p(n).detach() for n in model.names()})
    write_safetensors(args.out + ".safetensors", out)
    json.dump({"loss": loss.item(), "gradientNorm": norm, "torch": torch.__version__}, open(args.out + ".json", "w"))


if __name__ == "__main__":
    main()
