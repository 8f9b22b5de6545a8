"""Griffe extension for the documentation build: doctest examples and Sphinx roles in Markdown docstrings.

1. The house style writes ``Example:`` (singular) above doctests. Griffe's Google parser only treats
   ``Examples:`` as an examples section (``>>>`` lines become highlighted code); the singular becomes an
   admonition whose ``>>>`` lines Markdown would show as nested block quotes. The header is renamed.
2. Sphinx roles (``:class:`~pkg.mod.Name` ``) would show literally; they become inline code (``Name``).

Loaded by mkdocs.yml (mkdocstrings ``extensions``); not part of the package.
"""

from __future__ import annotations

import re
from typing import Any

import griffe

_SINGULAR = re.compile(r"^(\s*)Example:[ \t]*$", flags=re.MULTILINE)
_ROLE = re.compile(r":(?:class|func|meth|attr|data|exc|mod|obj|const):`(~?)([^`]+)`")


def _role_to_code(match: re.Match[str]) -> str:
    target = match.group(2)
    return f"`{target.rsplit('.', 1)[-1] if match.group(1) else target}`"


class MarkdownDocstrings(griffe.Extension):
    """Renames ``Example:`` headers to ``Examples:`` and turns Sphinx roles into inline code."""

    def on_instance(self, *, obj: griffe.Object, **kwargs: Any) -> None:
        if obj.docstring is not None:
            text = _SINGULAR.sub(r"\1Examples:", obj.docstring.value)
            obj.docstring.value = _ROLE.sub(_role_to_code, text)
