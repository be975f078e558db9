"""Reference for models/transformer: one training step of a tiny MarianMTModel-shaped Transformer in plain
PyTorch (float64), written by hand after transformers' modeling_marian.py (post-LN layers, sinusoidal positions in
halves, embeddings scaled by sqrt(d_model) and tied to the output projection, final_logits_bias), with
torch.nn.functional.cross_entropy(label_smoothing=0.1, ignore_index=-100) as the loss.

Writes tiny/config.json, tiny/generation_config.json, tiny/model.safetensors (the weights, float32, Marian's names)
and reference.safetensors (the batch, logits, loss and every gradient, float32). Run:

    /usr/bin/python3 models/transformer/testdata/make_reference.py
"""

import json
import math
import os
import struct

import numpy as np
import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
V, C, H, FFN, L_ENC, L_DEC, P = 48, 16, 4, 32, 2, 2, 32
PAD, EOS = 47, 2
SMOOTH = 0.1
torch.manual_seed(15)
D = C // H


def param(*shape, std=0.3):
    return (torch.randn(*shape, dtype=torch.float64) * std).requires_grad_()


W = {"model.shared.weight": param(V, C, std=0.25)}


def layer_params(prefix, attn_names):
    for a in attn_names:
        for x in ("q", "k", "v", "out"):
            W[f"{prefix}.{a}.{x}_proj.weight"] = param(C, C)
            W[f"{prefix}.{a}.{x}_proj.bias"] = param(C, std=0.1)
        W[f"{prefix}.{a}_layer_norm.weight"] = (1 + torch.randn(C, dtype=torch.float64) * 0.1).requires_grad_()
        W[f"{prefix}.{a}_layer_norm.bias"] = param(C, std=0.1)
    W[f"{prefix}.fc1.weight"] = param(FFN, C)
    W[f"{prefix}.fc1.bias"] = param(FFN, std=0.1)
    W[f"{prefix}.fc2.weight"] = param(C, FFN)
    W[f"{prefix}.fc2.bias"] = param(C, std=0.1)
    W[f"{prefix}.final_layer_norm.weight"] = (1 + torch.randn(C, dtype=torch.float64) * 0.1).requires_grad_()
    W[f"{prefix}.final_layer_norm.bias"] = param(C, std=0.1)


for i in range(L_ENC):
    layer_params(f"model.encoder.layers.{i}", ["self_attn"])
for i in range(L_DEC):
    layer_params(f"model.decoder.layers.{i}", ["self_attn", "encoder_attn"])


def positions(n, dim):
    enc = np.array([[p / np.power(10000, 2 * (j // 2) / dim) for j in range(dim)] for p in range(n)])
    out = np.zeros((n, dim))
    half = dim // 2 if dim % 2 == 0 else dim // 2 + 1
    out[:, :half] = np.sin(enc[:, 0::2])
    out[:, half:] = np.cos(enc[:, 1::2])
    return torch.tensor(out, dtype=torch.float32).double()  # HF builds the table in float32


PE = positions(P, C)


def attention(pre, x, mem, key_pad, causal):
    B, T, _ = x.shape
    S = mem.shape[1]
    q = F.linear(x, W[pre + ".q_proj.weight"], W[pre + ".q_proj.bias"]).view(B, T, H, D).transpose(1, 2)
    k = F.linear(mem, W[pre + ".k_proj.weight"], W[pre + ".k_proj.bias"]).view(B, S, H, D).transpose(1, 2)
    v = F.linear(mem, W[pre + ".v_proj.weight"], W[pre + ".v_proj.bias"]).view(B, S, H, D).transpose(1, 2)
    s = q @ k.transpose(-1, -2) / math.sqrt(D)
    mask = torch.zeros(B, 1, T, S, dtype=torch.bool)
    if key_pad is not None:
        mask = mask | key_pad[:, None, None, :]
    if causal:
        mask = mask | torch.triu(torch.ones(T, S, dtype=torch.bool), 1)[None, None]
    s = s.masked_fill(mask, float("-inf"))
    y = (s.softmax(-1) @ v).transpose(1, 2).reshape(B, T, C)
    return F.linear(y, W[pre + ".out_proj.weight"], W[pre + ".out_proj.bias"])


def ln(pre, x):
    return F.layer_norm(x, (C,), W[pre + ".weight"], W[pre + ".bias"], 1e-5)


def ffn(pre, x):
    return F.linear(F.relu(F.linear(x, W[pre + ".fc1.weight"], W[pre + ".fc1.bias"])), W[pre + ".fc2.weight"], W[pre + ".fc2.bias"])


def embed(ids):
    return W["model.shared.weight"][ids] * math.sqrt(C) + PE[: ids.shape[1]]


src = torch.tensor([[5, 9, 13, 7, 21, 30, EOS], [11, 4, 8, EOS, PAD, PAD, PAD], [40, 3, 17, 26, 6, EOS, PAD]])
tgt = torch.tensor([[PAD, 12, 19, 5, 33, 8], [PAD, 44, 7, 10, PAD, PAD], [PAD, 3, 3, 29, 14, PAD]])
labels = torch.tensor([[12, 19, 5, 33, 8, EOS], [44, 7, 10, EOS, -100, -100], [3, 3, 29, 14, EOS, -100]])
src_pad = src == PAD

x = embed(src)
for i in range(L_ENC):
    p = f"model.encoder.layers.{i}"
    x = ln(p + ".self_attn_layer_norm", x + attention(p + ".self_attn", x, x, src_pad, False))
    x = ln(p + ".final_layer_norm", x + ffn(p, x))
mem = x
h = embed(tgt)
for i in range(L_DEC):
    p = f"model.decoder.layers.{i}"
    h = ln(p + ".self_attn_layer_norm", h + attention(p + ".self_attn", h, h, None, True))
    h = ln(p + ".encoder_attn_layer_norm", h + attention(p + ".encoder_attn", h, mem, src_pad, False))
    h = ln(p + ".final_layer_norm", h + ffn(p, h))
logits = h @ W["model.shared.weight"].T
loss = F.cross_entropy(logits.reshape(-1, V), labels.reshape(-1), ignore_index=-100, label_smoothing=SMOOTH)
loss.backward()
print("loss", loss.item())


def save(path, tensors):
    header, blobs, off = {}, [], 0
    for name in sorted(tensors):
        a = np.ascontiguousarray(tensors[name], dtype="<f4")
        b = a.tobytes()
        header[name] = {"dtype": "F32", "shape": list(a.shape), "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-(8 + len(h)) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))


weights = {k: v.detach().numpy() for k, v in W.items()}
weights["final_logits_bias"] = np.zeros((1, V))
save(os.path.join(HERE, "tiny", "model.safetensors"), weights)
ref = {"grad." + k: v.grad.numpy() for k, v in W.items()}
ref["logits"] = logits.detach().numpy()
ref["loss"] = np.array([loss.item()])
ref["source"] = src.numpy().astype(np.float32)
ref["target"] = tgt.numpy().astype(np.float32)
ref["labels"] = labels.numpy().astype(np.float32)
save(os.path.join(HERE, "reference.safetensors"), ref)
config = {
    "architectures": ["MarianMTModel"], "model_type": "marian", "vocab_size": V, "decoder_vocab_size": V,
    "d_model": C, "encoder_layers": L_ENC, "decoder_layers": L_DEC, "encoder_attention_heads": H,
    "decoder_attention_heads": H, "encoder_ffn_dim": FFN, "decoder_ffn_dim": FFN, "activation_function": "relu",
    "max_position_embeddings": P, "scale_embedding": True, "share_encoder_decoder_embeddings": True,
    "tie_word_embeddings": True, "pad_token_id": PAD, "eos_token_id": EOS, "decoder_start_token_id": PAD,
    "forced_eos_token_id": EOS,
}
with open(os.path.join(HERE, "tiny", "config.json"), "w") as f:
    json.dump(config, f, indent=2)
with open(os.path.join(HERE, "tiny", "generation_config.json"), "w") as f:
    json.dump({"decoder_start_token_id": PAD, "eos_token_id": EOS, "pad_token_id": PAD, "max_length": P,
               "num_beams": 1, "bad_words_ids": [[PAD]]}, f, indent=2)
