"""The output directory as a dataset (schemas/dataset.py): runs over different archives add up, a re-run replaces
only itself, a killed run loses nothing committed, one writer at a time, and compaction keeps every row."""
import json
import os
import shutil
import signal
import subprocess
import sys
import time

import duckdb
import pytest

from pipeline.cli import main
from schemas import dataset

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SITE = os.path.join(ROOT, "samples", "site")
# archive A: seed A and two unrelated stories; archive B: seed B (the same event, another outlet) and two others
ARCHIVE_A = ["cnewslive/north-korean-soldiers-deployed-russia.html", "cnewslive/central-bank-holds-rates.html",
             "globalwire/wildfire-contained.html"]
ARCHIVE_B = ["timeswordle/3000-north-korean-troops-sent-russia.html", "timeswordle/election-turnout-record.html",
             "globalwire/chipmaker-profit-jumps.html"]
ARCHIVE_C = ["cnewslive/marathon-record-falls.html", "globalwire/zelensky-appeal-air-defence.html"]
TABLES = ("articles", "claims", "errors", "stories", "story_claims")
RUN_TIME_COLUMNS = {"articles": "fetched_at", "errors": "at"}


def archive(tmp_path, name, pages):
    folder = tmp_path / name
    folder.mkdir()
    for page in pages:
        shutil.copy(os.path.join(SITE, page), folder / page.replace("/", "__"))
    return str(folder)


def run(out, *inputs, extra=()):
    return main(["run", "--input", *inputs, "--output", str(out), *extra])


def rows(out, table):
    """Every committed row of a table (what a reader sees), run-time columns left out, in a stable order."""
    t = dataset.read_table(str(out), table)
    if t is None:
        return []
    drop = RUN_TIME_COLUMNS.get(table)
    if drop:
        t = t.drop_columns([drop])
    return sorted(t.to_pylist(), key=lambda r: json.dumps(r, sort_keys=True, default=str))


def snapshot(out):
    return {t: rows(out, t) for t in TABLES}


def glob_count(out, table):
    return duckdb.sql(f"select count(*), count(distinct {'article_id' if table == 'articles' else 'claim_id'}) "
                      f"from read_parquet('{out}/{table}/*/*.parquet', hive_partitioning = true)").fetchall()[0]


@pytest.fixture(scope="module")
def archives(tmp_path_factory):
    base = tmp_path_factory.mktemp("archives")
    return archive(base, "a", ARCHIVE_A), archive(base, "b", ARCHIVE_B)


@pytest.fixture(scope="module")
def a_then_b(archives, tmp_path_factory):
    """Archive A, then archive B, into one output; returns (output, snapshot after A, snapshot after A and B)."""
    out = tmp_path_factory.mktemp("a-then-b")
    assert run(out, archives[0]) == 0
    after_a = snapshot(out)
    assert run(out, archives[1]) == 0
    return out, after_a, snapshot(out)


def test_runs_over_two_archives_add_up(a_then_b):
    out, after_a, after_ab = a_then_b
    assert len(after_a["articles"]) == 3 and len(after_ab["articles"]) == 6
    a_ids = {r["article_id"] for r in after_a["articles"]}
    assert a_ids < {r["article_id"] for r in after_ab["articles"]}
    assert {r["claim_id"] for r in after_a["claims"]} < {r["claim_id"] for r in after_ab["claims"]}
    assert glob_count(out, "articles") == (6, 6)  # a plain Hive-partitioned glob sees the same, no duplicates
    manifest = json.loads((out / "_manifest.json").read_text())
    assert len(manifest["runs"]) == 2 and manifest["sequence"] == 2


def test_seed_writeups_from_two_archives_share_one_story_row(a_then_b):
    out, _, after_ab = a_then_b
    seeds = {r["source_id"]: r for r in after_ab["articles"] if "north-korean" in r["source_id"]}
    assert len(seeds) == 2, [r["source_id"] for r in after_ab["articles"]]
    story_ids = {r["story_id"] for r in seeds.values()}
    stories = [s for s in after_ab["stories"] if set(s["article_ids"]) & {r["article_id"] for r in seeds.values()}]
    assert len(stories) == 1, stories
    assert stories[0]["article_count"] == 2 and stories[0]["outlet_count"] == 2
    assert stories[0]["story_id"] in story_ids
    assert len(after_ab["stories"]) == 5  # the four unrelated articles stay stories of their own


def test_incremental_story_tables_equal_a_whole_rebuild(a_then_b, archives, tmp_path):
    """Each commit recomputes only the stories its articles left or joined; the result must be what rebuilding
    both tables over the whole dataset gives, after runs that add stories, join one across runs and overlap."""
    from transforms.stories import rebuild_story_tables
    out = tmp_path / "out"
    shutil.copytree(a_then_b[0], out)
    assert run(out, archive(tmp_path, "ab", ARCHIVE_A[:1] + ARCHIVE_B[:1] + ["cnewslive/marathon-record-falls.html"])) \
        == 0
    whole = rebuild_story_tables(str(out), dataset.load_manifest(str(out)), None)
    for table in ("stories", "story_claims"):
        expected = sorted(whole[table], key=lambda r: json.dumps(r, sort_keys=True, default=str))
        assert rows(out, table) == [dict(r, schema_version=r.get("schema_version") or f"{table}.v1")
                                    for r in expected] and expected, table


def test_rerunning_an_archive_changes_no_row(a_then_b, archives):
    out, _, after_ab = a_then_b
    files_before = sorted(str(p.relative_to(out)) for p in out.rglob("*.parquet"))
    assert run(out, archives[0]) == 0
    assert snapshot(out) == after_ab
    assert sorted(str(p.relative_to(out)) for p in out.rglob("*.parquet")) == files_before


def test_the_same_archive_under_a_new_claims_version_loses_no_earlier_row(a_then_b, archives, tmp_path,
                                                                          monkeypatch):
    """Re-running an input with a newer claims schema is another run: the earlier version's files and rows stay
    (a re-run of the same version replaces its own files; a new version must not, or its changed claim ids would
    drop the old rows)."""
    import dataclasses

    from schemas import CLAIMS
    out = tmp_path / "out"
    shutil.copytree(a_then_b[0], out)
    before = snapshot(out)
    files_before = {str(p.relative_to(out)) for p in out.rglob("run-*.parquet")}
    monkeypatch.setattr(dataset, "RUN_VERSIONED", (dataset.ARTICLES, dataclasses.replace(CLAIMS, version="claims.v9"),
                                                   dataset.ERRORS))
    # the new version's extractor gives other claim ids, as claims.v2's unit names did
    import claimcore.claims
    real_id = claimcore.claims.stable_id
    monkeypatch.setattr(claimcore.claims, "stable_id", lambda *parts, **kw: real_id("v9", *parts, **kw))
    assert run(out, archives[0]) == 0
    assert files_before <= {str(p.relative_to(out)) for p in out.rglob("run-*.parquet")}
    after = snapshot(out)
    for table in ("articles", "claims", "errors"):
        assert all(r in after[table] for r in before[table]), table
    assert len(json.load(open(out / "_manifest.json"))["runs"]) == 3


def test_story_claims_count_each_article_under_its_newest_claims_version():
    from transforms.stories import newest_claims
    claims = [{"article_id": "a", "claim_id": "1", "schema_version": "claims.v1"},
              {"article_id": "a", "claim_id": "2", "schema_version": "claims.v2"},
              {"article_id": "b", "claim_id": "3", "schema_version": "claims.v1"}]
    assert [c["claim_id"] for c in newest_claims(claims)] == ["2", "3"]


def test_an_archive_overlapping_committed_rows_adds_only_what_is_new(a_then_b, archives, tmp_path):
    out = tmp_path / "out"
    shutil.copytree(a_then_b[0], out)
    both = archive(tmp_path, "ab", ARCHIVE_A[:1] + ARCHIVE_B[:1] + ["cnewslive/marathon-record-falls.html"])
    assert run(out, both) == 0
    after = snapshot(out)
    assert len(after["articles"]) == 7 and len({r["article_id"] for r in after["articles"]}) == 7
    assert glob_count(out, "articles") == (7, 7) and glob_count(out, "claims")[0] == glob_count(out, "claims")[1]


def test_a_damaged_committed_file_stops_the_next_run_by_name_and_moving_it_aside_goes_on(a_then_b, archives,
                                                                                         tmp_path, capsys):
    """A committed Parquet file cut short (a full disk, a bad copy) failed every later run with pyarrow's 'magic
    bytes not found' and no file name; once moved aside, the next run still failed on the manifest's listing.
    Now the run names the file and stops before writing, and without it the next run commits and keeps the rest."""
    out = tmp_path / "out"
    shutil.copytree(a_then_b[0], out)
    damaged = sorted((out / "articles").rglob("*.parquet"))[0]
    damaged.write_bytes(damaged.read_bytes()[:300])
    committed = lambda: {p: p.read_bytes() for p in out.rglob("*.parquet") if ".staging" not in p.parts}  # noqa: E731
    before = committed()
    assert run(out, archive(tmp_path, "c", ARCHIVE_C)) == 1
    err = capsys.readouterr().err
    assert "DatasetCorrupt" in err and str(damaged) in err and "move it out" in err
    assert committed() == before  # nothing committed, nothing removed
    damaged.rename(tmp_path / "aside.parquet")
    kept = {r["article_id"] for r in rows(out, "articles")}
    assert run(out, str(tmp_path / "c")) == 0
    after = {r["article_id"] for r in rows(out, "articles")}
    assert kept < after and len(after - kept) == len(ARCHIVE_C), after - kept


def test_a_second_writer_is_refused(archives, tmp_path, capsys):
    out = tmp_path / "out"
    with dataset.writer_lock(str(out)):
        assert run(out, archives[0]) == 2
    err = capsys.readouterr().err
    assert "being written by another claimwire process" in err and f"pid {os.getpid()}" in err
    assert not list(out.rglob("*.parquet"))
    assert run(out, archives[0]) == 0  # the lock went with its holder


def test_two_concurrent_processes_the_second_refuses(archives, tmp_path):
    """Two real processes: the first is held mid-run by a page that answers slowly; the second, into the same
    output, stops at once with a one-line reason; the first then completes."""
    from feed_server import GrowingFeed
    feed = GrowingFeed(count=2)
    feed.slow_page, feed.slow_seconds = 2, 10.0
    out = tmp_path / "out"
    env = dict(os.environ, PYTHONPATH=ROOT)
    first = subprocess.Popen([sys.executable, "-m", "pipeline", "run", "--feeds", feed.url, "--output", str(out),
                              "--min-host-delay", "0", "--no-ner"],
                             env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        assert feed.slow_started.wait(120), "the first run never fetched the slow page"
        second = subprocess.run([sys.executable, "-m", "pipeline", "run", "--input", archives[0], "--output",
                                 str(out)], env=env, capture_output=True, text=True, timeout=120)
        assert feed.slow_started.is_set() and first.poll() is None  # the first was still running
        assert second.returncode == 2 and "being written by another claimwire process" in second.stderr
        assert "Traceback" not in second.stderr
        output, _ = first.communicate(timeout=300)
    finally:
        feed.close()
    assert first.returncode == 0, output
    assert len(rows(out, "articles")) == 2


def test_sigkill_mid_run_loses_nothing_and_the_next_run_completes(a_then_b, archives, tmp_path):
    out = tmp_path / "out"
    shutil.copytree(a_then_b[0], out)
    before = snapshot(out)
    third = archive(tmp_path, "c", ARCHIVE_C)
    env = dict(os.environ, PYTHONPATH=ROOT)
    proc = subprocess.Popen([sys.executable, "-m", "pipeline", "run", "--input", third, "--output", str(out)],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    while not list((out / dataset.STAGING).glob("*/articles")):  # the run is writing its files
        assert proc.poll() is None and time.time() < deadline
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    assert snapshot(out) == before  # committed rows intact, nothing of the killed run visible
    assert glob_count(out, "articles") == (6, 6)
    assert run(out, third) == 0  # the next run cleans up and completes
    after = snapshot(out)
    assert len(after["articles"]) == 8 and len({r["article_id"] for r in after["articles"]}) == 8
    assert not (out / dataset.STAGING).exists() and not (out / dataset.JOURNAL).exists()


def test_a_commit_killed_halfway_is_rolled_forward(a_then_b, archives, tmp_path, monkeypatch):
    """The moves of a commit are not one atomic step: a process dying between them leaves the journal, and the
    next start finishes the commit (here the crash is a raise after the first file moved)."""
    clean = tmp_path / "clean"
    shutil.copytree(a_then_b[0], clean)
    third = archive(tmp_path, "c", ARCHIVE_C)
    assert run(clean, third) == 0
    expected = snapshot(clean)

    out = tmp_path / "out"
    shutil.copytree(a_then_b[0], out)
    real_move, moved = dataset._move, []

    class Killed(BaseException):
        """Like a SIGKILL: nothing in claimwire handles it."""

    def crash_after_one(src, dst):
        if moved:
            raise Killed("killed mid-commit")
        moved.append(dst)
        real_move(src, dst)

    monkeypatch.setattr(dataset, "_move", crash_after_one)
    with pytest.raises(Killed):
        run(out, third)
    monkeypatch.setattr(dataset, "_move", real_move)
    assert (out / dataset.JOURNAL).exists() and moved
    assert run(out, archives[0]) == 0  # any next run first finishes the interrupted commit
    assert snapshot(out) == expected


def test_compact_keeps_every_row_and_id(a_then_b, archives, tmp_path, capsys):
    out = tmp_path / "out"
    shutil.copytree(a_then_b[0], out)
    third = archive(tmp_path, "c", ARCHIVE_C)
    assert run(out, third, extra=["--num-shards", "2"]) == 0
    before = snapshot(out)
    files_before = {t: len(dataset.committed_files(str(out), t)) for t in ("articles", "claims", "errors")}
    capsys.readouterr()
    assert main(["compact", str(out)]) == 0
    assert f"articles {files_before['articles']} → " in capsys.readouterr().out
    assert snapshot(out) == before
    files_after = {t: len(dataset.committed_files(str(out), t)) for t in ("articles", "claims", "errors")}
    assert files_after["articles"] < files_before["articles"] and files_after["claims"] < files_before["claims"]
    partitions = {os.path.dirname(p) for p in dataset.committed_files(str(out), "articles")}
    assert len(partitions) == files_after["articles"]  # one file per partition
    assert glob_count(out, "articles") == (8, 8)
    # idempotent, and a re-run of a compacted input adds nothing
    assert main(["compact", str(out)]) == 0 and "nothing to merge" in capsys.readouterr().out
    assert run(out, archives[0]) == 0
    assert snapshot(out) == before


def test_undated_articles_have_their_own_partition(tmp_path, spark):
    src = tmp_path / "in.jsonl"
    src.write_text(json.dumps({"id": "undated-1", "text": "The ministry said 40 people were hurt. " * 5}) + "\n"
                   + json.dumps({"id": "dated-1", "text": "Officials said 12 bridges closed. " * 5,
                                 "published": "2024-10-18T09:00:00Z"}) + "\n")
    out = tmp_path / "out"
    assert run(out, str(src), extra=["--no-ner"]) == 0
    got = duckdb.sql(f"select published_date, source_id from read_parquet('{out}/articles/*/*.parquet', "
                     "hive_partitioning = true) order by 2").fetchall()
    assert [(str(d) if d else None, s) for d, s in got] == [("2024-10-18", "dated-1"), (None, "undated-1")]
    assert (out / "articles" / f"published_date={dataset.UNDATED}").is_dir()
    # Spark reads the undated partition as a null date too (docs/schema.md)
    rows = spark.read.parquet(f"{out}/articles").select("published_date", "source_id").collect()
    assert sorted(((str(r[0]) if r[0] else None, r[1]) for r in rows), key=lambda r: r[1]) == [
        ("2024-10-18", "dated-1"), (None, "undated-1")]


def test_a_text_folder_gives_titles_and_dates_from_file_names(tmp_path):
    """A .txt file's first line is its title when it reads as a headline; a date in the file's name dates it
    (date_source 'file'), before the text's own dateline; a name without one leaves the dateline to date it."""
    pages = tmp_path / "pages"
    pages.mkdir()
    body = "Officials said 40 people were hurt in the fire on Monday. Crews worked through the night.\n"
    (pages / "nyt_2016-09-30_fire-toll.txt").write_text("Fire toll rises to 40\n\n" + body)
    (pages / "wire-story.txt").write_text("SEOUL, Oct. 17, 2024 (Reuters) - " + body)
    (pages / "story_2024-10-18.txt").write_text("Flood waters recede.\n\n" + body)  # a paragraph of its own
    (pages / "notes_20991231.txt").write_text(body)  # a date in the future is no publication date
    out = tmp_path / "out"
    assert run(out, str(pages), extra=["--no-ner"]) == 0
    got = duckdb.sql(f"select source_id, title, cast(published_at as date), date_source from read_parquet("
                     f"'{out}/articles/*/*.parquet') order by 1").fetchall()
    assert [(s, t, str(d) if d else None, ds) for s, t, d, ds in got] == [
        ("notes_20991231.txt", None, None, None),
        ("nyt_2016-09-30_fire-toll.txt", "Fire toll rises to 40", "2016-09-30", "file"),
        ("story_2024-10-18.txt", "Flood waters recede.", "2024-10-18", "file"),
        ("wire-story.txt", None, "2024-10-17", "text")]


def test_a_run_that_finds_nothing_still_leaves_readable_tables(tmp_path):
    src = tmp_path / "in.jsonl"
    src.write_text("not json\n")
    out = tmp_path / "out"
    assert run(out, str(src), extra=["--no-ner"]) == 0
    assert duckdb.sql(f"select count(*) from read_parquet('{out}/articles/*/*.parquet')").fetchall() == [(0,)]
    assert duckdb.sql(f"select kind from read_parquet('{out}/errors/*.parquet')").fetchall() == [("input_error",)]


def test_an_object_store_output_commits_by_manifest(archives):
    """memfs:// (tests/memfs.py) behaves like gs:// or s3://: no directories, rename is copy + delete. Runs over
    two archives add up, the manifest lists exactly what readers read, and a re-run changes nothing."""
    import memfs
    out = "memfs://bucket/claimwire-out"
    assert run(out, archives[0], extra=["--no-ner"]) == 0
    assert run(out, archives[1], extra=["--no-ner"]) == 0
    first = snapshot(out)
    assert len(first["articles"]) == 6
    seeds = [r["article_id"] for r in first["articles"] if "north-korean" in r["source_id"]]
    assert [s["article_count"] for s in first["stories"] if set(seeds) & set(s["article_ids"])] == [2]
    manifest = dataset.load_manifest(out)
    listed = sorted(f for run_ in manifest["runs"].values() for files in run_["files"].values() for f in files)
    assert listed and all(f"{out}/{f}" in memfs.OBJECTS for f in listed)
    assert any("/published_date=" in f for f in listed)
    assert not [k for k in memfs.OBJECTS if dataset.STAGING in k or k.endswith(dataset.JOURNAL)]
    assert memfs.RENAMES  # the commit moved files with the store's (non-atomic) rename
    assert run(out, archives[0], extra=["--no-ner"]) == 0
    assert snapshot(out) == first


def test_story_index_partitions_are_30_day_blocks_named_by_their_first_day():
    import datetime as dt

    from claimcore.story_grouping import StoryParams, index_reach
    from transforms.stories import index_partitions_reached

    def at(day):
        return dt.datetime.fromisoformat(day).replace(tzinfo=dt.timezone.utc).timestamp()
    assert dataset.index_partition(at("2024-10-24")) == "published_block=2024-10-14"
    assert dataset.index_partition(at("2024-10-14")) == "published_block=2024-10-14"  # a block's first day
    assert dataset.index_partition(at("2024-10-13") + 86399) == "published_block=2024-09-14"
    assert dataset.index_partition(None) == "published_block=__HIVE_DEFAULT_PARTITION__"
    assert dataset.index_partitions_within(at("2024-10-14"), at("2024-11-13")) == ["published_block=2024-10-14"]
    assert dataset.index_partitions_within(at("2024-10-01"), at("2024-11-14")) == [
        "published_block=2024-09-14", "published_block=2024-10-14", "published_block=2024-11-13"]
    # a run with one article on 24 Oct 2024 reads five dated blocks (two thread windows either side) and the
    # undated one; an undated article reads them all (None)
    p = StoryParams()
    reached = index_partitions_reached(set(index_reach({"published": at("2024-10-24")}, p)), p.thread_window_days)
    assert reached == ["", "published_block=2024-08-15", "published_block=2024-09-14", "published_block=2024-10-14",
                       "published_block=2024-11-13", "published_block=2024-12-13",
                       "published_block=__HIVE_DEFAULT_PARTITION__"]
    assert index_partitions_reached({"all", 5}, p.thread_window_days) is None
