"""Run plots (matplotlib Agg, imported lazily): learning curves, every MI term over training,
predictions against truth, the Acc-7 confusion matrix."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np

log = logging.getLogger(__name__)

CORE_PARTS = frozenset({"train/task", "train/total"})


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(fig: Any, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.stem}.tmp{path.suffix}")
    fig.savefig(tmp, dpi=110, bbox_inches="tight")
    tmp.replace(path)


def write_run_plots(run_dir: Path, history: list[dict[str, float]], test: Any) -> None:
    """Writes ``plots/{learning_curves,terms,predictions,confusion_acc7}.png``."""
    try:
        plt = _pyplot()
    except ImportError:  # pragma: no cover - matplotlib is a declared dependency
        log.warning("matplotlib is not installed; plots are skipped")
        return
    plots = run_dir / "plots"
    epochs = [row["epoch"] for row in history]
    fig, ax = plt.subplots(figsize=(6, 4))
    for key in ("train/task", "train/total", "valid/loss", "valid/mae"):
        if history and all(key in row for row in history):
            ax.plot(epochs, [row[key] for row in history], label=key, marker="o", markersize=3)
    ax.set(xlabel="epoch", ylabel="loss / MAE", title="Learning curves")
    ax.legend()
    _save(fig, plots / "learning_curves.png")
    plt.close(fig)

    terms = sorted({k for row in history for k in row if k.startswith("train/") and k not in CORE_PARTS})
    fig, ax = plt.subplots(figsize=(6, 4))
    for key in terms:
        ax.plot([r["epoch"] for r in history if key in r], [r[key] for r in history if key in r], label=key)
    ax.set(xlabel="epoch", ylabel="value (epoch mean)", title="Objective terms over training")
    if terms:
        ax.legend(fontsize=6)
    _save(fig, plots / "terms.png")
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(4.5, 4.5))
    ax.scatter(test.label, test.prediction, s=6, alpha=0.6)
    low, high = float(np.min(test.label, initial=-3)), float(np.max(test.label, initial=3))
    ax.plot([low, high], [low, high], color="gray", linewidth=1)
    ax.set(xlabel="truth", ylabel="prediction", title="Test predictions")
    _save(fig, plots / "predictions.png")
    plt.close(fig)

    classes = np.arange(-3, 4)
    truth = np.clip(np.round(test.label), -3, 3).astype(int) + 3
    pred = np.clip(np.round(test.prediction), -3, 3).astype(int) + 3
    matrix = np.zeros((7, 7), dtype=int)
    np.add.at(matrix, (truth, pred), 1)
    fig, ax = plt.subplots(figsize=(4.5, 4))
    ax.imshow(matrix, cmap="Blues")
    for (i, j), count in np.ndenumerate(matrix):
        ax.text(j, i, str(count), ha="center", va="center", fontsize=7)
    ax.set(xticks=range(7), yticks=range(7), xticklabels=classes, yticklabels=classes)
    ax.set(xlabel="predicted class", ylabel="true class", title="Acc-7 confusion (test)")
    _save(fig, plots / "confusion_acc7.png")
    plt.close(fig)
