"""The one trainer on a tiny model: determinism, estimator isolation, non-finite handling, selection."""

from __future__ import annotations

import pytest
import torch
from tiny_training_model import TinyModel, tiny_config, tiny_prepared

from mifusion.errors import TrainingError
from mifusion.experiments.build import build_trainer
from mifusion.training.optim import build_optimizers
from mifusion.training.seed import seed_everything
from mifusion.training.steps import drop_modalities, train_step


def fit(seed: int = 1, **train: object):
    data = tiny_prepared()
    cfg = tiny_config(**train)
    seed_everything(seed)
    trainer = build_trainer(TinyModel(data.spec), data, cfg, seed)
    return trainer, trainer.fit()


def test_same_seed_gives_identical_metrics_and_other_seed_differs() -> None:
    _, a = fit(1)
    _, b = fit(1)
    _, c = fit(2)
    assert a.history == [dict(r, seconds=a.history[i]["seconds"]) for i, r in enumerate(b.history)]
    assert a.best_valid == b.best_valid
    assert a.best_valid["mae"] != c.best_valid["mae"]
    assert {"train/task", "train/nce", "train/weighted/nce", "train/estimator_loss", "valid/mae"} <= set(
        a.history[0]
    )


def test_main_loss_never_moves_estimator_params_and_estimator_step_does() -> None:
    data = tiny_prepared()
    model = TinyModel(data.spec)
    optim = build_optimizers(model, tiny_config().train)
    assert optim.estimator is not None and len(optim.estimator_params) == 1
    from mifusion.data.batch import collate

    batch = collate(data.dataset["train"], range(16), data.spec.modalities)
    before = model.critic.weight.weight.detach().clone()
    optim.estimator = None  # only the main step: the critic must not change
    train_step(model, batch, optim, clip=1.0)
    assert torch.equal(before, model.critic.weight.weight)
    optim = build_optimizers(model, tiny_config().train)
    result = train_step(model, batch, optim, clip=1.0)
    assert not torch.equal(before, model.critic.weight.weight)
    assert "estimator_loss" in result.parts and "diag/text_norm" in result.parts


def test_nonfinite_steps_are_skipped_then_stop_naming_the_term() -> None:
    data = tiny_prepared()
    cfg = tiny_config(max_nonfinite_steps=3)
    trainer = build_trainer(TinyModel(data.spec, nan_after=2), data, cfg, 0)
    before = {k: v.clone() for k, v in trainer.model.state_dict().items()}
    with pytest.raises(TrainingError, match=r"'nce'.*3 steps in a row"):
        trainer.fit()
    assert trainer.state.nonfinite_total == 3
    changed = [k for k, v in trainer.model.state_dict().items() if not torch.equal(v, before[k])]
    assert changed  # the two finite steps did update


def test_separate_pass_runs_an_extra_forward_per_selected_batch() -> None:
    data = tiny_prepared()
    counts = {}
    for stage in ("efficient", "separate_pass"):
        cfg = tiny_config(epochs=1, estimator_stage=stage, estimator_pass_fraction=0.5)
        model = TinyModel(data.spec)
        build_trainer(model, data, cfg, 0).fit()
        counts[stage] = model.calls
    assert counts["separate_pass"] - counts["efficient"] == 3  # 6 train batches, half of them


def test_modality_dropout_masks_samples_but_never_all_modalities() -> None:
    data = tiny_prepared()
    from mifusion.data.batch import collate

    batch = collate(data.dataset["train"], range(64), data.spec.modalities)
    out = drop_modalities(batch, 0.6, torch.Generator().manual_seed(0))
    present = torch.stack([out.present[m] for m in data.spec.modalities])  # (M, B)
    assert present.any(0).all() and not present.all()
    dropped_audio = ~out.present["audio"]
    assert (out.lengths["audio"][dropped_audio] == 0).all() and not out.masks["audio"][dropped_audio].any()
    assert not out.token_mask[~out.present["text"]].any()
    assert drop_modalities(batch, 0.0, torch.Generator()) is batch


def test_selection_handles_higher_is_better_and_early_stopping() -> None:
    _, res = fit(1, select_metric="corr", epochs=6, early_stopping_patience=2, lr=0.0)
    assert res.best_epoch == 1 or res.best_valid["corr"] == max(r["valid/corr"] for r in res.history)
    assert len(res.history) <= 6
    _, res = fit(1, select_metric="mae", epochs=4)
    best = min(r["valid/mae"] for r in res.history)
    assert res.best_valid["mae"] == pytest.approx(best)


def test_bf16_mixed_autocast_trains_on_cpu() -> None:
    _, res = fit(1, precision="bf16-mixed", epochs=1)
    assert res.history and all(v == v for v in res.best_valid.values())
