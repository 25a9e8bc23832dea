"""The batch pipeline on Beam's DaskRunner (with claimwire's fixes) against a 2-process dask.distributed
LocalCluster gives the same rows as the DirectRunner."""
import duckdb
import pytest

from pipeline.cli import main
from pipeline.commands import _default_runner


def q(sql):
    return duckdb.sql(sql).fetchall()


@pytest.fixture(scope="module")
def dask_cluster():
    from distributed import LocalCluster
    cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                           host="127.0.0.1")
    yield cluster
    cluster.close()


def test_runner_flags_are_mapped():
    assert _default_runner(["--runner", "dask", "--dask-address", "127.0.0.1:1"]) == [
        "--runner=pipeline.dask_runner.DaskRunner", "--dask_client_address", "127.0.0.1:1"]
    assert _default_runner(["--output", "x"]) == ["--output", "x", "--runner=DirectRunner"]


def test_dask_run_matches_direct_runner(dask_cluster, sample_run, sample_feeds, tmp_path):
    assert main(["run", "--feeds", sample_feeds, "--output", str(tmp_path), "--min-host-delay", "0",
                 "--num-shards", "2", "--runner", "dask", "--dask-address", dask_cluster.scheduler_address]) == 0
    # the stages really ran as tasks of that cluster's scheduler (on its two worker processes)
    assert len(dask_cluster.scheduler_info["workers"]) == 2
    ran = {name for name, prefix in dask_cluster.scheduler.task_prefixes.items()
           if prefix.state_counts.get("released", 0) + prefix.state_counts.get("forgotten", 0)
           + prefix.state_counts.get("memory", 0)}
    assert any("run_bundle_keeping_tags" in name for name in ran), ran
    checks = {
        "articles": "article_id, story_id, duplicate_of, duplicate_kind, content_hash",
        "claims": "claim_id, article_id, story_id, value, unit, claimant",
        "stories": "story_id, article_count",
        "story_claims": "story_claim_id, outlet_count",
        "errors": "error_id, kind",
    }
    for table, cols in checks.items():
        direct = q(f"select {cols} from read_parquet('{sample_run}/{table}/**/*.parquet') order by 1")
        dask = q(f"select {cols} from read_parquet('{tmp_path}/{table}/**/*.parquet') order by 1")
        assert dask == direct, table
        assert direct, table
    # a second run into the same directory reads the story index back (beam.io.Read on Dask) and changes nothing
    first = {t: q(f"select {c} from read_parquet('{tmp_path}/{t}/**/*.parquet') order by 1") for t, c in checks.items()}
    assert main(["run", "--feeds", sample_feeds, "--output", str(tmp_path), "--min-host-delay", "0",
                 "--num-shards", "2", "--runner", "dask", "--dask-address", dask_cluster.scheduler_address]) == 0
    for table, cols in checks.items():
        assert q(f"select {cols} from read_parquet('{tmp_path}/{table}/**/*.parquet') order by 1") == first[table]
    # sharded, partitioned tables: files per publication date, shard names out of 2, each row in exactly one file
    files = sorted((tmp_path / "articles").glob("published_date=*/run-*-part-*.parquet"))
    assert {f.name.split("-part-")[1] for f in files} == {"00000-of-00002.parquet", "00001-of-00002.parquet"}
    assert q(f"select count(*), count(distinct article_id) from read_parquet('{tmp_path}/articles/*/*.parquet')") \
        == [(14, 14)]


def test_wheel_for_setup_file_ships_the_model(tmp_path):
    """Remote workers (Dataflow, Flink, Dask) get the package from setup.py: the wheel must carry the NER model."""
    import glob
    import os
    import shutil
    import subprocess
    import sys
    import zipfile
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    src = tmp_path / "src"  # pip builds in the tree it is given: a copy keeps build/ out of the checkout
    shutil.copytree(root, src, ignore=shutil.ignore_patterns(".venv", ".git", "out", "build", "*.egg-info",
                                                              "__pycache__", "tests", "samples", "bench"))
    subprocess.run([sys.executable, "-m", "pip", "wheel", str(src), "--no-deps", "--no-build-isolation", "-q",
                    "-w", str(tmp_path / "dist")], check=True, capture_output=True)
    names = zipfile.ZipFile(glob.glob(str(tmp_path / "dist" / "*.whl"))[0]).namelist()
    for f in ("model.int8.onnx", "model.safetensors", "tokenizer.json", "config.json", "claimwire_ner.json"):
        for model in ("claimwire-ner-v1", "claimwire-ner-v2"):
            assert f"models/{model}/{f}" in names, (model, f)
    for f in ("head.safetensors", "head.int8.onnx", "claimwire_attribution.json"):
        assert f"models/claimwire-attribution-v2/{f}" in names, f
    for module in ("pipeline/dask_runner.py", "pipeline/follow.py", "transforms/streaming.py", "schemas/records.py"):
        assert module in names, module


def test_group_by_key_brings_partitions_back_to_the_job_count():
    """DaskRunner fix 6: Flatten adds its inputs' partitions and a shuffle keeps its input's count, so a chain of
    CoGroupByKeys (a Flatten, then a GroupByKey, each) would double the partitions each time: 4 · 2⁶ = 256 here,
    and a task shuffle costs partitions squared. Each GroupByKey starts from the job's count again."""
    import apache_beam as beam
    from apache_beam.options.pipeline_options import PipelineOptions
    from apache_beam.runners.dask import dask_runner as upstream

    from pipeline.dask_runner import DaskRunner
    p = beam.Pipeline(options=PipelineOptions(["--runner=DirectRunner"]))
    pc = p | beam.Create([(i % 5, i) for i in range(50)])
    for r in range(6):
        pc = ({"a": pc, "b": pc | f"Copy{r}" >> beam.Map(lambda kv: kv)}
              | f"Join{r}" >> beam.CoGroupByKey()
              | f"Unnest{r}" >> beam.FlatMap(lambda kv: [(kv[0], v) for v in kv[1]["a"]]))
    p.replace_all(upstream.dask_overrides())
    visitor = DaskRunner.to_dask_bag_visitor({"npartitions": 4})
    p.visit(visitor)
    counts = [bag.npartitions for bag in visitor.bags.values()]
    assert len(counts) > 30 and max(counts) <= 8  # a Flatten of two 4-partition bags
    assert sorted(visitor.bags.values(), key=lambda b: -b.npartitions)[0].npartitions == 8


def test_a_sharded_archive_run_on_dask_gives_the_direct_runners_rows(dask_cluster, tmp_path):
    """`claimwire run --input` in shards on Dask: each shard's stages run as the cluster's tasks, the commits stay
    on the driver in shard order, and every table equals the DirectRunner's sharded run row for row."""
    import sys

    from schemas import dataset
    sys.path.insert(0, str(__import__("pathlib").Path(__file__).parent))
    from determinism_corpus import write_corpus
    data = tmp_path / "corpus.jsonl"
    write_corpus(str(data))
    common = ["run", "--input", str(data), "--no-ner", "--quiet", "--shard-size", "40"]
    assert main([*common, "--output", str(tmp_path / "direct")]) == 0
    assert main([*common, "--output", str(tmp_path / "dask"), "--runner", "dask",
                 "--dask-address", dask_cluster.scheduler_address]) == 0
    assert len(dataset.load_manifest(str(tmp_path / "dask"))["shards"]) == 3
    for table in ("articles", "claims", "stories", "story_claims", "errors", "state/story_index"):
        rows = {}
        for way in ("direct", "dask"):
            t = dataset.read_table(str(tmp_path / way), table)
            t = t.drop_columns([c for c in ("fetched_at", "at") if c in t.column_names])
            rows[way] = sorted(t.to_pylist(), key=lambda r: r[dataset.ALL_TABLES[table].key])
        assert rows["dask"] == rows["direct"], table
        assert rows["direct"] or table == "errors", table
