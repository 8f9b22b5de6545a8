"""Subcommands ``train``, ``evaluate``, ``predict``, ``explain`` and ``compare`` (thin: parse, call)."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path
from typing import Any

from mifusion.cli.common import add_command, print_json
from mifusion.errors import ConfigError

log = logging.getLogger(__name__)

FIT_STEPS = 1500
"""Default of ``explain --refit-steps`` (mifusion.evaluation.statistics_network.FitSettings.steps)."""


def _progress(args: argparse.Namespace) -> bool:
    return not args.quiet and sys.stderr.isatty()


def _flag_overrides(args: argparse.Namespace) -> list[str]:
    """The --data/--model/--penalty/--modalities/--seeds flags as config overrides."""
    overrides: list[str] = []
    if args.data:
        overrides.append(f"data.path={args.data}")
    if args.model:
        overrides.append(f"model.name={args.model}")
    if args.penalty:
        overrides.append(f"penalty.estimator={args.penalty}")
    if args.modalities:
        overrides.append(f"data.modalities=[{args.modalities}]")
    if args.seeds:
        overrides.append(f"train.seeds=[{','.join(str(s) for s in args.seeds)}]")
    return overrides


def _config(args: argparse.Namespace) -> Any:
    from mifusion.presets import resolve

    return resolve(args.preset, args.config, [*_flag_overrides(args), *args.set])


def _resume_config(args: argparse.Namespace) -> tuple[Any, Path]:
    """The saved config of ``--resume DIR`` with the flags and --set applied (checked against it later)."""
    from mifusion.config import load
    from mifusion.errors import ConfigError

    out = Path(args.resume)
    for flag, value in (
        ("--preset", args.preset),
        ("--config", args.config),
        ("--overwrite", args.overwrite),
    ):
        if value:
            raise ConfigError(
                f"--resume continues the run's own config; drop {flag} (change settings with --set)"
            )
    if args.out and Path(args.out) != out:
        raise ConfigError(f"--resume {out} writes into {out}; drop --out {args.out}")
    if not (out / "config.yaml").is_file():
        raise ConfigError(f"{out}: nothing to resume (no config.yaml); check the run directory")
    return load(out / "config.yaml", [*_flag_overrides(args), *args.set]), out


def train(args: argparse.Namespace) -> int:
    """Handler of ``mifusion train``."""
    library_logger = logging.getLogger("mifusion")
    previous_level = library_logger.level
    if args.quiet:
        library_logger.setLevel(logging.WARNING)
    try:
        return _train(args)
    finally:
        library_logger.setLevel(previous_level)


def _train(args: argparse.Namespace) -> int:
    from datetime import datetime, timezone

    from mifusion.evaluation.reports import experiment_table
    from mifusion.experiments.runner import run_experiment

    if args.resume:
        cfg, out = _resume_config(args)
    else:
        cfg = _config(args)
        stamp = datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S")
        out = Path(args.out or f"runs/{cfg.model.name}-{stamp}")
    result = run_experiment(
        cfg, out, resume=bool(args.resume), overwrite=args.overwrite, checkpoint_every=args.checkpoint_every,
        progress=_progress(args),
    )  # fmt: skip
    from mifusion.training.distributed import world

    if world()[0] != 0:  # torchrun: only rank 0 reports
        return 0
    print(f"Test metrics ({len(result.runs)} seed(s); checkpoint selected on validation):")
    print(experiment_table(result, "test"))
    print(f"run directory: {out}")
    return 0


def evaluate(args: argparse.Namespace) -> int:
    """Handler of ``mifusion evaluate``."""
    from mifusion.experiments.commands import evaluate_run

    report = evaluate_run(Path(args.run_dir), args.data, args.split, args.robustness)
    if args.json:
        print_json(report.data)
    else:
        print(report.text)
    return 0


def predict(args: argparse.Namespace) -> int:
    """Handler of ``mifusion predict``."""
    from mifusion.experiments.commands import predict_file
    from mifusion.media.extract import EXTENSIONS

    if Path(args.data).suffix.lower() in EXTENSIONS:  # one clip: extracted like the run's training data
        return _predict_clip(args)
    if args.text is not None or args.words is not None or args.out is None:
        raise ConfigError(
            "predict on a dataset needs --out CSV (and takes no --text or --words: they are for one clip)"
        )
    count = predict_file(Path(args.run_dir), args.data, Path(args.out), args.split, args.seed)
    which = f"seed {args.seed}" if args.seed is not None else "mean over the run's seeds"
    print(f"wrote {count} predictions for the {args.split} split of {args.data} ({which}) to {args.out}")
    return 0


def _transcript(text: str) -> str:
    """argparse type: the text itself, or @FILE for the contents of FILE."""
    if not text.startswith("@"):
        return text
    try:
        return Path(text[1:]).read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as err:
        raise argparse.ArgumentTypeError(f"cannot read the transcript file {text[1:]!r} ({err})") from None


def _predict_clip(args: argparse.Namespace) -> int:
    from mifusion.media.predict import clip_words, predict_clip

    if args.text is None and args.words is None:
        raise ConfigError(
            f"{args.data}: one clip needs its transcript: --text 'WHAT IS SAID' (or --text @FILE; "
            "--words FILE for a run trained on word-aligned features)"
        )
    words = clip_words(args.words, Path(args.data)) if args.words is not None else None
    result = predict_clip(Path(args.run_dir), args.data, args.text, args.seed, words=words)
    if args.json:
        print_json(result)
        return 0
    seeds = ", ".join(f"seed {s}: {p:.3f}" for s, p in result["seeds"].items())
    print(f"{args.data}: {result['prediction']:.3f} (mean over seeds; {seeds})")
    return 0


def explain(args: argparse.Namespace) -> int:
    """Handler of ``mifusion explain``."""
    from mifusion.evaluation.statistics_network import FitSettings
    from mifusion.experiments.explain import explain_run

    settings = FitSettings(steps=args.refit_steps) if args.refit_steps > 0 else None
    report = explain_run(Path(args.run_dir), args.data, args.top, settings)
    print(report)
    return 0


def compare(args: argparse.Namespace) -> int:
    """Handler of ``mifusion compare``: every setting is checked before any run is read."""
    from mifusion import stats
    from mifusion.evaluation.compare import KEY_METRICS, CompareSettings, compare_runs

    if args.metric not in KEY_METRICS:
        raise ConfigError(f"--metric {args.metric}: choose one of {', '.join(KEY_METRICS)}")
    if not 0.0 < args.alpha < 0.5:
        raise ConfigError(f"--alpha {args.alpha}: must lie in (0, 0.5)")
    if args.margin is not None and not args.margin > 0:
        raise ConfigError(f"--margin {args.margin}: must be a positive number in the metric's unit")
    if args.bootstrap < 0 or (args.bootstrap and not args.baseline):
        raise ConfigError("--bootstrap N needs N >= 0 and a --baseline to compare with")
    if args.bootstrap and (args.split != "test" or args.metric not in stats.STATISTICS):
        raise ConfigError(
            f"--bootstrap resamples the saved test predictions: use --split test and --metric one of "
            f"{', '.join(sorted(stats.STATISTICS))}"
        )
    if (args.margin is not None) and not args.baseline:
        raise ConfigError("--margin needs a --baseline to compare with")
    settings = CompareSettings(args.split, args.metric, args.alpha, args.margin, args.bootstrap)
    runs = [Path(p) for p in args.run_dirs]
    print(compare_runs(runs, Path(args.baseline) if args.baseline else None, settings))
    return 0


def register(sub: Any) -> None:
    """Registers train, evaluate, predict, explain and compare."""
    p = add_command(
        sub, "train", "Train a model (default: MMIM on the built-in synthetic data, about a minute on CPU).",
        "  mifusion train\n"
        "  mifusion train --preset mosi_mmim --data data/mosi.pkl --seeds 1111 1112 1113 --out runs/mmim\n"
        "  mifusion train --preset synth_tfn --penalty js --set train.epochs=5\n"
        "  mifusion train --resume runs/mmim",
        train,
    )  # fmt: skip
    p.add_argument("--preset", help="a shipped preset (mifusion list presets); default: default")
    p.add_argument("--config", help="a YAML config file instead of a preset")
    p.add_argument("--data", help="dataset file or folder (sets data.path); none = synthetic data")
    p.add_argument("--model", help="model name (sets model.name)")
    p.add_argument("--penalty", help="dependency penalty estimator (sets penalty.estimator)")
    p.add_argument("--modalities", help="comma-separated subset of text,audio,vision")
    p.add_argument("--seeds", nargs="+", type=int, help="seeds to repeat the run with")
    p.add_argument(
        "--set", nargs="*", action="extend", default=[], metavar="KEY=VALUE", help="config overrides"
    )
    p.add_argument(
        "--out", help="run directory (default runs/MODEL-TIMESTAMP); an existing, non-empty one is refused"
    )
    p.add_argument(
        "--resume", metavar="RUN_DIR",
        help="continue an interrupted run (only --set train.epochs/seeds/device/... may change)",
    )  # fmt: skip
    p.add_argument(
        "--overwrite", action="store_true",
        help="train into an existing --out: the old run is moved aside to OUT.old-TIME, never deleted",
    )  # fmt: skip
    p.add_argument("--checkpoint-every", type=int, metavar="STEPS", help="also checkpoint every N steps")
    p.add_argument("--quiet", action="store_true", help="no progress bars or epoch logs")

    p = add_command(
        sub, "evaluate",
        "Metric table of a trained run (each seed and mean ± std) on a split or file; --robustness for drops.",
        "  mifusion evaluate runs/mmim\n  mifusion evaluate runs/mmim --data other.pkl --split test --json\n"
        "  mifusion evaluate runs/mmim --robustness",
        evaluate,
    )  # fmt: skip
    p.add_argument("run_dir", help="a trained run (mifusion train --out DIR)")
    p.add_argument("--data", help="dataset to evaluate on (default: the run's own data)")
    p.add_argument("--split", default="test", help="split to evaluate (default test; also train, valid)")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.add_argument("--robustness", action="store_true", help="drop modalities / add noise; table + plot")

    p = add_command(
        sub, "predict",
        "Write predictions of a trained run for one split of a dataset (default: test) as CSV (id, "
        "prediction, label); multi-seed runs predict the mean over seeds.",
        "  mifusion predict runs/mmim data/mosi.pkl --out predictions.csv\n"
        "  mifusion predict runs/mmim data/mosi.pkl --out seed1.csv --seed 1111\n"
        "  mifusion predict runs/mine new_clip.mp4 --text 'I really liked it'   # one clip (data extract runs)",
        predict,
    )  # fmt: skip
    p.add_argument("run_dir", help="a trained run (mifusion train --out DIR)")
    p.add_argument("data", help="dataset file or folder to predict for, or one video/audio clip")
    p.add_argument(
        "--out", help="CSV file to write (id, prediction[, label]); needed unless DATA is one clip"
    )
    p.add_argument("--text", type=_transcript, help="one clip: its transcript, or @FILE to read it from FILE")
    p.add_argument(
        "--words", metavar="FILE",
        help="one clip, run trained with data extract --align words: the clip's word timings (CSV or .csd)",
    )  # fmt: skip
    p.add_argument("--json", action="store_true", help="one clip: print the result as JSON")
    p.add_argument(
        "--split", default="test", help="which split of DATA to predict (default test; also train, valid)"
    )
    p.add_argument("--seed", type=int, help="use this seed only (default: mean over every seed: an ensemble)")

    p = add_command(
        sub, "explain",
        "Consistency scores per test sample (penalty critic and a refitted statistics network), "
        "swap AUROC per seed.",
        "  mifusion explain runs/tfn_js\n  mifusion explain runs/tfn_js --refit-steps 0   # penalty critic only",
        explain,
    )  # fmt: skip
    p.add_argument("run_dir")
    p.add_argument("--data", help="dataset (default: the run's own data)")
    p.add_argument("--top", type=int, default=5, help="samples listed at each end")
    p.add_argument(
        "--refit-steps", type=int, default=FIT_STEPS, metavar="N",
        help=f"steps of the statistics network fitted on the frozen model (default {FIT_STEPS}; 0 = skip)",
    )  # fmt: skip

    p = add_command(
        sub, "compare", "One table from several runs: mean ± std and paired differences to a baseline.",
        "  mifusion compare runs/tfn runs/tfn_js --baseline runs/tfn\n"
        "  mifusion compare runs/tfn_js runs/tfn_kl --baseline runs/tfn --margin 0.03 --bootstrap 2000", compare,
    )  # fmt: skip
    p.add_argument("run_dirs", nargs="+", help="trained runs to put side by side")
    p.add_argument("--baseline", help="the run the others are compared with (paired differences per seed)")
    p.add_argument("--split", default="test", help="split whose saved metrics are compared (default test)")
    p.add_argument(
        "--metric", default="mae", help="primary metric: Holm family, TOST, bootstrap (default mae)"
    )
    p.add_argument(
        "--alpha", type=float, default=0.05, help="family-wise error rate of the Holm family (0.05)"
    )
    p.add_argument(
        "--margin", type=float, help="TOST equivalence margin in the metric's unit, fixed beforehand"
    )
    p.add_argument(
        "--bootstrap", type=int, default=0, metavar="N",
        help="N replicates of a seeds x test-clips bootstrap from each seed's test_predictions.csv",
    )  # fmt: skip
