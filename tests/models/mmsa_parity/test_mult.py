"""MulT (``parity: mmsa``) against MMSA 2.2.1's MULT module (see harness.py).

The batch is unpadded (every modality at its full, different length), as MMSA's fixed-length data are: MMSA
attends to every position and reads the last one. Vision's width equals ``dim`` here, so MMSA skips its
projection (``Model.proj_v`` is built but unused) and so does mifusion. Compared: the prediction, the three
unimodal states, the fused vector and every gradient, in training mode (dropout 0).
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from mifusion.config import ModelConfig, PenaltyConfig
from mifusion.models.build import build_model

from . import harness

DIM, HEADS, LAYERS, KERNEL = 4, 2, 2, 3
DROPOUTS = (
    "attn_dropout", "attn_dropout_a", "attn_dropout_v", "relu_dropout", "embed_dropout", "res_dropout",
    "output_dropout", "text_dropout",
)  # fmt: skip
NAMES = {"l": "text", "a": "audio", "v": "vision"}


def name_rule() -> Callable[[str], str | None]:
    """MMSA's MULT names onto MMSAMulT's: module prefixes, then the layer parts renamed."""
    out = [(f"Model.proj_{k}.", f"project.{m}.") for k, m in NAMES.items() if m != "vision"]
    for t, target in NAMES.items():
        for s, source in NAMES.items():
            if s != t:
                out.append((f"Model.trans_{t}_with_{s}.", f"crossmodal.{source}_to_{target}."))
        out.append((f"Model.trans_{t}_mem.", f"self_attention.{target}."))
    out += [("Model.proj1.", "proj1."), ("Model.proj2.", "proj2."), ("Model.out_layer.", "out.")]
    layer_parts = [("self_attn.", "attention."), ("layer_norms.", "norms."), ("layer_norm.", "norm.")]

    def rule(name: str) -> str | None:
        mapped = harness.prefix_rule(out)(name)
        if mapped is None:
            return None
        for theirs, ours in layer_parts:
            mapped = mapped.replace(f".{theirs}", f".{ours}")
        return mapped

    return rule


@pytest.fixture
def models():  # type: ignore[no-untyped-def]
    harness.require_mmsa()
    theirs = harness.mmsa_model(
        "mult", [harness.DIMS[m] for m in ("text", "audio", "vision")],
        dst_feature_dim_nheads=[DIM, HEADS], nlevels=LAYERS, conv1d_kernel_size_l=KERNEL,
        conv1d_kernel_size_a=KERNEL, conv1d_kernel_size_v=KERNEL, **dict.fromkeys(DROPOUTS, 0.0),
    )  # fmt: skip
    batch = harness.feature_batch(4, harness.CLASSIC_STEPS, full=tuple(harness.CLASSIC_STEPS))
    cfg = ModelConfig(
        name="mult", dropout=0.0,
        options={"parity": "mmsa", "dim": DIM, "num_heads": HEADS, "crossmodal_layers": LAYERS, "kernel_size": KERNEL},
    )  # fmt: skip
    ours = build_model(cfg, PenaltyConfig(), harness.feature_spec(batch)).double()
    mapping = harness.copy_weights(theirs, ours, name_rule(), unused=("Model.proj_v.",))
    return theirs, ours, mapping


def test_outputs_and_gradients_equal_mmsa(models) -> None:  # type: ignore[no-untyped-def]
    theirs, ours, mapping = models
    full = tuple(harness.CLASSIC_STEPS)
    batch = harness.feature_batch(5, harness.CLASSIC_STEPS, seed=1, full=full)
    out_theirs = theirs(batch.sequences["text"], batch.sequences["audio"], batch.sequences["vision"])
    out = ours(batch)
    harness.close("prediction", out.prediction, out_theirs["M"])
    for m, key in (("text", "Feature_t"), ("audio", "Feature_a"), ("vision", "Feature_v")):
        harness.close(f"unimodal {m}", out.unimodal[m], out_theirs[key])
    harness.close("fused", out.fused, out_theirs["Feature_f"])  # type: ignore[arg-type]
    loss_theirs = (out_theirs["M"].squeeze(-1) - batch.labels).abs().mean()
    loss_ours = (out.prediction - batch.labels).abs().mean()
    harness.compare_gradients(theirs, ours, mapping, loss_theirs, loss_ours)
