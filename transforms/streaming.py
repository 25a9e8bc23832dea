"""Streaming pieces: per-feed conditional polling state, entry dedup with a TTL, windowed Parquet files.

The batch stages (FetchArticles, ExtractText, RecognizeEntities, DeduplicateStories, ExtractClaims) are reused
unchanged; only these differ:
- PollFeeds: a stateful DoFn keyed by feed URL keeps each feed's ETag / Last-Modified / body hash between polls
  (the same conditional GET as `--follow`);
- DedupEntries: keyed by canonical URL and then by feed guid, remembers each key for `ttl` seconds of event time
  (a timer clears it), so an item a feed lists for days is processed once, and the state stays bounded (no
  global key);
- WriteWindowedTable: fileio.WriteToFiles with a Parquet sink, one file per window per table (Beam's
  WriteToParquet corrupts files in streaming).
"""
from __future__ import annotations

import apache_beam as beam
from apache_beam.coders import PickleCoder, VarIntCoder
from apache_beam.io import fileio
from apache_beam.transforms.timeutil import TimeDomain
from apache_beam.typehints import KV, Any
from apache_beam.transforms.userstate import ReadModifyWriteStateSpec, TimerSpec, on_timer
from apache_beam.utils.timestamp import Duration

from schemas import Table, to_table
from transforms.common import ERRORS, CountingDoFn
from transforms.feeds import FEED_STATE, FetchAndParseFeed
from transforms.urls import canonicalize_url


class PollFeed(FetchAndParseFeed):
    """(feed_url, source) → entries and dead letters; the feed's poll state lives in Beam state, per feed."""
    stage = "fetch_feeds"
    FEED_STATE_SPEC = ReadModifyWriteStateSpec("feed_state", PickleCoder())

    def process(self, kv, feed_state=beam.DoFn.StateParam(FEED_STATE_SPEC)):
        _, source = kv
        with self.timed():
            out = list(self._process(dict(source, state=feed_state.read() or {})))
        for item in out:
            if isinstance(item, beam.pvalue.TaggedOutput) and item.tag == FEED_STATE:
                feed_state.write(item.value)
                self.count("state_" + item.value["status"])
            else:
                yield item


class PollFeeds(beam.PTransform):
    """feed sources (one per poll tick) → entries (main) + dead letters ('errors')."""

    def __init__(self, policy):
        super().__init__()
        self.policy = policy

    def expand(self, sources):
        return (sources
                | "KeyByFeed" >> beam.Map(lambda s: (s["feed_url"], s)).with_output_types(KV[str, Any])
                | "Poll" >> beam.ParDo(PollFeed(self.policy)).with_outputs(ERRORS, main="entries"))


class FirstSightingWithinTtl(CountingDoFn):
    """(key, entry) → the entry, the first time the key is seen within `ttl_seconds` of event time."""
    stage = "dedup_entries"
    SEEN = ReadModifyWriteStateSpec("seen", VarIntCoder())
    EXPIRY = TimerSpec("expiry", TimeDomain.WATERMARK)

    def __init__(self, ttl_seconds: float):
        self.ttl_seconds = ttl_seconds

    def process(self, kv, timestamp=beam.DoFn.TimestampParam, seen=beam.DoFn.StateParam(SEEN),
                expiry=beam.DoFn.TimerParam(EXPIRY)):
        _, entry = kv
        if seen.read():
            self.count("duplicates")
            return
        seen.write(1)
        expiry.set(timestamp + Duration(seconds=self.ttl_seconds))
        self.count("out")
        yield entry

    @on_timer(EXPIRY)
    def expire(self, seen=beam.DoFn.StateParam(SEEN)):
        seen.clear()
        self.count("expired")


def guid_key(entry: dict) -> str:
    """A feed's own id for an item (RSS guid / Atom id), scoped to the feed; the URL when there is none."""
    guid = entry.get("guid")
    return f"{entry.get('feed_url')}\x1f{guid}" if guid else canonicalize_url(entry["url"])


class DedupEntries(beam.PTransform):
    """An entry passes once per TTL by canonical URL (the same story in several feeds, tracking parameters) and
    once by its feed's guid (an item whose link changed, e.g. a corrected slug)."""

    def __init__(self, ttl_seconds: float):
        super().__init__()
        self.ttl_seconds = ttl_seconds

    def expand(self, entries):
        return (entries
                | "KeyByCanonicalUrl" >> beam.Map(lambda e: (canonicalize_url(e["url"]), e)).with_output_types(
                    KV[str, Any])
                | "FirstUrlWithinTtl" >> beam.ParDo(FirstSightingWithinTtl(self.ttl_seconds))
                | "KeyByGuid" >> beam.Map(lambda e: (guid_key(e), e)).with_output_types(KV[str, Any])
                | "FirstGuidWithinTtl" >> beam.ParDo(FirstSightingWithinTtl(self.ttl_seconds)))


class ParquetSink(fileio.FileSink):
    """Rows of one table, written as one Parquet file of its exact schema when fileio flushes the file."""

    def __init__(self, table: Table):
        self.table = table
        self.rows = []
        self.fh = None

    def open(self, fh):
        self.fh, self.rows = fh, []

    def write(self, record):
        self.rows.append(record)

    def flush(self):
        import pyarrow.parquet as pq
        pq.write_table(to_table(self.table, self.rows), self.fh, compression="zstd")
        self.rows = []


def window_file_naming(job: str):
    """fileio file naming: part-<start>-<end>-<job>-<pane>-SSSSS-of-NNNNN.parquet, UTC times without ':' (Hadoop
    paths, hence Spark, and Windows reject it). `job` (the job's start time) keeps a restarted job from
    overwriting the file an earlier job wrote for the same window."""
    def name(window, pane, shard_index, total_shards, compression, destination) -> str:
        def stamp(ts):
            return ts.to_utc_datetime().strftime("%Y%m%dT%H%M%SZ")
        span = f"{stamp(window.start)}-{stamp(window.end)}" if hasattr(window, "start") else "global"
        pane_index = pane.index if pane is not None else 0
        return f"part-{span}-{job}-{pane_index}-{shard_index or 0:05d}-of-{total_shards or 1:05d}.parquet"
    return name


class WriteWindowedTable(beam.PTransform):
    """rows → OUT/<table>/part-<window start>-<window end>-<job>-<pane>-00000-of-00001.parquet: one file per
    window (and job)."""

    def __init__(self, table: Table, output_dir: str, job: str):
        super().__init__()
        self.table = table
        self.output_dir = output_dir
        self.job = job

    def expand(self, rows):
        table = self.table
        return rows | "WriteToFiles" >> fileio.WriteToFiles(
            path=f"{self.output_dir.rstrip('/')}/{table.name}",
            file_naming=window_file_naming(self.job),
            sink=lambda _destination: ParquetSink(table),
            shards=1)
