"""Study 1: does a dependency penalty improve each model? (base vs DV/MINE, JS, Wasserstein).

For every model, the base arm and each penalty family get the SAME tuning effort: ``--grid`` validation
trials each, over the SAME learning rates (:func:`candidates`: the preset's own learning rate first, then
a fixed Halton sequence log-uniform in [3e-4, 3e-3]); each penalised trial also draws its weight lambda
(the default 0.1 first, then log-uniform in [0.01, 1]). The candidate with the best mean validation MAE is
kept; its test metrics (read once) enter paired differences across seeds, Holm-corrected over the whole
family (models x penalties).

Grounds (``--ground``): the built-in synthetic data (documented defaults of the ``synth_<model>``
presets), or the semi-synthetic real-text ground (``--ground semi``: real MOSI transcripts, labels and
folds as frozen MiniLM-L6 token features, generated audio and vision; same presets). There MAG-BERT
(its BERT needs token ids) and EF-LSTM (needs word-aligned data) cannot run; the study skips a model the
ground cannot feed and says why in the report.

Run:
    python -m studies penalties_across_models --seeds 1 2 3 4 5 6 7 8 9 10 --out runs/studies/pen
    python -m studies penalties_across_models --ground semi --grid 1 --out runs/studies/pen_semi
    python -m studies penalties_across_models --tiny --out /tmp/pen   # seconds; not a result
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from mifusion.errors import ConfigError
from studies.common import (
    Arm,
    ArmResult,
    baselines,
    run_arm,
    select,
    study_parser,
    study_settings,
)
from studies.report import (
    arm_table,
    baseline_table,
    comparison_table,
    comparisons,
    forest_plot,
    publish,
)

MODELS = ("lf_dnn", "ef_lstm", "tfn", "lmf", "mult", "misa", "mag_bert")
PENALTIES = ("dv", "js", "wasserstein_gp")
LR_RANGE = (3e-4, 3e-3)
LAMBDA_RANGE = (0.01, 1.0)
DEFAULT_LAMBDA = 0.1  # the config default (penalty.weight), the first penalised trial's


def candidates(n: int) -> list[tuple[float | None, float]]:
    """``n`` trials (learning rate or None for the preset's own, lambda): the same for every arm and model.

    Trial 0 is the preset as shipped (its lr, lambda 0.1); the rest come from a 2-d Halton sequence (seed
    0), log-uniform over LR_RANGE and LAMBDA_RANGE. The base arm uses the learning rates only.

    Example:
        >>> [(lr, lam) for lr, lam in candidates(2)][0]
        (None, 0.1)
    """
    from scipy.stats import qmc

    points = qmc.Halton(d=2, seed=0).random(max(n - 1, 0))
    (lo, hi), (llo, lhi) = np.log10(LR_RANGE), np.log10(LAMBDA_RANGE)
    rest = [(float(10 ** (lo + u * (hi - lo))), float(10 ** (llo + v * (lhi - llo)))) for u, v in points]
    return [(None, DEFAULT_LAMBDA), *[(round(lr, 6), round(lam, 4)) for lr, lam in rest]][:n]


def _lr_sets(lr: float | None) -> tuple[str, ...]:
    return () if lr is None else (f"train.lr={lr:g}",)


def _lr_name(lr: float | None) -> str:
    return "preset" if lr is None else f"{lr:g}"


def study(models: tuple[str, ...], penalties: tuple[str, ...], seeds: list[int], out: Path,
          extra: tuple[str, ...], grid: int, ground: str = "synthetic ground") -> str:  # fmt: skip
    """Runs every arm and returns the Markdown report."""
    start = time.perf_counter()
    chosen: dict[str, ArmResult] = {}
    pairs = []
    notes: list[str] = []
    ran: list[str] = []
    for model in models:
        preset = f"synth_{model}"
        try:
            base = {f"{model} base lr={_lr_name(lr)}": run_arm(
                Arm(f"{model}-base-lr{_lr_name(lr)}", preset, _lr_sets(lr)), seeds, out, extra)
                for lr, _ in candidates(grid)}  # fmt: skip
        except ConfigError as err:  # raised while building, before any training: the ground does not fit
            notes.append(f"{model}: not run on this ground ({err})")
            continue
        ran.append(model)
        pick = select(base)
        chosen[f"{model} base"] = base[pick]
        notes.append(f"{model} base: selected {pick}")
        for pen in penalties:
            cands = {
                f"{model} {pen} lr={_lr_name(lr)} lambda={lam:g}": run_arm(
                    Arm(f"{model}-{pen}-lr{_lr_name(lr)}-w{lam:g}", preset,
                        (*_lr_sets(lr), f"penalty.estimator={pen}", f"penalty.weight={lam}")),
                    seeds, out, extra,
                )
                for lr, lam in candidates(grid)
            }  # fmt: skip
            pick = select(cands)
            chosen[f"{model} + {pen}"] = cands[pick]
            notes.append(f"{model} + {pen}: selected {pick}")
            pairs.append((f"{model} + {pen}", f"{model} base"))
    tests = {k: v.test for k, v in chosen.items()}
    if not ran:
        raise SystemExit("no model could run on this ground: " + "; ".join(notes))
    base_rows = baselines(Arm("baselines", f"synth_{ran[0]}"), extra)
    text_only = run_arm(Arm("text_only", f"synth_{ran[0]}", ("data.modalities=[text]",)), seeds, out, extra)
    tests["text-only (" + ran[0] + ")"] = text_only.test
    mae = comparisons(tests, pairs, "mae")
    acc = comparisons(tests, pairs, "acc2_non0")
    forest_plot(mae, out / "penalties_mae.png", "mae")
    return "\n\n".join([
        f"# Penalties across models ({ground}; seeds {seeds}; {grid} validation trials per arm)",
        "## Test metrics of the validation-selected candidates (mean +- std over seeds)", arm_table(tests),
        "## Baselines", baseline_table(base_rows),
        "## Paired differences, primary metric MAE (Holm over the family)", comparison_table(mae, "mae"),
        "## Paired differences, non0 Acc-2 (Holm over the family)", comparison_table(acc, "acc2_non0"),
        "## Selection\n\n" + "\n".join(f"- {n}" for n in notes),
        f"Wall time {(time.perf_counter() - start) / 60:.1f} min.",
    ]) + "\n"  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    """Entry point; see the module docstring."""
    ap = study_parser(__doc__ or "", "runs/studies/penalties")
    ap.add_argument("--models", nargs="+", default=list(MODELS))
    ap.add_argument("--penalties", nargs="+", default=list(PENALTIES))
    ap.add_argument(
        "--grid",
        type=int,
        default=6,
        help="validation trials per arm (lr for base, lr and lambda for penalties)",
    )
    args = ap.parse_args(argv)
    ground, extra, seeds = study_settings(args)
    models, pens, grid = tuple(args.models), tuple(args.penalties), args.grid
    if args.tiny:
        models, pens, grid = ("lf_dnn",), ("js",), 1
    report = study(models, pens, seeds, Path(args.out), extra, grid, ground)
    return publish(report, Path(args.out), args.tiny)


if __name__ == "__main__":
    raise SystemExit(main())
