"""DiscoverFeeds: site addresses (`--site URL`) → the feeds they publish, found with our own HTTP client (the same
politeness, robots.txt, limits and address policy as every other fetch).

For each site, in order, the first that finds something wins:
1. the address is itself a feed (RSS, Atom, JSON Feed);
2. the page announces feeds: `<link rel="alternate" type="application/rss+xml|atom+xml|feed+json">`, else links
   that look like feeds (trafilatura's `determine_feed` parses the page);
3. a common feed path on the site answers with a feed (COMMON_FEED_PATHS);
4. a news sitemap (`<news:news>` entries, from robots.txt's `Sitemap:` lines or /news-sitemap.xml,
   /sitemap_news.xml, /sitemap.xml): its articles become feed entries directly.
A site where none of these finds anything gives one `no_feed_found` error row that says what was tried.
"""
from __future__ import annotations

from urllib.parse import urljoin, urlsplit

import apache_beam as beam

from claimcore.dates import parse_date
from claimcore.http_client import FetchError, FetchPolicy, HttpClient, host_key
from transforms.common import ERRORS, CountingDoFn
from transforms.feeds import parse_feed

COMMON_FEED_PATHS = ("/feed", "/rss.xml", "/feed.xml", "/atom.xml", "/rss", "/index.xml", "/feeds/all.atom.xml")
SITEMAP_PATHS = ("/news-sitemap.xml", "/sitemap_news.xml", "/sitemap.xml")
SITEMAP_NS = {"sm": "http://www.sitemaps.org/schemas/sitemap/0.9",
              "news": "http://www.google.com/schemas/sitemap-news/0.9"}
ENTRIES = "entries"  # tag of the entries a news sitemap yields


def _is_feed(body: bytes, url: str) -> bool:
    try:
        _, kind, _ = parse_feed(body, {}, url)
    except Exception:  # noqa: BLE001 - hostile bytes are simply not a feed
        return False
    return kind is None


def announced_feeds(page: bytes, page_url: str) -> list[str]:
    """Feed URLs a page announces (link rel=alternate, else feed-like links), absolute, in page order."""
    from trafilatura.feeds import FeedParameters, determine_feed
    text = page.decode("utf-8", "replace")
    parts = urlsplit(page_url)
    params = FeedParameters(page_url, parts.hostname or "", page_url)
    return list(dict.fromkeys(urljoin(page_url, u) for u in determine_feed(text, params)))


def sitemap_entries(body: bytes, sitemap_url: str) -> list[dict]:
    """Feed entries from a news sitemap (<url><loc> with <news:news>): url, title, publication date."""
    from lxml import etree
    try:
        root = etree.fromstring(body, parser=etree.XMLParser(resolve_entities=False, no_network=True,
                                                             huge_tree=False))
    except etree.XMLSyntaxError:
        return []
    entries = []
    for node in root.findall("sm:url", SITEMAP_NS):
        news = node.find("news:news", SITEMAP_NS)
        loc = node.findtext("sm:loc", namespaces=SITEMAP_NS)
        if news is None or not loc:
            continue
        published = news.findtext("news:publication_date", namespaces=SITEMAP_NS)
        when = parse_date(published)
        url = urljoin(sitemap_url, loc.strip())
        entries.append({"feed_url": sitemap_url, "guid": url, "url": url,
                        "title": news.findtext("news:title", namespaces=SITEMAP_NS), "summary": None,
                        "published": when})
    return entries


class DiscoverSiteFeeds(CountingDoFn):
    """site URL → feed sources (main), news-sitemap entries (tag 'entries'), dead letters (tag 'errors')."""
    stage = "discover_feeds"

    def __init__(self, policy: FetchPolicy):
        self.policy = policy

    def setup(self):
        self.client = HttpClient(self.policy)

    def _get(self, url: str):
        """(body, final url) of a 200 answer, else None; the operator's site host is trusted like a feed URL."""
        try:
            resp = self.client.fetch(url, trusted=True)
        except FetchError:
            return None
        self.count("bytes", len(resp.body))
        return resp.body, resp.final_url

    def process(self, site_url: str):
        with self.timed():
            out = list(self._discover(site_url))
        yield from out

    def _discover(self, site_url: str):
        self.count("in")
        tried = []
        page = self._get(site_url)
        if page is not None:
            body, final = page
            if _is_feed(body, final):
                self.count("feeds")
                yield {"feed_url": site_url, "content": None}
                return
            found = [u for u in announced_feeds(body, final) if urlsplit(u).scheme in ("http", "https")]
            if found:
                self.count("feeds", len(found))
                for url in found:
                    yield {"feed_url": url, "content": None}
                return
            tried.append("no feed announced on the page")
        else:
            tried.append("the site address did not answer")
        base = f"{urlsplit(site_url).scheme}://{urlsplit(site_url).netloc}"
        for path in COMMON_FEED_PATHS:
            got = self._get(base + path)
            if got is not None and _is_feed(*got):
                self.count("feeds")
                yield {"feed_url": base + path, "content": None}
                return
        tried.append("none of " + ", ".join(COMMON_FEED_PATHS) + " is a feed")
        sitemaps = list(SITEMAP_PATHS)
        robots = self._get(base + "/robots.txt")
        if robots is not None:
            lines = robots[0].decode("utf-8", "replace").splitlines()
            listed = [ln.split(":", 1)[1].strip() for ln in lines if ln.lower().startswith("sitemap:")]
            sitemaps = [u for u in listed if host_key(u) == host_key(site_url)] + sitemaps
        for url in dict.fromkeys(urljoin(base + "/", s) for s in sitemaps):
            got = self._get(url)
            entries = sitemap_entries(got[0], got[1]) if got is not None else []
            if entries:
                self.count("sitemaps")
                self.count("sitemap_entries", len(entries))
                trusted = [host_key(site_url)]
                for entry in entries:
                    yield beam.pvalue.TaggedOutput(ENTRIES, dict(entry, trusted_hosts=trusted))
                return
        tried.append("no news sitemap")
        yield self.dead_letter(site_url, "no_feed_found", "no feed found: " + "; ".join(tried))


class DiscoverFeeds(beam.PTransform):
    """site URLs → feed sources (main), news-sitemap entries ('entries'), dead letters ('errors')."""

    def __init__(self, policy: FetchPolicy):
        super().__init__()
        self.policy = policy

    def expand(self, sites):
        return sites | "Discover" >> beam.ParDo(DiscoverSiteFeeds(self.policy)).with_outputs(
            ERRORS, ENTRIES, main="feeds")
