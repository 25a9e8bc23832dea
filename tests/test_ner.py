"""NER: the shipped model, its preprocessing, RunInference in Beam, and `claimwire ner`."""
import json
import os
import subprocess
import sys

import apache_beam as beam
import pytest
from apache_beam.testing.test_pipeline import TestPipeline
from apache_beam.testing.util import assert_that, equal_to
from hypothesis import given, settings
from hypothesis import strategies as st

from claimcore.bio import bio_spans, iob1_to_bio
from claimcore.ner_model import NerTagger, make_windows, read_model_meta, resolve_model_dir
from claimcore.text import sentence_spans, split_words
from training.conll import span_f1

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SEED = os.path.join(ROOT, "samples", "seeds", "000_5ba0a06f1fe7a067.txt")
SEED2 = os.path.join(ROOT, "samples", "seeds", "001_3f3f7251d9f42a2b.txt")


@pytest.fixture(scope="module")
def tagger():
    return NerTagger.load(resolve_model_dir(None))


def test_iob1_to_bio_and_spans():
    assert iob1_to_bio(["I-PER", "I-PER", "B-PER", "O", "I-LOC", "I-ORG"]) == [
        "B-PER", "I-PER", "B-PER", "O", "B-LOC", "B-ORG"]
    assert bio_spans(["B-PER", "I-PER", "B-PER", "O", "I-LOC"]) == [(0, 2, "PER"), (2, 3, "PER"), (4, 5, "LOC")]
    s = span_f1([["B-PER", "I-PER", "O"]], [["B-PER", "O", "O"]])
    assert s["overall"]["f1"] == 0.0 and s["PER"]["support"] == 1


@given(st.lists(st.integers(1, 12), min_size=1, max_size=300), st.integers(8, 64), st.integers(0, 10))
def test_windows_keep_every_word_exactly_once(counts, max_pieces, stride):
    windows = make_windows(0, counts, max_pieces, stride)
    kept = [i for w in windows for i in range(w.keep_start, w.keep_end)]
    assert kept == list(range(len(counts)))
    for w in windows:
        assert w.word_start <= w.keep_start <= w.keep_end <= w.word_end
        assert sum(counts[w.word_start:w.word_end]) <= max_pieces - 2 or w.word_end - w.word_start == 1


def test_words_and_sentences():
    text = "North Korea's 3,000 troops, said U.S. officials. \"It's serious!\" He left.\nNew line"
    words = [w.text for w in split_words(text)]
    assert words[:6] == ["North", "Korea", "'s", "3,000", "troops", ","] and "U.S." in words
    spans = sentence_spans(text, split_words(text))
    assert len(spans) == 4


def test_an_abbreviation_before_a_number_ends_no_sentence():
    def sentences(text):
        words = split_words(text)
        return [" ".join(w.text for w in words[s:e]) for s, e in sentence_spans(text, words)]
    # ECB+: "helping the Colts secure the No. 5 seed" was split into "… the No ." and "5 seed …"
    assert sentences("The Colts secured the No. 5 seed. They won.") == ["The Colts secured the No . 5 seed .",
                                                                        "They won ."]
    assert len(sentences("See Art. 5 of the treaty.")) == 1
    # a title before a name ends no sentence either ("Lt. Gen. Ben Hodges" was cut after "Lt.")
    assert len(sentences("Lt. Gen. Ben Hodges said 3,000 troops had left.")) == 1
    assert sentences("Det. Joe Smith said 4 men fled. Sgt. Ann Lee agreed.")[1] == "Sgt . Ann Lee agreed ."
    # a real end before a number stays one: "no." is an answer, a year ends a sentence
    assert len(sentences("He said no. 10 people left.")) == 2
    assert len(sentences("She won in 2019. 2020 was worse.")) == 2


TEXT = st.lists(st.one_of(
    st.sampled_from(["Lloyd Austin", "North Korea's", "the Kremlin", "Seoul", "U.S.", "3,000", "Zelenskiy",
                     "said", "troops", ".", ",", "\n", "“quoted”", "O'Neil", "Sun-won", "—", "ÉCOLE", "naïve"]),
    st.text(alphabet=st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=12)),
    min_size=0, max_size=60).map(" ".join)


@settings(max_examples=40, deadline=None)
@given(TEXT)
def test_entity_offsets_always_index_the_text(tagger, text):
    for e in tagger.predict([text])[0]:
        assert text[e["start"]:e["end"]] == e["text"]
        assert e["label"] in ("PER", "ORG", "LOC", "MISC") and 0.0 <= e["score"] <= 1.0


def test_long_article_is_windowed_and_offsets_hold(tagger):
    text = open(SEED, encoding="utf-8").read() * 6  # ~6,000 wordpieces: many windows
    tagger_small = NerTagger(tagger.backend, tagger.encoder.tokenizer, tagger.id2label, tagger.uses_markers,
                             max_pieces=32, stride_words=8)
    ents = tagger_small.predict([text])[0]
    assert sum(e["text"] == "Lloyd Austin" for e in ents) >= 6
    for e in ents:
        assert text[e["start"]:e["end"]] == e["text"]


def test_seed_entities(tagger):
    found = set()
    for path in (SEED, SEED2):
        text = open(path, encoding="utf-8").read()
        found |= {(e["text"], e["label"]) for e in tagger.predict([text])[0]}
    for name in ("Lloyd Austin", "Volodymyr Zelenskiy", "Park Sun-won", "Lee Seong-kweun", "John Kirby"):
        assert (name, "PER") in found, name
    for name in ("National Intelligence Service", "Kremlin", "White House"):
        assert (name, "ORG") in found, name
    for name in ("Russia", "North Korea", "Ukraine", "Seoul", "Vladivostok"):
        assert (name, "LOC") in found, name


def test_entity_rules_relabel_only_what_they_describe():
    from claimcore.entity_rules import apply_entity_rules

    def run(sentence, tags, score=0.6):
        words = sentence.split()
        return apply_entity_rules(words, tags, [score] * len(words))

    # a seat of government speaking is the institution; the place it is stays LOC
    assert run("The Kremlin denied it", ["O", "B-LOC", "O", "O"]) == ["O", "B-ORG", "O", "O"]
    assert run("he returned to the Kremlin", ["O", "O", "O", "O", "B-LOC"])[-1] == "B-LOC"
    # an unsure non-person span in a person's context becomes PER; a sure one, or one without it, does not
    apposition = ["B-ORG", "I-ORG", "O", "O", "O", "O"]
    assert run("Park Sun-won , a member said", apposition)[:2] == ["B-PER", "I-PER"]
    assert run("Park Sun-won , a member said", apposition, score=0.97)[:2] == ["B-ORG", "I-ORG"]
    assert run("Park Sun-won , a company said", apposition)[:2] == ["B-ORG", "I-ORG"]
    assert run("lawmaker Park Sun-won said", ["O", "B-ORG", "I-ORG", "O"])[1:3] == ["B-PER", "I-PER"]
    # a period at a span's edge is not part of the name ("Mr" + "." from split_words); a lone period is no entity
    assert run("Mr . Quiros said", ["O", "B-PER", "I-PER", "O"]) == ["O", "O", "B-PER", "O"]
    assert run("Mr . said", ["O", "B-PER", "O"]) == ["O", "O", "O"]
    assert run("met AT & T .", ["O", "B-ORG", "I-ORG", "I-ORG", "I-ORG"]) == ["O", "B-ORG", "I-ORG", "I-ORG", "O"]
    # "Mr." before an unsure non-person span is a person's context, as "mr." in ROLE_BEFORE means
    assert run("Mr . Sun-won said", ["O", "O", "B-ORG", "O"])[2] == "B-PER"


def test_honorific_period_is_not_part_of_the_name(tagger):
    """The shipped model on NYT-style text: split_words cuts "Mr." in two, and the model alone starts names at the
    period (". Quiros"); entity-rules/2 gives the name alone."""
    text = "Mr. Quiros was accused of using $50 million. Mr. Clarke said his fund spent about $28 million."
    entities = tagger.predict([text])[0]
    assert [(e["text"], e["label"]) for e in entities] == [("Quiros", "PER"), ("Clarke", "PER")]
    assert all(text[e["start"]:e["end"]] == e["text"] for e in entities)


def test_shipped_model_card_and_metadata():
    model_dir = resolve_model_dir(None)
    meta = read_model_meta(model_dir)
    assert meta["format"] == "claimwire-ner/1" and meta["case_markers"] is True
    assert meta["test"]["overall"]["f1"] >= 0.88
    assert os.path.exists(os.path.join(model_dir, "README.md"))


def test_run_inference_isolates_a_bad_article():
    from transforms.ner import RecognizeEntities
    good = {"article_id": "g", "url": "u1", "text": "Lloyd Austin spoke in Rome on Tuesday."}
    bad = {"article_id": "b", "url": "u2", "text": 12345}  # not text: the model path raises on it
    with TestPipeline(options=beam.options.pipeline_options.PipelineOptions(["--runner=DirectRunner"])) as p:
        out = p | beam.Create([good, bad]) | RecognizeEntities(articles_per_call=8)
        assert_that(out.articles | beam.Map(lambda a: (a["article_id"], [e["text"] for e in a["entities"]
                                                                           if e["label"] == "PER"])),
                    equal_to([("g", ["Lloyd Austin"]), ("b", [])]), label="articles")
        assert_that(out.errors | beam.Map(lambda e: (e["kind"], e["url"])), equal_to([("ner_failed", "u2")]),
                    label="errors")


def test_exact_copies_are_tagged_once_and_share_the_entities():
    """Two URLs with one text (a wire reprint) run the model once; a text differing only in spacing runs again (its
    content_hash is the same, its entity offsets are not)."""
    from apache_beam.metrics.metric import MetricsFilter

    from transforms.ner import RecognizeEntities
    text = "Lloyd Austin met Rishi Sunak in Rome on Tuesday, the Pentagon said."
    rows = [{"article_id": "a2", "url": "u2", "text": text}, {"article_id": "a1", "url": "u1", "text": text},
            {"article_id": "a3", "url": "u3", "text": text.replace(" met ", "  met ")}]
    p = TestPipeline(options=beam.options.pipeline_options.PipelineOptions(["--runner=DirectRunner"]))
    out = p | beam.Create(rows) | RecognizeEntities(articles_per_call=8)
    assert_that(out.articles | beam.Map(lambda a: (a["article_id"], a["url"], sorted(
        (e["text"], e["start"]) for e in a["entities"] if e["label"] == "PER"))),
                equal_to([("a1", "u1", [("Lloyd Austin", 0), ("Rishi Sunak", 17)]),
                          ("a2", "u2", [("Lloyd Austin", 0), ("Rishi Sunak", 17)]),
                          ("a3", "u3", [("Lloyd Austin", 0), ("Rishi Sunak", 18)])]))
    result = p.run()
    result.wait_until_finish()
    counts = {r.key.metric.name: r.committed for r in result.metrics().query(
        MetricsFilter().with_namespace("claimwire"))["counters"]}
    assert counts["ner.model_runs"] == 2 and counts["ner.copies_reused"] == 1


def test_claimwire_ner_command_matches_the_library(tagger):
    text = open(SEED2, encoding="utf-8").read()
    lines = json.dumps({"id": "a", "text": text}) + "\n" + json.dumps({"id": "b", "text": ""}) + "\n"
    res = subprocess.run([sys.executable, "-m", "pipeline", "ner"], input=lines, capture_output=True, text=True,
                         cwd=ROOT, check=True, env=dict(os.environ, HF_HUB_OFFLINE="1"))
    rows = [json.loads(l) for l in res.stdout.splitlines()]
    assert [r["id"] for r in rows] == ["a", "b"] and rows[1]["entities"] == []
    expected = tagger.predict([text])[0]
    assert [(e["text"], e["start"]) for e in rows[0]["entities"]] == [(e["text"], e["start"]) for e in expected]


def test_claimwire_ner_command_answers_a_bad_line_in_its_place():
    """One bad line stopped the command with a JSONDecodeError and no output at all; now each input line gets
    one output line, in order, and a bad one says why."""
    lines = "\n".join([json.dumps({"id": "a", "text": "John Smith visited Paris."}), "not json",
                        json.dumps({"id": "b", "text": {"x": 1}}), "[1]",
                        json.dumps({"id": "c", "text": "Mary Jones spoke."})]) + "\n"
    # --batch-size: deprecated, accepted for one release, changes nothing and says so
    res = subprocess.run([sys.executable, "-m", "pipeline", "ner", "--batch-size", "4"], input=lines, capture_output=True, text=True,
                         cwd=ROOT, check=True, env=dict(os.environ, HF_HUB_OFFLINE="1"))
    rows = [json.loads(line) for line in res.stdout.splitlines()]
    assert [r.get("id") for r in rows] == ["a", None, "b", None, "c"]
    assert [r.get("line") for r in rows if "error" in r] == [2, 3, 4]
    assert rows[2]["error"] == "'text' is dict, not str"
    assert [e["text"] for e in rows[4]["entities"]] == ["Mary Jones"]
    assert "3 line(s) not tagged" in res.stderr
    assert "--batch-size is deprecated and does nothing" in res.stderr


def test_names_beyond_conll_are_found_whole(tagger):
    """bench/names_probe.json: 25 person names from naming traditions CoNLL-2003 barely has (Korean, Chinese,
    Vietnamese, West and South African, Arabic, Indian, Ukrainian, Latin American, Japanese, Kazakh)."""
    sys.path.insert(0, os.path.join(ROOT, "bench"))
    from names import PROBE, score
    items = json.load(open(PROBE, encoding="utf-8"))["items"]
    result = score(tagger, items, rules=True)
    assert result["total"] == 25
    assert result["found"] >= 23, result["misses"]
    assert result["invented"] <= 5, result["extra"]
