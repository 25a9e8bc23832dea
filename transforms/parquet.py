"""WriteTable: records → OUT/<table>/part-SSSSS-of-NNNNN.parquet, deterministic and idempotent.

Why not beam.io.WriteToParquet: its file names depend on the run and it writes in finish_bundle, whose output
the DaskRunner drops. Here rows are keyed by a hash of their id to a fixed number of shards, grouped, and each
shard file is written in process(): the same input gives the same files, byte for byte in content, and a re-run
into the same directory replaces them instead of adding rows. Every shard writes a file, an empty one included,
so readers never meet a missing table. Rows with the same id are written once.
"""
from __future__ import annotations

import hashlib
import json

import apache_beam as beam
import pyarrow.parquet as pq
from apache_beam.io.filesystems import FileSystems

from schemas import Table, to_table
from transforms.common import CountingDoFn


def shard_of(key: str, num_shards: int) -> int:
    return int(hashlib.sha1((key or "").encode()).hexdigest()[:8], 16) % num_shards


def shard_path(output_dir: str, table: Table, shard: int, num_shards: int) -> str:
    return FileSystems.join(output_dir, table.name, f"part-{shard:05d}-of-{num_shards:05d}.parquet")


def _tiebreak(row: dict) -> str:
    return json.dumps({k: v for k, v in row.items() if k not in ("fetched_at", "at")}, sort_keys=True, default=str)


def write_rows(path: str, table: Table, rows: list[dict]) -> int:
    by_key = {}
    for r in rows:
        k = r.get(table.key)
        if k not in by_key or _tiebreak(r) < _tiebreak(by_key[k]):
            by_key[k] = r
    arrow = to_table(table, list(by_key.values()))
    tmp = path + ".inprogress"
    with FileSystems.create(tmp) as f:
        pq.write_table(arrow, f, compression="zstd")
    if FileSystems.exists(path):
        FileSystems.delete([path])
    FileSystems.rename([tmp], [path])  # readers never see half a file
    return arrow.num_rows


class WriteShard(CountingDoFn):
    def __init__(self, table: Table, output_dir: str, num_shards: int):
        self.table = table
        self.output_dir = output_dir
        self.num_shards = num_shards
        self.stage = f"write_{table.name.split('/')[-1]}"  # state/story_index → write_story_index

    def process(self, kv):
        shard, grouped = kv
        rows = list(grouped["rows"])
        path = shard_path(self.output_dir, self.table, shard, self.num_shards)
        with self.timed():
            n = write_rows(path, self.table, rows)
        self.count("rows", n)
        self.count("files")
        yield path


class WriteTable(beam.PTransform):
    def __init__(self, table: Table, output_dir: str, num_shards: int = 1):
        super().__init__()
        self.table = table
        self.output_dir = output_dir
        self.num_shards = num_shards

    def expand(self, rows):
        n, key = self.num_shards, self.table.key
        keyed = rows | "KeyByShard" >> beam.Map(lambda r: (shard_of(r[key], n), r))
        seeds = rows.pipeline | f"Shards{self.table.name}" >> beam.Create([(i, None) for i in range(n)])
        return ({"rows": keyed, "seed": seeds}
                | "GroupByShard" >> beam.CoGroupByKey()
                | "WriteShard" >> beam.ParDo(WriteShard(self.table, self.output_dir, n)))
