"""Runs MMSA 2.2.1's own MMIM trainer and mifusion's parity MMIM on identical batches and records each step.

Used by ``test_mmim_vs_mmsa.py`` as a differential oracle. Nothing of MMSA is copied: its package is imported
from a folder outside the environment (``MIFUSION_MMSA_DIR``, default ``<repo>/.mmsa``; ``make test``
installs it there with ``pip install --no-deps --target .mmsa mmsa==2.2.1 easydict nvidia-ml-py3``) and its
``do_train`` runs unmodified. Every step either side takes is recorded through torch's global optimiser
hooks (gradients as the optimiser sees them, after clipping; every parameter after the step), a recording
``Tensor.backward`` (the loss) and a forward hook (lld, nce, H, the task loss).

What is bypassed on MMSA's side, and why (nothing inside MMSA is edited):
- ``MMSA_run`` is not called (it calls ``torch.cuda.set_device``); the model and trainer are built as it
  builds them, from MMSA's own ``mmim``/``mosi`` config with the sizes below.
- torch 2.13's ``ReduceLROnPlateau`` no longer takes MMSA's ``verbose=True``: the name is rebound in MMSA's
  trainer module to a subclass that drops it.
- MMSA reads the text width from a 768-d BERT; the tiny BERT's width is passed instead.
- The data loader is a list of batches per pass in mifusion's sampler order (MMSA shuffles its own).
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import os
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

REPO = Path(__file__).resolve().parents[2]


def mmsa_dir() -> Path:
    """Where MMSA 2.2.1 is installed (``MIFUSION_MMSA_DIR``, default ``<repo>/.mmsa``)."""
    return Path(os.environ.get("MIFUSION_MMSA_DIR", REPO / ".mmsa"))


def import_mmsa() -> bool:
    """Puts the MMSA folder on ``sys.path``; whether ``MMSA`` is then importable."""
    folder = str(mmsa_dir())
    if Path(folder).is_dir() and folder not in sys.path:
        sys.path.append(folder)
    return importlib.util.find_spec("MMSA") is not None


@dataclass
class Step:
    """One optimiser step: which stage, the loss back-propagated, named values, gradients and parameters.

    Names are MMSA's parameter names (mifusion's are mapped onto them).
    """

    stage: str  # "estimator" (stage 1) or "main" (stage 2)
    loss: float
    values: dict[str, float] = field(default_factory=dict)
    grads: dict[str, torch.Tensor] = field(default_factory=dict)
    params: dict[str, torch.Tensor] = field(default_factory=dict)


class Recorder:
    """Records every step of one side through global optimiser hooks (see module docstring)."""

    def __init__(self, model: torch.nn.Module, names: dict[int, str], stages: dict[int, str]) -> None:
        self.model, self.names, self.stages = model, names, stages
        self.steps: list[Step] = []
        self.last_loss = float("nan")
        self.last_values: dict[str, float] = {}

    def _pre(self, optimizer: torch.optim.Optimizer, *_: Any) -> None:
        stage = self.stages.get(id(optimizer))
        if stage is None:
            return
        grads = {
            self.names[id(p)]: p.grad.detach().clone()
            for group in optimizer.param_groups
            for p in group["params"]
            if p.grad is not None
        }
        values = dict(self.last_values) if stage == "main" else {}
        self.steps.append(Step(stage, self.last_loss, values, grads))

    def _post(self, optimizer: torch.optim.Optimizer, *_: Any) -> None:
        if id(optimizer) in self.stages:
            params = {self.names[id(p)]: p.detach().clone() for p in self.model.parameters()}
            self.steps[-1].params = params

    @contextlib.contextmanager
    def recording(self, values_of: Any) -> Iterator[None]:
        """Hooks in while the block runs; ``values_of(module, args, kwargs, output)`` -> named floats."""
        from torch.optim.optimizer import (
            register_optimizer_step_post_hook,
            register_optimizer_step_pre_hook,
        )

        backward = torch.Tensor.backward
        recorder = self

        def recording_backward(tensor: torch.Tensor, *args: Any, **kwargs: Any) -> Any:
            recorder.last_loss = float(tensor.detach())
            return backward(tensor, *args, **kwargs)

        def on_forward(module: Any, args: Any, kwargs: Any, output: Any) -> None:
            if module.training:
                recorder.last_values = values_of(module, args, kwargs, output)

        handles = [
            register_optimizer_step_pre_hook(self._pre),
            register_optimizer_step_post_hook(self._post),
            self.model.register_forward_hook(on_forward, with_kwargs=True),
        ]
        torch.Tensor.backward = recording_backward  # type: ignore[method-assign]
        try:
            yield
        finally:
            torch.Tensor.backward = backward  # type: ignore[method-assign]
            for handle in handles:
                handle.remove()


# -- MMSA's side ----------------------------------------------------------------------------------------


def _float(value: Any) -> float:
    return float(value.detach()) if isinstance(value, torch.Tensor) else float(value)


class _Done(Exception):
    """Raised at the start of MMSA's next stage-1 pass once the requested epochs are done."""


def mmsa_batches(
    split: Any, order: list[list[int]], dtype: torch.dtype = torch.float64
) -> list[dict[str, Any]]:
    """MMSA batch dicts (``text`` (B, 3, L) ids/mask/segments, padded frames, lengths) in ``order``."""
    batches = []
    ids = torch.as_tensor(split.token_ids, dtype=torch.float32)
    mask = (torch.arange(ids.shape[1])[None, :] < torch.as_tensor(split.token_lengths)[:, None]).float()
    text = torch.stack([ids, mask, torch.zeros_like(ids)], dim=1)  # (N, 3, L)
    for rows in order:
        index = torch.as_tensor(rows)
        batches.append(
            {
                "text": text[index],
                "audio": torch.as_tensor(split.sequences["audio"]).to(dtype)[index],
                "vision": torch.as_tensor(split.sequences["vision"]).to(dtype)[index],
                "audio_lengths": torch.as_tensor(split.lengths["audio"])[index],
                "vision_lengths": torch.as_tensor(split.lengths["vision"])[index],
                "labels": {"M": torch.as_tensor(split.labels).to(dtype)[index]},
                "index": index,
                "id": [str(i) for i in np.asarray(split.ids)[rows]],
            }
        )
    return batches


class EpochLoader:
    """MMSA's ``dataloader['train']``: each epoch's two passes (stage 1, stage 2) get that epoch's batches."""

    def __init__(self, epochs: list[list[dict[str, Any]]]) -> None:
        self.epochs, self.passes = epochs, 0

    def __len__(self) -> int:
        return len(self.epochs[0])

    def __iter__(self) -> Iterator[dict[str, Any]]:
        epoch = min(self.passes // 2, len(self.epochs) - 1)
        self.passes += 1
        return iter(self.epochs[epoch])


def _scheduler_without_verbose(module: Any) -> None:
    base = module.ReduceLROnPlateau

    class Plateau(base):  # type: ignore[misc,valid-type]
        def __init__(self, *args: Any, verbose: Any = None, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)

    module.ReduceLROnPlateau = Plateau


def run_mmsa(
    data: Any, bert_dir: str, order: list[list[list[int]]], *, bidirectional: bool, hidden: int, seed: int
) -> tuple[list[Step], dict[str, torch.Tensor]]:
    """Trains MMSA's MMIM for ``len(order)`` epochs on ``order``'s batches.

    Returns every step and the parameters MMSA starts from (after its own Xavier init).
    """
    from MMSA.config import get_config_regression  # type: ignore[import-not-found]
    from MMSA.models import AMIO  # type: ignore[import-not-found]
    from MMSA.trains import ATIO  # type: ignore[import-not-found]

    _scheduler_without_verbose(importlib.import_module("MMSA.trains.singleTask.MMIM"))
    train = data.dataset["train"]
    dims = [hidden, train.sequences["audio"].shape[2], train.sequences["vision"].shape[2]]
    with tempfile.TemporaryDirectory(prefix="mifusion-mmsa-oracle-") as tmp:
        args = get_config_regression("mmim", "mosi")
        args.update(
            pretrained=bert_dir, device=torch.device("cpu"), train_mode="regression", feature_dims=dims,
            bidirectional=bidirectional, dropout_prj=0.0, train_samples=len(train), cur_seed=1,
            model_save_path=str(Path(tmp) / "mmim.pth"), early_stop=100,
        )  # fmt: skip
        torch.manual_seed(seed)
        model = AMIO(args).double()  # float64: see test_mmim_vs_mmsa.py
        trainer = ATIO().getTrain(args)
        loaders = {
            "train": EpochLoader([mmsa_batches(train, epoch) for epoch in order]),
            "valid": mmsa_batches(data.dataset["valid"], [list(range(len(data.dataset["valid"])))]),
        }
        names = {id(p): n for n, p in model.named_parameters()}
        initial: dict[str, torch.Tensor] = {}

        def snapshot(module: Any, args: Any) -> None:
            if not initial:
                initial.update({n: p.detach().clone() for n, p in module.named_parameters()})

        passes = {"count": 0}
        stage1 = trainer.train_mmilb

        def limited_stage1(loaders: Any) -> Any:
            if passes["count"] == len(order):
                raise _Done
            passes["count"] += 1
            return stage1(loaders)

        trainer.train_mmilb = limited_stage1
        snap = model.register_forward_pre_hook(snapshot)
        recorder = Recorder(model, names, {})

        def values_of(module: Any, args: Any, kwargs: Any, output: Any) -> dict[str, float]:
            labels = kwargs.get("y")
            task = float((output["M"] - labels).abs().mean()) if labels is not None else float("nan")
            return {
                "lld": _float(output["lld"]), "nce": _float(output["nce"]), "H": _float(output["H"]), "task": task,
            }  # fmt: skip

        from torch.optim.optimizer import register_optimizer_step_pre_hook

        def tag(optimizer: torch.optim.Optimizer, *_: Any) -> None:
            """The optimisers exist only inside do_train: tagged by stage when they step."""
            if optimizer is getattr(trainer, "optimizer_mmilb", None):
                recorder.stages[id(optimizer)] = "estimator"
            elif optimizer is getattr(trainer, "optimizer_main", None):
                recorder.stages[id(optimizer)] = "main"

        tagging = register_optimizer_step_pre_hook(tag)  # registered first: runs before the recorder's
        try:
            with recorder.recording(values_of), contextlib.suppress(_Done):
                trainer.do_train(model, loaders)
        finally:
            tagging.remove()
            snap.remove()
    return recorder.steps, initial
