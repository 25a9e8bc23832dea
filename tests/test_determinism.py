"""Same input, same rows: the bundled sample (over loopback HTTP) plus a generated corpus of about 100 articles,
run four ways — NER batch size 1, NER batch size 32, two worker processes, Dask on a 2-process cluster — give
equal tables row for row (entities with their spans, labels and scores, claims, stories, story claims, errors and
the story index with its embeddings), leaving out only the run-time columns fetched_at and at."""
import json

import pytest
from determinism_corpus import write_corpus

from pipeline.cli import main
from schemas import dataset

TABLES = ("articles", "claims", "stories", "story_claims", "errors", "state/story_index")
RUN_TIME_COLUMNS = {"articles": ["fetched_at"], "errors": ["at"]}


def table_rows(out, table):
    t = dataset.read_table(str(out), table)
    assert t is not None, table
    t = t.drop_columns(RUN_TIME_COLUMNS.get(table, []))
    key = dataset.ALL_TABLES[table].key
    return sorted(t.to_pylist(), key=lambda r: r[key])


@pytest.fixture(scope="module")
def inputs(sample_feeds, tmp_path_factory):
    corpus = tmp_path_factory.mktemp("corpus") / "corpus.jsonl"
    assert write_corpus(str(corpus)) >= 95
    return ["--feeds", sample_feeds, "--input", str(corpus), "--min-host-delay", "0"]


@pytest.fixture(scope="module")
def dask_address():
    from distributed import LocalCluster
    cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                           host="127.0.0.1")
    yield cluster.scheduler_address
    cluster.close()


def test_four_ways_give_the_same_rows(inputs, dask_address, tmp_path):
    ways = {
        "ner-batch-1": ["--ner-batch-size", "1"],
        "ner-batch-32": ["--ner-batch-size", "32"],
        "two-processes": ["--direct_num_workers", "2", "--direct_running_mode", "multi_processing"],
        "dask": ["--runner", "dask", "--dask-address", dask_address, "--num-shards", "2"],
    }
    outputs = {}
    for name, extra in ways.items():
        out = tmp_path / name
        assert main(["run", *inputs, "--output", str(out), *extra]) == 0, name
        outputs[name] = {t: table_rows(out, t) for t in TABLES}
    reference = outputs["ner-batch-1"]
    assert len(reference["articles"]) >= 100 and len(reference["claims"]) > 100
    assert sum(len(a["entities"]) for a in reference["articles"]) > 500
    assert 12 < len(reference["stories"]) < len(reference["articles"])
    for name, tables in outputs.items():
        for table in TABLES:
            if tables[table] != reference[table]:
                diff = [(a, b) for a, b in zip(reference[table], tables[table]) if a != b][:1]
                pytest.fail(f"{name}: {table} differs from ner-batch-1, e.g. "
                            f"{json.dumps(diff, default=str)[:1500]}")
