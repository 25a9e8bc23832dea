"""BuildStories: articles with story ids → one stories.v1 row per story; the story index's storage; and the rebuild
of the derived tables (stories, story_claims) over a whole committed dataset."""
from __future__ import annotations

import collections

import apache_beam as beam
from apache_beam.io.filesystems import FileSystems

from schemas import STORIES, STORY_CLAIMS, STORY_INDEX, dataset
from transforms.common import CountingDoFn


def story_record(story_id: str, articles: list[dict]) -> dict:
    articles = sorted(articles, key=lambda a: (a.get("published_at") is None, a.get("published_at") or 0,
                                                a["article_id"]))
    dates = [a["published_at"] for a in articles if a.get("published_at")]
    originals = [a for a in articles if not a.get("duplicate_of")] or articles
    mentions = collections.Counter()
    for a in articles:
        # entities mentioned by more articles rank higher; within an article each name counts once
        mentions.update({e["text"] for e in a.get("entities") or () if e["label"] in ("PER", "ORG", "LOC")})
    outlets = sorted({a["outlet"] for a in articles if a.get("outlet")})
    return {
        "story_id": story_id,
        "first_seen": min(dates) if dates else None,
        "last_seen": max(dates) if dates else None,
        "article_count": len(articles),
        "outlet_count": len(outlets),
        "representative_title": originals[0].get("title"),
        "top_entities": [name for name, _ in sorted(mentions.items(), key=lambda kv: (-kv[1], kv[0]))[:8]],
        "outlets": outlets,
        "article_ids": sorted(a["article_id"] for a in articles),
        "schema_version": STORIES.version,
    }


class BuildStories(beam.PTransform):
    def expand(self, articles):
        return (articles
                | "KeyByStory" >> beam.Map(lambda a: (a["story_id"], a))
                | "GroupStories" >> beam.GroupByKey()
                | "StoryRecord" >> beam.MapTuple(lambda sid, arts: story_record(sid, list(arts))))


def story_index_files(output_dir: str) -> str | None:
    """The glob of the committed story index in output_dir, or None when there is none."""
    return dataset.state_pattern(output_dir, STORY_INDEX)


def rebuild_story_tables(root: str, manifest: dict) -> dict[str, list[dict]]:
    """stories and story_claims over every committed article and claim, under the story ids of the current index.

    A run only sees its own articles, so its stories rows would each cover part of a story; the derived tables are
    rebuilt whole at each commit instead, with the same record functions as the pipeline. An article's
    articles.story_id stays the id it was written with; a later run that merges two stories changes the index, and
    these tables follow the index. Returns {} for an output without stories (--no-dedup)."""
    from transforms.claims import story_claim_records
    index = dataset.read_table(root, STORY_INDEX, ["article_id", "story_id"], manifest)
    story_of = dict(zip(index.column("article_id").to_pylist(), index.column("story_id").to_pylist())) \
        if index is not None else {}
    articles = {a["article_id"]: a for a in dataset.read_rows(root, "articles", [
        "article_id", "story_id", "published_at", "duplicate_of", "entities", "outlet", "title"], manifest)}
    if not story_of and not any(a["story_id"] for a in articles.values()):
        return {}

    def current(row):
        return story_of.get(row["article_id"]) or row.get("story_id") or row["article_id"]

    by_story = collections.defaultdict(list)
    for a in articles.values():
        by_story[current(a)].append(a)
    claims_by_story = collections.defaultdict(dict)
    for c in dataset.read_rows(root, "claims", ["claim_id", "article_id", "story_id", "stance", "value", "subject",
                                                "unit_family", "outlet", "claimant"], manifest):
        claims_by_story[current(c)][c["claim_id"]] = c
    return {
        STORIES.name: [story_record(sid, arts) for sid, arts in sorted(by_story.items())],
        STORY_CLAIMS.name: [r for sid, cs in sorted(claims_by_story.items())
                            for r in story_claim_records(sid, [cs[k] for k in sorted(cs)])],
    }


class LiveIndexRows(CountingDoFn):
    """time block → the story index rows whose home block it is, read from the index files present when the
    window fires: those of earlier runs and those this streaming job's earlier windows wrote. Each file is read
    once per worker (files are final when they appear: fileio renames them into place)."""
    stage = "dedup"

    def __init__(self, output_dir: str, params):
        self.output_dir = output_dir
        self.params = params

    def setup(self):
        self.read_files = set()
        self.by_block = collections.defaultdict(dict)

    def start_bundle(self):
        import pyarrow.parquet as pq

        from transforms.dedup import block_keys
        for path in dataset.committed_files(self.output_dir, STORY_INDEX):
            if path in self.read_files:
                continue
            with FileSystems.open(path) as f:
                rows = pq.read_table(f).to_pylist()
            for row in rows:
                row.pop("schema_version", None)
                self.by_block[block_keys(row, self.params)[0][0]].setdefault(row["article_id"], row)
            self.read_files.add(path)
            self.count("index_files_read")

    def process(self, block):
        rows = list(self.by_block.get(block, {}).values())
        self.count("index_rows_met", len(rows))
        yield from rows


class ReadStoryIndex(beam.PTransform):
    """Story index rows (signature dicts) from Parquet, read by the runner like any other source."""

    def __init__(self, pattern: str):
        super().__init__()
        self.pattern = pattern

    def expand(self, pbegin):
        return (pbegin
                | "ReadParquet" >> beam.io.ReadFromParquet(self.pattern)
                | "DropVersion" >> beam.Map(lambda r: {k: v for k, v in r.items() if k != "schema_version"}))
