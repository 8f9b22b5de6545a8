"""MMIM's MI terms over a full run: lld, H, CPC against chance, q's sigma and the vectors' norms per epoch.

Trains the ``default`` preset's MMIM (the corrected objective) through the library's own path
(``train_one``) on the semi-synthetic real-text ground (real MOSI transcripts, labels and folds as
frozen MiniLM-L6 token features, generated audio and vision; built once and cached, see
``studies/common.py``) for ``--epochs`` epochs with early stopping off, so every epoch is seen. Per
epoch (means over the epoch's training batches) it prints and writes (``mmim_health.csv``):

- ``lld`` and ``entropy``: the BA terms E log q(y|x) and H(Y), summed over the modality pairs (nats);
- ``nce``: the CPC loss summed over the modalities, and ``chance`` = (number of modalities) x log B;
- ``sigma``: q's mean sigma, the smallest over the pairs (units of the y that q models), and
  ``sigma_feature``: that of q's best-predicted feature;
- ``norm_<m>``: the mean L2 norm of each unimodal vector and of the fused vector.

and a plot (``mmim_health.png``), then checks the run against :data:`HEALTH` (exit code 1 if it fails).
MMIM against the same network with its MI terms off, per weight decay, is ``mmim_weight_decay.py``.

Run:
    python benchmarks/mmim_health.py --out runs/mmim_health                      # semi ground, 20 epochs
    python benchmarks/mmim_health.py --smoke --out /tmp/mmim_health             # seconds; not a result
"""

from __future__ import annotations

import argparse
import csv
import math
import sys
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, fields
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LABEL_CSV = Path(__file__).resolve().parents[2] / "shared" / "data" / "mosi_text" / "label.csv"

MODALITIES = ("text", "audio", "vision")
SMOKE_SETS = ("data.synth.n=160", "model.text.hidden_size=8", "model.text.intermediate_size=16")


@dataclass(frozen=True)
class Health:
    """What a healthy run keeps to (documented in docs/models.md, MMIM section)."""

    sigma_min: float = 0.1
    """q's sigma (mean, and its best-predicted feature's), in the units of the y it models, stays above
    this in every epoch (its floor is e^-5)."""
    norm_low: float = 0.1
    norm_high: float = 5.0
    """Every unimodal vector's mean L2 norm stays within [norm_low, norm_high] in every epoch ..."""
    norm_ratio: float = 4.0
    """... and within this factor of its first-epoch value."""
    nce_margin: float = 0.5
    """The last epoch's CPC loss is at least this many nats below chance."""


HEALTH = Health()


@dataclass(frozen=True)
class EpochHealth:
    """One epoch's diagnostics (means over its training batches)."""

    epoch: int
    lld: float
    entropy: float
    nce: float
    chance: float
    sigma: float
    sigma_feature: float
    norm_text: float
    norm_audio: float
    norm_vision: float
    norm_fused: float
    valid_mae: float


def epoch_health(row: Mapping[str, float], batch_size: int) -> EpochHealth:
    """Reads one trainer history row (``train/...`` keys) into an :class:`EpochHealth`."""
    pairs = [k[len("train/") : -len("_lld")] for k in row if k.startswith("train/ba_") and k.endswith("_lld")]
    cpc = [m for m in MODALITIES if f"train/diag/nce/{m}" in row]
    sigmas = [row[f"train/diag/{p}/sigma_mean"] for p in pairs]
    features = [row.get(f"train/diag/{p}/sigma_min", math.nan) for p in pairs]
    return EpochHealth(
        epoch=int(row["epoch"]),
        lld=sum(row[f"train/{p}_lld"] for p in pairs),
        entropy=sum(row[f"train/{p}_entropy"] for p in pairs),
        nce=row.get("train/nce", math.nan),
        chance=len(cpc) * math.log(batch_size),
        sigma=min(sigmas) if sigmas else math.nan,
        sigma_feature=min(features) if features else math.nan,
        norm_fused=row.get("train/diag/norm/fused", math.nan),
        valid_mae=row.get("valid/mae", math.nan),
        **{f"norm_{m}": row.get(f"train/diag/norm/{m}", math.nan) for m in MODALITIES},
    )


def violations(rows: Sequence[EpochHealth], health: Health = HEALTH) -> list[str]:
    """Every way the run breaks ``health`` (empty when it is healthy)."""
    found = [
        f"epoch {r.epoch}: q's sigma {value:.3g} ({kind}) < {health.sigma_min}"
        for r in rows
        for kind, value in (("mean", r.sigma), ("best-predicted feature", r.sigma_feature))
        if value < health.sigma_min
    ]
    for m in MODALITIES:
        first = getattr(rows[0], f"norm_{m}")
        for r in rows if not math.isnan(first) else ():  # a modality the model does not use
            norm = getattr(r, f"norm_{m}")
            ratio = max(norm / first, first / norm) if norm > 0 and first > 0 else math.inf
            if not health.norm_low <= norm <= health.norm_high or ratio > health.norm_ratio:
                found.append(f"epoch {r.epoch}: {m} norm {norm:.3g} (epoch 1: {first:.3g}) outside the band")
    last = rows[-1]
    if not last.nce <= last.chance - health.nce_margin:
        found.append(
            f"last epoch: CPC loss {last.nce:.3f} not {health.nce_margin} below chance {last.chance:.3f}"
        )
    return found


def table(rows: Sequence[EpochHealth]) -> str:
    """Markdown table of the rows."""
    names = list(asdict(rows[0]))
    lines = ["| " + " | ".join(names) + " |", "|---" * len(names) + "|"]
    for r in rows:
        lines.append(
            "| "
            + " | ".join(f"{v:.3f}" if isinstance(v, float) else str(v) for v in asdict(r).values())
            + " |"
        )
    return "\n".join(lines)


STYLES = ("-", "--", ":")


def plot(runs: Mapping[str, Sequence[EpochHealth]], path: Path, title: str, health: Health = HEALTH) -> None:
    """Three panels, one per unit (nats, q's sigma, L2 norm); colour = quantity, line style = run."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D

    quantities = {
        0: {"E log q(y|x)": lambda r: r.lld, "H(y)": lambda r: r.entropy,
            "their sum, the BA bound": lambda r: r.lld + r.entropy},
        1: {"CPC loss": lambda r: r.nce},
        2: {"q's sigma, mean (smallest pair)": lambda r: r.sigma,
            "q's sigma, best-predicted feature": lambda r: r.sigma_feature},
        3: {f"{m} vector": (lambda r, m=m: getattr(r, f"norm_{m}")) for m in (*MODALITIES, "fused")},
    }  # fmt: skip
    fig, axes = plt.subplots(4, 1, figsize=(8, 10), sharex=True)
    for style, rows in zip(STYLES, runs.values()):
        epochs = [r.epoch for r in rows]
        for panel, series in quantities.items():
            for colour, (label, value) in enumerate(series.items()):
                axes[panel].plot(epochs, [value(r) for r in rows], style, color=f"C{colour}", marker="o",
                                 markersize=2.5, label=label if style == STYLES[0] else None)  # fmt: skip
    first = next(iter(runs.values()))
    axes[1].plot([r.epoch for r in first], [r.chance for r in first], color="k", linewidth=0.8,
                 label="chance (modalities x log B)")  # fmt: skip
    axes[0].set_ylabel("BA terms, nats\n(sum over pairs)")
    axes[1].set_ylabel("CPC loss, nats\n(sum over modalities)")
    axes[2].axhline(math.exp(-5), color="grey", linewidth=0.8, label="floor of sigma")
    axes[2].axhline(health.sigma_min, color="k", linewidth=0.8, label="healthy minimum")
    axes[2].set_yscale("log")
    axes[2].set_ylabel("sigma\n(units of the y q models)")
    axes[3].axhspan(health.norm_low, health.norm_high, color="tab:green", alpha=0.08, label="documented band")
    axes[3].set_yscale("log")
    axes[3].set_ylabel("mean L2 norm")
    axes[3].set_xlabel("epoch")
    axes[3].xaxis.get_major_locator().set_params(integer=True)
    runs_key = [Line2D([], [], color="k", linestyle=st, label=name) for st, name in zip(STYLES, runs)]
    for ax in axes:
        handles = ax.get_legend_handles_labels()[0] + (runs_key if ax is axes[0] and len(runs) > 1 else [])
        ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.02, 1.0), fontsize=8, frameon=False)
        ax.grid(alpha=0.3)
    axes[0].set_title(title, fontsize=9)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120, bbox_inches="tight")
    plt.close(fig)


def read_rows(path: Path) -> list[EpochHealth]:
    """The rows of an ``mmim_health.csv`` written by an earlier run."""
    names = [f.name for f in fields(EpochHealth)]
    with open(path, encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    return [EpochHealth(int(r["epoch"]), *(float(r.get(k) or math.nan) for k in names[1:])) for r in rows]


def _write_csv(rows: Sequence[Mapping[str, object]], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def semi_data_path(args: argparse.Namespace) -> str:
    """The semi ground's cached directory (``studies/common.py`` builds it on first use)."""
    if str(ROOT) not in sys.path:  # imported here, not at module level: no side effect on import
        sys.path.insert(0, str(ROOT))
    from studies.common import default_encoder, semi_ground

    return str(semi_ground(args.label_csv, args.encoder or default_encoder(), Path(args.cache)))


def _config(args: argparse.Namespace, extra: Sequence[str]):
    from mifusion.presets import resolve

    data = list(SMOKE_SETS) if args.smoke else [f"data.path={semi_data_path(args)}"]
    base = [*data, "train.device=cpu", f"train.num_threads={args.threads}", f"train.epochs={args.epochs}"]
    return resolve("default", None, [*base, *extra, *args.set])


def diagnose(args: argparse.Namespace) -> list[EpochHealth]:
    """One full run (early stopping off); prints the table, writes CSV and plot."""
    from mifusion.experiments.runner import train_one

    cfg = _config(args, [f"train.early_stopping_patience={args.epochs}"])
    run_dir = Path(args.out) / f"seed_{args.seed}"
    train_one(cfg, run_dir, args.seed)
    with open(run_dir / "metrics.csv", encoding="utf-8") as handle:
        history = [{k: float(v) for k, v in r.items() if v != ""} for r in csv.DictReader(handle)]
    rows = [epoch_health(r, cfg.train.batch_size) for r in history]
    _write_csv([asdict(r) for r in rows], Path(args.out) / "mmim_health.csv")
    ground = (
        "built-in synthetic data (smoke, not a result)" if args.smoke else "semi-synthetic real-text ground"
    )
    runs = {
        args.label: rows,
        **{c.split("=", 1)[0]: read_rows(Path(c.split("=", 1)[1])) for c in args.compare},
    }
    plot(runs, Path(args.out) / "mmim_health.png", f"default MMIM, {ground}, seed {args.seed}")
    print(table(rows))
    return rows


def main(argv: list[str] | None = None) -> list[EpochHealth]:
    """Entry point; see the module docstring. Exits 1 when a diagnostic run breaks :data:`HEALTH`."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--epochs", type=int, default=None, help="default 20 (smoke: 4)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--set", nargs="*", default=[], help="extra config overrides, section.key=value")
    ap.add_argument("--out", default="runs/mmim_health")
    ap.add_argument("--label", default="this run", help="name of this run in the plot's legend")
    ap.add_argument(
        "--compare", nargs="*", default=[], help="LABEL=CSV: an earlier run's mmim_health.csv to overlay"
    )
    ap.add_argument(
        "--smoke", action="store_true", help="seconds on the built-in synthetic data; not a result"
    )
    ap.add_argument("--label-csv", default=str(LABEL_CSV), help="the real MOSI label.csv")
    ap.add_argument("--encoder", default=None, help="local text encoder directory (default: MiniLM-L6's)")
    ap.add_argument("--cache", default="runs/claims/cache", help="where the semi ground's features are kept")
    args = ap.parse_args(argv)
    args.epochs = args.epochs or (4 if args.smoke else 20)
    rows = diagnose(args)
    problems = violations(rows)
    print("healthy" if not problems else "NOT healthy:\n" + "\n".join(problems))
    if problems and not args.smoke:
        raise SystemExit(1)
    return rows


if __name__ == "__main__":
    main()
