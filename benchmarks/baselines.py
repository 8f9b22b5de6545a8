"""Models against strong simple baselines, per ground: is any default preset worse than ridge regression?

Per ground it prints and writes (``OUT/report.md``, ``OUT/results.json``):

* **constant**: the training labels' median (the MAE-optimal constant), deterministic;
* **ridge** on time-averaged features (each modality, and all together; token text enters as its bag of
  words), standardised on train, alpha chosen on validation MAE; deterministic;
* **text-only**: ``synth_lf_dnn`` on ``data.modalities=[text]``;
* every model's default preset (``synth_<model>``), trained once per seed, checkpoint selected on
  validation, test read once; mean +- std (ddof=1) of test MAE, Corr and non0 Acc-2, and the paired
  comparison of test MAE against ridge on all modalities (Holm-corrected within the ground).

Grounds (a model that cannot be fed by a ground is listed with the reason, and measured on a ground
that can feed it: EF-LSTM and MAG-BERT need word-aligned data with token ids, ``mmsa_aligned``):

* ``synthetic``: the presets' built-in data (``data.synth``: like MOSI, n 600, seed 0), unaligned;
* ``semi``: real MOSI transcripts, labels and folds as frozen MiniLM-L6 token features, generated audio
  and vision (``studies/common.semi_ground``);
* ``mmsa_aligned``: ``mifusion data synth F.pkl --n 1000 --seed 1 --aligned --padding left --no-lengths``
  (MulT-era layout: valid frames at the end, no length arrays);
* ``mmsa_unaligned``: ``mifusion data synth F.pkl --n 1000 --seed 2 --max-length audio=150 --max-length
  vision=150 --param nonfinite_audio_rate=0.02`` (right-padded with lengths, 2 % of valid audio frames
  hold -inf; 150 frames instead of MOSI's 375/500 to fit the CPU budget).

Run (finished seeds are read back from ``OUT``, so an interrupted run resumes)::

    OMP_NUM_THREADS=1 python benchmarks/baselines.py --out runs/baselines --seeds 1 2 3 4 5
    python benchmarks/baselines.py --smoke --out /tmp/baselines      # seconds; NOT a result
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from baselines_grounds import (  # benchmarks/ is not a package: its folder goes on sys.path
    GROUNDS,
    ROOT,
    Ground,
    _claims,
    averaged_features,
    build_ground,
    cannot_feed,
    linear_baselines,
    ridge_fit,
)

__all__ = ["averaged_features", "main", "ridge_fit"]
MODELS = (
    *("lf_dnn", "tfn", "lmf", "mult", "misa", "ef_lstm", "mag_bert", "mmim"),
    *("self_mm", "tetfn", "cenet", "almt", "mfn", "graph_mfn", "mfm", "mctn", "mlf_dnn", "mtfn", "mlmf"),
    "tfr_net",
)
TEXT_ONLY = "text-only"
RUN_SETS = ("train.num_threads=1", "train.device=cpu")
SMOKE_SETS = ("train.epochs=1", "model.hidden_dim=16", "data.synth.n=120")


def run_model(label: str, preset: str, sets: tuple[str, ...], seeds: list[int], out: Path) -> dict[str, Any]:
    """Trains ``preset`` with ``sets`` once per seed (resuming); per-seed valid/test metrics and seconds."""
    claims = _claims()
    result = claims.run_arm(claims.Arm(label, preset, sets), seeds, out)
    seconds = []
    for seed in seeds:
        run = json.loads((out / label / f"seed_{seed}" / "results.json").read_text(encoding="utf-8"))["run"]
        seconds.append(float(run["wall_seconds"]))
    return {
        "valid": result.valid,
        "test": result.test,
        "seconds": seconds,
        "preset": preset,
        "sets": list(sets),
    }


def _fmt(values: list[float], scale: float = 1.0) -> str:
    x = np.asarray(values, dtype=float) * scale
    if x.size < 2:
        return f"{float(x.mean()):.3f}"
    return f"{float(x.mean()):.3f} +- {float(x.std(ddof=1)):.3f}"


def ground_table(ground: Ground, linear: dict[str, dict[str, Any]], models: dict[str, Any]) -> str:
    """Markdown for one ground: baselines, then models with their paired comparison against ridge (all)."""
    from mifusion import stats

    ridge = linear["ridge (all)"]["test"]["mae"]
    trained = {k: v for k, v in models.items() if "test" in v}
    diffs = stats.holm_family([
        stats.paired_difference([r["mae"] for r in v["test"]], [ridge] * len(v["test"]), f"{k} vs ridge (all)")
        for k, v in trained.items()
    ]) if trained else []  # fmt: skip
    verdicts = {d.name.split(" vs ")[0]: (d, stats.verdict(d, True)) for d in diffs}
    words = {"holds": "beats ridge", "fails": "worse than ridge", "inconclusive": "no clear difference"}
    lines = [
        f"### {ground.name}: {ground.recipe}",
        "",
        "| row | seeds | test MAE | Corr | Acc-2 non0 | valid MAE | test MAE - ridge (all) [Holm 95 % CI] | s/run |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for label, row in linear.items():
        t = row["test"]
        extra = f" (alpha {row['alpha']:g})" if "alpha" in row else ""
        valid = f"{row['valid_mae']:.3f}" if "valid_mae" in row else ""
        lines.append(
            f"| {label}{extra} | det. | {t['mae']:.3f} | {t['corr']:.3f} | {t['acc2_non0']:.2f} | {valid} | | |"
        )
    for label, row in models.items():
        if "skipped" in row:
            lines.append(f"| {label} | | {row['skipped']} | | | | | |")
            continue
        d, v = verdicts[label]
        test, valid = row["test"], row["valid"]
        lines.append(
            f"| {label} | {len(test)} | {_fmt([r['mae'] for r in test])} | {_fmt([r['corr'] for r in test])} | "
            f"{_fmt([r['acc2_non0'] for r in test])} | {_fmt([r['mae'] for r in valid])} | "
            f"{d.mean:+.3f} [{d.low_holm:+.3f}, {d.high_holm:+.3f}] {words[v]} | {np.mean(row['seconds']):.0f} |"
        )
    return "\n".join(lines)


def run(args: argparse.Namespace) -> str:
    """Runs the benchmark; returns the Markdown report (also written to ``OUT/report.md``)."""
    from mifusion.presets import resolve

    out = Path(args.out)
    smoke = bool(args.smoke)
    extra = (*RUN_SETS, *(SMOKE_SETS if smoke else ()))
    sections, everything = [], {}
    for name in args.grounds:
        start = time.perf_counter()
        ground = build_ground(name, out, smoke, args)
        sets = (*extra, *ground.sets)
        linear = linear_baselines(resolve("synth_lf_dnn", None, list(sets)))
        models: dict[str, Any] = {}
        for model in [TEXT_ONLY, *args.models]:
            preset = "synth_lf_dnn" if model == TEXT_ONLY else f"synth_{model}"
            model_sets = (*sets, "data.modalities=[text]") if model == TEXT_ONLY else sets
            reason = None if model == TEXT_ONLY else cannot_feed(model, ground)
            if reason:
                models[model] = {"skipped": f"not run: {reason}"}
                continue
            models[model] = run_model(model, preset, model_sets, args.seeds, out / name)
        sections.append(
            ground_table(ground, linear, models)
            + f"\n\nGround wall time {time.perf_counter() - start:.0f} s."
        )
        everything[name] = {"recipe": ground.recipe, "linear": linear, "models": models}
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(json.dumps(everything, indent=1, default=float), encoding="utf-8")
    head = (f"# Models against baselines\n\nSeeds {args.seeds}; sets {list(extra)}; "
            f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}.")  # fmt: skip
    return "\n\n".join([head, *sections]) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Entry point; see the module docstring."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default="runs/baselines")
    ap.add_argument("--grounds", nargs="+", choices=GROUNDS, default=list(GROUNDS))
    ap.add_argument("--models", nargs="+", choices=MODELS, default=list(MODELS))
    ap.add_argument("--seeds", nargs="+", type=int, default=[1, 2, 3, 4, 5])
    ap.add_argument("--label-csv", default=str(ROOT.parent / "shared" / "data" / "mosi_text" / "label.csv"))
    ap.add_argument("--encoder", default=None, help="semi ground: local text encoder (default: MiniLM-L6's)")
    ap.add_argument(
        "--smoke", action="store_true", help="seconds: tiny grounds, 1 epoch, 2 seeds; NOT a result"
    )
    args = ap.parse_args(argv)
    if args.smoke:
        args.grounds = [g for g in args.grounds if g != "semi"]
        args.seeds = args.seeds[:2]
        args.models = [m for m in args.models if m in ("lf_dnn", "ef_lstm")]
    report = run(args)
    if args.smoke:
        report = "**SMOKE MODE: not a result.**\n\n" + report
    Path(args.out).mkdir(parents=True, exist_ok=True)
    (Path(args.out) / "report.md").write_text(report, encoding="utf-8")
    print(report)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
