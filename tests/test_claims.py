"""Claim records: the seed gold file, the labelled other-topic corpus, number parsing, corroboration."""
import json
import os
import sys

import pytest

from claimcore.claims import extract_claims, story_claim_records
from claimcore.entities import actor_name, canonical_name, canonicalize_entities
from claimcore.ner_model import NerTagger, resolve_model_dir

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "bench"))
GOLD = json.load(open(os.path.join(ROOT, "tests", "fixtures", "seed_claims.json"), encoding="utf-8"))


@pytest.fixture(scope="module")
def tagger():
    return NerTagger.load(resolve_model_dir(None))


@pytest.fixture(scope="module")
def seed_claims(tagger):
    """The seeds through what the pipeline runs: NER and the attribution head in one pass, then the claims."""
    from claimcore.attribution_model import ArticleAnalyzer, AttributionTagger, resolve_attribution_dir
    analyzer = ArticleAnalyzer(tagger, AttributionTagger.load(resolve_attribution_dir(None)))
    out = {}
    for doc in GOLD["story"]["same_story"]:
        text = open(os.path.join(ROOT, "samples", "seeds", doc), encoding="utf-8").read()
        (entities, attributions), = analyzer.analyze([text])
        article = {"article_id": doc, "story_id": "seed-story", "outlet": doc[:3], "text": text,
                   "entities": entities, "attributions": attributions}
        out[doc] = extract_claims(article)
    return out


def norm(text: str) -> str:
    """Evidence strings in the gold file differ from the text in quotes and commas ('"fake news,"')."""
    for a, b in (("“", '"'), ("”", '"'), ("’", "'"), (",", "")):
        text = text.replace(a, b)
    return " ".join(text.split()).casefold()


def claimant_ok(any_of, claim):
    if any_of is None:
        return claim["claimant"] is None
    text = (claim["claimant"] or {}).get("text") or ""
    return any(a.casefold() in text.casefold() for a in any_of)


def test_seed_quantity_claims(seed_claims):
    found = 0
    for g in GOLD["claims"]:
        hits = [c for c in seed_claims[g["doc"]] if c["stance"] == "asserts" and norm(g["evidence"]) in norm(c["sentence"])
                and c["value"] == g["value"] and c["unit"] == g["unit"] and claimant_ok(g["claimant_any"], c)
                and c["approximate"] == g["approximate"]]
        found += bool(hits)
        if not hits:
            print("missed:", g)
    assert found == len(GOLD["claims"]) == 10, found


def test_seed_denials(seed_claims):
    for g in GOLD["denials"]:
        hits = [c for c in seed_claims[g["doc"]] if c["stance"] == "denies" and norm(g["evidence"]) in norm(c["sentence"])
                and claimant_ok(g["claimant_any"], c)]
        assert hits, g["evidence"]


def test_seed_non_claims(seed_claims):
    for g in GOLD["not_claims"]:
        for c in seed_claims[g["doc"]]:
            assert g["text"] not in (c["value_text"] or "") and not (
                g["text"] in c["sentence"] and c["value"] is not None and str(int(c["value"])) in g["text"]), g


def test_cross_outlet_corroboration(seed_claims):
    claims = [dict(c, outlet=doc) for doc, cs in seed_claims.items() for c in cs]
    rows = story_claim_records("seed-story", claims)
    for g in GOLD["corroborated_across_outlets"]:
        match = [r for r in rows if r["value"] == g["value"] and any(s in (r["subject"] or "")
                                                                     for s in g["subject_any"])
                 and r["unit_family"] == "count:military personnel"]
        assert match and match[0]["outlet_count"] >= g["min_distinct_docs"], g
    troops = [r for r in rows if r["subject"] == "North Korea" and r["unit_family"] == "count:military personnel"]
    assert {3000.0, 10000.0, 1500.0, 12000.0} <= {r["value"] for r in troops}
    assert all(r["conflict"] for r in troops)  # 3,000 vs 1,500 vs 10,000: different claims, flagged


def test_precision_and_recall_on_labelled_corpus(tagger):
    from claims import score
    r = score(tagger)
    print(f"claims: precision {r['precision']:.3f} recall {r['recall']:.3f} on {r['articles']} articles")
    assert r["articles"] >= 20
    assert r["precision"] >= 0.85 and r["recall"] >= 0.75, r


@pytest.mark.parametrize("sentence,value,unit,approximate", [
    ("Officials said 3,000 troops arrived.", 3000, "troops", False),
    ("Officials said 3000 troops arrived.", 3000, "troops", False),
    ("Officials said about 1.5 million people fled.", 1.5e6, "people", True),
    ("Officials said a 12,000-strong force of soldiers moved.", 12000, "soldiers", False),
    ("Officials said 3k soldiers moved.", 3000, "soldiers", False),
    ("Officials said ten thousand soldiers moved.", 10000, "soldiers", False),
    ("Officials said prices rose 2.1% in May.", 2.1, "percent", False),
    ("The firm said revenue was $23.5 billion.", 23.5e9, "dollar", False),
    ("Officials said up to 300 homes burned.", 300, "homes", True),
])
def test_numbers(sentence, value, unit, approximate):
    claims = [c for c in extract_claims({"article_id": "a", "text": sentence, "entities": []})
              if c["stance"] == "asserts"]
    assert [(c["value"], c["unit"], c["approximate"]) for c in claims] == [(value, unit, approximate)]


@pytest.mark.parametrize("sentence", [
    "The war began in February 2022 and troops arrived.", "The talks start on December 12 with officials.",
    "The meeting is at 10:30 with officials.", "Call +44 20 7946 0958 for tickets.", "He came third in 2024.",
    "Comments (2)", "The Boeing 737 landed.", "It was his 3rd term.",
])
def test_not_claims(sentence):
    assert [c for c in extract_claims({"article_id": "a", "text": sentence, "entities": []})
            if c["stance"] == "asserts"] == []


def test_pronoun_claimant_resolves_to_previous_person():
    text = "Defense Secretary Lloyd Austin spoke in Rome. He said 3,000 troops had arrived."
    ents = [{"text": "Lloyd Austin", "label": "PER", "start": 18, "end": 30, "score": 0.99}]
    claims = extract_claims({"article_id": "a", "text": text, "entities": ents})
    assert claims[0]["claimant"]["text"] == "Lloyd Austin" and claims[0]["cue"] == "said"


def _attribution(text, source, cue, content):
    """An attribution record as the attribution head writes it, from the three phrases as written."""
    att = {}
    for role, phrase in (("source", source), ("cue", cue), ("content", content)):
        start = text.index(phrase) if phrase else None
        att.update({role: phrase, f"{role}_start": start, f"{role}_end": start + len(phrase) if phrase else None})
    return att


@pytest.mark.parametrize("text,source,cue,content,entities,claimant", [
    # the model's source stopped at an honorific: the name after it is the claimant
    ("Mrs. Clinton criticized a rate of 39.6 percent.", "Mrs", "criticized", "a rate of 39.6 percent",
     [("Clinton", "PER")], "Mrs. Clinton"),
    # a possessive resolves like its pronoun
    ("Romney lost. His comment about 47 percent stuck.", "His", "comment about", "47 percent",
     [("Romney", "PER")], "Romney"),
    # a source that stopped at its article is the noun phrase after it, not a name resolved from before it
    ("Trump spoke. The new spot, titled Arrogant, features $1 billion in losses.", "The", "titled",
     "$1 billion in losses", [("Trump", "PER")], "The new spot"),
    # a lone preposition names nobody
    ("In law school, 30 students dismissed the plan.", "In", "dismissed", "30 students", [], None),
    # a source that ran into the time phrase after it ends before its preposition
    ("The city's finance committee on Tuesday approved a budget of $40 million.",
     "The city's finance committee on", "approved", "a budget of $40 million", [], "The city's finance committee"),
    # a relative pronoun is the noun phrase right before it, not a name sentences back
    ("Josh Earnest spoke. It included the Saudi government, which said 3,000 troops had left.", "which", "said",
     "3,000 troops had left", [("Josh Earnest", "PER")], "the Saudi government"),
])
def test_model_sources_cut_short_are_completed_or_dropped(text, source, cue, content, entities, claimant):
    ents = [{"text": t, "label": label, "start": text.index(t), "end": text.index(t) + len(t), "score": 0.99}
            for t, label in entities]
    claims = extract_claims({"article_id": "a", "text": text, "entities": ents,
                             "attributions": [_attribution(text, source, cue, content)]})
    assert [(c["claimant"] or {}).get("text") for c in claims if c["stance"] == "asserts"][:1] == [claimant]


@pytest.mark.parametrize("text,claimant", [
    ("Peyton Hillis added 101 yards on the ground.", None),  # an action on the figure, not a report of it
    ("Jeremy Lin posted a game-high 27 points.", None),
    ("The company lost $5 million, the chief executive added.", "the chief executive"),
    ("The minister added that 3,000 troops had arrived.", "The minister"),
    ("The ministry posted: 3,000 troops have arrived.", "The ministry"),
])
def test_added_and_posted_report_only_before_a_clause_or_after_the_figure(text, claimant):
    """The cue rules (no attribution model here): 'added', 'posted', 'recorded' take a figure as their object in
    sports and court news; before the figure they report only with 'that', a colon or a quote in between."""
    claims = extract_claims({"article_id": "a", "text": text, "entities": []})
    assert [(c["claimant"] or {}).get("text") for c in claims] == [claimant]


@pytest.mark.parametrize("text,denied", [
    ("The ministry denied that troops had crossed the border.", True),
    ("Her lawyer dismissed those reports as misinterpreted.", True),
    ("The government strongly denied any involvement in the attack.", True),
    ("The judge rejected that argument on Thursday.", True),
    ("The campaign called the charges fabricated.", True),
    ("Both countries deny North Korean arms shipments to Russia.", True),
    # a request, a permit, a person or a proposal is no claim
    ("A judge rejected a media request to unseal the file.", False),
    ("The state could deny them mining permits.", False),
    ("Denying us justice is wrong, and they deny the right to vote.", False),
    ("She had to reject her parents and their beliefs.", False),
    ("It offered a compromise rebuffed by Republicans.", False),
    ("Supervisors would sometimes dismiss her proposals.", False),
])
def test_a_denial_denies_a_claim(text, denied):
    """PolNeAR dev had 21 denial claims, 14 of them rejected requests, permits, parents or proposals; now 7."""
    claims = extract_claims({"article_id": "a", "text": text, "entities": []})
    assert any(c["stance"] == "denies" for c in claims) == denied


def test_a_persons_age_between_commas_is_nobodys_claim():
    """'Donna Rawlings, 59, of Ashton, who watched on the Mall, said …': the age describes her; the cue rules gave it
    the claimant 'the Mall'."""
    text = "Donna Rawlings, 59, of Ashton, who watched it on the Mall, said the crowd was huge."
    ents = [{"text": t, "label": label, "start": text.index(t), "end": text.index(t) + len(t), "score": 0.99}
            for t, label in (("Donna Rawlings", "PER"), ("Ashton", "LOC"), ("Mall", "LOC"))]
    claims = extract_claims({"article_id": "a", "text": text, "entities": ents})
    assert [(c["value_text"], c["unit"], c["claimant"], c["cue"]) for c in claims] == [
        ("59", "year of age", None, None)]


def test_cue_words_inside_names_or_after_an_article_are_not_cues_and_function_words_no_claimant():
    """'States' in 'the United States' is a name, not the cue 'states'; 'the reports' is a noun. Before, both gave a
    claimant ('the United', 'Officials and the')."""
    text = "Mexico buys nearly $250 billion worth of goods from the United States."
    ents = [{"text": "Mexico", "label": "LOC", "start": 0, "end": 6, "score": 0.99},
            {"text": "United States", "label": "LOC", "start": 58, "end": 71, "score": 0.99}]
    claims = extract_claims({"article_id": "a", "text": text, "entities": ents})
    assert [(c["value"], c["claimant"], c["cue"]) for c in claims] == [(250e9, None, None)]
    text = "Officials and the reports put the toll at 40 people."
    claims = extract_claims({"article_id": "a", "text": text, "entities": []})
    assert [(c["value"], c["claimant"]) for c in claims] == [(40, None)]
    # a phrase of function words only names nobody (spaCy's stop words): "That said, ...", "Many said ..."
    for text in ("That said, the Colts won the turnover battle 3-0 and 40 people watched.",
                 "Many said 40 people died."):
        claims = extract_claims({"article_id": "a", "text": text, "entities": []})
        assert claims and all(c["claimant"] is None for c in claims), text
    # the cue word is no claimant of itself; an infinitive ("declined to say") asserts nothing
    for text in ("Estimated damage is in the vicinity of $1 million.",
                 "The mayor declined to say how many of the 40 buildings burned."):
        claims = extract_claims({"article_id": "a", "text": text, "entities": []})
        assert claims and all(c["claimant"] is None for c in claims), text
    # a figure inside its own claimant's phrase is not that claimant's claim
    text = "However, 63 percent said the plan was justified. Two senior officials told Reuters that 40 people died."
    claims = extract_claims({"article_id": "a", "text": text, "entities": []})
    assert [(c["value"], c["claimant"] and c["claimant"]["text"]) for c in claims] == [
        (63, None), (2, None), (40, "Two senior officials")]
    # a source that is only a share or a number names nobody (the model's span for "would choose" below, as on
    # PolNeAR dev); a count of people still names a group
    text = "Among likely voters, 46 percent would choose Clinton and 44 percent would back Trump."

    def attribution(source, cue, content):
        at = {}
        for role, phrase in (("source", source), ("cue", cue), ("content", content)):
            at[role], at[f"{role}_start"], at[f"{role}_end"] = phrase, text.index(phrase), text.index(phrase) + len(
                phrase)
        return at
    att = attribution("46 percent", "would choose", "Clinton and 44 percent would back Trump")
    claims = extract_claims({"article_id": "a", "text": text, "entities": [], "attributions": [att]})
    assert [(c["value"], c["claimant"]) for c in claims] == [(46, None), (44, None)]
    text = "Two senior officials said 40 people died."
    att = attribution("Two senior officials", "said", "40 people died")
    claims = extract_claims({"article_id": "a", "text": text, "entities": [], "attributions": [att]})
    assert [(c["value"], c["claimant"] and c["claimant"]["text"]) for c in claims] == [
        (2, None), (40, "Two senior officials")]
    # a lone sign names nobody (ECB+: the model's source for "showed" was the dash of "- one for each defendant -")
    text = "The two juries - one for each defendant - showed that 12 jurors cried."
    att = attribution("-", "showed", "12 jurors cried")
    att["source_start"] = text.rindex("-")
    att["source_end"] = att["source_start"] + 1
    claims = extract_claims({"article_id": "a", "text": text, "entities": [], "attributions": [att]})
    assert [(c["value"], c["claimant"]) for c in claims if c["value"] == 12] == [(12, None)]
    # the cue verb still counts where it is one
    text = "The ministry states that 40 people died."
    claims = extract_claims({"article_id": "a", "text": text, "entities": []})
    assert [(c["claimant"]["text"], c["cue"]) for c in claims] == [("The ministry", "states")]


def test_a_figure_describing_a_named_source_and_names_inside_the_quote_are_not_claimants(tagger):
    """Through the model as the pipeline runs it: a figure inside a named source's phrase ("said 23-year-old
    Ryosuke Kinoshita") gets no claimant from the cue rules (they gave "Japan"), and a description after a quote
    does not resolve to a name inside that quote (it gave "Putin")."""
    from claimcore.attribution_model import ArticleAnalyzer, AttributionTagger, resolve_attribution_dir
    analyzer = ArticleAnalyzer(tagger, AttributionTagger.load(resolve_attribution_dir(None)))

    def claimants(text):
        (entities, attributions), = analyzer.analyze([text])
        claims = extract_claims({"article_id": "a", "text": text, "entities": entities,
                                 "attributions": attributions})
        return [(c["value_text"], (c["claimant"] or {}).get("text")) for c in claims]

    assert claimants("If anything, Japan has been too passive, said 23-year-old Ryosuke Kinoshita, who supports "
                     "Abe's ruling Liberal Democratic Party.") == [("23-year-old", None)]
    assert claimants("\"Luke Harding has churned out 2 articles totaling over 5,000 words, each using the word "
                     "'Putin', almost as often as they use the phrases 'allegedly',\" the embassy wrote.") == [
        ("2", "the embassy"), ("5,000", "the embassy")]


def test_claim_ids_are_deterministic_and_distinct(seed_claims):
    ids = [c["claim_id"] for cs in seed_claims.values() for c in cs]
    assert len(ids) == len(set(ids))
    again = extract_claims(dict(article_id="001_3f3f7251d9f42a2b.txt", text=open(os.path.join(
        ROOT, "samples", "seeds", "001_3f3f7251d9f42a2b.txt"), encoding="utf-8").read(), entities=[]))
    assert {c["claim_id"] for c in again} & set(ids)


def test_entity_canonicalization():
    assert canonical_name("Zelenskiy") == canonical_name("Zelenskyy") == "Volodymyr Zelensky"
    assert canonical_name("U.S.") == canonical_name("US") == canonical_name("United States") == "United States"
    assert canonical_name("DPRK") == canonical_name("North Korea") == "North Korea"
    # a country's other names, from countryinfo's data; a person named like a country keeps the name
    assert [canonical_name(n, "LOC") for n in ("Russian Federation", "Viet Nam", "Republic of Korea", "Holland")] \
        == ["Russia", "Vietnam", "South Korea", "Netherlands"]
    assert canonical_name("Holland", "PER") == "Holland"
    assert actor_name("North Korean") == actor_name("Pyongyang") == "North Korea"
    # every country's demonym and large countries' capitals (countryinfo's data), not a list of the sample's
    assert [actor_name(n) for n in ("Yemeni", "Dutch", "Syrians", "Swiss", "Americans", "Tehran", "Kremlin")] == \
        ["Yemen", "Netherlands", "Syria", "Switzerland", "United States", "Iran", "Russia"]
    # a small country's capital is more often another city of that name; a person is never a place
    assert [actor_name("Kingston", "LOC"), actor_name("San José", "LOC"), actor_name("Jordan", "PER")] == \
        ["Kingston", "San José", "Jordan"]
    ents = canonicalize_entities([{"text": "Lloyd Austin", "label": "PER"}, {"text": "Austin", "label": "PER"},
                                  {"text": "Volodymyr Zelenskiy", "label": "PER"}])
    assert [e["canonical"] for e in ents] == ["Lloyd Austin", "Lloyd Austin", "Volodymyr Zelensky"]


def test_claims_transforms_in_a_pipeline():
    import apache_beam as beam
    from apache_beam.testing.test_pipeline import TestPipeline
    from apache_beam.testing.util import assert_that, equal_to

    from transforms.claims import AggregateStoryClaims, ExtractClaims
    a = {"article_id": "a1", "story_id": "s1", "outlet": "one.example", "duplicate_of": None,
         "text": "Officials said 3,000 troops arrived.", "entities": []}
    b = dict(a, article_id="a2", outlet="two.example", text="The ministry said 3,000 troops had come.")
    copy = dict(a, article_id="a3", outlet="three.example", duplicate_of="a1")  # a reprint: not a source
    with TestPipeline(options=beam.options.pipeline_options.PipelineOptions(["--runner=DirectRunner"])) as p:
        claims = (p | beam.Create([a, b, copy]) | ExtractClaims()).claims
        assert_that(claims | "C" >> beam.Map(lambda c: (c["article_id"], c["value"], c["claimant"]["text"])),
                    equal_to([("a1", 3000.0, "Officials"), ("a2", 3000.0, "The ministry")]), label="claims")
        story = claims | AggregateStoryClaims()
        assert_that(story | "S" >> beam.Map(lambda r: (r["story_id"], r["value"], r["outlet_count"],
                                                       r["claimant_count"])),
                    equal_to([("s1", 3000.0, 2, 2)]), label="story_claims")


def test_a_failing_article_becomes_a_dead_letter_and_the_rest_go_on(monkeypatch):
    import apache_beam as beam
    from apache_beam.testing.test_pipeline import TestPipeline
    from apache_beam.testing.util import assert_that, equal_to

    import transforms.claims as claims_module
    real = claims_module.extract_claims

    def fails_on_bad(article):
        if article["article_id"] == "bad":
            raise RuntimeError("forced failure")
        return real(article)

    monkeypatch.setattr(claims_module, "extract_claims", fails_on_bad)
    good = {"article_id": "good", "story_id": "s1", "outlet": "one.example", "duplicate_of": None,
            "url": "https://one.example/good", "text": "Officials said 3,000 troops arrived.", "entities": []}
    bad = dict(good, article_id="bad", url="https://one.example/bad")
    with TestPipeline(options=beam.options.pipeline_options.PipelineOptions(["--runner=DirectRunner"])) as p:
        out = p | beam.Create([good, bad]) | claims_module.ExtractClaims()
        assert_that(out.claims | "C" >> beam.Map(lambda c: (c["article_id"], c["value"])),
                    equal_to([("good", 3000.0)]), label="claims")
        assert_that(out.errors | "E" >> beam.Map(lambda e: (e["stage"], e["kind"], e["url"], e["message"])),
                    equal_to([("claims", "claims_failed", "https://one.example/bad",
                               "article bad: RuntimeError: forced failure")]), label="errors")


def test_build_stories_transform():
    import datetime as dt

    import apache_beam as beam
    from apache_beam.testing.test_pipeline import TestPipeline
    from apache_beam.testing.util import assert_that, equal_to

    from transforms.stories import BuildStories
    t = lambda h: dt.datetime(2024, 10, 24, h, tzinfo=dt.timezone.utc)  # noqa: E731
    arts = [{"article_id": "x1", "story_id": "x1", "outlet": "a.example", "title": "First", "published_at": t(8),
             "duplicate_of": None, "entities": [{"text": "Seoul", "label": "LOC"}]},
            {"article_id": "x2", "story_id": "x1", "outlet": "b.example", "title": "Second", "published_at": t(9),
             "duplicate_of": None, "entities": [{"text": "Seoul", "label": "LOC"}, {"text": "Kim", "label": "PER"}]},
            {"article_id": "y1", "story_id": "y1", "outlet": "a.example", "title": "Other", "published_at": t(7),
             "duplicate_of": None, "entities": []}]
    with TestPipeline(options=beam.options.pipeline_options.PipelineOptions(["--runner=DirectRunner"])) as p:
        stories = p | beam.Create(arts) | BuildStories()
        assert_that(stories | beam.Map(lambda s: (s["story_id"], s["article_count"], s["outlet_count"],
                                                  s["representative_title"], s["top_entities"])),
                    equal_to([("x1", 2, 2, "First", ["Seoul", "Kim"]), ("y1", 1, 1, "Other", [])]))


NEWSY = list("0123456789,.;:$%€£¥-–() \n\"'") + ["said", "Mr.", "according to", "million", "troops", "percent",
                                                  "about", "more than", "to", "North Korea", "denied", "he", "told"]


def test_extract_claims_never_raises_on_random_text():
    """Fuzz: random text, and random sequences of the pieces claims are made of, never raise."""
    from hypothesis import example, given, settings
    from hypothesis import strategies as st

    from claimcore.claims import extract_claims

    texts = st.one_of(st.text(max_size=300), st.lists(st.sampled_from(NEWSY), max_size=60).map(" ".join))

    @st.composite
    def articles(draw):
        """Random text with random (possibly overlapping, out-of-order) entity and attribution spans."""
        text = draw(texts)
        n = len(text)
        offsets = st.integers(0, max(0, n))

        def span():
            a, b = sorted((draw(offsets), draw(offsets)))
            return a, b

        entities = []
        for _ in range(draw(st.integers(0, 3))):
            a, b = span()
            entities.append({"text": text[a:b], "label": draw(st.sampled_from(["PER", "ORG", "LOC"])),
                             "start": a, "end": b, "score": 0.9})
        attributions = []
        for _ in range(draw(st.integers(0, 3))):
            (cs, ce), (qs, qe), (ss, se) = span(), span(), span()
            has_source = draw(st.booleans())
            attributions.append({"content_start": cs, "content_end": ce, "cue": text[qs:qe], "cue_start": qs,
                                 "cue_end": qe, "source": text[ss:se] if has_source else None,
                                 "source_start": ss if has_source else None,
                                 "source_end": se if has_source else None, "score": 0.5})
        return {"article_id": "fuzz", "text": text, "entities": entities, "attributions": attributions}

    # derandomized: the same 600 examples on every run, so CI never flakes (a random run found an empty source
    # span, 2026-11-25; the fixed case is pinned below)
    @settings(max_examples=600, deadline=None, database=None, derandomize=True)
    @example({"article_id": "fuzz", "text": "000000000:", "entities": [
        {"text": "", "label": "PER", "start": 0, "end": 0, "score": 0.9}], "attributions": [
        {"content_start": 0, "content_end": 10, "cue": "", "cue_start": 0, "cue_end": 0, "source": "",
         "source_start": 9, "source_end": 9, "score": 0.5}]})
    @given(articles())
    def check(article):
        for claim in extract_claims(article):
            assert claim["article_id"] == "fuzz"
            assert claim["figure_start"] is None or 0 <= claim["figure_start"] <= claim["figure_end"] <= len(
                article["text"])

    check()


def test_near_spellings_are_searched_in_prose_not_in_rosters():
    """Near spellings compare every pair of an article's names; a roster of thousands took minutes. Above
    MAX_NAMES_FOR_NEAR_SPELLINGS names of a type only surnames resolve."""
    from claimcore.entities import MAX_NAMES_FOR_NEAR_SPELLINGS
    prose = [{"text": "Mohammad Al-Sharif", "label": "PER"}, {"text": "Mohammed Alsharif", "label": "PER"},
             {"text": "Austin", "label": "PER"}, {"text": "Lloyd Austin", "label": "PER"}]
    assert [e["canonical"] for e in canonicalize_entities(prose)] == \
        ["Mohammad Al-Sharif", "Mohammad Al-Sharif", "Lloyd Austin", "Lloyd Austin"]
    roster = prose + [{"text": f"Player{i} Roster{i}", "label": "PER"} for i in range(MAX_NAMES_FOR_NEAR_SPELLINGS)]
    assert [e["canonical"] for e in canonicalize_entities(roster)[:4]] == \
        ["Mohammad Al-Sharif", "Mohammed Alsharif", "Lloyd Austin", "Lloyd Austin"]


def test_the_cue_rules_reach_a_bounded_number_of_words_in_a_sentence_without_stops():
    """A list with no full stop is one 'sentence' of thousands of words; the cue rules search RULES_REACH words
    either side of each figure (the whole sentence made the claims step quadratic). Claims near a cue keep it."""
    from claimcore.claims import RULES_REACH
    text = "Officials said " + " and ".join(f"{i + 2} crates" for i in range(3 * RULES_REACH))
    claims = extract_claims({"article_id": "a", "text": text, "entities": []})
    cued = {c["value"] for c in claims if c["cue"] == "said"}
    assert 2 in cued and 3 * RULES_REACH + 1 not in cued


def test_a_headline_run_on_into_the_body_is_a_sentence_of_its_own(tagger):
    """One outlet prints its headline at the start of the first paragraph ("… for Ukraine War For the first time,
    the U.S. has confirmed …"): the headline's figure took the body's claimant. With the article's title, the
    headline is its own sentence for NER, attribution and claims; without one nothing changes."""
    from claimcore.attribution_model import ArticleAnalyzer, AttributionTagger, resolve_attribution_dir
    from claimcore.text import glued_title_ends, sentence_spans, split_words
    title = "3000 North Korean Troops Sent to Russia for Ukraine War"
    text = (f"{title} For the first time, the U.S. has confirmed that North Korea has sent 3,000 troops to Russia "
            "for possible deployment in Ukraine.")
    assert glued_title_ends(text, title) == (len(title),)
    assert glued_title_ends(f"{title}\nFor the first time …", title) == ()  # on a line of its own: nothing to do
    # a lede that repeats the headline and goes on is one sentence: its figure keeps its context
    assert glued_title_ends("Fed raises interest rates by 0.25 points on Wednesday.", "Fed raises interest rates") == ()
    words = split_words(text)
    assert [text[words[s].start:words[e - 1].end] for s, e in sentence_spans(text, words, title)][0] == title
    assert len(sentence_spans(text, words)) == 1
    analyzer = ArticleAnalyzer(tagger, AttributionTagger.load(resolve_attribution_dir(None)))
    (entities, attributions), = analyzer.analyze([text], [title])
    claims = extract_claims({"article_id": "a", "title": title, "text": text, "entities": entities,
                             "attributions": attributions})
    headline = [c for c in claims if c["figure_start"] == 0]
    body = [c for c in claims if c["figure_start"] > len(title)]
    assert headline and headline[0]["sentence"] == title and headline[0]["claimant"] is None
    assert body and body[0]["value"] == 3000 and "U.S." in body[0]["claimant"]["text"]
