"""The `claimwire` commands (run, compact, ner, report), behind pipeline/cli.py, which sets the environment that
Beam and transformers read at import time before it imports this module."""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
import time

import apache_beam as beam
from apache_beam.options.pipeline_options import StandardOptions

from claimcore.ner_model import NerTagger, resolve_model_dir
from models import MODELS_DIR, local_model_dir
from pipeline.assembly import build_streaming_pipeline
from pipeline.batch import prepare, run_batch
from pipeline.follow import follow
from pipeline.options import ClaimwireOptions
from pipeline.report import main as report_main
from pipeline.shards import run_sharded
from pipeline.summary import format_summary, stage_counters
from schemas import dataset
from transforms.common import Progress

DEPRECATED_BATCH_SIZE = ("{command}: {flag} is deprecated and does nothing: each sentence is its own model call, "
                         "so no batch size changes the work or the rows; it will be removed in the next release")


class UsageError(Exception):
    """A fatal problem with what the user asked for: reported as one sentence, exit status 2."""


def _option_problem(opts) -> str | None:
    """What is wrong with the options before any work starts (a bad date or model path failed minutes into the
    job, in a worker), or None."""
    for name in ("since", "until"):
        value = getattr(opts, name)
        try:
            value and dt.date.fromisoformat(value)
        except ValueError:
            return f"--{name}: {value!r} is not a date (YYYY-MM-DD)"
    if opts.shard_size < 1:
        return f"--shard-size: must be at least 1 (got {opts.shard_size})"
    for name in ("story_window_days", "window_seconds", "stop_after", "poll_interval"):
        value = getattr(opts, name, None)
        if value is not None and (value < 0 or (value == 0 and name != "poll_interval")):  # 0: poll at once
            return f"--{name.replace('_', '-')}: must be {'at least' if name == 'poll_interval' else 'more than'} 0 " \
                   f"(got {value:g})"
    for name in ("ner_model", "attribution_model", "embedding_model"):
        ref = getattr(opts, name, None)
        # a hub id ("org/model") is tried by the library; a path that is no model folder is a typo
        if ref and local_model_dir(ref, "") is None and (ref.startswith(("/", ".", "~", "claimwire-"))
                                                           or os.path.exists(ref)):
            shipped = sorted(n for n in os.listdir(MODELS_DIR) if n.startswith("claimwire-"))
            return (f"--{name.replace('_', '-')}: {ref} is no model directory (nor a name under models/: "
                    f"{', '.join(shipped)})")
    return None


def run(argv: list[str]) -> int:
    argv = _default_runner(argv)
    options = ClaimwireOptions(argv)
    opts = options.view_as(ClaimwireOptions)
    Progress.enabled = Progress.enabled and not opts.quiet
    if not opts.output:
        print("claimwire run: --output DIR is required", file=sys.stderr)
        return 2
    if not (opts.feeds or opts.input or opts.site):
        print("claimwire run: give --feeds, --site and/or --input", file=sys.stderr)
        return 2
    streaming = options.view_as(StandardOptions).streaming
    if (opts.follow or streaming) and (not opts.feeds or opts.input or opts.site):
        print(f"claimwire run --{'follow' if opts.follow else 'streaming'}: needs --feeds (archives in --input "
              "are a batch job; find a site's feeds with a batch run's --site first)", file=sys.stderr)
        return 2
    if opts.follow and not dataset.is_local(opts.output):
        print("claimwire run --follow: needs a local --output directory", file=sys.stderr)
        return 2
    if opts.ner_batch_size is not None:
        print(DEPRECATED_BATCH_SIZE.format(command="claimwire run", flag="--ner-batch-size"), file=sys.stderr)
    problem = _option_problem(opts)
    if problem:
        print(f"claimwire run: {problem}", file=sys.stderr)
        return 2
    sharded = None
    try:
        with dataset.writer_lock(opts.output):
            prepare(opts.output)
            if opts.follow:
                return follow(options, opts)
            started = time.time()
            if streaming:
                p = beam.Pipeline(options=options)
                build_streaming_pipeline(p, opts)
                result = p.run()
                result.wait_until_finish()
            elif opts.input and not (opts.feeds or opts.site):
                sharded = run_sharded(options, opts)
            else:
                result, _ = run_batch(options, opts)
    except dataset.DatasetLocked as e:
        raise UsageError(str(e)) from None
    finally:
        Progress.finish()
    counters = sharded.counters if sharded else stage_counters(result)
    if sharded and not sharded.run:
        print(f"claimwire run: all {sharded.shards} shard(s) of this input are already committed in {opts.output} "
              "under the same components and options; nothing to do (--reprocess runs them again)",
              file=sys.stderr)
    if not dataset.is_local(opts.output):
        return 0
    if opts.quiet:
        articles = dataset.read_table(opts.output, "articles", ["article_id"])
        errors = dataset.read_table(opts.output, "errors", ["error_id"])
        print(f"claimwire run: {articles.num_rows if articles is not None else 0} articles, "
              f"{errors.num_rows if errors is not None else 0} errors in {opts.output}")
    else:
        print(format_summary(opts.output, counters, time.time() - started,
                             sharded.line(opts.shard_size) if sharded else None))
    return 0


def compact(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(prog="claimwire compact",
                                 description="merge each partition's committed files into one; rows and ids stay")
    ap.add_argument("output")
    args = ap.parse_args(argv)
    try:
        with dataset.writer_lock(args.output):
            prepare(args.output)
            before = {t.name: len(dataset.committed_files(args.output, t)) for t in dataset.APPENDED}
            journal = dataset.compact(args.output)
            after = {t.name: len(dataset.committed_files(args.output, t)) for t in dataset.APPENDED}
    except dataset.DatasetLocked as e:
        raise UsageError(str(e)) from None
    if journal is None:
        print(f"claimwire compact: nothing to merge in {args.output}")
    else:
        print("claimwire compact: " + ", ".join(f"{name} {before[name]} → {after[name]} files" for name in before))
    return 0


def ner(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(prog="claimwire ner", description="JSONL {id,text} → JSONL {id,entities}")
    ap.add_argument("file", nargs="?", help="input JSONL (default: stdin)")
    ap.add_argument("--ner-model", default=None)
    ap.add_argument("--batch-size", type=int, default=None,
                    help="deprecated: does nothing (each sentence is its own model call); removed in the next release")
    args = ap.parse_args(argv)
    if args.batch_size is not None:
        print(DEPRECATED_BATCH_SIZE.format(command="claimwire ner", flag="--batch-size"), file=sys.stderr)
    tagger = NerTagger.load(resolve_model_dir(args.ner_model))
    src = open(args.file, encoding="utf-8") if args.file else sys.stdin

    # one output line per input line, in order; a line that cannot be tagged gets {"id", "line", "error"} there
    batch, bad = [], 0  # (id, text, None, title) to tag, or (id, line number, reason, None)

    def flush():
        texts = [text for _, text, reason, _ in batch if reason is None]
        titles = [title for _, _, reason, title in batch if reason is None]
        tagged = iter(tagger.predict(texts, titles) if texts else [])
        for doc_id, text_or_line, reason, _ in batch:
            row = {"id": doc_id, "entities": next(tagged)} if reason is None else \
                {"id": doc_id, "line": text_or_line, "error": reason}
            sys.stdout.write(json.dumps(row, ensure_ascii=False) + "\n")
        batch.clear()

    for number, line in enumerate(src, 1):
        if not line.strip():
            continue
        try:
            doc = json.loads(line)
        except ValueError as e:
            doc, reason = {}, f"bad JSON: {e}"
        else:
            reason = None if isinstance(doc, dict) else "a line must be a JSON object"
            doc = doc if isinstance(doc, dict) else {}
        if reason is None and not isinstance(doc.get("text"), str):
            reason = f"'text' is {type(doc.get('text')).__name__}, not str"
        bad += reason is not None
        title = doc.get("title") if isinstance(doc.get("title"), str) else None
        batch.append((doc.get("id"), number if reason else doc["text"], reason, title))
        if len(batch) >= 256:
            flush()
    flush()
    if bad:
        print(f"claimwire ner: {bad} line(s) not tagged; their output lines say why", file=sys.stderr)
    return 0


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


def report(argv: list[str]) -> int:
    """claimwire report OUT: the HTML report (pipeline/report.py)."""
    return report_main(argv)
