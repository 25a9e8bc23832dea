"""Story dedup: the three levels, stable ids across runs, and pairwise precision/recall on a labelled corpus."""
import datetime as dt
import itertools
import json
import os
import pickle
import sys
import tempfile

import apache_beam as beam
import numpy as np
from apache_beam.testing.test_pipeline import TestPipeline

from claimcore.entities import spelling_key
from claimcore.extraction import article_record
from claimcore.story_grouping import (
    StoryParams,
    UnionFind,
    average_link,
    band_keys,
    block_member,
    entity_keys,
    figures,
    index_reach,
    index_row_reached,
    minhash,
    pair_score,
    resolve_component,
    score_matrix,
    story_pairs,
)
from transforms.dedup import ConnectedComponents, DeduplicateStories

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "samples"))


def corpus():
    """The labelled corpus as articles.v1 records + their story labels."""
    import importlib.util  # samples/stories.py by its path: bench/stories.py has the same module name
    module_spec = importlib.util.spec_from_file_location("sample_stories", os.path.join(ROOT, "samples", "stories.py"))
    sample_stories = importlib.util.module_from_spec(module_spec)
    module_spec.loader.exec_module(sample_stories)
    OUTLETS = sample_stories.OUTLETS
    spec = json.load(open(os.path.join(ROOT, "tests", "fixtures", "story_corpus.json")))
    labels, arts = {}, []
    sample = {slug: (o["domain"], title, pub, paras) for o in OUTLETS.values()
              for slug, title, pub, _, paras in o["articles"]}
    for key, story in spec["from_sample"].items():
        if key.startswith("seed:"):
            name = key[5:]
            lines = open(os.path.join(ROOT, "samples", "seeds", name), encoding="utf-8").read().splitlines()
            a = article_record(text="\n".join(l for l in lines[1:] if l.strip()), url=f"https://seed.example/{name}",
                               title=lines[0], published_at=spec["seed_published"][name])
        else:
            domain, title, pub, paras = sample[key]
            a = article_record(text="\n".join(paras), url=f"https://{domain}/{key}", title=title, published_at=pub)
        arts.append(a)
        labels[a["article_id"]] = story
    for r in spec["rewrites"]:
        a = article_record(text=r["text"], url=f"https://{r['outlet']}/{r['id']}", title=r["title"],
                           published_at=r["published"])
        arts.append(a)
        labels[a["article_id"]] = r["story"]
    return arts, labels


def collect(pcoll, path: str, label: str):
    """Writes a PCollection's elements to a pickle file (matchers run on a copy, so they cannot hand rows back)."""
    def dump(rows):
        with open(path, "wb") as f:
            pickle.dump(list(rows), f)
    return pcoll | f"ToList{label}" >> beam.combiners.ToList() | f"Dump{label}" >> beam.Map(dump)


def run_dedup(articles, index_rows=None, with_ner=True):
    from transforms.ner import RecognizeEntities
    with tempfile.TemporaryDirectory() as tmp:
        with TestPipeline(options=beam.options.pipeline_options.PipelineOptions(["--runner=DirectRunner"])) as p:
            pc = p | beam.Create(articles)
            if with_ner:
                pc = (pc | RecognizeEntities()).articles
            out = pc | DeduplicateStories(StoryParams(), index_rows or [])
            collect(out["articles"], os.path.join(tmp, "articles"), "Articles")
            collect(out["index"], os.path.join(tmp, "index"), "Index")
        return tuple(pickle.load(open(os.path.join(tmp, name), "rb")) for name in ("articles", "index"))


def pairwise(assigned: dict, labels: dict):
    tp = fp = fn = 0
    for a, b in itertools.combinations(sorted(labels), 2):
        same_true, same_pred = labels[a] == labels[b], assigned[a] == assigned[b]
        tp += same_true and same_pred
        fp += same_pred and not same_true
        fn += same_true and not same_pred
    return tp / max(1, tp + fp), tp / max(1, tp + fn)


def test_labelled_corpus_precision_and_recall():
    arts, labels = corpus()
    assert len(arts) >= 30 and len(set(labels.values())) >= 10
    out, index = run_dedup(arts)
    assigned = {a["article_id"]: a["story_id"] for a in out}
    precision, recall = pairwise(assigned, labels)
    print(f"story pairs: precision {precision:.3f} recall {recall:.3f}")
    assert precision >= 0.9 and recall >= 0.9, (precision, recall)
    # the hard negatives: same actors, same month, different events
    by_story = {labels[a]: s for a, s in assigned.items()}
    assert len({by_story["nk-troops"], by_story["nk-roads"], by_story["nk-icbm"], by_story["nk-kim-sister"]}) == 4
    assert len({by_story["kyiv-drones"], by_story["grain"], by_story["air-defence"], by_story["zaporizhzhia"]}) == 4
    # story id = the earliest article's id
    for story in set(labels.values()):
        members = [a for a in out if labels[a["article_id"]] == story]
        if len({m["story_id"] for m in members}) == 1:
            first = min(members, key=lambda a: (a["published_at"], a["article_id"]))
            assert members[0]["story_id"] == first["article_id"]
    assert len(index) == len(arts)


def test_story_ids_survive_a_later_run_through_the_index():
    arts, labels = corpus()
    early = [a for a in arts if a["published_at"] < dt.datetime(2024, 10, 25, tzinfo=dt.timezone.utc)]
    late = [a for a in arts if a not in early]
    first, index = run_dedup(early, with_ner=False)
    second, _ = run_dedup(late, index_rows=index, with_ner=False)
    first_ids = {a["article_id"]: a["story_id"] for a in first}
    # the later nk-troops rewrite joins the story the first run created, under the same id
    troops = [a for a in second if labels[a["article_id"]] == "nk-troops"]
    assert troops and {a["story_id"] for a in troops} <= set(first_ids.values())
    # a re-run of the first batch against its own index gives identical ids
    again, _ = run_dedup(early, index_rows=index, with_ner=False)
    assert {a["article_id"]: a["story_id"] for a in again} == first_ids


def test_syndicated_and_exact_copies():
    text = " ".join(f"Sentence number {i} about the North Korean deployment and what officials said." for i in range(30))
    base = article_record(text=text, url="https://a.example/1", published_at="2024-10-24T08:00:00Z")
    wire = article_record(text=text + " This article first appeared on A and is republished with permission.",
                          url="https://b.example/2", published_at="2024-10-24T10:00:00Z")
    exact = article_record(text=text.upper(), url="https://c.example/3", published_at="2024-10-24T09:00:00Z")
    other = article_record(text="A completely different story about a marathon in the city with record times. " * 5,
                           url="https://d.example/4", published_at="2024-10-24T08:30:00Z")
    out, _ = run_dedup([base, wire, exact, other], with_ner=False)
    got = {a["url"]: (a["duplicate_of"], a["duplicate_kind"]) for a in out}
    assert got["https://b.example/2"] == (base["article_id"], "copy")
    assert got["https://c.example/3"] == (base["article_id"], "exact")
    assert got["https://a.example/1"] == (None, None) and got["https://d.example/4"] == (None, None)


def test_minhash_bands_join_near_copies_only():
    a = " ".join(f"word{i}" for i in range(300))
    b = a + " plus a different footer line"
    c = " ".join(f"other{i}" for i in range(300))
    ka, kb, kc = (set(band_keys(minhash(t))) for t in (a, b, c))
    assert ka & kb and not ka & kc


def test_figures_skip_years_and_small_numbers():
    assert figures("3,000 troops in 2024, 10,000 by December, 1.5 million people, 7 days, 12,000-strong") == {
        3000.0, 10000.0, 1.5e6, 12000.0}


def _member(aid, t, vec, ents=(), figs=(), year=None, months=()):
    v = np.asarray(vec, dtype=np.float32)
    return block_member({"article_id": aid, "published": t, "embedding": (v / np.linalg.norm(v)).tobytes(),
                         "entities": list(ents), "figures": list(figs), "year": year, "months": list(months)})


def test_story_pairs_respect_time_window_and_score_evidence():
    p = StoryParams(window_days=1)
    v = [1.0, 1.0, 1.0, 1.0]
    assert [e[:2] for e in story_pairs([_member("a", 0, v), _member("b", 3600, v)], [], p)] == [("a", "b")]
    assert story_pairs([_member("a", 0, v), _member("b", 3 * 86400, v)], [], p) == []
    # an undated article is judged on content: it pairs with a dated one whatever the date
    assert [e[:2] for e in story_pairs([_member("a", 0, v)], [_member("u", None, v)], p,
                                       searchers=[_member("u", None, v)])] == [("a", "u")]
    # same cosine, different people and a different year: no edge
    a = _member("a", None, [1, 0.8, 0, 0], ["tara reid", "promises"], year=2008)
    b = _member("b", None, [0.8, 1, 0, 0], ["lohan", "betti ford"], year=2013)
    assert story_pairs([a, b], [], p) == []
    # when: two texts that name months but none in common lose month_penalty; naming none costs nothing
    dec, sep, both, none = (_member(x, None, v, months=m) for x, m in (("d", (12,)), ("s", (9,)),
                                                                        ("b", (9, 12)), ("n", ())))
    assert abs(pair_score(dec, both, 1.0, p) - pair_score(dec, sep, 1.0, p) - p.month_penalty) < 1e-9
    assert pair_score(dec, none, 1.0, p) == pair_score(dec, both, 1.0, p)


def test_months_named_in_text():
    from claimcore.dates import text_months
    assert text_months("On Dec. 11 the Interior Department, as in March and on May 3, said") == {12, 3, 5}
    assert text_months("Officials may act in Augusta. MARCH") == set()  # the verb, a city, no capital M-arch


def test_dense_blocks_use_an_ivf_index_that_finds_the_exact_neighbours_whatever_the_threads():
    import faiss

    from claimcore.story_grouping import _neighbours
    rng = np.random.default_rng(3)
    centres = rng.normal(size=(300, 64)).astype(np.float32)
    # loose clusters, so that neighbours often sit in another k-means cell (one probed cell finds ~0.91)
    vec = centres[rng.integers(300, size=3000)] + 0.7 * rng.normal(size=(3000, 64)).astype(np.float32)
    vec /= np.linalg.norm(vec, axis=1, keepdims=True)
    home = vec[:1500]
    exact = set(_neighbours(home, vec, 6, StoryParams(min_cosine=0.4)))
    dense = StoryParams(min_cosine=0.4, exact_block_limit=1000)  # 3,000 vectors: the IVF path
    threads = faiss.omp_get_max_threads()
    try:
        faiss.omp_set_num_threads(1)
        one = list(_neighbours(home, vec, 6, dense))
        faiss.omp_set_num_threads(2)
        two = list(_neighbours(home, vec, 6, dense))
    finally:
        faiss.omp_set_num_threads(threads)
    assert one == two  # the same neighbours and cosines, bit for bit, whatever the thread count
    found = {(r, c) for r, c, _ in one}
    assert len(exact) > 5000 and len(found & {(r, c) for r, c, _ in exact}) / len(exact) >= 0.98
    assert all(v >= 0.4 for _, _, v in one)


def test_pair_score_and_score_matrix_agree():
    rng = np.random.default_rng(5)
    members = [_member(f"m{i}", None, rng.normal(size=8) + 2, rng.choice(["a", "b", "c", "d"], size=i % 3),
                       rng.choice([10.0, 20.0, 30.0], size=i % 2), year=[None, 2013, 2014][i % 3],
                       months=[(), (12,), (9, 12), (9,)][i % 4]) for i in range(9)]
    p = StoryParams()
    matrix = score_matrix(members, p)
    vec = np.stack([np.frombuffer(m[2], dtype=np.float16).astype(np.float32) for m in members])
    for i, j in itertools.combinations(range(len(members)), 2):
        assert abs(matrix[i, j] - pair_score(members[i], members[j], float(vec[i] @ vec[j]), p)) < 1e-5


def test_average_link_does_not_chain_through_one_bridge():
    # a-b one event, c-d another; b and c alone are close (a bridge pair), the rest of the cross pairs are not
    s = np.array([[1.0, 0.9, 0.1, 0.1],
                  [0.9, 1.0, 0.8, 0.1],
                  [0.1, 0.8, 1.0, 0.9],
                  [0.1, 0.1, 0.9, 1.0]])
    assert average_link(s, 0.5) == [0, 0, 2, 2]
    assert average_link(s, 0.05) == [0, 0, 0, 0]
    assert average_link(s, 0.95, must_link=[(0, 3)]) == [0, 1, 2, 0]


def test_name_keys_meet_across_spellings():
    assert len({spelling_key(n, person=True) for n in ("Zelensky", "Zelenskiy", "Zelenskyy", "Volodymyr Zelensky",
                                                    "Volodymyr Zelenskyy")}) == 1
    assert entity_keys([{"text": "Zelenskiy", "label": "PER"}, {"text": "the U.S.", "label": "LOC"},
                        {"text": "Korean", "label": "MISC"}]) == {"zelensk", "united states"}


def test_connected_components_without_one_key():
    # a path deeper than the rounds reach (finished by the fallback), a star, and a separate pair
    path = [(f"p{i:02d}", f"p{i + 1:02d}") for i in range(40)]
    star = [("s0", f"s{i}") for i in range(1, 8)]
    edges = path[::-1] + star + [("x", "y")]
    with tempfile.TemporaryDirectory() as tmp:
        with TestPipeline(options=beam.options.pipeline_options.PipelineOptions(["--runner=DirectRunner"])) as p:
            collect(p | beam.Create(edges) | ConnectedComponents(rounds=2), os.path.join(tmp, "cc"), "CC")
        got = dict(pickle.load(open(os.path.join(tmp, "cc"), "rb")))
    uf = UnionFind()
    for a, b in edges:
        uf.union(a, b)
    assert got == {x: uf.find(x) for x in uf.parent}
    assert set(got.values()) == {"p00", "s0", "x"}


def _node(aid, published, vec, story_id=None, content_hash=None, text_len=5):
    m = _member(aid, published, vec)
    return {"article_id": aid, "published": published, "text_len": text_len, "content_hash": content_hash or aid,
            "story_id": story_id, "thread_id": None, "member": m}


def test_resolve_prefers_index_story_ids_and_earliest_canonical():
    v = [1.0, 0.5, 0.2, 0.0]
    nodes = [_node("n1", 10.0, v, content_hash="h1"), _node("old", 20.0, v, story_id="S-old"),
             _node("n2", 5.0, v, content_hash="h1", text_len=9), _node("far", 15.0, [0.0, 0.0, 0.2, 1.0])]
    out, summaries = resolve_component(nodes, [("n1", "n2")], StoryParams())
    assert out["n1"] == {"duplicate_of": "n2", "duplicate_kind": "exact", "story_id": "S-old"}
    assert out["n2"]["story_id"] == "S-old" and out["old"]["duplicate_of"] is None
    assert out["far"]["story_id"] == "far"  # in the component, not in the story
    assert sorted(s["story_id"] for s in summaries) == ["S-old", "far"]
    uf = UnionFind()
    uf.union("b", "a")
    assert uf.find("b") == "a"


def thread_corpus():
    spec = json.load(open(os.path.join(ROOT, "tests", "fixtures", "thread_corpus.json")))
    arts, truth = [], {}
    for r in spec["articles"]:
        a = article_record(text=r["text"], url=f"https://{r['outlet']}{r.get('url_path') or '/' + r['id']}",
                           title=r["title"], published_at=r.get("published"))
        arts.append(a)
        truth[a["article_id"]] = (r["story"], r["thread"], r["id"])
    return arts, truth


def test_dates_are_inferred_with_their_source():
    arts, truth = thread_corpus()
    got = {truth[a["article_id"]][2]: (a["published_at"] and a["published_at"].date().isoformat(), a["date_source"])
           for a in arts}
    assert got["e1-a"] == ("2024-10-17", "input")
    assert got["e1-b"] == ("2024-10-17", "url")  # /2024/10/17/
    assert got["e4-b"] == ("2024-10-23", "url")  # /20241023/
    assert got["e2-b"] == ("2024-10-18", "text")  # SEOUL, Oct. 18, 2024 (Asia Daily) -
    assert got["neg-b"] == (None, None)


def test_all_number_datelines_are_read_only_where_the_order_is_known():
    from claimcore.dates import date_from_text

    def day(text):
        d = date_from_text(text)
        return d and d.date().isoformat()
    assert day("04/28/09 07:35 PM ET\nObama Administration Flips Bush Endangered Species Ruling") == "2009-04-28"
    assert day("Published: 2012.08.08 09:01 AM\nHistoric Mat Maid warehouse burns") == "2012-08-08"
    assert day("UPDATED 05/03/2013 at 11:00 AM EDT\nLohan checks in") == "2013-05-03"  # US zone: month first
    assert day("Aktualisiert 14.06.2013\nText") == "2013-06-14"
    assert day("05/02/2013\nLawyer: Lohan checks into rehab") is None  # 2 May or 5 February
    assert day("Version 3.12.13\nRelease notes") is None  # dots with a two-digit year: a version
    long_line = "The committee met again on 4/28/2009 to hear the appeal, " + "and it went on for hours " * 4
    assert day(long_line + "\nMore") is None  # a date in prose is an event's, not the article's


def test_developing_story_is_one_thread_of_several_stories():
    """Five events over 12 days: one thread_id, at least four story_ids; North Korea's trash balloons over Seoul
    on a day in between (same actors, another event) stay out of the thread; the ids are the same on a re-run."""
    arts, truth = thread_corpus()
    out, index = run_dedup(arts)
    got = {truth[a["article_id"]][2]: (a["story_id"], a["thread_id"]) for a in out}
    troops = [v for k, v in got.items() if not k.startswith("neg")]
    assert len({t for _, t in troops}) == 1, got
    assert len({s for s, _ in troops}) >= 4, got
    assert got["neg-a"][1] != troops[0][1] and got["neg-b"][1] != troops[0][1], got
    assert got["neg-a"][0] == got["neg-b"][0]  # dated and undated reports of one event: one story
    assert {r["thread_id"] for r in index} == {t for _, t in got.values()}
    again, _ = run_dedup(arts)
    assert {a["article_id"]: (a["story_id"], a["thread_id"]) for a in again} == \
        {a["article_id"]: (a["story_id"], a["thread_id"]) for a in out}


def test_dated_and_undated_copies_of_one_event_are_one_story():
    text = ("North Korea has sent 1,500 special forces soldiers to Russia, South Korea's National Intelligence "
            "Service said on Friday, and plans to send about 12,000 in total. The NIS released satellite images of "
            "Russian navy ships at Chongjin. President Yoon Suk Yeol held an emergency security meeting.")
    dated = article_record(text=text, url="https://a.example/nis", published_at="2024-10-18T06:00:00Z")
    undated = article_record(text=text, url="https://b.example/nis-copy")
    rewrite = article_record(text="South Korea's spy agency says North Korea shipped 1,500 troops to Russia, the "
                                  "first of about 12,000; President Yoon Suk Yeol called an emergency meeting after "
                                  "the National Intelligence Service showed images of Russian ships at Chongjin.",
                             url="https://c.example/spy-agency")
    other = article_record(text="A marathon runner broke the course record in the city on Sunday, finishing in two "
                                "hours and three minutes as thousands watched.", url="https://d.example/marathon",
                           published_at="2024-10-18T08:00:00Z")
    assert undated["published_at"] is None and rewrite["published_at"] is None
    out, _ = run_dedup([dated, undated, rewrite, other])
    story = {a["url"]: a["story_id"] for a in out}
    assert story["https://b.example/nis-copy"] == story["https://a.example/nis"] == dated["article_id"]
    assert story["https://c.example/spy-agency"] == dated["article_id"]
    assert story["https://d.example/marathon"] != dated["article_id"]


def test_shipped_embedder_is_int8_onnx_batch_independent_and_close_to_pytorch():
    """The default story embedder is the int8 ONNX graph of models/claimwire-embed-v1; each text's vector is its
    own (the order and company of a batch change no bit) and within 0.02 cosine of PyTorch fp32's."""
    from claimcore.embedder import SentenceEncoder, package_encoder_dir, title_and_lead
    arts, _ = corpus()
    texts = [title_and_lead(a) for a in arts[:12]]
    onnx = SentenceEncoder()
    assert "onnx-int8" in onnx.name
    forward = onnx.encode(texts)
    backward = onnx.encode(texts[::-1])[::-1]
    assert np.array_equal(forward, backward)
    assert np.array_equal(onnx.encode(texts[3:4])[0], forward[3])
    assert np.allclose(np.linalg.norm(forward, axis=1), 1.0, atol=1e-5)
    reference = SentenceEncoder(package_encoder_dir())
    assert "torch" in reference.name
    cosine = np.sum(forward * reference.encode(texts), 1)
    assert cosine.min() > 0.98, cosine


def test_bench_stories_detokenizes_ecbplus_numbers_and_dates():
    """bench/stories.py reads ECB+'s tokens back into text; numbers and dates must come back whole, or the figure
    and dateline readers see '5, 000' (two figures) and '2 / 3 / 2009' (no date)."""
    import importlib.util
    spec = importlib.util.spec_from_file_location("bench_stories", os.path.join(ROOT, "bench", "stories.py"))
    bench_stories = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench_stories)
    detokenize = bench_stories.detokenize
    assert detokenize("About 5 , 000 gallons , he said .".split()) == "About 5,000 gallons, he said."
    assert detokenize("limit of 0 . 08 percent with 10 : 03 to play".split()) == \
        "limit of 0.08 percent with 10:03 to play"
    assert detokenize("Posted 2 / 3 / 2009 , a 13 - 13 tie".split()) == "Posted 2/3/2009, a 13-13 tie"
    assert detokenize("March 17 , 2013 , a 28 - year - old - he said".split()) == \
        "March 17, 2013, a 28 - year - old - he said"


def test_an_article_whose_signals_fail_is_grouped_written_and_dead_lettered(monkeypatch):
    """One article's text that breaks a story signal (before: '5e400' overflowed the figure parser and stopped the
    whole job at DeduplicateStories/Signature) becomes a dead letter; it and its neighbours are still written."""
    import claimcore.story_grouping as grouping_module
    real = grouping_module.figures

    def fragile(text):
        if "unreadable" in text:
            raise OverflowError("Numerical result out of range")
        return real(text)

    monkeypatch.setattr(grouping_module, "figures", fragile)
    articles = [article_record(text=f"Officials said {n} people attended the {kind} summit in Geneva on Monday.",
                               url=f"https://example.com/{n}", title=f"Summit {kind}",
                               published_at="2024-10-14T08:00:00Z")
                for n, kind in ((120, "trade"), (95, "unreadable"))]
    with tempfile.TemporaryDirectory() as tmp:
        with TestPipeline(options=beam.options.pipeline_options.PipelineOptions(["--runner=DirectRunner"])) as p:
            out = p | beam.Create(articles) | DeduplicateStories(StoryParams(), [])
            collect(out["articles"], os.path.join(tmp, "articles"), "Articles")
            collect(out["errors"], os.path.join(tmp, "errors"), "Errors")
        written, errors = (pickle.load(open(os.path.join(tmp, n), "rb")) for n in ("articles", "errors"))
    assert sorted(a["url"] for a in written) == ["https://example.com/120", "https://example.com/95"]
    assert all(a["story_id"] for a in written)
    assert [(e["stage"], e["kind"], e["url"]) for e in errors] == [
        ("dedup", "signals_failed", "https://example.com/95")]
    assert "OverflowError" in errors[0]["message"]


def _spans_in_days(out, nodes):
    published = {n["article_id"]: n["published"] for n in nodes}
    stories = {}
    for aid, r in out.items():
        stories.setdefault(r["story_id"], []).append(published[aid])
    return {sid: (max(ts) - min(ts)) / 86400 for sid, ts in stories.items()}


def test_no_story_spans_more_than_its_window_whatever_the_input():
    """80 articles alike in every signal, two a day for 40 days, linked as one component: a pair more than
    thread_window_days apart scored -1, which the average over the many close pairs outweighed (a 5,000-document
    archive made one story of 997 articles over 47 days). Now no story spans more than the window."""
    p = StoryParams()
    v = [1.0, 0.5, 0.2, 0.0]
    nodes = [_node(f"a{i:02d}", 1.7e9 + i * 43200, v) for i in range(80)]
    out, _ = resolve_component(nodes, [], p)
    spans = _spans_in_days(out, nodes)
    assert max(spans.values()) <= p.thread_window_days and len(spans) >= 2


def test_an_oversized_component_is_clustered_in_runs_not_kept_whole():
    """A component over max_component articles was one story whatever it held; now its copy groups, in
    publication order, are clustered in runs of at most max_component articles, and copies stay together."""
    p = StoryParams(max_component=8)
    a, b = [1.0, 0.5, 0.2, 0.0], [0.0, 0.1, 0.3, 1.0]
    nodes = [_node(f"{kind}{i}", 1.7e9 + i * 3600, vec) for i in range(10) for kind, vec in (("a", a), ("b", b))]
    copies = [("a0", "a9")]  # a reprint nine hours later
    out, summaries = resolve_component(nodes, copies, p)
    assert len(summaries) >= 3  # was 1
    assert out["a9"]["story_id"] == out["a0"]["story_id"] and out["a9"]["duplicate_of"] == "a0"
    assert not {out[f"a{i}"]["story_id"] for i in range(10)} & {out[f"b{i}"]["story_id"] for i in range(10)}


def test_index_rows_out_of_a_runs_reach_stay_as_they_were():
    """A run groups its articles with the story index rows within a few thread windows of them (index_reach), and
    writes every other row back unchanged: a sharded year-long archive no longer re-scores every earlier shard's
    articles in each shard. A row half a year away keeps its story and thread; rows within reach are grouped (the
    later nk-troops rewrite joins its story through the index)."""
    arts, labels = corpus()
    early = [a for a in arts if a["published_at"] < dt.datetime(2024, 10, 25, tzinfo=dt.timezone.utc)]
    late = [a for a in arts if a not in early]
    _, index = run_dedup(early, with_ner=False)
    far = dict(index[0], article_id="far-away", published=index[0]["published"] - 200 * 86400,
               story_id="far-story", thread_id="far-thread")
    second, new_index = run_dedup(late, index_rows=index + [far], with_ner=False)
    rows = {r["article_id"]: r for r in new_index}
    assert rows["far-away"] == far  # untouched: not grouped, not rewritten
    # it is a copy of an early article (the same text, MinHash bands meet at any distance): grouped, it would
    # have lent that article's story its own, earlier id
    assert rows[index[0]["article_id"]]["story_id"] == index[0]["story_id"]
    assert len(new_index) == len(index) + 1 + len(late)  # every row written once
    troops = [a for a in second if labels[a["article_id"]] == "nk-troops"]
    early_troops = {r["story_id"] for r in index if labels.get(r["article_id"]) == "nk-troops"}
    assert troops and {a["story_id"] for a in troops} <= early_troops
    p = StoryParams()
    reach = set(index_reach({"published": index[0]["published"]}, p))
    assert index_row_reached(index[0], reach, p) and not index_row_reached(far, reach, p)
    assert index_row_reached(dict(far, published=None), reach, p)  # undated rows may meet anything
    assert index_reach({"published": None}, p) == ["all"]
