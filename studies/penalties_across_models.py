"""Study 1: does a dependency penalty improve each model? (base vs DV/MINE, JS, Wasserstein).

For every model, the base arm and each penalty family get the SAME number of validation-tuned
candidates: the base tunes the head learning rate over ``--grid`` values, each penalised arm tunes
its weight lambda over the same number of values (its learning rate fixed at the preset's). The
candidate with the best mean validation MAE is kept; its test metrics (read once) enter paired
differences across seeds, Holm-corrected over the whole family (models x penalties).

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
LAMBDAS = (0.1, 0.01, 1.0)  # first = the config default (penalty.weight), used alone with --grid 1
LRS = (1e-3, 3e-4, 3e-3)  # first = the presets' train.lr, used alone with --grid 1


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
            base = {f"{model} base lr={lr:g}": run_arm(Arm(f"{model}-base-lr{lr:g}", preset, (f"train.lr={lr}",)),
                                                       seeds, out, extra) for lr in LRS[:grid]}  # fmt: skip
        except ConfigError as err:  # raised while building, before any training: the ground does not fit
            notes.append(f"{model}: not run on this ground ({err})")
            continue
        ran.append(model)
        pick = select(base)
        chosen[f"{model} base"] = base[pick]
        notes.append(f"{model} base: selected {pick}")
        for pen in penalties:
            cands = {
                f"{model} {pen} lambda={lam:g}": run_arm(
                    Arm(f"{model}-{pen}-w{lam:g}", preset, (f"penalty.estimator={pen}", f"penalty.weight={lam}")),
                    seeds, out, extra,
                )
                for lam in LAMBDAS[:grid]
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
        f"# Penalties across models ({ground}; seeds {seeds}; {len(LRS[:grid])} candidates per arm)",
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
        "--grid", type=int, default=3, help="candidates per arm (lr for base, lambda for penalties)"
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
