"""Study 6: how the synthetic grounds relate to the real one (generator settings, measured signal).

Writes the generator's fixed defaults (:class:`mifusion.data.synthetic.SynthParams`) and, per
ground and modality, how much label signal a ridge on time-averaged features recovers (test Corr)
and how much the modalities share (first canonical correlation of two modalities' time-averaged
features, fit on train and read on test, with and without the label's effect regressed out).
Grounds: fully synthetic (``generate("mosi")``) and semi-synthetic (real MOSI transcripts, labels
and folds; generated audio and vision). A bar plot is written next to the table.

Run:
    python -m studies grounds --out runs/studies/grounds
    python -m studies grounds --tiny --out /tmp/grounds   # seconds; not a result
"""

from __future__ import annotations

import argparse
import dataclasses
import itertools
from pathlib import Path

import numpy as np

from studies.report import publish

LABEL_CSV = str(Path(__file__).resolve().parents[2] / "shared" / "data" / "mosi_text" / "label.csv")


def averaged(split: object, modality: str) -> np.ndarray:
    """(N, D) time averages of a modality's valid frames."""
    x = np.asarray(split.sequences[modality], dtype=float)  # type: ignore[attr-defined]
    n = np.asarray(split.lengths[modality], dtype=float)  # type: ignore[attr-defined]
    return x.sum(axis=1) / np.maximum(n, 1.0)[:, None]


def ridge_corr(ds: object, modality: str, alpha: float = 1.0) -> float:
    """Test Pearson correlation of a ridge (standardised features, fixed alpha) fit on train."""
    xtr, xte = averaged(ds["train"], modality), averaged(ds["test"], modality)  # type: ignore[index]
    ytr = np.asarray(ds["train"].labels, dtype=float)  # type: ignore[index]
    yte = np.asarray(ds["test"].labels, dtype=float)  # type: ignore[index]
    mu, sd = xtr.mean(0), xtr.std(0) + 1e-8
    a, b = (xtr - mu) / sd, (xte - mu) / sd
    w = np.linalg.solve(a.T @ a + alpha * np.eye(a.shape[1]), a.T @ (ytr - ytr.mean()))
    pred = b @ w + ytr.mean()
    return float(np.corrcoef(pred, yte)[0, 1]) if np.std(pred) > 0 else float("nan")


def _whiten(x: np.ndarray, ridge: float) -> np.ndarray:
    """Inverse square root of the (ridged) covariance of centred ``x``."""
    c = x.T @ x / len(x) + ridge * np.eye(x.shape[1])
    vals, vecs = np.linalg.eigh(c)
    return vecs @ np.diag(vals**-0.5) @ vecs.T


def _residual(x_tr: np.ndarray, x_te: np.ndarray, y_tr: np.ndarray, y_te: np.ndarray) -> tuple:
    """Removes from the features what a cubic polynomial of the label explains (fit on train)."""

    def basis(y: np.ndarray) -> np.ndarray:
        return np.stack([np.ones_like(y), y, y**2, y**3], axis=1)

    w = np.linalg.lstsq(basis(y_tr), x_tr, rcond=None)[0]
    return x_tr - basis(y_tr) @ w, x_te - basis(y_te) @ w


def shared(ds: object, m1: str, m2: str, given_label: bool = False, ridge: float = 1e-2) -> float:
    """First canonical correlation of two modalities' averaged features: fit on train, read on test.

    With ``given_label`` the label's (cubic) effect is first regressed out of both, so what remains is
    what the modalities share beyond the label (the generator's shared factors or transcript factor).
    """
    y = {s: np.asarray(ds[s].labels, dtype=float) for s in ("train", "test")}  # type: ignore[index]
    a = {s: averaged(ds[s], m1) for s in ("train", "test")}  # type: ignore[index]
    b = {s: averaged(ds[s], m2) for s in ("train", "test")}  # type: ignore[index]
    if given_label:
        a["train"], a["test"] = _residual(a["train"], a["test"], y["train"], y["test"])
        b["train"], b["test"] = _residual(b["train"], b["test"], y["train"], y["test"])
    mu_a, sd_a = a["train"].mean(0), a["train"].std(0) + 1e-8
    mu_b, sd_b = b["train"].mean(0), b["train"].std(0) + 1e-8
    za, zb = (a["train"] - mu_a) / sd_a, (b["train"] - mu_b) / sd_b
    wa, wb = _whiten(za, ridge), _whiten(zb, ridge)
    u, _, vt = np.linalg.svd(wa @ (za.T @ zb / len(za)) @ wb)
    pa = ((a["test"] - mu_a) / sd_a) @ wa @ u[:, 0]
    pb = ((b["test"] - mu_b) / sd_b) @ wb @ vt[0]
    return float(abs(np.corrcoef(pa, pb)[0, 1]))


def study(n: int | None, out: Path, label_csv: str) -> str:
    """Measures the grounds and returns the Markdown report (writes grounds.png)."""
    from mifusion.data.synthetic import SynthParams, generate

    grounds = {"synthetic (like MOSI)": generate("mosi", n=n, seed=0)}
    if Path(label_csv).exists():
        grounds["semi-synthetic (real MOSI text)"] = generate("mosi", seed=0, text_from=label_csv)
    lines = ["| ground | modality | ridge test Corr (label signal) |", "|---|---|---|"]
    pair_lines = [
        "| ground | pair | first canonical corr (test) | same, label regressed out (shared beyond the label) |",
        "|---|---|---|---|",
    ]
    bars: dict[str, float] = {}
    for name, ds in grounds.items():
        mods = sorted(ds["train"].sequences)
        for m in mods:
            c = ridge_corr(ds, m)
            bars[f"{name.split('-')[0][:5]} {m}"] = c
            lines.append(f"| {name} | {m} | {c:.3f} |")
        for m1, m2 in itertools.combinations(mods, 2):
            both, beyond = shared(ds, m1, m2), shared(ds, m1, m2, given_label=True)
            pair_lines.append(f"| {name} | {m1}-{m2} | {both:.3f} | {beyond:.3f} |")
            bars[f"{name.split('-')[0][:5]} {m1[0]}-{m2[0]} shared"] = beyond
    params = "\n".join(
        f"| {f.name} | {getattr(SynthParams(), f.name)} |" for f in dataclasses.fields(SynthParams)
    )
    _plot(bars, out / "grounds.png")
    return "\n\n".join([
        "# Grounds: generator settings and measured signal",
        "## Generator defaults (SynthParams, fixed, never tuned)\n\n| parameter | value |\n|---|---|\n" + params,
        "## Label signal per modality (time-averaged features, ridge alpha 1)", "\n".join(lines),
        "## Shared information between modalities", "\n".join(pair_lines),
        "Text carries the signal as tokens (not averaged features), so it is absent from these tables; "
        "the real ground's text signal is the real-data study's text-only result. Plot: grounds.png.",
    ]) + "\n"  # fmt: skip


def _plot(bars: dict[str, float], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    path.parent.mkdir(parents=True, exist_ok=True)
    fig, ax = plt.subplots(figsize=(6, 3))
    ax.bar(list(bars), list(bars.values()))
    ax.set_ylabel("test correlation")
    ax.set_title("label signal (ridge Corr) and sharing beyond the label (CCA)", fontsize=9)
    ax.tick_params(axis="x", rotation=30)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    """Entry point; see the module docstring."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--label-csv", default=LABEL_CSV)
    ap.add_argument("--out", default="runs/studies/grounds")
    ap.add_argument("--tiny", action="store_true", help="seconds-long smoke run; numbers are NOT results")
    args = ap.parse_args(argv)
    n, csv = (120, "") if args.tiny else (None, args.label_csv)
    report = study(n, Path(args.out), csv or "/nonexistent")
    return publish(report, Path(args.out), args.tiny)


if __name__ == "__main__":
    raise SystemExit(main())
