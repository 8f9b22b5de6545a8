"""One-clip inference: a trained run's prediction for a new media file and its transcript.

The clip is extracted with the settings of the features the run was trained on: the manifest
(``meta["features"]``) and text encoder (``meta["text_features"]``) of the dataset at the run's
``data.path``, which therefore has to be where it was at training time.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from mifusion.data.dataset import MultimodalDataset, SplitData
from mifusion.errors import DataError


def _training_meta(run: Any, run_dir: Path) -> dict[str, Any]:
    from mifusion.data.io import load_dataset

    path = run.cfg.data.path
    if path is None:
        raise DataError(
            f"{run_dir}: trained on the built-in synthetic data, not on features from 'mifusion data "
            "extract'; a clip can only be scored by a run trained on extracted features"
        )
    if not Path(path).exists():
        raise DataError(
            f"{run_dir}: its training data {path} is gone; its extraction settings are read there"
        )
    meta = load_dataset(path, "auto", strict=False).meta
    if not meta.get("features"):
        raise DataError(
            f"{run_dir}: trained on {path}, whose features are not from 'mifusion data extract' (no feature "
            "manifest); a clip's features would be of another kind"
        )
    return meta


def clip_words(path: str | Path, clip: Path) -> list[tuple[str, float, float]]:
    """The word timings of one clip from a timings file (:func:`mifusion.media.words.read_word_timings`):
    its only clip, or the entry named like the clip file (``VIDEO/CLIP.ext`` or ``VIDEO$_$CLIP.ext``)."""
    from mifusion.media.words import read_word_timings

    words = read_word_timings(path)
    if len(words) == 1:
        return next(iter(words.values()))
    for key in (f"{clip.parent.name}$_${clip.stem}", clip.stem):
        if key in words:
            return words[key]
    raise DataError(
        f"{path}: {len(words)} clips' timings and none named {clip.parent.name}$_${clip.stem}; give a file "
        "with this clip's words only, or name its rows by the clip"
    )


def predict_clip(
    run_dir: str | Path,
    clip: str | Path,
    text: str | None,
    seed: int | None = None,
    words: list[tuple[str, float, float]] | None = None,
) -> dict[str, Any]:
    """{"prediction": mean over seeds, "seeds": {seed: prediction}, "settings": ...} for one clip.

    A run trained on word-aligned features (``data extract --align words``) needs the clip's ``words``
    (word, start, end); its transcript is then the word sequence and ``text`` must be None.

    Raises:
        DataError: the run was not trained on extracted features, the clip gives none (silent,
            unreadable, no face when the run used vision), or words are missing / not wanted / outside it.
    """
    from mifusion.experiments.commands import finite_predictions, load_runs
    from mifusion.media.decode import BadClip
    from mifusion.media.extract import Settings, check_installed, clip_features

    run_dir, clip = Path(run_dir), Path(clip)
    if not clip.is_file():
        raise DataError(f"{clip}: no such media file; give the path of a video or audio clip")
    runs = load_runs(run_dir, seed)
    meta = _training_meta(runs[0], run_dir)
    features = meta["features"]
    settings = Settings(audio=features["audio"]["extractor"], fps=float(features["audio"]["fps"]),
                        vision="vision" in features,
                        face_detector=features.get("vision", {}).get("face_detector", "hog"))  # fmt: skip
    aligned = any(entry.get("steps") == "words" for entry in features.values())
    if aligned and words is None:
        raise DataError(
            f"{run_dir}: trained on word-aligned features (data extract --align words); give the clip's word "
            "timings: --words FILE"
        )
    if not aligned and words is not None:
        raise DataError(f"{run_dir}: trained on frame-level features, not word-aligned ones; drop --words")
    if aligned and text is not None:
        raise DataError("on a word-aligned run the transcript is the word sequence of --words; drop --text")
    check_installed(settings)
    if words is not None:
        from mifusion.media.words import check_timings, media_duration

        seconds = media_duration(str(clip))
        check_timings({clip.stem: words}, {clip.stem: seconds} if seconds is not None else {}, settings.fps)
    try:
        sequences = clip_features(str(clip), settings)
    except BadClip as err:
        raise DataError(f"{clip}: {err}; no prediction") from None
    for m, seq in sequences.items():  # e.g. vision with head yaw/pitch here, trained before they existed
        trained = len(features[m]["columns"])
        if seq.shape[-1] != trained:
            raise DataError(
                f"{clip}: {m} gives {seq.shape[-1]} columns here but the run was trained on {trained}; "
                "extract the training data again with this version (vision gained head yaw/pitch columns)"
            )
    if words is not None:
        from mifusion.media.words import align

        if not words:
            raise DataError(f"{clip}: no words in the timings (only pauses); nothing to align to")
        spans = np.asarray([(start, end) for _, start, end in words], np.float64)
        sequences = {m: align(seq, settings.fps, spans)[0] for m, seq in sequences.items()}
        text = " ".join(w for w, _, _ in words)
    assert text is not None
    splits = {
        name: SplitData(
            name=name,
            ids=np.asarray([clip.stem]),
            labels=np.zeros(1, np.float32),
            sequences={m: s[None].astype(np.float32) for m, s in sequences.items()},
            lengths={m: np.asarray([len(s)], np.int64) for m, s in sequences.items()},
            raw_text=[text],
        )
        for name in ("train", "valid", "test")
    }
    keep = ("aligned", "label_range", "tokenizer", "features")
    dataset = MultimodalDataset(splits, meta={"source": str(clip), **{k: meta[k] for k in keep if k in meta}})
    text_features = meta.get("text_features")
    if text_features:
        from mifusion.encoders.featurize import featurize_text, featurize_words

        if text_features["pooling"] == "words":
            dataset = featurize_words(dataset, text_features["encoder"], text_features["max_tokens"])
        else:
            dataset = featurize_text(
                dataset, text_features["encoder"], text_features["max_tokens"], text_features["pooling"]
            )
    per_seed = {
        run.seed: float(
            finite_predictions(run.predict_split(run.prepare(dataset)["test"]), run, "test").prediction[0]
        )
        for run in runs
    }
    return {
        "clip": str(clip),
        "prediction": float(np.mean(list(per_seed.values()))),
        "seeds": per_seed,
        "settings": {"audio": settings.audio, "fps": settings.fps, "vision": settings.vision,
                     "text_encoder": text_features["encoder"] if text_features else None},
    }  # fmt: skip
