"""The restricted unpickler admits numpy data and refuses (never runs) anything else."""

from __future__ import annotations

import collections
import os
import pickle
from pathlib import Path

import numpy as np
import pytest

from mifusion.data.io import load_dataset
from mifusion.data.safe_pickle import safe_load, safe_loads
from mifusion.errors import DataError


class CreatesFile:
    """Unpickling this with the plain loader runs os.system and creates a file."""

    def __init__(self, target: Path) -> None:
        self.target = target

    def __reduce__(self) -> tuple[object, tuple[str]]:
        return os.system, (f"touch {self.target}",)


@pytest.mark.parametrize("protocol", [2, 4, 5])
def test_numpy_and_builtin_data_round_trip(protocol: int) -> None:
    data = {
        "f": np.arange(6, dtype=np.float32).reshape(2, 3),
        "i": np.arange(3, dtype=np.int64),
        "o": np.asarray(["a$_$1", "b"], dtype=object),
        "u": np.asarray(["x", "yz"]),
        "s": np.float64(1.5),
        "nested": [1, 2.5, "x", (None, True), {"k": b"bytes"}],
        "ordered": collections.OrderedDict(a=1),
    }
    out = safe_loads(pickle.dumps(data, protocol=protocol))
    for key in ("f", "i", "o", "u"):
        np.testing.assert_array_equal(out[key], data[key])
    assert out["s"] == 1.5 and out["nested"] == data["nested"] and out["ordered"] == {"a": 1}


def test_pickle_with_code_is_refused_and_never_executed(tmp_path: Path) -> None:
    target = tmp_path / "pwned"
    path = tmp_path / "evil.pkl"
    path.write_bytes(pickle.dumps({"train": CreatesFile(target)}))
    with pytest.raises(DataError, match=r"evil\.pkl.*refused to unpickle global '(posix|os|nt)\.system'"):
        safe_load(path)
    with pytest.raises(DataError, match="system"):
        load_dataset(path)
    assert not target.exists()
    pickle.loads(path.read_bytes())  # the plain loader would run it: proves the test file is live
    assert target.exists()


@pytest.mark.parametrize(
    "payload, name",
    [(print, "builtins.print"), (collections.Counter(a=1), "collections.Counter"), (Path("x"), "pathlib")],
)
def test_functions_and_classes_are_refused(payload: object, name: str) -> None:
    with pytest.raises(DataError, match=f"refused to unpickle global '{name}"):
        safe_loads(pickle.dumps(payload), "x.pkl")


def test_truncated_and_garbage_bytes() -> None:
    data = pickle.dumps({"a": np.arange(100)})
    with pytest.raises(DataError, match="truncated or corrupt"):
        safe_loads(data[:-10], "cut.pkl")
    with pytest.raises(DataError, match="not a readable pickle"):
        safe_loads(b"not a pickle at all", "junk.pkl")
