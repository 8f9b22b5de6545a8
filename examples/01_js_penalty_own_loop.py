"""Add a dependency penalty to your own late-fusion model and training loop.

Part 1 adds a Jensen-Shannon penalty: one optimiser over model and critic. Part 2 swaps in a
Wasserstein penalty with gradient penalty, whose critic gets its own optimiser and step. The call
pattern is the same: ``out = penalty(reps)``, then backward on ``task + out.term + out.critic_loss``
(``term`` reaches only your encoders, ``critic_loss`` only the critic).

    python examples/01_js_penalty_own_loop.py
"""

import os

import torch
import torch.nn.functional as F
from torch import nn

import mifusion

SMALL = bool(os.environ.get("MIFUSION_EXAMPLE_SMALL"))
torch.manual_seed(0)
data = mifusion.load_data(like="mosi", n=300 if SMALL else 1200, seed=0)  # synthetic, shaped like CMU-MOSI
DIMS = {"text": 32, "audio": 16, "vision": 16}  # the size of each modality's vector in *your* model


def masked_mean(x, mask):  # (B, T, D), (B, T) -> (B, D)
    mask = mask.unsqueeze(-1).float()
    return (x * mask).sum(1) / mask.sum(1).clamp(min=1)


class LateFusion(nn.Module):  # an ordinary PyTorch model: nothing mifusion-specific in it
    def __init__(self, vocab_size: int, audio_dim: int, vision_dim: int):
        super().__init__()
        self.embed = nn.Embedding(vocab_size, DIMS["text"], padding_idx=0)
        self.audio = nn.Sequential(nn.Linear(audio_dim, DIMS["audio"]), nn.Tanh())
        self.vision = nn.Sequential(nn.Linear(vision_dim, DIMS["vision"]), nn.Tanh())
        self.head = nn.Sequential(nn.Linear(sum(DIMS.values()), 32), nn.ReLU(), nn.Linear(32, 1))

    def forward(self, batch):
        reps = {  # modality -> (B, D): what the penalty looks at
            "text": masked_mean(self.embed(batch.token_ids), batch.token_mask),
            "audio": self.audio(masked_mean(batch.sequences["audio"], batch.masks["audio"])),
            "vision": self.vision(masked_mean(batch.sequences["vision"], batch.masks["vision"])),
        }
        return self.head(torch.cat(list(reps.values()), dim=-1)).squeeze(-1), reps


def train(estimator: str, separate_critic: bool, epochs: int) -> None:
    model = LateFusion(data.meta["vocab_size"], *data.feature_dims().values())
    penalty = mifusion.DependencyPenalty(estimator, DIMS, weight=0.1, hidden_dim=64)
    groups = [model.parameters()] if separate_critic else [model.parameters(), penalty.parameters()]
    optimizer = torch.optim.Adam([p for g in groups for p in g], lr=1e-3)
    critic_optimizer = torch.optim.Adam(penalty.parameters(), lr=1e-3) if separate_critic else None
    for epoch in range(epochs):
        for batch in mifusion.iterate_batches(data["train"], batch_size=32, shuffle=True, seed=epoch):
            prediction, reps = model(batch)
            out = penalty(reps, available=batch.present)  # samples missing a modality are left out
            loss = F.l1_loss(prediction, batch.labels) + out.term + out.critic_loss
            optimizer.zero_grad()
            if critic_optimizer is not None:
                critic_optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            if critic_optimizer is not None:
                critic_optimizer.step()  # the critic's own step: its loss includes the gradient penalty
        model.eval()
        with torch.no_grad():
            batch = next(mifusion.iterate_batches(data["valid"], batch_size=len(data["valid"])))
            prediction, reps = model(batch)
            estimate = penalty(reps).estimate.item()
        model.train()
        metrics = mifusion.score(prediction, batch.labels)
        print(
            f"{estimator} epoch {epoch + 1}: valid MAE {metrics['mae']:.3f}  estimate {estimate:.4f} ({penalty.unit})"
        )


train("js", separate_critic=False, epochs=2 if SMALL else 10)
train("wasserstein_gp", separate_critic=True, epochs=2 if SMALL else 10)
