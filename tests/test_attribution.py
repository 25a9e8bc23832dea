"""claimwire-attribution-v1: the PolNeAR reader, role linking, the shipped head on real sentences, and claims whose
claimant comes from it."""
import os

import pytest

from training.polnear import read_split, word_roles
from transforms.attribution_model import ArticleAnalyzer, AttributionTagger, link_attributions, resolve_attribution_dir
from transforms.claims import extract_claims
from transforms.entities import canonicalize_entities
from transforms.ner_model import NerTagger, resolve_model_dir, split_words


@pytest.fixture(scope="module")
def analyzer():
    return ArticleAnalyzer(NerTagger.load(resolve_model_dir(None)),
                           AttributionTagger.load(resolve_attribution_dir(None)))


def analyze(analyzer, text):
    (entities, attributions), = analyzer.analyze([text])
    return {"article_id": "t", "text": text, "entities": canonicalize_entities(entities),
            "attributions": attributions}


def test_polnear_reader_is_tolerant_and_keeps_one_annotator(tmp_path):
    (tmp_path / "dev" / "text").mkdir(parents=True)
    (tmp_path / "dev" / "attributions").mkdir()
    text = "Headline\n\nThe senator said taxes rose 4 percent. Prices fell."
    (tmp_path / "dev" / "text" / "a_2016-01-01_x.txt").write_text(text, encoding="utf-8")
    ann = ("T1\tSource 10 21\tThe senator\nT2\tCue 22 26\tsaid\nT3\tContent 27 49\ttaxes rose 4 percent\n"
           "T4\tAttribution 22 26\tsaid\nE1\tAttribution:T4 Content:T3 Cue:T2 Source:T1\n"
           "garbage line without tabs\nT9\tContent 50 55;56 60\tPrices fell\n")
    (tmp_path / "dev" / "attributions" / "a_2016-01-01_x_aaaa.ann").write_text(ann, encoding="utf-8")
    (tmp_path / "dev" / "attributions" / "a_2016-01-01_x_bbbb.ann").write_text("", encoding="utf-8")
    arts = read_split(str(tmp_path), "dev")
    assert len(arts) == 1 and len(arts[0].attributions) == 1
    a = arts[0].attributions[0]
    assert text[slice(*a.source[0])] == "The senator" and text[slice(*a.cue[0])] == "said"
    words = split_words(text)
    tags = dict(zip([w.text for w in words], word_roles(words, arts[0].attributions)))
    assert tags["senator"] == "I-SOURCE" and tags["said"] == "B-CUE" and tags["taxes"] == "B-CONTENT"
    assert tags["Prices"] == "O"
    with pytest.raises(FileNotFoundError):
        read_split(str(tmp_path), "train")


def test_linking_takes_the_nearest_cue_and_its_source():
    #        0    1     2     3      4     5      6     7    8
    tags = ["B-SOURCE", "B-CUE", "B-CONTENT", "I-CONTENT", "O", "B-CONTENT", "I-CONTENT", "B-CUE", "B-SOURCE"]
    found = link_attributions(tags, [(0, 5), (5, 9)])
    assert [(a.content, a.cue, a.source) for a in found] == [((2, 4), (1, 2), (0, 1)), ((5, 7), (7, 8), (8, 9))]


def test_head_finds_source_cue_and_content(analyzer):
    text = 'The campaign raised $143 million in August, its chairman John Podesta said on Tuesday.'
    article = analyze(analyzer, text)
    atts = article["attributions"]
    assert atts, "no attribution found"
    a = atts[0]
    assert "Podesta" in (a["source"] or "") and a["cue"] == "said"
    assert a["content_start"] <= text.index("$143") < a["content_end"]


def test_claimant_comes_from_the_attribution_and_pronouns_resolve(analyzer):
    text = ('Donald Trump spoke to reporters in Ohio on Monday.\n\n'
            '"I\'ll have over $100 million in the campaign," he told CNN.')
    claims = [c for c in extract_claims(analyze(analyzer, text)) if c["value"] == 100e6]
    assert claims and claims[0]["attribution"] == "model"
    assert claims[0]["claimant"]["text"] == "Donald Trump"
    assert text[claims[0]["claimant_start"]:claims[0]["claimant_end"]] == "he"


def test_unattributed_figures_keep_a_null_claimant(analyzer):
    text = "The bridge is 300 metres long and opened in 1998."
    claims = extract_claims(analyze(analyzer, text))
    assert [(c["value"], c["unit_family"], c["claimant"]) for c in claims] == [(300, "length", None)]


def test_shipped_model_matches_its_encoder():
    import hashlib
    import json
    meta = json.load(open(os.path.join(resolve_attribution_dir(None), "claimwire_attribution.json")))
    graph = os.path.join(resolve_model_dir(None), "model.int8.onnx")
    assert hashlib.sha256(open(graph, "rb").read()).hexdigest() == meta["encoder_graph_sha256"]


def test_a_head_runs_only_on_the_encoder_it_was_trained_on(tmp_path):
    """The default head is the shipped one whose encoder graph is the NER model's; none for an encoder no shipped
    head was trained on (a hub model: the cue rules alone); a head named for another encoder is refused."""
    import shutil
    default_dir = resolve_attribution_dir(None)
    assert default_dir == resolve_attribution_dir(None, resolve_model_dir(None))
    assert resolve_attribution_dir(None, "dslim/bert-base-NER") is None
    other = tmp_path / "other-ner"
    other.mkdir()
    shutil.copy(os.path.join(resolve_model_dir(None), "config.json"), other / "config.json")
    (other / "model.int8.onnx").write_bytes(b"another graph")
    assert resolve_attribution_dir(None, str(other)) is None
    with pytest.raises(ValueError, match="trained on the features of"):
        AttributionTagger.load(default_dir, str(other))
    assert AttributionTagger.load(default_dir, resolve_model_dir(None)).meta["encoder_graph_sha256"]
