"""Each versioned component (claimcore/components.py) run on fixed, real inputs, with its output as plain JSON.

The inputs are the repository's own: the sample site's HTML pages (samples/site/), the two seeds (samples/seeds/)
and the labelled story fixtures (tests/fixtures/). The claims and stories components read articles that already
carry entities, attributions and embeddings: those are stored as inputs (tests/golden/*.input.json), so that a
change in the NER model or the embedder moves their own digests, not the downstream components'.
tests/golden/regenerate.py writes the golden files; tests/test_components.py compares.
"""
from __future__ import annotations

import base64
import glob
import hashlib
import json
import os

import numpy as np

from claimcore.attribution_model import ArticleAnalyzer, AttributionTagger, resolve_attribution_dir
from claimcore.claims import extract_claims, story_claim_records
from claimcore.dates import parse_date
from claimcore.embedder import SentenceEncoder, title_and_lead
from claimcore.entities import canonicalize_entities
from claimcore.extraction import extract_html
from claimcore.figures import parse_figures
from claimcore.language import detect_language, english_models_apply
from claimcore.ner_model import NerTagger, resolve_model_dir
from claimcore.story_grouping import (
    MIN_SHARED_BANDS,
    StoryParams,
    band_keys,
    block_member,
    index_reach,
    index_row_reached,
    resolve_component,
    resolve_threads,
    signature,
    story_pairs,
)
from claimcore.text import sentence_spans, split_words

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
GOLDEN = os.path.dirname(os.path.abspath(__file__))


def digest(output) -> str:
    """The first 16 hex digits of the sha256 of the output as canonical JSON."""
    text = json.dumps(output, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


# ---- the fixed inputs ------------------------------------------------------------------------------------------
def site_pages() -> list[str]:
    return sorted(glob.glob(os.path.join(REPO, "samples", "site", "*", "*.html")))


def articles() -> list[dict]:
    """The seeds and the story fixtures' articles: id, outlet, published, title, text."""
    with open(os.path.join(REPO, "tests", "fixtures", "story_corpus.json"), encoding="utf-8") as f:
        stories = json.load(f)
    with open(os.path.join(REPO, "tests", "fixtures", "thread_corpus.json"), encoding="utf-8") as f:
        threads = json.load(f)
    out = []
    for name, published in sorted(stories["seed_published"].items()):
        with open(os.path.join(REPO, "samples", "seeds", name), encoding="utf-8") as f:
            text = f.read()
        out.append({"id": "seed:" + name, "story": stories["from_sample"]["seed:" + name],
                    "outlet": f"seed{len(out)}.example", "published": published, "title": text.split("\n", 1)[0],
                    "text": text})
    for a in stories["rewrites"] + threads["articles"]:
        out.append({k: a.get(k) for k in ("id", "story", "outlet", "published", "title", "text")})
    return out


def foreign_articles() -> list[dict]:
    """The language tests' articles in German, Spanish, Korean and French (tests/fixtures/foreign_articles.json)."""
    with open(os.path.join(REPO, "tests", "fixtures", "foreign_articles.json"), encoding="utf-8") as f:
        return json.load(f)["articles"]


def site_articles() -> list[dict]:
    """The sample site's pages as the extractor gives them (text and title): one outlet runs its headline on into
    the first paragraph, which the models must read as a sentence of its own."""
    out = []
    for path in site_pages():
        with open(path, "rb") as f:
            page = extract_html(f.read(), "https://example.org/" + os.path.basename(path))
        out.append({"id": os.path.relpath(path, os.path.join(REPO, "samples", "site")), "title": page["title"],
                    "text": page["text"]})
    return out


def _analyzer() -> ArticleAnalyzer:
    model_dir = resolve_model_dir(None)
    return ArticleAnalyzer(NerTagger.load(model_dir),
                           AttributionTagger.load(resolve_attribution_dir(None, model_dir), model_dir))


def _load(name: str):
    with open(os.path.join(GOLDEN, name), encoding="utf-8") as f:
        return json.load(f)


def build_inputs() -> dict[str, object]:
    """The stored inputs of the claims and stories components, made by the NER, attribution and embedding
    components from articles()."""
    docs = articles() + [dict(d, outlet=f"{d['language']}.example", story="nk-troops") for d in foreign_articles()]
    languages = [detect_language(f"{d['title']}\n{d['text']}") for d in docs]
    # the English models run where the pipeline runs them (transforms/ner.py): other languages get no entities
    english = [k for k, lang in enumerate(languages) if english_models_apply(lang)]
    found = dict(zip(english, _analyzer().analyze([docs[k]["text"] for k in english])))
    vectors = SentenceEncoder().encode([title_and_lead(d) for d in docs])
    claim_input, story_input = [], []
    for k, (d, language, vec) in enumerate(zip(docs, languages, vectors)):
        entities, attributions = found.get(k, ([], None))
        article = {"article_id": d["id"], "url": f"https://{d['outlet']}/{d['id']}", "outlet": d["outlet"],
                   "published_at": d["published"], "story_id": d["story"], "duplicate_of": None, "title": d["title"],
                   "language": language, "text": d["text"], "entities": canonicalize_entities(entities),
                   "attributions": attributions}
        claim_input.append(article)
        story_input.append({**{k: article[k] for k in ("article_id", "published_at", "language", "text",
                                                       "entities")},
                            "embedding": base64.b64encode(np.asarray(vec, np.float32).tobytes()).decode()})
    return {"claims.input.json": claim_input, "stories.input.json": story_input}


# ---- each component's output ---------------------------------------------------------------------------------
def run_extractor() -> list:
    out = []
    for path in site_pages():
        with open(path, "rb") as f:
            result = extract_html(f.read(), "https://example.org/" + os.path.basename(path))
        out.append([os.path.relpath(path, REPO), result])
    return out


def run_language() -> list:
    return [[d["id"], detect_language(f"{d['title']}\n{d['text']}" if d["title"] else d["text"])]
            for d in articles() + foreign_articles()]


def run_figures() -> list:
    out = []
    for d in articles():
        words = split_words(d["text"])
        figs = parse_figures(d["text"], words, sentence_spans(d["text"], words))
        out.append([d["id"], [[f.start, f.end, f.value, f.value_low, f.value_high, f.value_text, f.unit,
                               f.unit_family, f.qualifier, f.approximate, f.vague, f.of_person] for f in figs]])
    return out


def _analyzed():
    docs = articles() + site_articles()
    return docs, _analyzer().analyze([d["text"] for d in docs], [d["title"] for d in docs])


def run_ner(analyzed=None) -> list:
    """Entities by offsets and label; scores are left out (they are the model's probabilities, not its output)."""
    docs, found = analyzed or _analyzed()
    return [[d["id"], [[e["start"], e["end"], e["label"]] for e in entities]] for d, (entities, _) in zip(docs, found)]


def run_attribution(analyzed=None) -> list:
    docs, found = analyzed or _analyzed()
    keys = ("source_start", "source_end", "cue_start", "cue_end", "content_start", "content_end")
    return [[d["id"], [[a[k] for k in keys] for a in atts]] for d, (_, atts) in zip(docs, found)]


def run_embedder() -> list:
    """Each article's nearest other article and their cosine to two decimals (a change of the embedder that moves
    no neighbour and no cosine by 0.01 is not a change of its output here)."""
    docs = articles()
    vec = SentenceEncoder().encode([title_and_lead(d) for d in docs])
    cos = vec @ vec.T
    np.fill_diagonal(cos, -1.0)
    return [[d["id"], docs[int(cos[i].argmax())]["id"], round(float(cos[i].max()), 2)] for i, d in enumerate(docs)]


def run_claims() -> list:
    out = []
    by_story = {}
    for article in _load("claims.input.json"):
        # the stamp is left out: it is what a change of this output must bump, not part of it
        claims = [{k: v for k, v in c.items() if k != "extractor"} for c in extract_claims(article)]
        out.append([article["article_id"], claims])
        by_story.setdefault(article["story_id"], []).extend(claims)
    story_rows = [r for sid, cs in sorted(by_story.items()) for r in story_claim_records(sid, cs)]
    return [out, story_rows]


def run_stories() -> dict:
    """The stored signatures as one block and one component: story edges, copies, stories and threads."""
    p = StoryParams()
    sigs = []
    for a in _load("stories.input.json"):
        article = dict(a, published_at=parse_date(a["published_at"]))
        sigs.append(signature(article, np.frombuffer(base64.b64decode(a["embedding"]), np.float32)))
    members = [block_member(s) for s in sigs]
    edges = story_pairs(members, [], p, threshold=p.threshold)
    bands = [set(band_keys(np.frombuffer(s["minhash"], dtype=np.uint64))) for s in sigs]
    copies = [(sigs[i]["article_id"], sigs[j]["article_id"]) for i in range(len(sigs)) for j in range(i + 1, len(sigs))
              if len(bands[i] & bands[j]) >= MIN_SHARED_BANDS]
    nodes = [dict({k: s.get(k) for k in ("article_id", "published", "text_len", "content_hash", "story_id",
                                          "thread_id")}, member=block_member(s)) for s in sigs]
    resolved, summaries = resolve_component(nodes, copies, p)
    threads = resolve_threads(summaries, p)
    # the same articles stretched over two months, as a component larger than max_component: the caps
    stretched = [dict(n, published=1.7e9 + k * 43200.0, member=(n["member"][0], 1.7e9 + k * 43200.0)
                      + n["member"][2:]) for k, n in enumerate(nodes)]
    capped, _ = resolve_component(stretched, copies, StoryParams(max_component=16))
    # every article carries one story id from an earlier run (which saw them as one story): the fuller view
    # splits them again, and the carried id names one of the parts only
    carried, _ = resolve_component([dict(n, story_id="carried-story") for n in nodes], copies, p)
    # which story index rows a run with an article at `day` (days since the epoch) reaches
    day = 86400.0
    reach = {}
    for d in (19_000, 19_015, 19_029):
        blocks = set(index_reach({"published": d * day}, p))
        reach[str(d)] = [other for other in (-200, -90, -60, -30, 0, 30, 60, 90, 200)
                         if index_row_reached({"published": (d + other) * day}, blocks, p)]
    return {"edges": [[a, b, round(float(s), 4)] for a, b, s in edges], "copies": sorted(copies),
            "articles": {aid: [r["duplicate_of"], r["duplicate_kind"], r["story_id"], threads[r["story_id"]]]
                         for aid, r in sorted(resolved.items())},
            "capped": {aid: r["story_id"] for aid, r in sorted(capped.items())},
            "carried": {aid: r["story_id"] for aid, r in sorted(carried.items())}, "reach": reach}


RUNNERS = {"extractor": run_extractor, "language": run_language, "figures": run_figures, "ner": run_ner, "attribution": run_attribution,
           "embedder": run_embedder, "claims": run_claims, "stories": run_stories}


def golden_path(name: str) -> str:
    return os.path.join(GOLDEN, f"{name}.json")
