"""A hostile news server on 127.0.0.1 for the integration suite (and a recording 'internal' server on 127.0.0.2).

Every route is one kind of breakage real feeds and pages show. HOSTILE_FEEDS maps each feed path the operator
lists to the error kind the pipeline must record for it (None: the feed is odd but usable, its entries must be
read); GOOD_ARTICLES are the pages whose articles must be written exactly once.
"""
from __future__ import annotations

import gzip
import http.server
import threading
import time

GOOD_ARTICLES = ["/good/a1.html", "/good/a2.html", "/good/a3.html", "/good/a4.html"]


def _article(n: int) -> bytes:
    paras = "".join(f"<p>Paragraph {k} of good article {n}: the city council said on Monday that {1000 + n * 10 + k} "
                    f"residents had signed the petition about the new tram line, officials added.</p>"
                    for k in range(5))
    return (f"<html lang='en'><head><title>Good article {n}</title>"
            f"<link rel='canonical' href='https://good.example/a{n}'></head><body><nav>Home | World</nav>"
            f"<article><h1>Good article {n}</h1>{paras}</article><footer>Comments closed</footer></body></html>"
            ).encode()


def _rss(base: str, links: list[str], encoding: str = "utf-8", extra: str = "") -> str:
    items = "".join(f"<item><title>Item {i} “quoted”</title><link>{base}{link}</link><guid>g{i}{link}</guid>"
                    f"<description>caf&eacute;&nbsp;{extra}</description></item>" for i, link in enumerate(links))
    return f'<?xml version="1.0" encoding="{encoding}"?><rss version="2.0"><channel><title>t</title>{items}' \
           f'</channel></rss>'


BOMB = ('<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
        + "".join(f'<!ENTITY lol{i} "' + ((f"&lol{i - 1};" if i > 1 else "&lol;") * 10) + '">' for i in range(1, 10))
        + ']><rss version="2.0"><channel><title>&lol9;</title><item><title>x</title>'
          '<link>__BASE__/good/a3.html</link></item></channel></rss>')

# feed path → expected errors.kind (None: odd but usable)
HOSTILE_FEEDS = {
    "/f/good.xml": None,
    "/f/utf16.xml": None,  # UTF-16 with a BOM
    "/f/cp1252.xml": None,  # declares UTF-8, carries Windows-1252 bytes
    "/f/wrongtype.xml": None,  # a valid feed served as image/png
    "/f/redirected.xml": None,  # 301 then 302 to a good feed
    "/f/entitybomb.xml": None,  # billion laughs: parsed without expansion, bounded
    "/f/illformed.xml": "feed_parse_error",
    "/f/junk.xml": "feed_parse_error",
    "/f/html.xml": "not_a_feed",
    "/f/empty.xml": "empty_body",
    "/f/missing.xml": "http_client_error",
    "/f/gone.xml": "http_client_error",
    "/f/broken.xml": "http_server_error",
    "/f/busy.xml": "http_server_error",  # 503 with Retry-After, retried
    "/f/loop.xml": "too_many_redirects",
    "/f/slowheaders.xml": "timeout",
    "/f/trickle.xml": "timeout",
    "/f/huge.xml": "body_too_large",
    "/f/gzipbomb.xml": "body_too_large",
}
# article URLs (linked from /f/good.xml) that must fail, with their kind
HOSTILE_ARTICLES = {
    "/p/missing.html": "http_client_error",
    "/p/nested.html": ("extraction_timeout", "extraction_failed", "no_text"),
    "/p/empty.html": "empty_body",
    "INTERNAL": "blocked_address",  # a link to the 127.0.0.2 server
}


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def _send(self, body: bytes, status=200, ctype="application/xml", headers=None):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):  # noqa: C901 - one branch per hostile behaviour, on purpose
        srv = self.server
        srv.hits.append(self.path)
        base = f"http://127.0.0.1:{srv.server_address[1]}"
        p = self.path
        if p in GOOD_ARTICLES:
            return self._send(_article(GOOD_ARTICLES.index(p) + 1), ctype="text/html")
        if p == "/f/good.xml":
            links = GOOD_ARTICLES[:2] + [k for k in HOSTILE_ARTICLES if k.startswith("/p/")]
            internal = f"<item><title>i</title><link>http://127.0.0.2:{srv.internal_port}/secret</link></item>"
            return self._send(_rss(base, links).replace("</channel>", internal + "</channel>").encode())
        if p == "/f/utf16.xml":
            return self._send(_rss(base, GOOD_ARTICLES[1:3], "utf-16").encode("utf-16"))
        if p == "/f/cp1252.xml":
            return self._send(_rss(base, GOOD_ARTICLES[2:3]).encode("cp1252"))
        if p == "/f/wrongtype.xml":
            return self._send(_rss(base, GOOD_ARTICLES[3:4]).encode(), ctype="image/png")
        if p == "/f/redirected.xml":
            return self._send(b"", 301, headers={"Location": "/f/hop.xml"})
        if p == "/f/hop.xml":
            return self._send(b"", 302, headers={"Location": "/f/good2.xml"})
        if p == "/f/good2.xml":
            return self._send(_rss(base, GOOD_ARTICLES[:1]).encode())
        if p == "/f/entitybomb.xml":
            return self._send(BOMB.replace("__BASE__", base).encode())
        if p == "/f/illformed.xml":
            return self._send(b"<rss version='2.0'><channel><title>x<item><link>oops</channel>\x00 not xml")
        if p == "/f/junk.xml":
            return self._send(bytes(range(256)) * 40, ctype="application/octet-stream")
        if p == "/f/html.xml":
            return self._send(b"<!DOCTYPE html><html><body><h1>Welcome</h1><p>No feed here.</p></body></html>",
                              ctype="text/html")
        if p in ("/f/empty.xml", "/p/empty.html"):
            return self._send(b"")
        if p in ("/f/missing.xml", "/p/missing.html"):
            return self._send(b"not found", 404, "text/plain")
        if p == "/f/gone.xml":
            return self._send(b"gone", 410, "text/plain")
        if p == "/f/broken.xml":
            return self._send(b"oops", 500, "text/plain")
        if p == "/f/busy.xml":
            return self._send(b"busy", 503, "text/plain", {"Retry-After": "1"})
        if p == "/f/loop.xml":
            return self._send(b"", 302, headers={"Location": "/f/loop2.xml"})
        if p == "/f/loop2.xml":
            return self._send(b"", 302, headers={"Location": "/f/loop.xml"})
        if p == "/f/slowheaders.xml":
            time.sleep(4)
            return self._send(_rss(base, GOOD_ARTICLES[:1]).encode())
        if p == "/f/trickle.xml":
            self.send_response(200)
            self.send_header("Content-Type", "application/xml")
            self.send_header("Content-Length", "100000")
            self.end_headers()
            try:
                for _ in range(40):  # 1 byte every 0.25 s: never a read timeout, always past the total limit
                    self.wfile.write(b" ")
                    self.wfile.flush()
                    time.sleep(0.25)
            except OSError:
                pass
            return None
        if p == "/f/huge.xml":
            return self._send(b"<rss>" + b" " * 3_000_000 + b"</rss>")
        if p == "/f/gzipbomb.xml":
            return self._send(srv.gzip_bomb, headers={"Content-Encoding": "gzip"})
        if p == "/p/nested.html":
            return self._send(srv.nested_page, ctype="text/html")
        if p == "/robots.txt":
            return self._send(b"User-agent: *\nDisallow: /private/\n", ctype="text/plain")
        return self._send(b"no such page", 404, "text/plain")


class _InternalHandler(http.server.BaseHTTPRequestHandler):
    def log_message(self, *a):
        pass

    def do_GET(self):
        self.server.hits.append(self.path)
        self.send_response(200)
        self.send_header("Content-Length", "6")
        self.end_headers()
        self.wfile.write(b"secret")


def start():
    """Starts the hostile server (127.0.0.1) and the internal one (127.0.0.2); returns (hostile, internal)."""
    internal = http.server.ThreadingHTTPServer(("127.0.0.2", 0), _InternalHandler)
    internal.hits = []
    hostile = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    hostile.daemon_threads = True
    hostile.hits = []
    hostile.internal_port = internal.server_address[1]
    hostile.gzip_bomb = gzip.compress(b"\0" * 200_000_000, compresslevel=9)  # ~200 KB wire, 200 MB inflated
    hostile.nested_page = b"<html><body>" + b"<div><span>" * 35_000 + b"deep" + b"</span></div>" * 35_000 + \
        b"</body></html>"
    for s in (internal, hostile):
        threading.Thread(target=s.serve_forever, daemon=True).start()
    return hostile, internal
