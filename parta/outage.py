"""Logging for background loops that retry while a service (the database) is away: the
traceback once when the failures start, a line when they end, DEBUG in between, so an
outage of a minute is three lines rather than sixty tracebacks."""

from __future__ import annotations

import logging


class FailureStreak:
    def __init__(self, log: logging.Logger, what: str) -> None:
        self.log = log
        self.what = what
        self.failures = 0  # failures in a row

    def failed(self) -> None:
        """Call from an ``except`` block (the traceback is the current exception's)."""
        self.failures += 1
        if self.failures == 1:
            self.log.exception("%s failed; retrying", self.what)
        else:
            self.log.debug("%s still failing (%d)", self.what, self.failures, exc_info=True)

    def succeeded(self) -> None:
        if self.failures:
            self.log.warning("%s works again after %d failures", self.what, self.failures)
            self.failures = 0
