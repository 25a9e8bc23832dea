"""`claimwire report`: one self-contained HTML page, rendered by a real headless Chromium (Debian's package;
`./run_local.sh test` installs it when missing)."""
import os
import re
import shutil
import subprocess

import pytest

from pipeline.cli import main
from pipeline.report import load, render, write_report

SEED_TITLE = "3,000 North Korean Soldiers Reportedly Deployed to Support Russia"
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--disable-dev-shm-usage"]


def chromium() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    assert path, "chromium is not installed: ./run_local.sh test installs it (apt-get install chromium)"
    return path


def browse(tmp_path, *args) -> subprocess.CompletedProcess:
    profile = tmp_path / "chromium-profile"
    return subprocess.run([chromium(), *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *args],
                          capture_output=True, text=True, timeout=120)


@pytest.fixture(scope="module")
def report(sample_run, tmp_path_factory):
    path = tmp_path_factory.mktemp("report") / "index.html"
    assert main(["report", sample_run, "--html", str(path)]) == 0
    return path


def test_page_is_self_contained(report):
    page = report.read_text(encoding="utf-8")
    assert "<style>" in page and "<script>" in page and "<svg" in page
    # nothing to fetch when it is opened: no external scripts, styles, images or fonts
    assert not re.search(r"""<(script|link|img|iframe)[^>]+(src|href)=["']?https?:""", page)
    assert "@import" not in page and "url(" not in page


def test_browser_renders_stories_figures_and_timeline(report, tmp_path):
    dom = browse(tmp_path, "--dump-dom", report.as_uri())
    assert dom.returncode == 0, dom.stderr[-2000:]
    html = dom.stdout
    assert SEED_TITLE in html
    # the seed story's corroborated figure: 3,000 troops backed by 2 outlets, in one claims-table row
    rows = re.findall(r"<tr>(.*?)</tr>", html, re.S)
    assert any(">3,000<" in r and "2 outlets" in r and "North Korea" in r for r in rows), rows[:5]
    # the timeline chart: an inline SVG with one point per figure, 1,500 → 3,000 → 10,000 among them
    svg = re.search(r'<svg class="timeline".*?</svg>', html, re.S)
    assert svg and svg.group(0).count("<circle") >= 3
    for value in ("1,500", "3,000", "10,000"):
        assert f">{value}</text>" in svg.group(0), value
    # the story ranked first has the most outlets; entity index and errors are there
    first_story = re.search(r'<section class="story"[^>]*><h3>(.*?)</h3>', html).group(1)
    assert first_story == SEED_TITLE
    assert 'id="entities"' in html and "Lloyd Austin" in html
    assert "feed_parse_error" in html and "http_client_error" in html


def test_browser_screenshot(report, tmp_path):
    shot = tmp_path / "report.png"
    done = browse(tmp_path, f"--screenshot={shot}", "--window-size=1200,1600", report.as_uri())
    assert done.returncode == 0, done.stderr[-2000:]
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 30_000  # a rendered page, not a blank one


def test_max_stories_limits_the_page(sample_run):
    page = render(load(sample_run), sample_run, max_stories=2)
    assert page.count('<section class="story"') == 2 and "10 more stories not shown" in page


def test_default_path_is_inside_the_output(sample_run, tmp_path):
    out = tmp_path / "out"
    shutil.copytree(sample_run, out)
    path = write_report(str(out))
    assert path == os.path.join(str(out), "report", "index.html") and SEED_TITLE in open(path).read()


def test_text_from_the_data_stays_text_in_a_browser(tmp_path):
    """Titles, texts and URLs come from outside: markup in them is shown, never run, and only http(s) URLs become
    links (an input document's 'javascript:' url was a clickable link in the report)."""
    import json
    docs = tmp_path / "docs.jsonl"
    rows = [{"id": "x1", "title": "<script>document.title='pwned'</script> Flood kills 20",
             "text": "<img src=x onerror=\"document.title='pwned'\"> Officials said 20 people died in the flood.",
             "url": "javascript:document.title='pwned'", "published": "2024-05-01T10:00:00Z"},
            {"id": "x2", "title": "Flood kills 20 </h3><script>document.title='pwned'</script>",
             "text": "Officials said 20 people died in the flood on Tuesday.", "published": "2024-05-01T11:00:00Z",
             "url": "http://a.example/\"><script>document.title='pwned'</script>"}]
    docs.write_text("".join(json.dumps(r) + "\n" for r in rows))
    out, page = tmp_path / "out", tmp_path / "page.html"
    assert main(["run", "--input", str(docs), "--output", str(out), "--no-ner", "--quiet"]) == 0
    assert main(["report", str(out), "--html", str(page)]) == 0
    dom = browse(tmp_path, "--dump-dom", page.as_uri())
    assert dom.returncode == 0, dom.stderr[-2000:]
    html = dom.stdout
    assert "pwned" not in re.search(r"<title>(.*?)</title>", html, re.S).group(1)
    assert len(re.findall(r"<script\b", html)) == 1  # the report's own
    assert "<img" not in html and "javascript:" not in " ".join(re.findall(r'href="([^"]*)"', html))
    assert "&lt;script&gt;document.title='pwned'&lt;/script&gt; Flood kills 20" in html


def test_browser_renders_threads_with_their_stories_in_time_order(report, tmp_path):
    """The Threads section: each thread of two or more stories with its stories in time order, linked to their
    sections, and each figure's course across the thread."""
    dom = browse(tmp_path, "--dump-dom", report.as_uri())
    assert dom.returncode == 0, dom.stderr[-2000:]
    html = dom.stdout
    threads = re.findall(r'<section class="thread".*?</section>', html, re.S)
    assert threads, "no thread section"
    for thread in threads:
        days = re.findall(r'<li><span class="meta">(\d{4}-\d\d-\d\d \d\d:\d\d)</span>', thread)
        assert len(days) >= 2 and days == sorted(days), days
    seed = next(t for t in threads if SEED_TITLE in t)
    assert re.search(r'<a href="#story-[^"]+">' + re.escape(SEED_TITLE) + "</a>", seed)  # linked to its section
    course = re.search(r'<table class="courses">.*?</table>', seed, re.S).group(0)
    assert "<b>3,000</b>" in course and "<b>10,000</b>" in course


def _claim(cid, story, day, value, who, outlet):
    import datetime as dt
    return {"claim_id": cid, "story_id": story, "article_id": cid, "stance": "asserts", "value": value,
            "unit_family": "military_personnel", "subject": "North Korea", "outlet": outlet,
            "claimant": {"text": who, "canonical": who}, "denied_text": None, "sentence": "",
            "published_at": dt.datetime(2024, 10, day, 9, tzinfo=dt.timezone.utc)}


def test_a_threads_figures_read_in_the_order_they_were_published():
    """A developing story in three announcements (the NIS's 1,500 on the 18th, the US's 3,000 on the 23rd and
    Zelensky's 10,000 on the 28th) and an event of another kind in its own thread: one thread of three stories in
    time order, the figure's course 1,500 → 3,000 → 10,000 with who said each, and the other thread left out."""
    import datetime as dt

    from pipeline.report import figure_courses, rank_threads, thread_html

    def story(sid, day, thread, outlets):
        return {"story_id": sid, "thread_id": thread, "outlets": set(outlets), "article_ids": {sid},
                "first_seen": dt.datetime(2024, 10, day, 8, tzinfo=dt.timezone.utc),
                "last_seen": dt.datetime(2024, 10, day, 20, tzinfo=dt.timezone.utc),
                "representative_title": f"story {sid}", "articles": []}
    stories = [story("us", 23, "t", ["a", "b"]), story("nis", 18, "t", ["a"]), story("zel", 28, "t", ["c"]),
               story("roads", 20, "r", ["a"])]
    threads = rank_threads(stories)
    assert [[s["story_id"] for s in t] for t in threads] == [["nis", "us", "zel"]]
    claims = [_claim("c3", "us", 23, 3000, "United States", "a"), _claim("c1", "nis", 18, 1500, "NIS", "a"),
              _claim("c4", "us", 24, 3000, "Pentagon", "b"), _claim("c5", "zel", 28, 10000, "Zelensky", "c")]
    [(subject, family, steps)] = figure_courses(claims)
    assert (subject, family) == ("North Korea", "military_personnel")
    assert [(s["value"], s["claimants"], len(s["outlets"])) for s in steps] == \
        [(1500, ["NIS"], 1), (3000, ["United States", "Pentagon"], 2), (10000, ["Zelensky"], 1)]
    page = thread_html(threads[0], claims, shown={"us"})
    assert re.search(r"<h3>story us</h3>", page)  # named after the story most outlets carried
    listed = re.search(r'<ol class="stories">.*?</ol>', page, re.S).group(0)
    assert listed.index("story nis") < listed.index("story us") < listed.index("story zel")
    assert '<a href="#story-us">story us</a>' in page and '<a href="#story-nis">' not in page  # nis not shown
    assert re.search(r"<b>1,500</b>.*→.*<b>3,000</b>.*→.*<b>10,000</b>", page, re.S)
