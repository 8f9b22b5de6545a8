"""Epoch time and peak memory against dataset size and sequence length (MMIM, tiny text encoder).

Each point generates a synthetic MOSI-like dataset of ``n`` samples (sequence lengths scaled by
``length_scale`` from MOSI's 50 tokens / audio 375 / vision 500) and trains one epoch through the
library's ``Trainer`` (``run_dir=None``: no checkpoints written). ``epoch_seconds`` is the training
pass only (the trainer's own per-epoch timing, validation excluded); ``peak_rss_mb`` is the process's
resident peak since the point started (data generation included), ``data_mb`` the arrays' size.

Usage::

    python benchmarks/scaling.py                                   # 500 and 1,000 samples, lengths x0.5, x1
    python benchmarks/scaling.py --sizes 1000 4000 16000 23000 --length-scales 1
    python benchmarks/scaling.py --smoke
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any

import common

MOSI_LENGTHS = {"text": 50, "audio": 375, "vision": 500}


def point(n: int, scale: float, model: str, epochs: int) -> dict[str, Any]:
    """One (size, length) point."""
    from mifusion.config import load
    from mifusion.data.synthetic import SynthParams, generate
    from mifusion.experiments.build import build_trainer
    from mifusion.experiments.pipeline import prepare
    from mifusion.experiments.runner import build
    from mifusion.training.callbacks import Callback
    from mifusion.training.seed import seed_everything

    common.reset_peak()
    lengths = {m: max(int(v * scale), 3) for m, v in MOSI_LENGTHS.items()}
    overrides = [f"model.name={model}", "train.device=cpu", f"train.epochs={epochs}"]
    overrides += [f"model.text.{k}={v}" for k, v in common.tiny_text_encoder().items()]
    cfg = load(None, overrides)
    data = prepare(generate("mosi", n=n, seed=0, params=SynthParams(max_lengths=lengths)), cfg)
    data_mb = sum(s.nbytes for split in data.dataset for s in split.sequences.values()) / 2**20
    seed_everything(0)
    peaks: list[float] = []

    class PeakAfterEpoch(Callback):
        def on_epoch_end(self, trainer: Any, row: dict[str, float]) -> None:
            peaks.append(common.peak_rss_mb())

    trainer = build_trainer(build(cfg, data), data, cfg, 0, None, "cpu", [PeakAfterEpoch()])
    fit = trainer.fit()
    seconds = [row["seconds"] for row in fit.history]
    n_train = len(data.dataset["train"])
    return {
        "samples": n, "train_samples": n_train, "length_scale": scale, "max_lengths": str(lengths),
        "epoch_seconds": seconds[-1], "samples_per_s": n_train / seconds[-1], "data_mb": data_mb,
        "peak_rss_mb_epoch1": peaks[0], "peak_rss_mb_last": peaks[-1],
    }  # fmt: skip


def main(argv: Sequence[str] | None = None) -> list[dict[str, Any]]:
    import torch

    parser = common.base_parser(__doc__.splitlines()[0])
    parser.add_argument("--sizes", nargs="*", type=int, default=[500, 1000])
    parser.add_argument("--length-scales", nargs="*", type=float, default=[0.5, 1.0])
    parser.add_argument("--model", default="mmim")
    parser.add_argument("--epochs", type=int, default=1, help="epochs per point (>1: memory flatness)")
    args = parser.parse_args(argv)
    if args.smoke:
        args.sizes, args.length_scales = [64], [0.05]
    torch.set_num_threads(args.threads)
    rows = [point(n, s, args.model, args.epochs) for n in args.sizes for s in args.length_scales]
    common.report("scaling", rows, args.out, "Epoch time and peak memory vs dataset size and length")
    return rows


if __name__ == "__main__":
    main(sys.argv[1:])
