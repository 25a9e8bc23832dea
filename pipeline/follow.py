"""`claimwire run --follow`: continuous operation on one machine, as bounded polling cycles.

The Python DirectRunner only flushes a streaming pipeline's GroupByKeys when its source ends, so a local
long-running job is a loop of ordinary batch runs, each committed like any batch run (schemas/dataset.py). Each
cycle:

1. reads the state committed cycles left in OUT: feed poll state (`state/feeds/`, ETag, Last-Modified and a body
   hash for conditional GET), the canonical URLs already written (from `articles` and final `errors` rows of the
   last --seen-ttl-days: the output itself is the record of what was done), and the story index;
2. runs the batch pipeline into a staging directory: only changed feeds are parsed, only unseen entries fetched;
3. commits: the cycle's files join the dataset as one run, the state tables are replaced, `stories` and
   `story_claims` are brought up to date over every cycle, and the manifest is written last.

The whole loop holds the output's writer lock. Stopping (Ctrl-C, SIGTERM) during a run abandons the staging
directory: nothing of that cycle is visible and the next start redoes it. A signal during the commit waits for the
commit to finish; a SIGKILL mid-commit is rolled forward by the next start, so every article is written once.
"""
from __future__ import annotations

import datetime as dt
import signal
import sys
import time

from pipeline.batch import commit_staged, prepare, run_staged
from pipeline.output_state import committed_cycle, load_feed_state, load_seen
from pipeline.summary import stage_counters
from schemas import dataset
from transforms.feeds import feed_sources


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
    """The loop; the caller holds the output's writer lock and has recovered it (pipeline/cli.py)."""

    out = opts.output
    done, failed = 0, 0
    with _Signals() as signals:
        try:
            while not signals.stop:
                prepare(out)
                cycle = committed_cycle(out) + 1
                started = time.time()
                try:
                    state = load_feed_state(out)
                    sources = [dict(s, state=state.get(s["feed_url"]) or {}) for s in feed_sources(opts.feeds)]
                    seen = load_seen(out, opts.seen_ttl_days, dt.datetime.now(dt.timezone.utc))
                    result, staging = run_staged(options, opts, sources=sources, seen=seen)
                except Exception as e:  # noqa: BLE001 - a long-running loop outlives one failed cycle
                    failed += 1
                    print(f"claimwire follow: cycle {cycle} failed ({failed} in a row), nothing of it committed: "
                          f"{type(e).__name__}: {e}", file=sys.stderr, flush=True)
                    if failed >= MAX_FAILED_CYCLES:
                        return 1
                    _sleep_unless_stopped(opts.poll_interval, signals)
                    continue
                failed = 0
                counters = stage_counters(result)
                signals.committing = True
                journal = commit_staged(opts, staging)
                signals.committing = False
                added = (journal["manifest"]["runs"].get(journal["run_id"], {}).get("rows", {})
                         if journal["run_id"] else {})
                feeds, skipped = counters.get("fetch_feeds", {}), counters.get("skip_seen", {}).get("skipped", 0)
                print(f"claimwire follow: cycle {cycle} committed in {time.time() - started:.1f}s: "
                      f"{added.get('articles', 0)} new articles, {added.get('errors', 0)} errors, "
                      f"{added.get('claims', 0)} claims; "
                      f"feeds parsed {feeds.get('out', 0)}, not modified {feeds.get('not_modified', 0)}, "
                      f"unchanged {feeds.get('unchanged', 0)}; entries already written {skipped}", flush=True)
                done += 1
                if opts.cycles and done >= opts.cycles:
                    break
                _sleep_unless_stopped(opts.poll_interval, signals)
        except KeyboardInterrupt as stop:
            dataset.remove_tree(dataset.join(out, dataset.STAGING))
            print(f"claimwire follow: stopped by {stop or 'interrupt'}; the last committed cycle is "
                  f"{committed_cycle(out)}, the next start resumes after it", flush=True)
    return 0
