"""``python -m studies NAME [options]``: run one study; ``python -m studies list``: what there is.

Example:
    python -m studies penalties_across_models --tiny --out /tmp/pen
"""

from __future__ import annotations

import importlib
import sys

STUDIES = {
    "penalties_across_models": "study 1: does a dependency penalty improve each model?",
    "robustness": "study 2: robustness to dropped modalities, base vs penalised",
    "mmim_ablations": "study 3: MMIM's terms and the reference's settings, ablated",
    "interpretability": "study 4: do consistency scores flag swapped modalities?",
    "real_text": "study 5: the text-only model on real CMU-MOSI text against the plain fine-tune",
    "grounds": "study 6: how the synthetic grounds relate to the real one",
    "controls": "controls: shuffled audio+vision, permuted labels, a ground where a penalty must help",
}


def main(argv: list[str]) -> int:
    """Dispatches to ``studies.<NAME>.main``; exit code 2 with one line for an unknown study."""
    if not argv or argv[0] in ("list", "-h", "--help"):
        print("python -m studies NAME [options]   (NAME --help for a study's options)\n")
        print("\n".join(f"  {name:26s} {text}" for name, text in STUDIES.items()))
        return 0
    name, rest = argv[0], argv[1:]
    if name not in STUDIES:
        print(f"studies: error: no study {name!r}; choose one of {', '.join(STUDIES)}", file=sys.stderr)
        return 2
    return int(importlib.import_module(f"studies.{name}").main(rest) or 0)


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
