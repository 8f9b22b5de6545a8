"""MMSA's own MMIM on the same data, side by side with mifusion's (``mmim_vs_reference --mmsa``).

UNTESTED: written against MMSA 2.2's source (``MMSA.config.get_config_regression``, ``MMSA.models.AMIO``,
``MMSA.trains.ATIO``, ``MMSA.data_loader.MMDataLoader``) on machines where ``mmsa`` is not installed.
It writes the benchmark's prepared data (MiniLM token ids padded to 50, standardised audio and vision
with their true lengths, labels, folds) as an MMSA feature pickle, builds MMSA's MMIM with its own
``mmim``/``mosi`` settings and MiniLM-L6 as ``pretrained``, runs MMSA's trainer on CPU (its CUDA
device call bypassed) and stops it after the same number of epochs by counting its validation calls.
When ``MMSA`` cannot be imported it prints one line and returns no rows.
"""

from __future__ import annotations

import contextlib
import importlib.util
import pickle
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

import common

TEXT_TOKENS = 50


class _Done(Exception):
    """Raised from MMSA's validation call once the requested epochs are done."""


def available() -> bool:
    """Whether MMSA (pip package ``mmsa``, import name ``MMSA``) is importable."""
    return importlib.util.find_spec("MMSA") is not None


def write_feature_pickle(data: Any, path: Path) -> None:
    """The prepared splits in MMSA's unaligned feature-pickle layout (text_bert: (N, 3, 50))."""
    out: dict[str, dict[str, Any]] = {}
    for name in ("train", "valid", "test"):
        split = data.dataset[name]
        n = len(split)
        ids = np.zeros((n, TEXT_TOKENS), dtype=np.float32)
        width = min(TEXT_TOKENS, split.token_ids.shape[1])
        ids[:, :width] = split.token_ids[:, :width]
        mask = (np.arange(TEXT_TOKENS)[None, :] < split.token_lengths[:, None]).astype(np.float32)
        text_bert = np.stack([ids, mask, np.zeros_like(ids)], axis=1)
        out[name] = {
            "text_bert": text_bert, "text": text_bert,
            "audio": split.sequences["audio"].astype(np.float32),
            "vision": split.sequences["vision"].astype(np.float32),
            "audio_lengths": [max(1, int(v)) for v in split.lengths["audio"]],
            "vision_lengths": [max(1, int(v)) for v in split.lengths["vision"]],
            "raw_text": list(split.raw_text or [""] * n), "id": [str(i) for i in split.ids],
            "regression_labels": split.labels.astype(np.float32),
        }  # fmt: skip
    with open(path, "wb") as handle:
        pickle.dump(out, handle)


@contextlib.contextmanager
def _cpu_only() -> Iterator[None]:
    """MMSA calls ``torch.cuda.set_device`` unconditionally; make it a no-op on CPU."""
    import torch

    original = torch.cuda.set_device
    torch.cuda.set_device = lambda device: None  # type: ignore[assignment]
    try:
        yield
    finally:
        torch.cuda.set_device = original  # type: ignore[assignment]


def run_mmsa(args: Any, data: Any) -> list[dict[str, Any]]:
    """Trains MMSA's MMIM for ``args.epochs`` epochs; one row per epoch (same columns as mifusion's)."""
    import MMSA  # type: ignore[import-not-found]
    import torch
    from MMSA.config import get_config_regression  # type: ignore[import-not-found]
    from MMSA.data_loader import MMDataLoader  # type: ignore[import-not-found]
    from MMSA.models import AMIO  # type: ignore[import-not-found]
    from MMSA.trains import ATIO  # type: ignore[import-not-found]
    from transformers import AutoConfig

    torch.set_num_threads(args.threads)
    n_train = len(data.dataset["train"])
    with tempfile.TemporaryDirectory(prefix="mifusion-mmsa-") as tmp, _cpu_only():
        pkl = Path(tmp) / "mosi_unaligned.pkl"
        write_feature_pickle(data, pkl)
        config_file = Path(MMSA.__file__).parent / "config" / "config_regression.json"
        margs = get_config_regression(config_file=str(config_file), model_name="mmim", dataset_name="mosi")
        margs.update(
            featurePath=str(pkl), pretrained=args.text_model, transformers="bert", use_bert=True,
            feature_dims=[AutoConfig.from_pretrained(args.text_model).hidden_size, 5, 20],
            batch_size=32, device=torch.device("cpu"), train_mode="regression", cur_seed=1,
            need_data_aligned=False, need_normalized=False, train_samples=n_train, early_stop=10**6,
            model_save_path=str(Path(tmp) / "mmim-mosi.pth"),
        )  # fmt: skip
        start, cpu_start = time.perf_counter(), common.cpu_seconds()
        loaders = MMDataLoader(margs, 0)
        model = AMIO(margs)
        trainer = ATIO().getTrain(margs)
        marks: list[tuple[float, float, float, float]] = []
        do_test = trainer.do_test

        def counted(model: Any, loader: Any, mode: str = "VAL", **kwargs: Any) -> Any:
            results = do_test(model, loader, mode=mode, **kwargs)
            if mode == "VAL":
                mae = float(results.get("MAE", results.get("Mult_acc_7", float("nan"))))
                marks.append((time.perf_counter(), common.cpu_seconds(), common.peak_rss_mb(), mae))
                if len(marks) >= args.epochs:
                    raise _Done
            return results

        trainer.do_test = counted
        with contextlib.suppress(_Done):
            trainer.do_train(model, loaders)
    rows, previous, cpu_previous = [], start, cpu_start
    for epoch, (stamp, cpu, peak, mae) in enumerate(marks, start=1):
        seconds = stamp - previous  # MMSA's epoch: estimator pass + main pass + validation
        rows.append({
            "framework": "MMSA (measured)", "epoch": epoch, "padding": "fixed 50 tokens",
            "estimator_stage": "separate_pass", "fused_adam": False, "train_samples": n_train,
            "train_seconds": seconds, "samples_per_s": n_train / seconds,
            "epoch_wall_seconds_incl_valid": seconds, "epoch_cpu_seconds_incl_valid": cpu - cpu_previous,
            "peak_rss_mb": peak, "valid_mae": mae, "ratio_vs_mmsa_10.8": n_train / seconds / 10.8,
        })  # fmt: skip
        previous, cpu_previous = stamp, cpu
    return rows


def run_side_by_side(args: Any, mifusion_rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """MMSA's rows plus a printed mifusion/MMSA ratio measured in this run; [] when MMSA is missing."""
    if not available():
        print("MMSA side by side skipped: `mmsa` is not installed (pip install mmsa)")
        return []
    import mmim_vs_reference as reference

    cfg = reference.build_config(args)
    rows = run_mmsa(args, reference.build_data(args, cfg))
    for ours, theirs in zip(mifusion_rows, rows, strict=False):
        ratio = ours["samples_per_s"] / theirs["samples_per_s"]
        print(f"epoch {ours['epoch']}: mifusion / MMSA samples/s measured in this run = {ratio:.2f}x")
    return rows
