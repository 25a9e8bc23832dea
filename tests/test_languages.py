"""Real feed lists mix languages: an article in a language the English models do not read keeps its row and its
language, and gets no entities and no claims (a German '3.000 Soldaten' is never 3 soldiers); the summary and the
report count articles by language."""
import json
import os

import pytest

from claimcore.claims import extract_claims
from claimcore.language import detect_language, english_models_apply, language_counts, primary_subtag
from pipeline.cli import main
from pipeline.report import write_report
from schemas import dataset

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FOREIGN = json.load(open(os.path.join(ROOT, "tests", "fixtures", "foreign_articles.json"), encoding="utf-8"))
ENGLISH = {"id": "en-troops", "published": "2024-10-18T08:00:00Z",
           "title": "North Korea sends 3,000 troops to Russia",
           "text": "North Korea has sent about 3,000 troops to Russia, South Korea's spy agency said on Friday. "
                   "Up to 10,000 more could follow by December, a spokesperson in Seoul said."}


@pytest.mark.parametrize("article", FOREIGN["articles"], ids=lambda a: a["id"])
def test_the_text_says_its_language(article):
    assert detect_language(article["title"] + "\n" + article["text"]) == article["language"]
    assert not english_models_apply(article["language"])


def test_short_text_falls_back_to_the_declared_language():
    assert detect_language("Flood toll rises") is None  # too few letters to tell
    assert detect_language("Flood toll rises", declared="en-GB") == "en"
    assert detect_language(ENGLISH["text"], declared="de") == "en"  # a template's lang attribute loses to the text
    assert primary_subtag("pt_BR") == "pt" and primary_subtag("not a tag") is None
    assert english_models_apply(None) and english_models_apply("en")
    assert language_counts(["en", "de", None, "en"]) == "en 2 · de 1 · unknown 1"


def test_the_claim_rules_never_read_another_languages_figures():
    german = FOREIGN["articles"][0]
    article = {"article_id": "a", "text": german["text"], "entities": [], "attributions": None}
    # without a language, the English figure parser reads the German thousands separator as a decimal point
    assert {c["value"] for c in extract_claims(article)} & {3.0, 10.0}
    assert extract_claims(dict(article, language="de")) == []


def test_other_languages_keep_their_rows_without_english_entities_or_claims(tmp_path, capsys):
    docs = tmp_path / "docs.jsonl"
    with open(docs, "w", encoding="utf-8") as f:
        for a in FOREIGN["articles"] + [ENGLISH]:
            f.write(json.dumps({k: a[k] for k in ("id", "published", "title", "text")}, ensure_ascii=False) + "\n")
    out = str(tmp_path / "out")
    assert main(["run", "--input", str(docs), "--output", out]) == 0
    summary = capsys.readouterr().out

    articles = {a["source_id"]: a for a in dataset.read_rows(out, "articles")}
    assert {k: a["language"] for k, a in articles.items()} == \
        {**{a["id"]: a["language"] for a in FOREIGN["articles"]}, "en-troops": "en"}
    for a in FOREIGN["articles"]:
        assert articles[a["id"]]["entities"] == [] and articles[a["id"]]["attributions"] is None
        assert articles[a["id"]]["story_id"] == articles[a["id"]]["article_id"]  # grouped with its copies only
    assert any(e["label"] == "LOC" for e in articles["en-troops"]["entities"])

    claims = dataset.read_rows(out, "claims")
    by_article = {a["article_id"]: k for k, a in articles.items()}
    assert {by_article[c["article_id"]] for c in claims} == {"en-troops"}
    assert {c["value"] for c in claims} >= {3000.0, 10000.0}

    assert "articles by language:\n  de 1 · en 1 · es 1 · fr 1 · ko 1" in summary
    assert "articles in other languages keep their rows" in summary
    stages = summary.split("stages:", 1)[1].split("tables:", 1)[0]
    stage_lines = {line.split()[0]: line for line in stages.splitlines() if line.startswith("  ")}
    assert "other_language 4" in stage_lines["ner"] and "other_language 4" in stage_lines["claims"]

    page = open(write_report(out), encoding="utf-8").read()
    assert "de 1 · en 1 · es 1 · fr 1 · ko 1" in page
