"""Data-loading benchmark: MMSA pickle against mifusion's memory-mapped safe format.

A MOSEI-sized synthetic dataset (23k samples; 50 text tokens, audio 500 x 74, vision 500 x 35 float32:
about 5 GB at ``--scale 1``) is written once to a temporary directory in both formats. Each format is
then opened in a fresh subprocess that reports the open time (``load_dataset``), the time to the first
training batch (``collate`` of 32 samples) and the peak resident memory (``ru_maxrss``), both in total
and above the process's resident memory after imports (interpreter, numpy, torch; the peak counter
is reset after the imports through ``/proc/self/clear_refs``, Linux).

Usage::

    python benchmarks/data_loading.py --scale 0.05 --csv data_loading.csv
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

SAMPLES = 23_000
SPLIT_FRACTIONS = {"train": 16_326 / 22_856, "valid": 1_871 / 22_856}  # test: the rest
SHAPES = {"audio": (500, 74), "vision": (500, 35)}
TEXT_TOKENS = 50
BATCH_SIZE = 32


def _maxrss_mb() -> float:
    """Peak resident memory of this process (VmHWM, resettable), else ru_maxrss (Linux: kilobytes)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _current_rss_mb() -> float:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return _maxrss_mb()


def _reset_peak() -> None:
    """Resets VmHWM to the current RSS so import-time peaks (torch) do not hide the loader's."""
    with contextlib.suppress(OSError):
        Path("/proc/self/clear_refs").write_text("5")


def build(scale: float, seed: int = 0):  # -> MultimodalDataset
    """The synthetic MOSEI-sized dataset (right-padded, random lengths)."""
    from mifusion.data.dataset import MultimodalDataset, SplitData

    rng = np.random.default_rng(seed)
    total = max(int(SAMPLES * scale), 30)
    sizes = {s: max(int(total * f), 10) for s, f in SPLIT_FRACTIONS.items()}
    sizes["test"] = total - sum(sizes.values())
    splits = {}
    for name, n in sizes.items():
        split = SplitData(
            name=name,
            ids=np.asarray([f"{name}_{i:06d}$_$0" for i in range(n)]),
            labels=rng.uniform(-3, 3, n).astype(np.float32),
            token_ids=rng.integers(1, 30_000, (n, TEXT_TOKENS)),
            token_lengths=rng.integers(5, TEXT_TOKENS + 1, n),
        )
        for m, (steps, dim) in SHAPES.items():
            split.sequences[m] = rng.standard_normal((n, steps, dim), dtype=np.float32)
            split.lengths[m] = rng.integers(1, steps + 1, n)
        splits[name] = split
    return MultimodalDataset(splits, meta={"tokenizer": "benchmark", "aligned": False})


def measure(path: str) -> dict[str, float]:
    """Runs in the subprocess: open, first batch, peak memory."""
    from mifusion.data.batch import collate
    from mifusion.data.io import load_dataset

    _reset_peak()
    baseline = _current_rss_mb()
    start = time.perf_counter()
    dataset = load_dataset(path)
    opened = time.perf_counter()
    train = dataset["train"]
    batch = collate(train, np.arange(BATCH_SIZE), dataset.modalities)
    first = time.perf_counter()
    assert len(batch) == BATCH_SIZE
    peak = _maxrss_mb()
    return {
        "open_s": opened - start,
        "first_batch_s": first - opened,
        "peak_rss_mb": peak,
        "rss_above_imports_mb": peak - baseline,
    }


def _data_mb(dataset) -> float:
    total = 0
    for split in dataset:
        total += sum(s.nbytes for s in split.sequences.values()) + split.token_ids.nbytes
    return total / 2**20


def _size_mb(path: Path) -> float:
    files = [path] if path.is_file() else [p for p in path.rglob("*") if p.is_file()]
    return sum(p.stat().st_size for p in files) / 2**20


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--scale", type=float, default=1.0, help="fraction of the 23k samples (1 = ~5 GB)")
    parser.add_argument("--csv", default="data_loading.csv", help="where to write the results table")
    parser.add_argument("--workdir", help="directory for the temporary files (default: system temp)")
    parser.add_argument("--measure", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.measure:
        print(json.dumps(measure(args.measure)))
        return 0

    from mifusion.data.io import save_mmsa_pickle, save_safe

    rows = []
    with tempfile.TemporaryDirectory(dir=args.workdir, prefix="mifusion-bench-") as tmp:
        dataset = build(args.scale)
        data_mb = _data_mb(dataset)
        paths = {"mmsa pickle": Path(tmp) / "data.pkl", "safe format": Path(tmp) / "safe"}
        save_mmsa_pickle(dataset, paths["mmsa pickle"])
        save_safe(dataset, paths["safe format"])
        del dataset
        for label, path in paths.items():
            done = subprocess.run(
                [sys.executable, __file__, "--measure", str(path)], capture_output=True, text=True, check=True
            )
            result = json.loads(done.stdout.strip().splitlines()[-1])
            rows.append(
                {
                    "format": label,
                    "samples": int(SAMPLES * args.scale),
                    "data_mb": round(data_mb, 1),
                    "file_mb": round(_size_mb(path), 1),
                    "open_s": round(result["open_s"], 3),
                    "first_batch_s": round(result["first_batch_s"], 3),
                    "peak_rss_mb": round(result["peak_rss_mb"], 1),
                    "rss_above_imports_mb": round(result["rss_above_imports_mb"], 1),
                    "rss_above_imports_pct_of_data": round(100 * result["rss_above_imports_mb"] / data_mb, 1),
                }
            )
    header = list(rows[0])
    widths = [max(len(h), *(len(str(r[h])) for r in rows)) for h in header]
    print("  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)))
    for row in rows:
        print("  ".join(str(row[h]).ljust(w) for h, w in zip(header, widths, strict=True)))
    with open(args.csv, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=header)
        writer.writeheader()
        writer.writerows(rows)
    print(f"wrote {args.csv}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
