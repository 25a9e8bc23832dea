"""Renders the bundled sample news web into samples/site/ (committed; re-run after editing stories.py):

    python samples/build_site.py

Three outlets, each with an RSS 2.0 or Atom feed and article pages wrapped in realistic boilerplate (navigation,
related links, newsletter box, cookie banner, comment footer). Feeds name their links with the placeholder
__BASE__, which samples/serve.py replaces with the loopback address it serves on.
"""
from __future__ import annotations

import html
import os
import shutil
import sys
from email.utils import format_datetime
from datetime import datetime

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from stories import OUTLETS  # noqa: E402

SITE = os.path.join(HERE, "site")
SEEDS = os.path.join(HERE, "seeds")

# seed lines that are page furniture, not article text, and where the page puts them
SEED_FURNITURE = {
    "000_5ba0a06f1fe7a067.txt": {"comments": ["The comments posted here are not from Cnews Live."]},
    "001_3f3f7251d9f42a2b.txt": {
        "toc": ["CONTENTS:", "3000 North Korean Troops Sent to Russia for Ukraine War",
                "North Korea aids Russia in Ukraine war"],
        "promo": ["Check out TimesWordle.com for all the latest news"],
        "comments": ["You must be logged in to post a comment."],
    },
}


def seed_article(filename: str):
    with open(os.path.join(SEEDS, filename), encoding="utf-8") as f:
        lines = [l.strip() for l in f.read().splitlines()]
    title = lines[0]
    furniture = SEED_FURNITURE[filename]
    blocks, comments, promo = [], [], []
    toc_left = list(furniture.get("toc", []))
    for line in lines[1:]:
        if not line or line == title and not blocks:
            continue
        if line.startswith(tuple(furniture.get("comments", []))):
            comments.append(line)
            continue
        if line in furniture.get("promo", []):
            promo.append(line)
            continue
        if toc_left and line == toc_left[0]:
            toc_left.pop(0)
            continue
        blocks.append(("h2" if len(line) < 80 and not line.endswith(".") else "p", line))
    return title, blocks, comments, promo


def page(outlet: dict, slug: str, title: str, published: str, author: str, blocks, comments=(), promo=(),
         credit: str | None = None, toc=()) -> str:
    name, domain = outlet["name"], outlet["domain"]
    body = "\n".join(f"      <{tag}>{html.escape(text)}</{tag}>" for tag, text in blocks)
    related = "\n".join(
        f'        <li><a href="/{outlet["key"]}/{s}.html">{html.escape(t)}</a></li>'
        for s, t, *_ in outlet["articles"][:4] if s != slug)
    comment_items = "\n".join(f'      <div class="comment-note">{html.escape(c)}</div>' for c in comments)
    promo_html = "\n".join(f'    <aside class="promo"><p>{html.escape(p)}</p></aside>' for p in promo)
    toc_html = ""
    if toc:
        items = "".join(f"<li>{html.escape(t)}</li>" for t in toc[1:])
        toc_html = f'      <nav class="toc"><strong>{html.escape(toc[0])}</strong><ol>{items}</ol></nav>\n'
    credit_html = f'      <p class="credit">{html.escape(credit)}</p>\n' if credit else ""
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>{html.escape(title)} | {html.escape(name)}</title>
  <link rel="canonical" href="https://www.{domain}/{slug}">
  <meta property="og:site_name" content="{html.escape(name)}">
  <meta property="og:title" content="{html.escape(title)}">
  <meta name="author" content="{html.escape(author)}">
  <meta property="article:published_time" content="{published}">
</head>
<body>
  <div class="cookie-banner">We use cookies to improve your experience. <a href="/privacy">Learn more</a>
    <button>Accept all</button></div>
  <header>
    <a class="logo" href="/{outlet['key']}/">{html.escape(name)}</a>
    <nav class="main-nav"><ul><li><a href="/{outlet['key']}/">Home</a></li><li><a href="/world">World</a></li>
      <li><a href="/politics">Politics</a></li><li><a href="/business">Business</a></li>
      <li><a href="/sport">Sport</a></li><li><a href="/weather">Weather</a></li></ul></nav>
    <div class="ticker">Breaking: Markets open higher · Live: Election coverage · Weather warnings in force</div>
  </header>
  <main>
    <article>
      <h1>{html.escape(title)}</h1>
      <p class="byline">By {html.escape(author)} · <time datetime="{published}">{published[:10]}</time></p>
{toc_html}{body}
{credit_html}    </article>
{promo_html}
    <aside class="related"><h3>Related stories</h3>
      <ul>
{related}
      </ul>
    </aside>
    <aside class="newsletter"><h3>Get the morning briefing</h3><p>Sign up for our free newsletter and never miss
      a story.</p><form><input type="email" placeholder="Your email"><button>Subscribe</button></form></aside>
    <section class="comments" id="comments"><h3>Comments (2)</h3>
      <div class="comment"><span class="user">reader_1984</span> Interesting read, thanks for sharing.</div>
      <div class="comment"><span class="user">j.smith</span> Where are the sources for this?</div>
{comment_items}
    </section>
  </main>
  <footer><p>&copy; 2024 {html.escape(name)}. All rights reserved.</p>
    <ul><li><a href="/about">About us</a></li><li><a href="/contact">Contact</a></li>
      <li><a href="/privacy">Privacy policy</a></li><li><a href="/terms">Terms of use</a></li></ul></footer>
</body>
</html>
"""


def rss(outlet: dict, items) -> str:
    entries = "\n".join(f"""    <item>
      <title>{html.escape(t)}</title>
      <link>__BASE__/{outlet['key']}/{s}.html</link>
      <guid isPermaLink="false">{outlet['domain']}:{s}</guid>
      <pubDate>{format_datetime(datetime.fromisoformat(p.replace('Z', '+00:00')))}</pubDate>
      <description>{html.escape(d)}</description>
    </item>""" for s, t, p, d in items)
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0">
  <channel>
    <title>{html.escape(outlet['name'])}</title>
    <link>https://www.{outlet['domain']}/</link>
    <description>Latest news from {html.escape(outlet['name'])}</description>
{entries}
  </channel>
</rss>
"""


def atom(outlet: dict, items) -> str:
    entries = "\n".join(f"""  <entry>
    <title>{html.escape(t)}</title>
    <link rel="alternate" href="__BASE__/{outlet['key']}/{s}.html"/>
    <id>tag:{outlet['domain']},2024:{s}</id>
    <updated>{p}</updated>
    <published>{p}</published>
    <summary>{html.escape(d)}</summary>
  </entry>""" for s, t, p, d in items)
    return f"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom">
  <title>{html.escape(outlet['name'])}</title>
  <id>https://www.{outlet['domain']}/</id>
  <updated>2024-10-31T00:00:00Z</updated>
{entries}
</feed>
"""


def write(path: str, text: str) -> None:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)


def build() -> None:
    if os.path.isdir(SITE):
        shutil.rmtree(SITE)
    for key, outlet in OUTLETS.items():
        outlet["key"] = key
    for key, outlet in OUTLETS.items():
        items = []
        for slug, title, published, author, paras in outlet["articles"]:
            write(os.path.join(SITE, key, f"{slug}.html"),
                  page(outlet, slug, title, published, author, [("p", p) for p in paras]))
            items.append((slug, title, published, paras[0][:200]))
        if "seed" in outlet:
            filename, slug, published, author = outlet["seed"]
            title, blocks, comments, promo = seed_article(filename)
            write(os.path.join(SITE, key, f"{slug}.html"),
                  page(outlet, slug, title, published, author, blocks, comments, promo,
                       toc=SEED_FURNITURE[filename].get("toc", ())))
            items.insert(0, (slug, title, published, blocks[0][1][:200]))
        if "syndicates" in outlet:
            origin, filename, slug, published = outlet["syndicates"]
            title, blocks, _, _ = seed_article(filename)
            credit = f"This article first appeared on {OUTLETS[origin]['name']} and is republished with permission."
            write(os.path.join(SITE, key, f"{slug}.html"),
                  page(outlet, slug, title, published, "Wire staff", blocks, credit=credit))
            items.insert(0, (slug, title, published, blocks[0][1][:200]))
            # a story the feed still lists but the site has removed: the sample's 404
            items.append(("removed-story", "Story no longer available", "2024-10-20T09:00:00Z", "Removed."))
        feed = rss(outlet, items) if outlet["feed"] == "rss" else atom(outlet, items)
        write(os.path.join(SITE, key, "feed.xml"), feed)
    # a feed that is not well-formed XML at all: the sample's broken feed
    write(os.path.join(SITE, "broken", "feed.xml"),
          "<rss version='2.0'><channel><title>Broken <item><link>oops</channel>\x00\x01 not xml")
    write(os.path.join(SITE, "robots.txt"), "User-agent: *\nDisallow: /private/\n")


if __name__ == "__main__":
    build()
    n = sum(len(files) for _, _, files in os.walk(SITE))
    print(f"wrote {n} files under {SITE}")
