#!/usr/bin/python3
"""Writes electra_step.safetensors: one ELECTRA pre-training step of a tiny
generator and discriminator, for the pretrain package's PyTorch parity test
(pretrain/electra_task_test.go, TestElectraStepMatchesPyTorch).

The networks follow Hugging Face transformers' modeling_electra.py (which is
not installed here, so they are written out in plain torch): ElectraModel's
embeddings (word + position + token type, LayerNorm, embeddings_project when
embedding_size != hidden_size), BERT's post-LayerNorm layers,
ElectraForMaskedLM's generator head (dense -> GELU -> LayerNorm ->
generator_lm_head tied to the word embeddings) and ElectraForPreTraining's
discriminator head (dense -> hidden_act -> dense_prediction) with its
BCEWithLogits loss over the attention mask. The generator shares the
discriminator's embeddings, as ELECTRA trains them. The masking and the
tokens sampled from the generator are fixed inputs, so both sides are
deterministic. Everything runs in float64; tensors are stored as float32
values of float64 results (ids as floats).

Run with Debian's python3-torch: /usr/bin/python3 gen_electra_step.py
"""
import json
import math
import struct

import torch
import torch.nn.functional as F

torch.manual_seed(0)
torch.set_default_dtype(torch.float64)

V, P, TYPES, E = 40, 10, 2, 12
DISC = dict(C=16, H=2, F=32, L=2)
GEN = dict(C=8, H=2, F=16, L=2)
EPS, LAMBDA, PAD, MASK = 1e-12, 50.0, 0, 1
B, T = 2, 10


def linear(i, o):
    return {"weight": torch.randn(o, i) * 0.2, "bias": torch.randn(o) * 0.1}


def layernorm(n):
    return {"weight": 1 + torch.randn(n) * 0.1, "bias": torch.randn(n) * 0.1}


def flat(prefix, d, out):
    for k, v in d.items():
        if isinstance(v, dict):
            flat(f"{prefix}{k}.", v, out)
        else:
            out[prefix + k] = v
    return out


def encoder(cfg, embeddings):
    C, F_ = cfg["C"], cfg["F"]
    m = {"embeddings": embeddings}
    if E != C:
        m["embeddings_project"] = linear(E, C)
    m["encoder"] = {"layer": {str(i): {
        "attention": {"self": {"query": linear(C, C), "key": linear(C, C), "value": linear(C, C)},
                      "output": {"dense": linear(C, C), "LayerNorm": layernorm(C)}},
        "intermediate": {"dense": linear(C, F_)},
        "output": {"dense": linear(F_, C), "LayerNorm": layernorm(C)}} for i in range(cfg["L"])}}
    return m


word = torch.randn(V, E) * 0.2
word[PAD] = 0  # HF's padding_idx row starts at zero
embeddings = {"word_embeddings": {"weight": word}, "position_embeddings": {"weight": torch.randn(P, E) * 0.2},
              "token_type_embeddings": {"weight": torch.randn(TYPES, E) * 0.2}, "LayerNorm": layernorm(E)}
disc = {"electra": encoder(DISC, embeddings),
        "discriminator_predictions": {"dense": linear(DISC["C"], DISC["C"]), "dense_prediction": linear(DISC["C"], 1)}}
gen = {"electra": encoder(GEN, embeddings),
       "generator_predictions": {"dense": linear(GEN["C"], E), "LayerNorm": layernorm(E)},
       "generator_lm_head": {"bias": torch.randn(V) * 0.1}}
disc_p, gen_p = flat("", disc, {}), flat("", gen, {})
for t in list(disc_p.values()) + list(gen_p.values()):
    t.requires_grad_(True)
# The generator's embeddings are the discriminator's tensors (shared).
for k in list(gen_p):
    if k.startswith("electra.embeddings."):
        gen_p[k] = disc_p[k]


def embed(p, ids, types):
    w = p["electra.embeddings.word_embeddings.weight"]
    x = F.embedding(ids, w, padding_idx=PAD)
    x = x + p["electra.embeddings.position_embeddings.weight"][torch.arange(ids.shape[1])][None]
    x = x + F.embedding(types, p["electra.embeddings.token_type_embeddings.weight"])
    return F.layer_norm(x, (E,), p["electra.embeddings.LayerNorm.weight"], p["electra.embeddings.LayerNorm.bias"], EPS)


def lin(p, name, x):
    return F.linear(x, p[name + ".weight"], p[name + ".bias"])


def ln(p, name, x):
    return F.layer_norm(x, (x.shape[-1],), p[name + ".weight"], p[name + ".bias"], EPS)


def electra_model(p, cfg, ids, types, mask):
    x = embed(p, ids, types)
    if E != cfg["C"]:
        x = lin(p, "electra.embeddings_project", x)
    C, H = cfg["C"], cfg["H"]
    D = C // H
    ext = (1.0 - mask[:, None, None, :].double()) * torch.finfo(torch.float64).min
    for i in range(cfg["L"]):
        pre = f"electra.encoder.layer.{i}."
        q, k, v = (lin(p, pre + "attention.self." + n, x).view(B, T, H, D).transpose(1, 2) for n in ("query", "key", "value"))
        a = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(D) + ext, dim=-1) @ v
        a = a.transpose(1, 2).reshape(B, T, C)
        x = ln(p, pre + "attention.output.LayerNorm", x + lin(p, pre + "attention.output.dense", a))
        h = lin(p, pre + "output.dense", F.gelu(lin(p, pre + "intermediate.dense", x)))
        x = ln(p, pre + "output.LayerNorm", x + h)
    return x


cls, sep = 2, 3
ids = torch.tensor([[cls, 10, 11, 12, 13, 14, 15, 16, 17, sep],
                    [cls, 20, 21, 22, 23, 24, sep, PAD, PAD, PAD]])
types = torch.tensor([[0] * 5 + [1] * 5, [0] * T])
mask = (ids != PAD).long()
labels = torch.full((B, T), -100)
masked = ids.clone()
# BERT's 80/10/10: three positions become [MASK], one keeps its token, one a random one.
for (b, t), how in {(0, 2): MASK, (0, 5): MASK, (0, 7): "keep", (1, 1): MASK, (1, 4): 33}.items():
    labels[b, t] = ids[b, t]
    masked[b, t] = ids[b, t] if how == "keep" else how
positions = (labels != -100).view(-1).nonzero().view(-1)
# Fixed draws from the generator, one per masked position in order; the
# third equals the original token, so it counts as not replaced.
sampled = torch.tensor([7, 25, 16, 38, 23])

h = electra_model(gen_p, GEN, masked, types, mask)
g = ln(gen_p, "generator_predictions.LayerNorm", F.gelu(lin(gen_p, "generator_predictions.dense", h)))
logits = F.linear(g, gen_p["electra.embeddings.word_embeddings.weight"], gen_p["generator_lm_head.bias"])
gen_loss = F.cross_entropy(logits.view(-1, V), labels.view(-1), ignore_index=-100)

disc_ids = masked.clone().view(-1)
disc_ids[positions] = sampled
disc_ids = disc_ids.view(B, T)
replaced = (disc_ids != ids).double()
x = electra_model(disc_p, DISC, disc_ids, types, mask)
d = lin(disc_p, "discriminator_predictions.dense_prediction",
        F.gelu(lin(disc_p, "discriminator_predictions.dense", x))).squeeze(-1)
active = mask.view(-1) == 1
disc_loss = F.binary_cross_entropy_with_logits(d.view(-1)[active], replaced.view(-1)[active])
total = gen_loss + LAMBDA * disc_loss
total.backward()

out = {"input.ids": ids, "input.masked": masked, "input.types": types, "input.mask": mask,
       "input.labels": labels, "input.sampled": sampled,
       "loss.total": total.detach().view(1), "loss.gen": gen_loss.detach().view(1),
       "loss.disc": disc_loss.detach().view(1), "disc.logits": d.detach()}
for k, t in disc_p.items():
    out["disc." + k] = t.detach()
    out["grad.disc." + k] = t.grad
for k, t in gen_p.items():
    if not k.startswith("electra.embeddings."):
        out["gen." + k] = t.detach()
        out["grad.gen." + k] = t.grad


def save(path, tensors):
    header, blobs, off = {}, [], 0
    for k in sorted(tensors):
        t = tensors[k].contiguous().float()
        b = t.numpy().tobytes()
        header[k] = {"dtype": "F32", "shape": list(t.shape), "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))


save("electra_step.safetensors", out)
print(f"{len(out)} tensors; loss {total.item():.10f} = gen {gen_loss.item():.10f} + {LAMBDA} * disc {disc_loss.item():.10f}; torch {torch.__version__}")
