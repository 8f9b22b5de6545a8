"""An arm's results are reused only for the same config and code; otherwise moved aside and re-run."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from studies.provenance import claim, code_hash, provenance

from mifusion.presets import resolve
from studies import common

TINY = (
    "data.synth.n=90",
    "train.epochs=1",
    "model.hidden_dim=8",
    "train.batch_size=16",
    "train.num_threads=1",
)


def test_hashes_follow_the_config_and_the_code_but_not_the_seeds(tmp_path: Path) -> None:
    a = provenance(resolve("synth_lf_dnn", None, ["train.seeds=[1]"]), code="c1")
    assert a == provenance(resolve("synth_lf_dnn", None, ["train.seeds=[1,2,3]"]), code="c1")
    assert (
        a.config_hash != provenance(resolve("synth_lf_dnn", None, ["train.lr=0.01"]), code="c1").config_hash
    )
    assert provenance(resolve("synth_lf_dnn", None), code="c2").code_hash == "c2"
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "m.py").write_text("x = 1\n")
    before = code_hash(tmp_path / "pkg")
    (tmp_path / "pkg" / "m.py").write_text("x = 2\n")
    assert code_hash(tmp_path / "pkg") != before


def test_claim_moves_results_of_another_version_aside(tmp_path: Path) -> None:
    arm = tmp_path / "arm"
    first = provenance(resolve("synth_lf_dnn", None), code="c1")
    assert claim(arm, first) is False  # nothing to reuse yet
    (arm / "seed_1").mkdir()
    assert claim(arm, first) is True
    assert claim(arm, provenance(resolve("synth_lf_dnn", None), code="c2")) is False
    stale = [p for p in tmp_path.iterdir() if p.name.startswith("arm.stale-")]
    assert len(stale) == 1 and (stale[0] / "seed_1").is_dir()  # never deleted
    assert json.loads((arm / "arm.json").read_text())["code_hash"] == "c2" and not (arm / "seed_1").exists()


@pytest.mark.parametrize("change", ["config", "code"])
def test_run_arm_reruns_when_a_hash_differs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, change: str
) -> None:
    arm = common.Arm("base", "synth_lf_dnn")
    first = common.run_arm(arm, [1], tmp_path, TINY)
    stamp = (tmp_path / "base" / "seed_1" / "results.json").stat().st_mtime_ns
    again = common.run_arm(arm, [1], tmp_path, TINY)  # same hashes: read back, not retrained
    assert again.test == first.test
    assert (tmp_path / "base" / "seed_1" / "results.json").stat().st_mtime_ns == stamp
    extra = TINY
    if change == "code":
        monkeypatch.setattr(common, "provenance", lambda cfg: provenance(cfg, code="another-version"))
    else:
        extra = (*TINY, "train.lr=0.01")
    common.run_arm(arm, [1], tmp_path, extra)
    assert len(list(tmp_path.glob("base.stale-*"))) == 1
    record = json.loads((tmp_path / "base" / "arm.json").read_text())
    assert (record["code_hash"] == "another-version") == (change == "code")
