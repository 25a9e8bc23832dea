"""Assembles claimwire's batch pipeline from the stages in transforms/."""
from __future__ import annotations

import apache_beam as beam

from pipeline.options import ClaimwireOptions
from schemas import ARTICLES, CLAIMS, ERRORS, STORIES, STORY_CLAIMS, STORY_INDEX, Table
from transforms.documents import ReadDocuments
from transforms.extract import ExtractText
from transforms.feeds import FetchFeeds, feed_sources
from transforms.fetch_articles import FetchArticles
from transforms.parquet import WriteTable


def shards_for(table: Table, num_shards: int) -> int:
    """Articles and claims are sharded; the small tables (errors, stories, story claims) go to one file."""
    return num_shards if table.name in ("articles", "claims") else 1


def build_pipeline(p: beam.Pipeline, opts: ClaimwireOptions) -> dict:
    """Adds every stage to p; returns the main PCollections by table name (for tests and callers)."""
    policy = opts.fetch_policy()
    errors, pages, texts = [], [], []

    if opts.feeds:
        fetched = (p
                   | "ReadFeeds" >> beam.Create(feed_sources(opts.feeds))
                   | "FetchFeeds" >> FetchFeeds(policy))
        fetched_pages = fetched.entries | "FetchArticles" >> FetchArticles(policy)
        errors += [fetched.errors, fetched_pages.errors]
        pages.append(fetched_pages.pages)

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
        index_files = story_index_files(opts.output)
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
