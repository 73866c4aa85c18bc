"""Process-level tuning for the server: garbage collection.

A server holding many WebSocket connections keeps a large, long-lived heap. Python's
full (generation 2) collections walk all of it and stop the event loop while they
run; long pauses are logged so operators can see them.
"""

from __future__ import annotations

import gc
import logging
import time
from typing import Any

log = logging.getLogger(__name__)

SLOW_GC_SECONDS = 0.05
_started: dict[int, float] = {}


def _watch(phase: str, info: dict[str, Any]) -> None:
    generation = int(info.get("generation", 0))
    if phase == "start":
        _started[generation] = time.perf_counter()
        return
    began = _started.pop(generation, None)
    if began is not None and time.perf_counter() - began > SLOW_GC_SECONDS:
        log.warning(
            "gc generation %d paused the server %.0f ms (%d collected)",
            generation,
            (time.perf_counter() - began) * 1000,
            info.get("collected", 0),
        )


def tune_gc() -> None:
    """Call once the app has started: what exists now (modules, mappers, settings)
    lives as long as the process, so it is frozen out of every future collection;
    young collections run less often, which makes full ones rarer too."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(20_000, 20, 20)
    if _watch not in gc.callbacks:
        gc.callbacks.append(_watch)
