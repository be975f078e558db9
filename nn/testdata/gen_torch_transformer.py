#!/usr/bin/python3
"""Writes torch_transformer.safetensors: a small torch.nn.TransformerEncoder
and TransformerDecoder (post-norm ReLU and pre-norm GELU variants), their
inputs and outputs, for nn's PyTorch parity test (nn/torch_test.go).

Run with Debian's python3-torch (1.13): /usr/bin/python3 gen_torch_transformer.py
"""
import json
import struct

import torch

torch.manual_seed(0)
D, H, F, L, B, T, S = 16, 2, 32, 2, 2, 5, 4
out = {}
pad = torch.tensor([[False] * T, [False, False, False, True, True]])
mem_pad = torch.tensor([[False] * S, [False, False, True, True]])
for name, act, norm_first in [("post_relu", "relu", False), ("pre_gelu", "gelu", True)]:
    enc_layer = torch.nn.TransformerEncoderLayer(D, H, F, dropout=0.0, activation=act, batch_first=True,
                                                 norm_first=norm_first)
    enc = torch.nn.TransformerEncoder(enc_layer, L, norm=torch.nn.LayerNorm(D) if norm_first else None,
                                      enable_nested_tensor=False)
    dec_layer = torch.nn.TransformerDecoderLayer(D, H, F, dropout=0.0, activation=act, batch_first=True,
                                                 norm_first=norm_first)
    dec = torch.nn.TransformerDecoder(dec_layer, L, norm=torch.nn.LayerNorm(D) if norm_first else None)
    for m in (enc, dec):
        m.train()  # the slow, reference path (no fused inference kernels); dropout is 0
        with torch.no_grad():
            for n, p in m.named_parameters():
                if p.dim() == 1:
                    p.normal_(0.0 if n.endswith("bias") else 1.0, 0.1)
    x = torch.randn(B, T, D)
    tgt = torch.randn(B, S, D)
    with torch.no_grad():
        y = enc(x, src_key_padding_mask=pad)
        causal = torch.triu(torch.full((S, S), float("-inf")), diagonal=1)
        z = dec(tgt, y, tgt_mask=causal, memory_key_padding_mask=pad)
    for n, p in enc.state_dict().items():
        out[f"{name}.enc.{n}"] = p
    for n, p in dec.state_dict().items():
        out[f"{name}.dec.{n}"] = p
    out[f"{name}.x"], out[f"{name}.y"], out[f"{name}.tgt"], out[f"{name}.z"] = x, y, tgt, z


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


save("torch_transformer.safetensors", out)
print(len(out), "tensors;", torch.__version__)
