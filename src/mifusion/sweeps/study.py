"""Study storage: URL handling, connection settings, heartbeats and retries of killed trials.

SQLite (``RUN_DIR/study.db``) is the zero-set-up default for one machine; PostgreSQL
(``postgresql://user:password@host:5432/db``) is the choice for workers on several hosts.

Example:
    >>> mask_url("postgresql://alice:secret@db.example:5432/sweeps")
    'postgresql://alice:***@db.example:5432/sweeps'
    >>> storage_url(None, "runs/sweep")
    'sqlite:///runs/sweep/study.db'
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mifusion.errors import ConfigError

HEARTBEAT_INTERVAL_S = 10
GRACE_PERIOD_S = 30
MAX_RETRY = 2
SQLITE_TIMEOUT_S = 60
CONNECT_TIMEOUT_S = 10
INIT_ATTEMPTS = 5
INIT_RETRY_S = 0.5


@dataclass(frozen=True)
class StorageSettings:
    """How workers talk to the study database and how long a silent trial lives."""

    url: str
    heartbeat_interval: int = HEARTBEAT_INTERVAL_S
    grace_period: int = GRACE_PERIOD_S
    max_retry: int = MAX_RETRY


def storage_url(storage: str | None, run_dir: str | Path) -> str:
    """The storage URL: the given one, a SQLite URL for a bare file path, or ``RUN_DIR/study.db``."""
    if not storage:
        return f"sqlite:///{Path(run_dir) / 'study.db'}"
    if "://" not in storage:
        return f"sqlite:///{Path(storage)}"
    return storage


def with_driver(url: str) -> str:
    """Names the PostgreSQL driver explicitly: psycopg2 when installed, else psycopg (3).

    SQLAlchemy 2.1 maps a bare ``postgresql://`` to psycopg 3; ``mifusion[postgres]`` ships psycopg2.

    Example:
        >>> with_driver("sqlite:///x.db")
        'sqlite:///x.db'
    """
    scheme, sep, rest = url.partition("://")
    if not sep or scheme not in ("postgresql", "postgres"):
        return url
    import importlib.util

    for driver in ("psycopg2", "psycopg"):
        if importlib.util.find_spec(driver) is not None:
            return f"postgresql+{driver}://{rest}"
    return url


def mask_url(url: str) -> str:
    """The URL with its password replaced by ``***`` (safe to print and log)."""
    try:
        from sqlalchemy.engine import make_url

        parsed = make_url(url)
    except Exception:
        return url.split("@")[-1] if "@" in url else url
    if parsed.password is None:
        return parsed.render_as_string(hide_password=False)
    return (
        parsed.set(password="PASSWORDMASK")
        .render_as_string(hide_password=False)
        .replace("PASSWORDMASK", "***")
    )


def engine_kwargs(url: str) -> dict[str, Any]:
    """SQLAlchemy engine settings per backend.

    PostgreSQL: ``pool_pre_ping`` drops connections a server or firewall closed while a long trial ran;
    a small pool (each worker needs two connections: its trial and its heartbeat thread) keeps many
    workers under the server's ``max_connections``; ``pool_recycle`` renews connections after 30 min.
    SQLite: a long busy timeout, so concurrent local workers wait for the file lock instead of failing.
    """
    if url.startswith("sqlite"):
        return {"connect_args": {"timeout": SQLITE_TIMEOUT_S}}
    kwargs: dict[str, Any] = {
        "pool_pre_ping": True,
        "pool_size": 2,
        "max_overflow": 2,
        "pool_recycle": 1800,
    }
    if url.startswith(("postgresql", "postgres")):
        kwargs["connect_args"] = {"connect_timeout": CONNECT_TIMEOUT_S}
    return kwargs


def _unreachable(url: str, err: BaseException) -> ConfigError:
    reason = str(getattr(err, "orig", None) or err).strip().splitlines()[0] if str(err).strip() else ""
    return ConfigError(
        f"cannot open study storage {mask_url(url)} ({type(err).__name__}: {reason}); check that the "
        "database server is running and reachable, the user/password/database in the URL are right, "
        "and the driver is installed (pip install 'mifusion[postgres]' for PostgreSQL)"
    )


def open_storage(settings: StorageSettings) -> Any:
    """Opens the RDB storage with heartbeats; killed trials become FAIL and are retried.

    A trial whose worker stops beating for ``grace_period`` seconds is marked FAIL by the next worker
    that starts a trial (or by ``mifusion sweep report``), and RetryFailedTrialCallback re-enqueues
    its parameters up to ``max_retry`` times.
    """
    if settings.url.startswith("sqlite"):
        path = settings.url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
    import warnings

    import optuna
    from optuna.storages import RDBStorage

    retry: dict[str, Any] = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        warnings.simplefilter("ignore", FutureWarning)
        if hasattr(optuna.storages, "RetryHeartbeatStaleTrialCallback"):  # optuna >= 4.9
            callback = optuna.storages.RetryHeartbeatStaleTrialCallback(max_retry=settings.max_retry)
            retry["heartbeat_stale_trial_callback"] = callback
        else:
            retry["failed_trial_callback"] = optuna.storages.RetryFailedTrialCallback(settings.max_retry)
        for attempt in range(INIT_ATTEMPTS):
            try:
                return RDBStorage(
                    with_driver(settings.url),
                    engine_kwargs=engine_kwargs(settings.url),
                    heartbeat_interval=settings.heartbeat_interval,
                    grace_period=settings.grace_period,
                    **retry,
                )
            except ImportError as err:
                raise _unreachable(settings.url, err) from None
            except Exception as err:
                from sqlalchemy.exc import SQLAlchemyError

                if _racing_initialisation(err) and attempt + 1 < INIT_ATTEMPTS:
                    time.sleep(INIT_RETRY_S * (attempt + 1))  # another worker is creating the tables
                    continue
                if isinstance(err, SQLAlchemyError | optuna.exceptions.StorageInternalError | ValueError):
                    raise _unreachable(settings.url, err) from None
                raise
    raise AssertionError("unreachable")  # pragma: no cover


def _racing_initialisation(err: BaseException) -> bool:
    """True for the errors two workers get when both create a fresh database's tables at once."""
    from sqlalchemy.exc import IntegrityError

    text = str(err).lower()
    return isinstance(err, IntegrityError) or "already exists" in text or "database is locked" in text


def load_or_create_study(
    storage: Any, name: str, direction: str, pruner: Any = None, sampler: Any = None
) -> Any:
    """Joins study ``name`` (creating it the first time); safe when many workers start at once."""
    import optuna

    return optuna.create_study(
        storage=storage,
        study_name=name,
        direction=direction,  # type: ignore[arg-type]
        pruner=pruner,
        sampler=sampler,
        load_if_exists=True,
    )


def load_study(storage: Any, name: str) -> Any:
    """Loads an existing study, with a one-line error listing the studies that exist."""
    import optuna

    try:
        return optuna.load_study(study_name=name, storage=storage)
    except KeyError:
        names = [s.study_name for s in optuna.get_all_study_summaries(storage, include_best_trial=False)]
        known = ", ".join(names) or "none"
        raise ConfigError(
            f"no study named {name!r} in this storage (studies: {known}); check --study"
        ) from None


def fail_stale_trials(study: Any) -> None:
    """Marks trials whose worker stopped beating as FAIL (and re-enqueues them for retry)."""
    import warnings

    import optuna

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        optuna.storages.fail_stale_trials(study)
