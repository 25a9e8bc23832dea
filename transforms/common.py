"""Helpers every stage shares: counters, the dead-letter output tag, a throttled progress line."""
from __future__ import annotations

import contextlib
import sys
import threading
import time

import apache_beam as beam
from apache_beam.metrics import Metrics

from schemas import error_record

NAMESPACE = "claimwire"
ERRORS = "errors"  # tag of every stage's dead-letter output


class Progress:
    """Prints 'claimwire: fetched 120 · extracted 80 ...' to stderr at most every `every` seconds per process."""

    every = 2.0
    enabled = True
    _counts: dict[str, int] = {}
    _last = 0.0
    _lock = threading.Lock()

    @classmethod
    def tick(cls, name: str, n: int = 1) -> None:
        if not cls.enabled:
            return
        with cls._lock:
            cls._counts[name] = cls._counts.get(name, 0) + n
            now = time.monotonic()
            if now - cls._last < cls.every:
                return
            cls._last = now
            line = " · ".join(f"{k} {v}" for k, v in cls._counts.items())
        print(f"claimwire: {line}", file=sys.stderr, flush=True)


class CountingDoFn(beam.DoFn):
    """A DoFn that counts what it does under `claimwire/<stage>.<name>` and can emit dead letters."""

    stage = "stage"

    def count(self, name: str, n: int = 1) -> None:
        key = f"{self.stage}.{name}"
        counters = self.__dict__.setdefault("_counters", {})
        if key not in counters:
            counters[key] = Metrics.counter(NAMESPACE, key)
        counters[key].inc(n)
        if name in ("out", "errors"):
            Progress.tick(f"{self.stage}.{name}", n)

    @contextlib.contextmanager
    def timed(self):
        """Adds the block's wall time to `<stage>.busy_ms` (the bench's seconds per stage)."""
        t0 = time.perf_counter()
        try:
            yield
        finally:
            self.count("busy_ms", int((time.perf_counter() - t0) * 1000))

    def dead_letter(self, url, kind: str, message: str, attempts: int = 1):
        self.count("errors")
        self.count(f"error.{kind}")
        return beam.pvalue.TaggedOutput(ERRORS, error_record(self.stage, url, kind, message, attempts))
