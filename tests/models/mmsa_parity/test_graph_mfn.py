"""Graph-MFN against MMSA 2.2.1's Graph_MFN module (see harness.py and test_mfn.py).

MMSA keeps its multimodal DFG vertex networks in a plain dict (a bug, documented in
``mifusion.models.graph_mfn``): they are not submodules, so ``named_parameters`` and ``.double()`` miss them.
The test registers them on MMSA's DFG *instance* (a ModuleDict beside the dict, same modules; MMSA's forward
is unchanged) so that they are converted, copied and their gradients compared like every other parameter.
"""

from __future__ import annotations

import pytest
from torch import nn

from mifusion.config import ModelConfig, PenaltyConfig
from mifusion.models.build import build_model

from . import harness

STEPS = 5
MODALITIES = ("text", "audio", "vision")
SIZES = {"text_hidden": 4, "audio_hidden": 3, "vision_hidden": 5, "memory_dim": 6, "vertex_dim": 4}
HIDDEN = {"candidate_hidden": 5, "gamma1_hidden": 4, "gamma2_hidden": 3, "output_hidden": 6}
PATTERN = 100  # MMSA's DFG hard-codes a hidden width of 100
RULES = [
    ("Model.lstm_l.", "cells.cells.text."), ("Model.lstm_a.", "cells.cells.audio."),
    ("Model.lstm_v.", "cells.cells.vision."), ("Model.l_transform.", "singletons.text."),
    ("Model.a_transform.", "singletons.audio."), ("Model.v_transform.", "singletons.vision."),
    ("Model.graph_mfn.t_network.0.", "graph.networks.T.0."), ("Model.graph_mfn.t_network.1.0.", "graph.networks.T.1."),
    ("Model.graph_mfn.efficacy_model.0.", "graph.efficacy.0."),
    ("Model.graph_mfn.efficacy_model.1.0.", "graph.efficacy.1."),
    ("Model.graph_mfn.efficacy_model.2.", "graph.efficacy.2."),
    ("Model.att2_fc1.", "memory.candidate.0."), ("Model.att2_fc2.", "memory.candidate.3."),
    ("Model.gamma1_fc1.", "memory.gamma1.0."), ("Model.gamma1_fc2.", "memory.gamma1.3."),
    ("Model.gamma2_fc1.", "memory.gamma2.0."), ("Model.gamma2_fc2.", "memory.gamma2.3."),
    ("Model.out_fc1.", "head.0."), ("Model.out_fc2.", "head.3."),
]  # fmt: skip
VERTICES = ["0_1", "0_2", "1_2", "0_1_2"]
RULES += [(f"Model.graph_mfn.registered.{k}.0.", f"graph.networks.{k}.0.") for k in VERTICES]
RULES += [(f"Model.graph_mfn.registered.{k}.1.0.", f"graph.networks.{k}.1.") for k in VERTICES]


@pytest.fixture
def models():  # type: ignore[no-untyped-def]
    harness.require_mmsa()
    with harness.float64_by_default():
        theirs = harness.mmsa_model(
            "graph_mfn", [harness.DIMS[m] for m in MODALITIES], seq_lens=[STEPS] * 3,
            hidden_dims=[SIZES["text_hidden"], SIZES["audio_hidden"], SIZES["vision_hidden"]],
            memsize=SIZES["memory_dim"], inner_node_dim=SIZES["vertex_dim"],
            NNConfig={"drop": 0.0, "shapes": HIDDEN["candidate_hidden"]},
            gamma1Config={"drop": 0.0, "shapes": HIDDEN["gamma1_hidden"]},
            gamma2Config={"drop": 0.0, "shapes": HIDDEN["gamma2_hidden"]},
            outConfig={"drop": 0.0, "shapes": HIDDEN["output_hidden"]},
        )  # fmt: skip
    graph = theirs.Model.graph_mfn
    graph.registered = nn.ModuleDict({"_".join(map(str, k)): net for k, net in graph.networks.items()})
    batch = harness.feature_batch(4, dict.fromkeys(MODALITIES, STEPS), full=MODALITIES)
    cfg = ModelConfig(name="graph_mfn", dropout=0.0, options={**SIZES, **HIDDEN, "pattern_hidden": PATTERN})
    ours = build_model(cfg, PenaltyConfig(), harness.feature_spec(batch, aligned=True)).double()
    return theirs, ours, harness.copy_weights(theirs, ours, harness.prefix_rule(RULES))


def test_outputs_and_gradients_equal_mmsa(models) -> None:  # type: ignore[no-untyped-def]
    theirs, ours, mapping = models
    batch = harness.feature_batch(5, dict.fromkeys(MODALITIES, STEPS), seed=1, full=MODALITIES)
    with harness.float64_by_default():  # MMSA's initial states are torch.zeros
        out_theirs = theirs(*(batch.sequences[m] for m in MODALITIES))
    out = ours(batch)
    harness.close("prediction", out.prediction, out_theirs["M"])
    loss_theirs = (out_theirs["M"].squeeze(-1) - batch.labels).abs().mean()
    loss_ours = (out.prediction - batch.labels).abs().mean()
    harness.compare_gradients(theirs, ours, mapping, loss_theirs, loss_ours)
    vertex = dict(theirs.named_parameters())["Model.graph_mfn.registered.0_1_2.0.weight"]
    assert vertex.grad is not None and vertex.grad.abs().sum() > 0, (
        "MMSA's unregistered vertices get gradients"
    )
