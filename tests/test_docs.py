"""docs/schema.md documents exactly the schema's columns, and its read examples run against a real output."""
import os
import re

from schemas import ERROR_KINDS, TABLES

DOC = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "docs", "schema.md")


def doc_text():
    with open(DOC, encoding="utf-8") as f:
        return f.read()


def test_every_column_and_error_kind_is_documented():
    text = doc_text()
    for name, table in TABLES.items():
        section = text.split(f"## {name} (`{table.version}`)", 1)[1].split("\n## ", 1)[0]
        documented = set(re.findall(r"^\| `([a-z_]+)`", section, re.M))
        documented |= {c for pair in re.findall(r"^\| `([a-z_]+)`, `([a-z_]+)`", section, re.M) for c in pair}
        assert set(table.columns) <= documented, (name, set(table.columns) - documented)
    kinds = set(re.findall(r"^\| `([a-z_]+)` \|", text.split("Error kinds", 1)[1], re.M))
    assert kinds == set(ERROR_KINDS)


def read_examples() -> list[str]:
    return re.findall(r"```python\n(.*?)```", doc_text(), re.S)


def test_read_examples_run_on_real_output(sample_run):
    blocks = [code for code in read_examples() if "pyspark" not in code]
    assert len(blocks) == 3  # DuckDB, pandas, polars
    results = []
    for code in blocks:
        scope = {"OUT": sample_run}
        exec(compile(code, DOC, "exec"), scope)  # noqa: S102 - the documentation's own examples
        results.append(scope)
    assert len(results[0]["articles"]) == 3 and sum(r[1] for r in results[0]["articles"]) == 14
    assert 0 < results[0]["one_day"] < 14  # partition pruning by published_date
    assert dict(results[0]["errors_by_kind"]) == {"http_client_error": 1, "feed_parse_error": 1}
    assert any(name == "Lloyd Austin" for name, _ in results[0]["people"])
    assert {(v, u, s) for v, u, s, _, _ in results[0]["corroborated"]} >= {
        (3000.0, "count:military personnel", "North Korea"), (10000.0, "count:military personnel", "North Korea")}
    who = {row[0] for row in results[0]["who_said_what"]}
    assert {"Volodymyr Zelensky", "South Korean lawmakers"} <= who
    assert len(results[1]["articles"]) == 14 and results[1]["articles"]["published_date"].notna().all()
    assert results[2]["entities"].height > 50 and "label" in results[2]["entities"].columns
    assert results[2]["articles"]["published_date"].null_count() == 0


def test_spark_example_reads_what_pyarrow_reads(sample_run, spark):
    """The Spark example of docs/schema.md on a real output, in a local Spark: the same rows per day, the same
    claims and the same entity mentions as pyarrow reads."""
    import collections

    import pyarrow as pa
    import pyarrow.dataset as ds

    [code] = [code for code in read_examples() if "pyspark" in code]
    scope = {"OUT": sample_run}
    exec(compile(code, DOC, "exec"), scope)  # noqa: S102 - the documentation's own example
    by_day = ds.partitioning(pa.schema([("published_date", pa.date32())]), flavor="hive")
    articles = ds.dataset(f"{sample_run}/articles", format="parquet", partitioning=by_day).to_table().to_pylist()
    claims = ds.dataset(f"{sample_run}/claims", format="parquet", partitioning=by_day).to_table().to_pylist()
    days = collections.Counter(a["published_date"] for a in articles)
    assert [(r["published_date"], r["n"]) for r in scope["by_day"]] == sorted(days.items())
    who = sorted(((c["claimant"]["canonical"] or c["claimant"]["text"], c["value"], c["unit"])
                  for c in claims if c["claimant"]), key=repr)  # repr: a denial's value is None
    assert len(who) > 20 and sorted((tuple(r) for r in scope["who_said_what"]), key=repr) == who
    mentions = sorted((e["text"], e["label"]) for a in articles for e in a["entities"])
    assert len(mentions) > 100 and sorted(tuple(r) for r in scope["mentions"]) == mentions
