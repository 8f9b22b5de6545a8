"""Every run plot rendered from a tiny run: labels in words with units, one panel per unit, the legend
outside the data and matching the drawn lines, the selected epoch marked, a message instead of an empty axis."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from mifusion.config import load
from mifusion.evaluation import plots
from mifusion.experiments.runner import run_experiment
from mifusion.writers import read_rows_csv

TINY = [
    "model.name=lf_dnn", "penalty.estimator=js", "penalty.critic_hidden=8", "data.synth.n=40",
    "train.epochs=2", "train.num_threads=1", "train.seeds=[3]", "model.hidden_dim=8",
]  # fmt: skip


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Any]:
    out = tmp_path_factory.mktemp("plots") / "mmim"
    result = run_experiment(load(None, TINY), out)  # a penalty: terms, critic loss and diagnostics
    return out / "seed_3", result.runs[0]


@pytest.fixture
def figures(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """Figures by file name, captured instead of (and as well as) being saved."""
    captured: dict[str, Any] = {}
    save = plots._save

    def keep(fig: Any, path: Path) -> None:
        captured[path.name] = fig
        save(fig, path)

    monkeypatch.setattr(plots, "_save", keep)
    monkeypatch.setattr(plots._pyplot(), "close", lambda fig=None: None)
    return captured


def _texts(fig: Any) -> list[str]:
    out = [fig.texts[i].get_text() for i in range(len(fig.texts))]
    for ax in fig.axes:
        out += [ax.get_title(), ax.get_xlabel(), ax.get_ylabel(), *(t.get_text() for t in ax.texts)]
        legend = ax.get_legend()
        if legend is not None:
            out += [t.get_text() for t in legend.get_texts()]
    return [t for t in out if t]


def _legend_outside(ax: Any) -> bool:
    legend = ax.get_legend()
    anchor = legend.get_bbox_to_anchor().transformed(ax.transAxes.inverted())
    return bool(anchor.x0 >= 1.0 or anchor.y1 <= 0.0)


def test_each_plot_is_written_with_words_units_and_outside_legends(
    tiny_run: tuple[Path, Any], figures: dict[str, Any], tmp_path: Path
) -> None:
    import csv

    import numpy as np

    from mifusion.experiments.commands import SplitPredictions

    seed_dir, run = tiny_run
    history = read_rows_csv(seed_dir / "metrics.csv")
    with (seed_dir / "test_predictions.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    prediction = np.array([float(r["prediction"]) for r in rows])
    test = SplitPredictions([r["id"] for r in rows], prediction, np.array([float(r["label"]) for r in rows]))
    plots.write_run_plots(tmp_path, history, test, run.best_epoch, "mae")
    assert set(figures) == {"learning_curves.png", "terms.png", "predictions.png", "confusion_acc7.png"}
    assert all((tmp_path / "plots" / name).stat().st_size > 0 for name in figures)

    curves = figures["learning_curves.png"]
    first = curves.axes[0]
    assert "label units" in first.get_ylabel() and curves.axes[-1].get_xlabel() == "epoch"
    drawn = [line for line in first.get_lines() if len(line.get_xdata())]
    assert len(first.get_legend().get_texts()) == len(drawn)  # one entry per visible line
    assert any(f"selected: epoch {run.best_epoch}" in t for t in _texts(curves))
    assert all(_legend_outside(ax) for ax in curves.axes)

    terms = figures["terms.png"]
    assert len(terms.axes) >= 4  # weighted terms, raw terms, critic loss, diagnostics: one unit each
    for ax in terms.axes:
        assert "(" in ax.get_ylabel(), ax.get_ylabel()  # every axis names its unit
        assert _legend_outside(ax)
        colors = [line.get_color() for line in ax.get_lines() if line.get_label()[:1] != "_"]
        assert len(colors) == len(set(map(str, colors)))  # no two series share a colour
    assert not any("train/" in t or "/" in t.split("(")[0] for t in _texts(terms)), _texts(terms)

    scatter = figures["predictions.png"].axes[0]
    assert scatter.get_xlabel() == "true sentiment (label units)"
    assert "predicted" in scatter.get_ylabel()
    confusion = figures["confusion_acc7.png"].axes[0]
    assert "predicted class" in confusion.get_xlabel() and "true class" in confusion.get_ylabel()


def test_plots_without_terms_or_epochs_say_so_in_words(figures: dict[str, Any], tmp_path: Path) -> None:
    import numpy as np

    from mifusion.experiments.commands import SplitPredictions

    history = [{"epoch": 1.0, "train/task": 1.0, "train/total": 1.0, "valid/mae": 1.1}]
    nan = SplitPredictions(["a"], np.array([np.nan]), np.array([0.5]))
    plots.write_run_plots(tmp_path, history, nan, 1, "mae")
    assert any("task loss alone" in t for t in _texts(figures["terms.png"]))
    assert any("No finite test predictions" in t for t in _texts(figures["predictions.png"]))
    assert len(figures["learning_curves.png"].axes) == 1  # no terms: no objective panel
    plots.write_run_plots(tmp_path, [], nan)
    assert any("No epoch finished" in t for t in _texts(figures["learning_curves.png"]))


def test_term_panels_group_keys_by_unit() -> None:
    keys = [
        "train/task", "train/total", "train/nce", "train/weighted/nce", "train/estimator_loss",
        "train/diag/ba_text_audio/sigma_mean", "train/diag/ba_text_vision/sigma_mean", "train/diag/norm/text",
        "train/diag/penalty/text_audio/estimate", "train/diag/penalty/text_audio/joint_score_mean",
    ]  # fmt: skip
    panels = {p.title: p.keys for p in plots.term_panels(keys)}
    assert panels["Weighted terms added to the loss"] == ("train/weighted/nce",)
    assert panels["Terms before weighting"] == ("train/nce",)
    assert len(panels["Predictive spread of the Barber-Agakov networks"]) == 2
    assert "train/task" not in {k for ks in panels.values() for k in ks}
    assert plots.readable("train/weighted/ba_text_audio_lld") == "BA text-audio log-likelihood"


def test_robustness_plot_labels(figures: dict[str, Any], tmp_path: Path) -> None:
    from mifusion.experiments.commands import _plot

    stat = {"mean": 0.1, "std": 0.02}
    summary = [(("intact", "none"), {}), (("-audio", "masked"), {"delta_mae": stat}),
               (("-audio", "zeroed"), {"delta_mae": stat})]  # fmt: skip
    _plot(summary, tmp_path / "robustness.png")  # type: ignore[arg-type]
    ax = figures["robustness.png"].axes[0]
    assert "label units" in ax.get_xlabel() and _legend_outside(ax)
