"""BuildStories: articles with story ids → one stories.v1 row per story; the story index's storage; and the rebuild
of the derived tables (stories, story_claims) over a whole committed dataset."""
from __future__ import annotations

import collections

import apache_beam as beam
from apache_beam.io.filesystems import FileSystems

from claimcore.claims import story_claim_records
from claimcore.story_grouping import block_keys
from schemas import STORIES, STORY_CLAIMS, STORY_INDEX, dataset, to_table
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
    threads = collections.Counter(a["thread_id"] for a in articles if a.get("thread_id"))
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
        # the articles' thread (one per story; should rows disagree, the most common, then the smallest id)
        "thread_id": min(threads, key=lambda t: (-threads[t], t)) if threads else None,
        "schema_version": STORIES.version,
    }


class BuildStories(beam.PTransform):
    def expand(self, articles):
        return (articles
                | "KeyByStory" >> beam.Map(lambda a: (a["story_id"], a))
                | "GroupStories" >> beam.GroupByKey()
                | "StoryRecord" >> beam.MapTuple(lambda sid, arts: story_record(sid, list(arts))))


def has_story_index(output_dir: str) -> bool:
    """Whether output_dir has a committed story index for a run to read."""
    return bool(dataset.committed_files(output_dir, STORY_INDEX))


def index_partitions_reached(reach: set, thread_window_days: float) -> list[str]:
    """The story index partitions holding the rows a run can reach (claimcore.story_grouping.index_reach: thread
    window blocks, or 'all' when an undated article searches every block), always with the undated partition and
    the files at the index's top (''); None stands for every partition."""
    if "all" in reach:
        return None
    span = thread_window_days * 86400
    names = {"", dataset.index_partition(None)}
    for block in reach:
        names.update(dataset.index_partitions_within(block * span, (block + 1) * span))
    return sorted(names)


ARTICLE_COLUMNS = ["article_id", "story_id", "thread_id", "published_at", "duplicate_of", "entities", "outlet", "title"]
CLAIM_COLUMNS = ["claim_id", "article_id", "story_id", "stance", "value", "subject", "unit_family", "outlet",
                 "claimant", "schema_version"]


def _version_number(version: str | None) -> int:
    return int(version.rsplit(".v", 1)[1]) if version and ".v" in version else 0


def newest_claims(claims: list[dict]) -> list[dict]:
    """Per article, only the claims of the newest schema version: an input run again under claims.v2 keeps its
    claims.v1 rows in claims/ (nothing is lost), but corroboration counts each article's claims once."""
    newest = {}
    for c in claims:
        newest[c["article_id"]] = max(newest.get(c["article_id"], 0), _version_number(c.get("schema_version")))
    return [c for c in claims if _version_number(c.get("schema_version")) == newest[c["article_id"]]]


def rebuild_story_tables(root: str, manifest: dict, changed: list[str] | None = None) -> dict:
    """stories and story_claims over every committed article and claim, under the story ids of the current index.

    A run only sees its own articles, so its stories rows would each cover part of a story; the derived tables are
    rebuilt at each commit instead, with the same record functions as the pipeline. With `changed` (the article
    ids the commit may have moved, schemas.dataset.changed_articles) only the stories those articles left or
    joined are recomputed and every other row is kept as it is: the same rows as a whole rebuild (tested), at a
    cost that follows the run, not the dataset. An article's articles.story_id stays the id it was written with;
    a later run that merges two stories changes the index, and these tables follow the index. Returns {} for an
    output without stories (--no-dedup)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    index = dataset.read_table(root, STORY_INDEX, ["article_id", "story_id", "thread_id"], manifest)
    if index is None and not dataset.committed_files(root, STORIES, manifest):
        return {}  # no story index and no stories (--no-dedup runs): nothing to derive, no article to read
    story_of = dict(zip(index.column("article_id").to_pylist(), index.column("story_id").to_pylist())) \
        if index is not None else {}
    thread_of = {a: t for a, t in zip(index.column("article_id").to_pylist(), index.column("thread_id").to_pylist())
                 if t} if index is not None else {}
    ids = dataset.read_table(root, "articles", ["article_id", "story_id"], manifest)
    if ids is None or (not story_of and pc.all(pc.is_null(ids.column("story_id"))).as_py() is not False):
        return {}

    def current(article_id, story_id):
        return story_of.get(article_id) or story_id or article_id

    old_stories = dataset.read_table(root, STORIES, None, manifest) if changed is not None else None
    if old_stories is None:
        affected = None  # a whole rebuild
    else:
        now = {a: current(a, s)
               for a, s in zip(ids.column("article_id").to_pylist(), ids.column("story_id").to_pylist())}
        old = {a: sid for sid, members in zip(old_stories.column("story_id").to_pylist(),
                                             old_stories.column("article_ids").to_pylist()) for a in members or ()}
        affected = {now[a] for a in changed if a in now} | {old[a] for a in changed if a in old}

    def rows_in(table, columns):
        """The table's rows whose current story is affected, as dicts (the others are never converted)."""
        rows = []
        for t in dataset.read_files(root, table, columns, manifest):  # file by file: few rows kept of each
            if affected is not None:
                stories_now = [current(a, s) for a, s in zip(t.column("article_id").to_pylist(),
                                                             t.column("story_id").to_pylist())]
                t = t.filter(pa.array([sid in affected for sid in stories_now], type=pa.bool_()))
            rows += t.to_pylist()
        return rows

    by_story = collections.defaultdict(list)
    for a in rows_in("articles", ARTICLE_COLUMNS):
        a["thread_id"] = thread_of.get(a["article_id"]) or a["thread_id"]  # threads follow the index too
        by_story[current(a["article_id"], a["story_id"])].append(a)
    claims_by_story = collections.defaultdict(dict)
    for c in newest_claims(rows_in("claims", CLAIM_COLUMNS)):
        claims_by_story[current(c["article_id"], c["story_id"])][c["claim_id"]] = c
    stories = [story_record(sid, arts) for sid, arts in sorted(by_story.items())]
    story_claims = [r for sid, cs in sorted(claims_by_story.items())
                    for r in story_claim_records(sid, [cs[k] for k in sorted(cs)])]
    if affected is None:
        return {STORIES.name: stories, STORY_CLAIMS.name: story_claims}
    out = {}
    for table, fresh in ((STORIES, stories), (STORY_CLAIMS, story_claims)):
        kept = dataset.read_table(root, table, None, manifest)
        new = to_table(table, fresh)
        if kept is not None:
            kept = kept.filter(pc.invert(pc.is_in(kept.column("story_id"), pa.array(sorted(affected), pa.string()))))
            new = pa.concat_tables([kept.cast(table.schema), new])
        out[table.name] = new.take(pc.sort_indices(new, [(table.key, "ascending")]))
    return out


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


class ReadIndexFile(CountingDoFn):
    """A story index file's path → its rows (signature dicts)."""
    stage = "dedup"

    def process(self, path):
        import pyarrow.parquet as pq

        with FileSystems.open(path) as f:
            rows = pq.read_table(f).to_pylist()
        self.count("index_files_read")
        self.count("index_rows_read", len(rows))
        for row in rows:
            row.pop("schema_version", None)
            yield row


class ReadStoryIndex(beam.PTransform):
    """partitions (one element: index_partitions_reached's list, None for all) → the rows of the committed story
    index files in those partitions. The files are those committed when the pipeline is built (the run holds the
    writer lock), so partitions out of a run's reach are never read, and its commit leaves them as they are."""

    def __init__(self, output_dir: str):
        super().__init__()
        self.files = dataset.index_files_by_partition(output_dir)

    def expand(self, partitions):
        files = self.files

        def paths(wanted):
            for name in sorted(files) if wanted is None else wanted:
                yield from files.get(name, ())

        return (partitions
                | "IndexFiles" >> beam.FlatMap(paths)
                | "SpreadFiles" >> beam.Reshuffle()
                | "ReadIndexFiles" >> beam.ParDo(ReadIndexFile()))
