"""Names and units of every extracted column: the feature manifest stored in a dataset's meta.

Example:
    >>> unit_of("egemaps", "F0semitoneFrom27.5Hz_sma3nz")
    'semitones above 27.5 Hz (0 when unvoiced)'
    >>> [c["name"] for c in columns("librosa")][:3]
    ['f0', 'voiced', 'rms_db']
    >>> unit_of("compare", "mfcc_sma[3]")
    'dimensionless (cepstral coefficient)'
"""

from __future__ import annotations

import re
from typing import Any

AUDIO_EXTRACTORS: tuple[str, ...] = ("egemaps", "compare", "librosa")
"""Audio extractors: openSMILE eGeMAPSv02 and ComParE_2016 low-level descriptors, librosa descriptors."""

EGEMAPS = [
    "Loudness_sma3", "alphaRatio_sma3", "hammarbergIndex_sma3", "slope0-500_sma3", "slope500-1500_sma3",
    "spectralFlux_sma3", "mfcc1_sma3", "mfcc2_sma3", "mfcc3_sma3", "mfcc4_sma3",
    "F0semitoneFrom27.5Hz_sma3nz", "jitterLocal_sma3nz", "shimmerLocaldB_sma3nz", "HNRdBACF_sma3nz",
    "logRelF0-H1-H2_sma3nz", "logRelF0-H1-A3_sma3nz", "F1frequency_sma3nz", "F1bandwidth_sma3nz",
    "F1amplitudeLogRelF0_sma3nz", "F2frequency_sma3nz", "F2bandwidth_sma3nz", "F2amplitudeLogRelF0_sma3nz",
    "F3frequency_sma3nz", "F3bandwidth_sma3nz", "F3amplitudeLogRelF0_sma3nz",
]  # fmt: skip
"""openSMILE 3 eGeMAPSv02 low-level descriptors, in the order the ``opensmile`` package returns them."""

LIBROSA = [
    ("f0", "Hz, librosa.pyin fundamental frequency (0 when unvoiced)"),
    ("voiced", "probability in [0, 1] (pyin voicing)"),
    ("rms_db", "dB relative to full scale (frame RMS)"),
    ("spectral_centroid", "Hz"),
    ("spectral_bandwidth", "Hz"),
    ("spectral_rolloff", "Hz (85% of the spectral energy below)"),
    ("zero_crossing_rate", "fraction of samples in the frame"),
    *[(f"mfcc{i}", "dimensionless (cepstral coefficient)") for i in range(1, 14)],
]
"""librosa descriptors (16 kHz mono, 25 ms frames, 10 ms hop): name and unit."""

_EGEMAPS_UNITS = [
    (r"^Loudness", "sone (auditory-spectrum loudness)"),
    (r"^alphaRatio", "dB (energy 50-1000 Hz over 1-5 kHz)"),
    (r"^hammarbergIndex", "dB (strongest peak 0-2 kHz over 2-5 kHz)"),
    (r"^slope", "dB/Hz (slope of the log power spectrum in the band)"),
    (r"^spectralFlux", "arbitrary (difference of successive normalised spectra)"),
    (r"^mfcc", "dimensionless (cepstral coefficient)"),
    (r"^F0semitone", "semitones above 27.5 Hz (0 when unvoiced)"),
    (r"^jitter", "ratio (period deviation over mean period; 0 when unvoiced)"),
    (r"^shimmer", "dB (amplitude deviation of successive periods; 0 when unvoiced)"),
    (r"^HNR", "dB (harmonics-to-noise ratio; 0 when unvoiced)"),
    (r"^logRelF0", "dB (harmonic amplitude difference; 0 when unvoiced)"),
    (r"^F\dfrequency", "Hz (formant centre; 0 when unvoiced)"),
    (r"^F\dbandwidth", "Hz (formant bandwidth; 0 when unvoiced)"),
    (r"^F\damplitude", "dB relative to the F0 harmonic (0 when unvoiced)"),
]
_COMPARE_UNITS = [
    (r"^F0final", "Hz (0 when unvoiced)"),
    (r"^voicing", "probability in [0, 1]"),
    (r"^jitter", "ratio (period deviation over mean period)"),
    (r"^shimmer", "ratio (amplitude deviation over mean amplitude)"),
    (r"^logHNR", "natural log of the harmonics-to-noise ratio"),
    (r"^pcm_RMSenergy", "linear RMS amplitude (full scale = 1)"),
    (r"^pcm_zcr", "fraction of samples in the frame"),
    (r"(spectralRollOff|spectralCentroid)", "Hz"),
    (r"spectralVariance", "Hz squared"),
    (r"(spectralSkewness|spectralKurtosis|spectralEntropy|spectralHarmonicity)", "dimensionless"),
    (r"psySharpness", "acum"),
    (r"^mfcc", "dimensionless (cepstral coefficient)"),
    (r"(audspec|audSpec|fband|spectralFlux|spectralSlope)", "arbitrary (auditory or FFT spectrum energy)"),
]

VISION_BASE = [
    ("face_present", "1 when a face was detected in the frame, else 0 (all other columns are then 0)"),
    ("face_size", "inter-ocular distance over frame width"),
    ("left_eye_open", "ratio (eyelid opening over eye width)"),
    ("right_eye_open", "ratio (eyelid opening over eye width)"),
    ("left_brow_raise", "inter-ocular distances (brow above eye centre)"),
    ("right_brow_raise", "inter-ocular distances (brow above eye centre)"),
    ("brow_gap", "inter-ocular distances (between the inner brow ends)"),
    ("mouth_open", "inter-ocular distances (inner lips apart)"),
    ("mouth_width", "inter-ocular distances (between the mouth corners)"),
    ("lip_corner_raise", "inter-ocular distances (corners above the lip centre; negative = down)"),
    ("mouth_corner_angle", "degrees (upper and lower lip seen from the left corner)"),
    ("nose_mouth", "inter-ocular distances (nose tip to upper lip)"),
    ("head_roll", "degrees (eye line against the horizontal; positive = clockwise in the image)"),
]
"""Per-frame face descriptors from dlib's 68 landmarks, normalised by the inter-ocular distance."""
VISION_POSE = [
    (
        "head_yaw",
        "degrees (OpenCV solvePnP on a generic 3-D face; positive = turned towards the image's left)",
    ),
    ("head_pitch", "degrees (OpenCV solvePnP on a generic 3-D face; positive = tilted down)"),
]
"""Head pose columns (extractions made before OpenCV joined the ``media`` extra lack them)."""


def unit_of(extractor: str, name: str) -> str:
    """The unit of an openSMILE column (``extractor`` egemaps or compare)."""
    for pattern, unit in _EGEMAPS_UNITS if extractor == "egemaps" else _COMPARE_UNITS:
        if re.search(pattern, name):
            return unit
    return "arbitrary"


def columns(extractor: str, names: list[str] | None = None) -> list[dict[str, str]]:
    """``[{"name", "unit"}]`` of an audio extractor, or of ``vision`` (the pose columns when ``names``
    includes them, as every extraction since OpenCV joined the ``media`` extra does)."""
    if extractor == "librosa":
        return [{"name": n, "unit": u} for n, u in LIBROSA]
    if extractor == "vision":
        pairs = VISION_BASE + (VISION_POSE if names and "head_yaw" in names else [])
        return [{"name": n, "unit": u} for n, u in pairs]
    if extractor == "egemaps" and names is None:
        names = EGEMAPS
    return [{"name": n, "unit": unit_of(extractor, n)} for n in names or []]


def describe(features: dict[str, Any]) -> list[str]:
    """Lines of text for ``mifusion data inspect``: each modality's extractor, rate and columns."""
    lines = []
    for modality, entry in features.items():
        per_word = ", averaged per word" if entry.get("steps") == "words" else ""
        lines.append(
            f"  {modality}: {entry.get('extractor')} at {entry.get('fps')} frames/s{per_word} "
            f"({len(entry.get('columns', []))} columns)"
        )
        for i, col in enumerate(entry.get("columns", [])):
            lines.append(f"    {i:3d} {col.get('name')}: {col.get('unit')}")
    return lines
