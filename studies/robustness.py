"""Study 2: are penalised representations more robust when a modality is dropped at test time?

Arms (same seeds, same model): base, penalised (``--penalty`` at weight ``--weight``), and modality
dropout in training (``train.modality_dropout``). Every trained seed is scored by
``mifusion evaluate --robustness``'s own code (each modality and each pair dropped, masked and
zero-filled; Gaussian noise). The robustness of a seed under a condition is its MAE increase over
its intact MAE; arms are compared by paired differences of that increase across seeds, Holm-corrected
over the family (conditions x treated arms). The MDM claim "penalised is more robust" holds for a
condition when the corrected interval of (penalised - base) increase lies below 0.

Run:
    python -m studies robustness --model tfn --seeds 1 2 3 4 5 6 7 8 9 10 --out runs/studies/rob
    python -m studies robustness --ground semi --model tfn --out runs/studies/rob_semi
    python -m studies robustness --tiny --out /tmp/rob   # seconds; not a result
"""

from __future__ import annotations

from pathlib import Path

from mifusion.stats import format_mean_std
from studies.common import (
    Arm,
    run_arm,
    study_parser,
    study_settings,
)
from studies.report import (
    arm_table,
    comparison_table,
    comparisons,
    forest_plot,
    publish,
)


def robustness_rows(seed_dir: Path) -> dict[str, float]:
    """``condition (definition)`` -> MAE increase over intact, for one trained seed."""
    from mifusion.experiments.commands import evaluate_run

    rows = evaluate_run(seed_dir, None, "test", True).data["conditions"]
    intact = next(r["mae"] for r in rows if r["definition"] == "intact")
    return {
        f"{r['condition']} ({r['definition']})": r["mae"] - intact
        for r in rows
        if r["definition"] != "intact"
    }


def study(model: str, penalty: str, weight: float, dropout: float, seeds: list[int], out: Path,
          extra: tuple[str, ...], ground: str = "synthetic ground") -> str:  # fmt: skip
    """Trains the three arms, scores every condition, returns the Markdown report."""
    preset = f"synth_{model}"
    arms = [
        Arm(f"{model}-base", preset),
        Arm(f"{model}-{penalty}", preset, (f"penalty.estimator={penalty}", f"penalty.weight={weight}")),
        Arm(f"{model}-mdrop", preset, (f"train.modality_dropout={dropout}",)),
    ]
    tests, increases = {}, {}
    for arm in arms:
        tests[arm.label] = run_arm(arm, seeds, out, extra).test
        per_seed = [robustness_rows(out / arm.label / f"seed_{s}") for s in seeds]
        for cond in per_seed[0]:
            increases.setdefault(cond, {})[arm.label] = [{"mae": p[cond]} for p in per_seed]
    base, treated = arms[0].label, [a.label for a in arms[1:]]
    flat = {f"{c}: {a}": rows for c, by_arm in increases.items() for a, rows in by_arm.items()}
    pairs = [(f"{c}: {t}", f"{c}: {base}") for c in increases for t in treated]
    diffs = comparisons(flat, pairs, "mae")
    forest_plot(diffs, out / "robustness.png", "MAE increase")
    labels = [a.label for a in arms]
    inc = ["| condition (definition) | " + " | ".join(labels) + " |", "|---" * (len(labels) + 1) + "|"]
    for cond, by_arm in increases.items():
        cells = " | ".join(format_mean_std([r["mae"] for r in by_arm[a]]) for a in labels)
        inc.append(f"| {cond} | {cells} |")
    return "\n\n".join([
        f"# Robustness to dropped modalities ({model}; {ground}; seeds {seeds})",
        "## Intact test metrics", arm_table(tests),
        "## Test MAE increase over intact per arm (mean +- std over seeds)", "\n".join(inc),
        "## MAE increase under each condition: treated arm minus base (negative = more robust; Holm)",
        comparison_table(diffs, "mae"),
        "Plot: robustness.png (mean difference with its Holm-corrected interval per comparison).",
    ]) + "\n"  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    """Entry point; see the module docstring."""
    ap = study_parser(__doc__ or "", "runs/studies/robustness")
    ap.add_argument("--model", default="tfn")
    ap.add_argument("--penalty", default="js")
    ap.add_argument("--weight", type=float, default=0.1)
    ap.add_argument("--dropout", type=float, default=0.3, help="train.modality_dropout of the third arm")
    args = ap.parse_args(argv)
    ground, extra, seeds = study_settings(args)
    model = "lf_dnn" if args.tiny else args.model
    report = study(model, args.penalty, args.weight, args.dropout, seeds, Path(args.out), extra, ground)
    return publish(report, Path(args.out), args.tiny)


if __name__ == "__main__":
    raise SystemExit(main())
