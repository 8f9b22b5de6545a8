"""Registry-parametrised model tests: every registered model gets these for free."""

from __future__ import annotations

from itertools import combinations

import pytest
import torch

from mifusion.config import PenaltyConfig
from mifusion.data.batch import MultimodalBatch
from mifusion.errors import ConfigError
from mifusion.models import MODELS
from mifusion.models.base import FusionModel, ModelOutput
from mifusion.models.build import build_model
from mifusion.models.testing import pad_more, tiny_batch, tiny_model_config, tiny_spec
from mifusion.objectives import compose_loss, task_loss

pytest.importorskip("transformers")

NAMES = MODELS.names()
SUBSETS = [s for k in (1, 2, 3) for s in combinations(("text", "audio", "vision"), k)]


def make(name: str, modalities=("text", "audio", "vision"), penalty: PenaltyConfig | None = None):  # type: ignore[no-untyped-def]
    """A tiny model of ``name`` and its spec (aligned when the model needs it)."""
    if name == "mmim":
        pytest.importorskip("mifusion.estimators.mmim")
    if penalty is not None and penalty.estimator:
        pytest.importorskip("mifusion.estimators.penalty")
    spec = tiny_spec(modalities, aligned=MODELS.get(name).needs_aligned)
    torch.manual_seed(0)
    return build_model(tiny_model_config(name), penalty, spec), spec


def total_loss(out: ModelOutput, batch: MultimodalBatch) -> torch.Tensor:
    loss = compose_loss(task_loss(out.prediction, batch.labels), out.terms).total
    return loss if out.estimator_loss is None else loss + out.estimator_loss


def assert_finite(out: ModelOutput) -> None:
    assert torch.isfinite(out.prediction).all()
    for value in out.unimodal.values():
        assert torch.isfinite(value).all()
    assert out.fused is None or torch.isfinite(out.fused).all()
    for name, term in out.terms.items():
        assert torch.isfinite(term.value), name
    assert out.estimator_loss is None or torch.isfinite(out.estimator_loss)


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("size", [1, 2])
def test_forward_shapes(name: str, size: int) -> None:
    model, spec = make(name)
    out = model(tiny_batch(spec, size))
    assert out.prediction.shape == (size,)
    assert set(out.unimodal) == set(model.modalities) == set(model.unimodal_dims)
    for m, value in out.unimodal.items():
        assert value.shape == (size, model.unimodal_dims[m])
    assert out.fused is not None and out.fused.shape == (size, model.fused_dim)
    assert_finite(out)


@pytest.mark.parametrize("name", NAMES)
def test_every_parameter_gets_a_gradient(name: str) -> None:
    model, spec = make(name)
    batch = tiny_batch(spec, 8, signal=("audio",))
    total_loss(model(batch), batch).backward()
    missing = [n for n, p in model.named_parameters() if p.requires_grad and p.grad is None]
    assert not missing, missing[:5]
    assert all(torch.isfinite(p.grad).all() for p in model.parameters() if p.grad is not None)


@pytest.mark.parametrize("name", NAMES)
def test_padding_beyond_length_changes_nothing(name: str) -> None:
    model, spec = make(name)
    model.eval()
    batch = tiny_batch(spec, 3)
    with torch.no_grad():
        a, b = model(batch), model(pad_more(batch))
    torch.testing.assert_close(a.prediction, b.prediction, atol=1e-5, rtol=1e-4)


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("subset", SUBSETS, ids="+".join)
def test_modality_subsets(name: str, subset: tuple[str, ...]) -> None:
    required = MODELS.get(name).requires
    if not required <= set(subset):
        with pytest.raises(ConfigError, match="needs"):
            make(name, subset)
        return
    model, spec = make(name, subset)
    assert model.modalities == subset
    batch = tiny_batch(spec, 4)
    out = model(batch)
    assert_finite(out)
    total_loss(out, batch).backward()


@pytest.mark.parametrize("name", NAMES)
def test_samples_missing_a_modality_stay_finite(name: str) -> None:
    model, spec = make(name)
    batch = tiny_batch(spec, 4)
    for m in ("audio", "vision", "text"):
        if MODELS.get(name).requires and m in MODELS.get(name).requires:
            continue
        row = {"audio": 0, "vision": 1, "text": 2}[m]
        batch.present[m] = batch.present[m].clone()
        batch.present[m][row] = False
        if m in batch.lengths:
            batch.lengths[m] = batch.lengths[m].clone()
            batch.lengths[m][row] = 0
            batch.masks[m] = batch.masks[m].clone()
            batch.masks[m][row] = False
        elif batch.token_mask is not None:
            batch.token_mask = batch.token_mask.clone()
            batch.token_mask[row] = False
    out = model(batch)
    assert_finite(out)
    total_loss(out, batch).backward()
    assert all(torch.isfinite(p.grad).all() for p in model.parameters() if p.grad is not None)


@pytest.mark.parametrize("name", NAMES)
def test_param_groups_cover_every_parameter_once(name: str) -> None:
    model, _ = make(name)
    _check_groups(model)


def _check_groups(model: FusionModel) -> None:
    groups = model.param_groups()
    ids = [id(p) for group in groups for p in group]
    assert len(ids) == len(set(ids))
    assert set(ids) == {id(p) for p in model.parameters() if p.requires_grad}
    if model.text_encoder is not None:
        assert groups.text_encoder


def test_unaligned_data_is_refused_where_alignment_is_needed() -> None:
    for name in NAMES:
        if MODELS.get(name).needs_aligned:
            with pytest.raises(ConfigError, match="aligned"):
                build_model(tiny_model_config(name), None, tiny_spec(aligned=False))


def test_unknown_option_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match=r"model\.options\.nonsense"):
        build_model(tiny_model_config("lf_dnn", nonsense=1), None, tiny_spec())


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize(
    ("estimator", "scope"),
    [
        ("mine", "total_correlation"),
        ("js", "total_correlation"),
        ("wasserstein_gp", "pairwise"),
        ("wasserstein_sn", "total_correlation"),
        ("infonce", "pairwise"),
    ],
)
def test_each_model_carries_each_penalty_family(name: str, estimator: str, scope: str) -> None:
    penalty = PenaltyConfig(estimator=estimator, scope=scope, critic_hidden=8, critic_layers=1)  # type: ignore[arg-type]
    model, spec = make(name, penalty=penalty)
    batch = tiny_batch(spec, 6)
    out = model(batch)
    assert_finite(out)
    assert "penalty" in out.terms and out.terms["penalty"].weight < 0
    assert "penalty_estimate" in out.diagnostics and out.estimator_loss is not None
    total_loss(out, batch).backward()
    _check_groups(model)
    groups = model.param_groups()
    critic = {id(p) for p in model.penalty.parameters()}  # type: ignore[union-attr]
    assert critic and critic <= {id(p) for p in groups.estimator}
    missing = [n for n, p in model.named_parameters() if p.requires_grad and p.grad is None]
    assert not missing, missing[:5]


@pytest.mark.parametrize("scope", ["pairwise", "total_correlation"])
@pytest.mark.parametrize("tap", ["unimodal", "fused"])
def test_penalty_scope_and_tap(scope: str, tap: str) -> None:
    penalty = PenaltyConfig(estimator="js", scope=scope, tap=tap, critic_hidden=8, critic_layers=1)  # type: ignore[arg-type]
    model, spec = make("lf_dnn", penalty=penalty)
    out = model(tiny_batch(spec, 4))
    assert torch.isfinite(out.terms["penalty"].value)


def test_penalty_warmup_scales_the_weight() -> None:
    penalty = PenaltyConfig(estimator="js", weight=0.2, warmup_epochs=4, critic_hidden=8, critic_layers=1)
    model, spec = make("lf_dnn", penalty=penalty)
    batch = tiny_batch(spec, 4)
    model.set_epoch(0)  # type: ignore[operator]
    assert model(batch).terms["penalty"].weight == 0.0
    model.set_epoch(2)  # type: ignore[operator]
    assert model(batch).terms["penalty"].weight == pytest.approx(-0.1)
    model.set_epoch(9)  # type: ignore[operator]
    assert model(batch).terms["penalty"].weight == pytest.approx(-0.2)


def test_penalty_on_one_modality_is_a_config_error() -> None:
    pytest.importorskip("mifusion.estimators.penalty")
    with pytest.raises(ConfigError, match="at least two"):
        build_model(tiny_model_config("lf_dnn"), PenaltyConfig(estimator="js"), tiny_spec(("audio",)))


@pytest.mark.parametrize("name", NAMES)
def test_precomputed_text_features(name: str) -> None:
    spec = tiny_spec(aligned=MODELS.get(name).needs_aligned, text_kind="features")
    if name in ("mag_bert", "cenet"):  # they sit inside a transformers text encoder
        with pytest.raises(ConfigError, match="token text"):
            build_model(tiny_model_config(name), None, spec)
        return
    if name == "mmim":
        pytest.importorskip("mifusion.estimators.mmim")
    model = build_model(tiny_model_config(name), None, spec)
    assert model.text_encoder is None
    batch = tiny_batch(spec, 3)
    out = model(batch)
    assert_finite(out)
    total_loss(out, batch).backward()


def test_lf_dnn_linear_head_is_dropout_and_one_linear_layer_on_the_pooled_encodings() -> None:
    spec = tiny_spec(("text", "audio"))
    torch.manual_seed(0)
    model = build_model(tiny_model_config("lf_dnn", head="linear"), None, spec)
    linears = [m for m in model.head.modules() if isinstance(m, torch.nn.Linear)]
    assert len(linears) == 1 and linears[0].out_features == 1
    assert model.fused_dim == sum(model.encoders.output_dims.values())
    batch = tiny_batch(spec, 4)
    out = model(batch)
    assert out.fused is not None and out.fused.shape == (4, model.fused_dim)
    total_loss(out, batch).backward()
    assert all(p.grad is not None for p in model.parameters() if p.requires_grad)


SEQUENCE_POOLINGS = [("mean",), ("max",), ("attention",), ("mean", "last")]


def assert_trains_and_ignores_padding(model: FusionModel, spec) -> None:  # type: ignore[no-untyped-def]
    """Every trainable weight gets a gradient, and extra padding leaves the predictions unchanged."""
    batch = tiny_batch(spec, 8, signal=("audio",))
    total_loss(model(batch), batch).backward()
    missing = [n for n, p in model.named_parameters() if p.requires_grad and p.grad is None]
    assert not missing, missing[:5]
    model.eval()
    small = tiny_batch(spec, 3)
    with torch.no_grad():
        torch.testing.assert_close(
            model(small).prediction, model(pad_more(small)).prediction, atol=1e-5, rtol=1e-4
        )


SEQUENCE_VARIANTS = [("lstm", p) for p in SEQUENCE_POOLINGS] + [("linear", ())]


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize(
    ("kind", "pooling"), SEQUENCE_VARIANTS, ids=[f"{k}-{'+'.join(p)}" for k, p in SEQUENCE_VARIANTS]
)
def test_sequence_encoder_options(name: str, kind: str, pooling: tuple[str, ...]) -> None:
    """Every model on every pooling option and on ``model.sequence.kind=linear`` (Xavier init)."""
    from dataclasses import replace

    if name == "mmim":
        pytest.importorskip("mifusion.estimators.mmim")
    cfg = tiny_model_config(name)
    cfg = replace(cfg, sequence=replace(cfg.sequence, kind=kind, pooling=pooling, init="xavier"))
    spec = tiny_spec(aligned=MODELS.get(name).needs_aligned)
    torch.manual_seed(0)
    assert_trains_and_ignores_padding(build_model(cfg, None, spec), spec)


@pytest.mark.parametrize("pooling", SEQUENCE_POOLINGS, ids="+".join)
def test_ef_lstm_head_pooling(pooling: tuple[str, ...]) -> None:
    """EF-LSTM's own head pooling (model.options.pooling): padding ignored, every weight trained."""
    spec = tiny_spec(aligned=True)
    torch.manual_seed(0)
    model = build_model(tiny_model_config("ef_lstm", pooling=list(pooling)), None, spec)
    assert model.fused_dim == 16 * len(pooling)
    assert_trains_and_ignores_padding(model, spec)
    with pytest.raises(ConfigError, match="pooling"):
        build_model(tiny_model_config("ef_lstm", pooling=["mean", "mean"]), None, spec)


def test_mult_mean_pooling_reads_the_mean_of_valid_states() -> None:
    spec = tiny_spec()
    torch.manual_seed(0)
    model = build_model(tiny_model_config("mult", pooling="mean"), None, spec)
    assert_trains_and_ignores_padding(model, spec)
    small = tiny_batch(spec, 3)
    with torch.no_grad():
        mean = model(small)
        torch.manual_seed(0)
        last = build_model(tiny_model_config("mult"), None, spec).eval()(small)
    assert not torch.allclose(mean.fused, last.fused)
    with pytest.raises(ConfigError, match="pooling"):
        build_model(tiny_model_config("mult", pooling="max"), None, spec)
