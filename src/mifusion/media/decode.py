"""Audio and video decoding through the ffmpeg binary that ``imageio-ffmpeg`` ships (no system ffmpeg)."""

from __future__ import annotations

import subprocess

import numpy as np

SAMPLE_RATE = 16000
"""Audio is decoded to mono float32 at this rate (openSMILE's and librosa's settings assume it)."""


class BadClip(Exception):
    """A clip that cannot give features (unreadable, no audio, silent, no face); skipped and reported."""


def ffmpeg() -> str:
    """Path of the bundled ffmpeg binary."""
    import imageio_ffmpeg

    return str(imageio_ffmpeg.get_ffmpeg_exe())


def _run(command: list[str]) -> bytes:
    result = subprocess.run(command, capture_output=True, check=False)
    if result.returncode != 0:
        lines = result.stderr.decode("utf-8", "replace").strip().splitlines()
        raise BadClip(f"unreadable ({lines[-1] if lines else 'ffmpeg failed'})")
    return result.stdout


def read_audio(path: str) -> np.ndarray:
    """The file's first audio stream as mono float32 samples at :data:`SAMPLE_RATE` (BadClip if none)."""
    raw = _run(
        [ffmpeg(), "-nostdin", "-v", "error", "-i", path, "-vn", "-ac", "1", "-ar", str(SAMPLE_RATE),
         "-f", "f32le", "-"]
    )  # fmt: skip
    samples = np.frombuffer(raw, dtype="<f4").astype(np.float32)
    if samples.size == 0:
        raise BadClip("no audio stream")
    return samples


def check_not_silent(samples: np.ndarray, floor_db: float = -60.0) -> None:
    """BadClip("silent") when the clip's RMS level is below ``floor_db`` dB relative to full scale."""
    rms = float(np.sqrt(np.mean(np.square(samples, dtype=np.float64))))
    if rms <= 10 ** (floor_db / 20):
        level = "-inf" if rms == 0 else f"{20 * np.log10(rms):.1f}"
        raise BadClip(f"silent (RMS {level} dBFS, below {floor_db:g})")


def read_frames(path: str, fps: float) -> tuple[np.ndarray, tuple[int, int]]:
    """The video's frames resampled to ``fps`` as (T, H, W) uint8 grey images, and the frame size."""
    probe = subprocess.run(
        [ffmpeg(), "-nostdin", "-i", path], capture_output=True, check=False
    ).stderr.decode("utf-8", "replace")
    size = None
    for line in probe.splitlines():
        if "Video:" in line:
            for token in line.replace(",", " ").split():
                w, _, h = token.partition("x")
                if w.isdigit() and h.isdigit() and int(w) > 0 and int(h) > 0:
                    size = (int(w), int(h))
                    break
            break
    if size is None:
        raise BadClip("no video stream")
    raw = _run(
        [ffmpeg(), "-nostdin", "-v", "error", "-i", path, "-an", "-vf", f"fps={fps}", "-pix_fmt", "gray",
         "-f", "rawvideo", "-"]
    )  # fmt: skip
    width, height = size
    frames = np.frombuffer(raw, dtype=np.uint8)
    count = frames.size // (width * height)
    if count == 0:
        raise BadClip("no video frames")
    return frames[: count * width * height].reshape(count, height, width), size


def pool_frames(values: np.ndarray, rate: float, fps: float) -> np.ndarray:
    """(N, D) frames at ``rate`` per second -> (ceil(N * fps / rate), D) means over 1/fps-second bins.

    Example:
        >>> pool_frames(np.arange(10.0)[:, None], rate=100, fps=50)[:, 0].tolist()
        [0.5, 2.5, 4.5, 6.5, 8.5]
    """
    n = len(values)
    bins = np.floor(np.arange(n) * fps / rate + 1e-9).astype(np.int64)
    count = int(bins[-1]) + 1 if n else 0
    sums = np.zeros((count, values.shape[1]), np.float64)
    np.add.at(sums, bins, values)
    return (sums / np.bincount(bins, minlength=count)[:, None]).astype(np.float32)
