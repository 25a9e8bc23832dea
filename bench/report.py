"""Report benchmark: the time and size of `claimwire report` on a large synthetic output.

    .venv/bin/python bench/report.py --articles 100000 [--max-stories 200]

Builds an output dataset of N articles (3 per story, 4 entities and 2 claims each) through the real commit
(schemas/dataset.py, with the story tables rebuilt), then times writing the report, and prints the seconds, the
page size and the peak RSS.
"""
from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import resource
import shutil
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from pipeline.report import write_report  # noqa: E402
from schemas import ARTICLES, CLAIMS, dataset, stable_id  # noqa: E402
from transforms.parquet import write_rows  # noqa: E402
from transforms.stories import rebuild_story_tables  # noqa: E402

NAMES = [("Lloyd Austin", "PER"), ("North Korea", "LOC"), ("Kremlin", "ORG"), ("Seoul", "LOC"), ("NATO", "ORG"),
         ("Amara Mensah", "PER"), ("Rotterdam", "LOC"), ("United Nations", "ORG")]


def synthetic(n: int, seed: int = 5):
    rng = random.Random(seed)
    start = dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc)
    articles, claims = [], []
    for i in range(n):
        story = i // 3
        aid = stable_id("bench-article", i)
        published = start + dt.timedelta(minutes=17 * story + 5 * (i % 3))
        ents = []
        for name, label in rng.sample(NAMES, 4):
            ents.append({"text": name, "label": label, "start": 0, "end": len(name), "score": 0.9,
                         "canonical": name})
        articles.append({"article_id": aid, "url": f"https://outlet{i % 3}.example/{i}", "title": f"Story {story}",
                         "outlet": f"outlet{i % 3}.example", "published_at": published,
                         "story_id": stable_id("bench-article", story * 3), "entities": ents, "text": "x" * 200})
        for k in range(2):
            claims.append({"claim_id": stable_id(aid, k), "article_id": aid, "story_id": articles[-1]["story_id"],
                           "outlet": articles[-1]["outlet"], "published_at": published, "stance": "asserts",
                           "value": float(rng.choice([1500, 3000, 10000, 42])), "unit": "troops",
                           "unit_family": "military personnel", "subject": "North Korea",
                           "claimant": {"text": "officials", "canonical": None, "label": "GROUP"}})
    return articles, claims


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--articles", type=int, default=100_000)
    ap.add_argument("--max-stories", type=int, default=200)
    args = ap.parse_args()
    work = tempfile.mkdtemp(prefix="claimwire-report-bench-")
    try:
        out = os.path.join(work, "out")
        t0 = time.perf_counter()
        articles, claims = synthetic(args.articles)
        staging = dataset.staging_dir(out)
        for table, rows in ((ARTICLES, articles), (CLAIMS, claims)):
            by_file = {}
            for r in rows:
                by_file.setdefault(dataset.partition_of(table, r), []).append(r)
            for partition, part in by_file.items():
                write_rows(dataset.file_path(staging, table, partition, dataset.file_name("", 0, 1)), table, part)
        with dataset.writer_lock(out):
            dataset.commit(out, staging, rebuild_story_tables)
        built = time.perf_counter() - t0
        t0 = time.perf_counter()
        path = write_report(out, max_stories=args.max_stories)
        seconds = time.perf_counter() - t0
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"claimwire report benchmark: {args.articles} articles, {len(claims)} claims, "
              f"{args.articles // 3} stories (dataset built and committed in {built:.1f} s)")
        print(f"  report written in    {seconds:.1f} s  (--max-stories {args.max_stories})")
        print(f"  page size            {os.path.getsize(path) / 2**20:.1f} MiB")
        print(f"  peak RSS             {rss:.0f} MiB")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
