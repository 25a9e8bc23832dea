"""Story-dedup scale benchmark: synthetic signatures through the candidate + resolve stages (ResolveStories:
candidates, distributed connected components, average-link stories, threads) on the DirectRunner or on Beam's
DaskRunner, at two corpus sizes, printing seconds, peak memory and the scaling exponent.

    .venv/bin/python bench/dedup.py [--sizes 10000 100000] [--days 30] [--runner dask [--dask-workers 2]]

With `--runner dask` a dask.distributed LocalCluster (processes, one thread each) on this machine runs the
pipeline through claimwire's DaskRunner (pipeline/dask_runner.py); its startup is outside the timing.

The corpus is made of signatures (what DeduplicateStories compares), not text: stories of 1-8 articles whose
embeddings scatter around a story centroid (cosine ~0.8) inside a shared topic (so unrelated stories also sit
close), 5% syndicated copies (MinHash equal in most positions), shared entities and figures within a story.
Signatures are generated inside the pipeline (and so inside the timing; about a tenth of it). Both sizes span the
same number of days, so the larger corpus is also ten times denser per time block: the
harder case for blocking. Resolution quality on the synthetic truth is printed too (pairwise P/R).
"""
from __future__ import annotations

import argparse
import itertools
import math
import os
import resource
import sys
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from claimcore.story_grouping import NUM_PERM, StoryParams
from transforms.dedup import ResolveStories  # noqa: E402

CHUNK = 1000


def synthetic_chunk(chunk: int, n: int, days: float, seed: int = 11):
    """Signatures and true story labels of articles [chunk*CHUNK, ...): deterministic per chunk, so workers can
    generate them inside the pipeline (a Create of 100k signatures would be pickled into the pipeline itself)."""
    rng = np.random.default_rng([seed, chunk])
    topics = np.random.default_rng(seed).normal(size=(50, 384)).astype(np.float32)
    sigs, truth = [], {}
    i, end = chunk * CHUNK, min(n, (chunk + 1) * CHUNK)
    story = 0
    while i < end:
        size = int(min(end - i, rng.integers(1, 9)))
        centroid = topics[rng.integers(50)] + 1.2 * rng.normal(size=384).astype(np.float32)
        centroid /= np.linalg.norm(centroid)
        t0 = rng.uniform(0, days * 86400)
        label = f"{chunk}/{story}"
        ents = [f"e{label}_{k}" for k in range(4)]
        figs = [float(rng.integers(10, 10**6))]
        base_hash = rng.integers(0, 2**63, size=NUM_PERM, dtype=np.uint64)
        for m in range(size):
            v = centroid + 0.45 * rng.normal(size=384).astype(np.float32) / math.sqrt(384)
            v /= np.linalg.norm(v)
            copy = m > 0 and rng.random() < 0.05
            mh = base_hash.copy() if copy else rng.integers(0, 2**63, size=NUM_PERM, dtype=np.uint64)
            if copy:
                mh[rng.integers(NUM_PERM, size=3)] = rng.integers(0, 2**63, size=3, dtype=np.uint64)
            aid = f"a{i:07d}"
            sigs.append({"article_id": aid, "published": float(t0 + rng.uniform(0, 86400)),
                         "content_hash": f"h{i}", "text_len": int(rng.integers(500, 5000)),
                         "minhash": mh.tobytes(), "embedding": v.tobytes(),
                         "entities": sorted(rng.choice(ents, size=2, replace=False).tolist() + ["common"]),
                         "figures": figs if rng.random() < 0.6 else [], "story_id": None})
            truth[aid] = label
            i += 1
        story += 1
    return sigs, truth


def run(n, days, params, runner_args):
    import apache_beam as beam
    from apache_beam.options.pipeline_options import PipelineOptions
    out = {}
    path = os.path.join(os.environ.get("TMPDIR", "/tmp"), f"claimwire-bench-dedup-{os.getpid()}.npy")

    def dump(rows):
        np.save(path, np.array([(a, r["story_id"]) for a, r in rows], dtype=object), allow_pickle=True)

    chunks = list(range(math.ceil(n / CHUNK)))
    t0 = time.perf_counter()
    with beam.Pipeline(options=PipelineOptions(runner_args)) as p:
        (p | beam.Create(chunks) | beam.FlatMap(lambda c: synthetic_chunk(c, n, days)[0]) | ResolveStories(params)
           | beam.combiners.ToList() | beam.Map(dump))
    seconds = time.perf_counter() - t0
    for aid, sid in np.load(path, allow_pickle=True):
        out[aid] = sid
    os.remove(path)
    return seconds, out


def pairwise(assigned, truth, sample=3000, seed=3):
    rng = np.random.default_rng(seed)
    ids = sorted(truth)
    pick = sorted(rng.choice(len(ids), size=min(sample, len(ids)), replace=False))
    tp = fp = fn = 0
    for a, b in itertools.combinations([ids[k] for k in pick], 2):
        t, p = truth[a] == truth[b], assigned[a] == assigned[b]
        tp += t and p
        fp += p and not t
        fn += t and not p
    # same-story pairs are rare in a random sample: add every pair inside a few hundred true stories
    by_story = {}
    for a, s in truth.items():
        by_story.setdefault(s, []).append(a)
    for members in list(by_story.values())[:500]:
        for a, b in itertools.combinations(members, 2):
            tp += assigned[a] == assigned[b]
            fn += assigned[a] != assigned[b]
    return tp / max(1, tp + fp), tp / max(1, tp + fn)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    ap.add_argument("--days", type=float, default=30.0)
    ap.add_argument("--runner", choices=["direct", "dask"], default="direct")
    ap.add_argument("--dask-workers", type=int, default=2)
    args = ap.parse_args()
    from transforms.common import Progress
    Progress.enabled = False
    params = StoryParams()
    results = []
    runner_args, cluster = ["--runner=DirectRunner"], None
    if args.runner == "dask":
        from distributed import LocalCluster
        cluster = LocalCluster(n_workers=args.dask_workers, threads_per_worker=1, processes=True,
                               dashboard_address=None, host="127.0.0.1")
        runner_args = ["--runner=pipeline.dask_runner.DaskRunner", "--dask_client_address", cluster.scheduler_address]
    name = "DirectRunner" if cluster is None else f"DaskRunner, LocalCluster of {args.dask_workers} processes"
    print(f"story dedup candidate+resolve benchmark ({name}, {os.cpu_count()} cores, {args.days:g} days)")
    for n in args.sizes:
        truth = {}
        for c in range(math.ceil(n / CHUNK)):
            truth.update(synthetic_chunk(c, n, args.days)[1])
        seconds, assigned = run(n, args.days, params, runner_args)
        precision, recall = pairwise(assigned, truth)
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        results.append((n, seconds))
        print(f"  {n:>7} articles: {seconds:7.1f} s  ({n / seconds:,.0f} articles/s)  peak RSS {rss:,.0f} MiB  "
              f"stories {len(set(assigned.values())):,} (true {len(set(truth.values())):,})  "
              f"pairwise P {precision:.3f} R {recall:.3f}")
    if cluster is not None:
        cluster.close()
    if len(results) >= 2:
        (n1, s1), (n2, s2) = results[0], results[-1]
        print(f"  scaling exponent {math.log(s2 / s1) / math.log(n2 / n1):.2f} (time ~ n^k between {n1:,} and {n2:,})")


if __name__ == "__main__":
    main()
