"""The public import surface: every name resolves, is documented, and ``import mifusion`` stays light."""

from __future__ import annotations

import importlib
import inspect
import json
import subprocess
import sys

import pytest

import mifusion

PUBLIC = [name for name in mifusion.__all__ if name != "__version__"]

# Run in a fresh interpreter: records which heavy modules `import mifusion` pulls in and which files it
# opens (audit events), so earlier imports in this test process cannot hide a regression.
_PROBE = r"""
import json, sys
opened = []
def hook(event, args):
    if event == "open" and isinstance(args[0], str):
        opened.append(args[0])
sys.addaudithook(hook)
import mifusion
heavy = [m for m in ("torch", "torch.cuda", "transformers", "matplotlib", "numpy", "h5py", "optuna")
         if m in sys.modules]
print(json.dumps({"heavy": heavy, "opened": opened}))
"""


@pytest.mark.parametrize("name", PUBLIC)
def test_public_name_resolves_and_has_docstring(name: str) -> None:
    value = getattr(mifusion, name)
    assert value is getattr(mifusion, name)  # cached after the first access
    # functions and classes carry their own docstring; an instance (the ESTIMATORS registry) its class's
    documented = value if inspect.isclass(value) or inspect.isfunction(value) else type(value)
    doc = inspect.getdoc(documented)
    assert doc and len(doc.split()) >= 3, f"mifusion.{name} needs a docstring"


def test_all_matches_the_lazy_export_table() -> None:
    assert len(set(mifusion.__all__)) == len(mifusion.__all__)
    assert set(mifusion.__all__) == {"__version__", *mifusion._EXPORTS}
    assert set(PUBLIC) <= set(dir(mifusion))


def test_unknown_attribute_raises_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no attribute 'DependencyPenalti'"):
        mifusion.DependencyPenalti  # noqa: B018


def test_from_import_star_gives_every_public_name() -> None:
    namespace: dict[str, object] = {}
    exec("from mifusion import *", namespace)
    assert set(mifusion.__all__) <= set(namespace)


def test_import_is_light_and_does_no_io() -> None:
    result = subprocess.run([sys.executable, "-c", _PROBE], capture_output=True, text=True, check=True)
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["heavy"] == [], f"`import mifusion` imported {report['heavy']}"
    non_code = [p for p in report["opened"] if not p.endswith((".py", ".pyc", ".pth", ".so"))]
    assert non_code == [], f"`import mifusion` opened data files: {non_code}"


def test_version_matches_package_metadata() -> None:
    metadata = importlib.import_module("importlib.metadata")
    assert mifusion.__version__ == metadata.version("mifusion")
