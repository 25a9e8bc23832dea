"""BuildStories: articles with story ids → one stories.v1 row per story; and the story index's storage."""
from __future__ import annotations

import collections

import apache_beam as beam
from apache_beam.io.filesystems import FileSystems

from schemas import STORIES, STORY_INDEX


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


def load_story_index(output_dir: str) -> list[dict]:
    """The story index rows of earlier runs and windows, read now (a streaming job takes them at its start)."""
    import pyarrow.parquet as pq
    pattern = story_index_files(output_dir)
    if not pattern:
        return []
    rows = []
    for meta in FileSystems.match([pattern])[0].metadata_list:
        with FileSystems.open(meta.path) as f:
            rows.extend(pq.read_table(f).to_pylist())
    for row in rows:
        row.pop("schema_version", None)
    return rows


class ReadStoryIndex(beam.PTransform):
    """Story index rows (signature dicts) from Parquet, read by the runner like any other source."""

    def __init__(self, pattern: str):
        super().__init__()
        self.pattern = pattern

    def expand(self, pbegin):
        return (pbegin
                | "ReadParquet" >> beam.io.ReadFromParquet(self.pattern)
                | "DropVersion" >> beam.Map(lambda r: {k: v for k, v in r.items() if k != "schema_version"}))
