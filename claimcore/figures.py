"""The one figure parser: every number a news reader calls a figure, with its value, range, unit and unit family.

Used by claims (transforms/claims.py) and by story signals (transforms/dedup.py); bench/quantities.py measures
it on third-party quantity sets. Works over `claimcore.text.split_words` words, so offsets agree with the
entities and the attribution spans.

- Numbers: digits (3,000 / 1.5 / 2 1/2 / 3k / 12,000-strong / 200lbs / 12,34,567 / 10 000 / 4e14 / 2.48×10−5),
  spelled numbers ("ninety five", "two hundred and fifty", "a dozen"), fractions ("two-thirds of", "one sixth"),
  scales (thousand … trillion, k / m / bn / mn), vague magnitudes ("tens of thousands", "hundreds of"), ranges
  ("$200,000 to $300,000", "10-15", "between 5 and 7", "ranged from -18 °C to -34 °C") and signs ("-5", "minus
  40"; not "plus or minus 4", "ten minus 3"). A unit written once is shared by the items before it ("45 and 50
  mg"); a tolerance ("± 0.01") is not a figure of its own.
- Units: currencies (symbols, codes and names, `Y=` for yen, "USD115", scaled codes "MEUR 120" included),
  rates ("$70 a barrel", "12-cent-a-share"), percent / percentage points / basis points,
  and the measurement units of quantulum3's unit lexicon (its `load.units`: length, area, mass, volume, speed,
  power, temperature, time, data …), matched by name or, when written next to the number, by symbol. Durations
  (time units) are the family `duration`; "N years old" / "N-year-old" / "aged N" is `age`. Any other noun after
  a number is a count of that noun (family `count`); a number alone is a count with no unit.
- Not figures: years, dates, times, phone numbers, ordinals, page furniture "(1)" and numbers inside names
  (Boeing 737, Section 427).

Word lists live in claimcore/data/figure_words.json, not in code.
"""
from __future__ import annotations

import functools
import json
import math
import os
import re
from dataclasses import dataclass, replace
from typing import Callable, Sequence

from claimcore.dates import MONTH_WORDS
from claimcore.text import stop_words

_DATA = os.path.join(os.path.dirname(__file__), "data", "figure_words.json")


@dataclass
class Figure:
    start: int  # character offsets of the figure's surface (number, unit and qualifier)
    end: int
    number_start: int  # word index of the (first) number, and one past the last word of the figure
    word_end: int
    value: float | None
    value_low: float | None
    value_high: float | None
    value_text: str
    unit: str | None
    unit_family: str | None
    qualifier: str | None = None
    approximate: bool = False
    vague: bool = False
    unit_word: int | None = None  # word index of a count noun, for the subject finder
    of_person: bool = False  # an age set off by commas after a person's name ("Schiff, 56,"): it describes them


def family_label(unit_family: str | None) -> str:
    """A unit family for people to read: 'count:military personnel' → 'military personnel', 'count' → ''."""
    if not unit_family or unit_family == "count":
        return ""
    return unit_family.split(":", 1)[1] if unit_family.startswith("count:") else unit_family


@functools.lru_cache(maxsize=1)
def words_table() -> dict:
    with open(_DATA, encoding="utf-8") as f:
        data = json.load(f)
    data["months"] = MONTH_WORDS  # claimcore/dates.py owns the month names
    data["count_not_unit"] = set(data["count_not_unit"])
    return data


_UNITS = os.path.join(os.path.dirname(__file__), "data", "units.json")


@functools.lru_cache(maxsize=1)
def unit_lexicon() -> tuple[dict, dict, dict]:
    """(lower-case name/plural → (unit, family), symbol → (unit, family) for symbols written apart from the number,
    symbol → (unit, family) for symbols glued to it: '0.8rad'). The file is quantulum3's unit lexicon as
    training/build_unit_lexicon.py derives it (importing quantulum3 costs 3 s per process: its inflect dependency
    instruments itself with typeguard), plus the news words of figure_words.json."""
    with open(_UNITS, encoding="utf-8") as f:
        data = json.load(f)
    names = {k: tuple(v) for k, v in data["names"].items()}
    for surface, (unit, fam) in words_table()["units_extra"].items():
        names[surface] = (unit, fam)
    symbols, glued = ({k: tuple(v) for k, v in data[key].items()} for key in ("symbols", "glued"))
    for table in (symbols, glued):  # the micro sign µ (U+00B5) is also written as the Greek mu μ (U+03BC)
        table.update({k.replace("µ", "μ"): v for k, v in table.items() if "µ" in k})
    return names, symbols, glued


def build_unit_lexicon() -> dict:
    """The lexicon file's content, from quantulum3's unit data and figure_words.json's choices (which entities and
    surfaces to skip, which entity wins an ambiguous surface, canonical names)."""
    import quantulum3
    from quantulum3 import load
    units = load.units("en_US")
    table = words_table()
    skip_entities = set(table["unit_entities_skipped"])
    # particle physics' barns and genomics' base pairs share their symbols with bits (kb, Mb, Gb, "1500b packet"),
    # and gigayears with grays (Gy): in news the bits and grays are meant. Any prefix: "kilobarn", "mega base pair"
    skip_names = tuple(table["unit_names_skipped"])
    skip_surfaces = set(table["unit_surfaces_skipped"])
    entity_rank = {e: k for k, e in enumerate(table["unit_entity_preference"])}

    def family(unit) -> str | None:
        ent = unit.entity.name
        if ent in skip_entities or unit.name.endswith(skip_names):
            return None
        if ent == "currency":
            return "money:" + (getattr(unit, "currency_code", None) or unit.name)
        if ent == "time":
            return "duration"
        if ent == "dimensionless":
            return {"percentage": "percent"}.get(unit.name)
        return ent

    def pick(candidates):
        ok = [(entity_rank.get(u.entity.name, 99), len(u.name), u.name, u) for u in candidates if family(u)]
        if not ok:
            return None
        u = min(ok, key=lambda t: t[:3])[3]
        return [table["unit_names"].get(u.name, u.name), family(u)]

    names = {surface: pick(c) for surface, c in units.surfaces_lower.items()
             if surface not in skip_surfaces and len(surface) >= 2}
    symbols = {symbol: pick(c) for symbol, c in units.symbols.items() if symbol not in skip_surfaces}
    glued = {symbol: pick(c) for symbol, c in units.symbols.items()}
    return {"_comment": f"Generated by training/build_unit_lexicon.py from quantulum3 {quantulum3.__version__} "
                        "(MIT licence, https://github.com/nielstron/quantulum3); do not edit by hand.",
            "names": dict(sorted((k, v) for k, v in names.items() if v)),
            "symbols": dict(sorted((k, v) for k, v in symbols.items() if v)),
            "glued": dict(sorted((k, v) for k, v in glued.items() if v))}


# "3,000", "12,34,567.89" (Indian lakh grouping), "1.5"
_NUM = r"(?:\d{1,3}(?:,\d{3})+|\d{1,2}(?:,\d{2})+,\d{3}|\d+)(?:\.\d+)?"
# scientific notation written in one word: "4e14", "9.83e-3", "5.5x10-3", "3×10^8"
_SCIENTIFIC = re.compile(r"^(\d+(?:\.\d+)?)(?:[eE]|[x×]10\^?)([-−+]?\d{1,3})$")
# a currency code written onto the digits: "USD115.5"
_CODE_GLUED = re.compile(r"^([A-Z]{3})(" + _NUM + r")$")
# one word: "3,000", "1.5", "10-15" (a range), "2½", "200lbs", "3-inch", "24703m2", "12,000-strong", "3k"
_DIGITS_WORD = re.compile(r"^(" + _NUM + r")(?:[-–](" + _NUM + r"))?([½¼¾⅓⅔⅛]?)(?:-?([A-Za-z°µμ][A-Za-z°µμ/-]*\d?))?$")
_VULGAR = {"½": 0.5, "¼": 0.25, "¾": 0.75, "⅓": 1 / 3, "⅔": 2 / 3, "⅛": 0.125}
# "n/d" with d over 10 is a fraction only for these (inches, months, percentages) or before "of" ("7/12 of"); else it
# is a date or a name ("9/11", "24/7")
_FRACTION_DENOMINATORS = frozenset({12, 16, 32, 64, 100})
_FRACTION = re.compile(r"^(\d+)/(\d+)$")
_ORDINAL = re.compile(r"^\d+(st|nd|rd|th)$", re.I)
_TIME = re.compile(r"\b\d{1,2}:\d{2}\b|\b\d{1,2}(?:\s?[ap]\.?m\.?)(?!\w)", re.I)
_PHONE = re.compile(r"\+?\d[\d\s().-]{8,}\d")
_DATE_NUMERIC = re.compile(r"\b\d{1,4}[/.-]\d{1,2}[/.-]\d{1,4}\b")


def _number_at(words, i, table) -> tuple[float, int, dict] | None:
    """(value, last word index, info) of a number written at word i. info: 'glued' (a unit written onto the
    digits: '200lbs', '3-inch', 'six-mile'), 'spelled', 'high' (the top of a one-word range '10-15'),
    'money_scale' (a glued m / b / t that means million / billion / trillion after a currency sign),
    'needs_unit' (a bare fraction), 'sign_word' (the index of a word before the digits that belongs to the number:
    a minus sign, or the point of '.25')."""
    w = words[i].text
    info = {"glued": None, "spelled": False, "high": None, "money_scale": None, "needs_unit": False,
            "bare_fraction": False, "sign_word": None}
    if _is_word_number(words, i, table):
        return _word_number_at(words, i, table, info)
    if w in _VULGAR:
        return _VULGAR[w], i, dict(info, needs_unit=True, bare_fraction=True)
    digits = _digits_at(words, i, table, info)
    if digits is None:
        return None
    value, glued, j = digits
    if i > 0 and words[i - 1].text in ("-", "−") and words[i - 1].end == words[i].start and \
            (i == 1 or words[i - 2].end < words[i - 1].start or words[i - 2].text in table["currency_prefixes"]):
        value, info["sign_word"] = -value, i - 1  # "-5 degrees", "$-99.99"
    if glued:
        read = _glued_letters(words, i, j, value, glued, info, table)
        if read is None:
            return None
        value, info = read
    read = _fraction_after(words, i, j, value, glued, info, table)
    if read is None:
        return None
    value, j, info = read
    while j + 1 < len(words) and words[j + 1].text.lower() in table["scales"] and not info["glued"] and \
            len(words[j + 1].text) > 2:
        value *= table["scales"][words[j + 1].text.lower()]
        if info["high"] is not None:
            info["high"] *= table["scales"][words[j + 1].text.lower()]
        j += 1
    return _and_a_half(words, value, j, info)


def _is_word_number(words, i, table) -> bool:
    """A number written in words at word i: "twenty-one", "six-mile", "half", "ninety", "a dozen"."""
    low = words[i].text.lower()
    spelled = table["spelled"]
    return ("-" in low and low.split("-")[0] in spelled) or low in table["fraction_words"] or low in spelled or \
        (low == "a" and i + 1 < len(words) and words[i + 1].text.lower() in table["a_quantity"])


def _word_number_at(words, i, table, info) -> tuple[float, int, dict] | None:
    """_number_at for a number written in words."""
    w = words[i].text
    low = w.lower()
    spelled = table["spelled"]
    if "-" in low and low.split("-")[0] in spelled:  # twenty-one, six-mile, two-year-old
        parts = low.split("-")
        if len(parts) >= 2 and parts[1] in spelled and spelled[parts[0]] >= 20 and spelled[parts[1]] < 10:
            value, rest = float(spelled[parts[0]] + spelled[parts[1]]), w.split("-")[2:]
        else:
            value, rest = float(spelled[parts[0]]), w.split("-")[1:]
        info["spelled"] = True
        info["glued"] = "-".join(rest) or None
        if info["glued"] and info["glued"].lower() in table["fraction_words"]:  # "two-thirds": _fraction_at
            return None
        return _glued_extras(value, i, info, table)
    if low in table["fraction_words"]:  # "half a million", "a quarter billion"
        k = i + 2 if i + 2 < len(words) and words[i + 1].text.lower() == "a" else i + 1
        scale = words[k].text.lower() if k < len(words) else ""
        if scale in table["scales"] and len(scale) > 2 and table["scales"][scale] >= 1e6:
            return table["scales"][scale] / table["fraction_words"][low], k, dict(info, spelled=True)
        if scale == "dozen" and low == "half" and k == i + 2:  # "half a dozen advisers" are six
            return 6.0, k, dict(info, spelled=True)
        return None
    got = _spelled_number(words, i, table)
    if got:
        value, j, _ = got
        return _and_a_half(words, value, j, dict(info, spelled=True))
    return None


def _digits_at(words, i, table, info) -> tuple[float, str | None, int] | None:
    """(value, letters glued on, last word) of a number written in digits at word i: scientific notation, a
    currency code glued on ("USD115.5"), separators, a one-word range ("10-15", its top in info['high']), a
    decimal without its zero (".25"), a power of ten written after it, thousands grouped by spaces ("10 000")."""
    w = words[i].text
    sci = _SCIENTIFIC.match(w)
    if sci and abs(int(sci.group(2).replace("−", "-"))) > 300:
        return None  # "5e400" is no quantity (and no float)
    coded = None if sci else _CODE_GLUED.match(w)
    if sci:
        return float(sci.group(1)) * 10.0 ** int(sci.group(2).replace("−", "-")), None, i
    if coded and coded.group(1) in table["currency_prefixes"]:  # "USD115.5"
        info["currency"] = tuple(table["currency_prefixes"][coded.group(1)])
        return float(coded.group(2).replace(",", "")), None, i
    m = _DIGITS_WORD.match(w)
    if not m:
        return None
    if i > 1 and words[i - 1].text == "/" and words[i - 1].start == words[i - 2].end == words[i].start - 1 \
            and words[i - 2].text[-1:].isdigit():
        return None  # the second half of "9/11" or "24/7": read (or refused) with the first
    value = float(m.group(1).replace(",", "")) + _VULGAR.get(m.group(3), 0.0)
    if m.group(2):
        info["high"] = float(m.group(2).replace(",", ""))
    glued, j = m.group(4), i
    if i > 0 and words[i - 1].text == "." and words[i - 1].end == words[i].start and \
            (i == 1 or words[i - 2].end < words[i - 1].start or not words[i - 2].text[-1:].isalnum()) and \
            m.group(1).isdigit() and not m.group(2):
        # a decimal written without its zero, which the word splitter sets apart: ".25 percent", ".357 caliber",
        # "(18-11;.621)"
        value, info["sign_word"] = float("0." + m.group(1)), i - 1
    power = _times_ten_power(words, i) if not glued else None
    if power:  # "2.48×10−5", "3 x 10^8"
        value, j = value * 10.0 ** power[0], power[1]
    elif not glued and not m.group(2) and re.fullmatch(r"\d{1,3}", w):
        while j + 1 < len(words) and re.fullmatch(r"\d{3}", words[j + 1].text) and \
                words[j + 1].start == words[j].end + 1 and \
                not (j + 2 < len(words) and words[j + 2].text == "/"):
            value, j = value * 1000 + float(words[j + 1].text), j + 1  # "10 000": a space groups thousands
    return value, glued, j


def _glued_letters(words, i, j, value, glued, info, table) -> tuple[float, dict] | None:
    """(value, info) after the letters written onto the digits: a scale ("3k"), a unit kept in info['glued'];
    None when they make the number no figure (an ordinal "3rd", a network "5G", a name "7-Eleven")."""
    g = glued.lower()
    if g in table["glued_scales"]:
        return value * table["glued_scales"][g], info
    if re.fullmatch(r"(st|nd|rd|th)(-.+)?", g):
        return None  # an ordinal: "3rd", "15th-ranked", "the 11th-hour deal"
    if glued in table["glued_not_figures"]:
        return None  # "5G", "4G": network generations
    if glued[:1].isupper() and g in table["spelled"] and words[i].text.endswith("-" + glued):
        return None  # "7-Eleven": a name
    info["glued"] = glued
    if g in table["money_scales"]:
        info["money_scale"] = g
    got = _glued_extras(value, j, info, table)
    return got[0], got[2]


def _fraction_after(words, i, j, value, glued, info, table) -> tuple[float, int, dict] | None:
    """"2 1/2", and a bare "1/4" (split_words splits "1/2" into 1 / 2); a unit may be written onto the denominator
    ("3 1/2-inch", "5/16-inch"). None for a date or a name written with a slash ("9/11", "24/7")."""
    mixed = _denominator(words, j + 3) if j + 3 < len(words) and not glued else None
    bare = _denominator(words, j + 2) if j + 2 < len(words) and not glued else None
    fraction_unit = None
    if mixed and words[j + 2].text == "/" and words[j + 1].text.isdigit() and \
            words[j + 1].start == words[j].end + 1 and words[j + 2].start == words[j + 1].end and \
            words[j + 3].start == words[j + 2].end and 0 < int(words[j + 1].text) < mixed[0]:
        value += int(words[j + 1].text) / mixed[0]
        j += 3
        fraction_unit = mixed[1]
    elif bare and words[j + 1].text == "/" and words[j + 1].start == words[j].end and \
            words[j + 2].start == words[j + 1].end and (i == 0 or words[i - 1].text != "/"):
        if not (0 < value < bare[0] and (bare[0] <= 10 or bare[0] in _FRACTION_DENOMINATORS or
                                         j + 3 < len(words) and words[j + 3].text.lower() == "of")):
            return None  # "9/11", "on 7/7", "24/7": a date or a name, not a fraction
        value, j = value / bare[0], j + 2
        fraction_unit = bare[1]
        info["needs_unit"] = info["bare_fraction"] = not fraction_unit
    elif j + 1 < len(words) and words[j + 1].text in _VULGAR and words[j + 1].start == words[j].end + 1:
        value, j = value + _VULGAR[words[j + 1].text], j + 1
    if fraction_unit:  # read as if written onto the whole number: "3.5-inch"
        info["glued"] = fraction_unit
        value, _, info = _glued_extras(value, j, info, table)
    return value, j, info


_DENOMINATOR = re.compile(r"(\d+)(?:-([A-Za-z][A-Za-z-]*))?")


def _denominator(words, k) -> tuple[int, str | None] | None:
    """Word k as a fraction's denominator: (number, a unit written onto it or None); None if it is neither."""
    m = _DENOMINATOR.fullmatch(words[k].text)
    return (int(m.group(1)), m.group(2)) if m else None


def _glued_extras(value, j, info, table) -> tuple[float, int, dict]:
    """What the letters written onto a number add to it: a scale ('$3million', 'one-million dollars', a
    '5-million-dollar fine'), a height in feet and inches ('6-foot-9', 'six-foot-five' are 6.75 and 6.4167 feet)
    and an open top ('three-plus seasons', '20-plus years': more than the number)."""
    glued = info["glued"]
    if not glued:
        return value, j, info
    g = glued.lower()
    head = g.split("-")[0]
    if head in table["scales"] and len(head) > 2:
        mult = table["scales"][head]
        glued = glued[len(head) + 1:] or None
        info = dict(info, glued=glued, high=info["high"] * mult if info.get("high") is not None else None)
        value *= mult
        if not glued:
            return value, j, info
        g = glued.lower()
    height = re.fullmatch(r"(foot|feet|ft)-(\w+?)(?:-inch(?:es)?)?", g)
    inches = None
    if height:
        inches = int(height.group(2)) if height.group(2).isdigit() else table["spelled"].get(height.group(2))
    if inches is not None and 0 <= inches < 12:
        return value + inches / 12, j, dict(info, glued="foot")
    if g == "plus" or g.startswith("plus-"):
        return value, j, dict(info, glued=glued[5:] or None, plus=True)
    if g == "and-a-half" or g.startswith("and-a-half-"):  # "two-and-a-half years", "a 2-and-a-half-hour wait"
        return value + 0.5, j, dict(info, glued=glued[11:] or None)
    if g.split("-")[0] in table["glued_function_words"]:
        return value, j, dict(info, glued=None, no_unit=True)  # "a 3-to-1 margin", "one-on-one": no unit
    return value, j, info


def _times_ten_power(words, i) -> tuple[int, int] | None:
    """(exponent, last word) of '×10−5' / 'x10^8' / '× 10^8' written after the number at word i."""
    k = i + 1
    if k + 1 >= len(words) or words[k].text not in ("×", "x", "X") or words[k + 1].text != "10":
        return None
    k += 2
    if k < len(words) and words[k].text == "^":
        k += 1
    sign = 1
    if k < len(words) and words[k].text in ("-", "−", "+") and words[k].start == words[k - 1].end:
        sign, k = (-1 if words[k].text != "+" else 1), k + 1
    if k < len(words) and words[k].text.isdigit() and int(words[k].text) <= 300 and \
            words[k].start == words[k - 1].end:  # a float holds up to about 10^308
        return sign * int(words[k].text), k
    return None


def _and_a_half(words, value, j, info):
    """'two and a half' → 2.5."""
    if j + 3 < len(words) and [w.text.lower() for w in words[j + 1:j + 4]] == ["and", "a", "half"]:
        return value + 0.5, j + 3, info
    return value, j, info


def _spelled_number(words, i, table):
    spelled, scales = table["spelled"], table["scales"]
    total, current, j, seen = 0.0, 0.0, i, False
    k = i
    while k < len(words):
        low = words[k].text.lower()
        if low == "a" and k == i:
            current = 1.0
        elif low in spelled:
            v = spelled[low]
            if k == i + 1 and words[i].text.lower() == "a":
                current = float(v)  # "a dozen" is 12, "a hundred" 100
            elif v == 100:
                current = (current or 1.0) * 100
            elif v < 100 and current % 100 >= 10 and v < 10 and current % 10 == 0:
                current += v  # "ninety five"
            elif seen and v < 100 and current % 1000 != 0 and not (current % 100 == 0 and current):
                break
            else:
                current += v
            seen = True
        elif low in scales and len(low) > 2 and (seen or current):
            total += (current or 1.0) * scales[low]
            current = 0.0
            seen = True
        elif low in ("and", "-") and seen and k + 1 < len(words) and words[k + 1].text.lower() in spelled:
            k += 1
            continue
        else:
            break
        j = k
        k += 1
    if not seen:
        return None
    value = total + current
    return value, j, {"glued": None, "spelled": True}


def _unit_from(words, j, table, lexicon, allow_symbols: bool):
    """(unit, family, last word index) of a unit right after word j: a currency written after the number ('10 $',
    '20 usd'), the longest unit name of up to four words ('kilometres per hour', 'degrees Celsius'), else a
    symbol ('930,000 mi', '4 L' only when glued). A hyphen between number and unit is allowed ('30 - year')."""
    names, symbols, _ = lexicon
    hyphens = ("-", "‑")
    if j + 2 < len(words) and words[j + 1].text in hyphens and words[j + 2].text not in hyphens:
        got = _unit_from(words, j + 1, table, lexicon, allow_symbols)  # one hyphen: a run of them is a rule line
        if got:
            return got
    if j + 1 < len(words):
        cur = table["currency_prefixes"]
        nxt = words[j + 1].text
        # the sign of "thousands of $12" and "nine $2,500 donations" is the next number's
        prefixes_next = j + 2 < len(words) and words[j + 2].text[:1].isdigit() and (
            words[j].text.lower() == "of" or (not nxt.isalpha() and words[j + 1].end == words[j + 2].start))
        for key in (nxt, nxt.upper()):
            if key in cur and (not key.isalpha() or key.isupper()) and not prefixes_next:
                return cur[key][0], cur[key][1], j + 1  # "10 $", "10 rmb"
    for n in (4, 3, 2, 1):
        if j + n >= len(words):
            continue
        phrase = " ".join(w.text for w in words[j + 1:j + 1 + n])
        low = phrase.lower().replace(" / ", "/")
        if low in table["units_extra"]:
            unit, fam = table["units_extra"][low]
            return unit, fam, j + n
        if low in names:
            unit, fam = names[low]
            return unit, fam, j + n
    for n in (2, 1):
        if j + n >= len(words):
            continue
        sym = "".join(w.text for w in words[j + 1:j + 1 + n]) if n == 1 else \
            " ".join(w.text for w in words[j + 1:j + 1 + n])
        if sym in ("°", "º") and j + 2 < len(words) and words[j + 2].text in ("C", "F", "c", "f"):
            return ("degree Celsius" if words[j + 2].text in "Cc" else "degree fahrenheit"), "temperature", j + 2
        sup = sym[:-1] + {"2": "²", "3": "³"}.get(sym[-1:], sym[-1:]) if sym else sym  # "km2" is km²
        for key in (sym, sup):
            if key in symbols and (allow_symbols or len(key) >= 2) and key.lower() not in table["count_not_unit"] \
                    and key not in table["symbols_need_glue"]:
                unit, fam = symbols[key]
                return unit, fam, j + n
        powered = _powered_unit(sym, symbols)
        if powered:
            return powered[0], powered[1], j + n
    return None


_POWERS = {"2": ("square", "area"), "²": ("square", "area"), "3": ("cubic", "volume"), "³": ("cubic", "volume")}


def _power_after(words, last, e) -> tuple[str, str, int] | None:
    """('cubic', 'volume', last word) of a power written after a length unit: 'km^3', 'km cubed', 'm squared'."""
    if last + 2 < e and words[last + 1].text == "^" and words[last + 2].text in ("2", "3") and \
            words[last + 1].start == words[last].end:
        return (*_POWERS[words[last + 2].text], last + 2)
    if last + 1 < e and words[last + 1].text.lower() in ("squared", "cubed"):
        return (*_POWERS["2" if words[last + 1].text.lower() == "squared" else "3"], last + 1)
    return None


def _unit_symbol_apart(text, words, j, s, e, table, lexicon) -> tuple[str, str, int] | None:
    """A unit symbol written apart from the number that the plain lookup leaves alone because it is ambiguous,
    read where the context settles it:
    - in brackets, as tables write it: '20 (kg)', '20 [kg]';
    - 'in' for inches at the end of a clause, before a dimension ('2 1/2 in thick') or after feet ('6 ft 2 in');
    - 'm' for metres unless a plural noun follows ('1.5 m people' is millions);
    - 'C' for degrees Celsius ('30 C outside');
    - an unpaired double quote for inches ('a 9" plate', but not the closing quote of '"we won 10"')."""
    names, symbols, _ = lexicon
    if j + 1 >= e:
        return None
    nxt = words[j + 1].text
    after = words[j + 2].text if j + 2 < e else ""
    if nxt in ("(", "[", "{", "<") and j + 3 < e and words[j + 3].text in (")", "]", "}", ">"):
        inner = words[j + 2].text
        got = symbols.get(inner) or names.get(inner.lower()) or table["units_extra"].get(inner.lower())
        if got and got[1] not in ("count", "duration"):
            return got[0], got[1], j + 3
        return None
    if nxt == "in":
        feet_before = j >= 2 and words[j - 1].text.lower() in ("ft", "feet", "foot", "'")
        if feet_before or after in ("", ".", ",", ";", ")") or after.lower() in table["dimension_adjectives"]:
            return "inch", "length", j + 1
        return None
    if nxt == "m":
        if after and (_is_plural_noun(after.lower(), table) or after.lower() in table["units_extra"]):
            return None
        return "metre", "length", j + 1
    if nxt == "C" and not after[:1].isupper():
        return "degree Celsius", "temperature", j + 1
    if nxt in ('"', "″"):
        start = words[s].start if s < len(words) else 0
        end = words[e - 1].end if e - 1 < len(words) else len(text)
        before, rest = text[start:words[j + 1].start], text[words[j + 1].end:end]
        if nxt == "″" or (before.count('"') % 2 == 0 and '"' not in rest):
            return "inch", "length", j + 1
    return None


def _powered_unit(symbol: str, symbols: dict) -> tuple[str, str] | None:
    """'km2', 'km²', 'm3': the square or cube of a length symbol (the lexicon names few of them)."""
    base, power = symbol[:-1], symbol[-1:]
    if power in _POWERS and base in symbols and symbols[base][1] == "length":
        word, family = _POWERS[power]
        return f"{word} {symbols[base][0]}", family
    return None


def _is_plural_noun(low: str, table) -> bool:
    """A lower-case word that can be a counted noun in the plural ('troops', 'people'), not a verb like 'was', an
    adjective like 'famous' or a singular like 'basis' or 'virus'."""
    return low not in table["count_not_unit"] and (low in table["irregular_plurals"] or (
        low.endswith("s") and not low.endswith(("ss", "us", "sis")) and len(low) > 2))


def _rate_after(words, last, e, table, lexicon):
    """(' per <unit>', last word) for '$70 a barrel', '$15.4/hour', '15 % per annum', '$350 per kg'."""
    if last + 2 < e and words[last + 1].text.lower() in ("a", "an", "per", "/"):
        nxt = words[last + 2].text
        low = nxt.lower()
        if last + 3 < e and words[last + 3].text.lower() in ("earlier", "ago", "before", "later", "after"):
            return None  # "$1.17 billion a year earlier" is not a rate
        if low in table["rate_denominators"]:
            return " per " + table["rate_denominators"][low], last + 2
        names, symbols, _ = lexicon
        got = names.get(low) or table["units_extra"].get(low) or symbols.get(nxt)
        if got and got[1] not in ("count",) and not got[1].startswith("money"):
            return " per " + got[0], last + 2
    return None


def _currency_before(words, i, s, table):
    """(currency unit, family, first word index) of a currency written before the number at word i: '$', 'US$',
    'HK $', 'Y=', 'C$', 'rmb 10', 'nzd$15'."""
    cur = table["currency_prefixes"]
    scaled = _scaled_currency(words[i - 1].text, table) if i - 1 >= s else None
    if scaled:  # "MAUD 60"
        return scaled[0], scaled[1], i - 1, scaled[2]
    for n in (3, 2, 1):
        if i - n < s:
            continue
        ws = words[i - n:i]
        spaced = any(ws[m].end != ws[m + 1].start for m in range(len(ws) - 1))
        if spaced and not (n == 2 and ws[0].text.isalpha() and ws[1].text == "$" and
                           (len(ws[0].text) >= 2 or ws[0].text in "CcRS")):
            continue  # only "HK $" / "us $" / "c $" may carry a space
        glued = "".join(w.text for w in ws)
        for key in (glued, glued.upper()):
            if key in cur and (key == glued or n > 1 or len(key) == 3):
                return cur[key][0], cur[key][1], i - n, 1.0
    return None


def _scaled_currency(word: str, table) -> tuple[str, str, float] | None:
    """(unit, family, multiplier) of a currency code with a scale letter, as business reports write millions:
    'MUSD', 'MEUR', 'MSEK' (million), 'BUSD' (billion), 'KSEK' / 'kEUR' (thousand)."""
    if len(word) == 4 and word[0] in table["currency_code_scales"] and word[1:] in table["currency_prefixes"] and \
            word[1:].isupper():
        unit, fam = table["currency_prefixes"][word[1:]]
        return unit, fam, table["currency_code_scales"][word[0]]
    return None


def _measure_follows(words, j, table) -> bool:
    """A percent sign or word, a currency or a unit of measure right after word j."""
    if j + 1 >= len(words):
        return False
    nxt = words[j + 1].text
    low = nxt.lower()
    extra = table["units_extra"].get(low)
    symbol = unit_lexicon()[1].get(nxt)
    return nxt in ("%",) or (extra is not None and extra[1] != "duration") or \
        nxt in table["currency_prefixes"] or low in unit_lexicon()[0] or \
        (symbol is not None and len(nxt) >= 2 and symbol[1] not in ("count", "duration"))


def _title_case(words, s, i) -> bool:
    """The sentence up to word i reads as a title-case headline ('Explosion Kills Three In Kabul')."""
    alpha = [w.text for w in words[s:i] if w.text.isalpha() and len(w.text) > 3]
    return bool(alpha) and sum(w[0].isupper() for w in alpha) >= 0.6 * len(alpha)


def _is_not_a_figure(words, i, j, value, text, s, info, table) -> bool:
    raw = words[i].text
    prev = words[i - 1].text if i > s else ""
    nxt = words[j + 1].text if j + 1 < len(words) else ""
    low_prev, low_next = prev.lower(), nxt.lower()
    if _ORDINAL.match(raw):
        return True
    prev2 = words[i - 2].text.lower() if i >= 2 else ""
    day_or_year = float(value).is_integer() and (1 <= value <= 31 or 1000 <= value <= 2100)
    if (day_or_year and (low_prev in table["months"] or low_next in table["months"])) or \
            low_next in ("st", "nd", "rd", "th") or \
            (i >= 1 and words[i - 1].text == "." and prev2 in table["months"]):  # "Sept. 30"
        return True
    if info.get("year_like") is not False and re.fullmatch(r"\d{4}", raw) and 1800 <= value <= 2100:
        return True
    span = re.fullmatch(r"(\d{4})[-–](\d{2}|\d{4})", raw)
    if span and 1800 <= int(span.group(1)) <= 2100 and not _measure_follows(words, j, table) and (
            len(span.group(2)) == 2 or (int(span.group(1)) < int(span.group(2)) <= 2100 and
                                        not _is_plural_noun(low_next, table))):
        return True  # a span of years: "the 2003-04 season", "the 1990-91 recession", "the war of 1939-1945"
    if re.fullmatch(r"\d{4}s|'\d0s", raw) or (re.fullmatch(r"\d0s", raw) and prev in ("'", "’") and
                                             words[i - 1].end == words[i].start):
        return True  # a decade: "the 1990s", "the early '80s" (not 80 seconds)
    window = text[max(0, words[i].start - 12):words[j].end + 12]
    if _TIME.search(text[max(0, words[i].start - 3):words[j].end + 6]) or _PHONE.search(window) or \
            _DATE_NUMERIC.search(text[max(0, words[i].start - 6):words[j].end + 6]):
        return True
    if prev == "(" and nxt == ")" and not info.get("glued"):
        return True  # page furniture: "Comments (2)"
    if nxt == ")" and (i == s or prev in (";", ":", ".")) and re.fullmatch(r"\d{1,2}", raw):
        return True  # a list marker: "1) ...; 2) ..."
    # a number inside a name: "Boeing 737", "Section 427", "Apollo 11", "No. 5", "#3" (but "Clinton 47.1 percent")
    named = prev.isalpha() and len(prev) > 1 and prev[:1].isupper() and not prev.isupper() and \
        low_prev not in table["capitalized_before_figures"] and low_prev not in table["currency_words"]
    if i > s and named and not info.get("spelled") and not _measure_follows(words, j, table):
        return True
    if prev in ("#", "No", "no") or (i - 2 >= s and words[i - 2].text in ("No", "no") and prev == "."):
        return True
    # a label's number ("wore number 10", a form's "Registration Number: 130349", not "the big number: 1,237") or
    # an identifier written with a leading zero ("licence 0108263", "0737 GMT")
    if low_prev == "number" or (prev == ":" and i - 2 >= s and words[i - 2].text in ("Number", "No", "ID", "Nr")) \
            or re.fullmatch(r"0\d{2,}", raw):
        return True
    if (re.fullmatch(r"[1-9]0s", raw) or (low_next in ("'s", "’s") and re.fullmatch(r"[1-9]0|1[89]\d0|20\d0", raw))) \
            and low_prev in table["decade_before"]:
        return True  # a decade of life or of a century: "in her 20s", "the late 90s", "the 80's"
    if low_next in ("o'clock", "o’clock"):
        return True  # a time: "by 6 o'clock"
    if re.fullmatch(r"\d{3}-\d{4}", raw) and not _measure_follows(words, j, table) and \
            not _is_plural_noun(low_next, table):
        return True  # a local telephone number: "call Sgt. La Croix at 745-4811" (not "100-1000 people")
    emergency = table["emergency_numbers"]
    if raw in emergency["numbers"] and (low_prev in emergency["after"] or low_next in emergency["before"]):
        return True  # a telephone number: "the 911 call", "she called 999" (not "911 people", "112 tests")
    if info.get("spelled") and raw[:1].isupper() and i > s and prev.isalnum() and not _title_case(words, s, i) and \
            not _measure_follows(words, j, table):
        return True  # a spelled number in a name: "the 1967 Six-Day War", "BBC One", "Formula One"
    if raw.lower() == "one" and low_prev in table["one_is_a_pronoun_after"] and low_next != "of" and \
            not _measure_follows(words, j, table):
        return True  # the pronoun: "the one who fired", "the last one", "no one" (nobody: not a count of one)
    return False


def parse_figures(text: str, words: Sequence, sentences: Sequence[tuple[int, int]] | None = None,
                  is_entity_word=lambda k: False) -> list[Figure]:
    """Every figure in text (words = split_words(text); sentences = word spans, default one span)."""
    table = words_table()
    lexicon = unit_lexicon()
    if sentences is None:
        sentences = [(0, len(words))]
    figures: list[Figure] = []
    for s, e in sentences:
        sentence = _Sentence(text, words, s, e, table, lexicon, is_entity_word)
        k = s
        while k < e:
            floor = figures[-1].word_end if figures else 0
            fig = _figure_at(sentence, k, floor)
            if fig is None:
                k += 1
                continue
            if isinstance(fig, int):  # not a figure; skip its words
                k = fig + 1
                continue
            figures.append(fig)
            k = fig.word_end
    return _merge_unit_ranges(words, figures, table)


def _merge_unit_ranges(words, figures: list[Figure], table) -> list[Figure]:
    """Figures that read as one, or that share a unit written once:
    - '3 dollars 50 cents', '15 dollars 50': one amount;
    - '44 mg to 50 mg', '$5m-$7m', 'between 44 mg and 50 mg', 'ranged from -18 °C to -34 °C': one range (not a
      plain 'from … to': "rose from 3% to 5%" is a change);
    - '45 and 50 mg', '10 or 20 km': the bare first number takes the unit written after the second;
    - '2,000.45 ± 0.01 pounds': the tolerance is not a figure of its own."""
    out: list[Figure] = []
    range_verbs = table["range_verbs"]
    for f in figures:
        prev = out[-1] if out else None
        between = [w.text.lower() for w in words[prev.word_end:f.number_start]] if prev else []
        # "3 dollars 50 cents", "thirteen dollars and forty-five cents", "15 dollars 50": one amount
        if prev is not None and prev.unit_family and prev.unit_family.startswith("money:") and \
                prev.unit not in ("cent", "penny") and prev.value_high is None and between in ([], ["and"]) and \
                float(prev.value).is_integer() and \
                f.value is not None and 0 < f.value < 100 and float(f.value).is_integer() and \
                (f.unit in ("cent", "penny") or (f.unit is None and f.unit_family == "count")):
            out[-1] = replace(prev, end=f.end, word_end=f.word_end, value=prev.value + f.value / 100)
            continue
        if prev is None or f.value is None or prev.value is None or prev.value_high is not None or \
                f.value_high is not None:
            out.append(f)
            continue
        measured = f.unit_family not in (None, "count", "fraction")
        # no unit of its own, or only the noun that the next figure has: "27 and 29 years old"
        bare = (prev.unit is None and prev.unit_family == "count") or \
            (prev.unit_word is not None and prev.unit_word >= f.number_start)
        if measured and bare and between in (["±"], ["+", "/", "-"], ["+/-"]):
            out[-1] = replace(prev, end=f.end, word_end=f.word_end, unit=f.unit, unit_family=f.unit_family,
                          unit_word=None)
            continue  # "2,000.45 ± 0.01 pounds"
        b = prev.number_start - 1
        if b >= 0 and words[b].text in ("-", "−") and words[b].end == words[prev.number_start].start:
            b -= 1  # the minus sign of "-18 °C"
        before = words[b].text.lower() if b >= 0 else ""
        before2 = words[b - 1].text.lower() if b >= 1 else ""
        ranged = (before == "between" and between[:1] == ["and"]) or \
            (before == "from" and before2 in range_verbs and between[:1] == ["to"]) or \
            (before != "from" and between[:1] in (["to"], ["-"], ["–"]) and
             (f.value > prev.value or f.value < 0 > prev.value))  # "-5 to -10 degrees" goes down
        if ranged and len(between) <= 2 and bare and measured:
            prev = replace(prev, unit=f.unit, unit_family=f.unit_family, unit_word=None)  # "between 44 and 50 mg"
        if ranged and len(between) <= 2 and prev.unit == f.unit and prev.unit_family == f.unit_family and \
                prev.unit_family != "count":
            low, high = min(prev.value, f.value), max(prev.value, f.value)
            out[-1] = replace(prev, end=f.end, word_end=f.word_end, value=low, value_low=low, value_high=high)
            continue
        if measured and bare and between in (["and"], ["or"], [","]):
            out[-1] = replace(prev, unit=f.unit, unit_family=f.unit_family, unit_word=None)  # "45 and 50 mg"
        out.append(f)
    return out


def _fraction_at(words, k, e, table) -> tuple[float, int] | None:
    """(value, last word) of a spelled fraction at word k: 'two-thirds', 'one-half', 'one sixth', 'three halves',
    or before 'of': 'three quarters of', 'a third of', 'half of'. Not 'two quarters' alone (a count of quarters),
    nor 'a third party'."""
    denominators, spelled = table["fraction_words"], table["spelled"]
    low = words[k].text.lower()
    num, dash, den = low.partition("-")
    if dash and den in denominators and num in spelled and 0 < spelled[num] <= 20:
        return spelled[num] / denominators[den], k
    of_follows = k + 2 < e and words[k + 2].text.lower() == "of"
    if k + 1 < e and words[k + 1].text.lower() in denominators and of_follows:
        numerator = 1 if low in ("a", "one") else spelled.get(low) if low in spelled else None
        if numerator and numerator <= 20:
            return numerator / denominators[words[k + 1].text.lower()], k + 1
    den = words[k + 1].text.lower() if k + 1 < e else ""
    if den in denominators and low in spelled and low != "a" and 0 < spelled[low] <= 20 and \
            not den.startswith("quarter") and (spelled[low] == 1) != den.endswith("s"):
        return spelled[low] / denominators[den], k + 1  # "one sixth", "three halves" (numerator and number agree)
    if low == "half" and k + 1 < e and words[k + 1].text.lower() == "of" and \
            (k == 0 or words[k - 1].text.lower() not in table["half_of_not_a_share"]):
        return 0.5, k  # "half of the voters", not "the first half of the year"
    return None


@dataclass(frozen=True)
class _Sentence:
    """The sentence a figure is read in: its text and words, its word span [s, e) and the parser's tables."""
    text: str
    words: Sequence
    s: int
    e: int
    table: dict
    lexicon: tuple
    is_entity_word: Callable = lambda k: False

    def low(self, k: int) -> str:
        return self.words[k].text.lower()


@dataclass(frozen=True)
class _Form:
    """How a number was written, as far as its unit depends on it (_number_at's info, _figure_at's reading)."""
    vague: bool = False  # "tens of thousands", "several hundred"
    fraction: bool = False  # "two-thirds of", "1 in 4": a proportion, or a fraction of a unit
    currency: tuple | None = None  # (unit, family) of a currency written before the number
    glued: str | None = None  # letters written onto the digits: "200lbs", "12-cent-a-share"
    needs_unit: bool = False  # a figure only with a unit or a counted noun
    money_scale: str | None = None  # the m / bn glued after a currency sign: "$5m"
    bare_fraction: bool = False  # "1/40"
    spelled: bool = False
    plus: bool = False  # "three-plus seasons": more than the number
    no_unit: bool = False


def _figure_at(sn: _Sentence, k: int, floor: int = 0):
    """The figure whose number starts at word k: a Figure, the index of the last word of a number that is no
    figure (skipped), or None."""
    found = _vague_figure_at(sn, k)
    if found is not None:
        return found
    parsed = _number_at(sn.words, k, sn.table)
    if parsed is None:
        return None
    value, j, info = parsed
    if not math.isfinite(value) or abs(value) > 1e300:
        return j  # 400 digits in a row are no quantity
    if info["spelled"] and j == k and sn.low(k) in sn.table["spelled_needs_unit"]:
        info["needs_unit"] = True
    if _is_not_a_figure(sn.words, k, j, value, sn.text, sn.s, info, sn.table):
        return j
    value, first = _signed(sn, k, j, value, info, floor)
    currency, value, first = _currency_of(sn, first, value, info, floor)
    ratio = _one_in_n(sn.text, sn.words, k, j, value, sn.e, sn.table, info)
    if ratio is not None and not currency:  # "1 in 4 residents", "eight out of 10 voters": a proportion
        share, last = ratio
        return _finish(sn, first, k, last, share, None, None, sn.text[sn.words[first].start:sn.words[last].end],
                       _Form(fraction=True))
    low_value, high_value, j = _range_from(sn, first, j, value, info)
    return _finish(sn, first, k, j, low_value if low_value is not None else value, low_value, high_value, None,
                   _Form(currency=currency, glued=info.get("glued"), needs_unit=info.get("needs_unit", False),
                         bare_fraction=info.get("bare_fraction", False), spelled=info.get("spelled", False),
                         plus=info.get("plus", False), no_unit=info.get("no_unit", False),
                         money_scale=info.get("money_scale")))


def _vague_figure_at(sn: _Sentence, k: int) -> Figure | int | None:
    """A proportion or a vague magnitude at word k ("two-thirds of voters", "tens of thousands", "several
    hundred"), read as a whole; None when the words there are none of these."""
    words, e, table, low = sn.words, sn.e, sn.table, sn.low(k)
    vague = table["vague"]
    fraction = _fraction_at(words, k, e, table)
    if fraction:  # "two-thirds of voters": a proportion, not 2 "thirds"
        value, j = fraction
        return _finish(sn, k, k, j, value, None, None, " ".join(w.text for w in words[k:j + 1]), _Form(fraction=True))
    # vague magnitudes: "tens of thousands", "hundreds of", "dozens of", "millions of"
    if low in vague and k + 1 < e and sn.low(k + 1) == "of":
        lo_v, hi_v = vague[low]
        j = k + 1
        if j + 2 < e and sn.low(j + 1) in vague and sn.low(j + 2) == "of":
            mult = vague[sn.low(j + 1)][0]  # "tens of thousands of"
            lo_v, hi_v = lo_v * mult, hi_v * mult
            j += 2
        return _finish(sn, k, k, j, lo_v, lo_v, hi_v, " ".join(w.text for w in words[k:j]), _Form(vague=True))
    # "several hundred", "a few thousand", "several dozen": a vague count of a scale
    n = 2 if low == "a" and k + 1 < e and sn.low(k + 1) == "few" else 1
    if low in table["vague_counts"] or n == 2:
        few = table["vague_counts"].get(sn.low(k + n - 1))
        scale = sn.low(k + n) if k + n < e else ""
        if few and scale in table["a_quantity"]:
            mult = 12 if scale == "dozen" else table["scales"][scale]
            lo_v, hi_v = float(few[0] * mult), float(few[1] * mult)
            return _finish(sn, k, k, k + n, lo_v, lo_v, hi_v, " ".join(w.text for w in words[k:k + n + 1]),
                           _Form(vague=True))
    return None


def _signed(sn: _Sentence, k: int, j: int, value: float, info: dict, floor: int) -> tuple[float, int]:
    """(value, first word of the figure): the word "minus" before a lone figure is its sign."""
    first = info["sign_word"] if info.get("sign_word") is not None else k
    if first == k and value > 0 and info.get("high") is None and \
            _minus_sign_before(sn.words, k, sn.s, floor, sn.table) and \
            (_measure_follows(sn.words, j, sn.table) or _points_follow(sn.words, j, sn.e, sn.table) or
             count_noun_after(sn.words, j, sn.e, sn.table, sn.is_entity_word) is None):
        value, first = -value, k - 1  # "she is at minus 40", "minus 20 degrees"; not "the squad minus 3 players"
    return value, first


def _currency_of(sn: _Sentence, first: int, value: float, info: dict, floor: int):
    """(currency (unit, family) or None, value, first word): a currency written before the number, not one
    already read as the previous figure's unit ("10 rmb 20 usd"), else one glued on ("USD115")."""
    currency = _currency_before(sn.words, first, max(sn.s, floor), sn.table)
    if currency:
        unit, fam, first, mult = currency
        value *= mult
        if info.get("high") is not None:
            info["high"] *= mult
        return (unit, fam), value, first
    if info.get("currency"):  # "USD115"
        return tuple(info["currency"]), value, first
    return None, value, first


def _range_from(sn: _Sentence, first: int, j: int, value: float, info: dict) -> tuple:
    """(low, high, last word): the range a number opens ("10-15", "$200,000 to $300,000", "between 5 and 7"),
    else (None, None, j)."""
    words, e, table = sn.words, sn.e, sn.table
    low_value = high_value = None
    if info.get("high") is not None and info["high"] > value:
        low_value, high_value = value, info["high"]
    r = j + 1
    if r + 1 < e and words[r].text == "-" and sn.low(r + 1) == "to":
        r += 1  # "8- to 16-meter"
    # "rose from 3% to 5%" is a change, "ranged from 3% to 5%" a range
    after_from = first - 1 >= sn.s and sn.low(first - 1) == "from" and \
        not (first - 2 >= sn.s and sn.low(first - 2) in table["range_verbs"])
    if high_value is None and not after_from and r + 1 < e and sn.low(r) in ("to", "-", "–", "and") \
            and (sn.low(r) != "and" or (first - 1 >= sn.s and sn.low(first - 1) == "between")):
        r2 = r + 1
        while r2 < min(e, r + 3) and not words[r2].text[:1].isdigit() and (
                not words[r2].text.isalnum() or (words[r2].text.isupper() and len(words[r2].text) <= 3)):
            r2 += 1  # the second number's own currency sign: "$200,000 to $300,000"
        second = _number_at(words, r2, table) if r2 < e else None
        if second and second[0] >= value and not _is_not_a_figure(words, r2, second[1], second[0], sn.text, sn.s,
                                                                      {"year_like": False}, table):
            low_value, high_value = value, second[0]
            if second[2].get("glued") and not info.get("glued"):
                info["glued"] = second[2]["glued"]  # "8- to 16-meter"
            # "1.5 to 2 million": the second number's scale applies to the first
            if sn.low(second[1]) in table["scales"] and second[1] > r2 and sn.low(j) not in table["scales"]:
                low_value = value * table["scales"][sn.low(second[1])]
            j = second[1]
    return low_value, high_value, j


def _points_follow(words, j, e, table) -> bool:
    """Points or a net tally after word j: "minus 4 points", "minus 3.5 percentage points", "minus 3 seats"."""
    nxt = words[j + 1].text.lower() if j + 1 < e else ""
    return nxt in table["points_words"] or any(p.split()[0] == nxt for p in table["points_phrases"])


def _minus_sign_before(words, k, s, floor, table) -> bool:
    """Whether the word "minus" before word k is the number's sign ("a net rating of minus 41", "Minus 40 degrees")
    rather than arithmetic ("ten minus 3") or a tolerance ("plus or minus 4 points")."""
    m = k - 1
    if m < max(s, floor) or words[m].text.lower() != "minus" or m == floor > s:
        return False  # right after the previous figure: "10 dollars minus 2 dollars"
    if m - 1 < s:
        return True
    before = words[m - 1].text.lower()
    return not (any(c.isdigit() for c in before) or before in table["spelled"] or
                before in table["minus_not_a_sign_after"])


def _one_in_n(text, words, k, j, value, e, table, info) -> tuple[float, int] | None:
    """(share, last word) of 'a in b' or 'a out of b' after the number at words k..j ('1 in 4 residents', 'eight
    out of 10'), when b is a larger plain number with no unit of its own ('1 in 10 minutes' is a duration)."""
    if info.get("glued") or info.get("high") is not None or not float(value).is_integer():
        return None
    r = j + 1
    if r < e and words[r].text.lower() == "in":
        r += 1
    elif r + 1 < e and words[r].text.lower() == "out" and words[r + 1].text.lower() == "of":
        r += 2
    else:
        return None
    if r < e and words[r].text.lower() == "every":  # "one in every 500 users"
        r += 1
    second = _number_at(words, r, table) if r < e else None
    if second is None or second[2].get("glued") or second[2].get("high") is not None or \
            not value < second[0] or second[0] < 2 or _measure_follows(words, second[1], table) or \
            _is_not_a_figure(words, r, second[1], second[0], text, r, {"year_like": None}, table):
        return None
    return value / second[0], second[1]


@dataclass
class _Reading:
    """A figure while _finish reads its unit: the values, the unit and its family, the last word taken, the
    letters glued onto the digits that are still to be read, and the counted noun."""
    value: float
    low: float | None
    high: float | None
    last: int
    glued: str | None
    unit: str | None = None
    fam: str | None = None
    unit_word: int | None = None

    def scale(self, mult: float) -> None:
        self.value, self.low, self.high = (x * mult if x is not None else None
                                           for x in (self.value, self.low, self.high))

    @property
    def unitless(self) -> bool:
        return self.unit is None and self.fam is None


def _finish(sn: _Sentence, first: int, k: int, j: int, value, low, high, value_text, form: _Form):
    """The figure whose number runs over words first..j (its digits start at k): its unit and family, what else
    it takes (a scale, a rate, "years old", a counted noun), its qualifier. The index j instead when the number is
    no figure after all (letters on digits that make a name, a bare number that needs a unit)."""
    r = _Reading(value, low, high, last=j, glued=form.glued, fam="count" if form.no_unit else None)
    _money_scale(sn, r, j, form)
    glued_rate = _glued_rate(sn, r)
    _glued_speed(sn, r, j)
    if r.glued and not _glued_unit(sn, r, k, form):
        return j  # letters on the digits that are no unit make a name: "the 76ers", "3D", "a 10U server"
    if form.currency:
        _currency_unit(sn, r, j, form.currency)
    if glued_rate and r.unit:
        r.unit += glued_rate
    if form.fraction:
        _fraction_unit(sn, r, j)
    _unit_after(sn, r, j, form)
    _age_of(sn, r, k)
    of_person = r.unitless and k == j and _age_between_commas(sn, k, j, r.value)
    if of_person:
        r.unit, r.fam = "year of age", "age"  # a person's age between commas: "Schiff, 56, who has served"
    _points_or_state(sn, r, j)
    if r.unitless and k - 1 >= sn.s and sn.low(k - 1) == "magnitude":
        r.unit, r.fam = "magnitude", "count"  # "a quake of magnitude 6.1", as "a 6.1 magnitude quake" reads
    if r.unitless and not _counted(sn, r, j, form):
        return j
    if r.unit and r.fam and r.fam != "count":
        rate = _rate_after(sn.words, r.last, sn.e, sn.table, sn.lexicon)
        if rate:
            r.unit, r.last = r.unit + rate[0], rate[1]
    qualifier, q_first = _qualifier(sn, first, form)
    words = sn.words
    if value_text is None:
        value_text = sn.text[words[first].start:words[j].end]
    return Figure(start=words[q_first].start, end=words[r.last].end, number_start=k, word_end=max(r.last, j) + 1,
                  value=r.value, value_low=r.low, value_high=r.high, value_text=value_text, unit=r.unit,
                  unit_family=r.fam, qualifier=qualifier, approximate=qualifier is not None or form.vague,
                  vague=form.vague, unit_word=r.unit_word, of_person=of_person)


def _money_scale(sn: _Sentence, r: _Reading, j: int, form: _Form) -> None:
    """A glued m / bn: millions of money after a currency sign ("$5m", "£2.1bn") or before a money unit ("1.8M
    dollars"), and millions of a counted noun ("1.5m people")."""
    if not form.money_scale:
        return
    mult = sn.table["money_scales"][form.money_scale]
    if form.currency:
        r.scale(mult)
        r.glued = None
    elif r.glued:
        after = _unit_from(sn.words, j, sn.table, sn.lexicon, allow_symbols=False)
        if after and after[1].startswith("money:"):  # "1.8M dollars"
            r.scale(mult)
            r.unit, r.fam, r.last = after
            r.glued = None
        elif j + 1 < sn.e and _is_plural_noun(sn.low(j + 1), sn.table):  # "1.5m people": millions
            r.scale(mult)
            r.glued = None


def _glued_rate(sn: _Sentence, r: _Reading) -> str | None:
    """' per share' of "a 12-cent-a-share dividend" (and "$400-million-a-year": a scale too), taken off the glued
    letters; a dimension adjective goes too ("a 5m-high wall")."""
    table = sn.table
    if r.glued and "-" in r.glued and r.glued.rsplit("-", 1)[1].lower() in table["dimension_adjectives"]:
        r.glued = r.glued.rsplit("-", 1)[0]  # "a 5m-high wall"
    per = re.fullmatch(r"(?:(.+?)-)?(?:a|an|per)-([a-z]+)", r.glued or "", re.I)
    if not (per and per.group(2).lower() in table["rate_denominators"]):
        return None
    r.glued, rate = per.group(1), " per " + table["rate_denominators"][per.group(2).lower()]
    if r.glued and r.glued.lower() in table["scales"]:  # "$400-million-a-year"
        r.scale(table["scales"][r.glued.lower()])
        r.glued = None
    return rate


def _glued_speed(sn: _Sentence, r: _Reading, j: int) -> None:
    """"150km/h": a rate written onto the digits across the slash."""
    words = sn.words
    if r.glued and j + 2 < sn.e and words[j + 1].text == "/" and words[j + 1].start == words[j].end and \
            words[j + 2].start == words[j + 1].end:
        rate = sn.lexicon[0].get(f"{r.glued}/{words[j + 2].text}".lower())
        if rate:
            r.unit, r.fam = rate
            r.last, r.glued = j + 2, None


def _glued_unit(sn: _Sentence, r: _Reading, k: int, form: _Form) -> bool:
    """The unit of the letters glued onto the digits ("200lbs", "-10C", "km2", "a 25-basis-point cut", "a
    12-year-old"); False when they are no unit and make a name."""
    table = sn.table
    names, _, glued_symbols = sn.lexicon
    glued = r.glued
    g = glued.lower()
    raw = sn.words[k].text
    attached = not form.spelled and raw.endswith(glued) and not raw[:-len(glued)].endswith(("-", "–"))
    sup = glued[:-1] + {"2": "²", "3": "³"}.get(glued[-1], glued[-1])  # "km2" is km²
    cur = table["currency_prefixes"].get(glued.upper()) if glued.isalpha() and len(glued) == 3 else None
    # "-10C" is a temperature (a glued lower-case "c" stays cents)
    got = table["glued_case_sensitive"].get(glued) or table["units_extra"].get(g) or glued_symbols.get(glued) \
        or glued_symbols.get(sup) or _powered_unit(glued, glued_symbols) or names.get(g) \
        or (tuple(cur) if cur else None)
    if got:
        r.unit, r.fam = got
    elif g.replace("-", " ") in table["points_phrases"]:  # "a 25-basis-point cut"
        r.unit, r.fam = g.replace("-", " "), "points"
    elif g in table["age_glued"]:
        r.unit, r.fam = "year of age", "age"
    elif g == "strong":
        pass  # "12,000-strong force of soldiers": the noun comes after
    elif attached and g not in ("x", "×"):
        return False
    else:
        r.unit, r.fam = g, "count"
    return True


def _currency_unit(sn: _Sentence, r: _Reading, j: int, currency: tuple) -> None:
    """A currency written before the number is the unit, and a scale word after it scales: "$3 billion"."""
    r.unit, r.fam = currency
    scale = sn.low(j + 1) if j + 1 < sn.e else ""
    if scale in sn.table["scales"] or scale in sn.table["money_scales"]:
        r.scale(sn.table["scales"].get(scale) or sn.table["money_scales"][scale])
        r.last = j + 1


def _fraction_unit(sn: _Sentence, r: _Reading, j: int) -> None:
    """A fraction of a unit ("one-half mile", "three-quarters of a mile"), else a proportion ("two-thirds of
    voters")."""
    words, table, lexicon = sn.words, sn.table, sn.lexicon
    got = _unit_from(words, j, table, lexicon, allow_symbols=False)
    if not got and j + 2 < sn.e and sn.low(j + 1) == "of" and sn.low(j + 2) in ("a", "an"):
        got = _unit_from(words, j + 2, table, lexicon, allow_symbols=False)
    r.unit, r.fam, r.last = got if got else (None, "fraction", j)


def _unit_after(sn: _Sentence, r: _Reading, j: int, form: _Form) -> None:
    """A unit written after the number: a scaled currency code ("30 MUSD"), a unit's name or a symbol set apart,
    a power of a length ("4 km cubed"), a money scale after the unit ("75 USD million")."""
    words, table = sn.words, sn.table
    scaled = _scaled_currency(words[j + 1].text, table) if r.unitless and j + 1 < sn.e else None
    if scaled:  # "30 MUSD"
        r.unit, r.fam, mult = scaled
        r.scale(mult)
        r.last = j + 1
    if r.unitless:
        got = _unit_from(words, j, table, sn.lexicon, allow_symbols=False) or \
            _unit_symbol_apart(sn.text, words, j, sn.s, sn.e, table, sn.lexicon)
        if got:
            r.unit, r.fam, r.last = got
            if r.unit == "pound-mass" and sn.low(j) in table["scales"]:
                r.unit, r.fam = "pound sterling", "money:GBP"  # "361 million pounds" is money
    if r.fam in ("length", "area") and r.unit and not r.unit.startswith(("square ", "cubic ")):
        power = _power_after(words, r.last, sn.e)
        if power:  # "4km^3", "4 km cubed"
            word, family, r.last = power
            r.unit, r.fam = f"{word} {r.unit}", family
    if r.fam and r.fam.startswith("money:") and not form.currency and r.last + 1 < sn.e and \
            sn.low(r.last + 1) in table["scales"] and sn.low(j) not in table["scales"]:
        r.scale(table["scales"][sn.low(r.last + 1)])  # "75 USD million"
        r.last += 1


def _age_of(sn: _Sentence, r: _Reading, k: int) -> None:
    """A duration that is an age ("28 years old", "28-year-old" as tokenized text, "13 years of age"), and a bare
    number after "aged" / "ages" ("aged 63", "between the ages of 17 and 20")."""
    last, e = r.last, sn.e
    if r.fam == "duration" and last + 1 < e and sn.low(last + 1) == "old":
        r.unit, r.fam, r.last = r.unit + " of age", "age", last + 1
    elif r.fam == "duration" and last + 2 < e and sn.words[last + 1].text == "-" and sn.low(last + 2) == "old":
        r.unit, r.fam, r.last = r.unit + " of age", "age", last + 2  # "28 - year - old" (tokenized text)
    elif r.fam == "duration" and last + 2 < e and sn.low(last + 1) == "of" and sn.low(last + 2) == "age":
        r.unit, r.fam, r.last = r.unit + " of age", "age", last + 2
    if r.unitless and k - 1 >= sn.s and (sn.low(k - 1) in ("aged", "age", "ages") or (
            k - 2 >= sn.s and sn.low(k - 1) == "of" and sn.low(k - 2) in ("age", "ages"))):
        r.unit, r.fam = "year of age", "age"  # "aged 63", "ages 16 to 24", "between the ages of 17 and 20"


def _age_between_commas(sn: _Sentence, k: int, j: int, value: float) -> bool:
    """"Schiff, 56, who has served": a person's age set off by commas after their name."""
    words = sn.words
    return k - 2 >= sn.s and words[k - 1].text == "," and sn.is_entity_word(k - 2) == "PER" and j + 1 < sn.e and \
        words[j + 1].text == "," and bool(re.fullmatch(r"\d{1,3}", words[k].text)) and 0 < value <= 120


def _points_or_state(sn: _Sentence, r: _Reading, j: int) -> None:
    """Points after the number ("4 percentage points", "3 seats") and people in a state ("58 killed and 527
    injured", "2,000 are missing")."""
    words, e, table = sn.words, sn.e, sn.table
    if r.unitless:
        if j + 2 < e and " ".join(w.text.lower() for w in words[j + 1:j + 3]) in table["points_phrases"]:
            r.unit, r.fam, r.last = " ".join(w.text.lower() for w in words[j + 1:j + 3]), "points", j + 2
        elif j + 1 < e and sn.low(j + 1) in table["points_words"]:
            r.unit, r.fam, r.last = sn.low(j + 1), "points", j + 1
    if r.unitless and j + 1 < e:
        state = j + 2 if sn.low(j + 1) in ("are", "were", "remain", "remained") and j + 2 < e else j + 1
        if sn.low(state) in table["people_states"]:
            r.unit, r.fam, r.last = sn.low(state), "count", state


def _counted(sn: _Sentence, r: _Reading, j: int, form: _Form) -> bool:
    """The noun a unitless number counts ("3,000 North Korean troops", "New Yorkers"), else a fraction of
    something ("1/40 of the wavelength") or a plain count; False for a number that needs a unit and has none."""
    words, e = sn.words, sn.e
    noun = count_noun_after(words, j, e, sn.table, sn.is_entity_word, singular=r.value == 1)
    if noun is not None:
        r.unit, r.fam, r.unit_word = sn.low(noun), "count", noun
        if sn.is_entity_word(noun):  # a people, as written: "New Yorkers", "Americans"
            begin = noun
            while begin - 1 > j and sn.is_entity_word(begin - 1) == sn.is_entity_word(noun):
                begin -= 1
            r.unit = sn.text[words[begin].start:words[noun].end]
        listed = any(words[m].text[:1].isdigit() for m in range(j + 1, noun)) and \
            (sn.low(j + 1) in ("and", "or", ",", "to", "±", "+") or words[j + 1].text in sn.table["currency_prefixes"])
        if noun <= j + 3 and not listed:
            r.last = noun  # "3,000 North Korean troops" is the figure; "39 of the 62 drones" only "39"
        # "45 and 50 cases", "nine $2,500 donations": the noun is the next figure's, which is a figure of its own
    elif form.needs_unit and form.bare_fraction and j + 1 < e and sn.low(j + 1) == "of":
        r.fam = "fraction"  # "1/40 of the wavelength"
    elif form.needs_unit:
        return False
    else:
        r.fam = "count"
    return True


def _qualifier(sn: _Sentence, first: int, form: _Form) -> tuple[str | None, int]:
    """(qualifier, its first word): "about", "more than", "up to" … before the figure; "three-plus" is more than."""
    table = sn.table
    for n in (3, 2, 1):
        if first - n >= sn.s:
            phrase = " ".join(w.text.lower() for w in sn.words[first - n:first])
            if phrase in table["qualifiers"]:
                return table["qualifiers"][phrase], first - n
    if form.plus:
        return table["qualifiers"]["more than"], first  # "three-plus seasons"
    return None, first


def count_noun_after(words, j, e, table, is_entity_word, max_modifiers: int = 2, singular: bool = False):
    """Index of the counted noun after word j ('3,000 North Korean troops', '900 glide bombs'), or None; with
    singular=True (a count of one) the first plain word that is not an adverb or verb form counts too."""
    modifiers = 0
    for k in range(j + 1, min(e, j + 6)):
        w = words[k].text
        low = w.lower()
        if low in table["prepositions"]:
            return None  # "5 million in aid", "he lied three times to police": the noun is not counted
        label = is_entity_word(k)
        if label:
            if label == "MISC" and w.isalpha() and low.endswith("s") and not low.endswith("ss") and \
                    not (k + 1 < e and is_entity_word(k + 1)):
                return k  # a people named by a plural: "20 million Americans", "14 Catholics", "29 New Yorkers"
            continue
        if w[:1].isupper():
            # a title-case headline ("3,000 North Korean Soldiers Deployed"): a capitalized plural that no entity
            # holds, right after entities or the number, is the counted noun
            if w.isalpha() and not w.isupper() and low.endswith("s") and not low.endswith("ss") and len(low) > 3 \
                    and all(is_entity_word(m) for m in range(j + 1, k)):
                return k
            continue
        if not low.replace("-", "").isalpha():
            if low in (",", ".", ";", ":", ")", "(", "—", "–", "!", "?"):
                return None
            continue  # "39 of the 62 drones": the next number shares the noun
        if low in table["count_not_unit"]:
            continue  # "39 of the 62 drones", "a 12,000-strong force of soldiers"
        if _is_plural_noun(low, table):
            nxt = words[k + 1].text if k + 1 < e else ""
            if nxt.isalpha() and nxt.islower() and _is_plural_noun(nxt, table) and nxt not in stop_words() and \
                    not is_entity_word(k + 1):
                return k + 1  # a noun compound's head: "three news outlets", "five arms dealers"
            return k
        if singular and k == j + 1 and low in stop_words() and low not in table["count_not_unit"]:
            return None  # "one who drinks", "one might say", "one another": the pronoun, no counted noun
        if singular and k == j + 1 and not low.endswith(("ly", "ed", "ing")) and len(low) > 2:
            return k
        modifiers += 1
        if modifiers > max_modifiers:
            return None
    return None
