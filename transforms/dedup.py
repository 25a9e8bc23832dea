"""DeduplicateStories: articles → articles with duplicate_of / duplicate_kind / story_id / thread_id, and the story
index that the next run starts from. docs/architecture.md ("Story grouping") explains the rules and the figures.

Two levels: a story is one event (the same announcement, reported the same days); a thread is a developing story
made of several stories. Nothing is all-pairs and no step sends the corpus to one key:
1. exact copies: the same canonical URL (the same article_id, merged by the Parquet sink) or the same normalized
   text (the same MinHash, labelled 'exact' by its content hash);
2. copies: MinHash over word 5-shingles, LSH bands as GroupByKey keys; a pair is a copy when it shares at least
   MIN_SHARED_BANDS of the 16 bands (counted with CombinePerKey, so no MinHash array is shuffled);
3. story candidates: publication-time blocks (an article meets the articles of its block and the previous one;
   an undated article searches every block), nearest neighbours by title+lead embedding, kept as edges when the
   pair score (cosine, people / organizations / places by canonical key, years, figures) clears the threshold;
4. connected components of the copy and story edges, distributed (hash-to-min rounds, ConnectedComponents);
5. per component: copy groups, and stories by average link over every pair's score, so one bridge pair cannot
   chain two events;
6. threads: steps 3-5 over story summaries with a longer window and a lower threshold, average link over the
   articles with each story held together.

Ids: a story's id is the id its indexed members already carry, else its earliest article's id; a thread's id is
the id an indexed story carries, else its earliest story's id; so re-runs and later runs keep them.
"""
from __future__ import annotations

import collections
import datetime as dt
import itertools
import math
import re
import unicodedata
from dataclasses import dataclass

import apache_beam as beam
import numpy as np

from transforms.common import ERRORS, CountingDoFn
from transforms.dates import text_months
from transforms.entities import canonical_name
from transforms.extract import normalized_text
from transforms.figures import parse_figures
from transforms.ner_model import split_words

NUM_PERM = 64
BANDS = 16  # 16 bands x 4 rows: a pair with Jaccard 0.8 shares a band with probability ~1, at 0.2 with ~0.02
MIN_SHARED_BANDS = 2  # a pair sharing >= 2 of 16 bands has an estimated Jaccard of about 0.55 or more
MAX_BUCKET = 500  # LSH buckets larger than this are boilerplate collisions, not copies


@dataclass(frozen=True)
class StoryParams:
    window_days: float = 3.0  # candidates: dated articles meet within this (time blocks of this width)
    late_penalty: float = 0.05  # taken off a dated pair further apart than window_days (coverage goes on for days)
    thread_window_days: float = 30.0  # a thread links stories whose first articles are within this; no story
    # spans more than this
    min_cosine: float = 0.45  # candidates: a pair under this embedding cosine is not scored at all
    threshold: float = 0.45  # story: the average pair score over two clusters' articles that a merge needs
    thread_threshold: float = 0.25  # thread: the same over two story groups' stories
    cosine_weight: float = 0.5  # pair score: this share of cosine, the rest entity overlap (when both have any)
    year_penalty: float = 0.10  # taken off when the two articles' years differ (publication, else the text's)
    month_penalty: float = 0.05  # taken off when both texts name months and no month is common to both
    figure_weight: float = 0.05  # per shared figure, up to 2
    neighbours: int = 20
    exact_block_limit: int = 20_000  # above this a block is searched with a faiss IVF index (approximate)
    max_component: int = 4_000  # average link over a component up to this many articles; larger ones stay linked
    cc_rounds: int = 3  # distributed connected components: rounds before the (rarely used) one-key finish


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


ENTITY_LABELS = ("PER", "ORG", "LOC")  # MISC (demonyms, events, products) says little about which event


def name_key(name: str, person: bool = False) -> str:
    """The form two outlets' spellings of one name share: accents and punctuation dropped, case-folded, doubled
    letters collapsed, y read as i and a final i dropped (Zelensky / Zelenskiy / Zelenskyy → zelensk); a person by
    surname (the canonical name is already the full one where the article gave it)."""
    s = unicodedata.normalize("NFKD", name)
    s = "".join(c for c in s if not unicodedata.combining(c)).casefold()
    s = re.sub(r"['’]s\b", "", s)
    s = re.sub(r"[^\w ]+", "", s).strip()
    s = re.sub(r"^the ", "", s)
    if person and " " in s:
        s = s.rsplit(" ", 1)[1]
    s = re.sub(r"(.)\1+", r"\1", s).replace("y", "i")
    return s.rstrip("i") if len(s) > 4 else s


def entity_keys(entities) -> frozenset[str]:
    """Keys of an article's people, organizations and places, from their canonical names (transforms/entities.py),
    so that another outlet's spelling or a surname alone meets the same key."""
    keys = set()
    for e in entities or ():
        if e.get("label") not in ENTITY_LABELS:
            continue
        key = name_key(e.get("canonical") or canonical_name(e["text"], e["label"]), person=e["label"] == "PER")
        if len(key) > 1:
            keys.add(key)
    return frozenset(keys)


_YEAR = re.compile(r"\b(19[5-9]\d|20[0-4]\d)\b")


def event_year(article: dict) -> int | None:
    """When, to the year: the publication year, else the latest year the text mentions (an undated report of
    'the 2013 election' is not the 2008 one)."""
    published = article.get("published_at")
    if published is not None:
        return published.year if isinstance(published, dt.datetime) else \
            dt.datetime.fromtimestamp(float(published), dt.timezone.utc).year
    years = [int(y) for y in _YEAR.findall(article.get("text") or "")]
    return max(years) if years else None


def epoch(ts) -> float | None:
    if ts is None:
        return None
    if isinstance(ts, dt.datetime):
        return (ts if ts.tzinfo else ts.replace(tzinfo=dt.timezone.utc)).timestamp()
    return float(ts)


def signature(article: dict, embedding: np.ndarray, story_id: str | None = None, evidence: bool = True) -> dict:
    """What story grouping knows of an article. evidence=False leaves out the who / when / how-many signals
    (entities, figures, year, months): the fallback when computing one of them failed."""
    text = article.get("text") or ""
    return {
        "article_id": article["article_id"],
        "published": epoch(article.get("published_at")),
        "content_hash": article.get("content_hash"),
        "text_len": len(text),
        "minhash": minhash(text).tobytes(),
        "embedding": np.asarray(embedding, dtype=np.float32).tobytes(),
        "entities": sorted(entity_keys(article.get("entities"))) if evidence else [],
        "figures": sorted(figures(text)) if evidence else [],
        "year": event_year(article if evidence else {"published_at": article.get("published_at")}),
        "months": sorted(text_months(text)) if evidence else [],
        "story_id": story_id,  # set for rows of the story index (earlier runs)
        "thread_id": None,
    }


# ---- the pair score -------------------------------------------------------------------------------------------
# One score for "same event", from what the issue calls who / where / when / how many: the embedding cosine of
# title and lead; the overlap of people, organizations and places by canonical key (cosine of the two key sets);
# a penalty when the years differ, and one when both texts name months but none in common (a patch released "on
# Dec. 11" and one "on Sept. 17"); a bonus per shared figure. Articles without entities (--no-ner) are scored on
# the cosine alone. Two implementations of the same formula: one pair at a time for candidates, a matrix
# for average link (tests check they agree).

def pair_score(a: tuple, b: tuple, cosine: float, p: StoryParams) -> float:
    """a, b: block members (block_member); cosine: their embeddings' cosine."""
    ents_a, ents_b = set(a[3]), set(b[3])
    if ents_a and ents_b:
        overlap = len(ents_a & ents_b) / math.sqrt(len(ents_a) * len(ents_b))
        score = p.cosine_weight * cosine + (1 - p.cosine_weight) * overlap
    else:
        score = cosine
    if a[5] is not None and b[5] is not None and a[5] != b[5]:
        score -= p.year_penalty
    if a[6] and b[6] and not set(a[6]) & set(b[6]):
        score -= p.month_penalty
    return score + p.figure_weight * min(len(set(a[4]) & set(b[4])), 2)


def _incidence(sets: list) -> np.ndarray:
    vocab = {}
    rows, cols = [], []
    for i, items in enumerate(sets):
        for x in items:
            rows.append(i)
            cols.append(vocab.setdefault(x, len(vocab)))
    m = np.zeros((len(sets), max(1, len(vocab))), dtype=np.float32)
    m[rows, cols] = 1.0
    return m


def score_matrix(members: list[tuple], p: StoryParams, window_days: float | None = None,
                 max_days: float | None = None) -> np.ndarray:
    """pair_score for every pair of members at once; dated pairs further apart than window_days lose
    late_penalty, and those further apart than max_days score -1 (never one group)."""
    vec = np.stack([np.frombuffer(m[2], dtype=np.float16) for m in members]).astype(np.float32)
    cos = vec @ vec.T
    ents = _incidence([m[3] for m in members])
    shared = ents @ ents.T
    sizes = np.diag(shared).copy()
    both = np.outer(sizes > 0, sizes > 0)
    overlap = shared / np.sqrt(np.maximum(np.outer(sizes, sizes), 1.0))
    score = np.where(both, p.cosine_weight * cos + (1 - p.cosine_weight) * overlap, cos)
    years = np.array([m[5] if m[5] is not None else 0 for m in members])
    score -= p.year_penalty * ((years[:, None] > 0) & (years[None, :] > 0) & (years[:, None] != years[None, :]))
    months = _incidence([m[6] for m in members])
    named = months.sum(1) > 0
    score -= p.month_penalty * (np.outer(named, named) & ((months @ months.T) == 0))
    figs = _incidence([m[4] for m in members])
    score += p.figure_weight * np.minimum(figs @ figs.T, 2)
    if window_days is not None or max_days is not None:
        t = np.array([m[1] if m[1] is not None else np.nan for m in members])
        with np.errstate(invalid="ignore"):
            gap = np.abs(t[:, None] - t[None, :]) / 86400  # NaN (undated) compares False below
            if window_days is not None:
                score = score - p.late_penalty * (gap > window_days)
            if max_days is not None:
                score = np.where(gap > max_days, -1.0, score)
    return score


# ---- candidates --------------------------------------------------------------------------------------------------
def bucket_pairs(ids: list[str]) -> list[tuple[str, str]]:
    """Every pair in one LSH bucket (buckets over MAX_BUCKET are boilerplate collisions and yield none)."""
    ids = sorted(set(ids))
    if len(ids) > MAX_BUCKET:
        return []
    return list(itertools.combinations(ids, 2))


def copy_key_hits(sig: dict) -> list[tuple[str, str]]:
    """(bucket key, article_id) for each LSH band. Exact copies (same normalized text) share every band."""
    return [(k, sig["article_id"]) for k in band_keys(np.frombuffer(sig["minhash"], dtype=np.uint64))]


def within_window(published_a, published_b, days: float) -> bool:
    """Dated pairs within `days`; a pair with an undated side is judged on content alone."""
    if published_a is None or published_b is None:
        return True
    return abs(published_a - published_b) <= days * 86400


def time_block(published: float | None, days: float):
    return "undated" if published is None else int(published // (days * 86400))


def block_keys(sig: dict, p: StoryParams, days: float | None = None) -> list[tuple]:
    """An article is 'home' in its time block and a 'guest' in the next, so every pair published within the
    window meets in exactly one block's comparisons (home x home, or home x guest). Undated articles are home in
    the 'undated' block; DatedBlocks sends them as guests to every dated block as well."""
    b = time_block(sig["published"], days or p.window_days)
    return [(b, "home")] if b == "undated" else [(b, "home"), (b + 1, "guest")]


def arrival_blocks(arrival, days: float) -> list[int]:
    """Where an undated article searches in a streaming window, which has no list of every dated block: the
    dated blocks of its arrival (its element timestamp) and the one before, i.e. what was published up to about
    two windows before it came in."""
    b = time_block(float(arrival), days)
    return [b - 1, b]


def blocks_met(sig: dict, p: StoryParams, arrival=None) -> list:
    """The home blocks of every index row that can meet this signature in block_keys' comparisons (an undated
    signature with its arrival: also the blocks it searches, arrival_blocks)."""
    b = block_keys(sig, p)[0][0]
    if b == "undated":
        return ["undated"] + (arrival_blocks(arrival, p.window_days) if arrival is not None else [])
    return [b - 1, b, b + 1, "undated"]


def _live_blocks_met(sig: dict, p: StoryParams, arrival=beam.DoFn.TimestampParam) -> list:
    return blocks_met(sig, p, arrival)


def _neighbours(home: np.ndarray, pool: np.ndarray, k: int, p: StoryParams):
    """(row, col, cosine) of each home vector's top-k neighbours in pool with cosine >= min_cosine.

    Exact (BLAS, 1,024 rows at a time) up to exact_block_limit pool vectors. Beyond that, a faiss inverted-file
    index (IVF-Flat): k-means cells of about IVF_CELL_SIZE vectors, each query scanning its IVF_PROBES nearest
    cells, so a query costs the same whatever the block's size (an HNSW graph's build grows faster than the block
    and must be single-threaded to be reproducible). Approximate: a neighbour in a cell not probed is missed.
    Both are deterministic: the k-means sample is a fixed stride of the (sorted) pool with a fixed seed, and
    IVF search results do not depend on the thread count.
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
    vals, idx = _ivf_search(home, pool, k)
    for r in range(len(home)):
        for c, v in zip(idx[r], vals[r]):
            if c >= 0 and v >= p.min_cosine:
                yield r, int(c), float(v)


IVF_CELL_SIZE = 256  # vectors per k-means cell, on average
IVF_PROBES = 16  # cells scanned per query (on the synthetic bench: recall of the top 21 about 0.99)


def _ivf_search(home: np.ndarray, pool: np.ndarray, k: int):
    import faiss
    dim = pool.shape[1]
    # k-means wants about 39 points per cell or more (a small pool under a low exact_block_limit: fewer cells)
    cells = min(max(64, len(pool) // IVF_CELL_SIZE), max(1, len(pool) // 39))
    kmeans = faiss.Kmeans(dim, cells, niter=10, seed=1234, spherical=True, max_points_per_centroid=64)
    kmeans.train(np.ascontiguousarray(pool[:: max(1, len(pool) // (cells * 64))]))
    quantizer = faiss.IndexFlatIP(dim)
    quantizer.add(kmeans.centroids)
    index = faiss.IndexIVFFlat(quantizer, dim, cells, faiss.METRIC_INNER_PRODUCT)
    index.is_trained = True
    index.add(np.ascontiguousarray(pool))
    index.nprobe = IVF_PROBES
    return index.search(np.ascontiguousarray(home), k)


def block_member(sig: dict) -> tuple:
    """What a block needs of a signature: id, time, float16 embedding, entity keys, figures, year, months named
    (small to shuffle). Index rows written before months were kept have none."""
    emb = np.frombuffer(sig["embedding"], dtype=np.float32).astype(np.float16).tobytes()
    return (sig["article_id"], sig["published"], emb, tuple(sig["entities"]), tuple(sig["figures"]),
            sig.get("year"), tuple(sig.get("months") or ()))


def story_pairs(homes: list[tuple], guests: list[tuple], p: StoryParams, window_days: float | None = None,
                threshold: float | None = None, searchers: list[tuple] = ()) -> list[tuple[str, str, float]]:
    """Scored edges (a, b, score), a < b, among block members: each home's (and each searcher's: an undated
    guest) nearest neighbours in the block, kept when within the window and scoring at least the threshold."""
    if not homes:
        return []
    window_days = p.window_days if window_days is None else window_days
    threshold = p.threshold if threshold is None else threshold
    # members arrive in the shuffle's order: sort them, so the matrices, ties and neighbour lists do not depend on it
    homes, guests, searchers = sorted(homes), sorted(guests), sorted(searchers)
    pool = homes + guests
    vec = np.stack([np.frombuffer(m[2], dtype=np.float16) for m in pool]).astype(np.float32)
    rows = vec[: len(homes)]
    if searchers:
        searcher_rows = [len(homes) + guests.index(s) for s in searchers]
        rows = np.concatenate([rows, vec[searcher_rows]])
    else:
        searcher_rows = []
    out = {}
    for r, c, cosine in _neighbours(rows, vec, p.neighbours + 1, p):
        if r >= len(homes) and c >= len(homes):
            continue  # a searcher meets this block's homes only: an undated pair meets in the undated block
        a = pool[r] if r < len(homes) else pool[searcher_rows[r - len(homes)]]
        b = pool[c]
        if a[0] == b[0] or not within_window(a[1], b[1], window_days):
            continue
        score = pair_score(a, b, cosine, p)
        if score >= threshold:
            out[(a[0], b[0]) if a[0] < b[0] else (b[0], a[0])] = score
    return sorted((a, b, s) for (a, b), s in out.items())


# ---- resolution: connected components without one key, then average link inside each component ----------------
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


def average_link(score: np.ndarray, threshold: float, must_link=()) -> list[int]:
    """Average-link agglomerative clustering: two clusters merge while the mean score over all their pairs is at
    least `threshold`. One strong bridge pair cannot chain two events together: every pair counts. must_link:
    index pairs that are one cluster whatever their scores (copies; the stories of a thread level). Returns a
    cluster label per row: the smallest row index of its cluster.

    scipy's average linkage (NN-chain, O(n²)) on distance = top - score, with distance 0 inside must-link groups
    so they merge first; a cut at top - threshold. Average linkage has no inversions, so the cut equals merging
    best pair first while the mean clears the threshold."""
    n = len(score)
    uf = UnionFind()
    for i, j in must_link:
        uf.union(i, j)
    group = np.array([uf.find(i) for i in range(n)])
    if n < 2 or len(set(group.tolist())) == 1:
        return [0] * n
    from scipy.cluster.hierarchy import fcluster, linkage
    from scipy.spatial.distance import squareform
    top = float(max(score.max(), threshold)) + 1.0
    distance = top - np.asarray(score, dtype=np.float64)
    distance = (distance + distance.T) / 2
    distance[group[:, None] == group[None, :]] = 0.0
    np.fill_diagonal(distance, 0.0)
    tree = linkage(squareform(distance, checks=False), method="average")
    cluster = fcluster(tree, t=top - threshold, criterion="distance")
    first = {}
    for i, c in enumerate(cluster.tolist()):
        first.setdefault(c, i)
    return [first[c] for c in cluster.tolist()]


def hash_to_min(kv):
    """One round of hash-to-min connected components (Rastogi et al. 2013) on GroupByKey output: a node's cluster
    (itself and what it received) goes to the cluster's smallest id, and that smallest id to every member. After
    O(log diameter) rounds each component's smallest id holds the component and every other node holds it."""
    node, received = kv
    cluster = {node}
    for c in received:
        cluster.update(c)
    smallest = min(cluster)
    yield smallest, tuple(sorted(cluster))
    for x in cluster:
        if x != smallest:
            yield x, (smallest,)


def _label(kv):
    node, received = kv
    return node, min(min(c) for c in received) if received else node


def _finish_components(kv):
    """One key for the edges whose ends still disagree after the rounds (none for shallow graphs): union-find
    over their labels."""
    _, edges = kv
    uf = UnionFind()
    for a, b in edges:
        uf.union(a, b)
    for x in sorted(uf.parent):
        yield x, uf.find(x)


def _labels_to_neighbours(kv):
    """(node, {label, neighbours}) → its label to itself and to each neighbour."""
    node, grouped = kv
    label = min(list(grouped["label"]) or [node])
    yield node, ("own", label)
    for neighbours in grouped["neighbours"]:
        for u in neighbours:
            yield u, ("neighbour", label)


def _disagreements(kv):
    """A node whose neighbours carry labels other than its own: those label pairs (none once converged)."""
    _, received = kv
    own = [label for kind, label in received if kind == "own"]
    return sorted({(min(own[0], label), max(own[0], label)) for kind, label in received
                   if kind == "neighbour" and label != own[0]}) if own else []


class ConnectedComponents(beam.PTransform):
    """edges (a, b, ...) → (node, component) for every node with an edge; component = its smallest node id.

    Distributed: `rounds` hash-to-min rounds (one GroupByKey each; a component's members meet under its smallest
    id, not under one key for the whole graph). Then each node sends its label to its neighbours; labels that
    still disagree (a graph deeper than the rounds reach) are finished under one key that holds only them."""

    def __init__(self, rounds: int, stage: str = "dedup"):
        super().__init__()
        self.rounds = rounds
        self.stage = stage

    def expand(self, edges):
        neighbours = (edges
                      | "BothWays" >> beam.FlatMap(lambda e: [(e[0], e[1]), (e[1], e[0])])
                      | "Neighbours" >> beam.GroupByKey()
                      | "NeighbourSets" >> beam.MapTuple(lambda node, ns: (node, tuple(sorted(set(ns))))))
        state = neighbours | "Round0" >> beam.Map(lambda kv: (kv[0], [kv[1]]))
        for r in range(self.rounds):
            state = (state
                     | f"HashToMin{r}" >> beam.FlatMap(lambda kv: hash_to_min((kv[0], list(kv[1]))))
                     | f"Group{r}" >> beam.GroupByKey())
        labels = state | "Label" >> beam.Map(lambda kv: _label((kv[0], list(kv[1]))))
        stage = self.stage
        unfinished = ({"label": labels, "neighbours": neighbours}
                      | "JoinNeighbours" >> beam.CoGroupByKey()
                      | "SendLabels" >> beam.FlatMap(_labels_to_neighbours)
                      | "GroupLabels" >> beam.GroupByKey()
                      | "Disagree" >> beam.FlatMap(lambda kv: _disagreements((kv[0], list(kv[1]))))
                      | "CountUnfinished" >> beam.Map(_count(stage, "components_unfinished_edges"))
                      | "ToOneKey" >> beam.Map(lambda e: (None, e))
                      | "GatherUnfinished" >> beam.GroupByKey()
                      | "FinishComponents" >> beam.FlatMap(_finish_components))
        # a label the finish renamed: every node carrying it takes the new one
        return ({"label": labels | "ByLabel" >> beam.Map(lambda kv: (kv[1], kv[0])), "renamed": unfinished}
                | "JoinRenamed" >> beam.CoGroupByKey()
                | "Relabel" >> beam.FlatMap(lambda kv: [(node, min(list(kv[1]["renamed"]) or [kv[0]]))
                                                        for node in kv[1]["label"]]))


def _count(stage: str, name: str):
    counter = beam.metrics.Metrics.counter(stage, name)

    def inc(x):
        counter.inc()
        return x
    return inc


def resolve_component(nodes: list[dict], copy_edges, p: StoryParams):
    """One component → ({article_id: {duplicate_of, duplicate_kind, story_id}}, story summaries).

    nodes: {article_id, published, text_len, content_hash, story_id, thread_id (index rows), member}. Copies
    (MinHash) are one copy group and always one story; stories are average-link clusters over the pair score.
    Canonical copy: earliest published, then longest text, then smallest id. Story id: the id an indexed member
    already carries (the earliest such member's), else the earliest member's article_id.
    """
    nodes = sorted(nodes, key=lambda n: n["article_id"])
    row = {n["article_id"]: i for i, n in enumerate(nodes)}
    order = {n["article_id"]: (n["published"] if n["published"] is not None else float("inf"), -n["text_len"],
                               n["article_id"]) for n in nodes}
    out = {n["article_id"]: {"duplicate_of": None, "duplicate_kind": None, "story_id": None} for n in nodes}
    copy_pairs = sorted((row[a], row[b]) for a, b in copy_edges if a in row and b in row)
    copies = UnionFind()
    for i, j in copy_pairs:
        copies.union(i, j)
    for group in copies.groups(range(len(nodes))):
        canonical = min((nodes[i]["article_id"] for i in group), key=order.__getitem__)
        for i in group:
            aid = nodes[i]["article_id"]
            if aid != canonical:
                same = nodes[i]["content_hash"] == nodes[row[canonical]]["content_hash"]
                out[aid].update(duplicate_of=canonical, duplicate_kind="exact" if same else "copy")
    if len(nodes) == 1:
        labels = [0]
    elif len(nodes) <= p.max_component:
        matrix = score_matrix([n["member"] for n in nodes], p, p.window_days, p.thread_window_days)
        labels = average_link(matrix, p.threshold, copy_pairs)
    else:
        labels = [0] * len(nodes)  # too large to cluster: the component (linked by strong edges) is one story
    groups = collections.defaultdict(list)
    for i, label in enumerate(labels):
        groups[label].append(nodes[i])
    summaries = []
    for members in groups.values():
        ids = [m["article_id"] for m in members]
        indexed = [m for m in members if m["story_id"]]
        if indexed:
            story_id = min(indexed, key=lambda m: order[m["article_id"]])["story_id"]
        else:
            story_id = min(ids, key=order.__getitem__)
        for aid in ids:
            out[aid]["story_id"] = story_id
        summaries.append(story_summary(story_id, members))
    return out, summaries


def story_summary(story_id: str, members: list[dict]) -> dict:
    """What threads compare of a story: the mean embedding, entity keys by how many articles name them, figures,
    years, first publication, and the thread id an indexed member carries."""
    vec = np.stack([np.frombuffer(m["member"][2], dtype=np.float16).astype(np.float32) for m in members]).mean(0)
    vec /= max(float(np.linalg.norm(vec)), 1e-9)
    ents = collections.Counter(k for m in members for k in m["member"][3])
    dated = [m["published"] for m in members if m["published"] is not None]
    threads = sorted((m["published"] if m["published"] is not None else float("inf"), m["thread_id"])
                     for m in members if m.get("thread_id"))
    return {"story_id": story_id, "published": min(dated) if dated else None,
            "embedding": vec.astype(np.float16).tobytes(),
            "entities": sorted(ents.items()), "figures": sorted({f for m in members for f in m["member"][4]}),
            "years": sorted({m["member"][5] for m in members if m["member"][5] is not None}),
            "members": [m["member"] for m in members], "thread_id": threads[0][1] if threads else None}


def thread_member(summary: dict) -> tuple:
    """A story summary in block_member's shape: (id, first published, embedding, entity keys, figures, year,
    months). No months here (a developing story's coverage names more months as it goes on); the average link
    over the stories' articles in resolve_threads does compare them."""
    years = summary["years"]
    return (summary["story_id"], summary["published"], summary["embedding"],
            tuple(k for k, _ in summary["entities"]), tuple(summary["figures"]), years[-1] if years else None, ())


def resolve_threads(summaries: list[dict], p: StoryParams) -> dict[str, str]:
    """Stories of one thread component → {story_id: thread_id}: average link over their articles' pair scores
    at thread_threshold (the candidates only link stories within thread_window_days of each other). thread_id:
    the one an indexed story already carries (the earliest's), else the earliest story's id."""
    summaries = sorted(summaries, key=lambda s: s["story_id"])
    order = {s["story_id"]: (s["published"] if s["published"] is not None else float("inf"), s["story_id"])
             for s in summaries}
    rows = [(k, m) for k, s in enumerate(summaries) for m in s["members"]]
    if len(rows) <= p.max_component:
        # average link over the articles, each story held together: the mean pair score between two groups of
        # stories must clear the thread threshold
        first = {}
        must_link = [(first.setdefault(k, r), r) for r, (k, _) in enumerate(rows)]
        labels = average_link(score_matrix([m for _, m in rows], p), p.thread_threshold, must_link)
        story_label = {k: labels[r] for r, (k, _) in enumerate(rows)}
    else:
        story_label = {k: k for k in range(len(summaries))}  # too large to cluster: no thread joins them
    groups = collections.defaultdict(list)
    for k, s in enumerate(summaries):
        groups[story_label[k]].append(s)
    out = {}
    for members in groups.values():
        carried = [s for s in members if s["thread_id"]]
        first = min(carried or members, key=lambda s: order[s["story_id"]])
        thread_id = first["thread_id"] or first["story_id"]
        for s in members:
            out[s["story_id"]] = thread_id
    return out


# ---- Beam ------------------------------------------------------------------------------------------------------
class MakeSignature(CountingDoFn):
    stage = "dedup"

    def process(self, article_and_embedding):
        article, embedding = article_and_embedding
        self.count("in")
        with self.timed():
            try:
                sig = signature(article, embedding)
            except Exception as e:  # noqa: BLE001 - one article's bad text must not stop the job or drop it:
                # it is grouped by its embedding, copies and date alone, and the reason becomes a dead letter
                sig = signature(article, embedding, evidence=False)
                yield self.dead_letter(article.get("url") or article["article_id"], "signals_failed",
                                       f"{type(e).__name__}: {e}"[:500])
        if sig["published"] is None:
            self.count("undated")
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


class ScoredEdges(CountingDoFn):
    """A block's members → its scored edges: story edges over articles, or thread edges over story summaries."""
    stage = "dedup"

    def __init__(self, params: StoryParams, window_days: float, threshold: float, counter: str):
        self.params, self.window_days, self.threshold, self.counter = params, window_days, threshold, counter

    def process(self, kv):
        _, members = kv
        homes = [m for role, m in members if role == "home"]
        guests = [m for role, m in members if role != "home"]
        searchers = [m for role, m in members if role == "undated"]
        with self.timed():
            edges = story_pairs(homes, guests, self.params, self.window_days, self.threshold, searchers)
        self.count(self.counter, len(edges))
        yield from edges


def _blocks(member: tuple, dated_blocks: list | None, days: float,
            arrival=beam.DoFn.TimestampParam) -> list[tuple]:
    """(block, (role, member)) for a block_member-shaped tuple: a dated one is home in its block and guest in
    the next; an undated one is home in the 'undated' block and searches every dated block (ANN inside each
    block), so undated articles are always compared with the dated ones. dated_blocks None (streaming): it
    searches the blocks of its arrival instead (arrival_blocks)."""
    b = time_block(member[1], days)
    if b != "undated":
        return [(b, ("home", member)), (b + 1, ("guest", member))]
    searched = arrival_blocks(arrival, days) if dated_blocks is None else dated_blocks
    return [("undated", ("home", member))] + [(d, ("undated", member)) for d in searched]


class DatedBlockSet(beam.CombineFn):
    """The time blocks where dated members are home, sorted: where undated members search (a searcher meets
    a block's homes only, so guest-only blocks are left out)."""

    def __init__(self, days: float):
        self.days = days

    def create_accumulator(self):
        return set()

    def add_input(self, acc, member):
        if member[1] is not None:
            acc.add(time_block(member[1], self.days))
        return acc

    def merge_accumulators(self, accs):
        out = set()
        for a in accs:
            out |= a
        return out

    def extract_output(self, acc):
        return sorted(acc)


class CandidateEdges(beam.PTransform):
    """block_member-shaped tuples → scored edges (a, b, score) over time blocks of `days`.

    search_undated: undated members also search every dated block (the blocks come as a side input). Streaming
    windows leave it off (a side input computed from the window itself stalls the window); there an undated
    article searches the dated blocks of its arrival (arrival_blocks), in the window and, through the live
    story index, in earlier windows and runs."""

    def __init__(self, params: StoryParams, days: float, threshold: float, counter: str, search_undated: bool = True):
        super().__init__()
        self.params, self.days, self.threshold, self.counter = params, days, threshold, counter
        self.search_undated = search_undated

    def expand(self, members):
        days = self.days
        if self.search_undated:
            dated_blocks = members | "DatedBlocks" >> beam.CombineGlobally(DatedBlockSet(days)).as_singleton_view()
        else:
            dated_blocks = None
        return (members
                | "TimeBlocks" >> beam.FlatMap(_blocks, dated_blocks, days)
                | "GroupTimeBlocks" >> beam.GroupByKey()
                | "ScoreEdges" >> beam.ParDo(ScoredEdges(self.params, days, self.threshold, self.counter)))


class ResolveComponent(CountingDoFn):
    stage = "dedup"

    def __init__(self, params: StoryParams):
        self.params = params

    def process(self, kv):
        _, items = kv
        nodes, copies = {}, []
        for tag, item in items:
            if tag == "copy":
                copies.append(item)
                continue
            n = item
            # an article both in this run and in the index keeps the index's story id
            prev = nodes.get(n["article_id"])
            if prev is None or (n["story_id"] and not prev["story_id"]):
                nodes[n["article_id"]] = n
        if len(nodes) > self.params.max_component:
            self.count("oversized_components")
        with self.timed():
            result, summaries = resolve_component(list(nodes.values()), copies, self.params)
        self.count("stories", len(summaries))
        self.count("duplicates", sum(1 for r in result.values() if r["duplicate_of"]))
        yield from result.items()
        for summary in summaries:
            yield beam.pvalue.TaggedOutput("stories", summary)


class ResolveThreadComponent(CountingDoFn):
    stage = "dedup"

    def __init__(self, params: StoryParams):
        self.params = params

    def process(self, kv):
        _, summaries = kv
        with self.timed():
            threads = resolve_threads(list(summaries), self.params)
        self.count("threads", len(set(threads.values())))
        yield from threads.items()


def _node(sig: dict) -> dict:
    return dict({k: sig.get(k) for k in ("article_id", "published", "text_len", "content_hash", "story_id",
                                          "thread_id")}, member=block_member(sig))


def _keyed_by_component(kv):
    """(id, {component, and items under other tags}) → (component, item): an id without edges is a component of
    its own."""
    key, grouped = kv
    component = (list(grouped["component"]) or [key])[0]
    for tag, items in grouped.items():
        if tag != "component":
            for item in items:
                yield component, item


class ResolveStories(beam.PTransform):
    """signatures → (article_id, {duplicate_of, duplicate_kind, story_id, thread_id}) pairs.

    1. candidates: copy edges (MinHash LSH bands) and story edges (time blocks, nearest neighbours, pair score);
    2. connected components over both, distributed (no key holds the whole graph);
    3. per component: copy groups and average-link stories;
    4. threads: the same three steps over story summaries, with the thread window and threshold;
    5. each article gets its story's thread.
    """

    def __init__(self, params: StoryParams, search_undated: bool = True):
        super().__init__()
        self.params = params
        self.search_undated = search_undated

    def expand(self, sigs):
        p = self.params
        copies = (sigs
                  | "CopyKeys" >> beam.FlatMap(copy_key_hits)
                  | "GroupCopyKeys" >> beam.GroupByKey()
                  | "BucketPairs" >> beam.ParDo(BucketPairs())
                  | "CountSharedBands" >> beam.CombinePerKey(sum)
                  | "EnoughBands" >> beam.Filter(lambda kv: kv[1] >= MIN_SHARED_BANDS)
                  | "CopyEdge" >> beam.Map(lambda kv: kv[0]))
        story_edges = (sigs
                       | "Members" >> beam.Map(block_member)
                       | "StoryCandidates" >> CandidateEdges(p, p.window_days, p.threshold, "story_edges",
                                                             self.search_undated))
        components = ((copies, story_edges | "EdgeIds" >> beam.Map(lambda e: (e[0], e[1])))
                      | "AllEdges" >> beam.Flatten()
                      | "StoryComponents" >> ConnectedComponents(p.cc_rounds))
        resolved = ({"node": sigs | "Nodes" >> beam.Map(lambda s: (s["article_id"], ("node", _node(s)))),
                     "copy": copies | "CopyByFirst" >> beam.Map(lambda e: (e[0], ("copy", e))),
                     "component": components}
                    | "JoinComponents" >> beam.CoGroupByKey()
                    | "ByComponent" >> beam.FlatMap(_keyed_by_component)
                    | "GatherComponents" >> beam.GroupByKey()
                    | "ResolveComponents" >> beam.ParDo(ResolveComponent(p)).with_outputs("stories", main="articles"))
        summaries = resolved.stories
        thread_edges = (summaries
                        | "StoryMembers" >> beam.Map(thread_member)
                        | "ThreadCandidates" >> CandidateEdges(p, p.thread_window_days, p.thread_threshold,
                                                               "thread_edges", self.search_undated))
        thread_components = thread_edges | "ThreadComponents" >> ConnectedComponents(p.cc_rounds)
        threads = ({"summary": summaries | "KeySummaries" >> beam.Map(lambda s: (s["story_id"], s)),
                    "component": thread_components}
                   | "JoinThreadComponents" >> beam.CoGroupByKey()
                   | "SummaryByComponent" >> beam.FlatMap(_keyed_by_component)
                   | "GatherThreads" >> beam.GroupByKey()
                   | "ResolveThreads" >> beam.ParDo(ResolveThreadComponent(p)))
        return ({"article": resolved.articles | "ByStory" >> beam.Map(lambda kv: (kv[1]["story_id"], kv)),
                 "thread": threads}
                | "JoinThreads" >> beam.CoGroupByKey()
                | "WithThread" >> beam.FlatMap(_with_thread))


def _with_thread(kv):
    story_id, grouped = kv
    thread_id = (list(grouped["thread"]) or [story_id])[0]
    for article_id, assignment in grouped["article"]:
        yield article_id, dict(assignment, thread_id=thread_id)


def _attach(kv):
    _, grouped = kv
    assignment = (list(grouped["assignment"]) or [None])[0]
    for article in grouped["article"]:
        yield dict(article, **(assignment or {}))


def _index_row(kv, new_only: bool = False):
    """The story index row of an article: its signature and the story and thread it ended in. new_only (a
    streaming window, whose index rows are added to the earlier ones): only articles of this window."""
    _, grouped = kv
    assignment = (list(grouped["assignment"]) or [None])[0]
    sigs = sorted(grouped["sig"], key=lambda s: s["story_id"] is not None)  # this run's signature first
    if new_only and (not sigs or sigs[0]["story_id"] is not None):
        return
    for sig in sigs[:1]:
        if assignment:
            sig = dict(sig, story_id=assignment["story_id"], thread_id=assignment["thread_id"])
        yield sig


class DeduplicateStories(beam.PTransform):
    """articles (with entities) → {'articles': with duplicate/story columns, 'index': story index rows, 'errors':
    dead letters of articles whose signals could not be computed (they are still grouped and written)}.

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
        signing = (articles
                   | "Embed" >> EmbedArticles(self.embedding_model)
                   | "Signature" >> beam.ParDo(MakeSignature()).with_outputs(ERRORS, main="signed"))
        signed = signing.signed
        new_sigs = signed | "SigOnly" >> beam.Map(lambda a_s: a_s[1])
        if isinstance(self.index, beam.PTransform):
            old_sigs = articles.pipeline | "StoryIndex" >> self.index
            sigs = (new_sigs, old_sigs) | "AllSignatures" >> beam.Flatten()
        elif self.live_index_dir:
            from transforms.stories import LiveIndexRows
            params = self.params
            old_sigs = (new_sigs
                        | "BlocksMet" >> beam.FlatMap(_live_blocks_met, params)
                        | "OncePerWindow" >> beam.Distinct()
                        | "LiveIndexRows" >> beam.ParDo(LiveIndexRows(self.live_index_dir, params)))
            sigs = (new_sigs, old_sigs) | "AllSignatures" >> beam.Flatten()
        elif self.index:
            old_sigs = articles.pipeline | "StoryIndex" >> beam.Create(self.index)
            sigs = (new_sigs, old_sigs) | "AllSignatures" >> beam.Flatten()
        else:
            sigs = new_sigs
        assignments = sigs | "ResolveStories" >> ResolveStories(self.params, search_undated=not self.live_index_dir)
        by_id = signed | "KeyArticles" >> beam.Map(lambda a_s: (a_s[0]["article_id"], a_s[0]))
        out_articles = ({"article": by_id, "assignment": assignments}
                        | "JoinAssignments" >> beam.CoGroupByKey()
                        | "Attach" >> beam.FlatMap(_attach))
        index = ({"sig": sigs | "KeySigs" >> beam.Map(lambda s: (s["article_id"], s)), "assignment": assignments}
                 | "JoinIndex" >> beam.CoGroupByKey()
                 | "IndexRows" >> beam.FlatMap(_index_row, new_only=bool(self.live_index_dir)))
        return {"articles": out_articles, "index": index, "errors": signing[ERRORS]}
