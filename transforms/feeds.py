"""Feeds: operator-given feed sources → fetched, parsed feed entries (RSS/Atom via feedparser)."""
from __future__ import annotations

import calendar
import datetime as dt
import hashlib
import io
import os
import sys
from urllib.parse import urljoin, urlsplit

import apache_beam as beam

from claimcore.dates import parse_date
from claimcore.http_client import FetchError, FetchPolicy, HttpClient, host_key
from transforms.common import ERRORS, CountingDoFn


def _is_feed_document(data: bytes) -> bool:
    """A local file feedparser reads as a feed (RSS, Atom, RDF, JSON Feed), rather than a list of feed URLs."""
    head = data.lstrip(b"\xef\xbb\xbf \t\r\n")
    if head.startswith(b"<") or data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return True  # XML: a feed, or a broken one whose error row says why
    return head.startswith(b"{") and json_feed(data) is not None


def feed_sources(specs: list[str], problems: list | None = None, _reading: tuple = ()) -> list[dict]:
    """Expands the operator's --feeds arguments into feed sources.

    An http(s) URL is a feed; a local file is either a feed document (RSS/Atom/RDF or JSON Feed: whatever
    feedparser reads) or a list of feed URLs or feed files, one per line ('#' starts a comment; a relative path is
    found beside the list first, then in the working directory). A line that is
    neither is reported as `file:line` (appended to `problems` as (location, message), and printed when no list
    is given), skipped, and the rest goes on; so is a list that names itself or a list that names it. Everything here
    is operator-given, hence trusted.
    """
    sources = []
    for spec in specs:
        if urlsplit(spec).scheme in ("http", "https"):
            sources.append({"feed_url": spec, "content": None})
            continue
        if not os.path.isfile(spec):
            raise FileNotFoundError(f"--feeds: {spec} is neither an http(s) URL nor a file")
        with open(spec, "rb") as f:
            data = f.read()
        if _is_feed_document(data):
            sources.append({"feed_url": os.path.abspath(spec), "content": data})
            continue
        reading = _reading + (os.path.realpath(spec),)
        for number, line in enumerate(data.decode("utf-8", "replace").splitlines(), 1):
            line = line.split("#", 1)[0].strip()
            if not line:
                continue
            where = f"{spec}:{number}"
            beside = os.path.join(os.path.dirname(spec), line)
            if not urlsplit(line).scheme and not os.path.isabs(line) and os.path.isfile(beside):
                line = beside  # a relative path is read from the list's own folder first, then the working one
            if os.path.isfile(line) and os.path.realpath(line) in reading:
                why = f"{line[:200]!r} is a feed list being read already (a loop); line skipped"
            elif urlsplit(line).scheme in ("http", "https") or os.path.isfile(line):
                sources.extend(feed_sources([line], problems, reading))
                continue
            else:
                why = f"{line[:200]!r} is neither an http(s) URL nor a file; line skipped"
            if problems is None:
                print(f"claimwire: {where}: {why}", file=sys.stderr)
            else:
                problems.append((where, why))
    return sources


def _published(entry) -> dt.datetime | None:
    for key in ("published_parsed", "updated_parsed", "created_parsed"):
        t = entry.get(key)
        if t:
            try:
                return dt.datetime.fromtimestamp(calendar.timegm(t), dt.timezone.utc)
            except (OverflowError, ValueError, TypeError):
                continue
    return None


JSON_FEED_VERSION = "https://jsonfeed.org/version/"


def json_feed(body: bytes) -> dict | None:
    """The parsed document when body is a JSON Feed (jsonfeed.org 1.0/1.1; feedparser 6 does not read it)."""
    import json
    try:
        doc = json.loads(body.decode("utf-8-sig"))
    except (ValueError, UnicodeDecodeError):
        return None
    if isinstance(doc, dict) and str(doc.get("version", "")).startswith(JSON_FEED_VERSION) \
            and isinstance(doc.get("items", []), list):
        return doc
    return None


def _json_feed_entries(doc: dict, feed_url: str, base: str | None) -> list[dict]:
    entries = []
    for item in doc.get("items") or []:
        if not isinstance(item, dict):
            continue
        link = str(item.get("url") or item.get("external_url") or "").strip()
        if link and base:
            link = urljoin(base, link)
        published = parse_date(item.get("date_published")) or parse_date(item.get("date_modified"))
        entries.append({"feed_url": feed_url, "guid": str(item.get("id") or link) or None, "url": link or None,
                        "title": item.get("title"), "summary": item.get("summary") or item.get("content_text"),
                        "published": published})
    return entries


def parse_feed(body: bytes, headers: dict, feed_url: str):
    """feedparser over bytes (never a str: feedparser would treat a str as a URL or a path and open it).

    Returns (entries, error_kind, message); error_kind is None when the feed is usable.
    """
    import feedparser
    if not body.strip():
        return [], "empty_body", "the feed response is empty"
    base = feed_url if urlsplit(feed_url).scheme in ("http", "https") else None
    if body.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"{"):
        doc = json_feed(body)
        if doc is None:
            return [], "not_a_feed", "JSON, but not a JSON Feed (jsonfeed.org)"
        return _json_feed_entries(doc, feed_url, base), None, ""
    parsed = feedparser.parse(io.BytesIO(body), response_headers=headers or {})
    if not parsed.entries:
        if parsed.get("version") and not parsed.bozo:
            return [], None, ""  # a well-formed feed with no items
        if parsed.bozo:
            exc = parsed.get("bozo_exception")
            looks_html = b"<html" in body[:2048].lower()
            if looks_html:
                return [], "not_a_feed", "an HTML page, not an RSS/Atom feed"
            return [], "feed_parse_error", f"{type(exc).__name__}: {exc}"[:500]
        return [], "not_a_feed", "no RSS/Atom structure found"
    entries = []
    for e in parsed.entries:
        link = e.get("link") or ""
        if not link:
            for l in e.get("links", []):
                if l.get("rel", "alternate") == "alternate" and l.get("href"):
                    link = l["href"]
                    break
        if link and base:
            link = urljoin(base, link.strip())
        entries.append({
            "feed_url": feed_url,
            "guid": e.get("id") or link or None,
            "url": link.strip() or None,
            "title": e.get("title"),
            "summary": e.get("summary"),
            "published": _published(e),
        })
    return entries, None, ""


FEED_STATE_TAG = "feed_state"  # tag of the per-feed poll state output (follow and streaming modes)


def next_feed_state(previous: dict | None, *, status: int | None, headers: dict, body: bytes | None,
                    now: dt.datetime) -> tuple[dict, bool]:
    """(the feed's new feed_state.v1 row, whether its body must be parsed). A 304 or a body with the same
    sha256 as last time (servers that ignore conditional requests) means nothing new; None status: failed."""
    previous = previous or {}
    row = {k: previous.get(k) for k in ("feed_url", "etag", "last_modified", "content_hash", "changed_at")}
    row["checked_at"] = now
    if status is None:
        return dict(row, status="failed"), False
    if status == 304:
        return dict(row, status="not_modified"), False
    digest = hashlib.sha256(body or b"").hexdigest()
    row.update(etag=headers.get("etag") or None, last_modified=headers.get("last-modified") or None)
    if digest == previous.get("content_hash"):
        return dict(row, status="unchanged"), False
    return dict(row, content_hash=digest, status="changed", changed_at=now), True


class FetchAndParseFeed(CountingDoFn):
    """A source with a "state" key (follow, streaming) is polled with conditional GET and also yields its new
    feed state (tag FEED_STATE_TAG); a plain batch source is always fetched and parsed."""
    stage = "fetch_feeds"

    def __init__(self, policy: FetchPolicy):
        self.policy = policy

    def setup(self):
        self.client = HttpClient(self.policy)

    def process(self, source):
        with self.timed():  # outputs are collected first: fused downstream work must not count here
            out = list(self._process(source))
        yield from out

    def _process(self, source):
        feed_url = source["feed_url"]
        polled = "state" in source
        previous = dict(source.get("state") or {}, feed_url=feed_url)
        now = dt.datetime.now(dt.timezone.utc)
        self.count("in")
        if source.get("content") is not None:
            body, headers, final_url = source["content"], {}, feed_url
            status = 200
        else:
            try:
                resp = self.client.fetch(feed_url, trusted=True, etag=previous.get("etag") if polled else None,
                                         last_modified=previous.get("last_modified") if polled else None)
            except FetchError as e:
                self.count("retries", e.attempts - 1)
                if polled:
                    yield beam.pvalue.TaggedOutput(FEED_STATE_TAG, next_feed_state(
                        previous, status=None, headers={}, body=None, now=now)[0])
                yield self.dead_letter(feed_url, e.kind, e.message, e.attempts)
                return
            self.count("retries", resp.attempts - 1)
            body, headers, final_url, status = resp.body, resp.headers, resp.final_url, resp.status
            self.count("bytes", len(body))
        if polled:
            state, changed = next_feed_state(previous, status=status, headers=headers, body=body, now=now)
            yield beam.pvalue.TaggedOutput(FEED_STATE_TAG, state)
            if not changed:
                self.count(state["status"])  # not_modified / unchanged
                return
        try:
            entries, kind, message = parse_feed(body, headers, final_url)
        except Exception as e:  # feedparser on hostile bytes: never let it take the other feeds down
            entries, kind, message = [], "feed_parse_error", f"{type(e).__name__}: {e}"
        if kind:
            yield self.dead_letter(feed_url, kind, message)
            return
        self.count("out")
        # the operator's feed host may be private (an intranet CMS); its own links may stay on it
        trusted_hosts = [host_key(feed_url)] if source.get("content") is None else []
        for entry in entries:
            if not entry["url"]:
                yield self.dead_letter(feed_url, "entry_without_link",
                                       f"entry {entry.get('guid') or entry.get('title')!r} has no link")
                continue
            self.count("entries")
            entry["trusted_hosts"] = trusted_hosts
            yield entry


class FetchFeeds(beam.PTransform):
    """feed sources → feed entries (main output) and dead letters (tag 'errors')."""

    def __init__(self, policy: FetchPolicy):
        super().__init__()
        self.policy = policy

    def expand(self, sources):
        return (sources
                | "Spread" >> beam.Reshuffle()
                | "FetchAndParse" >> beam.ParDo(FetchAndParseFeed(self.policy)).with_outputs(
                    ERRORS, FEED_STATE_TAG, main="entries"))
