"""`claimwire run --follow`: continuous operation on one machine, as bounded polling cycles.

The Python DirectRunner only flushes a streaming pipeline's GroupByKeys when its source ends, so a local
long-running job is a loop of ordinary batch runs. Each cycle:

1. reads the state the committed cycles left in OUT: feed poll state (`state/feeds/`, ETag, Last-Modified and
   a body hash for conditional GET), the canonical URLs already written (from `articles` and final `errors`
   rows of the last --seen-ttl-days: the output itself is the record of what was done), and the story index;
2. runs the batch pipeline into `OUT/.staging/`: only changed feeds are parsed, only unseen entries fetched;
3. commits: moves the staged Parquet files to `OUT/<table>/cycle-NNNNNN-part-…parquet`, replaces the state
   tables, rebuilds `stories` and `story_claims` over all cycles (rebuild_story_tables), and last writes
   `state/follow.json` with the cycle number.

Stopping (Ctrl-C, SIGTERM) during a run abandons the staging directory: nothing of that cycle is visible and the
next start redoes it. A signal during the commit waits for the commit to finish. Files of a cycle newer than
the manifest (a process killed with SIGKILL mid-commit) are removed at the next start, so every article is
written exactly once.
"""
from __future__ import annotations

import collections
import datetime as dt
import glob
import json
import os
import shutil
import signal
import sys
import time

from schemas import FEED_STATE, STORY_INDEX, TABLES

MANIFEST = os.path.join("state", "follow.json")
STAGING = ".staging"
# errors worth another try in a later cycle; any other error kind is final and its URL counts as seen
TRANSIENT_ERROR_KINDS = frozenset({"timeout", "connection_error", "http_server_error", "dns_error"})
STATE_TABLES = (FEED_STATE, STORY_INDEX)


def is_follow_dir(output_dir: str) -> bool:
    return os.path.exists(os.path.join(output_dir, MANIFEST))


def committed_cycle(output_dir: str) -> int:
    try:
        with open(os.path.join(output_dir, MANIFEST)) as f:
            return int(json.load(f)["cycle"])
    except FileNotFoundError:
        return 0


def _cycle_of(path: str) -> int:
    name = os.path.basename(path)
    return int(name.split("-")[1]) if name.startswith("cycle-") else -1


def clean_uncommitted(output_dir: str) -> None:
    """Removes what a stopped cycle left: the staging directory and files of cycles after the manifest's."""
    last = committed_cycle(output_dir)
    shutil.rmtree(os.path.join(output_dir, STAGING), ignore_errors=True)
    for table in TABLES.values():
        for path in glob.glob(os.path.join(output_dir, table.name, "cycle-*.parquet*")):
            if _cycle_of(path) > last or path.endswith(".inprogress"):
                os.remove(path)


def _read(output_dir: str, table_name: str, columns: list[str], pattern: str = "*.parquet"):
    import pyarrow.parquet as pq
    files = sorted(glob.glob(os.path.join(output_dir, table_name, pattern)))
    if not files:
        return []
    return pq.ParquetDataset(files).read(columns=columns).to_pylist()


def load_feed_state(output_dir: str) -> dict[str, dict]:
    return {r["feed_url"]: r for r in _read(output_dir, FEED_STATE.name, FEED_STATE.columns)}


def load_seen(output_dir: str, ttl_days: float, now: dt.datetime) -> frozenset[str]:
    """Canonical URLs written as articles or final errors within the TTL (the TTL bounds this state)."""
    from transforms.urls import canonicalize_url
    horizon = now - dt.timedelta(days=ttl_days)
    seen = set()
    for r in _read(output_dir, "articles", ["url", "fetched_at"]):
        if r["url"] and (r["fetched_at"] is None or r["fetched_at"] >= horizon):
            seen.add(canonicalize_url(r["url"]))
    for r in _read(output_dir, "errors", ["url", "stage", "kind", "at"]):
        if (r["url"] and r["stage"] in ("fetch_articles", "extract") and r["kind"] not in TRANSIENT_ERROR_KINDS
                and (r["at"] is None or r["at"] >= horizon)):
            seen.add(canonicalize_url(r["url"]))
    return frozenset(seen)


def commit(output_dir: str, staging: str, cycle: int) -> dict[str, int]:
    """Staged files → their final names; then the manifest. Returns the rows added per table."""
    import pyarrow.parquet as pq
    added = {}
    for table in TABLES.values():
        os.makedirs(os.path.join(output_dir, table.name), exist_ok=True)
        added[table.name] = 0
        for path in sorted(glob.glob(os.path.join(staging, table.name, "part-*.parquet"))):
            rows = pq.ParquetFile(path).metadata.num_rows
            if rows == 0:
                continue  # a cycle with nothing new leaves no empty files behind
            added[table.name] += rows
            os.replace(path, os.path.join(output_dir, table.name, f"cycle-{cycle:06d}-{os.path.basename(path)}"))
    for table in STATE_TABLES:
        staged = sorted(glob.glob(os.path.join(staging, table.name, "part-*.parquet")))
        if not staged:
            continue
        final_dir = os.path.join(output_dir, table.name)
        os.makedirs(final_dir, exist_ok=True)
        for old in glob.glob(os.path.join(final_dir, "*.parquet")):
            if os.path.basename(old) not in {os.path.basename(s) for s in staged}:
                os.remove(old)
        for path in staged:
            os.replace(path, os.path.join(final_dir, os.path.basename(path)))
    rebuild_story_tables(output_dir)
    manifest = os.path.join(output_dir, MANIFEST)
    with open(manifest + ".tmp", "w") as f:
        json.dump({"cycle": cycle, "committed_at": dt.datetime.now(dt.timezone.utc).isoformat(),
                   "rows_added": added}, f)
    os.replace(manifest + ".tmp", manifest)
    shutil.rmtree(staging, ignore_errors=True)
    return added


def rebuild_story_tables(output_dir: str) -> None:
    """stories and story_claims over every committed cycle, under the story ids of the current index.

    A cycle only sees its own articles, so its stories rows would each cover part of a story; these two small
    tables are rebuilt whole instead (one file each), with the same record functions as the pipeline. An
    article's articles.story_id stays the id it was written with; a later cycle that merges two stories changes
    the index, and these tables follow the index."""
    from schemas import STORIES, STORY_CLAIMS
    from transforms.claims import story_claim_records
    from transforms.parquet import shard_path, write_rows
    from transforms.stories import story_record
    if not glob.glob(os.path.join(output_dir, STORIES.name, "cycle-*.parquet")):
        return  # --no-dedup: no stories to rebuild
    story_of = {r["article_id"]: r["story_id"] for r in _read(output_dir, STORY_INDEX.name, ["article_id", "story_id"])}

    def current(row):
        return story_of.get(row["article_id"]) or row.get("story_id") or row["article_id"]

    articles = {}
    for a in _read(output_dir, "articles", ["article_id", "story_id", "published_at", "duplicate_of", "entities",
                                            "outlet", "title"]):
        articles[a["article_id"]] = a
    by_story = collections.defaultdict(list)
    for a in articles.values():
        by_story[current(a)].append(a)
    claims_by_story = collections.defaultdict(dict)
    for c in _read(output_dir, "claims", ["claim_id", "article_id", "story_id", "stance", "value", "subject",
                                          "unit_family", "outlet", "claimant"]):
        claims_by_story[current(c)][c["claim_id"]] = c
    tables = {
        STORIES: [story_record(sid, arts) for sid, arts in by_story.items()],
        STORY_CLAIMS: [r for sid, cs in claims_by_story.items() for r in story_claim_records(sid, list(cs.values()))],
    }
    for table, rows in tables.items():
        for old in glob.glob(os.path.join(output_dir, table.name, "cycle-*.parquet")):
            os.remove(old)
        write_rows(shard_path(output_dir, table, 0, 1), table, rows)


def _sleep_unless_stopped(seconds: float, signals) -> None:
    deadline = time.time() + seconds
    while time.time() < deadline and not signals.stop:
        time.sleep(min(0.5, max(0.0, deadline - time.time())))


class _Signals:
    """SIGINT/SIGTERM stop the loop: at once while a cycle runs (KeyboardInterrupt), after it while committing."""

    def __init__(self):
        self.committing = False
        self.stop = False

    def __enter__(self):
        self.previous = {s: signal.signal(s, self._handle) for s in (signal.SIGINT, signal.SIGTERM)}
        return self

    def __exit__(self, *exc):
        for s, h in self.previous.items():
            signal.signal(s, h)

    def _handle(self, signum, frame):
        self.stop = True
        if not self.committing:
            raise KeyboardInterrupt(signal.Signals(signum).name)


MAX_FAILED_CYCLES = 3  # in a row; then the loop gives up with exit status 1


def follow(options, opts) -> int:
    import apache_beam as beam

    from pipeline.assembly import build_pipeline
    from pipeline.summary import stage_counters
    from transforms.feeds import feed_sources

    out = opts.output
    os.makedirs(os.path.join(out, "state"), exist_ok=True)
    staging = os.path.join(out, STAGING)
    done, failed = 0, 0
    with _Signals() as signals:
        try:
            while not signals.stop:
                clean_uncommitted(out)
                cycle = committed_cycle(out) + 1
                started = time.time()
                try:
                    state = load_feed_state(out)
                    sources = [dict(s, state=state.get(s["feed_url"]) or {}) for s in feed_sources(opts.feeds)]
                    seen = load_seen(out, opts.seen_ttl_days, dt.datetime.now(dt.timezone.utc))
                    options.view_as(type(opts)).output = staging
                    p = beam.Pipeline(options=options)
                    build_pipeline(p, options.view_as(type(opts)), sources=sources, seen=seen, state_dir=out)
                    result = p.run()
                    result.wait_until_finish()
                except Exception as e:  # noqa: BLE001 - a long-running loop outlives one failed cycle
                    failed += 1
                    print(f"claimwire follow: cycle {cycle} failed ({failed} in a row), nothing of it committed: "
                          f"{type(e).__name__}: {e}", file=sys.stderr, flush=True)
                    if failed >= MAX_FAILED_CYCLES:
                        shutil.rmtree(staging, ignore_errors=True)
                        return 1
                    _sleep_unless_stopped(opts.poll_interval, signals)
                    continue
                failed = 0
                counters = stage_counters(result)
                signals.committing = True
                added = commit(out, staging, cycle)
                signals.committing = False
                feeds, skipped = counters.get("fetch_feeds", {}), counters.get("skip_seen", {}).get("skipped", 0)
                print(f"claimwire follow: cycle {cycle} committed in {time.time() - started:.1f}s: "
                      f"{added['articles']} new articles, {added['errors']} errors, {added['claims']} claims; "
                      f"feeds parsed {feeds.get('out', 0)}, not modified {feeds.get('not_modified', 0)}, "
                      f"unchanged {feeds.get('unchanged', 0)}; entries already written {skipped}", flush=True)
                done += 1
                if opts.cycles and done >= opts.cycles:
                    break
                _sleep_unless_stopped(opts.poll_interval, signals)
        except KeyboardInterrupt as stop:
            shutil.rmtree(staging, ignore_errors=True)
            print(f"claimwire follow: stopped by {stop or 'interrupt'}; the last committed cycle is "
                  f"{committed_cycle(out)}, the next start resumes after it", flush=True)
    return 0
