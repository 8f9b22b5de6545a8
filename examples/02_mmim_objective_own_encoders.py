"""MMIM's hierarchical MI objective on top of your own encoders and fusion (Han et al., EMNLP 2021).

Your model supplies the unimodal vectors and the fused vector; ``MMIMObjective`` returns named, weighted
terms (CPC from the fused vector to each modality; BA bounds for text->vision and text->audio) and the
q networks' own loss (the "estimator stage"). One backward on
``compose_loss(task, out.terms).total + out.estimator_loss`` trains both: the terms reach only your model,
``estimator_loss`` only the q networks.

    python examples/02_mmim_objective_own_encoders.py
"""

import os

import torch
import torch.nn.functional as F
from torch import nn

import mifusion

SMALL = bool(os.environ.get("MIFUSION_EXAMPLE_SMALL"))
torch.manual_seed(0)
data = mifusion.load_data(like="mosi", n=300 if SMALL else 1200, seed=0)  # synthetic, shaped like CMU-MOSI
DIMS, FUSED = {"text": 32, "audio": 16, "vision": 16}, 64


class ConvEncoder(nn.Module):  # one of *your* encoders: (B, T, D_in) frames -> (B, D) vector
    def __init__(self, in_dim: int, out_dim: int):
        super().__init__()
        self.conv = nn.Conv1d(in_dim, out_dim, kernel_size=3, padding=1)

    def forward(self, x, mask):  # (B, T, D_in), (B, T) -> (B, D)
        h = torch.relu(self.conv(x.transpose(1, 2))).transpose(1, 2)  # (B, T, D)
        m = mask.unsqueeze(-1).float()
        return (h * m).sum(1) / m.sum(1).clamp(min=1)


class MyModel(nn.Module):
    def __init__(self, vocab_size: int, audio_dim: int, vision_dim: int):
        super().__init__()
        self.embed = nn.Embedding(vocab_size, DIMS["text"], padding_idx=0)
        self.text = ConvEncoder(DIMS["text"], DIMS["text"])
        self.audio, self.vision = (
            ConvEncoder(audio_dim, DIMS["audio"]),
            ConvEncoder(vision_dim, DIMS["vision"]),
        )
        self.fusion = nn.Sequential(nn.Linear(sum(DIMS.values()), FUSED), nn.Tanh())
        self.head = nn.Linear(FUSED, 1)

    def forward(self, batch):  # -> (B,) prediction, modality -> (B, D_m), (B, FUSED)
        unimodal = {
            "text": self.text(self.embed(batch.token_ids), batch.token_mask),
            "audio": self.audio(batch.sequences["audio"], batch.masks["audio"]),
            "vision": self.vision(batch.sequences["vision"], batch.masks["vision"]),
        }
        fused = self.fusion(torch.cat(list(unimodal.values()), dim=-1))
        return self.head(fused).squeeze(-1), unimodal, fused


model = MyModel(data.meta["vocab_size"], *data.feature_dims().values())
objective = mifusion.MMIMObjective(DIMS, FUSED, alpha=0.1, beta=0.1)
optimizer = torch.optim.Adam([*model.parameters(), *objective.parameters()], lr=1e-3)
for epoch in range(2 if SMALL else 10):
    objective.new_epoch()  # resets the entropy memory
    for batch in mifusion.iterate_batches(data["train"], batch_size=32, shuffle=True, seed=epoch):
        prediction, unimodal, fused = model(batch)
        out = objective(unimodal, fused, batch.labels)
        loss = mifusion.compose_loss(F.l1_loss(prediction, batch.labels), out.terms)
        optimizer.zero_grad()
        (loss.total + out.estimator_loss).backward()
        optimizer.step()
    parts = ", ".join(f"{k} {v:.3f}" for k, v in loss.parts.items() if "/" not in k)
    with torch.no_grad():
        model.eval()
        valid = next(mifusion.iterate_batches(data["valid"], batch_size=len(data["valid"])))
        metrics = mifusion.score(model(valid)[0], valid.labels)
        model.train()
    print(f"epoch {epoch + 1}: valid MAE {metrics['mae']:.3f} | last train batch: {parts}")
