"""End-to-end benchmark: N generated articles behind loopback feeds, through the whole pipeline.

    .venv/bin/python bench/e2e.py [--articles 1000] [--feeds 20] [--no-ner] [Beam options...]

Prints articles/s end to end, CPU seconds and how many cores were busy on average, busy seconds per stage (summed
over workers, from the claimwire/<stage>.busy_ms counters), NER inference time (RunInference's own metrics) and
peak RSS of this process and of its children (the extraction workers). The yardstick every later change reports against.
"""
from __future__ import annotations

import argparse
import http.server
import os
import random
import resource
import shutil
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

WORDS = ("government officials said the ministry announced report troops border economy market prices rose fell "
         "percent million billion election voters party leader police city residents storm flood rescue company "
         "shares profit revenue quarter analysts expected minister talks agreement week month year region "
         "capital president spokesperson statement investigation court ruling team season coach match").split()
NAMES = ["Anna Novak", "Pedro Alvarez", "Kim Soo-min", "Olaf Berg", "Fatima Haddad", "John Carter"]
PLACES = ["Lisbon", "Warsaw", "Nairobi", "Busan", "Quebec", "Ankara", "Ukraine", "North Korea"]
ORGS = ["the European Commission", "the World Bank", "Reuters", "the Red Cross", "NATO"]


def sentence(rng: random.Random) -> str:
    words = [rng.choice(WORDS) for _ in range(rng.randint(10, 22))]
    words.insert(rng.randrange(len(words)), rng.choice(NAMES))
    words.insert(rng.randrange(len(words)), rng.choice(PLACES))
    words.insert(rng.randrange(len(words)), f"{rng.randint(2, 90) * 100:,}")
    s = " ".join(words)
    return s[0].upper() + s[1:] + f", according to {rng.choice(ORGS)}."


def page(i: int, rng: random.Random) -> bytes:
    paras = "".join(f"<p>{' '.join(sentence(rng) for _ in range(rng.randint(3, 6)))}</p>"
                    for _ in range(rng.randint(4, 9)))
    return f"""<!DOCTYPE html><html lang="en"><head><title>Story {i}</title>
<link rel="canonical" href="https://bench{i % 7}.example/story-{i}"><meta property="og:site_name" content="Bench">
<meta property="article:published_time" content="2024-10-{1 + i % 28:02d}T10:00:00Z"></head><body>
<nav><a href="/">Home</a> <a href="/world">World</a> <a href="/sport">Sport</a></nav>
<article><h1>Story number {i} about {rng.choice(PLACES)}</h1>{paras}</article>
<aside><h3>Related</h3><ul><li><a href="/a">Other story</a></li></ul></aside>
<section class="comments"><div class="comment">Great article!</div></section>
<footer>&copy; Bench News</footer></body></html>""".encode()


def build_site(root: str, n_articles: int, n_feeds: int, seed: int = 7) -> None:
    rng = random.Random(seed)
    os.makedirs(os.path.join(root, "a"))
    for i in range(n_articles):
        with open(os.path.join(root, "a", f"{i}.html"), "wb") as f:
            f.write(page(i, rng))
    for fi in range(n_feeds):
        items = "".join(f"<item><title>Story {i}</title><link>__BASE__/a/{i}.html</link><guid>s{i}</guid>"
                        f"<pubDate>Tue, {1 + i % 28:02d} Oct 2024 10:00:00 GMT</pubDate></item>"
                        for i in range(fi, n_articles, n_feeds))
        with open(os.path.join(root, f"feed{fi}.xml"), "w") as f:
            f.write(f'<?xml version="1.0"?><rss version="2.0"><channel><title>f{fi}</title>{items}</channel></rss>')


def cpu_seconds() -> float:
    """user + system CPU seconds of this process and of its children that have exited (the extraction workers,
    which the run shuts down at its end)."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def serve(root: str):
    class Handler(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *a, **kw):
            super().__init__(*a, directory=root, **kw)

        def log_message(self, *a):
            pass

        def do_GET(self):
            if self.path.endswith(".xml"):
                body = open(os.path.join(root, self.path.lstrip("/")), "rb").read()
                body = body.replace(b"__BASE__", f"http://127.0.0.1:{self.server.server_address[1]}".encode())
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            else:
                super().do_GET()

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--articles", type=int, default=1000)
    ap.add_argument("--feeds", type=int, default=20)
    ap.add_argument("--no-ner", action="store_true")
    args, beam_args = ap.parse_known_args()

    from pipeline.batch import run_batch
    from pipeline.options import ClaimwireOptions
    from pipeline.summary import stage_counters
    from schemas.dataset import read_table, writer_lock
    from transforms.common import Progress
    Progress.enabled = False

    work = tempfile.mkdtemp(prefix="claimwire-bench-")
    try:
        site = os.path.join(work, "site")
        build_site(site, args.articles, args.feeds)
        server = serve(site)
        feeds = os.path.join(work, "feeds.txt")
        with open(feeds, "w") as f:
            f.write("\n".join(f"http://127.0.0.1:{server.server_address[1]}/feed{i}.xml" for i in range(args.feeds)))
        out = os.path.join(work, "out")
        argv = ["--runner=DirectRunner", "--feeds", feeds, "--output", out, "--min-host-delay", "0"] + beam_args
        if args.no_ner:
            argv.append("--no-ner")
        options = ClaimwireOptions(argv)
        t0, cpu0 = time.perf_counter(), cpu_seconds()
        with writer_lock(out):
            result, journal = run_batch(options, options.view_as(ClaimwireOptions))
        seconds, cpu = time.perf_counter() - t0, cpu_seconds() - cpu0
        commit_s = journal["commit_seconds"]
        server.shutdown()
        written = read_table(out, "articles").num_rows
        counters = stage_counters(result)
        model_us = {}  # RunInference's own timing, per model (namespaces claimwire_ner, claimwire_embed)
        try:
            from apache_beam.metrics.metric import MetricsFilter
            models = (("claimwire_ner", "ner (RunInference)"), ("claimwire_embed", "embed (RunInference)"))
            for namespace, label in models:
                for d in result.metrics().query(MetricsFilter().with_namespace(namespace).with_name(
                        "inference_batch_latency_micro_secs"))["distributions"]:
                    model_us[label] = model_us.get(label, 0) + (d.committed or d.attempted).sum
        except Exception:  # noqa: BLE001 - metrics vary by runner
            pass
        rss_self = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        rss_children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        print(f"claimwire e2e benchmark: {args.articles} articles, {args.feeds} feeds, "
              f"runner args {' '.join(beam_args) or '(default DirectRunner)'}, NER {'off' if args.no_ner else 'on'}")
        print(f"  articles written      {written}")
        print(f"  wall time             {seconds:.1f} s")
        print(f"  throughput            {written / seconds:.1f} articles/s end to end")
        print(f"  {'stage':<22}{'busy s':>8}{'items':>8}{'items/s':>10}")
        rows = [(stage, c["busy_ms"] / 1000, c.get("in") or c.get("rows") or c.get("out") or 0)
                for stage, c in sorted(counters.items()) if c.get("busy_ms")]
        rows += [(label, us / 1e6, written) for label, us in model_us.items()]
        for stage, busy, items in sorted(rows, key=lambda r: -r[1]):
            print(f"  {stage:<22}{busy:>8.1f}{items:>8}{items / busy if busy else 0:>10.1f}")
        print(f"  {'commit (dataset)':<22}{commit_s:>8.2f}")
        print(f"  CPU                   {cpu:.1f} s user+sys, {cpu / seconds:.2f} of {os.cpu_count()} cores busy on "
              f"average (this process and its finished children)")
        print(f"  peak RSS              {rss_self:.0f} MiB (pipeline process), "
              f"{rss_children:.0f} MiB (largest child: extraction worker)")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
