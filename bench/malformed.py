"""Malformed and pathological documents through the whole batch pipeline (`claimwire run --input`): how long the
run takes, what it writes, and which dead letters say why.

    .venv/bin/python bench/malformed.py [--repeat 200] [--keep OUT]

The documents are what real archives hold now and then: runs of thousands of hyphens, dashes or quote marks (page
rules and broken markup), a list or table with no full stop (one "sentence" of tens of thousands of words),
a roster naming thousands of people, a number no float holds, control characters, an empty text, broken JSON.
Each must end as an article or as a dead letter with its reason, never stop the run, and never cost time in the
square of its size. `--repeat` sets the size of the runs and lists (200 by default: runs of 10,000 characters,
4,000 names). tests/test_hostile.py runs a small version of the same corpus.
"""
from __future__ import annotations

import argparse
import collections
import contextlib
import io
import json
import os
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

GOOD = "Police Chief John Smith said 20 people were arrested in Springfield on Tuesday."


def malformed_documents(repeat: int = 200) -> list[dict | str]:
    """The corpus: JSONL lines as dicts (documents) or raw strings (lines that are no JSON object). The last
    document is an ordinary article, to show a good record survives its neighbours."""
    n = repeat
    return [
        {"id": "empty", "text": ""},
        {"id": "whitespace", "text": " \n\t "},
        {"id": "dash-rule", "text": "—" * (50 * n) + " 5 " + "-" * (50 * n) + " Officials said 12 people died."},
        {"id": "quote-run", "text": '"' * (25 * n) + " he said 5 " + "'" * (25 * n)},
        {"id": "table-no-stops", "text": "and the minister said that " + "the figure of 3 percent " * (10 * n)},
        {"id": "roster", "text": " ".join(f"Mr. Name{i} Smith{i} said {i} people" for i in range(10 * n))},
        {"id": "huge-number", "text": "The deficit reached $" + "9" * (25 * n) + " billion, the ministry said."},
        {"id": "overflow", "text": "Scientists said 5e400 stars and 10^999 atoms were counted."},
        {"id": "control-chars", "text": "Officials said\x00 that 40 people\x01 died in the flood."},
        {"id": "not-text", "text": {"a": 1}},
        "{not json",
        "[1, 2, 3]",
        {"id": "good", "text": GOOD, "published": "2024-05-01T10:00:00Z"},
    ]


def write_corpus(path: str, repeat: int) -> int:
    lines = 0
    with open(path, "w", encoding="utf-8") as f:
        for doc in malformed_documents(repeat):
            f.write((doc if isinstance(doc, str) else json.dumps(doc)) + "\n")
            lines += 1
    return lines


def run(src: str, out: str) -> float:
    from pipeline.cli import main
    start = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()):
        assert main(["run", "--input", src, "--output", out, "--quiet"]) == 0
    return time.perf_counter() - start


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeat", type=int, default=200)
    ap.add_argument("--keep", help="write the output here instead of a temporary folder")
    args = ap.parse_args()
    from schemas import dataset
    from transforms.common import Progress
    Progress.enabled = False
    with tempfile.TemporaryDirectory() as work:
        src = os.path.join(work, "docs.jsonl")
        lines = write_corpus(src, args.repeat)
        out = args.keep or os.path.join(work, "out")
        seconds = run(src, out)
        articles = dataset.read_rows(out, "articles", ["source_id"])
        errors = dataset.read_rows(out, "errors", ["kind", "message"])
        claims = dataset.read_rows(out, "claims", ["article_id"])
    print(f"{lines} input lines (--repeat {args.repeat}): {seconds:.1f} s wall, {len(articles)} articles, "
          f"{len(claims)} claims, {len(errors)} error rows")
    for (kind, message), n in sorted(collections.Counter((e["kind"], e["message"][:90]) for e in errors).items()):
        print(f"  {n:>3} {kind}: {message}")


if __name__ == "__main__":
    main()
