"""Audio descriptors per clip: openSMILE low-level descriptors (eGeMAPS, ComParE) or librosa.

Every extractor returns (T, D) float32 frames at the requested rate (means over 1/fps-second bins of its
native 100 frames/s) with the column names of :mod:`mifusion.data.feature_manifest`.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import numpy as np

from mifusion.media.decode import SAMPLE_RATE, pool_frames

NATIVE_RATE = 100.0
"""Frames per second before pooling: openSMILE's 10 ms hop, and librosa's hop of 160 samples."""


@lru_cache(maxsize=2)
def _smile(extractor: str) -> Any:
    import opensmile

    feature_set = {
        "egemaps": opensmile.FeatureSet.eGeMAPSv02,
        "compare": opensmile.FeatureSet.ComParE_2016,
    }[extractor]
    return opensmile.Smile(feature_set=feature_set, feature_level=opensmile.FeatureLevel.LowLevelDescriptors)


def opensmile_names(extractor: str) -> list[str]:
    """Column names of an openSMILE feature set, as the installed ``opensmile`` reports them."""
    return list(_smile(extractor).feature_names)


def _opensmile(samples: np.ndarray, extractor: str) -> np.ndarray:
    frame = _smile(extractor).process_signal(samples, SAMPLE_RATE)
    return np.nan_to_num(frame.to_numpy(dtype=np.float64), nan=0.0, posinf=0.0, neginf=0.0)


def _librosa(samples: np.ndarray) -> np.ndarray:
    import librosa

    hop, win = 160, 400  # 10 ms hop, 25 ms window at 16 kHz
    f0, _, voiced = librosa.pyin(
        samples, fmin=60.0, fmax=500.0, sr=SAMPLE_RATE, frame_length=1024, hop_length=hop, center=True
    )
    stft = np.abs(librosa.stft(samples, n_fft=512, hop_length=hop, win_length=win, center=True))
    rms = librosa.feature.rms(S=stft, frame_length=512, hop_length=hop)[0]
    parts = [
        np.nan_to_num(f0, nan=0.0),
        np.nan_to_num(voiced, nan=0.0),
        20 * np.log10(np.maximum(rms, 1e-5)),
        librosa.feature.spectral_centroid(S=stft, sr=SAMPLE_RATE)[0],
        librosa.feature.spectral_bandwidth(S=stft, sr=SAMPLE_RATE)[0],
        librosa.feature.spectral_rolloff(S=stft, sr=SAMPLE_RATE, roll_percent=0.85)[0],
        librosa.feature.zero_crossing_rate(samples, frame_length=win, hop_length=hop, center=True)[0],
    ]
    mfcc = librosa.feature.mfcc(
        y=samples, sr=SAMPLE_RATE, n_mfcc=13, n_fft=512, hop_length=hop, win_length=win, n_mels=40
    )
    n = min(min(len(p) for p in parts), mfcc.shape[1])
    stacked = np.concatenate([np.stack([p[:n] for p in parts], axis=1), mfcc[:, :n].T], axis=1)
    return np.nan_to_num(stacked.astype(np.float64), nan=0.0, posinf=0.0, neginf=0.0)


def audio_features(samples: np.ndarray, extractor: str, fps: float) -> np.ndarray:
    """(T, D) float32 descriptors of mono ``samples`` at :data:`SAMPLE_RATE`, pooled to ``fps``."""
    native = _librosa(samples) if extractor == "librosa" else _opensmile(samples, extractor)
    return pool_frames(native, NATIVE_RATE, fps)
