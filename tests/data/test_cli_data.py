"""`mifusion data synth|inspect|convert`: end to end, and bad input gives exit 2, one line, no file."""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import numpy as np
import pytest

from mifusion.cli import main
from mifusion.data.io import load_dataset


def test_synth_inspect_convert(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("mifusion.data.synthetic")
    pkl = tmp_path / "demo.pkl"
    assert main(["data", "synth", str(pkl), "--n", "120", "--seed", "3"]) == 0
    assert main(["data", "inspect", str(pkl), "--json"]) == 0
    capsys.readouterr()
    assert main(["data", "inspect", str(pkl), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["format"] == "mmsa" and sum(s["n"] for s in info["splits"].values()) == 120
    assert info["other_meta"]  # generator parameters survive the pickle
    assert main(["data", "convert", str(pkl), str(tmp_path / "safe")]) == 0
    assert main(["data", "convert", str(tmp_path / "safe"), str(tmp_path / "back.pkl")]) == 0
    a, b = load_dataset(pkl), load_dataset(tmp_path / "back.pkl")
    for name in a.splits:
        for m in a[name].sequences:
            np.testing.assert_array_equal(a[name].sequences[m], b[name].sequences[m])
    assert b.meta["format"] == "mmsa" and {k: v for k, v in a.meta.items() if k != "source"} == {
        k: v for k, v in b.meta.items() if k != "source"
    }
    assert main(["data", "inspect", str(tmp_path / "safe")]) == 0
    assert "split train" in capsys.readouterr().out


@pytest.mark.parametrize(
    "content",
    [b"garbage", pickle.dumps({"train": print}), pickle.dumps({"train": {}, "valid": {}})],
)
def test_bad_input_exit_2_one_line_nothing_written(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: bytes
) -> None:
    src = tmp_path / "bad.pkl"
    src.write_bytes(content)
    for args in (["inspect", str(src)], ["convert", str(src), str(tmp_path / "out")]):
        assert main(["data", *args]) == 2
        err = capsys.readouterr().err
        assert err.startswith("mifusion: error: ") and err.count("\n") == 1 and "Traceback" not in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.pkl"]


def test_help_has_examples(capsys: pytest.CaptureFixture[str]) -> None:
    for command in ("synth", "inspect", "convert"):
        with pytest.raises(SystemExit):
            main(["data", command, "--help"])
        assert "examples:" in capsys.readouterr().out


def test_inspect_strict_refuses_nonfinite(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    n = 3
    split = {
        "id": np.asarray([f"v$_${i}" for i in range(n)], dtype=object),
        "regression_labels": np.zeros(n, np.float32),
        "audio": np.ones((n, 4, 2), np.float32),
        "audio_lengths": np.full(n, 4),
    }
    top = {s: {k: v.copy() for k, v in split.items()} for s in ("train", "valid", "test")}
    top["train"]["audio"][0, 0, 0] = -np.inf
    path = tmp_path / "inf.pkl"
    path.write_bytes(pickle.dumps(top))
    assert main(["data", "inspect", str(path), "--strict"]) == 2
    assert "1 non-finite feature values (train/audio: 1)" in capsys.readouterr().err
    assert main(["data", "inspect", str(path), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["nonfinite_replaced"] == {"train/audio": 1}


@pytest.mark.parametrize(
    "name, message",
    [("missing.pkl", "no such file"), ("data.xyz", "unknown format"), ("empty", "not a dataset")],
)
def test_unreadable_paths(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str, message: str
) -> None:
    if name == "data.xyz":
        (tmp_path / name).write_text("x")
    elif name == "empty":
        (tmp_path / name).mkdir()
    assert main(["data", "inspect", str(tmp_path / name)]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


def test_synth_param_overrides_reach_the_generator(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pytest.importorskip("mifusion.data.synthetic")
    base, shared = tmp_path / "base.pkl", tmp_path / "shared.pkl"
    assert main(["data", "synth", str(base), "--n", "60"]) == 0
    assert (
        main(
            [
                "data",
                "synth",
                str(shared),
                "--n",
                "60",
                "--param",
                "shared_strength=2",
                "--param",
                "num_shared=3",
            ]
        )
        == 0
    )
    a, b = load_dataset(base), load_dataset(shared)
    assert not np.allclose(a["train"].sequences["audio"], b["train"].sequences["audio"])
    capsys.readouterr()
    for bad in ("bogus=1", "noise=abc", "noise"):
        assert main(["data", "synth", str(tmp_path / "x.pkl"), "--param", bad]) == 2
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and "--param" in err
    assert not (tmp_path / "x.pkl").exists()
