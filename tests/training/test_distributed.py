"""DDP on CPU through Lightning Fabric: two gloo processes (torchrun) reach the metrics of one process.

Like with like: the global batch (16) is the same; the tiny model's in-batch InfoNCE term is switched off
(its negatives are per process, so it would differ by design) and dropout is off. The same two processes
then train with the critic on (estimator parameters sit outside DDP and are all-reduced by mifusion) and
must end with identical parameters, and a non-finite loss on one process only must skip the step on both.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from tiny_training_model import TinyModel, install, tiny_config

from mifusion.config import to_dict
from mifusion.experiments.runner import train_one

HERE = Path(__file__).parent

SCRIPT = """
import json, sys
sys.path.insert(0, {here!r})
import tiny_training_model as t
from mifusion.config import from_dict, ExperimentConfig
import mifusion.experiments.runner as runner
t.install()
original = t.TinyModel.__init__
def init(self, spec, dim=8, nan_after=None):
    original(self, spec, dim, nan_after)
    self.dropout.p = 0.0
    self.critic.weight.weight.data.zero_()
    self.critic.weight.weight.requires_grad_(False)
t.TinyModel.__init__ = init
cfg = from_dict(ExperimentConfig, json.loads({cfg!r}))
result = runner.train_one(cfg, {out!r}, 3)
import torch, torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel
from mifusion.errors import TrainingError
from mifusion.training.distributed import launch
from mifusion.experiments.build import build_trainer
rank = dist.get_rank()
print("RESULT", rank, json.dumps(result.test))
t.TinyModel.__init__ = original
data, fabric = t.tiny_prepared(), launch("cpu")
for stage in ("efficient", "separate_pass"):
    cfg = t.tiny_config(epochs=1, modality_dropout=0.3, estimator_stage=stage)
    trainer = build_trainer(t.TinyModel(data.spec), data, cfg, 4, fabric=fabric)
    assert isinstance(trainer.module._forward_module, DistributedDataParallel)
    before = trainer.model.critic.weight.weight.detach().clone()
    trainer.fit()
    assert not torch.equal(before, trainer.model.critic.weight.weight)
    flat = torch.cat([p.detach().flatten() for p in trainer.model.parameters()])
    with open({out!r} + f"-params-{{stage}}-{{rank}}.json", "w") as handle:  # long lines interleave
        json.dump(flat.tolist(), handle)
bad = build_trainer(t.TinyModel(data.spec, nan_after=2 if rank == 1 else None), data,
              t.tiny_config(epochs=1, max_nonfinite_steps=3), 4, fabric=fabric)
try:
    bad.fit()
except TrainingError as err:
    print("SKIPPED", rank, bad.state.nonfinite_total, str(err)[:40])
"""


@pytest.mark.slow
@pytest.mark.skipif(
    shutil.which("torchrun", path=str(Path(sys.executable).parent)) is None, reason="no torchrun"
)
def test_two_gloo_processes_match_one_process(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = tiny_config(epochs=2, bucketing=False)
    code = SCRIPT.format(here=str(HERE), cfg=json.dumps(to_dict(cfg)), out=str(tmp_path / "ddp"))
    (tmp_path / "script.py").write_text(code)
    torchrun = str(Path(sys.executable).parent / "torchrun")
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.run(
        [torchrun, "--nproc_per_node", "2", "--master_port", "29533", str(tmp_path / "script.py")],
        env=env, capture_output=True, text=True, timeout=180,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    lines = [line.split(" ", 2) for line in proc.stdout.splitlines() if line.startswith("RESULT")]
    assert sorted(int(rank) for _, rank, _ in lines) == [0, 1]
    ddp = json.loads(lines[0][2])
    assert ddp == json.loads(lines[1][2])  # both processes hold the same model
    for stage in ("efficient", "separate_pass"):  # every parameter equal, critic (outside DDP) included
        ranks = [(tmp_path / f"ddp-params-{stage}-{rank}.json").read_text() for rank in (0, 1)]
        assert ranks[0] == ranks[1]
    skipped = sorted(line for line in proc.stdout.splitlines() if line.startswith("SKIPPED"))
    assert [line.split(" ")[1:3] for line in skipped] == [["0", "3"], ["1", "3"]]

    install(monkeypatch)
    original = TinyModel.__init__

    def init(self, spec, dim=8, nan_after=None):  # type: ignore[no-untyped-def]
        original(self, spec, dim, nan_after)
        self.dropout.p = 0.0
        self.critic.weight.weight.data.zero_()
        self.critic.weight.weight.requires_grad_(False)

    monkeypatch.setattr(TinyModel, "__init__", init)
    single = train_one(cfg, tmp_path / "single", 3).test
    assert ddp["mae"] == pytest.approx(single["mae"], abs=1e-3)
    assert ddp["corr"] == pytest.approx(single["corr"], abs=1e-3)
    assert (tmp_path / "ddp" / "results.json").exists()
