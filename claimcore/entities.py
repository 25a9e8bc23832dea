"""Entity canonicalization: one name per referent (Zelensky / Zelenskiy / Zelenskyy; U.S. / US / United States;
DPRK / North Korea; Russian Federation / Russia), from a small alias table, every country's other names
(countryinfo's data) and fuzzy matching of NER spans within an article or story.

Two levels, kept apart on purpose:
- `canonical_name`: the same referent under another spelling (aliases, transliterations, a surname alone);
- `actor_name`: who acts, for grouping claims: demonyms and capitals stand for their country ("North Korean
  troops", "Pyongyang has promised" → North Korea). Used for claim subjects, never to rename an entity.
"""
from __future__ import annotations

import difflib
import functools
import re
import unicodedata

ALIASES = {
    "u.s.": "United States", "us": "United States", "u.s": "United States", "usa": "United States",
    "u.s.a.": "United States", "united states": "United States", "united states of america": "United States",
    "america": "United States",
    "dprk": "North Korea", "north korea": "North Korea", "democratic people's republic of korea": "North Korea",
    "republic of korea": "South Korea", "rok": "South Korea", "south korea": "South Korea",
    "uk": "United Kingdom", "u.k.": "United Kingdom", "britain": "United Kingdom", "great britain": "United Kingdom",
    "un": "United Nations", "u.n.": "United Nations", "united nations": "United Nations",
    "eu": "European Union", "european union": "European Union",
    "nato": "NATO", "kremlin": "Kremlin", "the kremlin": "Kremlin",
    "zelensky": "Volodymyr Zelensky", "zelenskiy": "Volodymyr Zelensky", "zelenskyy": "Volodymyr Zelensky",
    "volodymyr zelensky": "Volodymyr Zelensky", "volodymyr zelenskiy": "Volodymyr Zelensky",
    "volodymyr zelenskyy": "Volodymyr Zelensky", "putin": "Vladimir Putin", "vladimir putin": "Vladimir Putin",
    "kim jong un": "Kim Jong Un", "kim jong-un": "Kim Jong Un",
}

# metonyms for actors the country data below lacks: a seat of government, a capital's other spelling or short name
OTHER_METONYMS = {"kremlin": "Russia", "kiev": "Ukraine", "washington": "United States", "saudi": "Saudi Arabia"}
# a capital stands for its country only where the country has this many people: the capitals of smaller ones
# (Victoria, Kingston, Hamilton, San José, Georgetown) are more often another city of that name in the news
MIN_CAPITAL_POPULATION = 10_000_000


@functools.lru_cache(maxsize=1)
def _countries() -> tuple[dict[str, str], dict[str, str], dict[str, str]]:
    """(other name → country, demonym → country, capital → country), keys as `_key` writes them, from
    countryinfo's data (restcountries, MIT): every country, not a list grown from the articles read so far. A
    name or demonym several territories share ("American", "French", "Congolese") is the most populous one's."""
    import countryinfo
    names, demonyms, capitals = {}, {}, {}
    for country in sorted(countryinfo.all_countries(), key=lambda c: (c.population() or 0, c.name())):
        name = _alias(country.name())  # ascending population: the most populous writes last
        for other in country.alt_spellings() or ():
            if len(other) > 3:  # not the ISO codes: "IT", "IN", "CAN" are words
                names[_key(other)] = name
        for demonym in (country.demonym() or "").split(","):
            if demonym.strip():
                demonyms[_key(demonym)] = name
        if country.capital() and (country.population() or 0) >= MIN_CAPITAL_POPULATION:
            capitals[_key(country.capital())] = name
    return names, demonyms, capitals


_POSSESSIVE = re.compile(r"\s*['’]s$")


def _key(name: str) -> str:
    return re.sub(r"\s+", " ", _POSSESSIVE.sub("", name.strip())).casefold().removeprefix("the ")


def spelling_key(name: str, person: bool = False) -> str:
    """The form two outlets' spellings of one name share: accents and punctuation dropped, case-folded, doubled
    letters collapsed, y read as i and a final i dropped (Zelensky / Zelenskiy / Zelenskyy → zelensk); a person by
    surname (the canonical name is already the full one where the article gave it)."""
    s = unicodedata.normalize("NFKD", _key(name))
    s = "".join(c for c in s if not unicodedata.combining(c)).casefold()
    s = re.sub(r"['’]s\b", "", s)
    s = re.sub(r"[^\w ]+", "", s).strip()
    s = re.sub(r"^the ", "", s)
    if person and " " in s:
        s = s.rsplit(" ", 1)[1]
    s = re.sub(r"(.)\1+", r"\1", s).replace("y", "i")
    return s.rstrip("i") if len(s) > 4 else s


def _alias(name: str) -> str:
    key = _key(name)
    return ALIASES.get(key, _POSSESSIVE.sub("", name.strip()).removeprefix("the ").removeprefix("The "))


def canonical_name(name: str, label: str | None = None) -> str:
    """One name per referent: the alias table, then a country's other names ("Russian Federation", "Czechia",
    "Viet Nam"; never for a person: "Holland", "Jordan"), else the name as written without "the" or "'s"."""
    if label != "PER":
        key = _key(name)
        country = _countries()[0].get(key)
        if country is not None and key not in ALIASES:
            return country
    return _alias(name)


def actor_name(name: str, label: str | None = None) -> str:
    """The country a demonym ("Yemeni", "Syrians", "North Korean"), a large country's capital ("Tehran") or a seat
    of government ("Kremlin") stands for; otherwise the canonical name. A person (`label` PER) is never a place."""
    key = _key(name)
    if label == "PER":
        return canonical_name(name, label)
    _, demonyms, capitals = _countries()
    for table in (OTHER_METONYMS, demonyms, capitals):
        if key in table:
            return table[key]
    if key.endswith("s") and key[:-1] in demonyms:  # "Syrians", "Americans"
        return demonyms[key[:-1]]
    return canonical_name(name, label)


def canonicalize_entities(entities: list[dict]) -> list[dict]:
    """Sets each entity's `canonical`: alias table first, then a surname or a near spelling of a longer name of
    the same type met in the same article."""
    out = [dict(e) for e in entities]
    for e in out:  # pass 1: full names and aliases
        e["canonical"] = canonical_name(e["text"], e["label"])
    names = {}
    for e in out:
        names.setdefault(e["label"], set()).add(e["canonical"])
    # longest first, then alphabetical: a set's iteration order changes with the process (hash seed)
    ordered = {label: sorted(found, key=lambda n: (-len(n), n)) for label, found in names.items()}
    resolved = {}  # (label, pass-1 name) → final name: an article names the same entity many times
    for e in out:  # pass 2: "Austin" → "Lloyd Austin", "Zelenskyi" → "Volodymyr Zelensky"
        key = (e["label"], e["canonical"])
        if key not in resolved:
            resolved[key] = _longer_name(e["label"], e["canonical"], ordered[e["label"]])
        e["canonical"] = resolved[key]
    return out


# Near spellings compare every pair of an article's names of one type. A page naming more than this many (a
# roster, a results table, a list of victims) is not the prose they are for, and would cost minutes.
MAX_NAMES_FOR_NEAR_SPELLINGS = 400


def _longer_name(label: str, c: str, ordered: list[str]) -> str:
    """The first name in `ordered` (an article's names of one type, longest first) longer than `c` that `c` is
    short for or, up to MAX_NAMES_FOR_NEAR_SPELLINGS names, a near spelling of; else c."""
    folded = c.casefold()
    near_spellings = len(ordered) <= MAX_NAMES_FOR_NEAR_SPELLINGS
    surname = label == "PER" and " " not in c
    if not (near_spellings or surname):
        return c
    for n in ordered:
        if len(n) <= len(c):
            break
        n_folded = n.casefold()
        if surname and n.split()[-1].casefold() == folded:
            return n
        # ratio = 2·matches / (len a + len b) ≤ 2·shorter / (len a + len b): no matcher when even that is short
        shorter, total = min(len(folded), len(n_folded)), len(folded) + len(n_folded)
        if near_spellings and 2 * shorter >= 0.88 * total - 1e-9:
            matcher = difflib.SequenceMatcher(None, folded, n_folded)
            if matcher.quick_ratio() >= 0.88 and matcher.ratio() >= 0.88:  # quick_ratio: a cheap upper bound
                return n
    return c
