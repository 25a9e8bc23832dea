"""CoNLL-2003: its reader and its entity-level evaluation (training/train_ner.py, bench/ner.py)."""
from __future__ import annotations

from collections import Counter
from typing import Iterable, Sequence

from claimcore.bio import bio_spans, iob1_to_bio


def iter_conll(path: str) -> Iterable[tuple[list[str], list[str]]]:
    """Sentences (words, BIO tags) of a CoNLL-2003 file (IOB1 on disk)."""
    words, tags = [], []
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if not line or line.startswith("-DOCSTART-"):
                if words:
                    yield words, iob1_to_bio(tags)
                words, tags = [], []
                continue
            parts = line.split()
            words.append(parts[0])
            tags.append(parts[-1])
    if words:
        yield words, iob1_to_bio(tags)


def span_f1(gold: Sequence[Sequence[str]], pred: Sequence[Sequence[str]]) -> dict:
    """Entity-level micro P/R/F1, overall and per type (the CoNLL evaluation)."""
    tp, n_gold, n_pred = Counter(), Counter(), Counter()
    for g, p in zip(gold, pred):
        gs, ps = set(bio_spans(g)), set(bio_spans(p))
        for s in gs:
            n_gold[s[2]] += 1
        for s in ps:
            n_pred[s[2]] += 1
        for s in gs & ps:
            tp[s[2]] += 1

    def prf(t, g, p):
        prec = t / p if p else 0.0
        rec = t / g if g else 0.0
        return {"precision": prec, "recall": rec, "f1": 2 * prec * rec / (prec + rec) if prec + rec else 0.0,
                "support": g}

    result = {typ: prf(tp[typ], n_gold[typ], n_pred[typ]) for typ in sorted(n_gold | n_pred)}
    result["overall"] = prf(sum(tp.values()), sum(n_gold.values()), sum(n_pred.values()))
    return result
