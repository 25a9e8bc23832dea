"""Person names beyond CoNLL-2003's world: how many of bench/names_probe.json's names the NER model finds whole
as PER, with and without entity-rules (claimcore/entity_rules.py), and how many PER spans it invents.

    .venv/bin/python bench/names.py [--model DIR]
"""
from __future__ import annotations

import argparse
import json
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from claimcore.entity_rules import RULES_VERSION  # noqa: E402
from claimcore.ner_model import NerTagger, resolve_model_dir  # noqa: E402

PROBE = os.path.join(ROOT, "bench", "names_probe.json")


def score(tagger, items, rules: bool) -> dict:
    tagger.rules = rules
    found, invented, total = 0, 0, 0
    misses, extra = [], []
    for item, ents in zip(items, tagger.predict([i["text"] for i in items])):
        per = {e["text"] for e in ents if e["label"] == "PER"}
        gold = set(item["persons"])
        total += len(gold)
        found += len(gold & per)
        invented += len(per - gold)
        extra += sorted(per - gold)
        misses += [(name, [(e["text"], e["label"]) for e in ents if name in e["text"] or e["text"] in name])
                   for name in gold - per]
    return {"found": found, "total": total, "invented": invented, "misses": misses, "extra": extra}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", default=None)
    args = ap.parse_args()
    items = json.load(open(PROBE, encoding="utf-8"))["items"]
    tagger = NerTagger.load(resolve_model_dir(args.model), threads=os.cpu_count() or 2)
    print(f"model {os.path.relpath(resolve_model_dir(args.model), ROOT)}; {len(items)} sentences")
    for rules in (False, True):
        r = score(tagger, items, rules)
        print(f"{'with' if rules else 'without'} {RULES_VERSION}: persons found whole as PER {r['found']}/{r['total']}"
              f" ({r['found'] / r['total']:.0%}), PER spans not in the gold {r['invented']}")
        for name, got in r["misses"]:
            print(f"    missed {name!r}: {got}")
        if r["extra"]:
            print(f"    PER spans not in the gold: {r['extra']}")


if __name__ == "__main__":
    main()
