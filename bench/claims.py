"""Claim extraction quality: precision and recall on the labelled other-topic corpus
(tests/fixtures/claims_corpus.json) and the seed gold file (tests/fixtures/seed_claims.json), with the shipped NER.

    .venv/bin/python bench/claims.py [--attribution-model none]
"""
from __future__ import annotations

import json
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
sys.path.insert(0, os.path.join(ROOT, "samples"))


def corpus_texts() -> dict[str, str]:
    from stories import OUTLETS
    texts = {slug: "\n".join(paras) for o in OUTLETS.values() for slug, _, _, _, paras in o["articles"]}
    spec = json.load(open(os.path.join(ROOT, "tests", "fixtures", "story_corpus.json"), encoding="utf-8"))
    texts.update({r["id"]: r["text"] for r in spec["rewrites"]})
    return texts


def unit_matches(label: str, predicted: str | None) -> bool:
    """The corpus labels units as written ('dollars', 'tonnes', 'kroner'); claims.v2 names them canonically
    ('dollar', 'tonne', 'danish krone'): equal after singular/synonym normalization, or the label inside the name."""
    sys.path.insert(0, os.path.join(ROOT, "bench"))
    from quantities import _norm_unit
    a, b = _norm_unit(label), _norm_unit(predicted or "")
    return a == b or (len(a) > 3 and a in b) or {a, b} == {"kroner", "danish krone"}


def in_corpus_scope(claim: dict) -> bool:
    """The corpus (labelled for claims.v1) holds figures with a unit other than a duration: bare numbers and
    durations and vague magnitudes, claims since claims.v2, are not labelled there and are not scored."""
    return claim["unit"] is not None and claim["unit_family"] not in ("duration", "age") and not claim["vague"]


def claimant_matches(label, predicted) -> bool:
    if label is None:
        return predicted is None
    return predicted is not None and label.casefold() in (predicted.get("text") or "").casefold()


def score(tagger, attribution_model: str | None = None) -> dict:
    """Claims as the pipeline makes them: NER and the attribution head (attribution_model 'none': the rules only)."""
    from claimcore.attribution_model import ArticleAnalyzer, AttributionTagger, resolve_attribution_dir
    from claimcore.claims import extract_claims
    head = None if (attribution_model or "").lower() == "none" else \
        AttributionTagger.load(resolve_attribution_dir(attribution_model))
    analyzer = ArticleAnalyzer(tagger, head)
    gold = json.load(open(os.path.join(ROOT, "tests", "fixtures", "claims_corpus.json"), encoding="utf-8"))["claims"]
    texts = corpus_texts()
    tp = n_pred = n_gold = 0
    misses, extras = [], []
    for doc, labels in gold.items():
        text = texts[doc]
        (entities, attributions), = analyzer.analyze([text])
        article = {"article_id": doc, "text": text, "entities": entities, "attributions": attributions}
        predicted = [c for c in extract_claims(article) if c["stance"] == "asserts" and in_corpus_scope(c)]
        n_pred += len(predicted)
        n_gold += len(labels)
        free = list(predicted)
        for value, unit, claimant in labels:
            hit = next((c for c in free if abs(c["value"] - value) < 1e-6 and unit_matches(unit, c["unit"])
                        and claimant_matches(claimant, c["claimant"])), None)
            if hit:
                tp += 1
                free.remove(hit)
            else:
                misses.append((doc, value, unit, claimant))
        extras += [(doc, c["value"], c["unit"], (c["claimant"] or {}).get("text")) for c in free]
    return {"precision": tp / max(1, n_pred), "recall": tp / max(1, n_gold), "tp": tp, "predicted": n_pred,
            "gold": n_gold, "articles": len(gold), "misses": misses, "extras": extras}


def main():
    from claimcore.ner_model import NerTagger, resolve_model_dir
    model = sys.argv[sys.argv.index("--attribution-model") + 1] if "--attribution-model" in sys.argv else None
    r = score(NerTagger.load(resolve_model_dir(None)), model)
    print(f"claims on {r['articles']} labelled articles: precision {r['precision']:.3f} ({r['tp']}/{r['predicted']}) "
          f"recall {r['recall']:.3f} ({r['tp']}/{r['gold']})")
    for m in r["misses"]:
        print("  missed   ", m)
    for x in r["extras"]:
        print("  unmatched", x)


if __name__ == "__main__":
    main()
