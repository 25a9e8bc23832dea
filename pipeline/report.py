"""`claimwire report OUT [--html PATH] [--max-stories N]`: one self-contained HTML page of an output dataset.

Threads (developing stories: two or more stories over days or weeks) with their stories in time order and each
figure's course across the thread (1,500 → 3,000 → 10,000 troops, who said each, when); stories ranked by
outlets and articles; per story its outlets, first and last seen, articles (linked), claims
(figure, unit, subject, claimants, stance, outlets, conflicting figures) and an inline SVG timeline of each figure
family over time by claimant; an entity index (canonical name → stories); errors by kind; the run's metadata.
CSS, JS and SVG are inline and nothing is fetched when the page is opened. Works on batch, --follow and
streaming outputs (it reads through schemas.dataset; streaming's per-window story rows are merged by story_id).
"""
from __future__ import annotations

import collections
import datetime as dt
import html
import os
import sys
import time

from claimcore.figures import family_label
from claimcore.language import OTHER_LANGUAGES_NOTE, english_models_apply, language_counts
from schemas import dataset

REPORT_FORMAT = "claimwire-report/1"
PALETTE = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf"]

CSS = """
body{font:15px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0;color:#1d232a;background:#f6f7f9}
header{background:#18324a;color:#fff;padding:18px 28px}header h1{margin:0;font-size:22px}
header p{margin:4px 0 0;opacity:.85}main{max-width:1100px;margin:0 auto;padding:18px 24px}
nav a{margin-right:14px}a{color:#0b5cad}h2{margin:28px 0 10px}
.story{background:#fff;border:1px solid #dde2e8;border-radius:8px;padding:14px 18px;margin:14px 0}
.story h3{margin:0 0 4px;font-size:18px}.meta{color:#5a6673;font-size:13px}
.badge{display:inline-block;background:#e8f0fb;color:#0b3d75;border-radius:10px;padding:1px 8px;margin-right:6px;
font-size:12px}table{border-collapse:collapse;width:100%;margin:8px 0;font-size:13.5px}
th,td{text-align:left;padding:4px 8px;border-bottom:1px solid #eef1f4;vertical-align:top}th{color:#5a6673}
td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}.conflict{color:#b3261e}
.denies{color:#b3261e;font-weight:600}ul.articles{margin:6px 0 4px;padding-left:18px;font-size:13.5px}
svg.timeline{background:#fbfcfd;border:1px solid #eef1f4;border-radius:6px;margin:6px 0}
#filter{padding:6px 10px;width:320px;border:1px solid #c5ccd4;border-radius:6px}
.entities{columns:3;font-size:13.5px}.entities div{break-inside:avoid;margin-bottom:4px}
.more{color:#5a6673;font-style:italic}
.thread{background:#fff;border:1px solid #dde2e8;border-left:4px solid #18324a;border-radius:8px;padding:14px 18px;
margin:14px 0}.thread h3{margin:0 0 4px;font-size:18px}ol.stories{margin:6px 0;padding-left:22px;font-size:13.5px}
.step{white-space:nowrap}
"""

JS = """
document.getElementById('filter').addEventListener('input', function (e) {
  var q = e.target.value.toLowerCase();
  document.querySelectorAll('.story').forEach(function (s) {
    s.style.display = s.textContent.toLowerCase().indexOf(q) >= 0 ? '' : 'none';
  });
});
"""


def _esc(value) -> str:
    return html.escape("" if value is None else str(value))


def figure(value: float | None) -> str:
    if value is None:
        return ""
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.2f}".rstrip("0").rstrip(".")


def _day(ts) -> str:
    return ts.strftime("%Y-%m-%d %H:%M") if ts else "undated"


def _merge_stories(rows: list[dict]) -> dict[str, dict]:
    """One entry per story_id (streaming writes one row per window and story)."""
    out = {}
    for r in rows:
        s = out.setdefault(r["story_id"], {"story_id": r["story_id"], "article_ids": set(), "outlets": set(),
                                           "first_seen": r["first_seen"], "last_seen": r["last_seen"],
                                           "representative_title": r["representative_title"],
                                           "thread_id": r.get("thread_id")})
        s["thread_id"] = s["thread_id"] or r.get("thread_id")
        s["article_ids"].update(r["article_ids"] or [])
        s["outlets"].update(r["outlets"] or [])
        for key, pick in (("first_seen", min), ("last_seen", max)):
            values = [v for v in (s[key], r[key]) if v is not None]
            s[key] = pick(values) if values else None
    return out


def load(output_dir: str) -> dict:
    """Everything the page shows, read from the committed dataset."""
    def rows(table, columns=None):
        return dataset.read_rows(output_dir, table, columns)
    articles = {a["article_id"]: a for a in rows("articles", ["article_id", "url", "title", "outlet", "published_at",
                                                               "story_id", "duplicate_of", "entities", "language"])}
    stories = _merge_stories(rows("stories"))
    for s in stories.values():
        s["articles"] = sorted((articles[a] for a in s["article_ids"] if a in articles),
                               key=lambda a: (a["published_at"] is None, a["published_at"] or 0, a["article_id"]))
    claims = rows("claims", ["claim_id", "story_id", "article_id", "published_at", "value", "unit_family", "subject",
                             "claimant", "stance", "outlet", "denied_text", "sentence"])
    story_claims = rows("story_claims")
    errors = rows("errors", ["kind", "stage", "url", "message"])
    return {"articles": articles, "stories": stories, "claims": claims, "story_claims": story_claims,
            "errors": errors, "manifest": dataset.load_manifest(output_dir)}


def rank_stories(stories: dict[str, dict]) -> list[dict]:
    return sorted(stories.values(), key=lambda s: (-len(s["outlets"]), -len(s["articles"]),
                                                   s["first_seen"] is None, s["first_seen"] or 0, s["story_id"]))


def claimant_name(claim: dict) -> str | None:
    return (claim["claimant"] or {}).get("canonical") or (claim["claimant"] or {}).get("text")


def dated_families(claims: list[dict]) -> dict[tuple[str, str], list[dict]]:
    """(subject, unit family) → its dated asserted figures, for the families with two or more values: what the
    timelines and a thread's figure courses show."""
    families = collections.defaultdict(list)
    for c in claims:
        if c["stance"] == "asserts" and c["value"] is not None and c["published_at"] is not None:
            families[(c["subject"] or "", c["unit_family"] or "")].append(c)
    return {k: v for k, v in families.items() if len({c["value"] for c in v}) >= 2}


def timeline_svg(claims: list[dict], width: int = 780, row_height: int = 160) -> str:
    """One panel per figure family (subject + unit family) with two or more dated figures: each claim a point at
    (publication time, value), one colour and line per claimant, so a figure's growth (1,500 → 3,000 → 10,000
    troops) and who said what read at a glance."""
    families = dated_families(claims)
    if not families:
        return ""
    panels = sorted(families.items(), key=lambda kv: (-len(kv[1]), kv[0]))[:4]
    height = row_height * len(panels) + 10
    out = [f'<svg class="timeline" role="img" aria-label="figures over time by claimant" width="{width}" '
           f'height="{height}" viewBox="0 0 {width} {height}" xmlns="http://www.w3.org/2000/svg">']
    left, right = 70, 250
    for p, ((subject, family), members) in enumerate(panels):
        top = 10 + p * row_height
        plot_h = row_height - 45
        times = [c["published_at"].timestamp() for c in members]
        values = [c["value"] for c in members]
        t0, t1 = min(times), max(times)
        v0, v1 = 0.0, max(values) * 1.1 or 1.0
        def x(t):
            return left + (t - t0) / ((t1 - t0) or 1) * (width - left - right) if t1 > t0 else left + 20
        def y(v):
            return top + 18 + plot_h - (v - v0) / (v1 - v0) * plot_h
        out.append(f'<text x="{left}" y="{top + 10}" font-size="12" font-weight="600">'
                   f'{_esc(subject or "(no subject)")} · {_esc(family_label(family))}</text>')
        out.append(f'<line x1="{left}" y1="{top + 18 + plot_h}" x2="{width - right}" y2="{top + 18 + plot_h}" '
                   f'stroke="#c5ccd4"/>')
        for tick in (v1 / 1.1, v1 / 2.2):
            out.append(f'<text x="{left - 6}" y="{y(tick) + 4:.1f}" font-size="10" text-anchor="end" '
                       f'fill="#5a6673">{figure(round(tick))}</text>')
        out.append(f'<text x="{left}" y="{top + plot_h + 32}" font-size="10" fill="#5a6673">'
                   f'{_day(dt.datetime.fromtimestamp(t0, dt.timezone.utc))}</text>')
        out.append(f'<text x="{width - right}" y="{top + plot_h + 32}" font-size="10" text-anchor="end" '
                   f'fill="#5a6673">{_day(dt.datetime.fromtimestamp(t1, dt.timezone.utc))}</text>')
        labelled = set()
        by_claimant = collections.defaultdict(list)
        for c in members:
            who = claimant_name(c) or "unattributed"
            by_claimant[who].append(c)
        for k, (who, cs) in enumerate(sorted(by_claimant.items(), key=lambda kv: (-len(kv[1]), kv[0]))[:8]):
            colour = PALETTE[k % len(PALETTE)]
            cs = sorted(cs, key=lambda c: (c["published_at"], c["value"]))
            if len(cs) > 1:
                points = " ".join(f"{x(c['published_at'].timestamp()):.1f},{y(c['value']):.1f}" for c in cs)
                out.append(f'<polyline points="{points}" fill="none" stroke="{colour}" stroke-width="1.5" '
                           f'opacity=".6"/>')
            for c in cs:
                cx, cy = x(c["published_at"].timestamp()), y(c["value"])
                out.append(f'<circle cx="{cx:.1f}" cy="{cy:.1f}" r="4" fill="{colour}"><title>{figure(c["value"])} '
                           f'· {_esc(who)} · {_esc(c["outlet"])} · {_day(c["published_at"])}</title></circle>')
                if (round(cx), c["value"]) not in labelled:  # one label per figure and time
                    labelled.add((round(cx), c["value"]))
                    out.append(f'<text x="{cx - 8:.1f}" y="{cy - 6:.1f}" font-size="10" text-anchor="end" '
                               f'fill="#1d232a">{figure(c["value"])}</text>')
            out.append(f'<text x="{width - right + 40}" y="{top + 26 + 14 * k}" font-size="11" fill="{colour}">'
                       f'● {_esc(who[:30])}</text>')
    out.append("</svg>")
    return "".join(out)


def _outlets(n: int) -> str:
    return f"{n} outlet{'s' * (n != 1)}" if n else "outlet unknown"  # files without a URL have no outlet


def rank_threads(stories: list[dict]) -> list[list[dict]]:
    """Threads of two or more stories, each as its stories in time order; the threads with more stories, then
    more outlets, first."""
    by_thread = collections.defaultdict(list)
    for s in stories:
        by_thread[s.get("thread_id") or s["story_id"]].append(s)
    threads = [sorted(members, key=lambda s: (s["first_seen"] is None, s["first_seen"] or 0, s["story_id"]))
               for members in by_thread.values() if len(members) >= 2]
    return sorted(threads, key=lambda t: (-len(t), -len(set().union(*(s["outlets"] for s in t))),
                                          t[0]["first_seen"] is None, t[0]["first_seen"] or 0, t[0]["story_id"]))


def figure_courses(claims: list[dict]) -> list[tuple[str, str, list[dict]]]:
    """(subject, unit family, steps) for each figure family with two or more values across a thread: the steps
    are its values in the order they were first published, each with when, by whom and how many outlets
    reported it (1,500 → 3,000 → 10,000 troops)."""
    out = []
    for (subject, family), members in dated_families(claims).items():
        steps = {}
        for c in sorted(members, key=lambda c: (c["published_at"], c["value"], c["claim_id"])):
            step = steps.setdefault(c["value"], {"value": c["value"], "first": c["published_at"], "claimants": [],
                                                 "outlets": set()})
            who = claimant_name(c)
            if who and who not in step["claimants"]:
                step["claimants"].append(who)
            if c["outlet"]:
                step["outlets"].add(c["outlet"])
        out.append((subject, family, sorted(steps.values(), key=lambda st: (st["first"], st["value"]))))
    return sorted(out, key=lambda f: (-len(f[2]), f[0], f[1]))


def thread_html(stories: list[dict], claims: list[dict], shown: set[str]) -> str:
    """One thread: its stories in time order (linked to their sections when shown), each figure's course across
    the thread, and the timeline of all its figures."""
    first, last = stories[0], max(stories, key=lambda s: (s["last_seen"] is not None, s["last_seen"] or 0))
    outlets = set().union(*(s["outlets"] for s in stories))
    parts = [f'<section class="thread" id="thread-{_esc(first.get("thread_id") or first["story_id"])}">',
             # named after its most reported story (the announcement most outlets carried), then the earliest
             f'<h3>{_esc(min(stories, key=lambda s: -len(s["outlets"]))["representative_title"] or "(untitled)")}'
             '</h3>',
             f'<div class="meta"><span class="badge">{len(stories)} stories</span>'
             f'<span class="badge">{_outlets(len(outlets))}</span>'
             f'{_day(first["first_seen"])} → {_day(last["last_seen"])}</div><ol class="stories">']
    for s in stories:
        title = _esc(s["representative_title"] or "(untitled)")
        link = f'<a href="#story-{_esc(s["story_id"])}">{title}</a>' if s["story_id"] in shown else title
        parts.append(f'<li><span class="meta">{_day(s["first_seen"])}</span> {link} '
                     f'<span class="meta">· {_outlets(len(s["outlets"]))}</span></li>')
    parts.append("</ol>")
    courses = figure_courses(claims)
    if courses:
        parts.append('<table class="courses"><tr><th>figure</th><th>course across the thread</th></tr>')
        for subject, family, steps in courses[:6]:
            course = " → ".join(
                f'<span class="step"><b>{figure(st["value"])}</b> <span class="meta">{_day(st["first"])[:10]}'
                f'{" · " + _esc(", ".join(st["claimants"][:2])) if st["claimants"] else ""}'
                f' · {_outlets(len(st["outlets"]))}</span></span>' for st in steps)
            parts.append(f'<tr><td>{_esc(subject or "(no subject)")} · {_esc(family_label(family))}</td>'
                         f'<td>{course}</td></tr>')
        parts.append("</table>")
    parts.append(timeline_svg(claims))
    parts.append("</section>")
    return "".join(parts)


def story_html(s: dict, claims: list[dict], story_claims: list[dict]) -> str:
    parts = [f'<section class="story" id="story-{_esc(s["story_id"])}">',
             f'<h3>{_esc(s["representative_title"] or "(untitled)")}</h3>',
             f'<div class="meta"><span class="badge">{_outlets(len(s["outlets"]))}</span>'
             f'<span class="badge">{len(s["articles"])} article{"s" * (len(s["articles"]) != 1)}</span>'
             f'first seen {_day(s["first_seen"])} · last seen {_day(s["last_seen"])} · '
             f'{_esc(", ".join(sorted(s["outlets"])))}</div>', '<ul class="articles">']
    for a in s["articles"]:
        title = _esc(a["title"] or a["url"] or a["article_id"])
        # only web addresses become links: an input document's url may be anything ("javascript:…")
        web = (a["url"] or "").lower().startswith(("http://", "https://"))
        link = f'<a href="{_esc(a["url"])}">{title}</a>' if web else title
        copy = " <span class=\"meta\">(copy)</span>" if a["duplicate_of"] else ""
        parts.append(f'<li>{link} <span class="meta">{_esc(a["outlet"])} · {_day(a["published_at"])}</span>'
                     f'{copy}</li>')
    parts.append("</ul>")
    rows = sorted(story_claims, key=lambda r: (-r["outlet_count"], -r["claim_count"], r["story_claim_id"]))
    denials = [c for c in claims if c["stance"] == "denies"]
    if rows or denials:
        parts.append('<table class="claims"><tr><th>figure</th><th>unit</th><th>subject</th><th>claimants</th>'
                     '<th>stance</th><th>outlets</th><th>conflicting</th></tr>')
        for r in rows:
            conflict = ", ".join(figure(v) for v in r["conflicting_values"] or [])
            parts.append(
                f'<tr><td class="num">{figure(r["value"])}</td><td>{_esc(family_label(r["unit_family"]))}</td>'
                f'<td>{_esc(r["subject"])}</td><td>{_esc(", ".join(r["claimants"] or []) or "unattributed")}</td>'
                f'<td>{_esc(r["stance"])}</td><td class="num">{_outlets(r["outlet_count"])}</td>'
                f'<td class="conflict">{_esc(conflict)}</td></tr>')
        for c in denials:
            who = claimant_name(c) or "unattributed"
            parts.append(f'<tr><td class="num"></td><td></td><td>{_esc(c["subject"])}</td><td>{_esc(who)}</td>'
                         f'<td class="denies">denies</td><td class="num">{_esc(c["outlet"])}</td>'
                         f'<td>{_esc((c["denied_text"] or "")[:120])}</td></tr>')
        parts.append("</table>")
    parts.append(timeline_svg(claims))
    parts.append("</section>")
    return "".join(parts)


def render(data: dict, output_dir: str, max_stories: int = 200, max_threads: int = 50) -> str:
    stories = rank_stories(data["stories"])
    shown = stories[:max_stories] if max_stories else stories
    threads = rank_threads(stories)
    # by the story that holds the claim's article now (claims.story_id is the id it was written with)
    story_of = {a: s["story_id"] for s in stories for a in s["article_ids"]}
    claims_by_story = collections.defaultdict(list)
    for c in data["claims"]:
        claims_by_story[story_of.get(c["article_id"], c["story_id"] or c["article_id"])].append(c)
    story_claims_by_story = collections.defaultdict(list)
    for r in data["story_claims"]:
        story_claims_by_story[r["story_id"]].append(r)
    entity_stories = collections.defaultdict(set)
    for s in shown:
        for a in s["articles"]:
            for e in a["entities"] or []:
                if e["label"] in ("PER", "ORG", "LOC"):
                    entity_stories[e["canonical"] or e["text"]].add(s["story_id"])
    titles = {s["story_id"]: s["representative_title"] or s["story_id"] for s in shown}
    manifest = data["manifest"] or {}
    runs = manifest.get("runs", {})
    kinds = collections.Counter(e["kind"] for e in data["errors"])
    parts = [
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">",
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">",
        f"<meta name=\"generator\" content=\"{REPORT_FORMAT}\">",
        f"<title>claimwire report · {_esc(os.path.basename(os.path.abspath(output_dir)))}</title>",
        f"<style>{CSS}</style></head><body>",
        "<header><h1>claimwire report</h1>",
        f"<p>{len(data['articles'])} articles · {len(stories)} stories · {len(threads)} "
        f"thread{'s' * (len(threads) != 1)} of two or more stories · {len(data['claims'])} claims · {len(data['errors'])} errors</p></header><main>",
        "<nav><a href=\"#threads\">Threads</a><a href=\"#stories\">Stories</a><a href=\"#entities\">Entities</a>"
        "<a href=\"#errors\">Errors</a><a href=\"#run\">Run</a></nav>",
        "<h2 id=\"threads\">Threads</h2><p class=\"meta\">A thread is a developing story: its stories (each one "
        "announcement) in time order, and how each figure moved across them.</p>",
    ]
    shown_ids = {s["story_id"] for s in shown}
    for thread in threads[:max_threads] if max_threads else threads:
        parts.append(thread_html(thread, [c for s in thread for c in claims_by_story.get(s["story_id"], [])],
                                 shown_ids))
    if not threads:
        parts.append("<p>None: no thread has two or more stories.</p>")
    elif max_threads and len(threads) > max_threads:
        parts.append(f'<p class="more">{len(threads) - max_threads} more threads not shown.</p>')
    parts.append("<h2 id=\"stories\">Stories</h2><p class=\"meta\">Ranked by outlets, then articles. "
                 "<input id=\"filter\" placeholder=\"filter stories (names, figures, outlets)\"></p>")
    parts += [story_html(s, claims_by_story.get(s["story_id"], []), story_claims_by_story.get(s["story_id"], []))
              for s in shown]
    if len(stories) > len(shown):
        parts.append(f'<p class="more">{len(stories) - len(shown)} more stories not shown '
                     f'(claimwire report --max-stories).</p>')
    parts.append("<h2 id=\"entities\">Entities</h2><div class=\"entities\">")
    for name, sids in sorted(entity_stories.items(), key=lambda kv: (-len(kv[1]), kv[0]))[:300]:
        links = ", ".join(f'<a href="#story-{_esc(sid)}">{_esc(titles[sid][:60])}</a>' for sid in sorted(sids))
        parts.append(f"<div><b>{_esc(name)}</b> ({len(sids)}): {links}</div>")
    parts.append("</div><h2 id=\"errors\">Errors by kind</h2>")
    if kinds:
        parts.append("<table><tr><th>kind</th><th>count</th><th>example</th></tr>")
        for kind, n in kinds.most_common():
            example = next(e for e in data["errors"] if e["kind"] == kind)
            parts.append(f"<tr><td>{_esc(kind)}</td><td class=\"num\">{n}</td><td>{_esc(example['url'])}: "
                         f"{_esc((example['message'] or '')[:160])}</td></tr>")
        parts.append("</table>")
    else:
        parts.append("<p>None.</p>")
    parts.append("<h2 id=\"run\">Run</h2>")
    if not all(english_models_apply(a["language"]) for a in data["articles"].values()):
        parts.append(f"<p class=\"note\">{_esc(OTHER_LANGUAGES_NOTE)}.</p>")
    parts.append("<table>")
    meta = [("output", os.path.abspath(output_dir)), ("commits", manifest.get("sequence", "—")),
            ("last commit", manifest.get("committed_at", "—")), ("runs", len(runs)),
            ("inputs", ", ".join(sorted({i for r in runs.values() for i in r.get("inputs", [])})) or "—"),
            ("articles by language", language_counts(a["language"] for a in data["articles"].values()) or "—"),
            ("report written", dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"))]
    parts += [f"<tr><th>{_esc(k)}</th><td>{_esc(v)}</td></tr>" for k, v in meta]
    parts.append(f"</table></main><script>{JS}</script></body></html>")
    return "\n".join(parts)


def write_report(output_dir: str, html_path: str | None = None, max_stories: int = 200) -> str:
    path = html_path or dataset.report_path(output_dir)
    page = render(load(output_dir), output_dir, max_stories)
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(page)
    os.replace(tmp, path)
    return path


def main(argv: list[str]) -> int:
    import argparse
    ap = argparse.ArgumentParser(prog="claimwire report", description="one self-contained HTML page of an output")
    ap.add_argument("output", help="the output directory of claimwire run")
    ap.add_argument("--html", default=None, help="where to write the page (default: OUT/report/index.html)")
    ap.add_argument("--max-stories", type=int, default=200, help="stories shown, best ranked first (0: all)")
    args = ap.parse_args(argv)
    if not os.path.isdir(args.output):
        print(f"claimwire report: {args.output} is not a directory", file=sys.stderr)
        return 2
    started = time.perf_counter()
    path = write_report(args.output, args.html, args.max_stories)
    print(f"claimwire report: {path} ({os.path.getsize(path) / 1024:.0f} KiB, "
          f"{time.perf_counter() - started:.1f}s)")
    return 0

