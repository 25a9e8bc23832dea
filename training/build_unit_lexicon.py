"""Writes claimcore/data/units.json, the unit lexicon of the figure parser, from quantulum3's unit data:

    python -m training.build_unit_lexicon

Run it after changing quantulum3's pin or the unit choices in claimcore/data/figure_words.json;
tests/test_figures.py checks that the file is what this script writes.
"""
import json

from claimcore.figures import _UNITS, build_unit_lexicon


def main() -> None:
    data = build_unit_lexicon()
    with open(_UNITS, "w", encoding="utf-8") as f:
        json.dump(data, f, ensure_ascii=False, indent=0, sort_keys=False)
        f.write("\n")
    print(f"wrote {_UNITS}: {len(data['names'])} names, {len(data['symbols'])} symbols, {len(data['glued'])} glued")


if __name__ == "__main__":
    main()
