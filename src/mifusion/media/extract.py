"""The extraction loop: find each label.csv clip's media file, extract its features (cached per clip so
that a killed run resumes), skip and report bad clips, and assemble a :class:`MultimodalDataset`.

Media lookup: a clip ``video_id$_$clip_id`` is ``MEDIA_DIR/video_id/clip_id.EXT`` or
``MEDIA_DIR/video_id$_$clip_id.EXT`` with EXT one of :data:`EXTENSIONS`.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import json
import os
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import numpy as np

from mifusion.data.dataset import MultimodalDataset, SplitData
from mifusion.errors import ConfigError, DataError
from mifusion.media.decode import SAMPLE_RATE
from mifusion.writers import atomic_write_bytes

VIDEO = (".mp4", ".mkv", ".avi", ".mov", ".webm", ".mpg", ".mpeg", ".m4v")
AUDIO = (".wav", ".flac", ".mp3", ".m4a", ".ogg", ".opus", ".aac")
EXTENSIONS = VIDEO + AUDIO


@dataclass(frozen=True)
class Settings:
    """What is extracted: the audio extractor, the frame rate of every modality, vision on/off and its face
    detector (``hog`` or ``cnn``; part of the cache key like every field)."""

    audio: str = "egemaps"
    fps: float = 25.0
    vision: bool = False
    face_detector: str = "hog"


def _needed(settings: Settings) -> dict[str, str]:
    modules = {"imageio_ffmpeg": "imageio-ffmpeg"}
    modules.update({"librosa": "librosa"} if settings.audio == "librosa" else {"opensmile": "opensmile"})
    if settings.vision:
        modules.update(
            {
                "dlib": "dlib-bin",
                "face_recognition_models": "face-recognition-models",
                "cv2": "opencv-python-headless",
            }
        )
    return modules


def check_installed(settings: Settings) -> None:
    """ConfigError naming the missing packages of the ``media`` extra (checked without importing)."""
    missing = [pkg for mod, pkg in _needed(settings).items() if importlib.util.find_spec(mod) is None]
    if missing:
        raise ConfigError(
            f"feature extraction needs {', '.join(missing)}; install the extra: pip install 'mifusion[media]'"
        )


def versions(settings: Settings) -> dict[str, str]:
    """Installed versions of the packages these settings use (stored in the meta and the cache key)."""
    out = {}
    for package in _needed(settings).values():
        try:
            out[package] = version(package)
        except PackageNotFoundError:
            out[package] = "unknown"
    return out


def media_index(media_dir: Path) -> dict[str, Path]:
    """``video_id$_$clip_id`` -> media file, from both layouts (video files preferred over audio)."""
    found: dict[str, Path] = {}
    rank = {ext: i for i, ext in enumerate(EXTENSIONS)}
    candidates = [(p, p.stem) for p in media_dir.iterdir() if p.is_file()]
    for folder in (d for d in media_dir.iterdir() if d.is_dir()):
        candidates += [(p, f"{folder.name}$_${p.stem}") for p in folder.iterdir() if p.is_file()]
    for path, key in sorted(candidates, key=lambda c: (c[1], rank.get(c[0].suffix.lower(), 99))):
        if path.suffix.lower() in rank:
            found.setdefault(key, path)
    return found


def clip_features(path: str, settings: Settings) -> dict[str, np.ndarray]:
    """{"audio": (T, D), "vision": (T, D)} of one media file; BadClip for an unusable clip."""
    from mifusion.media.audio import audio_features
    from mifusion.media.decode import check_not_silent, read_audio

    samples = read_audio(path)
    check_not_silent(samples)
    out = {"audio": audio_features(samples, settings.audio, settings.fps)}
    if settings.vision:
        from mifusion.media.decode import read_frames
        from mifusion.media.vision import vision_features

        frames, size = read_frames(path, settings.fps)
        out["vision"] = vision_features(frames, size, settings.face_detector)
    return out


def _cached(job: tuple[str, str, Settings, str]) -> tuple[str, dict[str, np.ndarray] | str]:
    """One clip through the cache: (clip id, features or the reason it was skipped)."""
    from mifusion.media.decode import BadClip

    clip, path, settings, cache = job
    entry = Path(cache) / (hashlib.sha1(clip.encode()).hexdigest() + ".npz")
    if entry.is_file():
        try:
            with np.load(entry, allow_pickle=False) as stored:
                if "skipped" in stored:
                    return clip, str(stored["skipped"])
                return clip, {k: stored[k] for k in stored.files}
        except (OSError, ValueError):
            pass  # a damaged entry: extract again
    try:
        result: dict[str, np.ndarray] | str = clip_features(path, settings)
    except BadClip as err:
        result = str(err)
    arrays: dict[str, Any] = {"skipped": np.asarray(result)} if isinstance(result, str) else dict(result)
    atomic_write_bytes(entry, lambda handle: np.savez(handle, **arrays))
    return clip, result


@contextlib.contextmanager
def _thread_env(threads: int) -> Iterator[None]:
    """Worker processes inherit this environment: ``threads`` BLAS/OpenMP threads each."""
    names = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "NUMBA_NUM_THREADS")
    old = {n: os.environ.get(n) for n in names}
    os.environ.update({n: str(threads) for n in names})
    try:
        yield
    finally:
        for name, value in old.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def run_clips(
    jobs: list[tuple[str, str, Settings, str]], workers: int, progress: bool
) -> dict[str, dict[str, np.ndarray] | str]:
    """Every job's result, with ``workers`` processes splitting the cores (1 = in this process)."""
    from tqdm import tqdm

    from mifusion.training.threads import available_cores, worker_threads

    results: dict[str, dict[str, np.ndarray] | str] = {}
    bar = tqdm(total=len(jobs), unit="clip", desc="extract", disable=not progress)
    if workers <= 1:
        for job in jobs:
            clip, result = _cached(job)
            results[clip] = result
            bar.update()
    else:
        import multiprocessing

        with (
            _thread_env(worker_threads(available_cores(), workers)),
            ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool,
        ):
            for clip, result in pool.map(_cached, jobs, chunksize=1):
                results[clip] = result
                bar.update()
    bar.close()
    return results


def _features(result: dict[str, np.ndarray] | str) -> dict[str, np.ndarray]:
    assert not isinstance(result, str)
    return result


def _pad(arrays: list[np.ndarray], frames: int) -> np.ndarray:
    out = np.zeros((len(arrays), frames, arrays[0].shape[1]), np.float32)
    for i, a in enumerate(arrays):
        out[i, : len(a)] = a
    return out


def assemble(
    labels: MultimodalDataset, results: dict[str, dict[str, np.ndarray] | str], modalities: list[str]
) -> MultimodalDataset:
    """The label dataset with the extracted sequences; clips with a string result are left out."""
    longest = {m: max(len(r[m]) for r in results.values() if not isinstance(r, str)) for m in modalities}
    splits = {}
    for split in labels:
        keep = np.array([not isinstance(results.get(str(i), "missing"), str) for i in split.ids])
        if not keep.any():
            raise DataError(
                f"split {split.name!r}: every clip was skipped (see the report); nothing to train on"
            )
        part: SplitData = split.subset(np.flatnonzero(keep))
        for m in modalities:
            arrays = [_features(results[str(i)])[m] for i in part.ids]
            part.sequences[m] = _pad(arrays, longest[m])
            part.lengths[m] = np.asarray([len(a) for a in arrays], np.int64)
        splits[split.name] = part
    return MultimodalDataset(splits=splits, meta=dict(labels.meta))


def cache_dir(out: Path, settings: Settings) -> Path:
    """``.OUT.extract-cache/KEY`` beside OUT, KEY a hash of the settings and the package versions."""
    key = json.dumps({"settings": asdict(settings), "versions": versions(settings)}, sort_keys=True)
    digest = hashlib.sha1(key.encode()).hexdigest()[:12]
    return out.parent / f".{out.name}.extract-cache" / digest


def manifest(settings: Settings, aligned: bool = False) -> dict[str, Any]:
    """meta["features"]: each extracted modality's extractor, frame rate and columns (name, unit); with
    ``aligned``, ``"steps": "words"`` (frames averaged per word) instead of ``"frames"``."""
    from mifusion.data.feature_manifest import columns

    if settings.audio == "librosa":
        audio_cols = columns("librosa")
    else:
        from mifusion.media.audio import opensmile_names

        audio_cols = columns(settings.audio, opensmile_names(settings.audio))
    out: dict[str, Any] = {
        "audio": {
            "extractor": settings.audio,
            "fps": settings.fps,
            "sample_rate": SAMPLE_RATE,
            "steps": "words" if aligned else "frames",
            "columns": audio_cols,
        }
    }
    if settings.vision:
        from mifusion.media.vision import column_names

        out["vision"] = {
            "extractor": "dlib-68",
            "face_detector": settings.face_detector,
            "fps": settings.fps,
            "steps": "words" if aligned else "frames",
            "columns": columns("vision", column_names()),
        }
    return out
