"""MCTN against MMSA 2.2.1's MCTN module and its own loss (see harness.py).

MMSA's bug (documented in ``mifusion.models.mctn``): its time-major LSTMs and attention get batch-first
tensors, so they run over the samples of the batch. MMSA is therefore run on the corrected layout, with
nothing of it edited: its inputs are given time-major (which its seq2seq modules expect), and its
regression LSTM is switched to ``batch_first`` with a forward pre-hook that hands it the joint states
batch-first (its attention then runs over time). Its seq2seq ``device`` attribute is set to the CPU.

Compared: the prediction, each translation (vision, the cycle back to text, audio), MMSA's own total loss
(which also charges the never-written step-0 frame, a constant), the corrected loss and every gradient;
then, with padded batches, mifusion against MMSA run on each sample cut to its true lengths.
"""

from __future__ import annotations

from typing import Any

import pytest
import torch.nn.functional as F
from torch import Tensor, nn

from mifusion.config import ModelConfig, PenaltyConfig
from mifusion.models.build import build_model

from . import harness

STEPS = {"text": 5, "vision": 4, "audio": 3}
HID = 4
WIDTH = max(harness.DIMS.values())  # every modality is zero-padded to the widest (text: 6)


def rules() -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    for k, mmsa in enumerate(("1", "2")):
        out += [
            (f"Model.encoder{mmsa}.rnn.", f"encoders.{k}.rnn."),
            (f"Model.encoder{mmsa}.fc.", f"decoders.{k}.bridge."),
        ]
        out += [
            (f"Model.decoder{mmsa}.rnn.", f"decoders.{k}.rnn."),
            (f"Model.decoder{mmsa}.fc_out.", f"decoders.{k}.out."),
        ]
        out += [
            (f"Model.attn{mmsa}.attn.", f"decoders.{k}.attn."),
            (f"Model.attn{mmsa}.v.", f"decoders.{k}.v."),
        ]
    out += [("Model.regression.rnn.", "regression.rnn."), ("Model.regression.linear.", "regression.score.")]
    return [*out, ("Model.regression.linear2.", "regression.out.")]  # fmt: skip


def canonical(name: str) -> str:
    """MMSA registers each encoder/decoder/attention twice (also under ``seq2seqN``/``decoderN.attention``)."""
    for k in ("1", "2"):
        name = name.replace(f"Model.seq2seq{k}.encoder.", f"Model.encoder{k}.")
        name = name.replace(f"Model.seq2seq{k}.decoder.", f"Model.decoder{k}.")
        name = name.replace(f"Model.decoder{k}.attention.", f"Model.attn{k}.")
    return name


def mmsa_mctn() -> tuple[nn.Module, list[Any]]:
    """MMSA's MCTN on the corrected layout, and the list its seq2seq hooks fill with (join, frames)."""
    theirs = harness.mmsa_model(
        "mctn", [harness.DIMS[m] for m in ("text", "audio", "vision")], hid_dim=HID, output_dim=WIDTH,
        max_seq_len=64,
    )  # fmt: skip
    inner = theirs.Model
    calls: list[Any] = []
    for seq2seq in (inner.seq2seq1, inner.seq2seq2):
        seq2seq.device = "cpu"
        seq2seq.register_forward_hook(lambda _m, _a, out: calls.append(out))
    inner.regression.rnn.batch_first = True
    inner.regression.register_forward_pre_hook(lambda _m, args: (args[0].transpose(0, 1),))
    return theirs, calls


@pytest.fixture
def models():  # type: ignore[no-untyped-def]
    harness.require_mmsa()
    theirs, calls = mmsa_mctn()
    batch = harness.feature_batch(4, STEPS, full=tuple(STEPS))
    cfg = ModelConfig(name="mctn", dropout=0.0, options={"hid_dim": HID})
    ours = build_model(cfg, PenaltyConfig(), harness.feature_spec(batch)).double()
    rule = harness.prefix_rule(rules())
    mapping = harness.copy_weights(theirs, ours, lambda n: rule(canonical(n)))
    return theirs, calls, ours, mapping


def time_major(batch: Any, m: str, rows: list[int] | None = None, length: int | None = None) -> Tensor:
    x = batch.sequences[m] if rows is None else batch.sequences[m][rows, :length]
    return x.transpose(0, 1)


def run_mmsa(theirs: nn.Module, batch: Any) -> tuple[Tensor, Tensor]:
    """MMSA's (loss_all, prediction) on a full-length batch."""
    with harness.float64_by_default():  # MMSA allocates its decoder outputs with torch.zeros
        loss, prediction = theirs(
            *(time_major(batch, m) for m in ("text", "audio", "vision")), batch.labels[:, None], lengths=None
        )
    return loss, prediction


def mse_after_first(frames: Tensor, target: Tensor) -> Tensor:
    """The corrected translation error from MMSA's time-major frames: steps 1.. only."""
    return F.mse_loss(frames[1:], F.pad(target, (0, WIDTH - target.shape[-1]))[1:])


def test_outputs_losses_and_gradients_equal_mmsa(models) -> None:  # type: ignore[no-untyped-def]
    theirs, calls, ours, mapping = models
    batch = harness.feature_batch(5, STEPS, seed=1, full=tuple(STEPS))
    loss_all, prediction = run_mmsa(theirs, batch)
    (_, vision_frames), (_, cycle_frames), (_, audio_frames) = calls
    result = ours.translate(batch)
    out = ours(batch)
    harness.close("prediction", result.prediction, prediction)
    harness.close("prediction (forward)", out.prediction, prediction)
    targets = {"vision": vision_frames, "cycle": cycle_frames, "audio": audio_frames}
    for key, frames in targets.items():
        harness.close(f"{key} frames", result.frames[key], frames.transpose(0, 1))
    sources = {"vision": "vision", "cycle": "text", "audio": "audio"}
    errors = {k: mse_after_first(targets[k], time_major(batch, sources[k])) for k in targets}
    for key, error in errors.items():
        harness.close(f"{key} error", out.terms[f"mctn_{key}"].value, error)
    l1 = (prediction.squeeze(1) - batch.labels).abs().mean()
    first_frames = {
        k: F.pad(time_major(batch, sources[k])[0], (0, WIDTH - harness.DIMS[sources[k]])) for k in targets
    }
    charged = sum(  # MMSA's step-0 charge: the given first frame against its zero slot
        0.1 * first_frames[k].pow(2).sum() / (STEPS[sources[k]] * 5 * WIDTH) for k in targets
    )  # fmt: skip
    scale = {k: (STEPS[sources[k]] - 1) / STEPS[sources[k]] for k in targets}
    harness.close("MMSA loss", l1 + sum(0.1 * scale[k] * errors[k] for k in targets) + charged, loss_all)
    loss_theirs = l1 + sum(0.1 * e for e in errors.values())
    loss_ours = (out.prediction - batch.labels).abs().mean() + sum(
        t.weight * t.value for t in out.terms.values()
    )
    harness.close("loss", loss_ours, loss_theirs)
    harness.compare_gradients(theirs, ours, mapping, loss_theirs, loss_ours)


def test_padded_batch_equals_mmsa_per_sample(models) -> None:  # type: ignore[no-untyped-def]
    theirs, calls, ours, _ = models
    batch = harness.feature_batch(4, STEPS, seed=2, full=())
    result = ours.translate(batch)
    for i in range(4):
        calls.clear()
        with harness.float64_by_default():  # the sample twice: MMSA's decoder squeezes a batch of one away
            _, prediction = theirs(
                *(time_major(batch, m, [i, i], int(batch.lengths[m][i])) for m in ("text", "audio", "vision")),
                batch.labels[[i, i], None], lengths=None,
            )  # fmt: skip
        harness.close(f"sample {i} prediction", result.prediction[[i, i]], prediction)
        for key, (_, frames) in zip(("vision", "cycle", "audio"), calls, strict=True):
            m = "text" if key == "cycle" else key
            length = int(batch.lengths[m][i])
            harness.close(
                f"sample {i} {key} frames", result.frames[key][[i, i], :length], frames.transpose(0, 1)
            )
