# Reference values for distill's loss tests, from PyTorch (float64).
# Regenerate: /usr/bin/python3 distill/testdata/losses.py > distill/testdata/losses.json
import json

import torch
import torch.nn.functional as F

torch.manual_seed(0)
cases = {"kl": [], "cosine": []}
for n, k, temp, scale in [(5, 7, 2.0, 1.0), (3, 2, 1.0, 3.0), (4, 11, 4.0, 8.0), (1, 3, 0.5, 1.0)]:
    s = (torch.randn(n, k, dtype=torch.float64) * scale).float().double().requires_grad_()
    t = (torch.randn(n, k, dtype=torch.float64) * scale).float().double()
    # DistilBERT's Distiller: KLDivLoss(reduction="batchmean") on the
    # softened distributions, times T².
    loss = F.kl_div(F.log_softmax(s / temp, dim=-1), F.softmax(t / temp, dim=-1), reduction="batchmean") * temp**2
    loss.backward()
    cases["kl"].append({"n": n, "k": k, "temperature": temp, "student": s.detach().flatten().tolist(),
                        "teacher": t.flatten().tolist(), "loss": loss.item(), "grad": s.grad.flatten().tolist()})
for r, c in [(4, 6), (1, 3), (7, 16)]:
    s = torch.randn(r, c, dtype=torch.float64).float().double().requires_grad_()
    t = torch.randn(r, c, dtype=torch.float64).float().double()
    loss = F.cosine_embedding_loss(s, t, torch.ones(r, dtype=torch.float64), reduction="mean")
    loss.backward()
    cases["cosine"].append({"r": r, "c": c, "student": s.detach().flatten().tolist(),
                            "teacher": t.flatten().tolist(), "loss": loss.item(), "grad": s.grad.flatten().tolist()})
print(json.dumps({"torch": torch.__version__, **cases}))
