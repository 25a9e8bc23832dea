"""A loopback RSS feed that grows while it is polled, for the --follow and streaming tests."""
import datetime as dt
import threading
import time
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

CITIES = ["Rotterdam", "Lisbon", "Krakow", "Toronto", "Melbourne", "Nairobi", "Osaka"]
TOPICS = ["flooding in the river delta", "a strike at the port", "the harvest of winter wheat",
          "a new rail tunnel", "the city budget", "a museum reopening", "wildfires in the hills",
          "a vaccine campaign", "the fishing quota", "a bridge closure"]


def article_html(n: int) -> str:
    topic = TOPICS[n % len(TOPICS)]
    city = CITIES[n % len(CITIES)]
    paras = [f"Officials in {city} said on Monday that {topic} had affected {n * 1000 + 17} residents, "
             f"the highest figure recorded there since the agency began keeping records." for _ in range(1)]
    paras += [f"Item {n} is about {topic}. Local reporter number {n} spoke to witnesses who described the scene "
              f"in detail, and the regional council scheduled a meeting for the {n}th of next month to discuss "
              f"the response, the costs and the lessons learned from {topic}." for _ in range(3)]
    body = "".join(f"<p>{p}</p>" for p in paras)
    return (f"<html><head><title>Report {n}: {topic}</title></head><body><nav>Home | World | Sport</nav>"
            f"<article><h1>Report {n}: {topic}</h1>{body}</article><footer>Copyright</footer></body></html>")


class GrowingFeed:
    """/feed.xml lists items 1..count; each feed request after the first adds grow_by items. ETag and 304 unless
    conditional is off. Article pages /a/N.html; one of them can be made to hang."""

    def __init__(self, count=2, grow_by=0, conditional=True, max_count=1000, links=None):
        self.count, self.grow_by, self.conditional, self.max_count = count, grow_by, conditional, max_count
        self.links = links  # item N links to links[N-1] (pages elsewhere) instead of /a/N.html
        self.feed_requests, self.not_modified, self.page_hits = 0, 0, {}
        self.slow_page, self.slow_seconds, self.slow_started = None, 0.0, threading.Event()
        self.lock = threading.Lock()
        feed = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                if self.path == "/feed.xml":
                    with feed.lock:
                        feed.feed_requests += 1
                        if feed.feed_requests > 1:
                            feed.count = min(feed.max_count, feed.count + feed.grow_by)  # later polls find more
                        body = feed.rss().encode()
                        etag = f'"{feed.count}"'
                        if feed.conditional and self.headers.get("If-None-Match") == etag:
                            feed.not_modified += 1
                            self.send_response(304)
                            self.end_headers()
                            return
                    self.send_response(200)
                    self.send_header("Content-Type", "application/rss+xml")
                    if feed.conditional:
                        self.send_header("ETag", etag)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                elif self.path.startswith("/a/"):
                    n = int(self.path[3:].split(".")[0])
                    feed.page_hits[n] = feed.page_hits.get(n, 0) + 1
                    if n == feed.slow_page:
                        feed.slow_started.set()
                        time.sleep(feed.slow_seconds)
                    body = article_html(n).encode()
                    self.send_response(200)
                    self.send_header("Content-Type", "text/html; charset=utf-8")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                elif self.path == "/robots.txt":
                    self.send_response(404)
                    self.end_headers()
                else:
                    self.send_response(404)
                    self.end_headers()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/feed.xml"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def rss(self) -> str:
        base = self.url.rsplit("/", 1)[0]
        items = "".join(
            f"<item><title>Report {n}</title><link>{self.links[n - 1] if self.links else f'{base}/a/{n}.html'}"
            f"</link><guid>item-{n}</guid>"
            f"<pubDate>{format_datetime(_date(n))}</pubDate></item>" for n in range(1, self.count + 1))
        return f'<?xml version="1.0"?><rss version="2.0"><channel><title>Growing</title>{items}</channel></rss>'

    def close(self):
        self.server.shutdown()


def _date(n):
    return dt.datetime(2026, 11, 1, tzinfo=dt.timezone.utc) + dt.timedelta(hours=n)
