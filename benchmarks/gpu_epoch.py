"""MMIM with a BERT-base-sized text encoder on a MOSEI-sized epoch on one GPU (issue 13, target 5).

Generates a MOSEI-shaped synthetic dataset (22,856 samples: 16,326 in the training split; text up to
50 tokens, audio 500 x 74, vision 500 x 35, random true lengths), builds MMIM from the ``mosi_mmim``
preset with a randomly initialised BERT-base-sized encoder (hidden 768, 12 layers, 12 heads, FFN 3072),
and trains ``--epochs`` epochs at batch 32 with ``train.precision=bf16-mixed`` through the library's
``Trainer`` (no checkpoints written). Per epoch: the training pass's seconds (the trainer's own timing,
validation excluded), samples/s, the text encoder's padded tokens, and the achieved TFLOP/s of the
text encoder's forward and backward (``6 * non-embedding parameters * tokens`` plus attention,
``12 * layers * hidden * sum(L^2)`` per batch, a lower bound on the work done) against the device's dense
bf16 peak (``--peak-tflops``, else a table of known devices). Epoch 1 includes warm-up.

Not yet measured: no GPU was available to the session that wrote it. ``--smoke`` runs the same path on
CPU with a tiny encoder and float32 (seconds; the smoke test).

Usage::

    python benchmarks/gpu_epoch.py                      # CUDA device 0, bf16, 2 epochs
    python benchmarks/gpu_epoch.py --peak-tflops 989    # give the device's dense bf16 peak
    python benchmarks/gpu_epoch.py --smoke
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any

import common

BERT_BASE = {"hidden_size": 768, "num_layers": 12, "num_heads": 12, "intermediate_size": 3072}
MOSEI_SAMPLES = 22856
"""Total samples generated; MOSEI's folds put 16,326 of them in the training split."""
SHAPES = {"text": 50, "audio": 500, "vision": 500}
DIMS = {"audio": 74, "vision": 35}
PEAK_BF16_TFLOPS = {"H100": 989.0, "H200": 989.0, "H800": 989.0, "A100": 312.0, "L40S": 362.0, "A10": 125.0}
"""Dense (no sparsity) bf16 tensor-core peaks by device-name substring (vendor data sheets)."""


def device_peak(name: str, given: float | None) -> float | None:
    """The dense bf16 peak TFLOP/s: ``given``, else the first known substring of ``name``, else None."""
    if given is not None:
        return given
    return next((peak for key, peak in PEAK_BF16_TFLOPS.items() if key in name), None)


def encoder_flops(tokens: int, sum_sq_lengths: int, hidden: int, layers: int, ffn: int) -> float:
    """Forward + backward FLOPs of a BERT encoder over padded batches (3x forward; no embeddings)."""
    dense = 2 * layers * (4 * hidden * hidden + 2 * hidden * ffn) * tokens  # QKV, output, FFN matmuls
    attention = 2 * layers * 2 * hidden * sum_sq_lengths  # scores and weighted sum
    return 3.0 * (dense + attention)


def run(args: Any) -> list[dict[str, Any]]:
    import numpy as np
    import torch

    from mifusion import presets
    from mifusion.config import load
    from mifusion.data.loader import sample_lengths
    from mifusion.data.synthetic import SynthParams, generate
    from mifusion.experiments.build import build_trainer
    from mifusion.experiments.pipeline import prepare
    from mifusion.experiments.runner import build
    from mifusion.training.seed import seed_everything

    encoder = common.tiny_text_encoder() if args.smoke else BERT_BASE
    device = "cpu" if args.smoke else f"cuda:{args.device_index}"
    overrides = [
        f"train.epochs={args.epochs}", "train.batch_size=32", f"train.device={device}",
        "train.early_stopping_patience=1000", f"data.max_text_tokens={SHAPES['text']}",
        *(f"model.text.{k}={v}" for k, v in encoder.items()),
    ]  # fmt: skip
    if not args.smoke:
        overrides.append("train.precision=bf16-mixed")
    cfg = load(presets.path("mosi_mmim"), overrides)
    n = 96 if args.smoke else MOSEI_SAMPLES
    shapes = {"text": 12, "audio": 20, "vision": 24} if args.smoke else SHAPES
    params = SynthParams(max_lengths=shapes, audio_dim=DIMS["audio"], vision_dim=DIMS["vision"])
    data = prepare(generate("mosei", n=n, seed=args.seed, params=params), cfg)
    seed_everything(args.seed)
    trainer = build_trainer(build(cfg, data), data, cfg, args.seed, None, device)
    train = data.dataset["train"]
    lengths = sample_lengths(train, data.spec.modalities)
    name = torch.cuda.get_device_name(args.device_index) if device.startswith("cuda") else "cpu"
    peak = device_peak(name, args.peak_tflops)
    fit = trainer.fit()
    rows = []
    for epoch, row in enumerate(fit.history):
        batches = trainer.sampler.batches(epoch)
        widths = [int(lengths[b].max(initial=0)) for b in batches]
        tokens = sum(len(b) * w for b, w in zip(batches, widths, strict=True))
        sum_sq = sum(len(b) * w * w for b, w in zip(batches, widths, strict=True))
        flops = encoder_flops(
            tokens, sum_sq, encoder["hidden_size"], encoder["num_layers"], encoder["intermediate_size"]
        )
        seconds = float(row["seconds"])
        tflops = flops / seconds / 1e12
        rows.append({
            "device": name, "epoch": epoch + 1, "train_samples": len(train), "train_seconds": seconds,
            "samples_per_s": len(train) / seconds, "padded_tokens": tokens,
            "text_encoder_tflops_per_s": tflops, "peak_bf16_tflops": peak if peak is not None else "unknown",
            "fraction_of_peak": tflops / peak if peak else float("nan"),
            "target_under_10_s": seconds < 10.0, "valid_mae": float(row.get("valid/mae", np.nan)),
        })  # fmt: skip
    return rows


def main(argv: Sequence[str] | None = None) -> list[dict[str, Any]]:
    import torch

    parser = common.base_parser(__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device-index", type=int, default=0)
    parser.add_argument("--peak-tflops", type=float, default=None, help="the device's dense bf16 peak")
    args = parser.parse_args(argv)
    if args.smoke:
        args.epochs = 1
    elif not torch.cuda.is_available():
        parser.error("no CUDA device: this benchmark needs a GPU (use --smoke to check it on CPU)")
    torch.set_num_threads(args.threads)
    rows = run(args)
    common.report("gpu_epoch", rows, args.out, "MMIM, BERT-base-sized encoder, MOSEI-sized epoch, bf16")
    return rows


if __name__ == "__main__":
    main(sys.argv[1:])
