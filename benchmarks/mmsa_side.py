"""MMSA 2.2.1's own MMIM on the same data, side by side with mifusion's (``mmim_vs_reference --mmsa``).

Install MMSA outside the project environment (its pinned dependencies are not the project's) and put it
on ``PYTHONPATH`` for the run; pandas, scikit-learn, tqdm, transformers and torch come from the project::

    pip install --no-deps --target DIR mmsa==2.2.1 easydict nvidia-ml-py3
    PYTHONPATH=DIR python benchmarks/mmim_vs_reference.py --mmsa --epochs 2 --threads 2

The parent process writes the benchmark's prepared data (MiniLM token ids padded to 50 with their
attention mask, standardised audio 375 x 5 and vision 500 x 20 with their true lengths, labels, folds)
as an MMSA unaligned feature pickle, then runs this file as a child process (clean peak memory, no
patches leak into mifusion's run). The child builds MMSA's MMIM with MMSA's own ``mmim``/``mosi``
settings (``get_config_regression``: bidirectional LSTMs, hidden 16, memory 1, batch 32, Adam, lr
1e-3/5e-5, clipping 1.0) and the local MiniLM-L6 as ``pretrained``, and drives it as MMSA's
``run._run`` does (``MMDataLoader`` -> ``AMIO`` -> ``ATIO().getTrain`` -> ``do_train``) on CPU. It
stops after ``--epochs`` epochs, times each epoch's estimator pass (``train_mmilb``) and main pass
(``train_others``) and reads each epoch's validation MAE from MMSA's own ``do_test``.

What differs from ``MMSA_run`` and why (nothing inside the MMSA package is edited):

* ``MMSA_run`` is not called: it calls ``torch.cuda.set_device`` (fails without CUDA) and gives no hook
  to stop after N epochs. Its ``_run`` sequence is replayed instead, with ``num_workers=0`` (2 threads).
* ``feature_dims[0]`` is reset to the encoder's hidden size (384) after ``MMDataLoader``, which writes a
  hard-coded 768 (bert-base) there; without it MMIM's text-side layers do not fit MiniLM.
* ``ReduceLROnPlateau(..., verbose=True)`` in MMSA's trainer: torch 2.13 removed ``verbose``, so the
  trainer module's ``ReduceLROnPlateau`` name is replaced at run time by a subclass that drops it.
* tqdm bars are switched off (``TQDM_DISABLE=1``).
When ``MMSA`` cannot be imported, :func:`run_side_by_side` prints one line and returns no rows.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import importlib.util
import json
import os
import pickle
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

import common

TEXT_TOKENS = 50
SHAPES = {"audio": 375, "vision": 500}
"""MMSA's MOSI unaligned arrays are fixed-size; sequences are right-padded to at least these lengths."""
FRAMEWORK = "MMSA 2.2.1 (measured)"


class _Done(Exception):
    """Raised from MMSA's next estimator pass once the requested epochs are done."""


def available() -> bool:
    """Whether MMSA (pip package ``mmsa``, import name ``MMSA``) is importable."""
    return importlib.util.find_spec("MMSA") is not None


def _mmsa_root() -> str:
    """The folder MMSA is imported from (handed to the child's PYTHONPATH)."""
    spec = importlib.util.find_spec("MMSA")
    return str(Path(spec.origin).parents[1]) if spec and spec.origin else ""


def _pad(values: np.ndarray, length: int) -> np.ndarray:
    """(N, T, D) -> (N, max(T, length), D) float32, zero right-padding."""
    extra = max(0, length - values.shape[1])
    return np.pad(values.astype(np.float32), ((0, 0), (0, extra), (0, 0)))


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
            "audio": _pad(split.sequences["audio"], SHAPES["audio"]),
            "vision": _pad(split.sequences["vision"], SHAPES["vision"]),
            "audio_lengths": [max(1, int(v)) for v in split.lengths["audio"]],
            "vision_lengths": [max(1, int(v)) for v in split.lengths["vision"]],
            "raw_text": list(split.raw_text or [""] * n), "id": [str(i) for i in split.ids],
            "regression_labels": split.labels.astype(np.float32),
        }  # fmt: skip
    with open(path, "wb") as handle:
        pickle.dump(out, handle)


def write_tiny_bert(path: Path, vocab_size: int) -> str:
    """A randomly initialised tiny BERT with a placeholder vocabulary (``--smoke``: no download)."""
    from transformers import BertConfig, BertModel

    sizes = common.tiny_text_encoder()
    config = BertConfig(
        vocab_size=vocab_size, hidden_size=sizes["hidden_size"], num_hidden_layers=sizes["num_layers"],
        num_attention_heads=sizes["num_heads"], intermediate_size=sizes["intermediate_size"],
    )  # fmt: skip
    BertModel(config).save_pretrained(path)
    words = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + [f"w{i}" for i in range(5, vocab_size)]
    (path / "vocab.txt").write_text("\n".join(words) + "\n", encoding="utf-8")
    return str(path)


def _quiet_scheduler(module: Any) -> None:
    """MMSA passes ``verbose=True`` to ReduceLROnPlateau, which torch 2.13 no longer accepts: the name is
    rebound in ``module`` (one implementation, in the differential oracle ``tests/models/mmsa_oracle.py``)."""
    folder = str(Path(__file__).resolve().parents[1] / "tests" / "models")
    if folder not in sys.path:
        sys.path.append(folder)
    importlib.import_module("mmsa_oracle")._scheduler_without_verbose(module)


def train_mmsa(features: str, text_model: str, epochs: int, threads: int, seed: int) -> list[dict[str, Any]]:
    """Trains MMSA's MMIM for ``epochs`` epochs in this process; one row per epoch."""
    import importlib

    import torch
    from MMSA.config import get_config_regression  # type: ignore[import-not-found]
    from MMSA.data_loader import MMDataLoader  # type: ignore[import-not-found]
    from MMSA.models import AMIO  # type: ignore[import-not-found]
    from MMSA.trains import ATIO  # type: ignore[import-not-found]
    from MMSA.utils import setup_seed  # type: ignore[import-not-found]
    from transformers import AutoConfig

    torch.set_num_threads(threads)
    _quiet_scheduler(importlib.import_module("MMSA.trains.singleTask.MMIM"))
    with open(features, "rb") as handle:
        n_train = len(pickle.load(handle)["train"]["regression_labels"])
    with tempfile.TemporaryDirectory(prefix="mifusion-mmsa-") as tmp:
        margs = get_config_regression("mmim", "mosi")
        margs.update(
            featurePath=features, pretrained=text_model, device=torch.device("cpu"), train_mode="regression",
            custom_feature=None, feature_T=None, feature_A=None, feature_V=None, cur_seed=1,
            train_samples=n_train, model_save_path=str(Path(tmp) / "mmim-mosi.pth"),
        )  # fmt: skip
        setup_seed(seed)
        start, cpu_start = time.perf_counter(), common.cpu_seconds()
        loaders = MMDataLoader(margs, 0)
        margs.feature_dims[0] = AutoConfig.from_pretrained(text_model).hidden_size  # loader writes 768
        model = AMIO(margs).to(margs.device)
        trainer = ATIO().getTrain(margs)
        marks: list[dict[str, float]] = []  # per epoch: pass times, validation MAE, end stamps
        current: dict[str, float] = {}
        train_mmilb, train_others, do_test = trainer.train_mmilb, trainer.train_others, trainer.do_test

        def close_epoch() -> None:
            current.update(end=time.perf_counter(), cpu_end=common.cpu_seconds(), peak=common.peak_rss_mb())
            marks.append(dict(current))
            print(
                f"MMSA epoch {len(marks)}: estimator pass {current.get('estimator', 0):.1f} s, main pass "
                f"{current.get('main', 0):.1f} s, valid MAE {current.get('mae', float('nan')):.4f}, "
                f"peak RSS {current['peak']:.0f} MB",
                file=sys.stderr,
                flush=True,
            )

        def timed_mmilb(loaders: Any) -> Any:
            if current:
                close_epoch()
                if len(marks) >= epochs:
                    raise _Done
            current.clear()
            current.update(begin=time.perf_counter(), cpu_begin=common.cpu_seconds())
            loss = train_mmilb(loaders)
            current["estimator"] = time.perf_counter() - current["begin"]
            return loss

        def timed_others(loaders: Any) -> Any:
            begin = time.perf_counter()
            result = train_others(loaders)
            current["main"] = time.perf_counter() - begin
            return result

        def read_mae(model: Any, loader: Any, mode: str = "VAL", **kwargs: Any) -> Any:
            results = do_test(model, loader, mode=mode, **kwargs)
            if mode == "VAL":
                current["mae"] = float(results["MAE"])
            return results

        trainer.train_mmilb, trainer.train_others, trainer.do_test = timed_mmilb, timed_others, read_mae
        with contextlib.suppress(_Done):
            trainer.do_train(model, loaders)
        if current and len(marks) < epochs:  # MMSA stopped early on its own
            close_epoch()
    return _rows(marks, n_train, start, cpu_start)


def _rows(
    marks: list[dict[str, float]], n_train: int, start: float, cpu_start: float
) -> list[dict[str, Any]]:
    """Rows with the same columns as mifusion's, plus MMSA's two passes."""
    rows = []
    for epoch, mark in enumerate(marks, start=1):
        seconds = mark["estimator"] + mark["main"]
        wall_from = start if epoch == 1 else marks[epoch - 2]["end"]
        cpu_from = cpu_start if epoch == 1 else marks[epoch - 2]["cpu_end"]
        rows.append({
            "framework": FRAMEWORK, "epoch": epoch, "padding": "fixed 50 tokens",
            "estimator_stage": "separate_pass", "fused_adam": False, "train_samples": n_train,
            "train_seconds": seconds, "samples_per_s": n_train / seconds,
            "epoch_wall_seconds_incl_valid": mark["end"] - wall_from,
            "epoch_cpu_seconds_incl_valid": mark["cpu_end"] - cpu_from,
            "peak_rss_mb": mark["peak"], "valid_mae": mark["mae"], "ratio_vs_mmsa_10.8": n_train / seconds / 10.8,
            "estimator_pass_seconds": mark["estimator"], "main_pass_seconds": mark["main"],
        })  # fmt: skip
    return rows


def run_side_by_side(args: Any, mifusion_rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """MMSA's rows (trained in a child process) plus a printed mifusion/MMSA ratio; [] without MMSA."""
    if not available():
        print("MMSA side by side skipped: `mmsa` is not installed (see benchmarks/mmsa_side.py)")
        return []
    import mmim_vs_reference as reference

    data = reference.build_data(args, reference.build_config(args))
    with tempfile.TemporaryDirectory(prefix="mifusion-mmsa-") as tmp:
        features, out = Path(tmp) / "mosi_unaligned_50.pkl", Path(tmp) / "rows.json"
        write_feature_pickle(data, features)
        text_model = args.text_model
        if args.smoke:
            text_model = write_tiny_bert(
                Path(tmp) / "tiny-bert", int(data.dataset["train"].token_ids.max()) + 1
            )
        command = [
            sys.executable, str(Path(__file__).resolve()), "--features", str(features),
            "--text-model", str(text_model), "--epochs", str(args.epochs), "--threads", str(args.threads),
            "--seed", str(args.seed), "--out-json", str(out),
        ]  # fmt: skip
        env = {**os.environ, "TQDM_DISABLE": "1", "OMP_NUM_THREADS": str(args.threads)}
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [_mmsa_root(), env.get("PYTHONPATH")]))
        done = subprocess.run(command, env=env)
        if done.returncode != 0 or not out.is_file():  # keep mifusion's rows: report them alone
            print(
                f"MMSA side by side failed (child exit {done.returncode}; its output is above); mifusion alone"
            )
            return []
        rows: list[dict[str, Any]] = json.loads(out.read_text(encoding="utf-8"))
    for ours, theirs in zip(mifusion_rows, rows, strict=False):
        ratio = ours["samples_per_s"] / theirs["samples_per_s"]
        print(
            f"epoch {ours['epoch']}: mifusion / MMSA samples/s measured in this run = {ratio:.2f}x; "
            f"valid MAE mifusion {ours['valid_mae']:.4f} vs MMSA {theirs['valid_mae']:.4f}"
        )
    return rows


def main(argv: Sequence[str] | None = None) -> None:
    """Child-process entry: trains MMSA's MMIM on a feature pickle and writes its rows as JSON."""
    parser = argparse.ArgumentParser(description="MMSA's MMIM on a feature pickle (child of --mmsa)")
    parser.add_argument("--features", required=True, help="MMSA unaligned feature pickle")
    parser.add_argument("--text-model", required=True, help="local BERT-type model directory")
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=1111)
    parser.add_argument("--out-json", type=Path, required=True)
    args = parser.parse_args(argv)
    rows = train_mmsa(args.features, args.text_model, args.epochs, args.threads, args.seed)
    args.out_json.write_text(json.dumps(rows), encoding="utf-8")


if __name__ == "__main__":
    main(sys.argv[1:])
