"""Assembles claimwire's batch pipeline from the stages in transforms/."""
from __future__ import annotations

import apache_beam as beam

from pipeline.options import ClaimwireOptions
from schemas import ARTICLES, CLAIMS, ERRORS, FEED_STATE, STORIES, STORY_CLAIMS, STORY_INDEX, Table
from transforms.documents import ReadDocuments
from transforms.extract import ExtractText
from transforms.feeds import FEED_STATE as FEED_STATE_TAG
from transforms.feeds import FetchFeeds, feed_sources
from transforms.fetch_articles import FetchArticles, SkipSeenEntries
from transforms.parquet import WriteTable


def shards_for(table: Table, num_shards: int) -> int:
    """Articles and claims are sharded; the small tables (errors, stories, story claims) go to one file."""
    return num_shards if table.name in ("articles", "claims") else 1


def build_pipeline(p: beam.Pipeline, opts: ClaimwireOptions, sources: list[dict] | None = None,
                   seen: frozenset[str] = frozenset(), state_dir: str | None = None) -> dict:
    """Adds every stage to p; returns the main PCollections by table name (for tests and callers).

    `--follow` cycles pass feed `sources` carrying their poll state, the canonical URLs already written (`seen`),
    and `state_dir`, where the story index of earlier cycles lives (the cycle itself writes to a staging dir)."""
    policy = opts.fetch_policy()
    errors, pages, texts = [], [], []
    state_dir = state_dir or opts.output

    if opts.feeds or sources:
        fetched = (p
                   | "ReadFeeds" >> beam.Create(sources if sources is not None else feed_sources(opts.feeds))
                   | "FetchFeeds" >> FetchFeeds(policy))
        entries = fetched.entries
        if seen:
            entries = entries | "SkipSeen" >> beam.ParDo(SkipSeenEntries(seen))
        fetched_pages = entries | "FetchArticles" >> FetchArticles(policy)
        errors += [fetched.errors, fetched_pages.errors]
        pages.append(fetched_pages.pages)
        if sources and any("state" in s for s in sources):
            fetched[FEED_STATE_TAG] | "WriteFeedState" >> WriteTable(FEED_STATE, opts.output, 1)

    if opts.input:
        docs = p | "ReadDocuments" >> ReadDocuments(opts.input)
        errors.append(docs.errors)
        pages.append(docs.pages)
        texts.append(docs.articles)

    extracted = (pages | "AllPages" >> beam.Flatten(pipeline=p)) | "ExtractText" >> ExtractText(opts.extract_timeout)
    errors.append(extracted.errors)
    articles = (texts + [extracted.articles]) | "AllArticles" >> beam.Flatten(pipeline=p)

    if opts.since or opts.until:
        from transforms.documents import FilterPublished
        articles = articles | "FilterPublished" >> FilterPublished(opts.since, opts.until)

    if not opts.no_ner:
        from transforms.ner import RecognizeEntities
        tagged = articles | "RecognizeEntities" >> RecognizeEntities(opts.ner_model, opts.ner_batch_size)
        articles = tagged.articles
        errors.append(tagged.errors)

    outputs = {}
    if not opts.no_dedup:
        from transforms.dedup import DeduplicateStories, StoryParams
        from transforms.stories import BuildStories, ReadStoryIndex, story_index_files
        index_files = story_index_files(state_dir)
        deduped = articles | "DeduplicateStories" >> DeduplicateStories(
            StoryParams(window_days=opts.story_window_days), ReadStoryIndex(index_files) if index_files else None,
            opts.embedding_model)
        articles = deduped["articles"]
        outputs["stories"] = articles | "BuildStories" >> BuildStories()
        outputs["stories"] | "WriteStories" >> WriteTable(STORIES, opts.output, 1)
        deduped["index"] | "WriteStoryIndex" >> WriteTable(STORY_INDEX, opts.output, 1)

    if not opts.no_claims:
        from transforms.claims import AggregateStoryClaims, ExtractClaims
        outputs["claims"] = articles | "ExtractClaims" >> ExtractClaims()
        outputs["story_claims"] = outputs["claims"] | "AggregateStoryClaims" >> AggregateStoryClaims()
        outputs["claims"] | "WriteClaims" >> WriteTable(CLAIMS, opts.output, shards_for(CLAIMS, opts.num_shards))
        outputs["story_claims"] | "WriteStoryClaims" >> WriteTable(STORY_CLAIMS, opts.output, 1)

    all_errors = errors | "AllErrors" >> beam.Flatten(pipeline=p)
    articles | "WriteArticles" >> WriteTable(ARTICLES, opts.output, shards_for(ARTICLES, opts.num_shards))
    all_errors | "WriteErrors" >> WriteTable(ERRORS, opts.output, shards_for(ERRORS, opts.num_shards))
    return dict(outputs, articles=articles, errors=all_errors)
