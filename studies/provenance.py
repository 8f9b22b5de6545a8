"""What an arm's results were computed with: the hash of its resolved config and of mifusion's code.

An arm directory holds ``arm.json`` (``config_hash``, ``code_hash``, the resolved config without its seeds)
beside its ``seed_<s>/`` runs. Before an arm reuses finished seeds, :func:`claim` compares the hashes: if
either differs, the old directory is moved aside (``<arm>.stale-<time>``, never deleted) and every seed is
re-run, so one report never mixes configs or code versions.

Example:
    >>> len(code_hash()) == 12
    True
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import mifusion

log = logging.getLogger(__name__)
_CODE_ROOT = Path(mifusion.__file__).resolve().parent


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:12]


def code_hash(root: Path = _CODE_ROOT) -> str:
    """Hash of every ``.py`` and ``.yaml`` file of the mifusion package (paths and contents)."""
    h = hashlib.sha256()
    for path in sorted(
        p for p in root.rglob("*") if p.suffix in (".py", ".yaml") and "__pycache__" not in p.parts
    ):
        h.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes() + b"\0")
    return h.hexdigest()[:12]


def config_dict(cfg: Any) -> dict[str, Any]:
    """The resolved config as a plain dict, without ``train.seeds`` (seeds are the arm's other axis)."""
    from mifusion.config import to_dict

    data = to_dict(cfg)
    data.get("train", {}).pop("seeds", None)
    return data


@dataclass(frozen=True)
class Provenance:
    """The two hashes an arm's results are valid for, and the config they hash."""

    config_hash: str
    code_hash: str
    config: dict[str, Any]

    def to_json(self) -> str:
        """``arm.json``'s text."""
        return json.dumps({"config_hash": self.config_hash, "code_hash": self.code_hash, "config": self.config},
                          indent=2, sort_keys=True, default=str) + "\n"  # fmt: skip


def provenance(cfg: Any, code: str | None = None) -> Provenance:
    """The arm's :class:`Provenance` (``code`` defaults to :func:`code_hash` of the installed package)."""
    data = config_dict(cfg)
    text = json.dumps(data, sort_keys=True, default=str).encode()
    return Provenance(_digest(text), code or code_hash(), data)


def claim(arm_dir: Path, record: Provenance) -> bool:
    """Makes ``arm_dir`` hold results of ``record``'s config and code; True when earlier seeds may be reused.

    A directory with another (or no) ``arm.json`` but with results in it is moved aside, not deleted.
    """
    from mifusion.writers import atomic_write_text

    meta = arm_dir / "arm.json"
    if meta.is_file():
        old = json.loads(meta.read_text(encoding="utf-8"))
        if (old.get("config_hash"), old.get("code_hash")) == (record.config_hash, record.code_hash):
            return True
    if arm_dir.exists() and any(arm_dir.iterdir()):
        stale = arm_dir.with_name(f"{arm_dir.name}.stale-{time.strftime('%Y%m%d-%H%M%S')}")
        arm_dir.rename(stale)
        log.warning("%s: results of another config or code version moved to %s; re-running", arm_dir, stale)
    arm_dir.mkdir(parents=True, exist_ok=True)
    atomic_write_text(meta, record.to_json())
    return False
