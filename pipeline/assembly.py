"""Assembles claimwire's batch pipeline from the stages in transforms/."""
from __future__ import annotations

import sys

import apache_beam as beam

from claimcore.story_grouping import StoryParams
from pipeline.options import ClaimwireOptions
from pipeline.output_state import load_seen
from schemas import ARTICLES, CLAIMS, ERRORS, FEED_STATE, STORIES, STORY_CLAIMS, STORY_INDEX, Table, error_record
from transforms.claims import AggregateStoryClaims, ExtractClaims
from transforms.dedup import DeduplicateStories
from transforms.discover import ENTRIES, DiscoverFeeds
from transforms.documents import FilterPublished, ReadDocuments
from transforms.extract import ExtractText
from transforms.feeds import FEED_STATE_TAG, FetchFeeds, feed_sources
from transforms.fetch_articles import FetchArticles, SkipSeenEntries
from transforms.ner import RecognizeEntities
from transforms.parquet import WriteTable, WriteWindowedTable
from transforms.stories import BuildStories, ReadStoryIndex, has_story_index
from transforms.streaming import DedupEntries, PollFeeds


def shards_for(table: Table, num_shards: int) -> int:
    """Articles and claims are sharded; the small tables (errors, stories, story claims) go to one file."""
    return num_shards if table.name in ("articles", "claims") else 1


def _write_label(table: Table) -> str:
    return "Write" + table.name.split("/")[-1].title().replace("_", "")  # state/story_index → WriteStoryIndex


def _by_name(tables: dict) -> dict:
    return {table.name.split("/")[-1]: rows for table, rows in tables.items()}


def build_pipeline(p: beam.Pipeline, opts: ClaimwireOptions, write_root: str, sources: list[dict] | None = None,
                   seen: frozenset[str] = frozenset(), pieces: list | None = None) -> dict:
    """Adds every stage to p, writing the run's tables under `write_root` (a staging directory that
    pipeline/batch.py commits into opts.output, where the committed story index is read from); returns the main
    PCollections by table name (for tests and callers).

    `--follow` cycles pass feed `sources` carrying their poll state and the canonical URLs already written (`seen`);
    a sharded --input run passes the `pieces` of its shard (pipeline/shards.py), read instead of all of --input.
    stories and story_claims are not written here: the commit rebuilds them over the whole dataset."""
    policy = opts.fetch_policy()
    errors, pages, texts = [], [], []

    if opts.feeds or sources or opts.site:
        problems = []
        if sources is None:
            sources = feed_sources(opts.feeds, problems)
        if problems:  # bad lines of a feed list: reported, skipped, and kept as error rows
            for where, why in problems:
                print(f"claimwire: {where}: {why}", file=sys.stderr)
            errors.append(p | "FeedListProblems" >> beam.Create(
                [error_record("read_feeds", where, "input_error", why) for where, why in problems]))
        feeds = p | "ReadFeeds" >> beam.Create(sources)
        site_entries = []
        if opts.site:
            discovered = p | "ReadSites" >> beam.Create(list(opts.site)) | "DiscoverFeeds" >> DiscoverFeeds(policy)
            feeds = (feeds, discovered.feeds) | "AllFeeds" >> beam.Flatten()
            site_entries.append(discovered[ENTRIES])
            errors.append(discovered.errors)
        fetched = feeds | "FetchFeeds" >> FetchFeeds(policy)
        entries = fetched.entries
        if site_entries:
            entries = ([entries] + site_entries) | "AllEntries" >> beam.Flatten()
        if seen:
            entries = entries | "SkipSeen" >> beam.ParDo(SkipSeenEntries(seen))
        fetched_pages = entries | "FetchArticles" >> FetchArticles(policy)
        errors += [fetched.errors, fetched_pages.errors]
        pages.append(fetched_pages.pages)
        if sources and any("state" in s for s in sources):
            fetched[FEED_STATE_TAG] | "WriteFeedState" >> WriteTable(FEED_STATE, write_root, 1)

    if opts.input or pieces:
        docs = p | "ReadDocuments" >> ReadDocuments(opts.input, pieces)
        errors.append(docs.errors)
        pages.append(docs.pages)
        texts.append(docs.articles)

    extracted = (pages | "AllPages" >> beam.Flatten(pipeline=p)) | "ExtractText" >> ExtractText(opts.extract_timeout)
    errors.append(extracted.errors)
    articles = (texts + [extracted.articles]) | "AllArticles" >> beam.Flatten(pipeline=p)

    if opts.since or opts.until:
        articles = articles | "FilterPublished" >> FilterPublished(opts.since, opts.until)

    index = None
    if not opts.no_dedup:
        index = ReadStoryIndex(opts.output) if has_story_index(opts.output) else None
    tables = analyse(articles, opts, errors, index, story_tables=False)
    for table, rows in tables.items():
        rows | _write_label(table) >> WriteTable(table, write_root, shards_for(table, opts.num_shards))
    return _by_name(tables)


def analyse(articles, opts: ClaimwireOptions, errors: list, story_index=None,
            live_index_dir: str | None = None, story_tables: bool = True) -> dict:
    """The stages after extraction, shared by batch and streaming: NER, story dedup, claims.
    Returns {table: PCollection of its rows}; `errors` collects the earlier stages' dead letters. Without
    `story_tables` (batch: the commit rebuilds them over the dataset) stories and story_claims are left out."""
    p = articles.pipeline
    errors = list(errors)
    if not opts.no_ner:
        tagged = articles | "RecognizeEntities" >> RecognizeEntities(opts.ner_model, opts.attribution_model)
        articles = tagged.articles
        errors.append(tagged.errors)

    tables = {}
    if not opts.no_dedup:
        deduped = articles | "DeduplicateStories" >> DeduplicateStories(
            StoryParams(window_days=opts.story_window_days), story_index, opts.embedding_model, live_index_dir)
        articles = deduped["articles"]
        errors.append(deduped["errors"])
        if story_tables:
            tables[STORIES] = articles | "BuildStories" >> BuildStories()
        tables[STORY_INDEX] = deduped["index"]

    if not opts.no_claims:
        extracted = articles | "ExtractClaims" >> ExtractClaims()
        tables[CLAIMS] = extracted.claims
        errors.append(extracted.errors)
        if story_tables:
            tables[STORY_CLAIMS] = tables[CLAIMS] | "AggregateStoryClaims" >> AggregateStoryClaims()

    tables[ARTICLES] = articles
    tables[ERRORS] = errors | "AllErrors" >> beam.Flatten(pipeline=p)
    return tables


def build_streaming_pipeline(p: beam.Pipeline, opts: ClaimwireOptions, ticks=None) -> dict:
    """The streaming job: poll ticks → per-feed conditional polls → entries new within the TTL → fixed windows →
    the batch stages → one Parquet file per window and table. `ticks` defaults to a PeriodicImpulse every
    --poll-interval seconds (until --stop-after, if given); tests pass a TestStream.

    The story index in the output directory is read as each window fires (stories of earlier runs and of this
    job's earlier windows); for a local directory the URLs already written are read at the start (a restarted
    job, whose Beam state starts empty, does not write them again)."""
    import datetime as dt
    import time

    from apache_beam.transforms.periodicsequence import PeriodicImpulse
    from apache_beam.transforms.window import FixedWindows
    from apache_beam.utils.timestamp import MAX_TIMESTAMP


    policy = opts.fetch_policy()
    started = dt.datetime.now(dt.timezone.utc)
    job = started.strftime("%Y%m%dT%H%M%SZ")  # in file names: a restarted job never overwrites a window's file
    if ticks is None:
        now = time.time()
        ticks = p | "PollTicks" >> PeriodicImpulse(
            start_timestamp=now, stop_timestamp=now + opts.stop_after if opts.stop_after else MAX_TIMESTAMP,
            fire_interval=opts.poll_interval)
    feeds = list(opts.feeds)
    polled = (ticks
              | "FeedList" >> beam.FlatMap(lambda _tick: feed_sources(feeds))  # re-read: the list may change
              | "PollFeeds" >> PollFeeds(policy))
    entries = polled.entries
    seen = load_seen(opts.output, opts.seen_ttl_days, started) if "://" not in opts.output else frozenset()
    if seen:
        entries = entries | "SkipWritten" >> beam.ParDo(SkipSeenEntries(seen))
    window = FixedWindows(opts.window_seconds)
    entries = (entries
               | "DedupEntries" >> DedupEntries(ttl_seconds=opts.seen_ttl_days * 86400)
               | "Window" >> beam.WindowInto(window))
    fetched = entries | "FetchArticles" >> FetchArticles(policy)
    extracted = fetched.pages | "ExtractText" >> ExtractText(opts.extract_timeout)
    feed_errors = polled.errors | "WindowFeedErrors" >> beam.WindowInto(window)
    tables = analyse(extracted.articles, opts, [feed_errors, fetched.errors, extracted.errors],
                     live_index_dir=opts.output)  # the live index: read as each window fires
    for table, rows in tables.items():
        rows | _write_label(table) >> WriteWindowedTable(table, opts.output, job)
    return _by_name(tables)
