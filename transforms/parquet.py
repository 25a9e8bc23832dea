"""WriteTable / WriteWindowedTable: records → Parquet files in the dataset layout (schemas/dataset.py).

Why not beam.io.WriteToParquet: its file names depend on the run, it writes in finish_bundle, whose output the
DaskRunner drops, and in streaming it corrupts files. Here rows are keyed by (partition, shard), where the shard
is a hash of the row's id, grouped, and each file is written in process() through a temporary name and a rename:
the same input gives the same files with the same content, and rows with the same id are written once.

Batch writes into a run's staging directory and the commit (schemas/dataset.py) moves the files into place.
Every shard of an unpartitioned table writes a file, an empty one included, so readers never meet a missing
table. Streaming writes one file per window, partition and table, final the moment it is renamed into place.
"""
from __future__ import annotations

import hashlib
import json

import apache_beam as beam

from schemas import Table, to_table
from schemas.dataset import PARTITIONED, file_name, file_path, partition_of, write_arrow
from transforms.common import CountingDoFn


def shard_of(key: str, num_shards: int) -> int:
    return int(hashlib.sha1((key or "").encode()).hexdigest()[:8], 16) % num_shards


def _tiebreak(row: dict) -> str:
    return json.dumps({k: v for k, v in row.items() if k not in ("fetched_at", "at")}, sort_keys=True, default=str)


def write_rows(path: str, table: Table, rows: list[dict]) -> int:
    """One Parquet file of `table`'s exact schema, one row per id (the same tie-break whatever the arrival order),
    written under a temporary name and renamed, so readers never see half a file."""
    by_key = {}
    for r in rows:
        k = r.get(table.key)
        if k not in by_key or _tiebreak(r) < _tiebreak(by_key[k]):
            by_key[k] = r
    arrow = to_table(table, list(by_key.values()))
    write_arrow(path, arrow)
    return arrow.num_rows


def _file_key(table: Table, row: dict, num_shards: int) -> str:
    return f"{partition_of(table, row)}|{shard_of(row[table.key], num_shards)}"


class WriteFile(CountingDoFn):
    """(partition|shard, rows) → one file; `prefix` names it (streaming: the window and the job)."""

    def __init__(self, table: Table, root: str, num_shards: int, windowed_job: str | None = None):
        self.table = table
        self.root = root
        self.num_shards = num_shards
        self.windowed_job = windowed_job
        self.stage = f"write_{table.name.split('/')[-1]}"  # state/story_index → write_story_index

    def process(self, kv, window=beam.DoFn.WindowParam):
        key, rows = kv
        partition, shard = key.split("|")
        rows = [r for r in rows if r is not None]
        prefix = window_prefix(window, self.windowed_job) if self.windowed_job else ""
        path = file_path(self.root, self.table, partition, file_name(prefix, int(shard), self.num_shards))
        with self.timed():
            n = write_rows(path, self.table, rows)
        self.count("rows", n)
        self.count("files")
        yield path


def window_prefix(window, job: str) -> str:
    """window-<start>-<end>-<job>: UTC times without ':' (Hadoop paths, hence Spark, and Windows reject it); the
    job's start time keeps a restarted job from overwriting a window file an earlier job wrote."""
    def stamp(ts):
        return ts.to_utc_datetime().strftime("%Y%m%dT%H%M%SZ")
    span = f"{stamp(window.start)}-{stamp(window.end)}" if hasattr(window, "start") else "global"
    return f"window-{span}-{job}"


class WriteTable(beam.PTransform):
    """Batch: rows → `root`/<table>/[partition/]part-SSSSS-of-NNNNN.parquet (root: a run's staging directory)."""

    def __init__(self, table: Table, root: str, num_shards: int = 1):
        super().__init__()
        self.table = table
        self.root = root
        self.num_shards = num_shards

    def expand(self, rows):
        table, n = self.table, self.num_shards
        keyed = rows | "KeyByFile" >> beam.Map(lambda r: (_file_key(table, r, n), r))
        if table.name in PARTITIONED:
            seeds = []  # a partitioned table has files only where it has rows (the commit keeps one if none)
        else:
            seeds = [(f"|{i}", None) for i in range(n)]  # every shard writes a file, an empty one included
        seeded = rows.pipeline | f"Seeds{table.name}" >> beam.Create(seeds)
        return ((keyed, seeded)
                | "WithSeeds" >> beam.Flatten()
                | "GroupByFile" >> beam.GroupByKey()
                | "WriteFile" >> beam.ParDo(WriteFile(table, self.root, n)))


class WriteWindowedTable(beam.PTransform):
    """Streaming: rows → `root`/<table>/[partition/]window-<start>-<end>-<job>-part-00000-of-00001.parquet, one
    file per window and partition, written when the window's GroupByKey fires."""

    def __init__(self, table: Table, root: str, job: str):
        super().__init__()
        self.table = table
        self.root = root
        self.job = job

    def expand(self, rows):
        table = self.table
        return (rows
                | "KeyByFile" >> beam.Map(lambda r: (_file_key(table, r, 1), r))
                | "GroupByFile" >> beam.GroupByKey()
                | "WriteFile" >> beam.ParDo(WriteFile(table, self.root, 1, windowed_job=self.job)))
