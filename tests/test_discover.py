"""Feed discovery (`--site`) on loopback sites: a <link rel=alternate> feed, /feed, /rss.xml, a news sitemap, and a
site with none (one error row that says what was tried); then a whole run that starts from a site's address."""
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import duckdb
import pytest

from claimcore.http_client import FetchPolicy
from pipeline.cli import main
from transforms.discover import DiscoverSiteFeeds

RSS = ('<?xml version="1.0"?><rss version="2.0"><channel><title>T</title><item><title>One</title>'
       '<link>{base}/story-1.html</link><guid>1</guid><pubDate>Mon, 21 Oct 2024 10:00:00 GMT</pubDate></item>'
       '</channel></rss>')
ARTICLE = ("<html><head><title>Port strike enters third day</title></head><body><article><h1>Port strike enters "
           "third day</h1>" + "<p>Dock workers in Rotterdam extended their strike on Monday, the union said, after "
           "talks over pay broke down. About 4,000 workers have stopped work at the container terminals.</p>" * 4
           + "</article></body></html>")
SITEMAP = ('<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9" '
           'xmlns:news="http://www.google.com/schemas/sitemap-news/0.9"><url><loc>{base}/story-1.html</loc>'
           '<news:news><news:publication><news:name>S</news:name><news:language>en</news:language>'
           '</news:publication><news:publication_date>2024-10-21T10:00:00Z</news:publication_date>'
           '<news:title>Port strike enters third day</news:title></news:news></url></urlset>')


class Site:
    """A loopback site: path → (content type, body with {base} filled in); anything else is a 404."""

    def __init__(self, pages: dict):
        site = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                page = site.pages.get(self.path)
                if page is None:
                    self.send_response(404)
                    self.end_headers()
                    return
                body = page[1].replace("{base}", site.base).encode()
                self.send_response(200)
                self.send_header("Content-Type", page[0])
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.pages = pages
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()


HOME = ("text/html", "<html><head><title>Home</title>{link}</head><body><p>News</p></body></html>")


def home(link=""):
    return ("text/html", HOME[1].replace("{link}", link))


SITES = {
    "link_rel": {"/": home('<link rel="alternate" type="application/rss+xml" href="/news/latest.rss">'),
                 "/news/latest.rss": ("application/rss+xml", RSS)},
    "feed_path": {"/": home(), "/feed": ("application/rss+xml", RSS)},
    "rss_xml": {"/": home(), "/rss.xml": ("application/xml", RSS)},
    "sitemap": {"/": home(), "/robots.txt": ("text/plain", "User-agent: *\nSitemap: {base}/news-map.xml\n"),
                "/news-map.xml": ("application/xml", SITEMAP)},
    "none": {"/": home()},
}


def discover(pages):
    site = Site(pages)
    try:
        fn = DiscoverSiteFeeds(FetchPolicy(min_host_delay=0, retries=0))
        fn.setup()
        return site.base, list(fn.process(site.base + "/"))
    finally:
        site.close()


@pytest.mark.parametrize("kind,expected", [("link_rel", "/news/latest.rss"), ("feed_path", "/feed"),
                                           ("rss_xml", "/rss.xml")])
def test_a_site_announcing_or_serving_a_feed(kind, expected):
    base, out = discover(SITES[kind])
    assert out == [{"feed_url": base + expected, "content": None}]


def test_a_news_sitemap_gives_entries():
    base, out = discover(SITES["sitemap"])
    assert [o.tag for o in out] == ["entries"]
    entry = out[0].value
    assert entry["url"] == base + "/story-1.html" and entry["title"] == "Port strike enters third day"
    assert entry["published"].isoformat() == "2024-10-21T10:00:00+00:00"


def test_a_site_without_a_feed_gives_one_error_row():
    base, out = discover(SITES["none"])
    assert [o.tag for o in out] == ["errors"]
    row = out[0].value
    assert row["kind"] == "no_feed_found" and row["url"] == base + "/"
    assert "/rss.xml" in row["message"] and "no news sitemap" in row["message"]


def test_run_from_site_addresses(tmp_path):
    good = Site(dict(SITES["link_rel"], **{"/story-1.html": ("text/html", ARTICLE)}))
    bare = Site(SITES["none"])
    try:
        assert main(["run", "--site", good.base + "/", bare.base + "/", "--output", str(tmp_path),
                     "--min-host-delay", "0", "--no-ner"]) == 0
    finally:
        good.close()
        bare.close()
    titles = duckdb.sql(f"select title from read_parquet('{tmp_path}/articles/*/*.parquet')").fetchall()
    assert titles == [("Port strike enters third day",)]
    errors = duckdb.sql(f"select stage, kind, url from read_parquet('{tmp_path}/errors/*.parquet')").fetchall()
    assert errors == [("discover_feeds", "no_feed_found", bare.base + "/")]
