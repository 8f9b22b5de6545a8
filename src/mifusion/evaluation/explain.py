"""``mifusion explain``: what a dependency penalty's statistics network says about test samples.

For each test sample: the penalty's pointwise score (higher = modalities look jointly drawn); the most
and least consistent samples with their text; per-modality attribution = mean score drop when that
modality is swapped with another sample's; and the AUROC of intact against one-modality-swapped samples.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch

from mifusion.data.batch import MultimodalBatch
from mifusion.training.checkpoint import atomic_write_text
from mifusion.training.loader import iterate, sequential


def swap_modality(batch: MultimodalBatch, modality: str, shift: int = 1) -> MultimodalBatch:
    """A copy where sample i carries modality ``modality`` of sample (i + shift) mod B."""

    def roll(d: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        return {k: torch.roll(v, shift, 0) if k == modality else v for k, v in d.items()}

    out = replace(
        batch, sequences=roll(batch.sequences), lengths=roll(batch.lengths), masks=roll(batch.masks),
        present=roll(batch.present),
    )  # fmt: skip
    if modality == "text" and batch.token_ids is not None and batch.token_mask is not None:
        out.token_ids = torch.roll(batch.token_ids, shift, 0)
        out.token_mask = torch.roll(batch.token_mask, shift, 0)
    return out


def auroc(positive: np.ndarray, negative: np.ndarray) -> float:
    """Probability that a positive scores above a negative (ties count half): the ROC AUC.

    Example:
        >>> auroc(np.array([2.0, 3.0]), np.array([1.0, 2.0]))
        0.875
    """
    from scipy.stats import rankdata

    ranks = rankdata(np.concatenate([positive, negative]))
    n_pos, n_neg = len(positive), len(negative)
    return float((ranks[:n_pos].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


@dataclass
class Explanation:
    """Scores of intact samples and of samples with one modality swapped."""

    ids: list[str]
    intact: np.ndarray  # (N,)
    swapped: dict[str, np.ndarray]  # modality -> (N,)

    def attribution(self) -> dict[str, float]:
        """Mean score drop per swapped modality."""
        return {m: float(np.mean(self.intact - s)) for m, s in self.swapped.items()}

    def auroc(self) -> dict[str, float]:
        """AUROC of intact vs swapped per modality, and over all swaps ('all')."""
        out = {m: auroc(self.intact, s) for m, s in self.swapped.items()}
        out["all"] = auroc(self.intact, np.concatenate(list(self.swapped.values())))
        return out


def explain_split(run: object, split: object, batch_size: int = 128) -> Explanation:
    """Scores every sample of a prepared split, intact and with each modality swapped."""
    modalities = run.spec.modalities  # type: ignore[attr-defined]
    intact: list[np.ndarray] = []
    swapped: dict[str, list[np.ndarray]] = {m: [] for m in modalities}
    for batch in iterate(split, sequential(split, max(batch_size, 2)), modalities):  # type: ignore[arg-type]
        intact.append(run.consistency_scores(batch))  # type: ignore[attr-defined]
        for m in modalities:
            swapped[m].append(run.consistency_scores(swap_modality(batch, m)))  # type: ignore[attr-defined]
    return Explanation(
        [str(i) for i in split.ids],  # type: ignore[attr-defined]
        np.concatenate(intact),
        {m: np.concatenate(v) for m, v in swapped.items()},
    )


def explain_run(run_dir: Path, data_path: str | None = None, top: int = 5) -> str:
    """Writes ``explain/report.md`` (+ plots, scores CSV) and returns the report text."""
    from mifusion.evaluation.commands import load_data
    from mifusion.evaluation.plots import _pyplot, _save
    from mifusion.evaluation.run import load_run
    from mifusion.training.run_dir import write_rows_csv

    run = load_run(run_dir)
    raw = load_data(run, data_path)
    texts = raw["test"].raw_text
    split = run.prepare(raw)["test"]
    exp = explain_split(run, split, run.cfg.train.eval_batch_size)
    order = np.argsort(-exp.intact)
    out = run.run_dir / "explain"

    def sample_line(i: int) -> str:
        text = texts[i] if texts is not None else ""
        return f"| {exp.ids[i]} | {exp.intact[i]:.3f} | {float(split.labels[i]):+.2f} | {text[:80]} |"

    head = "| id | score | label | text |\n|---|---|---|---|"
    attribution, aurocs = exp.attribution(), exp.auroc()
    report = "\n".join([
        f"# Consistency report ({run.cfg.penalty.estimator} penalty, {len(exp.ids)} test samples)\n",
        "Score: the statistics network's pointwise score (higher = modalities look jointly drawn).\n",
        "## Most consistent\n", head, *(sample_line(i) for i in order[:top]),
        "\n## Least consistent\n", head, *(sample_line(i) for i in order[::-1][:top]),
        "\n## Per-modality attribution (mean score drop when the modality is swapped with another sample's)\n",
        "| modality | score drop | AUROC intact vs swapped |", "|---|---|---|",
        *(f"| {m} | {attribution[m]:+.3f} | {aurocs[m]:.3f} |" for m in attribution),
        f"\nAUROC over all swaps: {aurocs['all']:.3f}\n",
        "![scores](scores.png)\n",
    ])  # fmt: skip
    rows = [
        {"id": i, "score": float(s), **{f"swapped_{m}": float(v[k]) for m, v in exp.swapped.items()}}
        for k, (i, s) in enumerate(zip(exp.ids, exp.intact))
    ]
    write_rows_csv(out / "scores.csv", rows)  # type: ignore[arg-type]
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.hist(exp.intact, bins=30, alpha=0.6, label="intact")
    for m, s in exp.swapped.items():
        ax.hist(s, bins=30, alpha=0.4, label=f"{m} swapped")
    ax.set(xlabel="consistency score", ylabel="samples", title="Intact vs one-modality-swapped")
    ax.legend()
    _save(fig, out / "scores.png")
    plt.close(fig)
    atomic_write_text(out / "report.md", report)
    return report + f"\nwritten to {out / 'report.md'}"
