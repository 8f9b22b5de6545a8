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
from mifusion.media.words import Words


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
    words: Words | None = None,
) -> tuple[MultimodalDataset, list[tuple[str, str, str, str]]]:
    """Extracts every clip of ``labels`` (a label.csv dataset) and returns (dataset, skipped rows).

    The per-clip cache lives beside ``out`` (see :func:`cache_dir`); it is removed once ``save`` (called
    with the dataset) has returned, unless ``keep_cache``. The report (``OUT.report.csv``: id, split,
    media, reason) is written either way once the clips are done. With ``words`` (word timings, see
    :mod:`mifusion.media.words`) every modality is averaged per word, the text becomes the word
    sequence, and ``OUT.alignment.csv`` counts each clip's words filled with their nearest frame; the
    timings are checked against the media files before any extraction.
    """
    check_installed(settings)
    found, missing = plan(media_dir, labels)
    if words is not None:
        from mifusion.media.words import check_timings, durations

        check_timings(words, durations(found), settings.fps)
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
    alignment = None
    if words is not None:
        results, alignment = _align_words(results, words, modalities, settings.fps, split_of, out)
    dataset = assemble(labels, results, modalities)
    if words is not None:
        for split in dataset:
            split.raw_text = [" ".join(w for w, _, _ in words[str(i)]) for i in split.ids]
    dataset.meta.update(
        features=manifest(settings, aligned=words is not None),
        extraction={
            "media_dir": str(media_dir),
            "clips": len(results),
            "skipped": len(skipped),
            "report": report_path(out).name,
            "versions": versions(settings),
            **({"alignment": alignment} if alignment is not None else {}),
        },
        aligned=words is not None,
    )
    if save is not None:
        save(dataset)
        if not keep_cache:
            shutil.rmtree(cache.parent, ignore_errors=True)
    return dataset, skipped


def alignment_path(out: str | Path) -> Path:
    """Where the per-clip word counts of an aligned OUT go: ``OUT.alignment.csv`` beside it."""
    out = Path(out)
    return out.with_name(out.name + ".alignment.csv")


def _align_words(
    results: dict[str, Any],
    words: Words,
    modalities: list[str],
    fps: float,
    split_of: dict[str, str],
    out: str | Path,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Per-word means of every kept clip, and the counts (written to ``OUT.alignment.csv``)."""
    import numpy as np

    from mifusion.media.words import FILL, align

    aligned: dict[str, Any] = {}
    rows, filled = [], dict.fromkeys(modalities, 0)
    for clip, result in results.items():
        if isinstance(result, str):
            aligned[clip] = result
            continue
        spans = np.asarray([(start, end) for _, start, end in words[clip]], np.float64)
        aligned[clip], counts = {}, {}
        for m in modalities:
            aligned[clip][m], counts[m] = align(result[m], fps, spans)
            filled[m] += counts[m]
        rows.append((clip, split_of[clip], str(len(spans)), *(str(counts[m]) for m in modalities)))
    header = ["id", "split", "words", *(f"{m}_filled" for m in modalities)]
    _write_rows(alignment_path(out), header, rows)
    summary = {
        "words": sum(int(r[2]) for r in rows),
        "filled": filled,
        "fill": FILL,
        "report": alignment_path(out).name,
    }
    return aligned, summary


def _write_report(path: Path, rows: list[tuple[str, str, str, str]]) -> None:
    _write_rows(path, ["id", "split", "media", "reason"], list(rows))


def _write_rows(path: Path, header: list[str], rows: list[tuple[str, ...]]) -> None:
    from mifusion.data.mmsa_pickle import atomic_write

    text = io.StringIO()
    writer = csv.writer(text)
    writer.writerow(header)
    writer.writerows(sorted(rows))
    atomic_write(path, lambda handle: handle.write(text.getvalue().encode("utf-8")))
