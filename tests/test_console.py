"""What a person sees in the terminal: no third-party noise, a progress line, --quiet, one-sentence fatal errors,
and input files read the way a person means them (a JSON Feed file is a feed; a bad line in a list is skipped)."""
import json
import os
import subprocess
import sys

import duckdb
import pytest

from claimcore.components import stamp
from pipeline.cli import main
from transforms.feeds import feed_sources, parse_feed

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NOISE = ("apitools not found", "Loading weights", "SetuptoolsDeprecationWarning", "Traceback")


def claimwire(*args, timeout=300):
    env = dict(os.environ, PYTHONPATH=ROOT)
    return subprocess.run([sys.executable, "-m", "pipeline", *args], env=env, capture_output=True, text=True,
                          timeout=timeout)


def test_help_and_a_run_print_no_third_party_noise(sample_feeds, tmp_path):
    helped = claimwire("--help")
    assert helped.returncode == 0 and "claimwire run" in helped.stdout
    ran = claimwire("run", "--feeds", sample_feeds, "--output", str(tmp_path), "--min-host-delay", "0")
    assert ran.returncode == 0, ran.stderr[-3000:]
    for out in (helped, ran):
        for noise in NOISE:
            assert noise not in out.stdout + out.stderr, (noise, (out.stdout + out.stderr)[-3000:])
    assert "claimwire run finished" in ran.stdout and "articles" in ran.stdout
    # the progress line (not a terminal here: a line every 2 s at most) counts articles and a rate
    progress = [ln for ln in ran.stderr.splitlines() if ln.startswith("claimwire: fetched")]
    assert all("extracted" in ln and "tagged" in ln and "articles/s" in ln for ln in progress)


def test_quiet_prints_one_line(sample_feeds, tmp_path):
    ran = claimwire("run", "--feeds", sample_feeds, "--output", str(tmp_path), "--min-host-delay", "0",
                    "--no-ner", "--quiet")
    assert ran.returncode == 0, ran.stderr[-3000:]
    assert ran.stdout.strip().splitlines() == [f"claimwire run: 14 articles, 2 errors in {tmp_path}"]
    assert "claimwire: fetched" not in ran.stderr


def test_a_fatal_cli_error_is_one_sentence(tmp_path):
    done = claimwire("run", "--feeds", str(tmp_path / "missing.txt"), "--output", str(tmp_path / "out"))
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        f"claimwire run: --feeds: {tmp_path / 'missing.txt'} is neither an http(s) URL nor a file"]


@pytest.mark.parametrize("args,message", [
    (["--since", "2024-13-45"], "--since: '2024-13-45' is not a date (YYYY-MM-DD)"),
    (["--story-window-days", "-1"], "--story-window-days: must be more than 0 (got -1)"),
    (["--ner-model", "./no-such-model"], "--ner-model: ./no-such-model is no model directory"),
    (["--attribution-model", "claimwire-attribution-v9"], "--attribution-model: claimwire-attribution-v9 is no model"),
])
def test_a_bad_option_is_refused_before_any_work(tmp_path, capsys, args, message):
    """A bad date or model path failed minutes into the job, inside a worker, with a library's message (a model
    path was taken for a hub id); now the run stops at once with exit 2 and the option's name."""
    docs = tmp_path / "docs.jsonl"
    docs.write_text(json.dumps({"id": "a", "text": "Officials said 5 people died."}) + "\n")
    assert main(["run", "--input", str(docs), "--output", str(tmp_path / "out"), *args]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"claimwire run: {message}"), err
    assert not (tmp_path / "out" / "articles").exists()


JSON_FEED = {"version": "https://jsonfeed.org/version/1.1", "title": "Wire",
             "items": [{"id": "a1", "url": "https://news.example/a1", "title": "First",
                        "date_published": "2024-10-21T08:00:00Z"},
                       {"id": "a2", "url": "/a2", "title": "Second"}]}


def test_a_local_json_feed_is_a_feed_not_a_list(tmp_path):
    path = tmp_path / "feed.json"
    path.write_text(json.dumps(JSON_FEED))
    (source,) = feed_sources([str(path)])
    assert source["feed_url"] == str(path) and source["content"] == path.read_bytes()
    entries, kind, _ = parse_feed(path.read_bytes(), {}, "https://news.example/feed.json")
    assert kind is None and [e["url"] for e in entries] == ["https://news.example/a1", "https://news.example/a2"]
    assert entries[0]["published"].isoformat() == "2024-10-21T08:00:00+00:00"
    # a whole run over it: no traceback; its entries are fetched under the address policy like any feed's
    ran = claimwire("run", "--feeds", str(path), "--output", str(tmp_path / "out"), "--no-ner", "--retries", "0",
                    "--connect-timeout", "1", "--total-timeout", "2")
    assert ran.returncode == 0 and "Traceback" not in ran.stderr, ran.stderr[-3000:]
    kinds = duckdb.sql(f"select stage from read_parquet('{tmp_path}/out/errors/*.parquet')").fetchall()
    assert kinds and all(k == ("fetch_articles",) for k in kinds)  # no feed error: the file was read as a feed


def test_a_bad_line_in_a_feed_list_is_reported_and_skipped(sample_feeds, tmp_path):
    good = open(sample_feeds).read().splitlines()
    listing = tmp_path / "feeds.txt"
    listing.write_text("# my feeds\n" + good[0] + "\nnot a feed at all\n" + "\n".join(good[1:]) + "\n")
    out = tmp_path / "out"
    assert main(["run", "--feeds", str(listing), "--output", str(out), "--min-host-delay", "0", "--no-ner",
                 "--no-dedup", "--no-claims"]) == 0
    errors = duckdb.sql(f"select stage, kind, url, message from read_parquet('{out}/errors/*.parquet') "
                        "where stage = 'read_feeds'").fetchall()
    assert errors == [("read_feeds", "input_error", f"{listing}:3",
                       "'not a feed at all' is neither an http(s) URL nor a file; line skipped")]
    articles = duckdb.sql(f"select count(*) from read_parquet('{out}/articles/*/*.parquet')").fetchall()
    assert articles == [(14,)]  # every good line still read


def test_claims_from_files_without_an_outlet_say_so(tmp_path):
    """A folder of .txt files has no URL, so no outlet: the summary and the report say 'outlet unknown', not
    '0 outlets'."""
    pages = tmp_path / "pages"
    pages.mkdir()
    for i in range(2):
        (pages / f"{i}.txt").write_text("Flood toll rises\nOfficials said 40 people died in the floods on Monday. "
                                       "Rescue teams searched the valley for survivors through the night.\n")
    # also: a deprecated option is still accepted for one release, and says that it does nothing
    ran = claimwire("run", "--input", str(pages), "--output", str(tmp_path / "out"), "--no-ner", "--ner-batch-size", "8")
    assert ran.returncode == 0, ran.stderr[-3000:]
    assert "--ner-batch-size is deprecated and does nothing" in ran.stderr
    # the versions that made the rows: claims.extractor and the run's components, from claimcore/components.py
    extractors = duckdb.sql(f"select distinct extractor from read_parquet('{tmp_path}/out/claims/*/*.parquet')")
    assert extractors.fetchall() == [(stamp("claims"),)]
    manifest = json.load(open(tmp_path / "out" / "_manifest.json", encoding="utf-8"))
    (run,) = manifest["runs"].values()
    assert run["components"] == {"extractor": stamp("extractor"), "language": stamp("language"),
                                 "figures": stamp("figures"),
                                 "claims": stamp("claims"), "stories": stamp("stories"),
                                 "embedder": stamp("embedder") + " (claimwire-embed-v1)"}
    lines = ran.stdout.split("top corroborated claims", 1)[1].splitlines()
    assert any("40 people" in ln and "outlet unknown" in ln for ln in lines), ran.stdout[-2000:]
    assert not any("0 outlets" in ln for ln in lines)
    reported = claimwire("report", str(tmp_path / "out"))
    assert reported.returncode == 0, reported.stderr[-3000:]
    page = open(tmp_path / "out" / "report" / "index.html", encoding="utf-8").read()
    assert "outlet unknown" in page and "0 outlets" not in page



def test_the_progress_line_waits_for_a_rate_worth_reading(monkeypatch, capsys):
    """The first article of a process printed a line at once with '1000.0 articles/s' (one article over the 1 ms
    floor); every Dask worker showed it. The first line now comes after a full interval, with the rate since."""
    from transforms.common import Progress
    clock = [100.0]
    monkeypatch.setattr("transforms.common.time.monotonic", lambda: clock[0])
    monkeypatch.setattr(Progress, "enabled", True)
    Progress.finish()
    Progress.tick("extract.out")
    assert capsys.readouterr().err == "" and Progress.line().endswith("errors 0")
    clock[0] += Progress.every
    Progress.tick("extract.out")
    line = "claimwire: fetched 0 · extracted 2 · tagged 0 · errors 0 · 1.0 articles/s"
    assert capsys.readouterr().err.strip() == line
    Progress.finish()
