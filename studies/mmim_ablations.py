"""Study 3: MMIM ablations (the ``default`` preset: MMIM; tiny text encoder, or frozen MiniLM features).

Arms, each against the full model (paired across seeds, Holm over the family):
- without the BA terms (``model.options.beta=0``: likelihood and entropy terms off together);
- without CPC (``model.options.alpha=0``);
- plain fusion: the same network with every MI term off (``alpha=0``, ``beta=0``), so "MMIM beats plain
  fusion" is tested with architecture, encoders, data and schedule held fixed;
- the reference's separate estimator pass (``train.estimator_stage=separate_pass``) against the
  efficient in-step stage;
- reference-parity settings (``model.options.parity=true``: truncated likelihood, untrained entropy)
  against the corrected defaults.
- the attribution pair, which separates parity's initialisation from its objective: the corrected
  objective with the reference's Xavier-normal initialisation (``model.options.init=xavier``), and the
  reference objective with PyTorch's default initialisation (parity with ``model.options.init=default``);
- without the entropy term alone (``model.options.entropy_weight=0``: the likelihood terms keep ``-beta``).

Run:
    python -m studies mmim_ablations --seeds 1 2 3 4 5 6 7 8 9 10 --out runs/studies/mmim
    python -m studies mmim_ablations --ground semi --out runs/studies/mmim_semi
    python -m studies mmim_ablations --tiny --out /tmp/mmim   # seconds; not a result
"""

from __future__ import annotations

from pathlib import Path

from studies.common import (
    Arm,
    baselines,
    run_arm,
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

PARITY = ("model.options.parity=true", "train.estimator_stage=separate_pass", "train.clip_scope=all")
ARMS = (
    Arm("full", "default"),
    Arm("no-BA", "default", ("model.options.beta=0",)),
    Arm("no-CPC", "default", ("model.options.alpha=0",)),
    Arm("no-entropy", "default", ("model.options.entropy_weight=0",)),
    Arm("plain-fusion", "default", ("model.options.alpha=0", "model.options.beta=0")),
    Arm("separate-pass", "default", ("train.estimator_stage=separate_pass",)),
    Arm("parity", "default", PARITY),
    Arm("xavier-init", "default", ("model.options.init=xavier",)),
    Arm("parity-default-init", "default", (*PARITY, "model.options.init=default")),
)


def study(seeds: list[int], out: Path, extra: tuple[str, ...], preset: str,
          only: tuple[str, ...] = (), ground: str = "synthetic ground") -> str:  # fmt: skip
    """Runs the arms (all, or ``full`` plus those named in ``only``) and returns the Markdown report."""
    arms = [Arm(a.label, preset, a.sets) for a in ARMS if not only or a.label == "full" or a.label in only]
    tests = {a.label: run_arm(a, seeds, out, extra).test for a in arms}
    tests["text-only"] = run_arm(
        Arm("text-only", preset, ("data.modalities=[text]",)), seeds, out, extra
    ).test
    pairs = [("full", a.label) for a in arms[1:]]  # claim: the full model beats each ablation
    if {"parity", "parity-default-init"} <= set(tests):  # attribution: Xavier under the reference objective
        pairs.append(("parity", "parity-default-init"))
    mae = comparisons(tests, pairs, "mae")
    forest_plot(mae, out / "mmim_ablations.png", "mae")
    return "\n\n".join([
        f"# MMIM ablations (preset {preset}; {ground}; seeds {seeds})",
        "## Test metrics (mean +- std over seeds)", arm_table(tests),
        "## Baselines", baseline_table(baselines(arms[0], extra)),
        "## Full minus ablation, MAE (Holm; holds = the full model is better)", comparison_table(mae, "mae"),
        "## Full minus ablation, non0 Acc-2 (Holm; holds = the full model is better)",
        comparison_table(comparisons(tests, pairs, "acc2_non0"), "acc2_non0"),
    ]) + "\n"  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    """Entry point; see the module docstring."""
    ap = study_parser(__doc__ or "", "runs/studies/mmim_ablations")
    ap.add_argument("--preset", default="default")
    ap.add_argument(
        "--arms", nargs="+", default=[], choices=[a.label for a in ARMS[1:]],
        help="run only these ablations (the full model and text-only always run); default: all",
    )  # fmt: skip
    args = ap.parse_args(argv)
    ground, extra, seeds = study_settings(args)
    only = tuple(args.arms)
    if (
        args.tiny
    ):  # parity needs a pretrained text encoder (model.text.pretrained); the tiny run has a random one
        only = tuple(
            a.label for a in ARMS[1:] if not a.label.startswith("parity") and (not only or a.label in only)
        )
    report = study(seeds, Path(args.out), extra, args.preset, only, ground)
    return publish(report, Path(args.out), args.tiny)


if __name__ == "__main__":
    raise SystemExit(main())
