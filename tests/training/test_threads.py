"""Thread defaults: workers split the cores, a busy machine is reported once, explicit settings win."""

from __future__ import annotations

import logging

import pytest
import torch

from mifusion.sweeps.worker import worker_environment
from mifusion.training import threads
from mifusion.training.threads import (
    LOAD_TOLERANCE,
    configure_threads,
    default_threads,
    oversubscription_warning,
    worker_threads,
)


@pytest.mark.parametrize(
    ("cores", "workers", "expected"), [(2, 1, 2), (2, 2, 1), (2, 3, 1), (16, 3, 5), (8, 0, 8)]
)
def test_workers_split_the_cores(cores: int, workers: int, expected: int) -> None:
    assert worker_threads(cores, workers) == expected
    assert worker_threads(cores, workers) * max(1, workers) <= max(cores, max(1, workers))


def test_default_threads_honours_a_lower_torch_default() -> None:
    assert default_threads(cores=8, workers=2, torch_default=1) == 1  # OMP_NUM_THREADS=1 stays 1
    assert default_threads(cores=8, workers=2, torch_default=8) == 4
    assert default_threads(cores=2, workers=1, torch_default=None) == 2


def test_two_workers_on_two_cores_get_one_thread_each() -> None:
    env = worker_environment({"PATH": "/bin"}, workers=2, cores=2)
    assert env["OMP_NUM_THREADS"] == env["MKL_NUM_THREADS"] == "1"
    assert env["PATH"] == "/bin"


@pytest.mark.parametrize(("given", "expected"), [("1", "1"), ("3", "3"), ("64", "4"), ("0", "4"), ("x", "4")])
def test_worker_environment_keeps_lower_user_settings_only(given: str, expected: str) -> None:
    assert worker_environment({"OMP_NUM_THREADS": given}, workers=2, cores=8)["OMP_NUM_THREADS"] == expected


def test_oversubscription_warning_thresholds() -> None:
    assert oversubscription_warning(1, 2, None) is None
    assert oversubscription_warning(1, 2, 0.2) is None  # idle machine
    assert oversubscription_warning(1, 2, 1.0 + LOAD_TOLERANCE) is None  # one busy core, one left for us
    message = oversubscription_warning(2, 2, 1.2)  # two threads but only about one idle core
    assert message is not None and "load average 1.20 on 2 cores" in message and "2 threads" in message
    assert oversubscription_warning(1, 2, 2.1) is not None


def test_configure_threads_sets_torch_and_warns_once(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    before = torch.get_num_threads()
    monkeypatch.setattr(threads, "_checked", set())
    monkeypatch.setattr(threads, "load_average", lambda: 50.0)
    monkeypatch.setattr(threads, "available_cores", lambda: 2)
    try:
        with caplog.at_level(logging.WARNING, logger="mifusion.training.threads"):
            assert configure_threads(1) == 1
            assert torch.get_num_threads() == 1
            configure_threads(1)
        busy = [r for r in caplog.records if "machine busy" in r.getMessage()]
        assert len(busy) == 1
    finally:
        torch.set_num_threads(before)


def test_unset_threads_never_exceed_the_cores(monkeypatch: pytest.MonkeyPatch) -> None:
    before = torch.get_num_threads()
    monkeypatch.setattr(threads, "_checked", set())
    monkeypatch.setattr(threads, "load_average", lambda: None)
    monkeypatch.setattr(threads, "available_cores", lambda: 1)
    try:
        torch.set_num_threads(2)
        assert configure_threads(None) == 1
        assert torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(before)


def test_spawn_workers_passes_each_worker_its_share(monkeypatch: pytest.MonkeyPatch) -> None:
    from mifusion.sweeps import worker

    seen: list[dict[str, str]] = []

    class FakeProcess:
        def __init__(self, command: list[str], env: dict[str, str]) -> None:
            seen.append(env)

        def wait(self) -> int:
            return 0

        def poll(self) -> int:
            return 0

    monkeypatch.setattr(worker.subprocess, "Popen", FakeProcess)
    monkeypatch.setattr(worker, "available_cores", lambda: 2)
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    assert worker.spawn_workers(["sweep"], 2) == [0, 0]
    assert [env["OMP_NUM_THREADS"] for env in seen] == ["1", "1"]
