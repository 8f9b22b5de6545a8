"""Best-state copies keep aliased parameters aliased, and checkpoints store them once."""

from __future__ import annotations

from pathlib import Path

import torch

from mifusion.training.checkpoint import clone_state, load_checkpoint, save_checkpoint


def _aliased() -> torch.nn.Module:
    shared = torch.nn.Linear(64, 64)
    return torch.nn.ModuleDict({"encoder": shared, "alias": shared, "head": torch.nn.Linear(64, 1)})


def test_clone_state_copies_each_shared_tensor_once_and_detaches(tmp_path: Path) -> None:
    model = _aliased()
    state = model.state_dict()
    copy = clone_state(state)
    assert copy.keys() == state.keys()
    assert copy["encoder.weight"] is copy["alias.weight"]
    assert len({t.untyped_storage().data_ptr() for t in copy.values()}) == 4  # 2 shared + 2 head
    before = copy["head.weight"].clone()
    with torch.no_grad():
        model["head"].weight.add_(1.0)
    assert torch.equal(copy["head.weight"], before)
    save_checkpoint(tmp_path / "best.pt", {"model": copy})
    naive = {k: v.detach().clone() for k, v in state.items()}
    save_checkpoint(tmp_path / "naive.pt", {"model": naive})
    assert (tmp_path / "best.pt").stat().st_size < 0.6 * (tmp_path / "naive.pt").stat().st_size
    fresh = _aliased()
    fresh.load_state_dict(load_checkpoint(tmp_path / "best.pt")["model"])
    assert torch.equal(fresh["alias"].weight, copy["encoder.weight"])
