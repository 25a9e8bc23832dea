"""The streaming pipeline on the BundleBasedDirectRunner, driven by a TestStream of poll ticks across three
windows against a loopback feed that grows: per-feed conditional GET state, entry dedup across windows, one
Parquet file per window and table."""
import glob
import os

import apache_beam as beam
import pyarrow.parquet as pq
from apache_beam.options.pipeline_options import PipelineOptions, StandardOptions
from apache_beam.runners.direct.direct_runner import BundleBasedDirectRunner
from apache_beam.testing.test_stream import TestStream
from apache_beam.testing.util import assert_that, equal_to
from apache_beam.transforms.window import TimestampedValue
from feed_server import GrowingFeed

from pipeline.assembly import build_streaming_pipeline
from pipeline.options import ClaimwireOptions


def item_of(url: str) -> int:
    return int(url.rsplit("/", 1)[1].split(".")[0])


def test_teststream_three_windows_each_item_once(tmp_path):
    feed = GrowingFeed(count=2, grow_by=2, max_count=6)
    try:
        options = PipelineOptions(["--feeds", feed.url, "--output", str(tmp_path), "--min-host-delay", "0",
                                   "--window-seconds", "60", "--streaming"])
        options.view_as(StandardOptions).streaming = True
        # ticks at 10 s, 70 s, 130 s (three 60 s windows) and 190 s, when the feed no longer changes (304)
        ticks = (TestStream()
                 .advance_watermark_to(0)
                 .add_elements([TimestampedValue("tick", 10)]).advance_watermark_to(60)
                 .add_elements([TimestampedValue("tick", 70)]).advance_watermark_to(120)
                 .add_elements([TimestampedValue("tick", 130)]).advance_watermark_to(180)
                 .add_elements([TimestampedValue("tick", 190)])
                 .advance_watermark_to_infinity())
        p = beam.Pipeline(runner=BundleBasedDirectRunner(), options=options)
        tables = build_streaming_pipeline(p, options.view_as(ClaimwireOptions), ticks=p | "Ticks" >> ticks)
        per_window = (tables["articles"]
                      | "Item" >> beam.Map(lambda a: item_of(a["url"]))
                      | "ItemsPerWindow" >> beam.CombineGlobally(beam.combiners.ToListCombineFn()).without_defaults()
                      | "Sorted" >> beam.Map(sorted))
        assert_that(per_window, equal_to([[1, 2], [3, 4], [5, 6]]))
        p.run().wait_until_finish()
    finally:
        feed.close()

    # one file per window (and publication-date partition) for articles, each readable, each item in one of them
    files = sorted(glob.glob(os.path.join(tmp_path, "articles", "published_date=*", "*.parquet")),
                   key=os.path.basename)
    windows = {}
    for f in files:
        windows.setdefault(os.path.basename(f)[:40], []).extend(pq.read_table(f).column("url").to_pylist())
    assert list(windows) == ["window-19700101T000000Z-19700101T000100Z",
                             "window-19700101T000100Z-19700101T000200Z",
                             "window-19700101T000200Z-19700101T000300Z"]
    assert [sorted(item_of(u) for u in urls) for urls in windows.values()] == [[1, 2], [3, 4], [5, 6]]
    from schemas import ARTICLES
    assert pq.read_table(files[0]).schema.equals(ARTICLES.schema, check_metadata=False)
    # every page fetched once although items 1-4 were listed again in later polls; the 4th poll got a 304
    assert feed.page_hits == {n: 1 for n in range(1, 7)}
    assert feed.feed_requests == 4 and feed.not_modified == 1
    # the other tables are windowed too, and their rows carry the entities NER found
    for table in ("stories", "story_claims"):
        assert len(glob.glob(os.path.join(tmp_path, table, "window-*.parquet"))) == 3, table
    claim_windows = {os.path.basename(f)[:40] for f in glob.glob(os.path.join(tmp_path, "claims", "*", "*.parquet"))}
    assert claim_windows == set(windows)
    entities = [e for f in files for ents in pq.read_table(f).column("entities").to_pylist() for e in ents]
    assert entities


def test_streaming_cli_with_periodic_impulse_matches_batch_ids(sample_run, sample_feeds, tmp_path, spark):
    """`claimwire run --streaming` on the DirectRunner: PeriodicImpulse polls three times, then stops; the rows are
    those of the batch run (same transforms, same content-derived ids), written once despite the repeated polls."""
    import duckdb

    from pipeline.cli import main
    assert main(["run", "--streaming", "--feeds", sample_feeds, "--output", str(tmp_path), "--min-host-delay", "0",
                 "--poll-interval", "1", "--stop-after", "2.5", "--window-seconds", "600"]) == 0
    for table, cols in (("articles", "article_id, story_id, duplicate_of"), ("claims", "claim_id, value"),
                        ("errors", "error_id, kind")):
        batch = duckdb.sql(f"select {cols} from read_parquet('{sample_run}/{table}/**/*.parquet') order by all")
        streamed = duckdb.sql(f"select {cols} from read_parquet('{tmp_path}/{table}/**/*.parquet') order by all")
        assert streamed.fetchall() == batch.fetchall(), table
    # batch, --follow and --streaming write one layout: the same DuckDB query answers the same on all three
    follow_out = tmp_path.parent / (tmp_path.name + "-follow")
    assert main(["run", "--follow", "--cycles", "1", "--poll-interval", "0", "--feeds", sample_feeds,
                 "--output", str(follow_out), "--min-host-delay", "0"]) == 0
    query = """select a.published_date, a.outlet, count(distinct a.article_id), count(c.claim_id)
               from read_parquet('{out}/articles/*/*.parquet', hive_partitioning = true) a
               left join read_parquet('{out}/claims/*/*.parquet', hive_partitioning = true) c using (article_id)
               group by all order by all"""
    answers = [duckdb.sql(query.format(out=out)).fetchall() for out in (sample_run, follow_out, tmp_path)]
    assert answers[0] and answers[0] == answers[1] == answers[2]
    # Spark too: the window files' names (UTC times without ':') are paths Hadoop accepts
    for out in (sample_run, follow_out, tmp_path):
        spark.read.option("mergeSchema", "true").parquet(f"{out}/articles").createOrReplaceTempView("a")
        spark.read.option("mergeSchema", "true").parquet(f"{out}/claims").createOrReplaceTempView("c")
        rows = spark.sql("""select a.published_date, a.outlet, count(distinct a.article_id), count(c.claim_id)
                            from a left join c on a.article_id = c.article_id group by 1, 2""").collect()
        assert sorted((tuple(r) for r in rows), key=repr) == sorted(answers[0], key=repr), out
    # the HTML report reads all three (streaming's per-window story rows merged by story id)
    from pipeline.report import load, render
    for out in (sample_run, follow_out, tmp_path):
        page = render(load(str(out)), str(out))
        assert "3,000 North Korean Soldiers Reportedly Deployed to Support Russia" in page, out
        assert '<svg class="timeline"' in page and ">3,000<" in page, out


def run_stream(output, feed_url, tick_at):
    options = PipelineOptions(["--feeds", feed_url, "--output", str(output), "--min-host-delay", "0",
                               "--window-seconds", "60", "--streaming"])
    ticks = (TestStream().advance_watermark_to(0)
             .add_elements([TimestampedValue("tick", tick_at)]).advance_watermark_to_infinity())
    p = beam.Pipeline(runner=BundleBasedDirectRunner(), options=options)
    build_streaming_pipeline(p, options.view_as(ClaimwireOptions), ticks=p | "Ticks" >> ticks)
    p.run().wait_until_finish()


def test_a_later_streaming_job_joins_the_stories_of_earlier_ones(sample_site, tmp_path):
    """Job 1 polls one outlet (seed A); job 2, started later into the same output, polls another (seed B, a
    rewrite of the same event): B gets A's story id from the story index job 1 wrote, and job 2 writes index
    rows for its own articles only. Restarting job 1 writes nothing twice."""
    import duckdb
    from serve import feed_urls
    urls = {u.split("/")[-2]: u for u in feed_urls(sample_site)}
    run_stream(tmp_path, urls["cnewslive"], 10)
    run_stream(tmp_path, urls["timeswordle"], 70)
    rows = dict(duckdb.sql(f"""select url, story_id from read_parquet('{tmp_path}/articles/**/*.parquet')
                               where url like '%north-korean%' or url like '%3000-north%'""").fetchall())
    seed_a = next(v for k, v in rows.items() if "north-korean-soldiers-deployed-russia" in k)
    seed_b = next(v for k, v in rows.items() if "3000-north-korean-troops-sent-russia" in k)
    assert seed_a == seed_b
    index = duckdb.sql(f"""select count(*), count(distinct article_id)
                           from read_parquet('{tmp_path}/state/story_index/**/*.parquet')""").fetchall()[0]
    articles = duckdb.sql(f"select count(*) from read_parquet('{tmp_path}/articles/**/*.parquet')").fetchall()[0][0]
    assert index == (articles, articles)
    # a restart of job 1 (its Beam state is gone) does not write what the output already holds
    run_stream(tmp_path, urls["cnewslive"], 130)
    again = duckdb.sql(f"select count(*) from read_parquet('{tmp_path}/articles/**/*.parquet')").fetchall()[0][0]
    assert again == articles


def test_a_window_joins_the_stories_of_earlier_windows_of_the_same_job(sample_site, tmp_path):
    """The live story index: the feed lists seed A at the first poll and adds its rewrite, seed B (another outlet,
    almost no shared wording), at the second poll, one window later. B's window reads the index rows A's window
    wrote and B takes A's story id."""
    import duckdb
    host, port = sample_site.server_address[:2]
    links = [f"http://{host}:{port}/cnewslive/north-korean-soldiers-deployed-russia.html",
             f"http://{host}:{port}/timeswordle/3000-north-korean-troops-sent-russia.html"]
    feed = GrowingFeed(count=1, grow_by=1, max_count=2, links=links)
    try:
        # the pages are on another loopback server than the feed: allow it (else: blocked_address)
        options = PipelineOptions(["--feeds", feed.url, "--output", str(tmp_path), "--min-host-delay", "0",
                                   "--window-seconds", "60", "--streaming", "--allow-private-hosts"])
        ticks = (TestStream().advance_watermark_to(0)
                 .add_elements([TimestampedValue("tick", 10)]).advance_watermark_to(60)
                 .add_elements([TimestampedValue("tick", 70)]).advance_watermark_to_infinity())
        p = beam.Pipeline(runner=BundleBasedDirectRunner(), options=options)
        build_streaming_pipeline(p, options.view_as(ClaimwireOptions), ticks=p | "Ticks" >> ticks)
        p.run().wait_until_finish()
    finally:
        feed.close()
    files = sorted(glob.glob(os.path.join(tmp_path, "articles", "*", "*.parquet")), key=os.path.basename)
    assert len(files) == 2  # one window each
    rows = [pq.read_table(f, columns=["url", "story_id"]).to_pylist() for f in files]
    assert [len(r) for r in rows] == [1, 1]
    assert rows[0][0]["url"] == links[0] and rows[1][0]["url"] == links[1]
    assert rows[1][0]["story_id"] == rows[0][0]["story_id"]
    assert duckdb.sql(f"select count(*) from read_parquet('{tmp_path}/state/story_index/**/*.parquet')").fetchall() \
        == [(2,)]


def test_dedup_entries_by_url_and_guid_with_a_ttl():
    """Same canonical URL (tracking parameter) or same feed guid (changed link): once per TTL; after the TTL
    (event time) the key's state is gone and the item passes again."""
    from transforms.streaming import DedupEntries

    def entry(url, guid, feed="f1"):
        return {"url": url, "guid": guid, "feed_url": feed}

    stream = (TestStream()
              .advance_watermark_to(0)
              .add_elements([TimestampedValue(entry("https://a.example/x", "g1"), 10)])
              .add_elements([TimestampedValue(entry("https://a.example/x?utm_source=rss", "g9", "f2"), 20)])
              .add_elements([TimestampedValue(entry("https://a.example/x-corrected", "g1"), 30)])
              .add_elements([TimestampedValue(entry("https://a.example/y", "g2"), 40)])
              .advance_watermark_to(500)  # past the 100 s TTL of the first sightings
              .add_elements([TimestampedValue(entry("https://a.example/x", "g1"), 510)])
              .advance_watermark_to_infinity())
    options = PipelineOptions(["--streaming"])
    with beam.Pipeline(runner=BundleBasedDirectRunner(), options=options) as p:
        out = p | stream | DedupEntries(ttl_seconds=100) | beam.Map(lambda e: (e["url"], e["guid"]))
        assert_that(out, equal_to([("https://a.example/x", "g1"), ("https://a.example/y", "g2"),
                                   ("https://a.example/x", "g1")]))


def test_an_undated_article_in_a_window_meets_the_dated_articles_of_its_arrival(tmp_path):
    """Streaming windows have no side input of every dated block: an undated article searches the blocks around
    its arrival (its element timestamp), so a dated report and an undated rewrite that arrive together are one
    story, and an unrelated dated article is not pulled in."""
    import datetime as dt

    from apache_beam.transforms.window import FixedWindows

    from claimcore.extraction import article_record
    from claimcore.story_grouping import StoryParams
    from transforms.dedup import DeduplicateStories
    from transforms.ner import RecognizeEntities
    dated = article_record(
        text="North Korea has sent 1,500 special forces soldiers to Russia, South Korea's National Intelligence "
             "Service said on Friday, and plans to send about 12,000 in total. The NIS released satellite images of "
             "Russian navy ships at Chongjin. President Yoon Suk Yeol held an emergency security meeting.",
        url="https://a.example/nis", published_at="2024-10-18T06:00:00Z")
    rewrite = article_record(
        text="South Korea's spy agency says North Korea shipped 1,500 troops to Russia, the first of about 12,000; "
             "President Yoon Suk Yeol called an emergency meeting after the National Intelligence Service showed "
             "images of Russian ships at Chongjin.", url="https://c.example/spy-agency")
    other = article_record(text="A marathon runner broke the course record in the city on Sunday, finishing in two "
                                "hours and three minutes as thousands watched.", url="https://d.example/marathon",
                           published_at="2024-10-18T08:00:00Z")
    assert rewrite["published_at"] is None
    arrival = dt.datetime(2024, 10, 18, 9, tzinfo=dt.timezone.utc).timestamp()
    stream = (TestStream().advance_watermark_to(arrival - 10)
              .add_elements([TimestampedValue(a, arrival) for a in (dated, rewrite, other)])
              .advance_watermark_to_infinity())
    options = PipelineOptions(["--streaming"])
    p = beam.Pipeline(runner=BundleBasedDirectRunner(), options=options)
    articles = (p | stream | beam.WindowInto(FixedWindows(60)) | RecognizeEntities()).articles
    out = articles | DeduplicateStories(StoryParams(), live_index_dir=str(tmp_path))
    assert_that(out["articles"] | beam.Map(lambda a: (a["url"], a["story_id"])),
                equal_to([("https://a.example/nis", dated["article_id"]),
                          ("https://c.example/spy-agency", dated["article_id"]),
                          ("https://d.example/marathon", other["article_id"])]))
    p.run().wait_until_finish()
