"""Clips per second of ``mifusion data extract``'s extractors on CPU, and the share of time per stage.

Clips are made here: espeak-ng speech (``--seconds`` long, different texts and pitches) as .wav files
and, for vision, .mp4 videos of scikit-image's astronaut at 25 frames/s with that speech muxed in. Each
extractor is timed per stage over every clip in one process: decoding (ffmpeg), the audio descriptors
(eGeMAPS, ComParE, librosa) and the face descriptors (dlib detector + landmarks). A last row times the
whole ``run_clips`` loop (cache writes included) with ``--workers`` processes on eGeMAPS. The first clip
of each extractor is a warm-up (library loading, numba compilation) and is not counted.

Usage::

    python benchmarks/extract_speed.py                      # 20 clips of about 4 s, workers 2
    python benchmarks/extract_speed.py --clips 50 --fps 10
    python benchmarks/extract_speed.py --smoke
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import common

TEXTS = ["this movie was really good and I liked it a lot", "the plot was thin and the acting was bad",
         "I do not know what to think about this one", "a wonderful film with a great cast"]  # fmt: skip


def make_clips(folder: Path, n: int, seconds: float, video: bool) -> list[Path]:
    """``n`` espeak-ng clips (wav, or mp4 with the astronaut when ``video``)."""
    import numpy as np

    paths = []
    for i in range(n):
        text = " ".join([TEXTS[i % len(TEXTS)]] * max(1, round(seconds / 2.5)))
        wav = folder / f"clip{i}.wav"
        subprocess.run(["espeak-ng", "-w", str(wav), "-p", str(20 + i % 60), text], check=True)
        if not video:
            paths.append(wav)
            continue
        import imageio.v2 as imageio
        import imageio_ffmpeg
        import skimage.data

        silent, mp4 = folder / f"clip{i}.video.mp4", folder / f"clip{i}.mp4"
        frames = int(25 * wav.stat().st_size / 2 / 22050) + 1  # espeak-ng writes 22.05 kHz 16-bit mono
        with imageio.get_writer(silent, fps=25, codec="libx264", ffmpeg_log_level="error") as writer:
            for _ in range(frames):
                writer.append_data(np.asarray(skimage.data.astronaut()))
        subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-y", "-i", str(silent), "-i", str(wav),
                        "-c:v", "copy", "-c:a", "aac", str(mp4)], check=True)  # fmt: skip
        paths.append(mp4)
    return paths


def time_extractor(name: str, clips: list[Path], fps: float) -> dict[str, Any]:
    """Per-stage seconds over ``clips[1:]`` (``clips[0]`` warms up) for one extractor."""
    from mifusion.media.audio import audio_features
    from mifusion.media.decode import read_audio, read_frames
    from mifusion.media.vision import vision_features

    decode = features = 0.0
    audio_seconds = 0.0
    for i, clip in enumerate(clips):
        t0 = time.perf_counter()
        if name.startswith("vision"):
            frames, size = read_frames(str(clip), fps)
        else:
            samples = read_audio(str(clip))
        t1 = time.perf_counter()
        if name.startswith("vision"):
            vision_features(frames, size, "cnn" if name == "vision-cnn" else "hog")
        else:
            audio_features(samples, name, fps)
        t2 = time.perf_counter()
        if i:
            decode, features = decode + t1 - t0, features + t2 - t1
            if not name.startswith("vision"):
                audio_seconds += len(samples) / 16000
    total, n = decode + features, len(clips) - 1
    return {
        "extractor": name, "clips": n, "clips_per_s": n / total, "decode_share": decode / total,
        "features_share": features / total, "realtime_factor": (audio_seconds / total) if audio_seconds else "",
    }  # fmt: skip


def time_loop(clips: list[Path], fps: float, workers: int, folder: Path) -> dict[str, Any]:
    """The whole per-clip loop of ``data extract`` (eGeMAPS, cache writes) with ``workers`` processes."""
    from mifusion.media.extract import Settings, run_clips

    settings = Settings("egemaps", fps, False)
    cache = folder / f"cache{workers}"
    cache.mkdir()
    jobs = [(f"c{i}", str(p), settings, str(cache)) for i, p in enumerate(clips)]
    start = time.perf_counter()
    run_clips(jobs, workers, progress=False)
    total = time.perf_counter() - start
    return {"extractor": f"egemaps, data extract loop, {workers} workers (incl. start-up)", "clips": len(clips),
            "clips_per_s": len(clips) / total, "decode_share": "", "features_share": "", "realtime_factor": ""}  # fmt: skip


def main(argv: Sequence[str] | None = None) -> list[dict[str, Any]]:
    parser = common.base_parser(__doc__.splitlines()[0])
    parser.add_argument("--clips", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=4.0, help="approximate clip length")
    parser.add_argument("--fps", type=float, default=25.0)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument(
        "--extractors", nargs="*", default=["egemaps", "compare", "librosa", "vision"],
        help="also vision-cnn (dlib's CNN face detector: seconds per frame on a CPU; use few clips, low --fps)",
    )  # fmt: skip
    args = parser.parse_args(argv)
    if args.smoke:
        args.clips, args.seconds, args.extractors = 2, 1.0, ["egemaps", "vision"]
    with tempfile.TemporaryDirectory(prefix="mifusion-extract-") as tmp:
        folder = Path(tmp)
        video = any(name.startswith("vision") for name in args.extractors)
        clips = make_clips(folder, args.clips, args.seconds, video)
        rows = [time_extractor(name, clips, args.fps) for name in args.extractors]
        rows.append(time_loop(clips, args.fps, args.workers, folder))
    common.report("extract_speed", rows, args.out, "mifusion data extract: clips per second (CPU)")
    return rows


if __name__ == "__main__":
    main(sys.argv[1:])
