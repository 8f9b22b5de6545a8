"""Samples per second of ``mifusion predict``'s code path on CPU, after a tiny training run.

A model is trained for one epoch on a small synthetic set (``train_one``), a larger synthetic dataset
is written in mifusion's safe format, and ``mifusion.experiments.commands.predict_file`` (the function
behind ``mifusion predict RUN DATA --out CSV``) is timed end to end, along with its parts: restoring
the run (``load_run``), preparing the data (``TrainedRun.prepare``) and the forward passes
(``TrainedRun.predict_split``, batch ``train.eval_batch_size``).

Usage::

    python benchmarks/predict_throughput.py                        # MMIM, 2,000 test samples
    python benchmarks/predict_throughput.py --models mmim tfn lf_dnn --n 5000
    python benchmarks/predict_throughput.py --smoke
"""

from __future__ import annotations

import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import common


def measure(model: str, n: int, max_lengths: dict[str, int] | None, folder: Path) -> dict[str, Any]:
    """Trains a tiny run of ``model`` and times prediction over the test split of ``n`` samples."""
    from mifusion.config import load
    from mifusion.data.safe_format import save_safe
    from mifusion.data.synthetic import SynthParams, generate
    from mifusion.experiments.commands import predict_file
    from mifusion.experiments.run import load_run
    from mifusion.experiments.runner import train_one

    params = SynthParams(max_lengths=max_lengths)
    overrides = [f"model.name={model}", "train.device=cpu", "train.epochs=1", "data.synth.n=96"]
    overrides += [f"model.text.{k}={v}" for k, v in common.tiny_text_encoder().items()]
    if max_lengths:
        overrides.append(f"data.max_text_tokens={max_lengths['text']}")
    cfg = load(None, overrides)
    run_dir = folder / f"run_{model}"
    train_one(cfg, run_dir, 0)
    # the test split of a MOSI-proportioned synthetic set (about 31 % of n) is what gets predicted
    dataset = generate("mosi", n=n, seed=1, params=params)
    data_path = folder / "predict_data"
    save_safe(dataset, data_path)
    n_test = len(dataset["test"])
    start = time.perf_counter()
    count = predict_file(run_dir, str(data_path), folder / "predictions.csv", "test")
    total = time.perf_counter() - start
    t0 = time.perf_counter()
    run = load_run(run_dir, "cpu")
    t1 = time.perf_counter()
    prepared = run.prepare(dataset)["test"]
    t2 = time.perf_counter()
    run.predict_split(prepared)
    t3 = time.perf_counter()
    assert count == n_test
    return {
        "model": model, "test_samples": n_test, "end_to_end_s": total, "samples_per_s": n_test / total,
        "load_run_s": t1 - t0, "prepare_s": t2 - t1, "forward_s": t3 - t2,
        "forward_samples_per_s": n_test / (t3 - t2),
    }  # fmt: skip


def main(argv: Sequence[str] | None = None) -> list[dict[str, Any]]:
    import torch

    parser = common.base_parser(__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="*", default=["mmim"])
    parser.add_argument("--n", type=int, default=6400, help="generated samples (test split: ~31%%)")
    args = parser.parse_args(argv)
    max_lengths = None
    if args.smoke:
        args.n, max_lengths = 96, {"text": 10, "audio": 12, "vision": 14}
    torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory(prefix="mifusion-predict-") as tmp:
        rows = [measure(m, args.n, max_lengths, Path(tmp)) for m in args.models]
    common.report("predict_throughput", rows, args.out, "mifusion predict throughput (CPU)")
    return rows


if __name__ == "__main__":
    main(sys.argv[1:])
