"""Media made here, no downloads: espeak-ng speech, silent and broken files, a label.csv over them.

The tests need the ``media`` extra and the ``espeak-ng`` program; without them they skip, except under
``CI`` (set by CI; ``.ci/run`` installs espeak-ng and ``make test`` the extra), where they fail.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import wave
from pathlib import Path

import numpy as np
import pytest

EXTRA = ("opensmile", "librosa", "imageio_ffmpeg", "dlib", "face_recognition_models")
VISION = (*EXTRA, "cv2")
"""What --vision needs besides: OpenCV (head pose)."""


def require(modules: tuple[str, ...] = EXTRA, programs: tuple[str, ...] = ("espeak-ng",)) -> None:
    """Skips (fails under CI) unless the modules import and the programs are on PATH."""
    missing = [m for m in modules if importlib.util.find_spec(m) is None]
    missing += [p for p in programs if shutil.which(p) is None]
    if missing:
        message = f"needs {', '.join(missing)} (pip install 'mifusion[media]'; apt-get install espeak-ng)"
        if os.environ.get("CI"):
            pytest.fail(message + ": the media tests must run in CI")
        pytest.skip(message)


def speak(path: Path, text: str, pitch: int = 50, rate: int = 175) -> Path:
    """Writes espeak-ng's speech of ``text`` (pitch 0-99, rate in words per minute) to a .wav file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        ["espeak-ng", "-w", str(path), "-p", str(pitch), "-s", str(rate), text],
        check=True,
        capture_output=True,
    )
    return path


def silence(path: Path, seconds: float = 1.0) -> Path:
    """A .wav file of digital silence."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(path), "wb") as handle:
        handle.setnchannels(1)
        handle.setsampwidth(2)
        handle.setframerate(16000)
        handle.writeframes(np.zeros(int(16000 * seconds), np.int16).tobytes())
    return path


def label_csv(path: Path, rows: list[tuple[str, str, str, float, str]]) -> Path:
    """An MMSA label.csv of (video_id, clip_id, text, label, mode) rows."""
    lines = ["video_id,clip_id,text,label,annotation,mode"]
    lines += [f"{v},{c},{t},{label},x,{mode}" for v, c, t, label, mode in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def media_ready() -> None:
    require()
