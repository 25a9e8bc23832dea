"""Story grouping's logic, without Beam: what an article's signature holds, the pair score, candidates within
time blocks, and the resolution of one component into copies, stories (average link) and threads.
transforms/dedup.py runs it as a distributed pipeline; docs/architecture.md ("Story grouping") gives the rules
and their figures.
"""
from __future__ import annotations

import collections
import datetime as dt
import itertools
import math
import re
from dataclasses import dataclass

import numpy as np

from claimcore.dates import text_months
from claimcore.embedder import EMBEDDING_DIMS, embedding_applies
from claimcore.entities import canonical_name, spelling_key
from claimcore.figures import parse_figures
from claimcore.text import normalized_text, split_words

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
    max_component: int = 4_000  # average link over a component up to this many articles; a larger one in runs of
    # at most this many (_labels_by_time_runs)
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
    """Quantities that identify an event: figures (claimcore/figures.py, the one parser claims use too) of 10 or
    more; years, dates, times and ordinals are not figures."""
    text = text or ""
    return frozenset(f.value for f in parse_figures(text, split_words(text))
                     if f.value is not None and f.value >= 10 and not f.vague)


ENTITY_LABELS = ("PER", "ORG", "LOC")  # MISC (demonyms, events, products) says little about which event


def entity_keys(entities) -> frozenset[str]:
    """Keys of an article's people, organizations and places, from their canonical names (claimcore/entities.py),
    so that another outlet's spelling or a surname alone meets the same key."""
    keys = set()
    for e in entities or ():
        if e.get("label") not in ENTITY_LABELS:
            continue
        key = spelling_key(e.get("canonical") or canonical_name(e["text"], e["label"]), person=e["label"] == "PER")
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
    if not embedding_applies(article.get("language")):
        # another language: no English signals, and a zero vector, which no article's cosine reaches (min_cosine):
        # the article is grouped with its copies only
        embedding, evidence = np.zeros(EMBEDDING_DIMS, dtype=np.float32), False
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


# the score of a pair that is never one story (further apart than max_days): low enough that no average over two
# clusters containing it reaches a threshold, whatever their sizes, so the cap holds for the clusters, not only
# for the pairs (-1, as before, was outweighed in clusters of hundreds of articles)
NEVER_ONE_STORY = -1e9


def score_matrix(members: list[tuple], p: StoryParams, window_days: float | None = None,
                 max_days: float | None = None) -> np.ndarray:
    """pair_score for every pair of members at once; dated pairs further apart than window_days lose
    late_penalty, and those further apart than max_days score NEVER_ONE_STORY."""
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
                score = np.where(gap > max_days, NEVER_ONE_STORY, score)
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


REACH_THREAD_BLOCKS = 2  # a run's articles reach index rows this many thread windows before and after them


def index_reach(sig: dict, p: StoryParams) -> list:
    """The thread-window blocks of index rows an article of a run can affect: its story candidates (within the
    story window), the stories those belong to (no story spans more than the thread window) and their thread
    neighbours (within the thread window of a story). 'all' for an undated article, which searches every block."""
    b = time_block(sig["published"], p.thread_window_days)
    return ["all"] if b == "undated" else list(range(b - REACH_THREAD_BLOCKS, b + REACH_THREAD_BLOCKS + 1))


def index_row_reached(row: dict, reach, p: StoryParams) -> bool:
    """Whether a story index row is within a run's reach (the set of index_reach blocks of its articles): an
    undated row always is (it may meet any article)."""
    b = time_block(row["published"], p.thread_window_days)
    return b == "undated" or "all" in reach or b in reach


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
        labels = _labels_by_time_runs(nodes, list(copies.groups(range(len(nodes)))), copy_pairs, p)
    groups = collections.defaultdict(list)
    for i, label in enumerate(labels):
        groups[label].append(nodes[i])
    summaries = []
    member_lists = list(groups.values())
    story_ids = carried_ids([[m["article_id"] for m in members] for members in member_lists],
                            {n["article_id"]: n["story_id"] for n in nodes}, order)
    for members, story_id in zip(member_lists, story_ids):
        for m in members:
            out[m["article_id"]]["story_id"] = story_id
        summaries.append(story_summary(story_id, members))
    return out, summaries


def carried_ids(groups: list[list[str]], carried: dict, order: dict) -> list[str]:
    """One id for each group of member ids: the id its members carry from earlier runs (`carried`, the earliest
    carrier's), else its earliest member's own id, so that re-runs and later runs keep ids.

    An id carried into two groups (a story an earlier run made from part of the input, which the fuller view of
    a later run or shard splits) names one of them only, the one whose carrier comes first (`order`); the other
    takes its next carried id, else its earliest member's own. Without this, two stories that average link keeps
    apart shared one id, and so one stories row and one corroboration count."""
    candidates = []
    for g, members in enumerate(groups):
        for member in members:
            cid = carried.get(member)
            if cid:
                candidates.append((order[member], cid, g))
    names: list[str | None] = [None] * len(groups)
    taken = set()
    for _, cid, g in sorted(candidates):
        if names[g] is None and cid not in taken:
            names[g] = cid
            taken.add(cid)
    for g, members in enumerate(groups):
        if names[g] is None:
            own = sorted(members, key=order.__getitem__)
            names[g] = next((m for m in own if m not in taken), own[0])
            taken.add(names[g])
    return names


def _labels_by_time_runs(nodes: list[dict], copy_groups: list, copy_pairs: list, p: StoryParams) -> list[int]:
    """Average link over a component too large for one (more than max_component articles, which generated or
    boilerplate-heavy archives make): its copy groups in publication order, cut into consecutive runs of at most
    max_component articles, each clustered on its own. A story never spans two runs; copies stay together."""
    def first_published(group):
        dated = [nodes[i]["published"] for i in group if nodes[i]["published"] is not None]
        return (min(dated) if dated else float("inf"), min(group))

    labels = list(range(len(nodes)))
    runs, run = [], []
    for group in sorted(copy_groups, key=first_published):
        if run and sum(map(len, run)) + len(group) > p.max_component:
            runs.append(run)
            run = []
        run.append(group)
    runs.append(run)
    for run in runs:
        rows = sorted(i for group in run for i in group)
        if len(run) == 1:  # one copy group: one story
            run_labels = [0] * len(rows)
        else:
            at = {i: r for r, i in enumerate(rows)}
            matrix = score_matrix([nodes[i]["member"] for i in rows], p, p.window_days, p.thread_window_days)
            run_labels = average_link(matrix, p.threshold, [(at[i], at[j]) for i, j in copy_pairs
                                                            if i in at and j in at])
        for r, label in enumerate(run_labels):
            labels[rows[r]] = rows[label]
    return labels


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
    the one an indexed story already carries (the earliest's), else the earliest story's id (carried_ids)."""
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
    member_lists = [[s["story_id"] for s in members] for members in groups.values()]
    thread_ids = carried_ids(member_lists, {s["story_id"]: s["thread_id"] for s in summaries}, order)
    for members, thread_id in zip(member_lists, thread_ids):
        for story_id in members:
            out[story_id] = thread_id
    return out
