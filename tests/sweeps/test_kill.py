"""Two workers on one study; one is SIGKILLed mid-trial; the study still finishes consistently.

Runs on SQLite in the default suite and on a real PostgreSQL server (pgserver, loopback unix socket)
when one can be started.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest

from mifusion.errors import ConfigError
from mifusion.sweeps.study import StorageSettings, load_study, open_storage

TRIALS = 4
CODE = "import sys; from mifusion.cli import main; sys.exit(main())"
TIMEOUT_S = 90


def _command(url: str, out: Path, trials: int = TRIALS, *extra: str) -> list[str]:
    return [
        sys.executable, "-c", CODE, "sweep", "run", "--storage", url, "--study", "kill", "--out", str(out),
        "--trials", str(trials), "--trainer", "mifusion.sweeps.toy:train_toy", "--pruner", "none",
        "--heartbeat", "1", "--grace", "2", "--sampler-seed", "0",
        "--set", "train.epochs=4", "--set", "model.options.toy_epoch_seconds=0.25", *extra,
    ]  # fmt: skip


def _env() -> dict[str, str]:
    return {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONWARNINGS": "ignore"}


def _wait_for_running_trial(url: str, pid: int, deadline: float) -> int:
    """Number of a trial that worker ``pid`` is running and has reported at least one epoch of."""
    storage = open_storage(StorageSettings(url, 1, 2))
    while time.monotonic() < deadline:
        try:
            study = load_study(storage, "kill")
        except ConfigError:  # the study is not created yet
            time.sleep(0.2)
            continue
        for trial in study.get_trials(deepcopy=False):
            mine = trial.state.name == "RUNNING" and trial.user_attrs.get("worker_pid") == pid
            if mine and trial.intermediate_values:
                return int(trial.number)
        time.sleep(0.1)
    raise AssertionError(f"worker {pid} never ran a trial")


def _kill_flow(url: str, out: Path) -> None:
    processes: list[subprocess.Popen] = []
    try:
        victim, survivor = (
            subprocess.Popen(_command(url, out, TRIALS, "--no-report"), env=_env(), stderr=subprocess.DEVNULL)
            for _ in range(2)
        )
        processes += [victim, survivor]
        killed = _wait_for_running_trial(url, victim.pid, time.monotonic() + TIMEOUT_S)
        os.kill(victim.pid, signal.SIGKILL)
        victim.wait()
        assert survivor.wait(timeout=TIMEOUT_S) == 0

        study = load_study(open_storage(StorageSettings(url, 1, 2)), "kill")
        states = [t.state.name for t in study.trials]
        assert states.count("COMPLETE") == TRIALS, states
        assert study.trials[killed].state.name == "FAIL", states
        retried = [t for t in study.trials if t.system_attrs.get("failed_trial") == killed]
        assert retried and retried[0].params == study.trials[killed].params

        # a restarted worker resumes the same study and adds the one more trial asked for
        resumed = subprocess.run(
            _command(url, out, TRIALS + 1), env=_env(), capture_output=True, text=True, timeout=TIMEOUT_S
        )
        assert resumed.returncode == 0, resumed.stderr[-2000:]
        study = load_study(open_storage(StorageSettings(url, 1, 2)), "kill")
        assert [t.state.name for t in study.trials].count("COMPLETE") == TRIALS + 1
        report = (out / "report" / "report.md").read_text(encoding="utf-8")
        assert "| FAIL | 1 |" in report and f"| COMPLETE | {TRIALS + 1} |" in report
        assert (out / "report" / "best_config.yaml").exists() and (out / "report" / "history.png").exists()
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.wait()


def test_kill_a_worker_mid_trial_sqlite(tmp_path: Path) -> None:
    _kill_flow(f"sqlite:///{tmp_path}/study.db", tmp_path / "out")


@pytest.fixture(scope="module")
def postgres_url() -> Iterator[str]:
    """A real PostgreSQL server on a unix socket in a temp dir (pgserver), stopped afterwards."""
    try:
        import pgserver
        import psycopg2  # noqa: F401
    except ImportError as err:
        pytest.skip(f"no PostgreSQL server: {err.name} is not installed (pip install 'mifusion[postgres]')")
    data_dir = tempfile.mkdtemp(prefix="mifusion-pg-")
    try:
        with warnings.catch_warnings():  # platformdirs warns when XDG_RUNTIME_DIR is unset
            warnings.simplefilter("ignore")
            server = pgserver.get_server(data_dir, cleanup_mode="delete")
    except Exception as err:  # pragma: no cover - depends on the machine
        pytest.skip(f"no PostgreSQL server could start: {type(err).__name__}: {err}")
    try:
        yield str(server.get_uri())
    finally:
        server.cleanup()


def test_kill_a_worker_mid_trial_postgres(postgres_url: str, tmp_path: Path) -> None:
    _kill_flow(postgres_url, tmp_path / "out")
