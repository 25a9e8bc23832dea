"""Writes the golden outputs of claimwire's versioned components (claimcore/components.py) and says which digests
changed, i.e. which versions to bump.

    .venv/bin/python tests/golden/regenerate.py [NAME ...]       # default: every component
    .venv/bin/python tests/golden/regenerate.py --inputs         # also rebuild claims/stories inputs (NER, embedder)
"""
from __future__ import annotations

import argparse
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

from runners import GOLDEN, RUNNERS, build_inputs, digest, golden_path  # noqa: E402

from claimcore.components import COMPONENTS  # noqa: E402


def write(path: str, value) -> None:
    with open(path, "w", encoding="utf-8") as f:
        json.dump(value, f, ensure_ascii=False, indent=1, sort_keys=True)
        f.write("\n")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("names", nargs="*", help="components (default: all)")
    ap.add_argument("--inputs", action="store_true", help="rebuild the stored inputs of claims and stories first")
    args = ap.parse_args()
    names = args.names or sorted(RUNNERS)
    unknown = sorted(set(names) - set(RUNNERS))
    if unknown:
        ap.error(f"unknown component(s) {', '.join(unknown)}; known: {', '.join(sorted(RUNNERS))}")
    if args.inputs:
        for file_name, value in build_inputs().items():
            write(os.path.join(GOLDEN, file_name), value)
            print(f"wrote tests/golden/{file_name}")
    to_bump = []
    for name in names:
        output = RUNNERS[name]()
        component = COMPONENTS[name]
        new = digest(output)
        write(golden_path(name), {"component": name, "digest": new, "output": output})
        if new == component.digest:
            print(f"{name:12s} {component.stamp:16s} digest {new}: unchanged")
        else:
            to_bump.append(name)
            print(f"{name:12s} {component.stamp:16s} digest {new}: CHANGED (recorded: {component.digest}); add "
                  f"({component.version + 1}, \"{new}\", \"<what changed>\") to its versions in claimcore/components.py")
    return 1 if to_bump else 0


if __name__ == "__main__":
    sys.exit(main())
