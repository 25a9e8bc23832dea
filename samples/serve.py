"""Serves the sample news web (samples/site/) on 127.0.0.1, on an ephemeral port unless one is given.

    python samples/serve.py [--port N] [--write-feeds FILE]

Feed links are rewritten to the address actually served (__BASE__ placeholder). With --write-feeds, the list of
feed URLs (every outlet's feed plus the sample's broken feed) is written to FILE once the server is listening.
Also importable: `serve_site()` returns a running server for tests.
"""
from __future__ import annotations

import argparse
import functools
import http.server
import os
import threading

SITE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "site")


class SiteHandler(http.server.SimpleHTTPRequestHandler):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, directory=SITE, **kwargs)

    def log_message(self, fmt, *args):  # quiet: the pipeline prints its own progress
        pass

    def do_GET(self):
        self.server.hits.append(self.path)
        path = self.path.split("?", 1)[0]
        if path.endswith(".xml"):
            full = os.path.join(SITE, path.lstrip("/"))
            if not os.path.isfile(full):
                self.send_error(404)
                return
            host, port = self.server.server_address[:2]
            with open(full, "rb") as f:
                body = f.read().replace(b"__BASE__", f"http://{host}:{port}".encode())
            self.send_response(200)
            self.send_header("Content-Type", "application/xml; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        super().do_GET()


def feed_urls(server) -> list[str]:
    host, port = server.server_address[:2]
    outlets = sorted(d for d in os.listdir(SITE) if os.path.isfile(os.path.join(SITE, d, "feed.xml")))
    return [f"http://{host}:{port}/{d}/feed.xml" for d in outlets]


def serve_site(host: str = "127.0.0.1", port: int = 0):
    """Starts the sample site in a daemon thread; returns the server (server.shutdown() stops it)."""
    server = http.server.ThreadingHTTPServer((host, port), SiteHandler)
    server.hits = []
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--write-feeds", help="write the feed URL list here once listening")
    args = ap.parse_args()
    try:
        server = http.server.ThreadingHTTPServer(("127.0.0.1", args.port), SiteHandler)
    except OSError as e:  # the usual port is taken: any free one (the sample's error rows then name that port)
        print(f"port {args.port} unavailable ({e.strerror}); using an ephemeral port", flush=True)
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), SiteHandler)
    server.hits = []
    if args.write_feeds:
        tmp = args.write_feeds + ".tmp"
        with open(tmp, "w") as f:
            f.write("\n".join(feed_urls(server)) + "\n")
        os.replace(tmp, args.write_feeds)
    print(f"serving {SITE} on http://127.0.0.1:{server.server_address[1]}/", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
