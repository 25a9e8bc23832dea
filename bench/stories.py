"""Story grouping on third-party dev sets: pairwise precision / recall / F1 and B-cubed F1 of claimwire's story ids
and thread ids against gold events, through a real batch run (NER, embeddings, dates inferred where the input has
none, story dedup) over the documents as JSONL input; also how many documents got a date from where.

    .venv/bin/python bench/stories.py --data ../shared/data/stories [--sets ecbplus,40er] [--no-ner]

- `ecbplus`: ECB+ odd topics (`ecbplus_odd_topics/<topic>/<topic>_<n>ecb[plus].xml`, tokenized); gold story =
  topic + `ecb` or `ecbplus` (each topic pairs two events of one type); sentence 0 of an `ecbplus` file is its
  source URL and is dropped; the first sentence is the title. No publication dates: about a third get one from
  a dateline line in the text.
- `40er`: Giveme5W1H's 40 news-please articles (`giveme5w1h_40er/data/*.json`); gold story = newsCluster.EventId;
  dated by date_publish.

Which level to read: ECB+'s gold is one event (story level). 40er's "events" are developing stories whose
articles run over weeks (Equifax from 2 Oct to 14 Nov 2017), so its gold matches thread ids.

These are development figures (docs/architecture.md, "Story grouping"); the data stays in ../shared.
"""
from __future__ import annotations

import argparse
import ast
import collections
import contextlib
import glob
import io
import itertools
import json
import os
import re
import sys
import tempfile
import xml.etree.ElementTree as ET

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)


def detokenize(tokens: list[str]) -> str:
    """One ECB+ sentence as text: no space before punctuation, and numbers whole again ("5 , 000" is 5,000,
    "0 . 08" 0.08, "10 : 03" 10:03, "2 / 3 / 2009" a date, "13 - 13" a score), so the figure parser and the
    dateline reader see what the outlet printed. A spaced hyphen between words stays: it may be a dash."""
    text = re.sub(r" ([,.;:!?'])", r"\1", " ".join(tokens)).replace("`` ", '"').replace(" ''", '"')
    text = re.sub(r"(?<=\d), (?=\d{3}\b)", ",", text)
    text = re.sub(r"(?<=\d)([.:]) (?=\d)", r"\1", text)
    return re.sub(r"(?<=\d) ([/-]) (?=\d)", r"\1", text)


def ecbplus_docs(folder: str) -> list[dict]:
    docs = []
    for path in sorted(glob.glob(os.path.join(folder, "*", "*.xml"))):
        name = os.path.basename(path)
        m = re.match(r"(\d+)_(\d+)(ecbplus|ecb)\.xml$", name)
        if not m:
            continue
        sentences = collections.defaultdict(list)
        for tok in ET.parse(path).getroot().iter("token"):
            sentences[int(tok.get("sentence"))].append(tok.text or "")
        order = sorted(sentences)
        if m.group(3) == "ecbplus":
            order = [s for s in order if s != 0]  # sentence 0: the source URL
        lines = [detokenize(sentences[s]) for s in order]
        if not lines:
            continue
        docs.append({"id": name, "title": lines[0], "text": "\n".join(lines), "gold": f"{m.group(1)}{m.group(3)}"})
    return docs


def fortyer_docs(folder: str) -> list[dict]:
    docs = []
    for path in sorted(glob.glob(os.path.join(folder, "data", "*.json"))):
        d = json.load(open(path, encoding="utf-8"))
        cluster = d.get("newsCluster")
        if isinstance(cluster, str):
            cluster = ast.literal_eval(cluster)
        docs.append({"id": os.path.basename(path), "url": d.get("url"), "title": d.get("title"),
                     "text": d.get("text") or d.get("description") or "",
                     "published": (d.get("date_publish") or "").replace(" ", "T") or None,
                     "gold": str(cluster["EventId"])})
    return docs


def pairwise(pred: dict, gold: dict) -> tuple[float, float, float]:
    ids = sorted(gold)
    tp = fp = fn = 0
    for a, b in itertools.combinations(ids, 2):
        same_pred, same_gold = pred[a] == pred[b], gold[a] == gold[b]
        tp += same_pred and same_gold
        fp += same_pred and not same_gold
        fn += same_gold and not same_pred
    p = tp / (tp + fp) if tp + fp else 1.0
    r = tp / (tp + fn) if tp + fn else 1.0
    return p, r, 2 * p * r / (p + r) if p + r else 0.0


def bcubed(pred: dict, gold: dict) -> float:
    by_pred, by_gold = collections.defaultdict(set), collections.defaultdict(set)
    for i in gold:
        by_pred[pred[i]].add(i)
        by_gold[gold[i]].add(i)
    p = sum(len(by_pred[pred[i]] & by_gold[gold[i]]) / len(by_pred[pred[i]]) for i in gold) / len(gold)
    r = sum(len(by_pred[pred[i]] & by_gold[gold[i]]) / len(by_gold[gold[i]]) for i in gold) / len(gold)
    return 2 * p * r / (p + r) if p + r else 0.0


def run_claimwire(docs: list[dict], no_ner: bool) -> dict:
    from pipeline.cli import main
    from schemas import dataset
    with tempfile.TemporaryDirectory() as work:
        src = os.path.join(work, "docs.jsonl")
        with open(src, "w", encoding="utf-8") as f:
            for d in docs:
                f.write(json.dumps({k: v for k, v in d.items() if k != "gold" and v is not None}) + "\n")
        out = os.path.join(work, "out")
        argv = ["run", "--input", src, "--output", out, "--no-claims", "--quiet"] + (["--no-ner"] if no_ner else [])
        with contextlib.redirect_stdout(io.StringIO()):
            assert main(argv) == 0
        rows = dataset.read_rows(out, "articles", ["source_id", "story_id", "thread_id", "date_source"])
    return {r["source_id"]: r for r in rows}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", required=True, help="the stories folder of the shared dev data")
    ap.add_argument("--sets", default="ecbplus,40er")
    ap.add_argument("--no-ner", action="store_true")
    args = ap.parse_args()
    from transforms.common import Progress
    Progress.enabled = False
    loaders = {"ecbplus": lambda: ecbplus_docs(os.path.join(args.data, "ecbplus_odd_topics")),
               "40er": lambda: fortyer_docs(os.path.join(args.data, "giveme5w1h_40er"))}
    print(f"{'set':<10}{'level':<8}{'docs':>6}{'events':>8}{'groups':>8}{'pair P':>8}{'pair R':>8}{'pair F1':>9}"
          f"{'B3 F1':>8}")
    for name in args.sets.split(","):
        docs = loaders[name]()
        gold = {d["id"]: d["gold"] for d in docs}
        rows = run_claimwire(docs, args.no_ner)
        missing = set(gold) - set(rows)
        dated = collections.Counter(rows[i]["date_source"] or "undated" for i in gold if i in rows)
        for level in ("story", "thread"):
            # a document the run dropped is a group of its own
            pred = {i: rows[i][f"{level}_id"] if i in rows else f"missing:{i}" for i in gold}
            p, r, f = pairwise(pred, gold)
            print(f"{name:<10}{level:<8}{len(docs):>6}{len(set(gold.values())):>8}{len(set(pred.values())):>8}"
                  f"{p:>8.3f}{r:>8.3f}{f:>9.3f}{bcubed(pred, gold):>8.3f}"
                  + (f"  ({len(missing)} not written)" if missing else ""))
        print(f"{'':<10}dates: " + ", ".join(f"{k} {v}" for k, v in sorted(dated.items())))

if __name__ == "__main__":
    main()
