"""Model-specific checks of the zoo's later models (MCTN, TFR-Net, CENET, ALMT, TETFN) and the synth presets."""

from __future__ import annotations

import pytest
import torch

from mifusion.config import ModelConfig
from mifusion.errors import ConfigError
from mifusion.models import MODELS
from mifusion.models.build import build_model
from mifusion.models.testing import tiny_batch, tiny_model_config, tiny_spec

pytest.importorskip("transformers")


def test_mctn_predicts_from_text_alone() -> None:
    """Audio and vision are translation targets: they change the terms, never the prediction."""
    spec = tiny_spec()
    torch.manual_seed(0)
    model = build_model(tiny_model_config("mctn"), None, spec).eval()
    batch = tiny_batch(spec, 4)
    other = tiny_batch(spec, 4, seed=9)
    changed = tiny_batch(spec, 4)
    for m in ("audio", "vision"):
        changed.sequences[m], changed.masks[m] = other.sequences[m], other.masks[m]
        changed.lengths[m], changed.present[m] = other.lengths[m], other.present[m]
    with torch.no_grad():
        a, b = model(batch), model(changed)
    torch.testing.assert_close(a.prediction, b.prediction)
    assert not torch.allclose(a.terms["mctn_audio"].value, b.terms["mctn_audio"].value)


def test_mctn_text_only_has_no_translation_terms() -> None:
    spec = tiny_spec(("text",))
    out = build_model(tiny_model_config("mctn"), None, spec)(tiny_batch(spec, 3))
    assert out.terms == {} and out.prediction.shape == (3,)


def test_tfr_net_checks_lengths_and_unk_id_in_one_line() -> None:
    spec = tiny_spec()
    with pytest.raises(
        ConfigError, match=r"lengths\.audio=9 must be a positive multiple of options\.temporal_heads=2"
    ):
        build_model(tiny_model_config("tfr_net", lengths={"audio": 9}), None, spec)
    with pytest.raises(ConfigError, match=r"unk_token_id=100 is outside the vocabulary"):
        build_model(tiny_model_config("tfr_net", unk_token_id=100), None, spec)


def test_tfr_net_reconstructs_only_in_training_and_from_its_start_epoch() -> None:
    spec = tiny_spec()
    torch.manual_seed(0)
    model = build_model(tiny_model_config("tfr_net", missing_rate=0.5), None, spec)
    batch = tiny_batch(spec, 6)
    assert all(float(t.value.detach()) > 0 for t in model(batch).terms.values())
    model.set_epoch(0)
    assert all(t.weight == 0.0 for t in model(batch).terms.values())
    model.eval()
    assert all(float(t.value.detach()) == 0.0 for t in model(batch).terms.values())


def test_tfr_net_partial_per_modality_options_keep_the_defaults() -> None:
    model = build_model(tiny_model_config("tfr_net", fusion_hidden={"audio": 7}), None, tiny_spec())
    assert model.unimodal_dims == {"text": 36, "audio": 7, "vision": 48}  # the unset keys: the defaults
    options = {"lengths": {"text": 50}, "unk_token_id": 1}
    default = build_model(ModelConfig(name="tfr_net", options=options), None, tiny_spec())
    assert default.lengths == {"text": 50, "audio": 500, "vision": 375}


@pytest.mark.parametrize("name", ["cenet", "almt", "tetfn"])
def test_text_guided_models_refuse_data_without_text(name: str) -> None:
    with pytest.raises(ConfigError, match=f"model {name} needs text"):
        build_model(tiny_model_config(name), None, tiny_spec(("audio", "vision")))


def test_cenet_text_alone_is_plain_bert_with_its_head() -> None:
    spec = tiny_spec(("text",))
    model = build_model(tiny_model_config("cenet"), None, spec)
    assert sum(p.numel() for p in model.enhance.parameters()) == 0
    assert model(tiny_batch(spec, 2)).prediction.shape == (2,)


def test_cenet_shift_depends_on_the_frames() -> None:
    spec = tiny_spec()
    torch.manual_seed(0)
    model = build_model(tiny_model_config("cenet"), None, spec).eval()
    batch, other = tiny_batch(spec, 3), tiny_batch(spec, 3, seed=5)
    changed = tiny_batch(spec, 3)
    changed.sequences["audio"] = other.sequences["audio"][:, : changed.sequences["audio"].shape[1]]
    changed.sequences["audio"] = changed.sequences["audio"] * changed.masks["audio"].unsqueeze(-1)
    with torch.no_grad():
        assert not torch.allclose(model(batch).prediction, model(changed).prediction)


def test_every_model_but_mmim_ships_a_synthetic_preset() -> None:
    """``mifusion train --preset synth_<model>`` resolves and passes the config checks (mmim: mosi_mmim)."""
    from mifusion.experiments.validation import config_problems
    from mifusion.presets import resolve

    for name in MODELS.names():
        if name == "mmim":
            continue
        cfg = resolve(f"synth_{name}", None, [])
        assert cfg.model.name == name
        assert config_problems(cfg) == [], name
