"""`claimwire run --input` in shards: the input is cut into shards of at most --shard-size documents
(claimcore/archives.py), and each shard is one committed run of the dataset protocol (pipeline/batch.py).

So memory follows the shard, not the input; a killed command loses at most the shard in flight; and the same
command again skips the shards already committed. A shard is known by its key: a digest of its documents' bytes and
of everything that decides its rows (the versioned components and the options that filter or group), recorded in
the manifest with the commit that wrote it. The story index carries stories and threads from shard to shard as it
does from run to run.
"""
from __future__ import annotations

import ctypes
import dataclasses
import gc
import hashlib
import json
import time

from claimcore.archives import Shard, plan_shards
from pipeline.batch import commit_staged, run_components, run_staged
from pipeline.summary import stage_counters
from schemas import dataset
from transforms.common import Progress


def release_freed_memory() -> None:
    """Between shards: what the finished shard freed goes back to the system (glibc keeps freed heap pages for
    reuse, so the process's resident size otherwise stays at its largest shard's). No-op without glibc."""
    gc.collect()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


def run_key(opts) -> str:
    """What decides a shard's rows besides its documents: a shard committed under other components, table schema
    versions or options is run again."""
    decides = {"components": run_components(opts), "since": opts.since, "until": opts.until,
               "story_window_days": opts.story_window_days,
               "schemas": [t.version for t in dataset.RUN_VERSIONED]}  # a new schema version is other rows
    return hashlib.sha256(json.dumps(decides, sort_keys=True).encode()).hexdigest()


def shard_key(shard: Shard, key_of_run: str) -> str:
    return hashlib.sha256(f"{key_of_run}\0{shard.digest}".encode()).hexdigest()[:32]


@dataclasses.dataclass
class ShardedRun:
    """What a sharded command did, for the summary."""
    shards: int = 0
    skipped: int = 0
    run: int = 0
    documents: int = 0
    counters: dict = dataclasses.field(default_factory=dict)
    shard_seconds: list = dataclasses.field(default_factory=list)

    def add(self, counters: dict) -> None:
        for stage, values in counters.items():
            mine = self.counters.setdefault(stage, {})
            for name, value in values.items():
                mine[name] = mine.get(name, 0) + value

    def line(self, shard_size: int) -> str:
        skipped = f", {self.skipped} already committed (skipped)" if self.skipped else ""
        timing = f", {sum(self.shard_seconds) / len(self.shard_seconds):.1f}s each" if self.shard_seconds else ""
        return (f"shards: {self.shards} of at most {shard_size:,} documents: {self.run} run{timing}{skipped}")


def run_sharded(options, opts) -> ShardedRun:
    """Runs and commits each shard of opts.input not yet committed under this run's key, in order; the caller
    holds dataset.writer_lock(opts.output) and has called pipeline.batch.prepare."""
    shards = plan_shards(opts.input, opts.shard_size)
    key_of_run = run_key(opts)
    done = set() if opts.reprocess else dataset.committed_shards(opts.output)
    keys = [shard_key(s, key_of_run) for s in shards]
    todo = [(s, k) for s, k in zip(shards, keys) if k not in done]
    out = ShardedRun(shards=len(shards), skipped=len(shards) - len(todo))
    total_documents = sum(s.documents for s, _ in todo)
    now = time.monotonic()
    Progress.command = {"shards": len(todo), "shard": 0, "documents": 0, "total": total_documents,
                        "started": now, "finished": now} if len(shards) > 1 else None
    try:
        for number, (shard, key) in enumerate(todo, 1):
            if Progress.command:
                Progress.command.update(shard=number, documents=out.documents, finished=time.monotonic())
            started = time.perf_counter()
            result, staging = run_staged(options, opts, pieces=list(shard.pieces))
            commit_staged(opts, staging, shard=key, inputs=[p.describe() for p in shard.pieces])
            out.shard_seconds.append(time.perf_counter() - started)
            out.add(stage_counters(result))
            out.run += 1
            out.documents += shard.documents
            Progress.finish()
            release_freed_memory()
    finally:
        Progress.command = None
    return out
