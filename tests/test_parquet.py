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
    import re
    for name, t in TABLES.items():
        assert re.fullmatch(rf"{re.escape(name)}\.v\d+", t.version) and t.key in t.columns
        assert "schema_version" in t.columns


def test_files_of_an_earlier_claims_version_read_beside_new_ones(tmp_path):
    """claims.v1 files written by an earlier claimwire stay readable next to claims.v2 files: the dataset reader
    and DuckDB's union_by_name fill the new columns with nulls; nothing is rewritten."""
    import duckdb
    import pyarrow as pa
    import pyarrow.parquet as pq

    from schemas import CLAIMS
    from schemas.dataset import _rows_of
    v2 = to_table(CLAIMS, [{"claim_id": "new", "article_id": "a", "stance": "asserts", "value": 3.0,
                            "value_low": 2.0, "value_high": 4.0, "attribution": "model"}])
    v1_columns = [c for c in CLAIMS.columns if c not in ("value_low", "value_high", "vague", "figure_start",
                                                          "figure_end", "claimant_start", "claimant_end",
                                                          "attribution")]
    v1 = v2.select(v1_columns).set_column(v1_columns.index("schema_version"), "schema_version",
                                          pa.array(["claims.v1"]))
    v1 = v1.set_column(0, "claim_id", pa.array(["old"]))
    pq.write_table(v1, tmp_path / "run-old.parquet")
    pq.write_table(v2, tmp_path / "run-new.parquet")
    rows = {r["claim_id"]: r for r in _rows_of([str(tmp_path / "run-old.parquet"),
                                                str(tmp_path / "run-new.parquet")]).to_pylist()}
    assert rows["old"]["schema_version"] == "claims.v1" and rows["old"]["value_low"] is None
    assert rows["new"]["value_low"] == 2.0
    got = duckdb.sql(f"select claim_id, schema_version, attribution from read_parquet('{tmp_path}/*.parquet', "
                     "union_by_name = true) order by claim_id").fetchall()
    assert got == [("new", "claims.v2", "model"), ("old", "claims.v1", None)]
