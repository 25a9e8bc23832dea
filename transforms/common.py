"""Helpers every stage shares: counters, the dead-letter output tag, a throttled progress line."""
from __future__ import annotations

import contextlib
import hashlib
import sys
import threading
import time

import apache_beam as beam
from apache_beam.metrics import Metrics

from schemas import error_record

NAMESPACE = "claimwire"
ERRORS = "errors"  # tag of every stage's dead-letter output


class Progress:
    """One live progress line on stderr: 'claimwire: fetched 120 · extracted 118 · tagged 100 · errors 2 ·
    9.8 articles/s'. On a terminal it is rewritten in place; otherwise a line is printed at most every
    `every` seconds. Counted per process (each worker process of a multi-process run prints its own)."""

    every = 2.0
    enabled = True
    _counts: dict[str, int] = {}
    _last = 0.0
    _started = None
    _shown = False
    _lock = threading.Lock()
    # a sharded command (pipeline/shards.py): {"shard": n, "shards": of, "documents": done in earlier shards,
    # "total": documents in every shard, "started" and "finished" (the last shard's end): monotonic}; the line
    # then tells the whole command's progress
    command: dict | None = None
    LABELS = (("fetched", ("fetch_articles.out", "read_documents.out")), ("extracted", ("extract.out",)),
              ("tagged", ("ner.out",)))

    @classmethod
    def line(cls) -> str:
        counts = cls._counts
        parts = [(label, sum(counts.get(k, 0) for k in keys)) for label, keys in cls.LABELS]
        done = next((n for _, n in reversed(parts) if n), 0)
        errors = sum(v for k, v in counts.items() if k.endswith(".errors"))
        seconds = time.monotonic() - (cls._started or time.monotonic())
        rate = f" · {done / seconds:.1f} articles/s" if seconds >= 1 else ""  # one article in 1 ms is no rate
        prefix = ""
        command = cls.command
        if command:
            prefix = f"shard {command['shard']}/{command['shards']} · "
            now = time.monotonic()
            rate = ""
            if command["documents"]:  # from the shards done: a shard's first stages run ahead of its last
                per_second = command["documents"] / (command["finished"] - command["started"])
                left = (command["total"] - command["documents"]) / per_second - (now - command["finished"])
            else:
                per_second = done / (now - command["started"]) if now - command["started"] >= 1 else 0
                left = (command["total"] - done) / per_second if per_second else None
            if per_second:
                rate = f" · {per_second:.1f} documents/s · ETA {_duration(max(left, 0))}"
        return ("claimwire: " + prefix + " · ".join(f"{label} {n}" for label, n in parts) + f" · errors {errors}"
                + rate)

    @classmethod
    def tick(cls, name: str, n: int = 1) -> None:
        if not cls.enabled:
            return
        with cls._lock:
            now = time.monotonic()
            if cls._started is None:  # the first line after a full interval, with a rate worth reading
                cls._started = cls._last = now
            cls._counts[name] = cls._counts.get(name, 0) + n
            tty = sys.stderr.isatty()
            if now - cls._last < (0.2 if tty else cls.every):
                return
            cls._last = now
            line = cls.line()
            cls._shown = True
        if tty:
            print("\r" + line + "\x1b[K", end="", file=sys.stderr, flush=True)
        else:
            print(line, file=sys.stderr, flush=True)

    @classmethod
    def finish(cls) -> None:
        """Ends the live line (the summary follows on a fresh line) and resets the counts for the next run."""
        with cls._lock:
            if cls._shown and sys.stderr.isatty():
                print("\r" + cls.line() + "\x1b[K", file=sys.stderr, flush=True)
            cls._counts, cls._started, cls._shown, cls._last = {}, None, False, 0.0


def _duration(seconds: float) -> str:
    seconds = int(seconds)
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m" if seconds >= 3600 else \
        f"{seconds // 60}m{seconds % 60:02d}s"


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


_LOADED: dict = {}
_LOADING = threading.Lock()


def loaded_once(key: tuple, load):
    """A model loaded once per process and kept (a ModelHandler's load_model): each shard of a sharded command
    (pipeline/shards.py) is a pipeline of its own, and loading the NER and embedding models again for each one
    cost seconds a shard and left the native memory of every discarded ONNX session behind (peak RSS grew with
    each shard). The models are stateless between calls, so a reused one gives the same rows."""
    with _LOADING:
        if key not in _LOADED:
            _LOADED[key] = load()
        return _LOADED[key]


COPIES_FIELD = "_copies"  # the copies an article carries through OncePerText's inner transform


class OncePerText(beam.PTransform):
    """Runs `inner` (articles → tuples whose first item is the article, like RunInference's) once per distinct
    text: exact copies (wire reprints, one page under two URLs) get the result of the one that ran, the smallest
    article_id, instead of running the model again. `text_of(article)` must be everything the result depends on,
    byte for byte; content_hash is not (it is case-folded and whitespace-collapsed, and entity offsets are not).
    Counts `<stage>.model_runs` and `<stage>.copies_reused`."""

    def __init__(self, inner: beam.PTransform, text_of, stage: str):
        super().__init__()
        self.inner = inner
        self.text_of = text_of
        self.stage = stage

    def expand(self, articles):
        text_of = self.text_of

        def key(article):
            text = text_of(article)  # not text (a bad record): keyed by its repr, and fails inside `inner` alone
            return hashlib.sha256((text if isinstance(text, str) else repr(text)).encode("utf-8")).digest()

        return (articles
                | "KeyByText" >> beam.Map(lambda a: (key(a), a))
                | "GroupCopies" >> beam.GroupByKey()
                | "OnePerText" >> beam.ParDo(_OnePerText(self.stage))
                | self.inner
                | "ShareWithCopies" >> beam.ParDo(_ShareWithCopies(self.stage)))


class _OnePerText(CountingDoFn):
    def __init__(self, stage: str):
        self.stage = stage

    def process(self, kv):
        first, *copies = sorted(kv[1], key=lambda a: a.get("article_id") or "")
        self.count("model_runs")
        if copies:
            self.count("copies_reused", len(copies))
            first = dict(first, **{COPIES_FIELD: copies})
        yield first


class _ShareWithCopies(CountingDoFn):
    def __init__(self, stage: str):
        self.stage = stage

    def process(self, result):
        article, rest = result[0], tuple(result[1:])
        copies = article.get(COPIES_FIELD)
        if copies is None:
            yield result
            return
        yield (dict((k, v) for k, v in article.items() if k != COPIES_FIELD),) + rest
        for copy in copies:
            yield (copy,) + rest
