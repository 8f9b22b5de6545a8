"""Storage URLs, password masking, engine settings and the unreachable-database message."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from mifusion.errors import ConfigError
from mifusion.sweeps.study import (
    StorageSettings,
    engine_kwargs,
    load_study,
    mask_url,
    open_storage,
    storage_url,
    with_driver,
)


def test_storage_url_defaults_to_sqlite_in_run_dir(tmp_path: Path) -> None:
    assert storage_url(None, tmp_path) == f"sqlite:///{tmp_path}/study.db"
    assert storage_url(str(tmp_path / "x.db"), "unused") == f"sqlite:///{tmp_path}/x.db"
    assert storage_url("postgresql://u@h/db", "unused") == "postgresql://u@h/db"


def test_mask_url_hides_password_only() -> None:
    masked = mask_url("postgresql://alice:s3cr3t@db:5432/sweeps")
    assert "s3cr3t" not in masked and masked == "postgresql://alice:***@db:5432/sweeps"
    assert mask_url("sqlite:///runs/x/study.db") == "sqlite:///runs/x/study.db"


def test_engine_kwargs_per_backend() -> None:
    postgres = engine_kwargs("postgresql://u:p@h/db")
    assert postgres["pool_pre_ping"] is True and postgres["connect_args"]["connect_timeout"] > 0
    assert "pool_pre_ping" not in engine_kwargs("sqlite:///x.db")


def test_with_driver_names_an_installed_postgres_driver() -> None:
    url = with_driver("postgresql://u:p@h/db")
    assert url.startswith(("postgresql+psycopg2://", "postgresql+psycopg://", "postgresql://"))
    assert url.endswith("u:p@h/db")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_unreachable_database_gives_one_line_error_with_masked_password() -> None:
    url = f"postgresql://alice:s3cr3t@127.0.0.1:{_free_port()}/sweeps"
    with pytest.raises(ConfigError) as info:
        open_storage(StorageSettings(url))
    message = str(info.value)
    assert "\n" not in message and "s3cr3t" not in message
    assert "alice:***@127.0.0.1" in message and "check that the database server is running" in message


def test_missing_study_lists_existing_ones(tmp_path: Path) -> None:
    import optuna

    storage = open_storage(StorageSettings(f"sqlite:///{tmp_path}/study.db"))
    optuna.create_study(storage=storage, study_name="present")
    with pytest.raises(ConfigError, match=r"no study named 'absent'.*present"):
        load_study(storage, "absent")
