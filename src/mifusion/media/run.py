"""``extract_dataset``: label.csv + a folder of clips -> a dataset with features and a report of skipped clips."""

from __future__ import annotations

import csv
import io
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

from mifusion.data.dataset import MultimodalDataset
from mifusion.errors import DataError
from mifusion.media.extract import (
    Settings,
    assemble,
    cache_dir,
    check_installed,
    manifest,
    media_index,
    run_clips,
    versions,
)


def report_path(out: str | Path) -> Path:
    """Where the skipped-clip report of OUT goes: ``OUT.report.csv`` beside it."""
    out = Path(out)
    return out.with_name(out.name + ".report.csv")


def plan(media_dir: str | Path, labels: MultimodalDataset) -> tuple[dict[str, Path], list[str]]:
    """(clip id -> media file, ids without a file); DataError when no clip has a file at all."""
    root = Path(media_dir)
    if not root.is_dir():
        raise DataError(f"{root}: not a folder; give the folder holding the clips")
    index = media_index(root)
    ids = [str(i) for split in labels for i in split.ids]
    found = {i: index[i] for i in ids if i in index}
    if not found:
        example = ids[0].replace("$_$", "/")
        raise DataError(
            f"{root}: no media file for any of the {len(ids)} label.csv clips; name them like "
            f"{example}.mp4 or {ids[0]}.wav"
        )
    return found, [i for i in ids if i not in found]


def extract_dataset(
    media_dir: str | Path,
    labels: MultimodalDataset,
    out: str | Path,
    settings: Settings,
    workers: int = 1,
    progress: bool = True,
    keep_cache: bool = False,
    save: Callable[[MultimodalDataset], Any] | None = None,
) -> tuple[MultimodalDataset, list[tuple[str, str, str, str]]]:
    """Extracts every clip of ``labels`` (a label.csv dataset) and returns (dataset, skipped rows).

    The per-clip cache lives beside ``out`` (see :func:`cache_dir`); it is removed once ``save`` (called
    with the dataset) has returned, unless ``keep_cache``. The report (``OUT.report.csv``: id, split,
    media, reason) is written either way once the clips are done.
    """
    check_installed(settings)
    found, missing = plan(media_dir, labels)
    cache = cache_dir(Path(out), settings)
    cache.mkdir(parents=True, exist_ok=True)
    jobs = [(clip, str(path), settings, str(cache)) for clip, path in found.items()]
    results: dict[str, Any] = run_clips(jobs, workers, progress)
    results.update({clip: "no media file" for clip in missing})
    split_of = {str(i): s.name for s in labels for i in s.ids}
    skipped = [
        (clip, split_of[clip], str(found.get(clip, "")), reason)
        for clip, reason in results.items()
        if isinstance(reason, str)
    ]
    _write_report(report_path(out), skipped)
    modalities = ["audio", "vision"] if settings.vision else ["audio"]
    if len(skipped) == len(results):
        raise DataError(f"every clip was skipped; see {report_path(out)} for the reasons")
    dataset = assemble(labels, results, modalities)
    dataset.meta.update(
        features=manifest(settings),
        extraction={
            "media_dir": str(media_dir),
            "clips": len(results),
            "skipped": len(skipped),
            "report": report_path(out).name,
            "versions": versions(settings),
        },
        aligned=False,
    )
    if save is not None:
        save(dataset)
        if not keep_cache:
            shutil.rmtree(cache.parent, ignore_errors=True)
    return dataset, skipped


def _write_report(path: Path, rows: list[tuple[str, str, str, str]]) -> None:
    from mifusion.data.mmsa_pickle import atomic_write

    text = io.StringIO()
    writer = csv.writer(text)
    writer.writerow(["id", "split", "media", "reason"])
    writer.writerows(sorted(rows))
    atomic_write(path, lambda handle: handle.write(text.getvalue().encode("utf-8")))
