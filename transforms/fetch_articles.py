"""FetchArticles: feed entries → fetched article pages, one fetch per canonical URL."""
from __future__ import annotations

import datetime as dt

import apache_beam as beam

from claimcore.http_client import FetchError, FetchPolicy, HttpClient
from claimcore.urls import canonicalize_url
from transforms.common import ERRORS, CountingDoFn


def page_record(*, url, final_url, body: bytes, content_type=None, fetched_at=None, entry=None,
                source_id=None) -> dict:
    """The record between fetching and extraction (also built from local documents)."""
    entry = entry or {}
    return {
        "url": url,
        "final_url": final_url or url,
        "body": body,
        "content_type": content_type,
        "fetched_at": fetched_at,
        "source_id": source_id,
        "feed_url": entry.get("feed_url"),
        "entry_title": entry.get("title"),
        "entry_published": entry.get("published"),
    }


def _first_entry(kv):
    """Of the entries naming one canonical URL, keep a deterministic one (not whichever arrived first)."""
    _, entries = kv
    return min(entries, key=lambda e: (e.get("feed_url") or "", e.get("guid") or "", e.get("url") or ""))


class SkipSeenEntries(CountingDoFn):
    """Drops entries whose canonical URL an earlier --follow cycle already wrote (as an article or a final
    error): a feed keeps listing an item for days, and each must be fetched and written once."""
    stage = "skip_seen"

    def __init__(self, seen: frozenset[str]):
        self.seen = seen

    def process(self, entry):
        if canonicalize_url(entry["url"]) in self.seen:
            self.count("skipped")
            return
        self.count("out")
        yield entry


class FetchPage(CountingDoFn):
    stage = "fetch_articles"

    def __init__(self, policy: FetchPolicy):
        self.policy = policy

    def setup(self):
        self.client = HttpClient(self.policy)

    def process(self, entry):
        with self.timed():  # outputs are collected first: fused downstream work must not count here
            out = list(self._process(entry))
        yield from out

    def _process(self, entry):
        url = entry["url"]
        trusted_hosts = frozenset(entry.get("trusted_hosts") or ())
        self.count("in")
        try:
            if not self.client.allowed_by_robots(url, trusted_hosts):
                yield self.dead_letter(url, "robots_disallowed", "robots.txt disallows this URL for claimwire")
                return
            resp = self.client.fetch(url, trusted_hosts=trusted_hosts)
        except FetchError as e:
            self.count("retries", e.attempts - 1)
            yield self.dead_letter(url, e.kind, e.message, e.attempts)
            return
        self.count("retries", resp.attempts - 1)
        if not resp.body.strip():
            yield self.dead_letter(url, "empty_body", f"HTTP {resp.status} with an empty body", resp.attempts)
            return
        self.count("out")
        self.count("bytes", len(resp.body))
        yield page_record(url=url, final_url=resp.final_url, body=resp.body,
                          content_type=resp.headers.get("content-type"),
                          fetched_at=dt.datetime.fromtimestamp(resp.fetched_at, dt.timezone.utc), entry=entry)


class FetchArticles(beam.PTransform):
    """feed entries → pages (main) + dead letters ('errors'). Entries naming the same canonical URL (one story in
    several feeds, tracking parameters) are fetched once."""

    def __init__(self, policy: FetchPolicy):
        super().__init__()
        self.policy = policy

    def expand(self, entries):
        return (entries
                | "KeyByCanonicalUrl" >> beam.Map(lambda e: (canonicalize_url(e["url"]), e))
                | "GroupSameUrl" >> beam.GroupByKey()
                | "OnePerUrl" >> beam.Map(_first_entry)
                | "Fetch" >> beam.ParDo(FetchPage(self.policy)).with_outputs(ERRORS, main="pages"))
