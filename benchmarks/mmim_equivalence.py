"""End-to-end equivalence of MMIM's parity preset with MMSA 2.2.1's own MMIM, and of the corrected default
with parity: full schedules with early stopping, several seeds, a TOST verdict with a margin fixed here.

Both frameworks train on the same prepared data: the built-in synthetic MOSI-like set (600 samples, seed 0,
text <= 20 tokens, audio and vision <= 40 frames, every length at least 1 as MMSA's packed LSTMs require;
raw features, no standardisation) with a tiny randomly
initialised BERT (hidden 32, 1 layer, dropout 0) saved as a local model directory and used by both as the
"pretrained" text encoder. Per seed, MMSA's MMIM is built and trained as MMSA builds and trains it (its
``mmim``/``mosi`` config, its ``setup_seed``, its ``do_train`` until its early stopping after 8 epochs
without a better validation loss, a shuffled DataLoader of batch 32), then its saved best model is tested
with its own ``do_test``; mifusion trains ``mosi_mmim_parity_mmsa`` (patience 8) through ``train_one``.
The compared figure is the validation MAE of each side's selected checkpoint; the test MAE is reported too.

Margin, fixed before any run: +-0.03 validation MAE (``--margin``), TOST at alpha 0.05 on the seed-paired
differences (:mod:`mifusion.stats.equivalence`). What is bypassed on MMSA's side is listed in
``tests/models/mmsa_oracle.py`` (its CUDA call, 768-d text width, torch 2.13's scheduler argument).

Usage::

    make .mmsa/.installed          # MMSA 2.2.1 into .mmsa (outside the environment)
    python benchmarks/mmim_equivalence.py --seeds 1 2 3 4 5 --threads 1
    python benchmarks/mmim_equivalence.py --smoke    # seconds: 1 seed, 2-epoch caps, tiny data
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import io
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

REPO = Path(__file__).resolve().parents[1]
ARMS = ("mmsa", "parity", "default")
MAX_LENGTHS = {"text": 20, "audio": 40, "vision": 40}


def oracle() -> Any:
    """``tests/models/mmsa_oracle.py``, the module that builds MMSA's batches and imports MMSA."""
    folder = str(REPO / "tests" / "models")
    if folder not in sys.path:
        sys.path.insert(0, folder)
    return importlib.import_module("mmsa_oracle")


def prepared_data(n: int) -> Any:
    """The synthetic set as mifusion's PreparedData, native token ids, raw features."""
    from mifusion.data.prepared import PreparedData
    from mifusion.data.spec import data_spec
    from mifusion.data.synthetic import SynthParams, generate

    dataset = generate("mosi", n=n, seed=0, params=SynthParams(max_lengths=MAX_LENGTHS))
    for split in dataset:  # MMSA's packed LSTMs refuse length 0: both sides read one (zero) frame there
        for m in split.lengths:
            split.lengths[m] = split.lengths[m].clip(min=1)
    return PreparedData(dataset, data_spec(dataset), None, None)


def mmsa_loaders(data: Any, batch_size: int) -> dict[str, Any]:
    """MMSA-style loaders (dicts of text (B, 3, L), frames, lengths, labels) over the same splits."""
    from torch.utils.data import DataLoader

    mmsa_oracle = oracle()
    loaders = {}
    for name in ("train", "valid", "test"):
        split = data.dataset[name]
        (batch,) = mmsa_oracle.mmsa_batches(split, [list(range(len(split)))], dtype=torch.float32)
        samples = [
            {k: (v[i] if k != "labels" else {"M": v["M"][i]}) for k, v in batch.items() if k != "id"}
            for i in range(len(split))
        ]
        loaders[name] = DataLoader(samples, batch_size=batch_size, shuffle=name == "train")
    return loaders


def train_mmsa(data: Any, bert_dir: str, seed: int, max_epochs: int | None) -> dict[str, float]:
    """MMSA's MMIM, trained to its own early stop; validation and test MAE of its saved best model."""
    import mmsa_oracle  # type: ignore[import-not-found]
    from MMSA.config import get_config_regression  # type: ignore[import-not-found]
    from MMSA.models import AMIO  # type: ignore[import-not-found]
    from MMSA.trains import ATIO  # type: ignore[import-not-found]
    from MMSA.utils import setup_seed  # type: ignore[import-not-found]

    mmsa_oracle._scheduler_without_verbose(importlib.import_module("MMSA.trains.singleTask.MMIM"))
    train = data.dataset["train"]
    dims = [32, train.sequences["audio"].shape[2], train.sequences["vision"].shape[2]]
    with tempfile.TemporaryDirectory(prefix="mifusion-mmsa-eq-") as tmp:
        args = get_config_regression("mmim", "mosi")
        save = Path(tmp) / "mmim.pth"
        args.update(
            pretrained=bert_dir, device=torch.device("cpu"), train_mode="regression", feature_dims=dims,
            train_samples=len(train), cur_seed=seed, model_save_path=str(save),
        )  # fmt: skip
        setup_seed(seed)
        loaders = mmsa_loaders(data, args.batch_size)
        model = AMIO(args)
        trainer = ATIO().getTrain(args)
        epochs = {"n": 0}
        if max_epochs is not None:
            stage1 = trainer.train_mmilb

            def capped(loaders: Any) -> Any:
                epochs["n"] += 1
                if epochs["n"] > max_epochs:
                    raise StopIteration
                return stage1(loaders)

            trainer.train_mmilb = capped
        start = time.perf_counter()
        with contextlib.suppress(StopIteration), contextlib.redirect_stderr(io.StringIO()):
            trainer.do_train(model, loaders)
        seconds = time.perf_counter() - start
        model.load_state_dict(torch.load(save, weights_only=True))
        with contextlib.redirect_stderr(io.StringIO()):
            valid = trainer.do_test(model, loaders["valid"], mode="VAL")
            test = trainer.do_test(model, loaders["test"], mode="TEST")
    return {"valid_mae": float(valid["MAE"]), "test_mae": float(test["MAE"]), "seconds": seconds}


def train_mifusion(
    data: Any, preset: str, bert_dir: str, seed: int, threads: int, max_epochs: int | None
) -> dict[str, float]:
    """mifusion's ``preset`` through ``train_one``; validation and test MAE of the selected epoch."""
    from mifusion import presets
    from mifusion.config import load
    from mifusion.experiments.runner import train_one

    overrides = [f"model.text.pretrained={bert_dir}", f"train.num_threads={threads}", "train.device=cpu"]
    if max_epochs is not None:
        overrides.append(f"train.epochs={max_epochs}")
    cfg = load(presets.path(preset), overrides)
    with tempfile.TemporaryDirectory(prefix="mifusion-eq-") as tmp:
        result = train_one(cfg, Path(tmp) / "run", seed, data=data)
    return {"valid_mae": result.valid["mae"], "test_mae": result.test["mae"], "seconds": result.wall_seconds}


def verdict(name: str, ours: list[dict[str, float]], theirs: list[dict[str, float]], margin: float) -> str:
    from mifusion.stats import paired_difference, tost_paired

    valid = tost_paired([a["valid_mae"] - b["valid_mae"] for a, b in zip(ours, theirs)], margin)
    test = paired_difference([a["test_mae"] for a in ours], [b["test_mae"] for b in theirs])
    return (
        f"{name}: validation MAE difference {valid.describe()}\n"
        f"{name}: test MAE difference {test.mean:+.4f} [95 % CI {test.low:+.4f}, {test.high:+.4f}], n {test.n}"
    )


def main(argv: Sequence[str] | None = None) -> str:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3, 4, 5])
    parser.add_argument("--margin", type=float, default=0.03, help="equivalence margin (validation MAE)")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--samples", type=int, default=600)
    parser.add_argument("--smoke", action="store_true", help="1 seed, 2-epoch caps, 120 samples")
    parser.add_argument(
        "--arms",
        nargs="+",
        choices=ARMS,
        default=list(ARMS),
        help="which sides to train (default: all three)",
    )
    parser.add_argument("--out-json", help="also write every seed's figures here (JSON)")
    args = parser.parse_args(argv)
    from mifusion.models.testing import save_tiny_bert

    mmsa_oracle = oracle()
    if not mmsa_oracle.import_mmsa():
        print(f"MMSA 2.2.1 not found in {mmsa_oracle.mmsa_dir()}: run `make .mmsa/.installed` first")
        return ""
    torch.set_num_threads(args.threads)
    seeds, cap = (args.seeds[:1], 2) if args.smoke else (args.seeds, None)
    data = prepared_data(120 if args.smoke else args.samples)
    rows: dict[str, list[dict[str, float]]] = {arm: [] for arm in args.arms}
    with tempfile.TemporaryDirectory(prefix="mifusion-eq-bert-") as tmp:
        bert_dir = save_tiny_bert(Path(tmp) / "bert", int(data.spec.vocab_size), 32)
        for seed in seeds:
            if "mmsa" in rows:
                rows["mmsa"].append(train_mmsa(data, bert_dir, seed, cap))
            for arm, preset in (("parity", "mosi_mmim_parity_mmsa"), ("default", "mosi_mmim")):
                if arm in rows:
                    rows[arm].append(train_mifusion(data, preset, bert_dir, seed, args.threads, cap))
            print(f"seed {seed}: " + "; ".join(
                f"{k} valid {v[-1]['valid_mae']:.4f} test {v[-1]['test_mae']:.4f} ({v[-1]['seconds']:.0f} s)"
                for k, v in rows.items()
            ), flush=True)  # fmt: skip
    pairs = (("parity - MMSA", "parity", "mmsa"), ("default - parity", "default", "parity"))
    report = "\n".join(
        verdict(name, rows[a], rows[b], args.margin) for name, a, b in pairs if a in rows and b in rows
    )
    print(report)
    if args.out_json:
        from mifusion.writers import write_json

        write_json(
            Path(args.out_json), {"seeds": seeds, "margin": args.margin, "rows": rows, "report": report}
        )
    return report


if __name__ == "__main__":
    main()
