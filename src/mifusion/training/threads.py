"""CPU thread counts that do not oversubscribe a shared machine.

``train.num_threads`` unset means: torch's own default (which honours ``OMP_NUM_THREADS``), capped at the
cores this process may use divided by the local workers sharing them (``mifusion sweep --workers N``
passes each worker its share explicitly). A run logs one warning when the machine's load average says
fewer cores are idle than its thread count assumes.

Example:
    >>> default_threads(cores=8, workers=3, torch_default=8)
    2
    >>> default_threads(cores=2, workers=4, torch_default=2)
    1
    >>> oversubscription_warning(threads=2, cores=2, load=1.9) is None
    False
"""

from __future__ import annotations

import logging
import os

log = logging.getLogger(__name__)

LOAD_TOLERANCE = 0.5
"""Load-average slack (runnable processes) before a run warns: short-lived tools should not trigger it."""

__all__ = [
    "LOAD_TOLERANCE",
    "available_cores",
    "configure_threads",
    "default_threads",
    "load_average",
    "oversubscription_warning",
    "worker_threads",
]


def available_cores() -> int:
    """CPU cores this process may run on (its affinity mask where the OS has one), at least 1."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return max(1, os.cpu_count() or 1)


def load_average() -> float | None:
    """The 1-minute load average, or None where the OS does not report one."""
    try:
        return float(os.getloadavg()[0])
    except (AttributeError, OSError):
        return None


def worker_threads(cores: int, workers: int) -> int:
    """Each of ``workers`` local processes' share of ``cores``: ``cores // workers``, at least 1."""
    return max(1, cores // max(1, workers))


def default_threads(cores: int, workers: int = 1, torch_default: int | None = None) -> int:
    """The thread count of a run whose ``train.num_threads`` is unset.

    Args:
        cores: cores available to the process.
        workers: local processes sharing those cores.
        torch_default: torch's own default (``OMP_NUM_THREADS`` when set); None = no further cap.
    """
    share = worker_threads(cores, workers)
    return max(1, min(share, torch_default)) if torch_default else share


def oversubscription_warning(threads: int, cores: int, load: float | None) -> str | None:
    """A one-line warning when ``load`` leaves fewer idle cores than ``threads``, else None.

    The run assumes ``threads`` idle cores, i.e. a load of at most ``cores - threads`` besides itself;
    :data:`LOAD_TOLERANCE` absorbs short-lived processes.
    """
    if load is None or load <= cores - threads + LOAD_TOLERANCE:
        return None
    idle = max(0.0, cores - load)
    return (
        f"machine busy: load average {load:.2f} on {cores} cores leaves about {idle:.1f} idle, but this run "
        f"uses {threads} thread{'s' if threads > 1 else ''}; epochs will be slower than on an idle machine (set train.num_threads "
        "lower, or run fewer jobs at once)"
    )


_checked: set[int] = set()


def configure_threads(requested: int | None) -> int:
    """Sets torch's intra-op threads for a run and warns (once per process) when the machine is busy.

    Args:
        requested: ``train.num_threads``; None picks :func:`default_threads` for one worker.

    Returns:
        The thread count set.
    """
    import torch

    cores = available_cores()
    threads = requested if requested else default_threads(cores, 1, torch.get_num_threads())
    if torch.get_num_threads() != threads:
        torch.set_num_threads(threads)
    if os.getpid() not in _checked:
        _checked.add(os.getpid())
        message = oversubscription_warning(threads, cores, load_average())
        if message:
            log.warning(message)
    return threads
