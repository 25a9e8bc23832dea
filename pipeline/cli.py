"""The `claimwire` command (also `python -m pipeline`).

    claimwire run --feeds FEED_OR_LIST... | --input PATH... --output DIR [--runner RUNNER] [Beam options]
    claimwire run --follow --feeds ... --output DIR [--poll-interval S] [--cycles N]     (docs/running.md)
    claimwire run --streaming --feeds ... --output DIR [--poll-interval S] [--window-seconds S]
    claimwire run --runner dask --dask-address HOST:PORT ...
    claimwire ner [FILE.jsonl]        JSONL {"id","text"} in (file or stdin) → JSONL {"id","entities"} out
"""
from __future__ import annotations

import glob
import json
import logging
import os
import sys
import time

USAGE = __doc__


RUNNER_ALIASES = {"dask": "pipeline.dask_runner.DaskRunner", "daskrunner": "pipeline.dask_runner.DaskRunner"}
FLAG_ALIASES = {"--dask-address": "--dask_client_address"}


def _default_runner(argv: list[str]) -> list[str]:
    """Names the runner (Beam's default may try to download Prism first) and maps claimwire's short names:
    `--runner dask` is Beam's DaskRunner with claimwire's fixes, `--dask-address` its scheduler address."""
    out, i, named = [], 0, False
    while i < len(argv):
        arg = argv[i]
        flag, eq, value = arg.partition("=")
        if flag in FLAG_ALIASES:
            flag = FLAG_ALIASES[flag]
        if flag == "--runner":
            named = True
            if not eq and i + 1 < len(argv):
                i += 1
                value = argv[i]
            value = RUNNER_ALIASES.get(value.lower(), value)
            out.append(f"--runner={value}")
        else:
            out.append(flag + eq + value if eq else flag)
        i += 1
    if not named:
        out.append("--runner=DirectRunner")
    return out


def _clear_old_shards(output_dir: str, num_shards: int) -> None:
    """Files of this run overwrite the last run's of the same shard count; others would be read twice."""
    from pipeline.assembly import shards_for
    from schemas import TABLES
    for table in TABLES.values():
        keep = f"-of-{shards_for(table, num_shards):05d}.parquet"
        for path in glob.glob(os.path.join(output_dir, table.name, "part-*.parquet*")):
            if not path.endswith(keep):
                os.remove(path)


def run(argv: list[str]) -> int:
    import apache_beam as beam

    from pipeline.assembly import build_pipeline
    from pipeline.options import ClaimwireOptions
    from pipeline.summary import format_summary, stage_counters

    argv = _default_runner(argv)
    options = ClaimwireOptions(argv)
    opts = options.view_as(ClaimwireOptions)
    if not opts.output:
        print("claimwire run: --output DIR is required", file=sys.stderr)
        return 2
    if not (opts.feeds or opts.input):
        print("claimwire run: give --feeds and/or --input", file=sys.stderr)
        return 2
    from pipeline.follow import follow, is_follow_dir
    if opts.follow:
        if "://" in opts.output or not opts.feeds or opts.input:
            print("claimwire run --follow: needs --feeds (archives in --input are a batch job) and a local "
                  "--output directory", file=sys.stderr)
            return 2
        return follow(options, opts)
    if "://" not in opts.output:
        if is_follow_dir(opts.output):
            print(f"claimwire run: {opts.output} is written by --follow cycles; give another --output",
                  file=sys.stderr)
            return 2
        os.makedirs(opts.output, exist_ok=True)
        _clear_old_shards(opts.output, opts.num_shards)
    started = time.time()
    p = beam.Pipeline(options=options)
    from apache_beam.options.pipeline_options import StandardOptions
    if options.view_as(StandardOptions).streaming:
        if not opts.feeds or opts.input:
            print("claimwire run --streaming: needs --feeds (archives in --input are a batch job)", file=sys.stderr)
            return 2
        from pipeline.assembly import build_streaming_pipeline
        build_streaming_pipeline(p, opts)
    else:
        build_pipeline(p, opts)
    result = p.run()
    result.wait_until_finish()
    counters = stage_counters(result)
    if "://" not in opts.output:
        print(format_summary(opts.output, counters, time.time() - started))
    return 0


def ner(argv: list[str]) -> int:
    import argparse

    from transforms.ner_model import NerTagger, resolve_model_dir
    ap = argparse.ArgumentParser(prog="claimwire ner", description="JSONL {id,text} → JSONL {id,entities}")
    ap.add_argument("file", nargs="?", help="input JSONL (default: stdin)")
    ap.add_argument("--ner-model", default=None)
    ap.add_argument("--batch-size", type=int, default=32)
    args = ap.parse_args(argv)
    tagger = NerTagger.load(resolve_model_dir(args.ner_model))
    src = open(args.file, encoding="utf-8") if args.file else sys.stdin
    batch = []

    def flush():
        for doc, ents in zip(batch, tagger.predict([d["text"] for d in batch], batch_size=args.batch_size)):
            sys.stdout.write(json.dumps({"id": doc.get("id"), "entities": ents}, ensure_ascii=False) + "\n")
        batch.clear()

    for line in src:
        if line.strip():
            batch.append(json.loads(line))
            if len(batch) >= 256:
                flush()
    flush()
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    if not argv or argv[0] in ("-h", "--help"):
        print(USAGE)
        return 0
    command, rest = argv[0], argv[1:]
    if command == "run":
        return run(rest)
    if command == "ner":
        return ner(rest)
    print(f"claimwire: unknown command {command!r}\n{USAGE}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
