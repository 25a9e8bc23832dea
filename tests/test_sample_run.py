"""The main job over the bundled sample, fetched over loopback HTTP: what ./run_local.sh does."""
import os

import duckdb
import pyarrow.parquet as pq

SAMPLE_ARTICLES = 14  # 5 + 5 + 4 pages behind the three outlets' feeds (the 15th entry is the sample's 404)


def q(sql):
    return duckdb.sql(sql).fetchall()


def test_every_sample_article_written_with_clean_text(sample_run):
    rows = q(f"select outlet, title, text, published_at from read_parquet('{sample_run}/articles/**/*.parquet')")
    assert len(rows) == SAMPLE_ARTICLES
    assert {r[0] for r in rows} == {"cnewslive.example", "timeswordle.example", "globalwirepost.example"}
    for outlet, title, text, published in rows:
        assert title and published is not None and len(text) > 300, title
        for furniture in ("The comments posted here", "You must be logged in", "Check out TimesWordle.com",
                          "Sign up for our free newsletter", "Related stories", "Accept all", "reader_1984"):
            assert furniture not in text, (title, furniture)


def test_bad_inputs_become_error_rows(sample_run):
    errors = q(f"select stage, kind, url from read_parquet('{sample_run}/errors/*.parquet') order by stage")
    assert [(s, k) for s, k, _ in errors] == [("fetch_articles", "http_client_error"),
                                               ("fetch_feeds", "feed_parse_error")]
    assert errors[0][2].endswith("/globalwire/removed-story.html")
    assert errors[1][2].endswith("/broken/feed.xml")


def test_ids_are_deterministic_across_runs(sample_run, sample_feeds, tmp_path):
    from pipeline.cli import main
    assert main(["run", "--feeds", sample_feeds, "--output", str(tmp_path), "--min-host-delay", "0",
                 "--no-ner", "--no-dedup"]) == 0
    first = q(f"select article_id, content_hash from read_parquet('{sample_run}/articles/**/*.parquet') order by 1")
    second = q(f"select article_id, content_hash from read_parquet('{tmp_path}/articles/**/*.parquet') order by 1")
    assert first == second


def test_rerun_into_same_directory_keeps_row_counts(sample_feeds, tmp_path):
    from pipeline.cli import main
    args = ["run", "--feeds", sample_feeds, "--output", str(tmp_path), "--min-host-delay", "0", "--no-ner"]
    counts = []
    for _ in range(2):
        assert main(args) == 0
        counts.append([pq.ParquetDataset(str(tmp_path / t)).read().num_rows for t in ("articles", "errors", "stories")])
    assert counts[0] == counts[1] == [SAMPLE_ARTICLES, 2, 12]


def test_syndicated_copy_is_verbatim_plus_credit(sample_run):
    rows = q(f"select outlet, text from read_parquet('{sample_run}/articles/**/*.parquet') "
             "where title like '3,000 North Korean Soldiers%' order by outlet")
    assert [r[0] for r in rows] == ["cnewslive.example", "globalwirepost.example"]
    original, copy = rows[0][1], rows[1][1]
    # the wire copy is the original, verbatim, plus the wire's credit line
    assert copy.startswith(original) and "republished with permission" in copy[len(original):]


def test_cli_usage_errors(tmp_path):
    from pipeline.cli import main
    assert main(["run", "--output", str(tmp_path)]) == 2
    assert main(["frobnicate"]) == 2
    assert os.path.isdir(tmp_path)


def test_seeds_share_a_story_and_the_wire_copy_points_to_its_original(sample_run):
    rows = {r[0]: r[1:] for r in q(
        f"select url, article_id, story_id, duplicate_of, duplicate_kind, outlet "
        f"from read_parquet('{sample_run}/articles/**/*.parquet')")}
    by_slug = {u.rsplit("/", 1)[-1].removesuffix(".html"): v for u, v in rows.items()}
    seed_a, seed_b = by_slug["north-korean-soldiers-deployed-russia"], by_slug["3000-north-korean-troops-sent-russia"]
    wire = by_slug["nk-troops-russia-syndicated"]
    assert seed_a[1] == seed_b[1] == wire[1]
    assert wire[2] == seed_a[0] and wire[3] == "copy" and seed_a[2] is None and seed_b[2] is None
    others = {slug: v[1] for slug, v in by_slug.items()
              if slug in ("nk-missile-test-east-sea", "nk-blows-up-inter-korean-roads", "kyiv-drone-attack-overnight",
                          "ukraine-grain-corridor-exports", "zelensky-appeal-air-defence")}
    assert len(set(others.values())) == 5 and seed_a[1] not in others.values()
    story = q(f"select article_count, outlet_count from read_parquet('{sample_run}/stories/*.parquet') "
              f"where story_id = '{seed_a[1]}'")
    assert story == [(3, 3)]


def test_story_ids_stable_when_rerun_into_the_same_directory(sample_feeds, tmp_path):
    from pipeline.cli import main
    args = ["run", "--feeds", sample_feeds, "--output", str(tmp_path), "--min-host-delay", "0", "--no-ner"]
    ids = []
    for _ in range(2):
        assert main(args) == 0
        ids.append(q(f"select article_id, story_id, duplicate_of from read_parquet('{tmp_path}/articles/**/*.parquet') "
                     "order by 1"))
    assert ids[0] == ids[1] and len({r[1] for r in ids[0]}) == 12
    index = q(f"select count(*) from read_parquet('{tmp_path}/state/story_index/**/*.parquet')")
    assert index == [(SAMPLE_ARTICLES,)]


def test_two_worker_processes_give_the_same_rows(sample_run, sample_feeds, tmp_path):
    """--direct_num_workers 2 in multi-processing mode: same ids, and each model loaded once per worker process
    (RunInference's shared model: its load_model metric counts at most 2 loads, for more batches than that)."""
    from apache_beam.metrics.metric import MetricsFilter

    from pipeline.batch import run_batch
    from pipeline.options import ClaimwireOptions
    options = ClaimwireOptions(["--feeds", sample_feeds, "--output", str(tmp_path), "--min-host-delay", "0",
                                "--runner", "DirectRunner", "--direct_num_workers", "2",
                                "--direct_running_mode", "multi_processing"])
    result, _ = run_batch(options, options.view_as(ClaimwireOptions))
    for namespace in ("claimwire_ner", "claimwire_embed"):
        dists = {d.key.metric.name: d.committed or d.attempted
                 for d in result.metrics().query(MetricsFilter().with_namespace(namespace))["distributions"]}
        loads, batches = dists["load_model_latency_milli_secs"].count, dists["inference_batch_latency_micro_secs"].count
        assert 1 <= loads <= 2 < batches, (namespace, loads, batches)  # at most once per process, not per batch
    for table, cols in (("articles", "article_id, story_id, duplicate_of"), ("claims", "claim_id, value, unit")):
        one = q(f"select {cols} from read_parquet('{sample_run}/{table}/**/*.parquet') order by 1")
        two = q(f"select {cols} from read_parquet('{tmp_path}/{table}/**/*.parquet') order by 1")
        assert one == two and one
