"""Shared harness of the per-model differential tests against MMSA 2.2.1's own modules.

Each test builds MMSA's module (``MMSA.models.AMIO`` with MMSA's own ``get_config_regression`` config for
the model and MOSI, sizes shrunk through ``args.update``, dropout 0) and mifusion's with the same
configuration, copies the weights through an explicit name map (checked to be a bijection between the
parameters each side uses), feeds both the same batch in float64 and compares every output the loss uses,
and the gradients of an L1 loss on the prediction.

MMSA is imported from outside the environment (``tests/models/mmsa_oracle.py``); without it the tests skip,
except under CI (``CI`` set), where they fail. Nothing of MMSA is copied or edited.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

import pytest
import torch
from torch import Tensor, nn

from mifusion.data.batch import MultimodalBatch
from mifusion.data.spec import DataSpec
from mifusion.encoders.pooling import masked_mean

from .. import mmsa_oracle

RTOL = 1e-5
DIMS = {"text": 6, "audio": 5, "vision": 4}  # features per step


def require_mmsa() -> None:
    """Skips (fails under CI) when MMSA 2.2.1 is not importable."""
    if not mmsa_oracle.import_mmsa():
        message = f"MMSA 2.2.1 is not installed in {mmsa_oracle.mmsa_dir()} (make test installs it)"
        if os.environ.get("CI"):
            pytest.fail(message + ": the differential tests must run in CI")
        pytest.skip(message)


def mmsa_model(name: str, feature_dims: Sequence[int], seed: int = 0, **overrides: Any) -> nn.Module:
    """MMSA's AMIO for ``name`` with its own MOSI regression config updated by ``overrides``, in float64."""
    from MMSA.config import get_config_regression  # type: ignore[import-not-found]
    from MMSA.models import AMIO  # type: ignore[import-not-found]

    args = get_config_regression(name, "mosi")
    args.update(
        device=torch.device("cpu"), train_mode="regression", feature_dims=list(feature_dims), **overrides
    )
    torch.manual_seed(seed)
    model: nn.Module = AMIO(args).double()
    return model


def copy_weights(
    theirs: nn.Module,
    ours: nn.Module,
    rule: Callable[[str], str | None],
    unused: Sequence[str] = (),
) -> dict[str, str]:
    """Copies MMSA's parameters onto mifusion's through ``rule`` (MMSA name -> ours, or None when unmapped).

    Asserts the map is a bijection between MMSA's parameters (other than those starting with ``unused``)
    and all of mifusion's; shapes may differ only by size-1 axes. Returns the map.
    """
    mapping: dict[str, str] = {}
    for name, _ in theirs.named_parameters():
        if any(name.startswith(u) for u in unused):
            continue
        target = rule(name)
        assert target is not None, f"MMSA parameter {name} is not mapped"
        mapping[name] = target
    ours_params = dict(ours.named_parameters())
    assert sorted(mapping.values()) == sorted(ours_params), (
        "the map must hit every mifusion parameter once: "
        f"missing {sorted(set(ours_params) - set(mapping.values()))[:5]}, "
        f"unknown {sorted(set(mapping.values()) - set(ours_params))[:5]}"
    )
    assert len(set(mapping.values())) == len(mapping), "two MMSA parameters map to one of mifusion's"
    source = dict(theirs.named_parameters())
    with torch.no_grad():
        for mmsa_name, our_name in mapping.items():
            value, target = source[mmsa_name], ours_params[our_name]
            assert value.numel() == target.numel(), f"{mmsa_name} -> {our_name}: shapes differ"
            target.copy_(value.reshape(target.shape))
    return mapping


def prefix_rule(rules: Sequence[tuple[str, str]]) -> Callable[[str], str | None]:
    """A rule that rewrites the first matching MMSA prefix into mifusion's."""

    def rule(name: str) -> str | None:
        for theirs, ours in rules:
            if name.startswith(theirs):
                return ours + name[len(theirs) :]
        return None

    return rule


def lstm_rules(mmsa: str, ours: str, layers: int = 1) -> list[tuple[str, str]]:
    """``nn.LSTM`` weights of MMSA (``weight_ih_l0``...) onto a unidirectional RecurrentEncoder's layers."""
    return [
        (f"{mmsa}{kind}_l{layer}", f"{ours}forward_layers.{layer}.{kind}_l0")
        for layer in range(layers)
        for kind in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")
    ]


def feature_batch(
    size: int,
    steps: Mapping[str, int],
    seed: int = 0,
    full: Sequence[str] = ("text",),
    aligned: bool = False,
) -> MultimodalBatch:
    """A float64 batch of precomputed features; modalities in ``full`` use every step (no padding)."""
    g = torch.Generator().manual_seed(seed)
    batch = MultimodalBatch(
        ids=[str(i) for i in range(size)], labels=torch.randn(size, generator=g, dtype=torch.float64)
    )
    shared = torch.randint(1, max(steps.values()) + 1, (size,), generator=g)
    for m, t in steps.items():
        if m in full:
            lengths = torch.full((size,), t)
        elif aligned:
            lengths = shared.clamp_max(t)
        else:
            lengths = torch.randint(1, t + 1, (size,), generator=g)
        mask = torch.arange(t)[None, :] < lengths[:, None]
        x = torch.randn(size, t, DIMS[m], generator=g, dtype=torch.float64) * mask.unsqueeze(-1)
        batch.sequences[m], batch.lengths[m], batch.masks[m] = x, lengths, mask
        batch.present[m] = lengths > 0
    return batch


def feature_spec(batch: MultimodalBatch, aligned: bool = False) -> DataSpec:
    """The DataSpec of a :func:`feature_batch` (text as precomputed features)."""
    modalities = tuple(m for m in ("text", "audio", "vision") if m in batch.sequences)
    kind = "features" if "text" in modalities else None
    return DataSpec(modalities, {m: DIMS[m] for m in modalities}, kind, None, aligned)


def frame_mean(batch: MultimodalBatch, m: str) -> Tensor:
    """(B, 1, D) the valid-frame mean of ``m``: MMSA's ``need_normalized`` loader input, corrected to
    ignore padding (see ``mifusion.models.mmsa_classic``)."""
    return masked_mean(batch.sequences[m], batch.masks[m]).unsqueeze(1)


def close(name: str, ours: Tensor, theirs: Tensor, rtol: float = RTOL) -> None:
    """``ours`` equals ``theirs`` to ``rtol`` (floored at ``rtol`` times the largest entry)."""
    theirs = theirs.detach().reshape(ours.shape).to(ours.dtype)
    floor = rtol * float(theirs.abs().max()) if theirs.numel() else 0.0
    torch.testing.assert_close(
        ours.detach(), theirs, rtol=rtol, atol=max(floor, 1e-12), msg=lambda m: f"{name}: {m}"
    )


def compare_gradients(
    theirs: nn.Module, ours: nn.Module, mapping: Mapping[str, str], loss_theirs: Tensor, loss_ours: Tensor
) -> None:
    """Back-propagates both losses and compares every mapped parameter's gradient."""
    theirs.zero_grad()
    ours.zero_grad()
    loss_theirs.backward()
    loss_ours.backward()
    source, target = dict(theirs.named_parameters()), dict(ours.named_parameters())
    for mmsa_name, our_name in mapping.items():
        a, b = target[our_name].grad, source[mmsa_name].grad
        assert (a is None) == (b is None), f"{mmsa_name}: gradient on one side only"
        if a is not None and b is not None:
            close(f"grad {mmsa_name}", a, b)


# -- TFN, LMF, LF-DNN: MMSA's shared pre-fusion subnetworks (mifusion.models.mmsa_classic) ---------------

CLASSIC_STEPS = {"text": 7, "audio": 9, "vision": 8}


def classic_rules(post_fusion: bool) -> list[tuple[str, str]]:
    """MMSA's SubNet/TextSubNet (and post-fusion layers) onto ``MMSAClassic``'s names."""
    rules = [
        (f"Model.{mmsa}_subnet.{a}", f"subnets.{ours}.{b}")
        for mmsa, ours in (("audio", "audio"), ("video", "vision"))
        for a, b in (("norm.", "norm."), ("linear_1.", "layers.0."), ("linear_2.", "layers.2."), ("linear_3.", "layers.4."))
    ]  # fmt: skip
    rules += lstm_rules("Model.text_subnet.rnn.", "subnets.text.rnn.")
    rules.append(("Model.text_subnet.linear_1.", "subnets.text.linear."))
    if post_fusion:
        rules += [(f"Model.post_fusion_layer_{i}.", f"head.{2 * i - 1}.") for i in (1, 2, 3)]
    return rules


def classic_inputs(batch: MultimodalBatch) -> tuple[Tensor, Tensor, Tensor]:
    """MMSA's (text, audio, video) inputs: per-token text features and the frame means."""
    return batch.sequences["text"], frame_mean(batch, "audio"), frame_mean(batch, "vision")


def compare_classic(
    theirs: nn.Module, ours: nn.Module, mapping: Mapping[str, str], batch: MultimodalBatch, fused: bool
) -> None:
    """Training-mode forward (batch statistics), gradients, then eval-mode forward (running statistics)."""
    for training in (True, False):
        theirs.train(training)
        ours.train(training)
        out_theirs = theirs(*classic_inputs(batch))
        out = ours(batch)
        close("prediction", out.prediction, out_theirs["M"])
        for m, key in (("text", "Feature_t"), ("audio", "Feature_a"), ("vision", "Feature_v")):
            close(f"unimodal {m}", out.unimodal[m], out_theirs[key])
        if fused:
            close("fused", out.fused, out_theirs["Feature_f"])  # type: ignore[arg-type]
        if training:
            loss_theirs = (out_theirs["M"].squeeze(-1) - batch.labels).abs().mean()
            loss_ours = (out.prediction - batch.labels).abs().mean()
            close("loss", loss_ours, loss_theirs)
            compare_gradients(theirs, ours, mapping, loss_theirs, loss_ours)


def compare_padded_text(theirs: nn.Module, ours: nn.Module, batch: MultimodalBatch) -> None:
    """With padded text, mifusion equals MMSA run on each sample's text cut to its true length (eval)."""
    theirs.eval()
    ours.eval()
    out = ours(batch)
    text, audio, video = classic_inputs(batch)
    for i, length in enumerate(batch.lengths["text"].tolist()):
        row = theirs(text[i : i + 1, :length], audio[i : i + 1], video[i : i + 1])
        close(f"sample {i} prediction", out.prediction[i : i + 1], row["M"])
    reading_padding = theirs(text, audio, video)["M"].squeeze(-1)
    assert not torch.allclose(reading_padding, out.prediction), (
        "MMSA reads the padding; the batch must have some"
    )


@contextlib.contextmanager
def float64_by_default() -> Iterator[None]:
    """torch's default dtype float64 inside the block (MMSA creates some states with ``torch.zeros``)."""
    previous = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    try:
        yield
    finally:
        torch.set_default_dtype(previous)


def rows_of(batch: MultimodalBatch, rows: Sequence[int]) -> MultimodalBatch:
    """The samples ``rows`` of ``batch`` (same padding), ids kept."""
    index = torch.as_tensor(list(rows))

    def pick(d: dict[str, Tensor]) -> dict[str, Tensor]:
        return {k: v[index] for k, v in d.items()}

    return MultimodalBatch(
        ids=[batch.ids[i] for i in rows], labels=batch.labels[index], sequences=pick(batch.sequences),
        lengths=pick(batch.lengths), masks=pick(batch.masks),
        token_ids=None if batch.token_ids is None else batch.token_ids[index],
        token_mask=None if batch.token_mask is None else batch.token_mask[index],
        present=pick(batch.present), unimodal_labels=pick(batch.unimodal_labels),
    )  # fmt: skip
