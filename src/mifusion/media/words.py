"""Word-level alignment (``data extract --align words``): word timings, their checks, and per-word means.

Word timings come from a CSV (header ``video_id,clip_id,word,start,end``: one row per word, times in
seconds from the start of the clip's media file) or a CMU-SDK words ``.csd`` (``TimestampedWords``: per
entry ``features`` (T, 1) strings and ``intervals`` (T, 2) seconds; entry keys are clip ids,
``video_id$_$clip_id`` or the SDK's ``video_id[clip_id]``). CMU-SDK's pause marker ``sp`` and empty
words are dropped; a clip's words are ordered by start time.

A frame of a sequence at ``fps`` frames per second covers [t / fps, (t + 1) / fps); a word's step is the
mean of the frames whose centre (t + 0.5) / fps lies in [start, end). A word without such a frame (shorter
than a frame, or at the very end) takes the frame that holds its midpoint (the nearest frame, clipped to
the last one); these are counted per modality (``meta["extraction"]["alignment"]`` and
``OUT.alignment.csv``).
"""

from __future__ import annotations

import csv
import math
from pathlib import Path

import numpy as np

from mifusion.errors import DataError

Words = dict[str, list[tuple[str, float, float]]]
"""clip id -> [(word, start, end)] in seconds from the start of the clip's media file, ordered by start."""

COLUMNS = ("video_id", "clip_id", "word", "start", "end")
DROPPED = ("sp", "")
"""Words left out: CMU-SDK's pause marker and empty strings."""
FILL = "nearest frame (the frame holding the word's midpoint)"


def _clip_key(key: str) -> str:
    """``video[clip]`` (CMU-SDK segments) -> ``video$_$clip``; other keys unchanged."""
    if key.endswith("]") and "[" in key and "$_$" not in key:
        video, _, clip = key[:-1].rpartition("[")
        return f"{video}$_${clip}"
    return key


def _add(out: Words, path: Path, where: str, clip: str, word: str, start: float, end: float) -> None:
    word = word.strip()
    if not (math.isfinite(start) and math.isfinite(end)):
        raise DataError(f"{path}: {where}: start {start} / end {end} must be finite seconds; fix the timing")
    if start < 0 or start > end:
        raise DataError(
            f"{path}: {where}: word {word!r} of clip {clip!r} has start {start:g} s and end {end:g} s; "
            "need 0 <= start <= end"
        )
    if any(c.isspace() for c in word):
        raise DataError(f"{path}: {where}: word {word!r} contains white space; give one word per row")
    if word.lower() not in DROPPED:
        out.setdefault(clip, []).append((word, float(start), float(end)))


def _read_csv(path: Path) -> Words:
    out: Words = {}
    try:
        handle = open(path, newline="", encoding="utf-8")  # noqa: SIM115 (closed below)
    except OSError as err:
        raise DataError(f"{path}: cannot read file ({err.strerror}); check the path") from None
    with handle:
        try:
            reader = csv.DictReader(handle, strict=True)
            missing = [c for c in COLUMNS if c not in (reader.fieldnames or [])]
            if missing:
                raise DataError(
                    f"{path}: missing column {missing[0]!r}; word timings need {', '.join(COLUMNS)}"
                )
            for row in reader:
                where = f"line {reader.line_num}"
                if None in row or any(row.get(c) is None for c in COLUMNS):
                    raise DataError(f"{path}: {where} does not have the header's fields; fix the row")
                try:
                    start, end = float(row["start"]), float(row["end"])
                except ValueError:
                    raise DataError(
                        f"{path}: {where}: start {row['start']!r} / end {row['end']!r} are not seconds"
                    ) from None
                clip = f"{row['video_id']}$_${row['clip_id']}"
                _add(out, path, where, clip, row["word"], start, end)
        except (csv.Error, UnicodeDecodeError) as err:
            raise DataError(f"{path}: malformed CSV ({err}); fix or re-export the file") from None
    return out


def _read_csd(path: Path) -> Words:
    from mifusion.data.csd import read_sequence

    out: Words = {}
    for key, (words, intervals) in read_sequence(path, words=True).data.items():
        clip = _clip_key(key)
        for i, (word, (start, end)) in enumerate(zip(words[:, 0], intervals, strict=True)):
            _add(out, path, f"entry {key!r}, word {i}", clip, str(word), float(start), float(end))
    return out


def read_word_timings(path: str | Path) -> Words:
    """Word timings from a ``.csv`` or a CMU-SDK words ``.csd`` (DataError naming the file and row)."""
    from mifusion.files import require_regular_file

    path = require_regular_file(path, "word timings file")
    words = _read_csd(path) if path.suffix.lower() == ".csd" else _read_csv(path)
    if not words:
        raise DataError(f"{path}: no word timings (every row empty or a pause); check the file")
    return {clip: sorted(rows, key=lambda r: r[1]) for clip, rows in words.items()}


def check_timings(words: Words, durations: dict[str, float], fps: float) -> None:
    """DataError, before any extraction, when a clip with media has no words or a word lies outside it.

    ``durations``: clip id -> seconds of its media file. A word may end up to one frame (1 / fps) past
    the end (timing tools round); beyond that, or starting at or after the end, it is outside the clip.
    """
    lacking = [clip for clip in durations if not words.get(clip)]
    if lacking:
        raise DataError(
            f"no word timings for {len(lacking)} clip(s) with media, e.g. {lacking[0]!r}; every clip needs "
            "its words (or drop the clip from label.csv)"
        )
    for clip, seconds in durations.items():
        for word, start, end in words[clip]:
            if start >= seconds or end > seconds + 1.0 / fps:
                raise DataError(
                    f"clip {clip!r}: word {word!r} at {start:g}-{end:g} s lies outside the clip "
                    f"({seconds:.2f} s long); fix its timings"
                )


def align(frames: np.ndarray, fps: float, spans: np.ndarray) -> tuple[np.ndarray, int]:
    """(T, D) frames -> ((W, D) per-word means, words filled with their nearest frame) for (W, 2) spans.

    Example:
        >>> frames = np.arange(5.0)[:, None]  # 5 frames at 10/s: centres 0.05, 0.15, ... 0.45 s
        >>> steps, filled = align(frames, 10.0, np.array([[0.0, 0.2], [0.21, 0.22], [0.3, 0.5]]))
        >>> steps[:, 0].tolist(), filled
        ([0.5, 2.0, 3.5], 1)
    """
    if len(frames) == 0:
        raise DataError("a sequence without frames cannot be aligned to words")
    centres = (np.arange(len(frames)) + 0.5) / fps
    out = np.zeros((len(spans), frames.shape[1]), np.float32)
    filled = 0
    for i, (start, end) in enumerate(spans):
        inside = (centres >= start) & (centres < end)
        if inside.any():
            out[i] = frames[inside].mean(axis=0)
        else:
            nearest = min(max(math.floor((start + end) / 2 * fps), 0), len(frames) - 1)
            out[i] = frames[nearest]
            filled += 1
    return out, filled


def media_duration(path: str) -> float | None:
    """Seconds of a media file from ffmpeg's ``Duration:`` line; None for a file ffmpeg cannot read (the
    extraction then skips and reports it)."""
    import re
    import subprocess

    from mifusion.media.decode import ffmpeg

    probe = subprocess.run([ffmpeg(), "-nostdin", "-i", path], capture_output=True, check=False)
    match = re.search(r"Duration:\s*(\d+):(\d+):(\d+(?:\.\d+)?)", probe.stderr.decode("utf-8", "replace"))
    if match is None:
        return None
    hours, minutes, seconds = match.groups()
    return int(hours) * 3600 + int(minutes) * 60 + float(seconds)


def durations(paths: dict[str, Path], workers: int = 4) -> dict[str, float]:
    """clip id -> seconds of each readable file, probed in ``workers`` threads (one ffmpeg run each)."""
    from concurrent.futures import ThreadPoolExecutor

    clips = list(paths)
    with ThreadPoolExecutor(max(workers, 1)) as pool:
        seconds = list(pool.map(lambda c: media_duration(str(paths[c])), clips))
    return {c: s for c, s in zip(clips, seconds, strict=True) if s is not None}
