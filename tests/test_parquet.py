"""WriteTable: deterministic shard files, one row per id, empty shards present, re-runs replace instead of add."""
import glob
import os

import apache_beam as beam
import duckdb
import pyarrow.parquet as pq
import pytest
from apache_beam.testing.test_pipeline import TestPipeline

from schemas import ERRORS, TABLES, error_record, to_table
from transforms.parquet import WriteTable


def write(out, rows, shards=3):
    with TestPipeline(options=beam.options.pipeline_options.PipelineOptions(["--runner=DirectRunner"])) as p:
        p | beam.Create(rows) | WriteTable(ERRORS, str(out), shards)


def test_shards_ids_and_idempotency(tmp_path):
    rows = [error_record("fetch_articles", f"http://x/{i}", "timeout", "slow") for i in range(10)]
    rows.append(dict(rows[0]))  # the same dead letter twice
    write(tmp_path, rows)
    files = sorted(glob.glob(str(tmp_path / "errors" / "*.parquet")))
    assert [os.path.basename(f) for f in files] == [f"part-0000{i}-of-00003.parquet" for i in range(3)]
    table = pq.ParquetDataset(files).read()
    assert table.num_rows == 10 and table.schema.equals(ERRORS.schema)
    assert set(table.column("schema_version").to_pylist()) == {"errors.v1"}
    write(tmp_path, rows)  # again, same directory
    n = duckdb.sql(f"select count(*), count(distinct error_id) from read_parquet('{tmp_path}/errors/*.parquet')")
    assert n.fetchall() == [(10, 10)]


def test_empty_table_still_readable(tmp_path):
    write(tmp_path, [], shards=1)
    t = pq.read_table(str(tmp_path / "errors" / "part-00000-of-00001.parquet"))
    assert t.num_rows == 0 and t.schema.equals(ERRORS.schema)


def test_to_table_rejects_unknown_columns_and_kinds():
    with pytest.raises(KeyError):
        to_table(ERRORS, [{"error_id": "a", "typo_column": 1}])
    with pytest.raises(ValueError):
        error_record("s", "u", "not_a_kind", "m")


def test_every_table_has_a_version_and_key():
    for name, t in TABLES.items():
        assert t.version == f"{name}.v1" and t.key in t.columns and "schema_version" in t.columns
