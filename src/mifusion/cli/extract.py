"""``mifusion data extract``: features from a folder of clips and a label.csv (heavy imports in the handler)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from mifusion.cli.common import add_command


def _fps(text: str) -> float:
    """argparse type: frames per second in (0, 100] (audio descriptors are computed at 100 per second)."""
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not 0 < value <= 100:
        raise argparse.ArgumentTypeError(f"{text!r} is not a frame rate in (0, 100]")
    return value


def _extract(args: argparse.Namespace) -> int:
    from mifusion.cli.common import check_destination, dataset_writer, save_dataset
    from mifusion.data.label_csv import read_label_csv
    from mifusion.errors import ConfigError
    from mifusion.media.extract import Settings, check_installed
    from mifusion.media.run import alignment_path, extract_dataset, plan, report_path

    if args.face_detector != "hog" and not args.vision:
        raise ConfigError(
            f"--face-detector {args.face_detector} needs --vision (faces are only looked for then)"
        )
    settings = Settings(audio=args.audio, fps=args.fps, vision=args.vision, face_detector=args.face_detector)
    check_installed(settings)
    check_destination(args.out, args.to)
    if args.encoder is not None and not (Path(args.encoder) / "config.json").is_file():
        raise ConfigError(f"--encoder {args.encoder}: not a local transformers model folder (no config.json)")
    if (args.align == "words") != (args.words is not None):
        raise ConfigError("--align words and --words FILE go together: the word timings align the frames")
    words = None
    if args.words is not None:
        from mifusion.media.words import read_word_timings

        words = read_word_timings(args.words)
    labels = read_label_csv(args.labels)
    found, missing = plan(args.media_dir, labels)  # refuses an empty match before any work
    print(f"{len(found)} clips with media, {len(missing)} without; {args.workers} worker(s)")
    truncated: list[int] = []

    def save(dataset: Any) -> None:
        if args.encoder is not None:
            from mifusion.encoders.featurize import featurize_text, featurize_words

            if words is not None:
                dataset = featurize_words(dataset, args.encoder, max_tokens=args.max_tokens)
                truncated.append(int(dataset.meta["text_features"]["truncated_words"]))
            else:
                dataset = featurize_text(dataset, args.encoder, max_tokens=args.max_tokens)
        save_dataset(dataset, args.out, args.to)

    dataset, skipped = extract_dataset(
        args.media_dir, labels, args.out, settings, args.workers, progress=not args.quiet,
        keep_cache=args.keep_cache, save=save, words=words,
    )  # fmt: skip
    dims = ", ".join(f"{m} {d}" for m, d in dataset.feature_dims().items())
    sizes = ", ".join(f"{s.name} {len(s)}" for s in dataset)
    print(
        f"wrote {args.out} ({dataset_writer(args.out, args.to)}; {sizes}; features {dims} at {args.fps:g}/s); "
        f"{len(skipped)} clip(s) skipped, listed in {report_path(args.out)}"
    )
    alignment = dataset.meta["extraction"].get("alignment")
    if alignment is not None:
        filled = ", ".join(f"{m} {n}" for m, n in alignment["filled"].items())
        text = f"; {truncated[0]} word(s) past --max-tokens have zero text features" if truncated else ""
        print(
            f"aligned to {alignment['words']} words (one step per word); words without a frame, filled with "
            f"the nearest frame: {filled}{text}; per clip in {alignment_path(args.out)}"
        )
    return 0


def register(data_sub: Any) -> None:
    """Registers ``mifusion data extract`` under ``mifusion data``."""
    from mifusion.cli.common import positive_int

    p = add_command(
        data_sub,
        "extract",
        "extract audio (and face) features from a folder of clips named by a label.csv's ids",
        "  mifusion data extract clips/ --labels clips/label.csv mydata\n"
        "  mifusion data extract clips/ --labels label.csv mydata.pkl --audio librosa --fps 10\n"
        "  mifusion data extract clips/ --labels label.csv mydata --vision --workers 2\n"
        "  mifusion data extract clips/ --labels label.csv mydata --vision --align words --words words.csv\n",
        _extract,
    )
    p.add_argument("media_dir", help="folder of clips: VIDEO_ID/CLIP_ID.EXT or VIDEO_ID$_$CLIP_ID.EXT")
    p.add_argument("out", help="destination: .pkl = MMSA pickle, otherwise a safe-format directory")
    p.add_argument("--labels", required=True, help="MMSA label.csv (video_id, clip_id, text, label, mode)")
    p.add_argument("--to", choices=("mmsa", "safe"), help="output format (default: from OUT's suffix)")
    p.add_argument(
        "--audio", default="egemaps", choices=("egemaps", "compare", "librosa"),
        help="openSMILE eGeMAPSv02 or ComParE_2016 low-level descriptors, or librosa (default egemaps)",
    )  # fmt: skip
    p.add_argument("--fps", type=_fps, default=25.0, help="frames per second of every modality (default 25)")
    p.add_argument("--vision", action="store_true", help="also extract dlib face features (video files)")
    p.add_argument(
        "--face-detector", dest="face_detector", default="hog", choices=("hog", "cnn"),
        help="with --vision: dlib's HOG detector (default) or its CNN (MMOD) detector, slower on a CPU",
    )  # fmt: skip
    p.add_argument(
        "--align", choices=("words",),
        help="average the frames within each word (word-aligned data, one step per word; needs --words)",
    )  # fmt: skip
    p.add_argument(
        "--words", metavar="FILE",
        help="word timings: CSV (video_id,clip_id,word,start,end; seconds in the clip) or CMU-SDK words .csd",
    )  # fmt: skip
    p.add_argument(
        "--workers", type=positive_int, default=1, help="processes; they split the cores (default 1)"
    )
    p.add_argument(
        "--encoder", help="local transformers model: store its text features (default: keep raw text)"
    )
    p.add_argument("--max-tokens", dest="max_tokens", type=positive_int, default=50, help="with --encoder")
    p.add_argument("--keep-cache", dest="keep_cache", action="store_true", help="keep the per-clip cache")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
