"""Hostile input end to end: broken feeds, HTTP faults, bombs and unsafe links end as dead letters, never as
crashes or lost records; plus fuzzing of the feed and page wrappers."""
import os
import subprocess
import sys
import threading
import time

import duckdb
import hostile_server
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from claimcore.extraction import ExtractionWorker
from transforms.feeds import parse_feed

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture(scope="module")
def servers():
    hostile, internal = hostile_server.start()
    yield hostile, internal
    hostile.shutdown()
    internal.shutdown()


def _hwm_mib(pid: int) -> float:
    """A process's own peak RSS (VmHWM): reset at exec, so a fork of this big test process does not count."""
    with open(f"/proc/{pid}/status") as f:
        return int(f.read().split("VmHWM:")[1].split()[0]) / 1024


def _descendants(pid: int) -> list[int]:
    out = []
    for tid in os.listdir(f"/proc/{pid}/task"):
        with open(f"/proc/{pid}/task/{tid}/children") as f:
            for child in f.read().split():
                out += [int(child)] + _descendants(int(child))
    return out


def run_pipeline(feeds_file, out):
    """The pipeline in a child process; returns (exit code, output, largest peak RSS among its processes, MiB)."""
    args = [sys.executable, "-m", "pipeline", "run", "--feeds", str(feeds_file), "--output", str(out),
            "--min-host-delay", "0", "--read-timeout", "1", "--total-timeout", "3", "--max-bytes", "1000000",
            "--max-decoded-bytes", "5000000", "--retries", "2", "--extract-timeout", "8"]
    proc = subprocess.Popen(args, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            env=dict(os.environ, HF_HUB_OFFLINE="1"))
    chunks = []
    reader = threading.Thread(target=lambda: chunks.extend(proc.stdout), daemon=True)
    reader.start()
    peaks = {}
    while proc.poll() is None:
        for pid in [proc.pid] + _descendants_or_none(proc.pid):
            try:
                peaks[pid] = max(peaks.get(pid, 0.0), _hwm_mib(pid))
            except (OSError, IndexError, ValueError):
                pass  # the process ended between listing and reading
        time.sleep(0.1)
    reader.join(10)
    return proc.returncode, b"".join(chunks).decode(), max(peaks.values(), default=0.0)


def _descendants_or_none(pid: int) -> list[int]:
    try:
        return _descendants(pid)
    except OSError:
        return []


def test_mixed_good_and_hostile_corpus(servers, tmp_path):
    hostile, internal = servers
    base = f"http://127.0.0.1:{hostile.server_address[1]}"
    feeds = tmp_path / "feeds.txt"
    feeds.write_text("\n".join(base + path for path in hostile_server.HOSTILE_FEEDS) + "\n")
    out = tmp_path / "out"
    code, output, peak_mib = run_pipeline(feeds, out)
    assert code == 0, output[-3000:]

    articles = duckdb.sql(f"select url, canonical_url from read_parquet('{out}/articles/**/*.parquet')").fetchall()
    assert sorted(c for _, c in articles) == [f"https://good.example/a{n}" for n in range(1, 5)]  # each once

    errors = duckdb.sql(f"select url, kind, stage, attempts from read_parquet('{out}/errors/*.parquet')").fetchall()
    by_url = {}
    for url, kind, stage, attempts in errors:
        by_url.setdefault(url.removeprefix(base), []).append((kind, stage, attempts))
    expected = {path: kind for path, kind in hostile_server.HOSTILE_FEEDS.items() if kind}
    expected.update({p: k for p, k in hostile_server.HOSTILE_ARTICLES.items() if p != "INTERNAL"})
    internal_url = f"http://127.0.0.2:{internal.server_address[1]}/secret"
    expected[internal_url] = "blocked_address"
    assert set(by_url) == set(expected), (set(by_url) ^ set(expected))
    for path, kind in expected.items():
        assert len(by_url[path]) == 1, (path, by_url[path])  # exactly one error row per bad input
        got = by_url[path][0][0]
        assert got in kind if isinstance(kind, tuple) else got == kind, (path, got)
    assert by_url["/f/busy.xml"][0][2] == 3  # 503 retried twice, honouring Retry-After
    assert by_url["/f/missing.xml"][0][2] == 1  # 4xx not retried
    summary_row = next(line for line in output.splitlines() if line.startswith("  fetch_feeds "))
    retries = int(summary_row.split("retries ", 1)[1].split(",")[0])
    assert retries >= 2 * 4  # 503, 500 and both timeouts were each retried twice (counted in the run summary)
    assert internal.hits == []  # the "internal" host was never contacted
    print(f"hostile corpus: {len(articles)} articles, {len(errors)} error rows, peak RSS {peak_mib:.0f} MiB")
    assert peak_mib < 1024, f"peak RSS {peak_mib:.0f} MiB"

    # the same job again into the same directory: row counts unchanged
    code, output, _ = run_pipeline(feeds, out)
    assert code == 0, output[-3000:]
    again = [duckdb.sql(f"select count(*) from read_parquet('{out}/{t}/**/*.parquet')").fetchall()[0][0]
             for t in ("articles", "errors")]
    assert again == [len(articles), len(errors)]


FEEDISH = st.one_of(
    st.binary(max_size=3000),
    st.builds(lambda head, body, tail: (head + body + tail).encode("utf-8", "surrogatepass"),
              st.sampled_from(["<?xml version='1.0'?><rss version='2.0'><channel>", "<feed xmlns='http://www.w3.org"
                               "/2005/Atom'>", "<rdf:RDF>", "<html><body>", ""]),
              st.text(max_size=1500),
              st.sampled_from(["</channel></rss>", "</feed>", "", "<item><link>http://x/a</link></item>"])),
)


@settings(max_examples=150, deadline=None)
@given(FEEDISH)
def test_feed_wrapper_never_raises(body):
    entries, kind, message = parse_feed(body, {}, "http://127.0.0.1/feed.xml")
    assert (kind is None) or (entries == [] and isinstance(message, str))
    for e in entries:
        assert e["feed_url"] == "http://127.0.0.1/feed.xml"


@pytest.fixture(scope="module")
def worker():
    w = ExtractionWorker(timeout=20)
    yield w
    w.close()


@settings(max_examples=25, deadline=None)
@given(st.one_of(st.binary(max_size=2000), st.text(max_size=2000).map(lambda t: f"<html><p>{t}</p></html>".encode(
    "utf-8", "surrogatepass"))))
def test_page_wrapper_returns_text_or_a_reason(worker, body):
    result = worker.run(body, None)
    assert ("text" in result and result["text"].strip()) or result.get("error") in (
        "no_text", "extraction_failed", "extraction_timeout")


def test_malformed_documents_end_as_articles_or_dead_letters(tmp_path):
    """bench/malformed.py's corpus, small, through `claimwire run --input` with the real models: runs of hyphens
    (RecursionError lost the article's claims and story signals), quote runs, a list with no full stop, a roster,
    numbers no float holds, control characters, empty or mistyped fields (a numeric 'url' stopped the whole run)
    and broken JSON lines. Every document is an article or an input_error row naming its line; an unreadable
    'published' is a date_unreadable row and the article is still written; the ordinary article keeps its claim."""
    import importlib.util
    import json

    from pipeline.cli import main
    from schemas import dataset
    spec = importlib.util.spec_from_file_location("bench_malformed", os.path.join(ROOT, "bench", "malformed.py"))
    malformed = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(malformed)
    src, out = tmp_path / "docs.jsonl", tmp_path / "out"
    lines = malformed.write_corpus(str(src), repeat=40)
    with open(src, "a", encoding="utf-8") as f:
        f.write(json.dumps({"id": "numeric-url", "url": 123, "text": malformed.GOOD}) + "\n")
        f.write(json.dumps({"id": "list-title", "title": ["a"], "text": malformed.GOOD}) + "\n")
        f.write(json.dumps({"id": "bad-date", "published": "yesterday", "text": malformed.GOOD}) + "\n")
    assert main(["run", "--input", str(src), "--output", str(out), "--quiet"]) == 0
    articles = {r["source_id"] for r in dataset.read_rows(str(out), "articles", ["source_id"])}
    assert articles == {"dash-rule", "quote-run", "table-no-stops", "roster", "huge-number", "overflow",
                        "control-chars", "good", "bad-date"}
    errors = dataset.read_rows(str(out), "errors", ["kind", "url", "message"])
    assert {e["kind"] for e in errors} == {"input_error", "date_unreadable"}, errors  # no claims/signals_failed
    (late,) = [e for e in errors if e["kind"] == "date_unreadable"]  # the article is written, undated
    assert late["url"].endswith(f":{lines + 3}") and "'yesterday'" in late["message"]
    errors = [e for e in errors if e["kind"] == "input_error"]
    by_line = {e["url"].rsplit(":", 1)[1]: e["message"] for e in errors}
    assert sorted(by_line, key=int) == ["1", "2", "10", "11", "12", str(lines + 1), str(lines + 2)]
    assert by_line["10"] == "wrong type: 'text' is dict, not str"
    assert by_line[str(lines + 1)] == "wrong type: 'url' is int, not str"
    assert by_line["11"].startswith("bad JSON")
    claims = dataset.read_rows(str(out), "claims", ["value", "unit", "claimant"])
    assert any(c["value"] == 20 and c["unit"] == "people" and (c["claimant"] or {}).get("canonical") == "John Smith"
               for c in claims)


def test_a_folder_of_broken_files_ends_as_articles_or_dead_letters(tmp_path):
    """A WARC record warcio cannot parse raised AttributeError and stopped the whole run; a binary file named
    .txt became an article of replacement characters. Each broken file is one input_error row with its reason,
    and what a file held before its fault (a truncated gzip's complete lines) is kept."""
    import gzip

    from pipeline.cli import main
    from schemas import dataset
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "bad.warc").write_bytes(b"WARC/1.0\r\nWARC-Type: response\r\nContent-Length: 99999\r\n\r\n"
                                    b"HTTP/1.1 200 OK\r\n")
    (docs / "binary.txt").write_bytes(bytes(range(256)) * 12)
    (docs / "empty.txt").write_text("")
    (docs / "good.txt").write_text("Flood kills 15\n\nThe mayor said 15 people died in the flood on Tuesday.")
    lines = b'{"id": "kept", "text": "Officials said 16 people died."}\n{"id": "cut", "text": "Officials said 17"}\n'
    (docs / "cut.jsonl.gz").write_bytes(gzip.compress(lines)[:-10])
    out = tmp_path / "out"
    assert main(["run", "--input", str(docs), "--output", str(out), "--quiet", "--no-ner"]) == 0
    articles = {r["source_id"] for r in dataset.read_rows(str(out), "articles", ["source_id"])}
    assert articles == {"good.txt", "kept"}
    errors = {os.path.basename(e["url"]): e["message"]
              for e in dataset.read_rows(str(out), "errors", ["kind", "url", "message"]) if e["kind"] == "input_error"}
    assert errors["bad.warc"].startswith("unreadable WARC: AttributeError")
    assert errors["binary.txt"] == "not text: a binary file named .txt"
    assert errors["empty.txt"] == "the document is empty"
    assert errors["cut.jsonl.gz"].startswith("EOFError")
