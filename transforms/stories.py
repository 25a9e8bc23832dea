"""BuildStories: articles with story ids → one stories.v1 row per story; and the story index's storage."""
from __future__ import annotations

import collections

import apache_beam as beam
from apache_beam.io.filesystems import FileSystems

from schemas import STORIES, STORY_INDEX
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
    """The glob of the story index left by earlier runs in output_dir, or None when there is none."""
    pattern = FileSystems.join(output_dir, STORY_INDEX.name, "part-*.parquet")
    try:
        found = FileSystems.match([pattern])[0].metadata_list
    except Exception:  # noqa: BLE001 - no such directory yet
        return None
    return pattern if found else None


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
        pattern = story_index_files(self.output_dir)
        if not pattern:
            return
        for meta in FileSystems.match([pattern])[0].metadata_list:
            if meta.path in self.read_files:
                continue
            with FileSystems.open(meta.path) as f:
                rows = pq.read_table(f).to_pylist()
            for row in rows:
                row.pop("schema_version", None)
                self.by_block[block_keys(row, self.params)[0][0]].setdefault(row["article_id"], row)
            self.read_files.add(meta.path)
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
