"""Streaming pieces: per-feed conditional polling state, entry dedup with a TTL, windowed Parquet files.

The batch stages (FetchArticles, ExtractText, RecognizeEntities, DeduplicateStories, ExtractClaims) are reused
unchanged; only these differ:
- PollFeeds: a stateful DoFn keyed by feed URL keeps each feed's ETag / Last-Modified / body hash between polls
  (the same conditional GET as `--follow`);
- DedupEntries: keyed by canonical URL and then by feed guid, remembers each key for `ttl` seconds of event time
  (a timer clears it), so an item a feed lists for days is processed once, and the state stays bounded (no
  global key);
One file per window, partition and table is written by transforms/parquet.py's WriteWindowedTable (Beam's
WriteToParquet corrupts files in streaming).
"""
from __future__ import annotations

import apache_beam as beam
from apache_beam.coders import PickleCoder, VarIntCoder
from apache_beam.transforms.timeutil import TimeDomain
from apache_beam.transforms.userstate import ReadModifyWriteStateSpec, TimerSpec, on_timer
from apache_beam.typehints import KV, Any
from apache_beam.utils.timestamp import Duration

from claimcore.urls import canonicalize_url
from transforms.common import ERRORS, CountingDoFn
from transforms.feeds import FEED_STATE_TAG, FetchAndParseFeed


class PollFeed(FetchAndParseFeed):
    """(feed_url, source) → entries and dead letters; the feed's poll state lives in Beam state, per feed."""
    stage = "fetch_feeds"
    FEED_STATE_SPEC = ReadModifyWriteStateSpec("feed_state", PickleCoder())

    def process(self, kv, feed_state=beam.DoFn.StateParam(FEED_STATE_SPEC)):
        _, source = kv
        with self.timed():
            out = list(self._process(dict(source, state=feed_state.read() or {})))
        for item in out:
            if isinstance(item, beam.pvalue.TaggedOutput) and item.tag == FEED_STATE_TAG:
                feed_state.write(item.value)
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
