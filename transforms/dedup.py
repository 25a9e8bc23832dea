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

import apache_beam as beam

from claimcore.embedder import embedding_applies
from claimcore.story_grouping import (
    MAX_BUCKET,
    MIN_SHARED_BANDS,
    StoryParams,
    UnionFind,
    arrival_blocks,
    block_member,
    blocks_met,
    bucket_pairs,
    copy_key_hits,
    index_reach,
    index_row_reached,
    resolve_component,
    resolve_threads,
    signature,
    story_pairs,
    thread_member,
    time_block,
)
from transforms.common import ERRORS, CountingDoFn
from transforms.embed import EmbedArticles
from transforms.stories import LiveIndexRows, index_partitions_reached


def _live_blocks_met(sig: dict, p: StoryParams, arrival=beam.DoFn.TimestampParam) -> list:
    return blocks_met(sig, p, arrival)


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
        if not embedding_applies(article.get("language")):
            self.count("other_language")
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


class WithinReach(beam.PTransform):
    """story index rows → (those the run's articles can reach, the others). Only the rows within reach take part
    in the run's grouping (index_reach: a few thread windows around its articles); the others go to the new index
    as they are. Without this, every run of a sharded archive re-scored and re-clustered every article of the
    shards before it, and the dedup stage's seconds per document grew with the archive (+62% from 1,000 to
    4,000 documents, bench/archive.py)."""

    def __init__(self, params: StoryParams, reach):
        super().__init__()
        self.params = params
        self.reach = reach  # one element: the set of index_reach blocks of the run's articles

    def expand(self, rows):
        params = self.params
        reach = beam.pvalue.AsSingleton(self.reach)
        tagged = rows | "Split" >> beam.ParDo(_SplitByReach(params), reach).with_outputs("untouched", main="reached")
        return tagged.reached, tagged.untouched


class _SplitByReach(CountingDoFn):
    stage = "dedup"

    def __init__(self, params: StoryParams):
        self.params = params

    def process(self, row, reach):
        if index_row_reached(row, reach, self.params):
            self.count("index_rows_reached")
            yield row
        else:
            self.count("index_rows_untouched")
            yield beam.pvalue.TaggedOutput("untouched", row)


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
        signing = (articles
                   | "Embed" >> EmbedArticles(self.embedding_model)
                   | "Signature" >> beam.ParDo(MakeSignature()).with_outputs(ERRORS, main="signed"))
        signed = signing.signed
        new_sigs = signed | "SigOnly" >> beam.Map(lambda a_s: a_s[1])
        untouched = None
        if isinstance(self.index, beam.PTransform) or (self.index and not self.live_index_dir):
            params = self.params
            reach = (new_sigs
                     | "Reach" >> beam.FlatMap(index_reach, params)
                     | "ReachSet" >> beam.combiners.ToSet())
            if isinstance(self.index, beam.PTransform):  # only the partitions within reach are read
                index_rows = (reach
                              | "IndexPartitions" >> beam.Map(index_partitions_reached, params.thread_window_days)
                              | "StoryIndex" >> self.index)
            else:
                index_rows = articles.pipeline | "StoryIndex" >> beam.Create(self.index)
            old_sigs, untouched = index_rows | "IndexReach" >> WithinReach(params, reach)
            sigs = (new_sigs, old_sigs) | "AllSignatures" >> beam.Flatten()
        elif self.live_index_dir:
            params = self.params
            old_sigs = (new_sigs
                        | "BlocksMet" >> beam.FlatMap(_live_blocks_met, params)
                        | "OncePerWindow" >> beam.Distinct()
                        | "LiveIndexRows" >> beam.ParDo(LiveIndexRows(self.live_index_dir, params)))
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
        if untouched is not None:  # the partitions read are written whole: rows out of the run's reach as they were
            index = (index, untouched) | "WholeIndex" >> beam.Flatten()
        return {"articles": out_articles, "index": index, "errors": signing[ERRORS]}
