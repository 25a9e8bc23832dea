"""Figure parser accuracy on third-party quantity sets: value P/R/F1 and value+unit P/R/F1 per set.

    .venv/bin/python bench/quantities.py --data ../shared/data/quantities [--systems claimwire,quantulum3]

Sets (formats in ../shared/data/README.md): quantulum3's English cases (`quantities.json`; quantulum3's own test
cases, so its score there is not independent) and four Recognizers-Text-derived sets (age, currency, dimension,
temperature).

Scoring rule, per sentence, one-to-one greedy matching in reading order:
- value: equal within 1e-6 relative; a gold range `low-high` matches a predicted range with both ends equal; a gold
  single value also matches a predicted range's mean (quantulum3's cases write "3.5–4.0 TeV" as 3.75).
- unit: the gold unit's name equals the predicted one after normalization (lower case; `percentage` = `percent`;
  `tonne` = `metric ton`; `cubic centimetre` = `millilitre`, one unit under two names;
  `degree` matches any temperature or angle; `celsius` / `fahrenheit` match the degree units), or the gold unit
  is not a unit of measure (`dimensionless`, `count`, `-`, or a noun such as `consultant`) and the prediction is
  a count (family `count`, any noun) or a proportion (family `fraction`: "two thirds").
- Precision counts every predicted figure, so extra figures (years filtered or not) cost precision.
"""
from __future__ import annotations

import argparse
import glob
import json
import os
import re
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from claimcore.figures import parse_figures, unit_lexicon, words_table  # noqa: E402
from claimcore.text import sentence_spans, split_words  # noqa: E402


def load_sets(root: str) -> dict[str, list[tuple[str, list[dict]]]]:
    sets = {}
    for name in ("quantities.json", "quantities.ambiguity.json"):
        path = os.path.join(root, name)
        if os.path.exists(path):
            with open(path, encoding="utf-8") as f:
                sets["quantulum3 " + name.replace(".json", "")] = [
                    (ex["req"], [{"value": str(r["value"]), "unit": r["unit"]} for r in ex["res"]])
                    for ex in json.load(f)]
    for path in sorted(glob.glob(os.path.join(root, "recognizers_text_sets", "*.json"))):
        with open(path, encoding="utf-8") as f:
            sets["recognizers " + os.path.basename(path).split("-")[0]] = [
                (ex["text"], [{"value": str(q["value"]), "unit": q["normalized_unit"]} for q in ex["quantities"]])
                for ex in json.load(f)]
    if not sets:
        raise SystemExit(f"no quantity sets under {root}")
    return sets


def _gold_value(raw: str):
    m = re.fullmatch(r"\s*(-?[\d.]+(?:e[+-]?\d+)?)\s*(?:-\s*([\d.]+(?:e[+-]?\d+)?))?\s*", raw)
    if not m:
        return None
    try:
        low = float(m.group(1))
        return (low, float(m.group(2))) if m.group(2) else low
    except ValueError:
        return None


def _close(a, b) -> bool:
    return a is not None and b is not None and abs(a - b) <= 1e-6 * max(1.0, abs(a), abs(b))


def value_match(gold, pred) -> bool:
    if isinstance(gold, tuple):
        return _close(gold[0], pred["low"]) and _close(gold[1], pred["high"])
    if pred["low"] is not None and pred["high"] is not None and _close(gold, (pred["low"] + pred["high"]) / 2):
        return True  # quantulum3 writes a range as its mean
    return _close(gold, pred["value"])


_MEASURE_UNITS = None


def unit_match(gold_unit: str, pred) -> bool:
    global _MEASURE_UNITS
    if _MEASURE_UNITS is None:
        names, symbols, glued = unit_lexicon()
        _MEASURE_UNITS = {u.lower() for u, _ in list(names.values()) + list(symbols.values()) + list(glued.values())}
        _MEASURE_UNITS |= {u.lower() for u, _ in words_table()["units_extra"].values()}
        _MEASURE_UNITS |= {"percentage", "degree", "celsius", "fahrenheit", "year of age", "month of age",
                           "week of age", "day of age"}
    g, p = _norm_unit(gold_unit), _norm_unit(pred["unit"] or "")
    fam = pred["family"] or ""
    if g == p and g:
        return True
    if g in ("dimensionless", "count", "-", "") or g.split(" per ")[0] not in _MEASURE_UNITS:
        return fam in ("count", "fraction")
    if g == p:
        return True
    if g == "degree":
        return fam in ("temperature", "angle", "angle_or_temperature")
    if g in ("celsius", "fahrenheit", "degree celsius", "degree fahrenheit"):
        return fam in ("temperature", "angle_or_temperature") and (g.split()[-1] in p or p == "degree")
    return False


_SYNONYMS = {"percentage": "percent", "% interest": "percent", "tonne": "metric ton", "pence": "penny",
             "points": "point", "cubic centimetre": "millilitre"}  # 1 mL is exactly 1 cm³


def _norm_unit(unit: str) -> str:
    """Lower case, synonyms of one unit ('tonne' = 'metric ton', 'percentage' = 'percent'), singular words."""
    words = []
    for w in unit.lower().strip().split():
        w = _SYNONYMS.get(w, w)
        words.append(w[:-1] if w.endswith("s") and len(w) > 3 and not w.endswith(("ss", "us", "is")) else w)
    out = " ".join(words)
    return _SYNONYMS.get(out, out)


def claimwire_figures(text: str) -> list[dict]:
    words = split_words(text)
    return [{"value": f.value, "low": f.value_low, "high": f.value_high, "unit": f.unit, "family": f.unit_family}
            for f in parse_figures(text, words, sentence_spans(text, words))]


def quantulum3_figures(text: str) -> list[dict]:
    from quantulum3 import classifier, parser
    classifier.USE_CLF = False  # its pickled classifier does not load with current scikit-learn
    out = []
    for q in parser.parse(text):
        ent = q.unit.entity.name
        fam = "count" if ent == "dimensionless" and q.unit.name != "percentage" else ent
        out.append({"value": q.value, "low": None, "high": None, "unit": q.unit.name, "family": fam})
    return out


SYSTEMS = {"claimwire": claimwire_figures, "quantulum3": quantulum3_figures}


def score(examples, system) -> dict:
    counts = {"gold": 0, "pred": 0, "value": 0, "both": 0}
    misses = []
    for text, gold in examples:
        preds = system(text)
        counts["gold"] += len(gold)
        counts["pred"] += len(preds)
        used_v, used_b = set(), set()
        for g in gold:
            gv = _gold_value(g["value"])
            if gv is None:
                continue
            hit_v = next((k for k, p in enumerate(preds) if k not in used_v and value_match(gv, p)), None)
            if hit_v is not None:
                used_v.add(hit_v)
                counts["value"] += 1
            hit_b = next((k for k, p in enumerate(preds)
                          if k not in used_b and value_match(gv, p) and unit_match(g["unit"], p)), None)
            if hit_b is not None:
                used_b.add(hit_b)
                counts["both"] += 1
            else:
                misses.append((text, g, preds))
    out = {}
    for key in ("value", "both"):
        p = counts[key] / counts["pred"] if counts["pred"] else 0.0
        r = counts[key] / counts["gold"] if counts["gold"] else 0.0
        out[key] = (p, r, 2 * p * r / (p + r) if p + r else 0.0)
    out["counts"] = counts
    out["misses"] = misses
    return out


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default="../shared/data/quantities")
    ap.add_argument("--systems", default="claimwire")
    ap.add_argument("--show-misses", type=int, default=0, help="print this many misses per set")
    args = ap.parse_args(argv)
    sets = load_sets(args.data)
    for name in args.systems.split(","):
        system = SYSTEMS[name]
        print(f"\n{name}")
        print(f"{'set':32} {'sentences':>9} {'gold':>5} {'value P/R/F1':>20} {'value+unit P/R/F1':>20} {'ms/sent':>8}")
        total = {"gold": 0, "pred": 0, "value": 0, "both": 0}
        total_indep = {"gold": 0, "pred": 0, "value": 0, "both": 0}
        for set_name, examples in sets.items():
            t0 = time.perf_counter()
            s = score(examples, system)
            ms = (time.perf_counter() - t0) / max(1, len(examples)) * 1000
            v, b = s["value"], s["both"]
            print(f"{set_name:32} {len(examples):9d} {s['counts']['gold']:5d} "
                  f"{v[0]:6.3f}/{v[1]:.3f}/{v[2]:.3f} {b[0]:6.3f}/{b[1]:.3f}/{b[2]:.3f} {ms:8.2f}")
            for key in total:
                total[key] += s["counts"][key]
                if set_name.startswith("recognizers"):
                    total_indep[key] += s["counts"][key]
            for text, g, preds in s["misses"][:args.show_misses]:
                print("   miss:", g, "|", text[:140], "|", [(p["value"], p["unit"], p["family"]) for p in preds])
        for label, t in (("all sets (micro)", total), ("recognizers sets only (micro)", total_indep)):
            p = t["both"] / t["pred"] if t["pred"] else 0.0
            r = t["both"] / t["gold"] if t["gold"] else 0.0
            f = 2 * p * r / (p + r) if p + r else 0.0
            print(f"{label:32} value+unit P {p:.3f} R {r:.3f} F1 {f:.3f}")


if __name__ == "__main__":
    main()
