"""DeduplicateStories: articles → articles with duplicate_of / duplicate_kind / story_id, a stories table, and the
story index that the next run starts from.

Three levels, none of them all-pairs:
1. exact: same canonical URL (same article_id, merged by the Parquet sink) or same normalized text (which gives
   the same MinHash, so it is found with the copies and labelled 'exact' by its content hash);
2. copies: MinHash over word 5-shingles, LSH bands as GroupByKey keys; a pair is a copy when it shares at least
   MIN_SHARED_BANDS of the 16 bands (counted with CombinePerKey), so no MinHash array is shuffled;
3. same story: title+lead embeddings (all-MiniLM-L6-v2, RunInference). Candidates come from publish-time blocks
   (an article meets only articles published within the window: its own block and the previous one), searched
   exactly (chunked BLAS, deterministic) up to 20,000 articles a block and with a faiss HNSW index beyond; a
   candidate becomes an edge when cosine plus the evidence of shared named entities and shared figures clears a
   threshold. Cosine alone cannot separate an event from a topic ("North Korea sends troops to Russia" vs "North
   Korea blows up roads" are 0.4-0.6 apart, the seeds 0.74); shared figures (3,000 troops, 10,000 troops) and
   shared actors are what an event adds.

Edges (copies and stories) are resolved with connected components (union-find) in one keyed step: the edge list is
far smaller than the corpus. Story ids are the article_id of the story's earliest article, or the id the story
index already gave the story, so re-runs and later runs keep them.
"""
from __future__ import annotations

import collections
import datetime as dt
import itertools
import re
from dataclasses import dataclass

import apache_beam as beam
import numpy as np

from transforms.common import CountingDoFn
from transforms.extract import normalized_text
from transforms.figures import parse_figures
from transforms.ner_model import split_words

NUM_PERM = 64
BANDS = 16  # 16 bands x 4 rows: a pair with Jaccard 0.8 shares a band with probability ~1, at 0.2 with ~0.02
MIN_SHARED_BANDS = 2  # a pair sharing >= 2 of 16 bands has an estimated Jaccard of about 0.55 or more
MAX_BUCKET = 500  # LSH buckets larger than this are boilerplate collisions, not copies


@dataclass(frozen=True)
class StoryParams:
    window_days: float = 3.0
    min_cosine: float = 0.45  # below this no amount of shared evidence makes an edge
    threshold: float = 0.80
    entity_weight: float = 0.04  # per shared entity, up to 4
    number_weight: float = 0.06  # per shared figure, up to 2
    neighbours: int = 20
    exact_block_limit: int = 20_000  # above this a block is searched with faiss HNSW (approximate)


# ---- signatures ------------------------------------------------------------------------------------------------
_WORD = re.compile(r"\w+", re.UNICODE)


def shingles(text: str, k: int = 5) -> list[bytes]:
    words = _WORD.findall(normalized_text(text))
    if len(words) < k:
        return [" ".join(words).encode()] if words else []
    return [" ".join(words[i:i + k]).encode() for i in range(len(words) - k + 1)]


def minhash(text: str) -> np.ndarray:
    from datasketch import MinHash
    m = MinHash(num_perm=NUM_PERM, seed=1)
    sh = shingles(text)
    if sh:
        m.update_batch(sh)
    return m.hashvalues.astype(np.uint64)


def band_keys(hashvalues: np.ndarray) -> list[str]:
    rows = NUM_PERM // BANDS
    return [f"{b}:{hashvalues[b * rows:(b + 1) * rows].tobytes().hex()}" for b in range(BANDS)]


def figures(text: str) -> frozenset[float]:
    """Quantities that identify an event: figures (transforms/figures.py, the one parser claims use too) of 10 or
    more; years, dates, times and ordinals are not figures."""
    text = text or ""
    return frozenset(f.value for f in parse_figures(text, split_words(text))
                     if f.value is not None and f.value >= 10 and not f.vague)


def entity_keys(entities) -> frozenset[str]:
    """Normalized names of an article's entities: case-folded, without a leading 'the' or a trailing 's."""
    keys = set()
    for e in entities or ():
        name = re.sub(r"^the\s+|['’]s$", "", e["text"].casefold()).strip()
        if len(name) > 1:
            keys.add(name)
    return frozenset(keys)


def epoch(ts) -> float | None:
    if ts is None:
        return None
    if isinstance(ts, dt.datetime):
        return (ts if ts.tzinfo else ts.replace(tzinfo=dt.timezone.utc)).timestamp()
    return float(ts)


def signature(article: dict, embedding: np.ndarray, story_id: str | None = None) -> dict:
    return {
        "article_id": article["article_id"],
        "published": epoch(article.get("published_at")),
        "content_hash": article.get("content_hash"),
        "text_len": len(article.get("text") or ""),
        "minhash": minhash(article.get("text") or "").tobytes(),
        "embedding": np.asarray(embedding, dtype=np.float32).tobytes(),
        "entities": sorted(entity_keys(article.get("entities"))),
        "figures": sorted(figures(article.get("text") or "")),
        "story_id": story_id,  # set for rows of the story index (earlier runs)
    }


# ---- edges -----------------------------------------------------------------------------------------------------
def bucket_pairs(ids: list[str]) -> list[tuple[str, str]]:
    """Every pair in one LSH bucket (buckets over MAX_BUCKET are boilerplate collisions and yield none)."""
    ids = sorted(set(ids))
    if len(ids) > MAX_BUCKET:
        return []
    return list(itertools.combinations(ids, 2))


def copy_key_hits(sig: dict) -> list[tuple[str, str]]:
    """(bucket key, article_id) for each LSH band. Exact copies (same normalized text) share every band."""
    return [(k, sig["article_id"]) for k in band_keys(np.frombuffer(sig["minhash"], dtype=np.uint64))]


def story_score(entities_a, figures_a, entities_b, figures_b, cosine: float, p: StoryParams) -> float:
    shared_entities = len(set(entities_a) & set(entities_b))
    shared_figures = len(set(figures_a) & set(figures_b))
    return cosine + p.entity_weight * min(shared_entities, 4) + p.number_weight * min(shared_figures, 2)


def within_window(published_a, published_b, p: StoryParams) -> bool:
    if published_a is None or published_b is None:
        return published_a is None and published_b is None
    return abs(published_a - published_b) <= p.window_days * 86400


def block_keys(sig: dict, p: StoryParams) -> list[tuple]:
    """An article is 'home' in its time block and a 'guest' in the next, so every pair published within the
    window meets in exactly one block's comparisons (home x home, or home x guest)."""
    if sig["published"] is None:
        return [("undated", "home")]
    b = int(sig["published"] // (p.window_days * 86400))
    return [(b, "home"), (b + 1, "guest")]


def blocks_met(sig: dict, p: StoryParams) -> list:
    """The home blocks of every index row that can meet this signature in block_keys' comparisons."""
    b = block_keys(sig, p)[0][0]
    return ["undated"] if b == "undated" else [b - 1, b, b + 1]


def _neighbours(home: np.ndarray, pool: np.ndarray, k: int, p: StoryParams):
    """(row, col, cosine) of each home vector's top-k neighbours in pool with cosine >= min_cosine.

    Exact (BLAS, 1,024 rows at a time, deterministic) up to exact_block_limit pool vectors; a faiss HNSW index
    beyond that (approximate: a dense block may then miss a rare neighbour).
    """
    k = min(k, len(pool))
    if len(pool) <= p.exact_block_limit:
        for start in range(0, len(home), 1024):
            sims = home[start:start + 1024] @ pool.T
            if k < len(pool):
                idx = np.argpartition(-sims, k - 1, axis=1)[:, :k]
            else:
                idx = np.tile(np.arange(len(pool)), (len(sims), 1))
            vals = np.take_along_axis(sims, idx, axis=1)
            rows, cols = np.nonzero(vals >= p.min_cosine)
            for r, c in zip(rows.tolist(), cols.tolist()):
                yield start + r, int(idx[r, c]), float(vals[r, c])
        return
    import faiss
    index = faiss.IndexHNSWFlat(pool.shape[1], 32, faiss.METRIC_INNER_PRODUCT)
    index.hnsw.efConstruction = 64
    threads = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(1)  # a multi-threaded HNSW build depends on thread timing: the same input, one graph
    try:
        index.add(pool)
    finally:
        faiss.omp_set_num_threads(threads)
    index.hnsw.efSearch = max(64, 2 * k)
    vals, idx = index.search(home, k)
    for r in range(len(home)):
        for c, v in zip(idx[r], vals[r]):
            if c >= 0 and v >= p.min_cosine:
                yield r, int(c), float(v)


def block_member(sig: dict) -> tuple:
    """What a time block needs of a signature: id, time, float16 embedding, entities, figures (small to shuffle)."""
    emb = np.frombuffer(sig["embedding"], dtype=np.float32).astype(np.float16).tobytes()
    return (sig["article_id"], sig["published"], emb, tuple(sig["entities"]), tuple(sig["figures"]))


def story_pairs(homes: list[tuple], guests: list[tuple], p: StoryParams) -> list[tuple[str, str]]:
    """Edges among block members (tuples from block_member)."""
    if not homes:
        return []
    # members arrive in the shuffle's order: sort them, so the matrices, ties and neighbour lists do not depend on it
    homes, guests = sorted(homes), sorted(guests)
    pool = homes + guests
    vec = np.stack([np.frombuffer(m[2], dtype=np.float16) for m in pool]).astype(np.float32)
    out = set()
    for r, c, cosine in _neighbours(vec[: len(homes)], vec, p.neighbours + 1, p):
        a, b = pool[r], pool[c]
        if a[0] == b[0] or not within_window(a[1], b[1], p):
            continue
        if story_score(a[3], a[4], b[3], b[4], cosine, p) >= p.threshold:
            out.add((a[0], b[0]) if a[0] < b[0] else (b[0], a[0]))
    return sorted(out)


# ---- resolution --------------------------------------------------------------------------------------------------
class UnionFind:
    def __init__(self):
        self.parent = {}

    def find(self, x):
        self.parent.setdefault(x, x)
        while self.parent[x] != x:
            self.parent[x] = self.parent[self.parent[x]]
            x = self.parent[x]
        return x

    def union(self, a, b):
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)

    def groups(self, items):
        out = collections.defaultdict(list)
        for x in items:
            out[self.find(x)].append(x)
        return out.values()


def resolve(nodes: list[dict], copy_edges, story_edges) -> dict[str, dict]:
    """Connected components → {article_id: {duplicate_of, duplicate_kind, story_id}}.

    nodes: {article_id, published, text_len, content_hash, story_id (from the index or None)}.
    Canonical copy: earliest published, then longest text, then smallest id. Story id: the id an indexed member
    already carries (the earliest such member's), else the earliest member's article_id.
    """
    by_id = {n["article_id"]: n for n in nodes}
    order = {aid: (n["published"] if n["published"] is not None else float("inf"), -n["text_len"], aid)
             for aid, n in by_id.items()}
    out = {aid: {"duplicate_of": None, "duplicate_kind": None, "story_id": None} for aid in by_id}
    copies, stories = UnionFind(), UnionFind()
    for a, b in copy_edges:
        if a in by_id and b in by_id:
            copies.union(a, b)
            stories.union(a, b)
    for a, b in story_edges:
        if a in by_id and b in by_id:
            stories.union(a, b)
    for group in copies.groups(by_id):
        canonical = min(group, key=order.__getitem__)
        for aid in group:
            if aid != canonical:
                same = by_id[aid]["content_hash"] == by_id[canonical]["content_hash"]
                out[aid].update(duplicate_of=canonical, duplicate_kind="exact" if same else "copy")
    for group in stories.groups(by_id):
        indexed = [a for a in group if by_id[a]["story_id"]]
        if indexed:
            story_id = by_id[min(indexed, key=order.__getitem__)]["story_id"]
        else:
            story_id = min(group, key=order.__getitem__)
        for aid in group:
            out[aid]["story_id"] = story_id
    return out


# ---- Beam ------------------------------------------------------------------------------------------------------
class MakeSignature(CountingDoFn):
    stage = "dedup"

    def process(self, article_and_embedding):
        article, embedding = article_and_embedding
        self.count("in")
        with self.timed():
            sig = signature(article, embedding)
        yield article, sig


class BucketPairs(CountingDoFn):
    stage = "dedup"

    def process(self, kv):
        _, ids = kv
        ids = list(ids)
        if len(set(ids)) > MAX_BUCKET:
            self.count("oversized_buckets")
        for pair in bucket_pairs(ids):
            yield pair, 1


class StoryCandidates(CountingDoFn):
    stage = "dedup"

    def __init__(self, params: StoryParams):
        self.params = params

    def process(self, kv):
        _, members = kv
        homes = [s for role, s in members if role == "home"]
        guests = [s for role, s in members if role == "guest"]
        with self.timed():
            pairs = story_pairs(homes, guests, self.params)
        for pair in pairs:
            self.count("story_edges")
            yield pair


class Resolve(CountingDoFn):
    stage = "dedup"

    def process(self, kv):
        _, grouped = kv
        nodes = {}
        for n in grouped["nodes"]:
            # an article both in this run and in the index keeps the index's story id
            prev = nodes.get(n["article_id"])
            if prev is None or (n["story_id"] and not prev["story_id"]):
                nodes[n["article_id"]] = n
        with self.timed():
            result = resolve(list(nodes.values()), list(grouped["copies"]), list(grouped["stories"]))
        self.count("stories", len({r["story_id"] for r in result.values()}))
        self.count("duplicates", sum(1 for r in result.values() if r["duplicate_of"]))
        yield from result.items()


def _node(sig: dict) -> dict:
    return {k: sig[k] for k in ("article_id", "published", "text_len", "content_hash", "story_id")}


def _attach(kv):
    _, grouped = kv
    assignment = (list(grouped["assignment"]) or [None])[0]
    for article in grouped["article"]:
        yield dict(article, **(assignment or {}))


def _index_row(kv, new_only: bool = False):
    """The story index row of an article: its signature and the story it ended in. new_only (a streaming
    window, whose index rows are added to the earlier ones): only articles of this window."""
    _, grouped = kv
    assignment = (list(grouped["assignment"]) or [None])[0]
    sigs = sorted(grouped["sig"], key=lambda s: s["story_id"] is not None)  # this run's signature first
    if new_only and (not sigs or sigs[0]["story_id"] is not None):
        return
    for sig in sigs[:1]:
        yield dict(sig, story_id=assignment["story_id"] if assignment else sig["story_id"])


class ResolveStories(beam.PTransform):
    """signatures → (article_id, {duplicate_of, duplicate_kind, story_id}) pairs: candidates + resolution."""

    def __init__(self, params: StoryParams):
        super().__init__()
        self.params = params

    def expand(self, sigs):
        p = self.params
        copies = (sigs
                  | "CopyKeys" >> beam.FlatMap(copy_key_hits)
                  | "GroupCopyKeys" >> beam.GroupByKey()
                  | "BucketPairs" >> beam.ParDo(BucketPairs())
                  | "CountSharedBands" >> beam.CombinePerKey(sum)
                  | "EnoughBands" >> beam.Filter(lambda kv: kv[1] >= MIN_SHARED_BANDS)
                  | "CopyEdge" >> beam.Map(lambda kv: kv[0]))
        stories = (sigs
                   | "TimeBlocks" >> beam.FlatMap(
                       lambda s: [(b, (role, block_member(s))) for b, role in block_keys(s, p)])
                   | "GroupTimeBlocks" >> beam.GroupByKey()
                   | "StoryEdges" >> beam.ParDo(StoryCandidates(p))
                   | "UniqueStoryEdges" >> beam.Distinct())
        one = lambda pc, label: pc | label >> beam.Map(lambda x: (None, x))  # noqa: E731 - all edges to one key
        return ({"nodes": one(sigs | "Nodes" >> beam.Map(_node), "NodesToOne"),
                 "copies": one(copies, "CopiesToOne"), "stories": one(stories, "StoriesToOne")}
                | "GatherGraph" >> beam.CoGroupByKey()
                | "ConnectedComponents" >> beam.ParDo(Resolve()))


class DeduplicateStories(beam.PTransform):
    """articles (with entities) → {'articles': with duplicate/story columns, 'index': story index rows}.

    `index` gives the signatures of the story index of earlier runs (transforms.stories.ReadStoryIndex); they take
    part in candidate generation and lend their story ids, but are not written as articles again.
    """

    def __init__(self, params: StoryParams | None = None, index: "beam.PTransform | list[dict] | None" = None,
                 embedding_model: str | None = None, live_index_dir: str | None = None):
        super().__init__()
        self.params = params or StoryParams()
        self.index = index  # a source of story index rows (ReadStoryIndex) or a list of them (tests)
        self.embedding_model = embedding_model
        # streaming: the output directory whose index files each window reads when it fires (LiveIndexRows), so
        # it meets the stories of earlier runs and of this job's earlier windows; a window then writes index rows
        # for its own articles only
        self.live_index_dir = live_index_dir

    def expand(self, articles):
        from transforms.embed import EmbedArticles
        signed = (articles
                  | "Embed" >> EmbedArticles(self.embedding_model)
                  | "Signature" >> beam.ParDo(MakeSignature()))
        new_sigs = signed | "SigOnly" >> beam.Map(lambda a_s: a_s[1])
        if isinstance(self.index, beam.PTransform):
            old_sigs = articles.pipeline | "StoryIndex" >> self.index
            sigs = (new_sigs, old_sigs) | "AllSignatures" >> beam.Flatten()
        elif self.live_index_dir:
            from transforms.stories import LiveIndexRows
            params = self.params
            old_sigs = (new_sigs
                        | "BlocksMet" >> beam.FlatMap(lambda s: blocks_met(s, params))
                        | "OncePerWindow" >> beam.Distinct()
                        | "LiveIndexRows" >> beam.ParDo(LiveIndexRows(self.live_index_dir, params)))
            sigs = (new_sigs, old_sigs) | "AllSignatures" >> beam.Flatten()
        elif self.index:
            old_sigs = articles.pipeline | "StoryIndex" >> beam.Create(self.index)
            sigs = (new_sigs, old_sigs) | "AllSignatures" >> beam.Flatten()
        else:
            sigs = new_sigs
        assignments = sigs | "ResolveStories" >> ResolveStories(self.params)
        by_id = signed | "KeyArticles" >> beam.Map(lambda a_s: (a_s[0]["article_id"], a_s[0]))
        out_articles = ({"article": by_id, "assignment": assignments}
                        | "JoinAssignments" >> beam.CoGroupByKey()
                        | "Attach" >> beam.FlatMap(_attach))
        index = ({"sig": sigs | "KeySigs" >> beam.Map(lambda s: (s["article_id"], s)), "assignment": assignments}
                 | "JoinIndex" >> beam.CoGroupByKey()
                 | "IndexRows" >> beam.FlatMap(_index_row, new_only=bool(self.live_index_dir)))
        return {"articles": out_articles, "index": index}
