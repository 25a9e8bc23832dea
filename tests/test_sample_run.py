"""The main job over the bundled sample, fetched over loopback HTTP: what ./run_local.sh does."""
import os

import duckdb
import pyarrow.parquet as pq

SAMPLE_ARTICLES = 14  # 5 + 5 + 4 pages behind the three outlets' feeds (the 15th entry is the sample's 404)


def q(sql):
    return duckdb.sql(sql).fetchall()


def test_every_sample_article_written_with_clean_text(sample_run):
    rows = q(f"select outlet, title, text, published_at from read_parquet('{sample_run}/articles/*.parquet')")
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
                 "--no-ner"]) == 0
    first = q(f"select article_id, content_hash from read_parquet('{sample_run}/articles/*.parquet') order by 1")
    second = q(f"select article_id, content_hash from read_parquet('{tmp_path}/articles/*.parquet') order by 1")
    assert first == second


def test_rerun_into_same_directory_keeps_row_counts(sample_feeds, tmp_path):
    from pipeline.cli import main
    args = ["run", "--feeds", sample_feeds, "--output", str(tmp_path), "--min-host-delay", "0", "--no-ner"]
    counts = []
    for _ in range(2):
        assert main(args) == 0
        counts.append([pq.ParquetDataset(str(tmp_path / t)).read().num_rows for t in ("articles", "errors")])
    assert counts[0] == counts[1] == [SAMPLE_ARTICLES, 2]


def test_syndicated_copy_is_verbatim_plus_credit(sample_run):
    rows = q(f"select outlet, text from read_parquet('{sample_run}/articles/*.parquet') "
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
