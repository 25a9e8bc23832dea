"""What committed runs left in an output that the next run reads: the feeds' poll state, the URLs already
written, the commits so far. Read by `--follow` cycles (pipeline/follow.py) and the streaming job
(pipeline/assembly.py)."""
from __future__ import annotations

import datetime as dt

from claimcore.urls import canonicalize_url
from schemas import FEED_STATE, dataset

# errors worth another try in a later cycle; any other error kind is final and its URL counts as seen
TRANSIENT_ERROR_KINDS = frozenset({"timeout", "connection_error", "http_server_error", "dns_error"})


def committed_cycle(output_dir: str) -> int:
    """Commits so far (each cycle is one)."""
    manifest = dataset.load_manifest(output_dir)
    return manifest["sequence"] if manifest else 0


def load_feed_state(output_dir: str) -> dict[str, dict]:
    return {r["feed_url"]: r for r in dataset.read_rows(output_dir, FEED_STATE.name, FEED_STATE.columns)}


def load_seen(output_dir: str, ttl_days: float, now: dt.datetime) -> frozenset[str]:
    """Canonical URLs written as articles or final errors within the TTL (the TTL bounds this state)."""
    horizon = now - dt.timedelta(days=ttl_days)
    seen = set()
    for r in dataset.read_rows(output_dir, "articles", ["url", "fetched_at"]):
        if r["url"] and (r["fetched_at"] is None or r["fetched_at"] >= horizon):
            seen.add(canonicalize_url(r["url"]))
    for r in dataset.read_rows(output_dir, "errors", ["url", "stage", "kind", "at"]):
        if (r["url"] and r["stage"] in ("fetch_articles", "extract") and r["kind"] not in TRANSIENT_ERROR_KINDS
                and (r["at"] is None or r["at"] >= horizon)):
            seen.add(canonicalize_url(r["url"]))
    return frozenset(seen)
