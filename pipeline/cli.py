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

import logging
import os
import sys

import transforms  # noqa: F401 - installs the log filter for Beam's import-time notice (transforms/__init__)

USAGE = __doc__ + """
Common to every command: --quiet (errors only), --verbose (library logs and tracebacks)."""


def quiet_third_party(verbose: bool = False) -> None:
    """Before Beam or transformers are imported: no weight-loading progress bars, no advisory warnings, no
    apitools notice. Environment variables reach worker processes too."""
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("TRANSFORMERS_NO_ADVISORY_WARNINGS", "1")
    if not verbose:
        os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")


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
    # imported only now: quiet_third_party's environment must be set before Beam and transformers load
    from pipeline import commands as cmd
    commands = {"run": cmd.run, "ner": cmd.ner, "compact": cmd.compact, "report": cmd.report}
    if command not in commands:
        print(f"claimwire: unknown command {command!r}\n{USAGE}", file=sys.stderr)
        return 2
    try:
        return commands[command](rest if command == "run" else [a for a in rest if a != "--quiet"])
    except (cmd.UsageError, FileNotFoundError, NotADirectoryError, IsADirectoryError, PermissionError) as e:
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


if __name__ == "__main__":
    sys.exit(main())


def run_and_exit() -> None:
    """The process entry point (`claimwire`, `python -m pipeline`): main(), then an exit that skips the native
    libraries' static destructors. Once a run has committed its output and printed its summary, ONNX Runtime and
    PyTorch tearing down at interpreter exit aborted about 1 process in 10 on 2 cores ('terminate called without
    an active exception', exit code -6), which turned a finished run into a failure."""
    code = main()
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code if isinstance(code, int) else 0)
