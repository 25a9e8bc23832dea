"""Archive reprocessing at scale: `claimwire run --input ARCHIVE.warc.gz`, the real command, on WARCs of realistic
pages, sharded (pipeline/shards.py).

    .venv/bin/python bench/archive.py [--full 5000 20000] [--light 100000] [--shard-size 1000]
                                      [--texts ../shared/data/polnear] [--work DIR]

Each page is 30-150 KB of HTML: a head with metadata and JSON-LD, a large navigation menu, inline styles and
scripts, the article (a headline and paragraphs), related links, comments and a footer, as news sites serve
them. Article text: paragraphs of the real news articles under --texts (any folder of .txt files whose first
line is the headline, e.g. PolNeAR's), a few articles mixed per page so that no two pages are copies; without
--texts, generated sentences. Publication dates run in archive order at --per-day documents a day (default 60: the
20,000-page archive is eleven months of one set of sources, the 5,000-page one under three): a larger archive is
a longer period, not denser news. `--per-day 0` spreads every size over one year instead, so that density grows
with the size and the story index within a shard's reach grows with it.

`--full` sizes run the whole pipeline (NER, stories, claims); `--light` sizes run the read, extract and commit
path (--no-ner --no-dedup --no-claims). For each: documents/s, seconds per shard, peak RSS of the process tree
(sampled every 0.2 s, summed over the command and its worker processes), and each stage's busy seconds per 1,000
documents (the claimwire/<stage>.busy_ms counters the summary prints), with their growth from the smallest size.
Ends with the scaling exponent of wall time (log t2/t1 / log n2/n1) between the smallest and largest size.
"""
from __future__ import annotations

import argparse
import datetime as dt
import glob
import io
import math
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from bench.e2e import sentence  # noqa: E402 - the generated-sentence fallback, shared with the e2e bench

OUTLETS = ["dailyledger", "morningpost", "wirenews", "citytimes", "globalherald", "eveningstar", "capitalreport"]
SECTIONS = ["World", "Politics", "Business", "Tech", "Science", "Health", "Sport", "Culture", "Opinion", "Local",
            "Weather", "Travel", "Video", "Podcasts", "Newsletters", "Obituaries"]
JS_WORDS = ("function var const let return if else for while window document addEventListener querySelector "
            "dataLayer push gtag config consent analytics adSlot googletag defineSlot sizeMapping refresh "
            "setTargeting lazyLoad observer IntersectionObserver prebid bidder timeout true false null").split()


def load_paragraphs(folder: str | None) -> tuple[list[str], list[list[str]]]:
    """(headlines, each article's paragraphs) of the .txt files under folder."""
    headlines, articles = [], []
    for path in sorted(glob.glob(os.path.join(folder, "**", "*.txt"), recursive=True)) if folder else []:
        with open(path, encoding="utf-8", errors="replace") as f:
            head, _, body = f.read().partition("\n")
        paragraphs = [p.strip() for p in re.split(r"\n\s*\n|\n", body) if len(p.strip()) > 80]
        if head.strip() and paragraphs:
            headlines.append(head.strip())
            articles.append(paragraphs)
    return headlines, articles


def _chunks(seed: int = 5, n: int = 256, size: int = 2048) -> list[str]:
    """Blocks of script-like text, made once: a page's scripts are random blocks of these (making each page's
    100 KB word by word made building a 20k WARC take an hour)."""
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        lines, length = [], 0
        while length < size:
            line = " ".join(rng.choice(JS_WORDS) for _ in range(12)) + f"({rng.randint(0, 99999)});"
            lines.append(line)
            length += len(line) + 1
        out.append("\n".join(lines))
    return out


CHUNKS = _chunks()


def _script(rng: random.Random, size: int) -> str:
    return "\n".join(rng.choice(CHUNKS) for _ in range(max(1, size // 2048)))


def page(i: int, rng: random.Random, headlines, articles, published: dt.datetime) -> tuple[str, bytes]:
    outlet = OUTLETS[i % len(OUTLETS)]
    if articles:
        first = rng.randrange(len(articles))
        title = headlines[first]
        paragraphs = list(articles[first][:rng.randint(3, 8)])
        for other in rng.sample(range(len(articles)), 2):  # mixed with two other articles: no page is a copy
            paragraphs += rng.sample(articles[other], min(len(articles[other]), rng.randint(1, 3)))
    else:
        title = f"Story {i}: " + sentence(rng)[:70]
        paragraphs = [" ".join(sentence(rng) for _ in range(rng.randint(3, 6))) for _ in range(rng.randint(4, 9))]
    url = f"https://www.{outlet}.example/{published:%Y/%m/%d}/story-{i}"
    body = "".join(f"<p>{p}</p>\n" for p in paragraphs)
    menu = "".join(f'<li class="nav-item"><a href="/{s.lower()}/{k}">{s} {k}</a></li>'
                   for s in SECTIONS for k in range(rng.randint(4, 12)))
    related = "".join(f'<li><a href="/story-{rng.randint(0, 10**6)}">{rng.choice(headlines or [title])}</a></li>'
                      for _ in range(rng.randint(5, 15)))
    comments = "".join(f'<div class="comment"><b>reader{rng.randint(1, 9999)}</b> {sentence(rng)}</div>'
                       for _ in range(rng.randint(0, 8)))
    target = rng.randint(30_000, 150_000)
    stamp = published.isoformat().replace("+00:00", "Z")
    html = f"""<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{title} | {outlet.title()}</title>
<link rel="canonical" href="{url}"><meta property="og:title" content="{title}">
<meta property="og:site_name" content="{outlet.title()}"><meta property="article:published_time" content="{stamp}">
<script type="application/ld+json">{{"@context":"https://schema.org","@type":"NewsArticle","headline":"{title.replace('"', "'")}",
"datePublished":"{stamp}","publisher":{{"@type":"Organization","name":"{outlet.title()}"}}}}</script>
<style>{_script(rng, 4000).replace(";", "}").replace("(", "{")}</style>
<script>{{SCRIPT_A}}</script></head><body>
<header><div class="brand">{outlet.title()}</div><nav><ul>{menu}</ul></nav>
<div class="cookie-banner">We use cookies to improve your experience. <button>Accept all</button></div></header>
<main><article><h1>{title}</h1><div class="byline">By Staff Reporter · <time datetime="{stamp}">{published:%B %d, %Y}</time></div>
{body}</article>
<aside><h3>Related</h3><ul>{related}</ul><div class="ad" id="ad-{i}">Advertisement</div></aside>
<section class="comments"><h3>Comments</h3>{comments}</section></main>
<footer><ul>{menu[:3000]}</ul><p>&copy; {published.year} {outlet.title()} Media. All rights reserved.</p></footer>
<script>{{SCRIPT_B}}</script></body></html>"""
    filler = max(target - len(html), 2000)
    html = html.replace("{SCRIPT_A}", _script(rng, filler // 2)).replace("{SCRIPT_B}", _script(rng, filler // 2))
    return url, html.encode("utf-8")


def build_warc(path: str, n: int, headlines, articles, per_day: float = 60, seed: int = 11) -> float:
    """n pages in one WARC.gz (a gzip member per record), per_day a day (0: over one year); returns its mean
    page size in KB."""
    from warcio.statusandheaders import StatusAndHeaders
    from warcio.warcwriter import WARCWriter
    rng = random.Random(seed)
    # in the past for every size (100,000 at 60 a day end in 2024): htmldate rejects a date after today and then
    # searches the whole page, so an archive dated in the future extracts about 6x slower (measured: 107 against
    # 17 ms a page) and its articles are undated
    start = dt.datetime(2020, 1, 1, tzinfo=dt.timezone.utc)
    total = 0
    with open(path, "wb") as f:
        writer = WARCWriter(f, gzip=True)
        for i in range(n):
            published = start + dt.timedelta(seconds=int(86400 * i / per_day if per_day else 365 * 86400 * i / n))
            url, html = page(i, rng, headlines, articles, published)
            total += len(html)
            headers = StatusAndHeaders("200 OK", [("Content-Type", "text/html; charset=utf-8")], protocol="HTTP/1.1")
            record = writer.create_warc_record(url, "response", payload=io.BytesIO(html), http_headers=headers,
                                               warc_headers_dict={"WARC-Date": (published + dt.timedelta(hours=2))
                                                                  .strftime("%Y-%m-%dT%H:%M:%SZ")})
            writer.write_record(record)
    return total / n / 1024


def _tree_rss(pid: int) -> int:
    """Bytes resident in pid and all its descendants (from /proc)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                parent = int(f.read().rsplit(")", 1)[1].split()[1])
        except OSError:
            continue
        children.setdefault(parent, []).append(int(entry))
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        todo += children.get(p, [])
        try:
            with open(f"/proc/{p}/statm") as f:
                total += int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
        except OSError:
            pass
    return total


def run(warc: str, out: str, shard_size: int, light: bool) -> dict:
    cmd = [sys.executable, "-m", "pipeline", "run", "--input", warc, "--output", out, "--shard-size",
           str(shard_size)] + (["--no-ner", "--no-dedup", "--no-claims"] if light else [])
    started = time.perf_counter()
    log = tempfile.TemporaryFile(mode="w+")
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=log, stderr=subprocess.DEVNULL)
    peak = 0
    while proc.poll() is None:
        peak = max(peak, _tree_rss(proc.pid))
        time.sleep(0.2)
    seconds = time.perf_counter() - started
    log.seek(0)
    summary = log.read()
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed ({proc.returncode}):\n{summary[-3000:]}")
    busy = {}
    for line in summary.splitlines():
        m = re.match(r"^  (\w+)\s+.*\bbusy_ms (\d+)", line)
        if m:
            busy[m[1]] = int(m[2]) / 1000
    shard = re.search(r"shards: (\d+) .*?: (\d+) run, ([\d.]+)s each", summary)
    return {"seconds": seconds, "peak_rss": peak, "busy": busy, "shards": int(shard[1]) if shard else 1,
            "per_shard": float(shard[3]) if shard else seconds}


def report(kind: str, sizes: list[int], results: dict) -> None:
    print(f"\n{kind}")
    print(f"  {'documents':>10}{'wall s':>9}{'docs/s':>8}{'shards':>7}{'s/shard':>9}{'peak RSS':>10}")
    for n in sizes:
        r = results[n]
        print(f"  {n:>10}{r['seconds']:>9.0f}{n / r['seconds']:>8.1f}{r['shards']:>7}{r['per_shard']:>9.1f}"
              f"{r['peak_rss'] / 2**30:>8.2f} GiB")
    small, large = sizes[0], sizes[-1]
    if large > small:
        exponent = math.log(results[large]["seconds"] / results[small]["seconds"]) / math.log(large / small)
        growth = results[large]["peak_rss"] / results[small]["peak_rss"] - 1
        print(f"  wall-time scaling exponent {small}→{large}: {exponent:.3f}; peak RSS {growth:+.1%}")
    stages = sorted({s for n in sizes for s in results[n]["busy"]})
    if stages:
        print(f"  busy seconds per 1,000 documents: {'stage':<20}" + "".join(f"{n:>10}" for n in sizes)
              + (f"{'growth':>9}" if large > small else ""))
        for stage in stages:
            per = [results[n]["busy"].get(stage, 0) / n * 1000 for n in sizes]
            growth = f"{per[-1] / per[0] - 1:>+9.1%}" if large > small and per[0] else ""
            print(f"  {'':34}{stage:<20}" + "".join(f"{v:>10.2f}" for v in per) + growth)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--full", type=int, nargs="*", default=[5000, 20000], help="sizes run with the whole pipeline")
    ap.add_argument("--light", type=int, nargs="*", default=[5000, 100000],
                    help="sizes run on the read, extract and commit path")
    ap.add_argument("--shard-size", type=int, default=1000)
    ap.add_argument("--per-day", type=float, default=60, help="documents published a day (0: every size over a year)")
    ap.add_argument("--texts", default=None, help="a folder of .txt news articles (line 1: headline)")
    ap.add_argument("--work", default=None, help="where the WARCs and outputs go (default: a temporary folder)")
    ap.add_argument("--keep", action="store_true", help="keep the WARCs and outputs")
    args = ap.parse_args()
    work = args.work or tempfile.mkdtemp(prefix="claimwire-archive-")
    os.makedirs(work, exist_ok=True)
    headlines, articles = load_paragraphs(args.texts)
    print(f"pages: {'paragraphs of ' + str(len(articles)) + ' articles under ' + args.texts if articles else 'generated sentences'}; "
          f"shard size {args.shard_size}; {args.per_day:g} documents a day"
          f"{' (each size over a year)' if not args.per_day else ''}; {os.cpu_count()} cores")
    warcs = {}
    for n in sorted(set(args.full + args.light)):
        warcs[n] = os.path.join(work, f"archive-{n}-{args.per_day:g}a-day-2020.warc.gz")
        if not os.path.exists(warcs[n]):
            kb = build_warc(warcs[n], n, headlines, articles, args.per_day)
            print(f"built {warcs[n]}: {n} pages, {kb:.0f} KB of HTML each on average, "
                  f"{os.path.getsize(warcs[n]) / 2**20:.0f} MiB compressed")
    try:
        for kind, sizes, light in (("whole pipeline", sorted(args.full), False),
                                   ("read, extract and commit (--no-ner --no-dedup --no-claims)",
                                    sorted(args.light), True)):
            if not sizes:
                continue
            results = {}
            for n in sizes:
                out = os.path.join(work, f"out-{'light' if light else 'full'}-{n}")
                shutil.rmtree(out, ignore_errors=True)
                results[n] = run(warcs[n], out, args.shard_size, light)
                print(f"  ran {n} ({kind}): {results[n]['seconds']:.0f}s", flush=True)
            report(kind, sizes, results)
    finally:
        if not args.keep and not args.work:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
