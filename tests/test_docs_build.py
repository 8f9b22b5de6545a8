"""The documentation site builds in strict mode, and its navigation lists every page."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
MKDOCS_YML = ROOT / "mkdocs.yml"
DOCS = ROOT / "docs"
TOOLS = ("mkdocs", "material", "mkdocstrings", "mkdocstrings_handlers.python")


def _nav_files(node: Any) -> list[str]:
    """Every Markdown path named in a (nested) mkdocs nav."""
    if isinstance(node, str):
        return [node] if node.endswith(".md") else []
    if isinstance(node, dict):
        return [f for value in node.values() for f in _nav_files(value)]
    if isinstance(node, list):
        return [f for item in node for f in _nav_files(item)]
    return []


def test_nav_lists_exactly_the_pages_that_exist() -> None:
    nav = _nav_files(yaml.safe_load(MKDOCS_YML.read_text())["nav"])
    pages = sorted(str(p.relative_to(DOCS)) for p in DOCS.rglob("*.md"))
    missing = sorted(set(nav) - set(pages))
    unlisted = sorted(set(pages) - set(nav))
    assert not missing, f"mkdocs.yml nav names pages that do not exist: {missing}; create them or drop them"
    assert not unlisted, f"docs pages missing from the mkdocs.yml nav: {unlisted}; add them to nav"
    assert len(nav) == len(set(nav)), "a page is listed twice in the mkdocs.yml nav"


def test_site_builds_strictly(tmp_path: Path) -> None:
    absent = [tool for tool in TOOLS if importlib.util.find_spec(tool.split(".")[0]) is None]
    if absent or importlib.util.find_spec("mkdocstrings_handlers.python") is None:
        pytest.skip(
            f"docs tooling not installed ({', '.join(absent) or 'mkdocstrings-python'}); "
            'pip install -e ".[docs]"'
        )
    site = tmp_path / "site"
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-f", str(MKDOCS_YML), "-d", str(site)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=dict(os.environ, NO_MKDOCS_2_WARNING="1"),
        timeout=300,
    )
    assert result.returncode == 0, f"mkdocs build --strict failed:\n{result.stderr[-4000:]}"
    own_loop = (site / "own-loop.html").read_text()
    assert "DependencyPenalty" in own_loop and "critic_loss" in own_loop
    reference = (site / "api" / "objectives.html").read_text()
    assert "DependencyPenalty" in reference and "Example" in reference
