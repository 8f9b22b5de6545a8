"""``mifusion explain RUN_DIR``: explains every seed of a run directory and writes the reports.

The scorers are :mod:`mifusion.evaluation.explain`'s; the report files
:mod:`mifusion.evaluation.explain_report`'s.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mifusion.evaluation.explain import Explanation, explain_seed
from mifusion.evaluation.explain_report import auroc_rows, seed_report, write_seed_files
from mifusion.evaluation.statistics_network import DEFAULT_FIT, FitSettings
from mifusion.experiments.commands import load_data
from mifusion.experiments.run import load_run, seed_dirs
from mifusion.writers import atomic_write_text


def explain_run(
    run_dir: Path, data_path: str | None = None, top: int = 5, settings: FitSettings | None = DEFAULT_FIT
) -> str:
    """Explains every seed of ``run_dir``; writes the reports and returns the summary text.

    Args:
        run_dir: a seed folder or a multi-seed run directory.
        data_path: a dataset to explain (default: the run's own data); its test split is scored.
        top: samples listed at each end of the ranking.
        settings: how to fit the refitted statistics network; None skips it.
    """
    folders = seed_dirs(Path(run_dir))
    raw = None
    per_seed: list[tuple[Any, dict[str, Explanation]]] = []
    first_report = ""
    for folder in folders:
        run = load_run(folder)
        raw = raw if raw is not None else load_data(run, data_path)
        prepared = run.prepare(raw)
        exps = explain_seed(run, prepared, settings)
        title = f"{run.cfg.penalty.estimator or 'no'} penalty, seed {run.seed}"
        report = seed_report(title, exps, raw["test"].raw_text, prepared["test"].labels, top)
        write_seed_files(folder / "explain", exps, report)
        per_seed.append((run.seed, exps))
        first_report = first_report or report
    summary = "\n".join([
        f"# Explain: {run_dir} ({len(folders)} seed(s))\n",
        "AUROC of intact against one-modality-swapped test samples (0.5 = chance, 1 = perfect):\n",
        *auroc_rows(per_seed),
        "\nPer-seed reports, score tables and plots: "
        + ", ".join(str(f / "explain" / "report.md") for f in folders) + "\n",
    ])  # fmt: skip
    if len(folders) > 1:
        atomic_write_text(Path(run_dir) / "explain" / "report.md", summary + "\n" + first_report + "\n")
        where = Path(run_dir) / "explain" / "report.md"
    else:
        where = folders[0] / "explain" / "report.md"
    return f"{summary}\n{first_report}\nwritten to {where}"
