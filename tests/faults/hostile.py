"""Generators of hostile inputs: each writes files under a folder and returns the command line to try.

A case is (issue class, name, build, expected words). ``build(folder)`` creates the hostile files in
``folder`` and returns mifusion's argv; the suite then checks exit code 2, one line on stderr containing
the expected words, nothing written anywhere, and no code run (pickles try to create ``PWNED``).
Classes follow issue 28: 1 runs lost, 2 errors after work starts, 3 ranges, 4 lying data,
5 the operating system, 6 newcomer frictions.
"""

from __future__ import annotations

import json
import os
import pickle
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from mifusion.config import load, to_dict
from mifusion.data.safe_format import save_safe
from mifusion.data.synthetic import SynthParams, generate

TINY = ["--quiet", "--set", "data.synth.n=40", "train.epochs=1", "train.num_threads=1"]
PWNED = "PWNED"


@dataclass(frozen=True)
class Case:
    """One hostile input: ``build(folder) -> argv``; stderr must contain every word of ``expect``."""

    fault_class: int
    name: str
    build: Callable[[Path], list[str]]
    expect: tuple[str, ...]


def tiny_dataset(**kwargs: Any) -> Any:
    params = SynthParams(max_lengths={"text": 6, "audio": 5, "vision": 5})
    return generate(like="mosi", n=30, seed=0, params=params, **kwargs)


def safe_dir(folder: Path, edit: Callable[[dict[str, Any], Path], None] | None = None) -> Path:
    """A small safe-format dataset; ``edit(manifest, root)`` tampers with it after export."""
    root = folder / "data"
    save_safe(tiny_dataset(), root)
    if edit is not None:
        manifest = json.loads((root / "manifest.json").read_text())
        edit(manifest, root)
        (root / "manifest.json").write_text(json.dumps(manifest))
    return root


def replace_array(root: Path, manifest: dict[str, Any], key: str, array: np.ndarray) -> None:
    """Overwrites ``train/<key>.npy`` and its manifest entry (a consistent but lying file)."""
    np.save(root / "train" / f"{key}.npy", array, allow_pickle=False)
    entry = manifest["splits"]["train"]["arrays"][key]
    entry.update(shape=list(array.shape), dtype=array.dtype.str)


def _array(root: Path, key: str) -> np.ndarray:
    return np.load(root / "train" / f"{key}.npy")


def inspect(root: Path | str) -> list[str]:
    return ["data", "inspect", str(root), "--strict"]


def run_dir(folder: Path, overrides: tuple[str, ...] = ()) -> Path:
    """A finished-looking run directory (config.yaml, a seed folder), no training needed."""
    run = folder / "run"
    (run / "seed_1").mkdir(parents=True)
    cfg = load(None, ["data.synth.n=40", *overrides])
    (run / "config.yaml").write_text(yaml.safe_dump(to_dict(cfg), sort_keys=False))
    (run / "seed_1" / "best.pt").write_bytes(b"not a checkpoint")
    return run


class Reduce:
    """Pickles to ``os.system('touch PWNED')``: a pickle that runs code when loaded unsafely."""

    def __init__(self, folder: Path) -> None:
        self.command = f"touch {folder / PWNED}"

    def __reduce__(self) -> tuple[Any, ...]:
        return (os.system, (self.command,))


def _pickle(folder: Path, obj: Any) -> list[str]:
    path = folder / "data.pkl"
    path.write_bytes(pickle.dumps(obj, protocol=2))
    return ["train", *TINY, "--data", str(path), "--out", str(folder / "out")]


def _raw_split(n: int, **fields: Any) -> dict[str, Any]:
    split = {"id": np.array([f"v{i}" for i in range(n)], dtype=object), "regression_labels": np.zeros(n)}
    split["audio"] = np.zeros((n, 4, 3), dtype=np.float32)
    split.update(fields)
    return split


def _fifo(folder: Path, name: str) -> Path:
    path = folder / name
    os.mkfifo(path)
    return path


def _h5(folder: Path, write: Callable[[Any], None]) -> list[str]:
    import h5py

    root = folder / "csd"
    root.mkdir()
    for name in ("glove_vectors", "labels"):
        with h5py.File(root / f"{name}.csd", "w") as handle:
            group = handle.create_group(f"{name}/data/vidA")
            group["features"] = np.zeros((2, 1))
            group["intervals"] = np.array([[0.0, 1.0], [1.0, 2.0]])
            if name == "glove_vectors":
                write(handle[name])
    (root / "folds.json").write_text(json.dumps({"train": ["vidA"], "valid": ["vidA"], "test": ["vidA"]}))
    return ["data", "inspect", str(root)]


def _external_link(folder: Path) -> list[str]:
    import h5py

    outside = folder / "outside.h5"
    with h5py.File(outside, "w") as handle:
        handle["secret"] = np.ones((2, 1))

    def write(root: Any) -> None:
        root["data/vidB"] = h5py.ExternalLink(str(outside), "/")

    return _h5(folder, write)


def _huge_declared(folder: Path) -> list[str]:
    def write(root: Any) -> None:
        group = root.create_group("data/vidB")
        group.create_dataset("features", shape=(10**12, 64), dtype="f4", chunks=(1, 64))
        group["intervals"] = np.zeros((1, 2))

    return _h5(folder, write)


def _symlink_out(folder: Path) -> list[str]:
    def edit(manifest: dict[str, Any], root: Path) -> None:
        outside = folder / "outside.npy"
        np.save(outside, _array(root, "labels"))
        (root / "train" / "labels.npy").unlink()
        (root / "train" / "labels.npy").symlink_to(outside)

    return inspect(safe_dir(folder, edit))


def _fifo_npy(folder: Path) -> list[str]:
    def edit(manifest: dict[str, Any], root: Path) -> None:
        (root / "train" / "labels.npy").unlink()
        os.mkfifo(root / "train" / "labels.npy")

    return inspect(safe_dir(folder, edit))


def _tamper(key: str, make: Callable[[np.ndarray], np.ndarray]) -> Callable[[Path], list[str]]:
    def build(folder: Path) -> list[str]:
        def edit(manifest: dict[str, Any], root: Path) -> None:
            replace_array(root, manifest, key, make(_array(root, key)))

        return inspect(safe_dir(folder, edit))

    return build


def _manifest(change: Callable[[dict[str, Any]], None]) -> Callable[[Path], list[str]]:
    def build(folder: Path) -> list[str]:
        return inspect(safe_dir(folder, lambda manifest, _root: change(manifest)))

    return build


def _with_nan(a: np.ndarray) -> np.ndarray:
    a = np.array(a)
    a[0, 0, 0] = np.nan
    return a


def _out_of_vocab(a: np.ndarray) -> np.ndarray:
    a = np.array(a)
    a[0, 1] = 10_000
    return a


def _config_case(*overrides: str) -> Callable[[Path], list[str]]:
    return lambda folder: ["train", *TINY, *overrides, "--out", str(folder / "out")]


CASES: tuple[Case, ...] = (
    # 1: runs get lost
    Case(1, "existing_out", lambda f: ["train", *TINY, "--out", str(run_dir(f))], ("already exists", "--resume")),
    Case(1, "resume_changed_architecture",
         lambda f: ["train", "--resume", str(run_dir(f)), "--set", "model.sequence.hidden_dim=64"],
         ("cannot resume", "model.sequence.hidden_dim (16 -> 64)")),
    Case(1, "resume_changed_data", lambda f: ["train", "--resume", str(run_dir(f)), "--model", "tfn"],
         ("cannot resume", "model.name")),
    Case(1, "resume_with_preset", lambda f: ["train", "--resume", str(run_dir(f)), "--preset", "synth_tfn"],
         ("drop --preset",)),
    Case(1, "resume_nothing", lambda f: ["train", "--resume", str(f / "none")], ("nothing to resume",)),
    Case(1, "sweep_retrain_over_a_retrain", lambda f: ["sweep", "retrain", "--study", "s", "--out", str(f / "sw"),
         "--storage", f"sqlite:///{f}/study.db"] if _touch(f / "sw" / "retrain" / "retrain.md") else [],
         ("already holds a retrained run",)),
    Case(1, "out_is_a_file", lambda f: ["train", *TINY, "--out", str(f / "hostile.py")] if
         (f / "hostile.py").write_text("x") else [], ("not a directory",)),
    # 2: every mistake caught before work starts
    Case(2, "unknown_model", _config_case("--model", "nope"), ("model.name", "mifusion list models")),
    Case(2, "unknown_penalty", _config_case("--penalty", "nope"), ("penalty.estimator",)),
    Case(2, "unknown_option", _config_case("--set", "model.options.nope=1"), ("model.options.nope",)),
    Case(2, "unknown_modality", _config_case("--modalities", "text,audoi"), ("audoi",)),
    Case(2, "select_metric", _config_case("--set", "train.select_metric=acc"), ("train.select_metric",)),
    Case(2, "bad_device", _config_case("--set", "train.device=toaster"), ("train.device",)),
    Case(2, "missing_data", _config_case("--data", "nope.pkl"), ("nope.pkl", "no such file")),
    Case(2, "heads_do_not_divide", _config_case("--model", "mult", "--set", "model.options.num_heads=3"),
         ("cannot be built",)),
    Case(2, "modality_not_in_data",
         lambda f: ["train", *TINY, "--data", str(f / "d.pkl"), "--modalities", "audio,vision",
                    "--out", str(f / "out")] if not _save_without(f / "d.pkl", "vision") else [],
         ("vision",)),
    Case(2, "sweep_report_storage", lambda f: ["sweep", "report", "--study", "x", "--storage",
         f"sqlite:///{f}/nope/study.db"], ("no study database",)),
    # 3: ranges
    *(Case(3, f"range_{o}", _config_case("--set", o), (o.split("=")[0],)) for o in (
        "train.batch_size=-4", "train.batch_size=0", "train.epochs=0", "train.lr=-1", "train.lr=.nan",
        "train.clip_norm=-1", "penalty.weight=1e999", "train.modality_dropout=1.5", "model.hidden_dim=0",
        "penalty.critic_steps=0", "model.dropout=2", "data.synth.n=100000000000",
    )),
    Case(3, "empty_seeds", _config_case("--set", "train.seeds=[]"), ("train.seeds",)),
    # 4: the data lies
    Case(4, "finite_claim_over_nan", _tamper("sequences.audio", _with_nan), ("finite: true", "NaN")),
    Case(4, "finite_not_boolean", _manifest(lambda m: m.update(finite="no")), ("'finite'", "true or false")),
    Case(4, "labels_n_by_1", _tamper("labels", lambda a: a.reshape(-1, 1)), ("labels", "(N,)")),
    Case(4, "token_ids_out_of_vocab", _tamper("token_ids", _out_of_vocab), ("token_ids", "vocab")),
    Case(4, "complex_features", _tamper("sequences.audio", lambda a: a.astype(np.complex64)), ("complex",)),
    Case(4, "fractional_lengths", _tamper("lengths.audio", lambda a: a + 0.5), ("lengths.audio", "whole")),
    Case(4, "float_token_ids", _tamper("token_ids", lambda a: a + 0.25), ("token_ids", "whole")),
    Case(4, "label_range_text", _manifest(lambda m: m["meta"].update(label_range="wide")), ("label_range",)),
    Case(4, "vocab_size_text", _manifest(lambda m: m["meta"].update(vocab_size="200")), ("vocab_size",)),
    Case(4, "splits_not_object", _manifest(lambda m: m.update(splits=[1, 2])), ("'splits'",)),
    Case(4, "symlink_out_of_folder", _symlink_out, ("outside the dataset folder",)),
    Case(4, "hdf5_external_link", _external_link, ("external link",)),
    Case(4, "pickle_runs_code", lambda f: _pickle(f, {"train": Reduce(f)}), ("posix.system",)),
    Case(4, "pickle_label_strings",
         lambda f: _pickle(f, {s: _raw_split(3, regression_labels=np.array(["a", "b", "c"])) for s in
                              ("train", "valid", "test")}), ("regression_labels", "real numbers")),
    Case(4, "pickle_labels_n_by_2",
         lambda f: _pickle(f, {s: _raw_split(3, regression_labels=np.zeros((3, 2))) for s in
                              ("train", "valid", "test")}), ("regression_labels", "(3, 2)")),
    Case(4, "pickle_complex_audio",
         lambda f: _pickle(f, {s: _raw_split(3, audio=np.ones((3, 4, 3), np.complex64)) for s in
                              ("train", "valid", "test")}), ("audio", "complex")),
    # 5: the operating system
    Case(5, "fifo_dataset", lambda f: inspect(_fifo(f, "data.pkl")), ("FIFO",)),
    Case(5, "fifo_config", lambda f: ["train", "--config", str(_fifo(f, "c.yaml"))], ("not a regular file",)),
    Case(5, "fifo_npy", _fifo_npy, ("FIFO",)),
    Case(5, "name_too_long", lambda f: ["train", *TINY, "--out", str(f / ("x" * 300))], ("too long",)),
    Case(5, "huge_synth", lambda f: ["data", "synth", str(f / "big.pkl"), "--n", "100000000000"],
         ("GiB of memory",)),
    Case(5, "huge_hdf5_shape", _huge_declared, ("GiB of memory",)),
    Case(5, "out_under_a_file", lambda f: ["train", *TINY, "--out", str(f / "hostile.py" / "run")] if
         (f / "hostile.py").write_text("x") else [], ("not a directory",)),
    Case(5, "synth_under_a_device", lambda f: ["data", "synth", "/dev/null/x.pkl", "--n", "40"],
         ("not a directory",)),
    Case(5, "convert_name_too_long", lambda f: ["data", "convert", str(safe_dir(f)), str(f / ("y" * 300))],
         ("too long",)),
    # 6: newcomer frictions
    Case(6, "choice_error", lambda f: ["data", "inspect", "x", "--format", "nope"], ("invalid choice", "--help")),
    Case(6, "unknown_format_names_the_flag", lambda f: inspect(_touch(f / "README.md")), ("--format",)),
    Case(6, "resume_and_overwrite", lambda f: ["train", "--resume", str(run_dir(f)), "--overwrite"],
         ("--overwrite",)),
)  # fmt: skip


def _touch(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("# not data\n")
    return path


def _save_without(path: Path, modality: str) -> None:
    """A pickle of the tiny dataset without ``modality`` (returns None, so ``... if not ... else`` works)."""
    from mifusion.data.mmsa_pickle import save_mmsa_pickle

    data = tiny_dataset()
    for split in data:
        split.sequences.pop(modality)
        split.lengths.pop(modality)
    save_mmsa_pickle(data, path)
