"""`claimwire run --follow` against a loopback feed that grows while it is polled: every item is written exactly
once, conditional GET spares unchanged feeds, and a SIGTERM mid-cycle loses nothing already written."""
import json
import os
import signal
import subprocess
import sys
import time

import duckdb
import pytest
from feed_server import GrowingFeed

from pipeline.cli import main

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
def q(sql):
    return duckdb.sql(sql).fetchall()


def written_ids(out):
    return q(f"select article_id, url from read_parquet('{out}/articles/**/*.parquet') order by url")


def follow_args(feed, out, *extra):
    return ["run", "--follow", "--feeds", feed.url, "--output", str(out), "--min-host-delay", "0",
            "--poll-interval", "0", *extra]


def test_follow_writes_each_growing_item_once(tmp_path):
    feed = GrowingFeed(count=2, grow_by=2)
    try:
        assert main(follow_args(feed, tmp_path, "--cycles", "3")) == 0
        # cycle 1 saw items 1-2, cycle 2 items 1-4, cycle 3 items 1-6: each page fetched once, written once
        rows = written_ids(tmp_path)
        assert sorted(int(u.rsplit("/", 1)[1].split(".")[0]) for _, u in rows) == [1, 2, 3, 4, 5, 6]
        assert len({i for i, _ in rows}) == 6
        assert feed.page_hits == {n: 1 for n in range(1, 7)}
        # each cycle committed as one run of the dataset: its own files, in the publication-date partitions
        files = sorted(p.name for p in (tmp_path / "articles").glob("published_date=*/run-*.parquet"))
        manifest = json.loads((tmp_path / "_manifest.json").read_text())
        assert manifest["sequence"] == 3 and len(manifest["runs"]) == 3
        assert {f.split("-part")[0].removeprefix("run-") for f in files} == set(manifest["runs"])
        claims = q(f"select count(*), count(distinct claim_id) from read_parquet('{tmp_path}/claims/**/*.parquet')")
        assert claims[0][0] == claims[0][1] > 0

        # a restart with an unchanged feed: conditional GET answers 304, nothing is added
        feed.grow_by = 0
        before = feed.not_modified
        assert main(follow_args(feed, tmp_path, "--cycles", "1")) == 0
        assert feed.not_modified == before + 1
        assert len(written_ids(tmp_path)) == 6
        state = q(f"select status, etag from read_parquet('{tmp_path}/state/feeds/*.parquet')")
        assert state == [("not_modified", '"6"')]

        # a server that ignores conditional requests: the body hash says nothing changed
        feed.conditional = False
        assert main(follow_args(feed, tmp_path, "--cycles", "1")) == 0
        assert q(f"select status from read_parquet('{tmp_path}/state/feeds/*.parquet')") == [("unchanged",)]
        feed.count = 7  # …until it really changes
        assert main(follow_args(feed, tmp_path, "--cycles", "1")) == 0
        assert len(written_ids(tmp_path)) == 7 and feed.page_hits[7] == 1 and feed.page_hits[6] == 1
        # a plain batch run into the same dataset fetches all 7 again and adds no row: the ids are committed
        assert main(["run", "--feeds", feed.url, "--output", str(tmp_path), "--min-host-delay", "0"]) == 0
        assert len(written_ids(tmp_path)) == 7
        # stories and story_claims are rebuilt over all cycles: the rows of one batch run over the same 7 items
        batch_out = tmp_path.parent / (tmp_path.name + "-batch")
        assert main(["run", "--feeds", feed.url, "--output", str(batch_out), "--min-host-delay", "0"]) == 0
        for table in ("stories", "story_claims"):
            assert os.listdir(tmp_path / table) == ["part-00000-of-00001.parquet"]
            followed = q(f"select * from read_parquet('{tmp_path}/{table}/**/*.parquet') order by 1")
            batch = q(f"select * from read_parquet('{batch_out}/{table}/**/*.parquet') order by 1")
            assert followed == batch and followed, table
    finally:
        feed.close()


def test_sigterm_mid_cycle_loses_nothing_and_the_next_start_resumes(tmp_path):
    feed = GrowingFeed(count=2)
    env = dict(os.environ, PYTHONPATH=ROOT)
    cmd = [sys.executable, "-m", "pipeline", *follow_args(feed, tmp_path, "--no-ner", "--cycles", "5")]
    try:
        # cycle 1 completes (items 1-2); then item 3 arrives, and its page hangs when cycle 2 fetches it
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        feed.slow_page, feed.slow_seconds = 3, 60.0
        deadline = time.time() + 240
        while not (tmp_path / "_manifest.json").exists():
            assert proc.poll() is None and time.time() < deadline, proc.stdout.read() if proc.poll() else ""
            time.sleep(0.2)
        with feed.lock:
            feed.count = 3
        assert feed.slow_started.wait(120), "cycle 2 never fetched item 3"
        proc.send_signal(signal.SIGTERM)
        output, _ = proc.communicate(timeout=60)
        assert proc.returncode == 0, output
        assert "stopped by SIGTERM" in output and "last committed cycle is 1" in output, output
        assert sorted(u for _, u in written_ids(tmp_path))[-1].endswith("/a/2.html")  # cycle 2 left nothing
        assert not (tmp_path / ".staging").exists()
        assert json.loads((tmp_path / "_manifest.json").read_text())["sequence"] == 1

        # the next start redoes cycle 2 and finds item 3, once
        feed.slow_page = None
        assert main(follow_args(feed, tmp_path, "--no-ner", "--cycles", "1")) == 0
        rows = written_ids(tmp_path)
        assert [u.rsplit("/", 1)[1] for _, u in rows] == ["1.html", "2.html", "3.html"]
        assert len({i for i, _ in rows}) == 3
        assert json.loads((tmp_path / "_manifest.json").read_text())["sequence"] == 2
    finally:
        feed.slow_seconds = 0
        feed.close()


@pytest.mark.parametrize("argv", [
    ["--follow", "--input", "x.jsonl"],
    ["--follow", "--feeds", "f", "--output", "gs://b/o"],
    ["--follow", "--feeds", "f", "--input", "x.jsonl"],
    ["--streaming", "--feeds", "f", "--input", "x.jsonl"],
    ["--streaming"],
])
def test_continuous_modes_reject_what_they_cannot_do(argv, tmp_path):
    args = ["run", *argv] + ([] if "--output" in argv else ["--output", str(tmp_path)])
    assert main(args) == 2


def test_failing_cycles_commit_nothing_and_the_loop_gives_up_after_three(tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["run", "--follow", "--feeds", str(tmp_path / "missing-feeds.txt"), "--output", str(out),
                 "--poll-interval", "0"]) == 1
    err = capsys.readouterr().err
    assert err.count("claimwire follow: cycle 1 failed") == 3 and "FileNotFoundError" in err
    assert not (out / "state" / "follow.json").exists() and not (out / ".staging").exists()
