"""The grounds of ``benchmarks/baselines.py`` and its deterministic rows (constant, ridge on time averages).

Kept apart so that ``baselines.py`` (the model runs and the report) stays short; see its docstring for
what each ground is and how the rows are measured.
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
GROUNDS = ("synthetic", "semi", "mmsa_aligned", "mmsa_unaligned")
MMSA_ARGS = {
    "mmsa_aligned": ["--n", "1000", "--seed", "1", "--aligned", "--padding", "left", "--no-lengths"],
    "mmsa_unaligned": [
        "--n",
        "1000",
        "--seed",
        "2",
        "--max-length",
        "audio=150",
        "--max-length",
        "vision=150",
        "--param",
        "nonfinite_audio_rate=0.02",
    ],
}
SMOKE_SIZE = [
    "--n",
    "120",
    "--max-length",
    "text=12",
    "--max-length",
    "audio=20",
    "--max-length",
    "vision=24",
]
ALPHAS = 10.0 ** np.arange(-3.0, 5.0)


def _claims() -> ModuleType:
    """``studies/common.py`` (the studies' arms and grounds), with the repository root importable."""
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    return importlib.import_module("studies.common")


@dataclass(frozen=True)
class Ground:
    """Where a ground's data comes from (config overrides) and what it can feed."""

    name: str
    sets: tuple[str, ...]
    aligned: bool
    tokens: bool
    recipe: str


def build_ground(name: str, out: Path, smoke: bool, args: argparse.Namespace) -> Ground:
    """Creates (once) and describes ground ``name``; files live under ``out/grounds``."""
    if name == "synthetic":
        return Ground(
            name, ("data.synth.aligned=false",), False, True, "presets' data.synth (like mosi, n 600, seed 0)"
        )
    if name == "semi":
        claims = _claims()
        path = claims.semi_ground(args.label_csv, args.encoder or claims.default_encoder(), out / "cache")
        return Ground(name, (f"data.path={path}",), False, False, f"semi_ground({args.label_csv}, MiniLM-L6)")
    from mifusion.cli import main

    path = out / "grounds" / f"{name}{'_smoke' if smoke else ''}.pkl"
    synth_args = list(MMSA_ARGS[name])
    if smoke:
        synth_args = [*synth_args[2:], *SMOKE_SIZE]  # the smoke sizes win
    if not path.exists() and main(["data", "synth", str(path), *synth_args]) != 0:
        raise SystemExit(f"mifusion data synth {path} failed")
    recipe = "mifusion data synth F.pkl " + " ".join(synth_args)
    return Ground(name, (f"data.path={path}",), name == "mmsa_aligned", True, recipe)


def cannot_feed(model: str, ground: Ground) -> str | None:
    """Why ``ground`` cannot feed ``model`` (None when it can)."""
    from mifusion.models import MODELS as REGISTRY

    if REGISTRY.get(model).needs_aligned and not ground.aligned:
        return "needs word-aligned data"
    if model == "mag_bert" and not ground.tokens:
        return "needs token ids"
    return None


def averaged_features(split: Any, vocab: int) -> dict[str, np.ndarray]:
    """modality -> (N, D) time average of valid frames; token text -> (N, vocab) bag of words."""
    out = {}
    for m, seq in split.sequences.items():
        lengths = np.asarray(split.lengths[m])
        valid = (np.arange(seq.shape[1])[None, :] < lengths[:, None])[..., None]  # (N, T, 1)
        total = np.where(valid, np.asarray(seq, dtype=float), 0.0).sum(axis=1)
        out[m] = total / np.maximum(lengths, 1)[:, None]
    if split.token_ids is not None:
        ids = np.asarray(split.token_ids)
        counts = np.zeros((len(ids), vocab))
        np.add.at(counts, (np.repeat(np.arange(len(ids)), ids.shape[1]), ids.reshape(-1)), 1.0)
        counts[:, :3] = 0.0  # [PAD], [CLS], [SEP]
        out["text"] = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1.0)
    return out


def ridge_fit(x: dict[str, np.ndarray], y: dict[str, np.ndarray]) -> tuple[np.ndarray, float, float]:
    """Ridge on standardised train features, alpha by validation MAE; (test predictions, alpha, valid MAE)."""
    mu, sd = x["train"].mean(0), x["train"].std(0) + 1e-8
    z = {s: np.c_[(v - mu) / sd, np.ones(len(v))] for s, v in x.items()}
    best: tuple[float, float, np.ndarray] | None = None
    for alpha in ALPHAS:
        reg = alpha * np.eye(z["train"].shape[1])
        reg[-1, -1] = 0.0  # the intercept is not shrunk
        w = np.linalg.solve(z["train"].T @ z["train"] + reg, z["train"].T @ y["train"])
        valid = float(np.mean(np.abs(z["valid"] @ w - y["valid"])))
        if best is None or valid < best[0]:
            best = (valid, float(alpha), w)
    assert best is not None
    return z["test"] @ best[2], best[1], best[0]


def linear_baselines(cfg: Any) -> dict[str, dict[str, Any]]:
    """Constant and ridge rows on exactly the models' inputs (``prepare_data``: standardised, subset)."""
    from mifusion.experiments.pipeline import prepare_data
    from mifusion.metrics.accumulator import compute_metrics

    data = prepare_data(cfg)
    y = {s: np.asarray(data.dataset[s].labels, dtype=float) for s in ("train", "valid", "test")}
    ids = [data.dataset[s].token_ids for s in y if data.dataset[s].token_ids is not None]
    vocab = max([int(data.spec.vocab_size or 0), *(int(np.max(i)) + 1 for i in ids)])
    feats = {s: averaged_features(data.dataset[s], vocab) for s in y}
    constant = float(np.median(y["train"]))
    rows: dict[str, dict[str, Any]] = {
        "constant (train median)": {"test": compute_metrics(np.full_like(y["test"], constant), y["test"])}
    }
    for m in [*sorted(feats["train"]), "all"]:
        x = {s: np.concatenate([feats[s][k] for k in sorted(feats[s])], axis=1) if m == "all" else feats[s][m]
             for s in y}  # fmt: skip
        pred, alpha, valid = ridge_fit(x, y)
        rows[f"ridge ({m})"] = {"test": compute_metrics(pred, y["test"]), "alpha": alpha, "valid_mae": valid}
    return rows
