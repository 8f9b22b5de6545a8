"""Controls: does the pipeline report nothing where there is nothing, and something where there must be?

Beside the claims, on the same ground and seeds (one model, ``--model``, default LF-DNN):

* **negative, shuffled audio and vision** (:func:`mifusion.data.controls.shuffle_modalities`): audio and
  vision permuted across samples. The model on all modalities must score like the text-only model
  (TOST at the MAE margin fixed in :data:`studies.report.MARGINS`);
* **negative, permuted labels** (:func:`mifusion.data.controls.permute_labels`): training and validation
  labels permuted, test intact. The model must score the constant floor (the training labels' mean;
  TOST);
* **positive, a shared predictive factor**: a synthetic ground whose only factor common to the modalities
  is the label (``shared_strength=0``, strong private factors), where a dependency penalty between the
  modalities' representations has something to find. Base against base + JS (Holm); if the penalty does
  not help even here, the claims' tests could not have detected it anywhere.

Run:
    python -m studies controls --seeds 1 2 3 4 5 6 7 8 9 10 --out runs/studies/controls
    python -m studies controls --tiny --out /tmp/controls   # seconds; not a result
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np

from studies.common import Arm, config, run_arm, study_parser, study_settings
from studies.report import arm_table, comparison_table, comparisons, publish

POSITIVE = {"shared_strength": 0.0, "private_strength": 2.0, "noise": 0.8, "audio_signal": 0.4,
            "vision_signal": 0.4, "text_signal": 0.3}  # fmt: skip
"""The positive control's generator settings: the label is the one factor the modalities share."""


def _save(dataset: object, cache: Path, tag: str) -> Path:
    from mifusion.data.safe_format import MANIFEST, save_safe

    path = cache / f"{tag}_{hashlib.sha1(repr(dataset.meta).encode()).hexdigest()[:10]}"  # type: ignore[attr-defined]
    if not (path / MANIFEST).is_file():
        save_safe(dataset, path)  # type: ignore[arg-type]
    return path


def control_grounds(preset: str, extra: tuple[str, ...], cache: Path) -> dict[str, Path]:
    """The intact ground's two broken copies and the positive ground, saved once under ``cache``."""
    from mifusion.data.controls import permute_labels, shuffle_modalities
    from mifusion.data.synthetic import SynthParams, generate
    from mifusion.experiments.pipeline import load_raw

    cfg = config(Arm("ground", preset), extra)
    s = cfg.data.synth
    intact = load_raw(cfg)  # exactly what the arms read (format, strictness, folds)
    positive = generate(s.like, s.n, s.seed, s.aligned, params=SynthParams(**POSITIVE))  # type: ignore[arg-type]
    return {
        "shuffled": _save(shuffle_modalities(intact, ("audio", "vision"), seed=0), cache, "shuffled_av"),
        "permuted": _save(permute_labels(intact, seed=0), cache, "permuted_labels"),
        "positive": _save(positive, cache, "positive"),
    }


def study(model: str, seeds: list[int], out: Path, extra: tuple[str, ...], ground: str) -> str:
    """Runs the control arms and returns the Markdown report."""
    preset = f"synth_{model}"
    paths = control_grounds(preset, extra, out / "cache")
    arm = {
        "all modalities": Arm("intact", preset),
        "text-only": Arm("text-only", preset, ("data.modalities=[text]",)),
        "shuffled audio+vision": Arm("shuffled-av", preset, (f"data.path={paths['shuffled']}",)),
        "permuted labels": Arm("permuted-labels", preset, (f"data.path={paths['permuted']}",)),
        "positive: base": Arm("positive-base", preset, (f"data.path={paths['positive']}",)),
        "positive: + js": Arm("positive-js", preset, (f"data.path={paths['positive']}", "penalty.estimator=js",
                                                       "penalty.weight=0.1")),
    }  # fmt: skip
    tests = {label: run_arm(a, seeds, out, extra).test for label, a in arm.items()}
    floor = _constant_floor(preset, extra)
    tests["constant floor"] = [{"mae": floor} for _ in seeds]
    negative = comparisons(
        tests, [("shuffled audio+vision", "text-only"), ("permuted labels", "constant floor")]
    )
    positive = comparisons(tests, [("positive: + js", "positive: base")])
    return "\n\n".join([
        f"# Controls ({model}; {ground}; seeds {seeds})",
        "## Test metrics (mean +- std over seeds)", arm_table({k: v for k, v in tests.items() if k != "constant floor"}),
        f"Constant floor (training labels' mean, intact test split): MAE {floor:.4f}.",
        "## Negative controls: each must be *equivalent* (TOST), MAE", comparison_table(negative, "mae"),
        "## Positive control: the penalty must help where the label is the shared factor, MAE",
        comparison_table(positive, "mae"),
        f"Positive ground's generator settings: {POSITIVE}.",
    ]) + "\n"  # fmt: skip


def _constant_floor(preset: str, extra: tuple[str, ...]) -> float:
    from mifusion.experiments.pipeline import prepare_data

    data = prepare_data(config(Arm("floor", preset), extra)).dataset
    y_tr, y_te = np.asarray(data["train"].labels, float), np.asarray(data["test"].labels, float)
    return float(np.abs(y_te - y_tr.mean()).mean())


def main(argv: list[str] | None = None) -> int:
    """Entry point; see the module docstring."""
    ap = study_parser(__doc__ or "", "runs/studies/controls")
    ap.add_argument("--model", default="lf_dnn")
    args = ap.parse_args(argv)
    ground, extra, seeds = study_settings(args)
    report = study(args.model, seeds, Path(args.out), extra, ground)
    return publish(report, Path(args.out), args.tiny)


if __name__ == "__main__":
    raise SystemExit(main())
