"""The `claimwire` command (also `python -m pipeline`).

    claimwire run --feeds FEED_OR_LIST... | --input PATH... --output DIR [--runner RUNNER] [Beam options]
    claimwire run --follow --feeds ... --output DIR [--poll-interval S] [--cycles N]     (docs/running.md)
    claimwire run --streaming --feeds ... --output DIR [--poll-interval S] [--window-seconds S]
    claimwire run --runner dask --dask-address HOST:PORT ...
    claimwire compact OUT             merge each partition's small files into one (rows and ids unchanged)
    claimwire report OUT [--html PATH] [--max-stories N]   one self-contained HTML page of stories and claims
    claimwire ner [FILE.jsonl]        JSONL {"id","text"} in (file or stdin) → JSONL {"id","entities"} out
"""
from __future__ import annotations

import json
import logging
import os
import sys
import time

USAGE = __doc__ + """
Common to every command: --quiet (errors only), --verbose (library logs and tracebacks)."""


def quiet_third_party(verbose: bool = False) -> None:
    """Before Beam or transformers are imported: no weight-loading progress bars, no advisory warnings, no
    apitools notice. Environment variables reach worker processes too."""
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("TRANSFORMERS_NO_ADVISORY_WARNINGS", "1")
    if not verbose:
        os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    import transforms  # noqa: F401 - installs the log filter for Beam's import-time notice (transforms/__init__)


class UsageError(Exception):
    """A fatal problem with what the user asked for: reported as one sentence, exit status 2."""


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


def _option_problem(opts) -> str | None:
    """What is wrong with the options before any work starts (a bad date or model path failed minutes into the
    job, in a worker), or None."""
    import datetime as dt

    from models import MODELS_DIR, local_model_dir
    for name in ("since", "until"):
        value = getattr(opts, name)
        try:
            value and dt.date.fromisoformat(value)
        except ValueError:
            return f"--{name}: {value!r} is not a date (YYYY-MM-DD)"
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
    import apache_beam as beam
    from apache_beam.options.pipeline_options import StandardOptions

    from pipeline.batch import prepare, run_batch
    from pipeline.options import ClaimwireOptions
    from pipeline.summary import format_summary, stage_counters
    from schemas import dataset

    from transforms.common import Progress

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
    problem = _option_problem(opts)
    if problem:
        print(f"claimwire run: {problem}", file=sys.stderr)
        return 2
    try:
        with dataset.writer_lock(opts.output):
            prepare(opts.output)
            if opts.follow:
                from pipeline.follow import follow
                return follow(options, opts)
            started = time.time()
            if streaming:
                from pipeline.assembly import build_streaming_pipeline
                p = beam.Pipeline(options=options)
                build_streaming_pipeline(p, opts)
                result = p.run()
                result.wait_until_finish()
            else:
                result, _ = run_batch(options, opts)
    except dataset.DatasetLocked as e:
        raise UsageError(str(e)) from None
    finally:
        Progress.finish()
    if not dataset.is_local(opts.output):
        return 0
    if opts.quiet:
        articles = dataset.read_table(opts.output, "articles", ["article_id"])
        errors = dataset.read_table(opts.output, "errors", ["error_id"])
        print(f"claimwire run: {articles.num_rows if articles is not None else 0} articles, "
              f"{errors.num_rows if errors is not None else 0} errors in {opts.output}")
    else:
        print(format_summary(opts.output, stage_counters(result), time.time() - started))
    return 0


def compact(argv: list[str]) -> int:
    import argparse

    from pipeline.batch import prepare
    from schemas import dataset
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
    import argparse

    from transforms.ner_model import NerTagger, resolve_model_dir
    ap = argparse.ArgumentParser(prog="claimwire ner", description="JSONL {id,text} → JSONL {id,entities}")
    ap.add_argument("file", nargs="?", help="input JSONL (default: stdin)")
    ap.add_argument("--ner-model", default=None)
    ap.add_argument("--batch-size", type=int, default=32)
    args = ap.parse_args(argv)
    tagger = NerTagger.load(resolve_model_dir(args.ner_model))
    src = open(args.file, encoding="utf-8") if args.file else sys.stdin

    # one output line per input line, in order; a line that cannot be tagged gets {"id", "line", "error"} there
    batch, bad = [], 0  # (id, text, None) to tag, or (id, line number, reason)

    def flush():
        texts = [text for _, text, reason in batch if reason is None]
        tagged = iter(tagger.predict(texts, batch_size=args.batch_size) if texts else [])
        for doc_id, text_or_line, reason in batch:
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
        batch.append((doc.get("id"), number if reason else doc["text"], reason))
        if len(batch) >= 256:
            flush()
    flush()
    if bad:
        print(f"claimwire ner: {bad} line(s) not tagged; their output lines say why", file=sys.stderr)
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    verbose, quiet = "--verbose" in argv, "--quiet" in argv
    quiet_third_party(verbose)
    logging.basicConfig(level=logging.INFO if verbose else logging.ERROR if quiet else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    if not argv or argv[0] in ("-h", "--help"):
        print(USAGE)
        return 0
    command, rest = argv[0], [a for a in argv[1:] if a != "--verbose"]
    commands = {"run": run, "ner": ner, "compact": compact, "report": _report}
    if command not in commands:
        print(f"claimwire: unknown command {command!r}\n{USAGE}", file=sys.stderr)
        return 2
    try:
        return commands[command](rest if command == "run" else [a for a in rest if a != "--quiet"])
    except (UsageError, FileNotFoundError, NotADirectoryError, IsADirectoryError, PermissionError) as e:
        if verbose:
            raise
        print(f"claimwire {command}: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"claimwire {command}: interrupted", file=sys.stderr)
        return 130
    except Exception as e:  # noqa: BLE001 - one sentence for the user; --verbose gives the traceback
        if verbose:
            raise
        print(f"claimwire {command}: failed: {type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''} "
              "(--verbose shows the traceback)", file=sys.stderr)
        return 1


def _report(argv: list[str]) -> int:
    from pipeline.report import main as report
    return report(argv)


if __name__ == "__main__":
    sys.exit(main())


def run_and_exit() -> None:
    """The process entry point (`claimwire`, `python -m pipeline`): main(), then an exit that skips the native
    libraries' static destructors. Once a run has committed its output and printed its summary, ONNX Runtime and
    PyTorch tearing down at interpreter exit aborted about 1 process in 10 on 2 cores ('terminate called without
    an active exception', exit code -6), which turned a finished run into a failure."""
    import logging
    code = main()
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code if isinstance(code, int) else 0)
