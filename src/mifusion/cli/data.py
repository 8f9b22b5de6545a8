"""``mifusion data``: synth, inspect and convert datasets (heavy imports stay inside the handlers)."""

from __future__ import annotations

import argparse
from typing import Any

from mifusion.cli.common import (
    add_command,
    check_destination,
    dataset_writer,
    positive_int,
    print_json,
    save_dataset,
)


def _synth_params(pairs: list[str]) -> Any:
    """``["shared_strength=2", ...]`` -> SynthParams with those numeric fields replaced (ConfigError if bad)."""
    from dataclasses import fields, replace

    from mifusion.data.synthetic import SynthParams
    from mifusion.errors import ConfigError

    numeric = {f.name: f.type for f in fields(SynthParams) if f.type in ("float", "int", float, int)}
    changes: dict[str, Any] = {}
    for pair in pairs:
        key, _, text = pair.partition("=")
        if key not in numeric:
            raise ConfigError(
                f"--param {pair!r}: unknown generator parameter; use one of {', '.join(numeric)}"
            )
        try:
            changes[key] = int(text) if numeric[key] in ("int", int) else float(text)
        except ValueError:
            raise ConfigError(f"--param {pair!r}: {key} needs a number, e.g. {key}=1") from None
    return replace(SynthParams(), **changes)


def _max_lengths(pairs: list[str]) -> dict[str, int]:
    """``["audio=50", ...]`` -> {"audio": 50}; ConfigError for unknown modalities or bad numbers."""
    from mifusion.errors import ConfigError

    out: dict[str, int] = {}
    for pair in pairs:
        key, _, text = pair.partition("=")
        if key not in ("text", "audio", "vision") or not text.isdigit() or int(text) < 1:
            raise ConfigError(
                f"--max-length {pair!r}: use MODALITY=FRAMES with text, audio or vision, e.g. audio=50"
            )
        out[key] = int(text)
    return out


def _synth(args: argparse.Namespace) -> int:
    from dataclasses import replace

    from mifusion.data.synthetic import generate
    from mifusion.errors import ConfigError
    from mifusion.experiments.validation import check_synth_memory

    params = _synth_params(args.param)
    if args.max_length:
        params = replace(params, max_lengths=_max_lengths(args.max_length))
    if args.n is not None and args.n < 3:
        raise ConfigError(f"--n {args.n}: every split needs a sample; use --n 3 or more")
    layout = args.padding != "right" or args.no_lengths
    if layout and dataset_writer(args.out, args.to) != "mmsa":
        raise ConfigError(
            "--padding left and --no-lengths describe MMSA pickles; write a .pkl (or --to mmsa)"
        )
    check_destination(args.out, args.to)
    check_synth_memory(args.like, args.n, args.aligned, params)
    dataset = generate(
        like=args.like,
        n=args.n,
        seed=args.seed,
        aligned=args.aligned,
        text_from=args.text_from,
        params=params,
    )
    if layout:
        from mifusion.data.synthetic_mmsa import save_mmsa_layout

        save_mmsa_layout(dataset, args.out, args.padding, lengths=not args.no_lengths)
        kind = f"mmsa, {args.padding}-padded, {'no ' if args.no_lengths else ''}length arrays"
    else:
        kind = save_dataset(dataset, args.out, args.to)
    sizes = ", ".join(f"{s.name} {len(s)}" for s in dataset)
    print(f"wrote {args.out} ({kind}; {sizes}; modalities {', '.join(dataset.modalities)})")
    return 0


def _inspect(args: argparse.Namespace) -> int:
    from mifusion.data.io import load_dataset
    from mifusion.data.summary import format_summary, summarize

    info = summarize(load_dataset(args.path, args.format, strict=args.strict, folds=args.folds))
    if args.json:
        print_json(info)
    else:
        print(format_summary(info))
    return 0


def _convert(args: argparse.Namespace) -> int:
    from mifusion.data.io import load_dataset

    check_destination(args.dst, args.to)
    dataset = load_dataset(args.src, args.format, strict=args.strict, folds=args.folds)
    kind = save_dataset(dataset, args.dst, args.to)
    print(f"wrote {args.dst} ({kind})")
    return 0


def _featurize(args: argparse.Namespace) -> int:
    from mifusion.data.io import load_dataset
    from mifusion.encoders.featurize import featurize_text

    check_destination(args.dst, args.to)

    if args.threads is not None:
        import torch

        torch.set_num_threads(args.threads)
    dataset = load_dataset(args.src, args.format, strict=args.strict, folds=args.folds)
    out = featurize_text(
        dataset,
        args.encoder,
        max_tokens=args.max_tokens,
        pooling=args.pooling,
        batch_size=args.batch_size,
        progress=lambda name, n: print(f"  {name}: {n} samples encoded"),
    )
    kind = save_dataset(out, args.dst, args.to)
    dim = out.feature_dims()["text"]
    print(f"wrote {args.dst} ({kind}; text features {args.pooling}, {dim}-d, from {args.encoder})")
    return 0


def _source_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--format", default="auto", choices=("auto", "mmsa", "label_csv", "safe", "csd"))
    parser.add_argument("--strict", action="store_true", help="refuse non-finite features instead of zeroing")
    parser.add_argument("--folds", help=".csd only: JSON or text file of video ids per split")


def register(sub: Any) -> None:
    """Registers ``mifusion data synth|inspect|convert|featurize``."""
    data = sub.add_parser(
        "data",
        help="create, inspect and convert datasets",
        description="Dataset tools: synth, inspect, convert, featurize, extract ('mifusion data ACTION --help').",
        epilog="examples:\n"
        "  mifusion data synth demo.pkl --n 600\n"
        "  mifusion data inspect demo.pkl --strict\n"
        "  mifusion data convert demo.pkl demo_safe\n"
        "  mifusion data featurize data/mosi_text/label.csv mosi_minilm --encoder /models/all-MiniLM-L6-v2\n"
        "  mifusion data extract clips/ --labels clips/label.csv mydata\n",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    data_sub = data.add_subparsers(dest="data_command", metavar="ACTION")
    data.set_defaults(handler=lambda _args: data.print_help() or 0)

    synth = add_command(
        data_sub,
        "synth",
        "write a deterministic synthetic dataset with known structure",
        "  mifusion data synth demo.pkl\n"
        "  mifusion data synth mosei_like --like mosei --n 2000 --seed 1 --aligned\n"
        "  mifusion data synth mosi_semi.pkl --text-from data/mosi_text/label.csv\n"
        "  mifusion data synth shared.pkl --n 800 --param shared_strength=2 --param private_strength=0.1\n"
        "  mifusion data synth left.pkl --aligned --padding left --no-lengths\n"
        "  mifusion data synth inf.pkl --max-length audio=60 --param nonfinite_audio_rate=0.02\n",
        _synth,
    )
    synth.add_argument("out", help="output: .pkl = MMSA pickle, otherwise a safe-format directory")
    synth.add_argument("--like", default="mosi", choices=("mosi", "mosei", "sims"))
    synth.add_argument("--seed", type=int, default=0)
    synth.add_argument("--n", type=int, default=None, help="number of samples (default: the real size)")
    synth.add_argument("--aligned", action="store_true", help="one length per sample for all modalities")
    synth.add_argument(
        "--text-from", dest="text_from", help="label.csv whose transcripts/labels/folds to use"
    )
    synth.add_argument("--to", choices=("mmsa", "safe"), help="output format (default: from OUT's suffix)")
    synth.add_argument(
        "--param",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="override a numeric generator parameter (SynthParams, docs/synthetic.md); repeatable",
    )
    synth.add_argument(
        "--max-length", dest="max_length", action="append", default=[], metavar="MODALITY=FRAMES",
        help="padded length of a modality (default: the like dataset's); repeatable",
    )  # fmt: skip
    synth.add_argument(
        "--padding", choices=("right", "left"), default="right",
        help="MMSA pickle: where audio/vision padding goes (left = valid frames at the end, MulT-era files)",
    )  # fmt: skip
    synth.add_argument(
        "--no-lengths", dest="no_lengths", action="store_true",
        help="MMSA pickle: omit the *_lengths arrays (readers infer lengths from all-zero frames)",
    )  # fmt: skip

    inspect = add_command(
        data_sub,
        "inspect",
        "show format, splits, modalities, lengths, labels and problems of a dataset",
        "  mifusion data inspect demo.pkl\n"
        "  mifusion data inspect data/mosi_text/label.csv --json\n"
        "  mifusion data inspect unaligned_50.pkl --strict\n",
        _inspect,
    )
    inspect.add_argument("path", help=".pkl, label .csv, safe-format directory or .csd directory")
    inspect.add_argument("--json", action="store_true", help="machine-readable output")
    _source_options(inspect)

    convert = add_command(
        data_sub,
        "convert",
        "convert any readable dataset to the MMSA pickle layout or mifusion's safe format",
        "  mifusion data convert unaligned_50.pkl mosi_safe\n"
        "  mifusion data convert mosi_safe mosi.pkl --to mmsa\n",
        _convert,
    )
    convert.add_argument("src")
    convert.add_argument("dst", help="destination: .pkl = MMSA pickle, otherwise a safe-format directory")
    convert.add_argument("--to", choices=("mmsa", "safe"), help="output format (default: from DST's suffix)")
    _source_options(convert)

    featurize = add_command(
        data_sub,
        "featurize",
        "store a frozen local text encoder's token states as precomputed text features",
        "  mifusion data featurize data/mosi_text/label.csv mosi_minilm --encoder /models/all-MiniLM-L6-v2\n"
        "  mifusion data synth semi --text-from data/mosi_text/label.csv\n"
        "  mifusion data featurize semi semi_minilm --encoder /models/all-MiniLM-L6-v2 --pooling cls\n",
        _featurize,
    )
    featurize.add_argument(
        "src", help="a dataset with raw text (label .csv, .pkl with raw_text, safe directory)"
    )
    featurize.add_argument("dst", help="destination: .pkl = MMSA pickle, otherwise a safe-format directory")
    featurize.add_argument(
        "--encoder", required=True, help="local transformers model directory (no downloads)"
    )
    featurize.add_argument("--pooling", default="tokens", choices=("tokens", "cls", "mean"))
    featurize.add_argument(
        "--max-tokens", dest="max_tokens", type=int, default=50, help="[CLS] and [SEP] included"
    )
    featurize.add_argument("--batch-size", dest="batch_size", type=positive_int, default=64)
    featurize.add_argument(
        "--threads", type=positive_int, default=None, help="CPU threads (default: torch's)"
    )
    featurize.add_argument(
        "--to", choices=("mmsa", "safe"), help="output format (default: from DST's suffix)"
    )
    _source_options(featurize)

    from mifusion.cli.extract import register as register_extract

    register_extract(data_sub)
