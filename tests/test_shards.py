"""`claimwire run --input` in shards (pipeline/shards.py, claimcore/archives.py): the cut of JSONL and WARC files
into pieces reads every document once; a sharded run gives the stories, threads and story claims of a one-shard
run; a killed run, started again, gives exactly the rows of an uninterrupted one and runs only the shards that
were not committed; a shard committed under other components or options runs again."""
import gzip
import io
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time

import apache_beam as beam
import pytest
from apache_beam.options.pipeline_options import PipelineOptions
from apache_beam.testing.test_pipeline import TestPipeline
from apache_beam.testing.util import assert_that, equal_to
from determinism_corpus import corpus, write_corpus

from claimcore.archives import Piece, plan_shards
from pipeline.cli import main
from schemas import dataset
from transforms.common import Progress
from transforms.documents import ReadDocuments

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def options():
    return PipelineOptions(["--runner=DirectRunner"])


def _warc(path, n, gz):
    from warcio.statusandheaders import StatusAndHeaders
    from warcio.warcwriter import WARCWriter
    with open(path, "wb") as f:
        w = WARCWriter(f, gzip=gz)
        w.write_record(w.create_warcinfo_record(os.path.basename(path), {"software": "test"}))
        for i in range(n):
            html = f"<html><head><title>Story {i}</title></head><body><p>Body {i}.</p></body></html>".encode()
            headers = StatusAndHeaders("200 OK", [("Content-Type", "text/html")], protocol="HTTP/1.1")
            w.write_record(w.create_warc_record(f"https://x.example/{i}", "response", payload=io.BytesIO(html),
                                                http_headers=headers))
            if i % 7 == 0:  # a request record between responses: not a document, never a shard's boundary
                w.write_record(w.create_warc_record(f"https://x.example/{i}", "request",
                                                    payload=io.BytesIO(b"GET / HTTP/1.1\r\n\r\n")))


def test_jsonl_and_warc_files_are_cut_into_pieces_that_read_every_document_once(tmp_path):
    docs = tmp_path / "in"
    docs.mkdir()
    lines = [json.dumps({"id": f"d{i}", "text": f"Document {i} about {i} ships."}) for i in range(25)]
    lines.insert(12, "")  # a blank line is no document
    lines.insert(17, "{not json")  # a bad line: its dead letter keeps its line number (18) in every piece
    (docs / "a.jsonl").write_text("\n".join(lines) + "\n")
    with gzip.open(docs / "b.jsonl.gz", "wt") as f:
        f.write("\n".join(lines[:11]) + "\n")
    _warc(str(docs / "c.warc"), 23, gz=False)
    _warc(str(docs / "d.warc.gz"), 23, gz=True)
    for i in range(3):
        (docs / f"page{i}.txt").write_text(f"Text file {i} about {i} trains.")

    shards = plan_shards([str(docs)], shard_size=10)
    by_file = {}
    for s in shards:
        assert s.documents <= 10
        for piece in s.pieces:
            by_file.setdefault(os.path.basename(piece.path), []).append(piece)
    assert [len(by_file[n]) for n in ("a.jsonl", "b.jsonl.gz", "c.warc", "d.warc.gz")] == [3, 2, 3, 3]
    assert [p.first_line for p in by_file["a.jsonl"]] == [1, 11, 22]
    assert len([s for s in shards if any(p.path.endswith(".txt") for p in s.pieces)]) == 1  # small files packed

    whole = [f"d{i}" for i in range(25)] + ["error:18"] + [f"d{i}" for i in range(11)] + \
        [f"https://x.example/{i}" for i in range(23)] * 2 + [f"page{i}.txt" for i in range(3)]
    with TestPipeline(options=options()) as p:
        out = p | ReadDocuments(pieces=[piece for s in shards for piece in s.pieces])
        ids = ((out.articles | "A" >> beam.Map(lambda a: a["source_id"] or a["url"]),
                # a page's payload is read whole, whichever piece it is in
                out.pages | "P" >> beam.Map(lambda pg: (pg["source_id"] or pg["url"]) if pg["body"].endswith(
                    b"</html>") else "empty payload"),
                out.errors | "E" >> beam.Map(lambda e: "error:" + e["url"].rsplit(":", 1)[-1]))
               | beam.Flatten())
        assert_that(ids, equal_to(whole))

    # a shard is known by its documents, not its path: the same files elsewhere give the same digests
    moved = tmp_path / "elsewhere"
    shutil.copytree(docs, moved)
    assert [s.digest for s in plan_shards([str(moved)], 10)] == [s.digest for s in shards]
    (moved / "a.jsonl").write_text("\n".join(lines[:-1]) + "\n")  # one document less changes that file's last shard
    changed = {s.digest for s in plan_shards([str(moved)], 10)} ^ {s.digest for s in shards}
    assert len(changed) == 2


def _rows(out, table, drop=()):
    t = dataset.read_table(str(out), table)
    assert t is not None, table
    t = t.drop_columns([c for c in ("fetched_at", "at", *drop) if c in t.column_names])
    key = dataset.ALL_TABLES[table].key
    return sorted(t.to_pylist(), key=lambda r: r[key])


def _groups(out):
    """Stories and threads as sets of articles, story claims by their story's articles: what a reader counts on,
    whatever ids the groups carry."""
    stories = _rows(out, "stories")
    members = {s["story_id"]: tuple(sorted(s["article_ids"])) for s in stories}
    index = _rows(out, "state/story_index")
    threads = {}
    for r in index:
        threads.setdefault(r["thread_id"], set()).add(r["article_id"])
    claims = sorted(((members[r["story_id"]], r["value"], r["unit_family"], r["subject"], r["outlet_count"],
                      r["article_count"], r["claim_count"], tuple(r["claimants"]), r["conflict"])
                     for r in _rows(out, "story_claims")), key=repr)
    return sorted(members.values()), sorted(tuple(sorted(v)) for v in threads.values()), claims


def test_a_sharded_run_gives_the_stories_threads_and_corroboration_of_one_run(tmp_path):
    """Four shards of about 25 articles against one run over the generated corpus (20 events, rewrites by several
    outlets, shared actors and figures). Shard by shard, each run re-resolves the stories its articles meet with the
    story index of the earlier shards. This failed before carried_ids: a story an early shard made of two events
    (from its part of the input) was split again by the later, fuller view, but both parts kept its id, so one
    stories row and one corroboration count covered two events."""
    data = tmp_path / "corpus.jsonl"
    write_corpus(str(data))
    common = ["run", "--input", str(data), "--no-ner", "--quiet"]
    assert main([*common, "--output", str(tmp_path / "one")]) == 0
    assert main([*common, "--output", str(tmp_path / "sharded"), "--shard-size", "25"]) == 0
    assert len(dataset.load_manifest(str(tmp_path / "sharded"))["shards"]) == 4
    one, sharded = _groups(tmp_path / "one"), _groups(tmp_path / "sharded")
    assert 5 <= len(one[0]) < 98 and len(one[1]) >= 2 and len(one[2]) > 20
    assert sharded[0] == one[0], "stories differ"
    assert sharded[1] == one[1], "threads differ"
    assert sharded[2] == one[2], "story claims differ"
    # the articles and claims themselves are the same rows (story ids aside: an article keeps the id it was
    # written with, and the stories table follows the index)
    for table in ("articles", "claims"):
        assert _rows(tmp_path / "sharded", table, ("story_id", "thread_id")) == \
            _rows(tmp_path / "one", table, ("story_id", "thread_id")), table


def _command(data, out, *extra):
    return [sys.executable, "-m", "pipeline", "run", "--input", str(data), "--output", str(out), "--no-ner",
            "--no-claims", "--shard-size", "30", *extra]


def test_a_killed_sharded_run_started_again_gives_the_rows_of_an_uninterrupted_one(tmp_path):
    """SIGKILL once the first shards are committed; the same command again skips them, runs the rest (at most
    the shard in flight is run twice) and ends with exactly the rows of an uninterrupted run."""
    docs = corpus() + [dict(d, id=d["id"] + "-b", url=d["url"] + "-b", text=d["text"] + " A later edition.")
                       for d in corpus(seed=11)]
    data = tmp_path / "archive.jsonl"
    data.write_text("".join(json.dumps(d) + "\n" for d in docs))
    total = len(plan_shards([str(data)], 30))
    assert total >= 6
    env = dict(os.environ, PYTHONPATH=ROOT)
    subprocess.run(_command(data, tmp_path / "whole", "--quiet"), check=True, cwd=ROOT, env=env, timeout=600)

    killed = tmp_path / "killed"
    proc = subprocess.Popen(_command(data, killed, "--quiet"), cwd=ROOT, env=env, start_new_session=True)
    deadline = time.monotonic() + 300
    committed = 0
    while time.monotonic() < deadline and proc.poll() is None:
        committed = len(dataset.committed_shards(str(killed)))
        if committed >= 2:
            break
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    committed = len(dataset.committed_shards(str(killed)))
    assert 2 <= committed < total, f"the kill came too late to test a resume ({committed} of {total} shards)"

    again = subprocess.run(_command(data, killed), capture_output=True, text=True, cwd=ROOT, env=env, timeout=600)
    assert again.returncode == 0, again.stderr[-2000:]
    ran = re.search(r"shards: (\d+) of at most 30 documents: (\d+) run.*?(\d+) already committed", again.stdout)
    assert ran, again.stdout[:500]
    assert (int(ran[1]), int(ran[2]), int(ran[3])) == (total, total - committed, committed)
    for table in ("articles", "errors", "stories", "state/story_index"):
        assert _rows(killed, table) == _rows(tmp_path / "whole", table), table
    assert len(dataset.committed_shards(str(killed))) == total


def test_the_same_command_skips_what_is_committed_and_other_options_run_again(tmp_path):
    data = tmp_path / "docs.jsonl"
    data.write_text("".join(json.dumps(d) + "\n" for d in corpus()[:40]))
    out = str(tmp_path / "out")
    args = ["run", "--input", str(data), "--output", out, "--no-ner", "--no-dedup", "--quiet", "--shard-size", "15"]
    assert main(args) == 0
    first = dataset.load_manifest(out)
    assert len(first["shards"]) == 3
    assert main(args) == 0  # nothing to do: no commit
    assert dataset.load_manifest(out)["sequence"] == first["sequence"]
    assert main([*args, "--since", "2024-10-01"]) == 0  # another filter decides other rows: all shards run again
    assert dataset.load_manifest(out)["sequence"] == first["sequence"] + 3
    assert main([*args, "--reprocess"]) == 0
    assert dataset.load_manifest(out)["sequence"] == first["sequence"] + 6
    rows = _rows(out, "articles")
    assert len(rows) == len({r["article_id"] for r in rows}) == 40


def test_the_progress_line_of_a_sharded_command_tells_shards_rate_and_eta(monkeypatch):
    now = time.monotonic()
    monkeypatch.setattr(Progress, "command", {"shard": 3, "shards": 8, "documents": 2000, "total": 8000,
                                              "started": now - 100, "finished": now - 20})
    monkeypatch.setattr(Progress, "_counts", {"read_documents.out": 1000, "extract.out": 500})
    line = Progress.line()
    assert line.startswith("claimwire: shard 3/8 · fetched 1000 · extracted 500")
    rate = float(re.search(r"([\d.]+) documents/s", line)[1])
    assert 24 < rate < 26  # 2,000 documents in the 80 s the first two shards took
    eta = re.search(r"ETA (\d+)m(\d\d)s", line)
    assert eta and 215 <= int(eta[1]) * 60 + int(eta[2]) <= 221  # 6,000 left at 25/s, 20 s of them under way


def test_a_piece_of_a_warc_starts_at_its_record(tmp_path):
    path = tmp_path / "x.warc.gz"
    _warc(str(path), 12, gz=True)
    shards = plan_shards([str(path)], 5)
    assert [s.documents for s in shards] == [5, 5, 2]
    second = shards[1].pieces[0]
    assert isinstance(second, Piece) and second.start > 0
    with TestPipeline(options=options()) as p:
        pages = (p | ReadDocuments(pieces=[second])).pages
        assert_that(pages | beam.Map(lambda pg: (pg["url"], pg["body"].count(b"<p>Body"))),
                    equal_to([(f"https://x.example/{i}", 1) for i in range(5, 10)]))


@pytest.mark.parametrize("size", ["0", "-3"])
def test_a_shard_size_under_one_is_a_usage_error(tmp_path, size, capsys):
    data = tmp_path / "d.jsonl"
    data.write_text(json.dumps({"id": "a", "text": "One document."}) + "\n")
    assert main(["run", "--input", str(data), "--output", str(tmp_path / "o"), "--shard-size", size]) == 2
    assert "--shard-size: must be at least 1" in capsys.readouterr().err


def _index_files(out):
    """{path relative to the index: (inode, mtime_ns, size)} of the committed story index files."""
    root = os.path.join(str(out), "state", "story_index")
    return {os.path.relpath(p, root): (os.stat(p).st_ino, os.stat(p).st_mtime_ns, os.stat(p).st_size)
            for p in dataset.committed_files(str(out), "state/story_index")}


def test_a_run_reads_and_replaces_only_the_story_index_partitions_within_its_reach(tmp_path):
    """A year-long archive (one event every 20 days) committed in two commands. The story index lies in 30-day
    partitions; the second command's articles (the last half year) reach the partitions within two thread
    windows of them, and the partitions further back are neither read nor rewritten: the same files, the same
    bytes. The stories, threads and story claims equal one run over the whole year. Before the index was
    partitioned, every run read and rewrote the whole index, so a shard's time and memory grew with the output."""
    docs = corpus(days_apart=20)
    split = "2025-04-01"
    (tmp_path / "year").mkdir()
    early, late = tmp_path / "year" / "early.jsonl", tmp_path / "year" / "late.jsonl"
    write_corpus(str(early), [d for d in docs if d["published"] < split])
    write_corpus(str(late), [d for d in docs if d["published"] >= split])
    common = ["run", "--no-ner", "--quiet"]
    out = tmp_path / "two"
    assert main([*common, "--input", str(early), "--output", str(out)]) == 0
    before = _index_files(out)
    partitions = {os.path.dirname(p) for p in before}
    assert len(partitions) >= 5 and all(p.startswith("published_block=") for p in partitions), partitions
    assert main([*common, "--input", str(late), "--output", str(out)]) == 0
    after = _index_files(out)
    # the late articles start on 2025-04-04 (day 160): blocks up to two thread windows back are within reach
    untouched = {p: v for p, v in before.items() if os.path.dirname(p) < "published_block=2024-12-"}
    assert untouched and all(after.get(p) == v for p, v in untouched.items()), "partitions out of reach rewritten"
    assert any(after.get(p) != v for p, v in before.items()), "no partition within reach was replaced"
    assert main([*common, "--input", str(tmp_path / "year"), "--output", str(tmp_path / "one")]) == 0
    assert _groups(out) == _groups(tmp_path / "one")
    assert len(_rows(out, "state/story_index")) == len(docs)


def test_an_index_written_before_partitions_is_read_whole_once_and_moved_into_partitions(tmp_path):
    """An output whose story index is one file at the index's top (the layout before partitions): the next run
    reads it whole, and its commit writes every row into its partition and removes the old file, with the stories
    and threads of an output that was partitioned from the start."""
    docs = corpus(days_apart=20)
    early, late = tmp_path / "early.jsonl", tmp_path / "late.jsonl"
    write_corpus(str(early), docs[: len(docs) // 2])
    write_corpus(str(late), docs[len(docs) // 2:])
    common = ["run", "--no-ner", "--no-claims", "--quiet"]
    for name in ("old", "new"):
        assert main([*common, "--input", str(early), "--output", str(tmp_path / name)]) == 0
    old = str(tmp_path / "old")
    rows = dataset.read_table(old, "state/story_index")
    for path in dataset.committed_files(old, "state/story_index"):
        os.remove(path)
    top = "state/story_index/part-00000-of-00001.parquet"
    dataset.write_arrow(os.path.join(old, top), rows)
    manifest = dataset.load_manifest(old)
    manifest["tables"]["state/story_index"] = [top]
    dataset._write_json(os.path.join(old, dataset.MANIFEST), manifest)
    assert len(_rows(old, "state/story_index")) == rows.num_rows  # read as committed
    for name in ("old", "new"):
        assert main([*common, "--input", str(late), "--output", str(tmp_path / name)]) == 0
    assert not os.path.exists(os.path.join(old, top))
    assert set(_index_files(old)) == set(_index_files(tmp_path / "new"))
    assert _rows(old, "state/story_index") == _rows(tmp_path / "new", "state/story_index")
    assert _groups(tmp_path / "old")[:2] == _groups(tmp_path / "new")[:2]
