"""Writes qa_golden.json: BertForQuestionAnswering on the bert-tiny fixture's encoder.

Run: GLOSSA_SHARED=/work/shared /usr/bin/python3 models/bert/testdata/make_qa_golden.py

The encoder weights are ../shared/fixtures/bert-tiny's (bert.* without the pooler, as
BertForQuestionAnswering has none); qa_outputs gets seeded random weights, written into the
golden so that the Go test builds the same model. The span head and loss follow Hugging Face's
BertForQuestionAnswering: logits = qa_outputs(sequence_output) (no dropout), split into start and
end; positions clamped to [0, T], ignore_index T, loss (CE(start) + CE(end)) / 2.
"""
import json
import os
import sys

import torch
import torch.nn.functional as F

shared = os.environ.get("GLOSSA_SHARED", "../shared")
sys.path.insert(0, os.path.join(shared, "reference"))
import hf_models as hm  # noqa: E402
import safetensors_io as sio  # noqa: E402

torch.manual_seed(0)
torch.use_deterministic_algorithms(True)
torch.set_num_threads(1)
fixture = os.path.join(shared, "fixtures", "bert-tiny")
cfg_json = json.load(open(os.path.join(fixture, "config.json")))
keys = set(hm.BertConfig.DEFAULTS)
config = hm.BertConfig(**{k: v for k, v in cfg_json.items() if k in keys})
config.hidden_dropout_prob = config.attention_probs_dropout_prob = 0.0
bert = hm.BertModel(config, add_pooling_layer=False)
weights, _ = sio.load_file(os.path.join(fixture, "model.safetensors"))
state = {k[len("bert."):]: torch.tensor(v) for k, v in weights.items()
         if k.startswith("bert.") and not k.startswith("bert.pooler.")}
missing, unexpected = bert.load_state_dict(state, strict=False)
assert not unexpected and all(k.endswith("position_ids") for k in missing), (missing, unexpected)
qa = torch.nn.Linear(config.hidden_size, 2)
g = torch.Generator().manual_seed(13)
with torch.no_grad():
    qa.weight.copy_(torch.randn(2, config.hidden_size, generator=g) * 0.5)
    qa.bias.copy_(torch.tensor([0.25, -0.5]))

inp = json.load(open(os.path.join(fixture, "golden.json")))["inputs"]
ids = torch.tensor(inp["input_ids"])
mask = torch.tensor(inp["attention_mask"])
types = torch.tensor(inp["token_type_ids"])
B, T = ids.shape
# Row 1's start (99) is past the sequence: clamped to T and ignored, as in HF.
start_pos = [10, 99]
end_pos = [12, 5]

out = bert(ids, mask, types)
logits = qa(out["last_hidden_state"])
start, end = logits.split(1, dim=-1)
start, end = start.squeeze(-1).contiguous(), end.squeeze(-1).contiguous()
ignored = T
sp = torch.tensor(start_pos).clamp(0, ignored)
ep = torch.tensor(end_pos).clamp(0, ignored)
loss = (F.cross_entropy(start, sp, ignore_index=ignored) + F.cross_entropy(end, ep, ignore_index=ignored)) / 2
loss.backward()

q0 = bert.encoder.layer[0].attention.self.query.weight
golden = {
    "generator": "models/bert/testdata/make_qa_golden.py",
    "torch_version": torch.__version__,
    "qa_outputs.weight": qa.weight.detach().flatten().tolist(),
    "qa_outputs.bias": qa.bias.detach().tolist(),
    "start_positions": start_pos,
    "end_positions": end_pos,
    "start_logits": start.detach().flatten().tolist(),
    "end_logits": end.detach().flatten().tolist(),
    "loss": loss.item(),
    "grad": {
        "qa_outputs.weight": qa.weight.grad.flatten().tolist(),
        "qa_outputs.bias": qa.bias.grad.tolist(),
        "bert.encoder.layer.0.attention.self.query.weight": q0.grad.flatten().tolist(),
        "bert.embeddings.LayerNorm.weight": bert.embeddings.LayerNorm.weight.grad.flatten().tolist(),
    },
}
path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "qa_golden.json")
with open(path, "w") as f:
    json.dump(golden, f, indent=1)
    f.write("\n")
print("wrote", path, "loss", loss.item())
