"""How many CPU threads numpy's BLAS may use, set at run time (no environment variable needed before import).

numpy's wheels bundle OpenBLAS, which by default starts one thread per core for every matrix product.
The offline embedders are a stream of small products; on a small shared machine those threads spin
against each other and against the bot's event loop. Measured here under load (bench/retrieval_eval.py,
2 cores, load average ~10): one USE query embedding took 187 ms at the median with the default threads
and 27 ms with one. One thread also leaves the other core to the event loop during a backfill.
"""

from __future__ import annotations

import ctypes
import logging
import os
from pathlib import Path

log = logging.getLogger(__name__)

# Setter names in the OpenBLAS builds numpy ships (scipy-openblas, 64-bit ints) and in a system OpenBLAS.
_SETTERS = ("scipy_openblas_set_num_threads64_", "scipy_openblas_set_num_threads", "openblas_set_num_threads")
_GETTERS = ("scipy_openblas_get_num_threads64_", "scipy_openblas_get_num_threads", "openblas_get_num_threads")


def _loaded_openblas() -> list[str]:
    """Paths of OpenBLAS libraries mapped into this process (Linux; empty elsewhere)."""
    try:
        maps = Path("/proc/self/maps").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return []
    paths = {line.split()[-1] for line in maps.splitlines() if "openblas" in line.rsplit("/", 1)[-1].lower()}
    return sorted(p for p in paths if p.startswith("/"))


def limit_blas_threads(threads: int) -> int | None:
    """Let numpy's OpenBLAS use at most ``threads`` threads; returns the count now in force, or None.

    numpy must already be imported (its BLAS is found among the loaded libraries). Unknown BLAS builds
    are left alone (logged at debug level).
    """
    import numpy  # noqa: F401  # loads the BLAS library this looks for

    for path in _loaded_openblas():
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        setter = next((getattr(lib, n) for n in _SETTERS if hasattr(lib, n)), None)
        getter = next((getattr(lib, n) for n in _GETTERS if hasattr(lib, n)), None)
        if setter is None:
            continue
        setter(ctypes.c_int(threads))
        now = int(getter()) if getter is not None else threads
        log.debug("numpy's OpenBLAS (%s) limited to %d thread%s", path, now, "" if now == 1 else "s")
        return now
    log.debug("no OpenBLAS found among the loaded libraries; BLAS threads left as they are")
    return None


def embedding_threads(setting: int, *, in_bot: bool) -> int:
    """Threads for the offline embedders: ``setting`` when set, else every core for a CLI command and
    all but one in the running bot (its event loop keeps a core while a backfill runs; at least one)."""
    if setting > 0:
        return setting
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return max(1, cores - 1) if in_bot else max(1, cores)
