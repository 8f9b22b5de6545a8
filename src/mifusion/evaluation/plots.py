"""Run plots (matplotlib Agg, imported lazily), readable in a paper: learning curves with the selected
epoch marked, objective terms with one panel per unit, predictions against truth, the Acc-7 confusion.

Labels are words with units; legends sit outside the data; a plot with nothing to show says so in words
instead of drawing an empty axis. :func:`term_panels` (pure) decides which history keys share a panel.

Example:
    >>> [p.title for p in term_panels(["train/weighted/nce", "train/nce", "train/diag/norm/text"])]
    ['Weighted terms added to the loss', 'Terms before weighting', 'Representation norms']
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

log = logging.getLogger(__name__)

CORE_PARTS = frozenset({"train/task", "train/total"})
COLORS = "tab10"
MANY_COLORS = "tab20"
LEGEND = {"loc": "upper left", "bbox_to_anchor": (1.02, 1.0), "borderaxespad": 0.0, "fontsize": 7}
# diagnostic statistic -> (panel title, y label with unit)
DIAGNOSTICS: dict[str, tuple[str, str]] = {
    "sigma_mean": ("Predictive spread of the Barber-Agakov networks", "σ of q(y | x), mean (feature units)"),
    "norm": ("Representation norms", "L2 norm (feature units)"),
    "nce": ("InfoNCE per modality", "InfoNCE bound (nats)"),
    "estimate": ("Penalty estimate per term", "estimate (nats, or the divergence's unit)"),
    "penalty_estimate": ("Penalty estimate", "estimate (nats, or the divergence's unit)"),
    "score": ("Critic scores", "critic score, mean (logits)"),
    "entropy_skipped": ("Skipped entropy updates", "updates skipped (count per epoch)"),
}
WORDS = {"ba": "BA", "nce": "InfoNCE", "lld": "log-likelihood", "js": "JS", "mi": "MI", "cpc": "CPC"}


@dataclass(frozen=True)
class Panel:
    """History keys drawn on one axis: they share a unit."""

    title: str
    ylabel: str
    keys: tuple[str, ...]


def readable(key: str) -> str:
    """``train/weighted/ba_text_audio_lld`` -> ``BA text-audio log-likelihood`` (words, no prefixes)."""
    parts = [p for p in key.split("/") if p not in ("train", "valid", "diag", "weighted")]
    words = " ".join(parts).replace("_", " ").split()
    out = [WORDS.get(w, w) for w in words]
    text = " ".join(out)
    for a in ("text", "audio", "vision"):
        for b in ("text", "audio", "vision"):
            text = text.replace(f"{a} {b}", f"{a}-{b}")
    return text or key


def _diagnostic_group(key: str) -> str:
    parts = key.split("/")[2:]  # after train/diag
    last = parts[-1]
    if last.endswith("_score_mean"):
        return "score"
    if len(parts) >= 2 and ("_" in parts[0] or parts[0] == "penalty"):
        return last  # per-pair statistics: group by the statistic
    return parts[0]


def term_panels(keys: Sequence[str]) -> list[Panel]:
    """The panels of ``terms.png`` for history ``keys``: one per unit, empty panels left out."""
    train = [k for k in keys if k.startswith("train/") and k not in CORE_PARTS]
    weighted = tuple(k for k in train if k.startswith("train/weighted/"))
    diag = [k for k in train if k.startswith("train/diag/")]
    critic = tuple(k for k in train if k.endswith("estimator_loss") and k not in diag)
    raw = tuple(k for k in train if k not in weighted and k not in diag and k not in critic)
    panels = [
        Panel("Weighted terms added to the loss", "weight × term (loss units)", weighted),
        Panel("Terms before weighting", "term (nats, or the estimator's unit)", raw),
        Panel("Estimator (critic) loss", "critic loss (loss units)", critic),
    ]
    groups: dict[str, list[str]] = {}
    for key in diag:
        groups.setdefault(_diagnostic_group(key), []).append(key)
    for group, members in groups.items():
        title, ylabel = DIAGNOSTICS.get(group, (f"Diagnostics: {readable(group)}", "value (epoch mean)"))
        panels.append(Panel(title, ylabel, tuple(members)))
    return [p for p in panels if p.keys]


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


def _message(plt: Any, path: Path, title: str, text: str) -> None:
    """A figure that says in words why there is nothing to plot."""
    fig, ax = plt.subplots(figsize=(6, 1.6))
    ax.axis("off")
    ax.set_title(title)
    ax.text(0.5, 0.5, text, ha="center", va="center", wrap=True, fontsize=9)
    _save(fig, path)
    plt.close(fig)


def _series(history: list[dict[str, float]], key: str) -> tuple[list[float], list[float]]:
    pairs = [(r["epoch"], r[key]) for r in history if key in r and math.isfinite(r[key])]
    return [p[0] for p in pairs], [p[1] for p in pairs]


def _lines(ax: Any, history: list[dict[str, float]], keys: Sequence[str], names: Sequence[str]) -> int:
    """Draws each key that has a finite value; returns how many lines were drawn."""
    import matplotlib

    cmap = matplotlib.colormaps[COLORS if len(keys) <= 10 else MANY_COLORS]
    styles = ("-", "--", ":", "-.")
    drawn = 0
    for i, (key, name) in enumerate(zip(keys, names)):
        x, y = _series(history, key)
        if not x:
            continue
        color = cmap(i % cmap.N)
        ax.plot(x, y, styles[(i // cmap.N) % len(styles)], color=color, label=name, marker="o", markersize=3)
        drawn += 1
    return drawn


def _mark_selected(axes: Sequence[Any], best_epoch: int | None, metric: str) -> None:
    from matplotlib.ticker import MaxNLocator

    for ax in axes:
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    if best_epoch is None or best_epoch < 1:
        return
    for i, ax in enumerate(axes):
        label = f"selected: epoch {best_epoch} (best validation {metric})" if i == 0 else None
        ax.axvline(best_epoch, color="black", linestyle="--", linewidth=1, label=label)


def learning_curves(
    plt: Any, history: list[dict[str, float]], path: Path, best_epoch: int | None, metric: str
) -> None:
    """Training task loss and validation MAE (label units), the training objective, the selected epoch."""
    title = "Learning curves"
    if not history:
        _message(plt, path, title, "No epoch finished, so there is nothing to plot.")
        return
    with_terms = any(abs(r.get("train/total", 0.0) - r.get("train/task", 0.0)) > 0 for r in history)
    rows = 2 if with_terms else 1
    fig, axes = plt.subplots(rows, 1, figsize=(7, 2.8 * rows), sharex=True, squeeze=False)
    error = axes[0][0]
    _lines(error, history, ["train/task", "valid/mae"], ["training task loss (L1)", "validation MAE"])
    error.set(ylabel="absolute error (label units)", title=title)
    panels = [error]
    if with_terms:
        objective = axes[1][0]
        _lines(objective, history, ["train/total"], ["training objective (task + weighted terms)"])
        objective.set(ylabel="objective (loss units)")
        panels.append(objective)
    _mark_selected(panels, best_epoch, metric)
    for ax in panels:
        ax.legend(**LEGEND)
    panels[-1].set_xlabel("epoch")
    _save(fig, path)
    plt.close(fig)


def terms_plot(
    plt: Any, history: list[dict[str, float]], path: Path, best_epoch: int | None, metric: str = "mae"
) -> None:
    """One panel per unit of the objective's terms and diagnostics (epoch means)."""
    title = "Objective terms over training (epoch means)"
    panels = term_panels(list(dict.fromkeys(k for row in history for k in row)))
    if not panels:
        _message(plt, path, title, "This run's objective is the task loss alone (no MI terms or penalty).")
        return
    fig, axes = plt.subplots(len(panels), 1, figsize=(7, 2.3 * len(panels)), sharex=True, squeeze=False)
    for ax, panel in zip((a[0] for a in axes), panels):
        drawn = _lines(ax, history, panel.keys, [readable(k) for k in panel.keys])
        ax.set(title=panel.title, ylabel=panel.ylabel)
        ax.yaxis.label.set_fontsize(8)
        if not drawn:
            ax.text(0.5, 0.5, "no finite values", ha="center", va="center", transform=ax.transAxes)
    _mark_selected([a[0] for a in axes], best_epoch, metric)
    for ax in (a[0] for a in axes):
        if ax.get_legend_handles_labels()[0]:
            ax.legend(**LEGEND)
    axes[0][0].set_title(f"{title}\n{panels[0].title}")
    axes[-1][0].set_xlabel("epoch")
    _save(fig, path)
    plt.close(fig)


def predictions_plot(plt: Any, test: Any, path: Path) -> None:
    """Predicted against true sentiment on the test split, with the identity line."""
    label, pred = np.asarray(test.label, dtype=float), np.asarray(test.prediction, dtype=float)
    keep = np.isfinite(label) & np.isfinite(pred)
    title = "Test predictions"
    if not keep.any():
        _message(plt, path, title, "No finite test predictions to plot.")
        return
    fig, ax = plt.subplots(figsize=(4.5, 4.5))
    ax.scatter(label[keep], pred[keep], s=6, alpha=0.6, label=f"test samples (n={int(keep.sum())})")
    low, high = float(np.min(label[keep], initial=-3)), float(np.max(label[keep], initial=3))
    ax.plot([low, high], [low, high], color="gray", linewidth=1, label="perfect prediction")
    ax.set(xlabel="true sentiment (label units)", ylabel="predicted sentiment (label units)", title=title)
    ax.legend(**{**LEGEND, "loc": "upper center", "bbox_to_anchor": (0.5, -0.15)})
    _save(fig, path)
    plt.close(fig)


def confusion_plot(plt: Any, test: Any, path: Path) -> None:
    """The Acc-7 confusion matrix of the test split (labels rounded to -3..3), counts per cell."""
    label, pred = np.asarray(test.label, dtype=float), np.asarray(test.prediction, dtype=float)
    keep = np.isfinite(label) & np.isfinite(pred)
    classes = np.arange(-3, 4)
    truth = np.clip(np.round(label[keep]), -3, 3).astype(int) + 3
    guess = np.clip(np.round(pred[keep]), -3, 3).astype(int) + 3
    matrix = np.zeros((7, 7), dtype=int)
    np.add.at(matrix, (truth, guess), 1)
    fig, ax = plt.subplots(figsize=(4.5, 4))
    ax.imshow(matrix, cmap="Blues")
    for (i, j), count in np.ndenumerate(matrix):
        ax.text(j, i, str(count), ha="center", va="center", fontsize=7)
    ax.set(xticks=range(7), yticks=range(7), xticklabels=classes, yticklabels=classes)
    ax.set(
        xlabel="predicted class (rounded sentiment)",
        ylabel="true class (rounded sentiment)",
        title="Acc-7 confusion, test split (samples)",
    )
    _save(fig, path)
    plt.close(fig)


def write_run_plots(
    run_dir: Path,
    history: list[dict[str, float]],
    test: Any,
    best_epoch: int | None = None,
    select_metric: str = "mae",
) -> None:
    """Writes ``plots/{learning_curves,terms,predictions,confusion_acc7}.png``."""
    try:
        plt = _pyplot()
    except ImportError:  # pragma: no cover - matplotlib is a declared dependency
        log.warning("matplotlib is not installed; plots are skipped")
        return
    plots = run_dir / "plots"
    learning_curves(plt, history, plots / "learning_curves.png", best_epoch, select_metric)
    terms_plot(plt, history, plots / "terms.png", best_epoch, select_metric)
    predictions_plot(plt, test, plots / "predictions.png")
    confusion_plot(plt, test, plots / "confusion_acc7.png")
