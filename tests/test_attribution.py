"""The attribution heads: the PolNeAR reader, role linking, the shipped head on real sentences, and claims whose
claimant comes from it."""
import os

import pytest

from claimcore.attribution_model import ArticleAnalyzer, AttributionTagger, link_attributions, resolve_attribution_dir
from claimcore.claims import extract_claims
from claimcore.entities import canonicalize_entities
from claimcore.ner_model import NerTagger, resolve_model_dir
from claimcore.text import split_words
from training.polnear import read_split, word_roles


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


def test_training_a_head_with_a_teacher_writes_a_head_bound_to_its_encoder(tmp_path):
    """training/train_attribution.py end to end on a tiny PolNeAR-format folder: distillation from the shipped
    head, started from its weights; the head it writes records both, is bound to the encoder's graph and runs."""
    import json

    from claimcore.attribution_model import encoder_graph_sha256
    from models import model_path
    from training.train_attribution import main as train_head
    (tmp_path / "train" / "text").mkdir(parents=True)
    (tmp_path / "train" / "attributions").mkdir()
    for k in range(4):
        text = f"Report {k}\n\nThe senator said taxes rose {k + 2} percent. Officials said prices fell."
        (tmp_path / "train" / "text" / f"a{k}_2016-01-01_x.txt").write_text(text, encoding="utf-8")
        src, cue, content = text.index("The senator"), text.index("said"), text.index("taxes")
        ann = (f"T1\tSource {src} {src + 11}\tThe senator\nT2\tCue {cue} {cue + 4}\tsaid\n"
               f"T3\tContent {content} {content + 10}\ttaxes rose\nT4\tAttribution {cue} {cue + 4}\tsaid\n"
               "E1\tAttribution:T4 Content:T3 Cue:T2 Source:T1\n")
        (tmp_path / "train" / "attributions" / f"a{k}_2016-01-01_x_aaaa.ann").write_text(ann, encoding="utf-8")
    out, teacher, encoder = tmp_path / "head", model_path("claimwire-attribution-v1"), model_path("claimwire-ner-v1")
    train_head(["--polnear", str(tmp_path), "--encoder", encoder, "--out", str(out), "--cache", str(tmp_path / "c"),
                "--epochs", "1", "--holdout", "1", "--teacher-head", teacher, "--init-from", teacher])
    meta = json.load(open(out / "claimwire_attribution.json"))
    assert meta["teacher_head"] == meta["init_from"] == "claimwire-attribution-v1"
    assert meta["encoder_graph_sha256"] == encoder_graph_sha256(encoder)
    head = AttributionTagger.load(str(out), encoder)
    assert head.backend == "onnx-int8"


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


@pytest.mark.parametrize("ner, head", [("claimwire-ner-v2", "claimwire-attribution-v2"),
                                       ("claimwire-ner-v1", "claimwire-attribution-v1")])
def test_each_shipped_head_matches_its_encoder_and_is_the_one_it_gets(ner, head):
    """The default pair is v1; --ner-model claimwire-ner-v2 gets the v2 head without naming it."""
    import hashlib
    import json

    from models import DEFAULT_NER_MODEL, model_path
    meta = json.load(open(os.path.join(model_path(head), "claimwire_attribution.json")))
    graph = os.path.join(model_path(ner), "model.int8.onnx")
    assert hashlib.sha256(open(graph, "rb").read()).hexdigest() == meta["encoder_graph_sha256"]
    assert resolve_attribution_dir(None, model_path(ner)) == model_path(head)
    assert (resolve_model_dir(None) == model_path(ner)) == (ner == DEFAULT_NER_MODEL)


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



def test_a_reexported_encoder_graph_keeps_its_heads_only_when_its_outputs_are_the_same(tmp_path):
    """training/export_onnx.py: the check runs both graphs on the same windows and tells a different graph apart;
    rebinding touches only the heads bound to the old graph, and records it."""
    import json
    import shutil

    from models import model_path
    from training.export_onnx import check_texts, rebind_heads, same_outputs
    v1, v2 = model_path("claimwire-ner-v1"), model_path("claimwire-ner-v2")
    sentences = check_texts(None)[:40]
    same = same_outputs(v1, os.path.join(v1, "model.int8.onnx"), os.path.join(v1, "model.int8.onnx"), sentences)
    assert same["identical"] and same["windows"] == 40 and same["wordpieces"] > 40 * 3
    other = same_outputs(v1, os.path.join(v1, "model.int8.onnx"), os.path.join(v2, "model.int8.onnx"), sentences)
    assert not other["identical"]
    for head in ("claimwire-attribution-v1", "claimwire-attribution-v2"):
        (tmp_path / head).mkdir()
        shutil.copy(os.path.join(model_path(head), "claimwire_attribution.json"), tmp_path / head)
    old = json.load(open(tmp_path / "claimwire-attribution-v1" / "claimwire_attribution.json"))
    v2_before = (tmp_path / "claimwire-attribution-v2" / "claimwire_attribution.json").read_text()
    assert rebind_heads(old["encoder_graph_sha256"], "0" * 64, same, str(tmp_path)) == ["claimwire-attribution-v1"]
    new = json.load(open(tmp_path / "claimwire-attribution-v1" / "claimwire_attribution.json"))
    assert new["encoder_graph_sha256"] == "0" * 64
    assert new["encoder_graph_reexports"][-1]["from"] == old["encoder_graph_sha256"]
    assert (tmp_path / "claimwire-attribution-v2" / "claimwire_attribution.json").read_text() == v2_before


@pytest.mark.parametrize("model", ["claimwire-ner-v1", "claimwire-ner-v2", "claimwire-embed-v1"])
def test_the_shipped_encoder_graphs_take_no_mask_and_an_older_graph_still_gets_one(model, tmp_path):
    """Windows and story texts are never padded, so the shipped graphs have no attention_mask input; a graph that
    has one (exported before, or by someone else) is still fed a mask of ones."""
    import numpy as np
    import onnx
    from onnx import TensorProto, helper

    from claimcore.ner_model import OnnxBackend
    from models import model_path
    shipped = OnnxBackend(os.path.join(model_path(model), "model.int8.onnx"))
    assert not shipped.takes_mask
    if model.startswith("claimwire-ner"):  # padding would be attended to: refused, not run
        padded = np.asarray([[101, 2000, 102, 0]], dtype=np.int64)
        with pytest.raises(ValueError, match="takes no attention mask"):
            shipped.run(padded, (padded > 0).astype(np.int64), False)
    ids = helper.make_tensor_value_info("input_ids", TensorProto.INT64, [1, None])
    mask = helper.make_tensor_value_info("attention_mask", TensorProto.INT64, [1, None])
    out = helper.make_tensor_value_info("logits", TensorProto.INT64, [1, None])
    graph = helper.make_graph([helper.make_node("Add", ["input_ids", "attention_mask"], ["logits"])], "g",
                              [ids, mask], [out])
    path = str(tmp_path / "masked.onnx")
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), path)
    backend = OnnxBackend(path)
    assert backend.takes_mask
    x = np.asarray([[5, 7]], dtype=np.int64)
    assert backend.run(x, np.ones_like(x), False)[0].tolist() == [[6, 8]]
    assert backend.run(x, None, False)[0].tolist() == [[6, 8]]  # no mask given (the embedder): ones


SEEDS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "samples", "seeds")


@pytest.mark.parametrize("head", ["claimwire-attribution-v2", "claimwire-attribution-v1"])
def test_the_shipped_heads_run_their_int8_graph_exported_from_their_weights(head):
    """The pipeline runs head.int8.onnx; claimwire_attribution.json ties it to the exact head.safetensors it came
    from and to its own bytes."""
    import json

    from claimcore.attribution_model import HEAD_FILE, HEAD_ONNX_FILE, file_sha256
    from models import model_path
    model_dir = model_path(head)
    graph = json.load(open(os.path.join(model_dir, "claimwire_attribution.json")))["int8_graph"]
    assert graph["head_sha256"] == file_sha256(os.path.join(model_dir, HEAD_FILE))
    assert graph["graph_sha256"] == file_sha256(os.path.join(model_dir, HEAD_ONNX_FILE))
    assert AttributionTagger.load(model_dir).backend == "onnx-int8"
    assert AttributionTagger.load(model_dir, backend="torch").backend == "torch"


def test_int8_head_tags_the_seeds_as_the_fp32_head_does(analyzer):
    """Same roles on the two seed articles, word for word except for a few borderline words, and the same claims."""
    import numpy as np

    from claimcore.attribution_model import layout_features
    int8 = AttributionTagger.load(resolve_attribution_dir(None))
    fp32 = AttributionTagger.load(resolve_attribution_dir(None), backend="torch")
    for name in sorted(os.listdir(SEEDS)):
        text = open(os.path.join(SEEDS, name), encoding="utf-8").read()
        doc = analyzer.ner.analyze([text], features=True)[0]
        feats = np.concatenate([doc.features, layout_features(doc.text, doc.words, doc.sentences)], 1)
        tags_int8, _ = int8.tag(feats)
        tags_fp32, _ = fp32.tag(feats)
        assert len(tags_int8) == len(doc.words) > 200
        assert sum(a == b for a, b in zip(tags_int8, tags_fp32)) >= 0.97 * len(doc.words), name
        assert {t for t in tags_int8} - {"O"}, name  # it finds roles at all
        claims = [extract_claims(analyze(ArticleAnalyzer(analyzer.ner, head), text)) for head in (int8, fp32)]
        assert [(c["value_text"], (c["claimant"] or {}).get("text")) for c in claims[0]] == \
            [(c["value_text"], (c["claimant"] or {}).get("text")) for c in claims[1]], name


def test_a_stale_int8_graph_is_never_run(tmp_path):
    """A retrained head whose graph was not exported again runs its fp32 weights (or refuses, when the int8 graph
    is asked for); exporting writes the graph back, byte for byte the shipped one for the shipped weights."""
    import shutil

    from safetensors.torch import load_file, save_file

    from claimcore.attribution_model import HEAD_FILE, HEAD_ONNX_FILE, file_sha256
    from training.export_onnx import export_head_onnx
    shipped = resolve_attribution_dir(None)
    copy = tmp_path / "head"
    shutil.copytree(shipped, copy)
    weights = load_file(str(copy / HEAD_FILE))
    name = sorted(weights)[0]
    weights[name] = weights[name] * 1.01
    save_file(weights, str(copy / HEAD_FILE))
    assert AttributionTagger.load(str(copy)).backend == "torch"
    with pytest.raises(FileNotFoundError, match="training.export_onnx"):
        AttributionTagger.load(str(copy), backend="onnx")
    shutil.copy(os.path.join(shipped, HEAD_FILE), copy / HEAD_FILE)
    os.remove(copy / HEAD_ONNX_FILE)
    export_head_onnx(str(copy))
    assert file_sha256(str(copy / HEAD_ONNX_FILE)) == file_sha256(os.path.join(shipped, HEAD_ONNX_FILE))
    assert AttributionTagger.load(str(copy)).backend == "onnx-int8"


def test_the_opt_in_student_gets_its_own_head_and_finds_the_seed_claims(analyzer):
    """--ner-model claimwire-ner-v2: the pipeline's model handler pairs it with claimwire-attribution-v2; on the
    seeds it finds the same figures as the default model, and the 3,000 troops still have a claimant."""
    from transforms.ner import NerModelHandler
    student = NerModelHandler("claimwire-ner-v2").load_model()
    assert student.attribution.meta["encoder"] == "claimwire-ner-v2"
    assert student.attribution.backend == "onnx-int8"
    for name in sorted(os.listdir(SEEDS)):
        text = open(os.path.join(SEEDS, name), encoding="utf-8").read()
        article = analyze(student, text)
        assert {e["label"] for e in article["entities"]} >= {"PER", "ORG", "LOC"}, name
        claims = extract_claims(article)
        assert [c["value_text"] for c in claims] == [c["value_text"] for c in extract_claims(analyze(analyzer, text))]
        assert any(c["claimant"] for c in claims if (c["value_text"] or "").replace(",", "") == "3000"), name
