"""Claims against third-party attribution gold (PolNeAR): is a claim found for each figure someone is quoted on,
and is its claimant the annotated source?

    .venv/bin/python bench/attribution.py --polnear ../shared/data/polnear --split dev [--attribution-model none]

The articles go through what the pipeline runs: the NER model and the attribution head (one encoder pass),
then transforms/claims.extract_claims.

Scoring rule:
- Gold figures: every word containing a digit inside a gold Content span, except years (a bare 4-digit number
  1800–2100, "1990s", "the 80's"), dates (next to a month name, "Sept. 11", or d/d[/d]), times (h:mm, a.m./p.m.,
  o'clock), ordinals (1st, 22nd, 21st-century), identifiers that start with a letter (EB-5, C2I, F-16), parts
  of web addresses (http://bit.ly/1DbUmw5) and emergency telephone numbers ("a 911 caller", "called 999").
  The rule is independent of claimwire's figure parser, so parser misses count as misses (it shares only the
  month names, claimcore.dates.MONTH_WORDS: data, not a parser rule).
- found: a claim's figure span [figure_start, figure_end) holds the word's first character.
- claimant: for gold figures whose attribution names a Source, the claim found for it has a claimant whose
  mention as written [claimant_start, claimant_end) overlaps that Source span, or whose name (text or canonical)
  occurs in the Source's text. A figure with no claim counts as wrong. Reported over all such figures, and
  over those found.
- Also printed: the attribution head's exact-span F1 per role (Source / Cue / Content) on the split.
Dev figures only: PolNeAR has no test split here, and the project is also checked on data that is not.
"""
from __future__ import annotations

import argparse
import os
import re
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from claimcore.claims import extract_claims  # noqa: E402
from claimcore.dates import MONTH_WORDS  # noqa: E402
from claimcore.text import split_words  # noqa: E402
from training.conll import span_f1  # noqa: E402
from training.polnear import Attribution as GoldAttribution  # noqa: E402
from training.polnear import read_split, word_roles  # noqa: E402


def gold_figures(text: str, words, attributions) -> list[tuple[int, object]]:
    """(character offset, attribution) of each gold figure word."""
    out = []
    for a in attributions:
        for s, e in a.content:
            for k, w in enumerate(words):
                if not (s <= w.start < e) or not any(c.isdigit() for c in w.text):
                    continue
                prev = words[k - 1].text.lower() if k else ""
                if prev == "." and k >= 2:
                    prev = words[k - 2].text.lower()  # "Sept. 11"
                if w.text[0].isalpha():
                    continue  # an identifier, not a number: EB-5, C2I, Future45, F-16
                if re.search(r"(https?://|www\.)\S*$", text[max(0, w.start - 300):w.start]):
                    continue  # part of a web address: http://bit.ly/1DbUmw5
                nxt = words[k + 1].text.lower() if k + 1 < len(words) else ""
                if re.fullmatch(r"\d{4}", w.text) and 1800 <= int(w.text) <= 2100:
                    continue
                if re.fullmatch(r"\d{4}s|\d{2}s", w.text) or re.match(r"\d+(st|nd|rd|th)\b", w.text, re.I) or \
                        (nxt in ("'s", "’s") and re.fullmatch(r"\d0|\d{3}0", w.text)):
                    continue  # "1990s", "the 80's", "22nd"
                if prev in MONTH_WORDS or nxt in MONTH_WORDS or nxt in ("st", "nd", "rd", "th", "o'clock", "o’clock"):
                    continue
                around = text[max(0, w.start - 3):w.end + 6]
                if re.search(r"\d:\d\d|\d\s?[ap]\.?m\b|\d/\d", around, re.I):
                    continue
                if w.text in ("911", "999", "112") and (
                        re.match(r"\s*(call|caller|dispatcher|operator|emergency)", text[w.end:], re.I) or
                        re.search(r"\b(dial|dialed|dialled|call|called|calling)\s*$", text[:w.start], re.I)):
                    continue  # a telephone number: "a 911 caller", "called 999"
                out.append((w.start, a))
    return out


def claimant_ok(claim, attribution, text) -> bool:
    if claim is None or claim["claimant"] is None:
        return False
    cs, ce = claim["claimant_start"], claim["claimant_end"]
    for s, e in attribution.source:
        if cs is not None and cs < e and s < ce:
            return True
        gold = text[s:e].casefold()
        for name in (claim["claimant"].get("text"), claim["claimant"].get("canonical")):
            if name and len(name) > 2 and name.casefold() in gold:
                return True
    return False


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--polnear", default="../shared/data/polnear")
    ap.add_argument("--split", default="dev", choices=["dev", "holdout"],
                    help="dev: PolNeAR dev; holdout: the 60 train articles the training kept back (model selection)")
    ap.add_argument("--attribution-model", default=None, help="a model directory, or 'none' for the rules alone")
    ap.add_argument("--ner-model", default=None, help="the encoder under the head (default: the shipped one)")
    ap.add_argument("--head-backend", default="auto", choices=["auto", "onnx", "torch"],
                    help="how the head runs: its int8 graph (onnx, the default when shipped) or its fp32 weights")
    ap.add_argument("--limit", type=int, default=0, help="score only the first N articles")
    ap.add_argument("--show", type=int, default=0, help="print this many wrong claimants")
    args = ap.parse_args(argv)

    from claimcore.attribution_model import ArticleAnalyzer, AttributionTagger, resolve_attribution_dir
    from claimcore.entities import canonicalize_entities
    from claimcore.ner_model import NerTagger, resolve_model_dir
    attribution = None
    encoder_dir = resolve_model_dir(args.ner_model)
    if (args.attribution_model or "").lower() != "none":  # the head that matches this encoder's graph
        attribution = AttributionTagger.load(resolve_attribution_dir(args.attribution_model, encoder_dir),
                                             encoder_dir, backend=args.head_backend)
    analyzer = ArticleAnalyzer(NerTagger.load(encoder_dir), attribution)
    if args.split == "holdout":
        from training.train_attribution import holdout_indices
        train = read_split(args.polnear, "train")
        meta = attribution.meta if attribution is not None else {"recipe": {"holdout": 60, "seed": 13}}
        articles = [train[i] for i in holdout_indices(len(train), meta["recipe"]["holdout"], meta["recipe"]["seed"])]
    else:
        articles = read_split(args.polnear, args.split)
    if args.limit:
        articles = articles[:args.limit]
    n_fig = n_found = n_src = n_src_ok = n_src_found = 0
    gold_tags, pred_tags, shown = [], [], 0
    t0 = time.perf_counter()
    for art in articles:
        (entities, attributions), = analyzer.analyze([art.text])
        claims = extract_claims({"article_id": art.name, "text": art.text,
                                 "entities": canonicalize_entities(entities), "attributions": attributions})
        words = split_words(art.text)
        if attribution is not None:
            gold_tags.append(word_roles(words, art.attributions))
            predicted = [GoldAttribution(source=[(a["source_start"], a["source_end"])] if a["source"] else [],
                                         cue=[(a["cue_start"], a["cue_end"])] if a["cue"] else [],
                                         content=[(a["content_start"], a["content_end"])]) for a in attributions]
            pred = word_roles(words, predicted)
            pred_tags.append(pred)
        figures = [c for c in claims if c["stance"] == "asserts"]
        for start, att in gold_figures(art.text, words, art.attributions):
            n_fig += 1
            claim = next((c for c in figures if c["figure_start"] <= start < c["figure_end"]), None)
            n_found += claim is not None
            if att.source:
                n_src += 1
                ok = claimant_ok(claim, att, art.text)
                n_src_ok += ok
                n_src_found += claim is not None
                if not ok and claim is not None and shown < args.show:
                    shown += 1
                    print("  wrong claimant:", [art.text[s:e] for s, e in att.source], "→",
                          (claim["claimant"] or {}).get("text"), "|", claim["value_text"], "|",
                          claim["sentence"][:150].replace("\n", " "))
    elapsed = time.perf_counter() - t0
    label = args.attribution_model or ("claimwire-attribution-v1" if attribution else "none")
    print(f"PolNeAR {args.split}: {len(articles)} articles, attribution model: {label}"
          f"{f' ({attribution.backend})' if attribution else ''}, {elapsed:.0f} s")
    print(f"figures inside attributed content (years, dates, times, ordinals left out): {n_fig}")
    print(f"  a claim is found for:            {n_found / max(1, n_fig):.3f} ({n_found}/{n_fig})")
    print(f"  claimant is the gold source for: {n_src_ok / max(1, n_src):.3f} ({n_src_ok}/{n_src} with a source); "
          f"{n_src_ok / max(1, n_src_found):.3f} of those found")
    if gold_tags:
        f = span_f1(gold_tags, pred_tags)
        print("attribution spans (exact, after linking): " + ", ".join(
            f"{k} F1 {v['f1']:.3f}" for k, v in f.items()))


if __name__ == "__main__":
    main()
