"""ExtractClaims: articles (with entities and story ids) → claims.v1 records; AggregateStoryClaims → story_claims.v1.

A claim is a quantity that someone (or no one named) puts on something. The extractor is rules over the
sentence's words and the NER spans, chosen over a model because every decision can be explained and tested, and
because there is no labelled claim corpus to train on:

- numbers: digits (3,000 / 3000 / 1.5 million / 12,000-strong / 3k / $23.5 billion / 2.1%) and spelled numbers
  (ten thousand); never years, dates, times, phone numbers or parenthesized page furniture. A number becomes a
  claim only with a unit: the first noun after it (demonyms and adjectives skipped), or % / a currency sign;
- qualifiers: approximately, around, about, nearly, over, more than, up to, at least ... → approximate;
- attribution: "according to X"; else the nearest cue verb (said, confirmed, revealed, reporting, alleging ...)
  before the number, or after it in the same sentence, with the noun phrase in front of it as claimant; a cue right
  after a comma takes the sentence's subject; a pronoun claimant ("He emphasized") takes the nearest person
  before it in the paragraph; "reportedly"/"allegedly" without a cue leave the claimant null;
- denials: dismissed / denied / rejected / labeled or called ... "fake news" / "groundless rumors" → stance
  `denies`, with what is denied;
- subject: the entity inside the number's phrase ("3,000 North Korean troops"), else the nearest other entity
  before the number, as an actor name (North Korean / Pyongyang → North Korea).
"""
from __future__ import annotations

import collections
import re

import apache_beam as beam

from schemas import CLAIMS, STORY_CLAIMS, stable_id
from transforms.common import ERRORS, CountingDoFn
from transforms.entities import actor_name, canonicalize_entities
from transforms.ner_model import sentence_spans, split_words

EXTRACTOR = "claims-rules/1"

SPELLED = {"ten": 10, "eleven": 11, "twelve": 12, "fifteen": 15, "twenty": 20, "thirty": 30, "forty": 40,
           "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80, "ninety": 90, "hundred": 100, "two": 2,
           "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9}  # "one" is a pronoun too
SCALES = {"thousand": 1e3, "k": 1e3, "million": 1e6, "m": 1e6, "mn": 1e6, "billion": 1e9, "bn": 1e9,
          "trillion": 1e12}
MONTHS = {"january", "february", "march", "april", "may", "june", "july", "august", "september", "october",
          "november", "december", "jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec"}
QUALIFIERS = {  # words before the number (lower-cased, joined by spaces) → qualifier kept in the record
    "approximately": "approximately", "around": "around", "about": "about", "some": "some", "nearly": "nearly",
    "almost": "almost", "roughly": "roughly", "over": "over", "more than": "more than", "up to": "up to",
    "at least": "at least", "as many as": "as many as", "an estimated": "an estimated", "estimated": "estimated",
    "close to": "close to", "fewer than": "fewer than", "less than": "less than", "under": "under",
    "upwards of": "upwards of", "nearly all": "nearly", "almost all": "almost",
}
UNIT_FAMILY = {
    "troops": "military personnel", "soldiers": "military personnel", "personnel": "military personnel",
    "forces": "military personnel", "servicemen": "military personnel", "fighters": "military personnel",
    "troop": "military personnel", "soldier": "military personnel",
    "casualties": "casualties", "deaths": "casualties", "dead": "casualties", "killed": "casualties",
    "people": "people", "residents": "people", "civilians": "people", "persons": "people",
    "dollars": "money:USD", "euros": "money:EUR", "pounds": "money:GBP", "kroner": "money:DKK",
    "percent": "percent", "tonnes": "mass", "tons": "mass", "hectares": "area",
}
CURRENCY = {"$": "dollars", "€": "euros", "£": "pounds", "US$": "dollars"}
# a number of these is a duration or a date, not a count anyone claims ("in 24 hours", "three months")
TIME_UNITS = {"hours", "hour", "minutes", "minute", "seconds", "second", "days", "day", "weeks", "week", "months",
              "month", "years", "year", "decades", "decade", "centuries", "times"}
IRREGULAR_PLURALS = {"aircraft", "people", "personnel", "staff", "police", "children", "men", "women", "cattle",
                     "sheep", "fish", "livestock", "militia", "crew"}
COMPOUND_UNITS = {("basis", "points"): "basis points", ("basis", "point"): "basis points",
                  ("percentage", "points"): "percentage points", ("percentage", "point"): "percentage points"}
PREPOSITIONS = {"from", "to", "in", "on", "at", "by", "for", "with", "into", "over", "under", "since", "after",
                "before", "during", "per"}
# words between a number and its noun that are not the noun
NOT_UNITS = {"more", "new", "additional", "other", "of", "the", "its", "their", "his", "her", "and", "or", "to",
             "a", "an", "per", "in", "on", "at", "by", "for", "from", "with", "as", "than", "were", "was", "are",
             "is", "be", "been", "have", "has", "had", "will", "would", "could", "that", "this", "these", "those",
             "mostly", "all", "still", "just", "only", "also", "about", "some", "military", "special", "fresh",
             "active", "extra", "elite", "armed", "strong", "total", "regular"}
CUES = {
    "said", "says", "say", "saying", "stated", "states", "state", "stating", "confirmed", "confirms", "confirm",
    "confirming", "revealed", "reveals", "revealing", "warned", "warns", "warning", "announced", "announces",
    "announcing", "reported", "reports", "reporting", "told", "tells", "mentioned", "mentions", "mentioning",
    "claimed", "claims", "claiming", "disclosed", "discloses", "alleged", "alleges", "alleging", "suggested",
    "suggests", "suggesting", "estimated", "estimates", "estimating", "believes", "believe", "indicated",
    "indicates", "indicating", "added", "adds", "noted", "notes", "emphasized", "emphasised", "insisted",
    "showed", "shows", "briefed", "testified", "wrote", "tweeted", "posted", "noting", "expect", "expects",
    "predicts", "predicted", "forecast", "forecasts",
}
DENIAL_CUES = {"dismissed", "dismisses", "dismiss", "denied", "denies", "deny", "denying", "rejected", "rejects",
               "reject", "refuted", "refutes", "rebuffed", "labeled", "labelled", "labels", "called", "calls",
               "branded", "brands"}
NEGATIVE = re.compile(r"\b(fake|groundless|baseless|false|lies|untrue|fabricat\w*|propaganda|nonsense|rumou?rs)\b",
                      re.I)
AUX = {"has", "have", "had", "also", "has also", "have also", "had also", "reportedly", "allegedly", "which", "who",
       "is", "was", "were", "are", "will", "would", "again", "publicly", "repeatedly", "earlier", "later", "now",
       "previously", "initially", "on", "tuesday", "monday", "wednesday", "thursday", "friday", "saturday",
       "sunday", "today", "yesterday"}
NP_NOUNS = {"lawmakers", "lawmaker", "officials", "official", "sources", "source", "intelligence", "agency",
            "spokesperson", "spokesman", "spokeswoman", "ministry", "military", "president", "minister",
            "analysts", "economists", "police", "experts", "government", "office", "service", "organisers",
            "organizers", "authorities", "committee", "chief", "governor", "mayor", "secretary", "commission",
            "army", "forces", "force", "command", "staff", "department", "bank", "company", "firm", "spy",
            "leader", "party", "prosecutors", "investigators", "researchers", "scientists", "statistics",
            "agencies", "diplomats", "observers", "residents", "witnesses", "media", "defence", "defense",
            "council", "board", "union", "federation", "association", "institute", "counterparts", "officers",
            "both", "two", "deputy", "prime", "foreign", "presidential", "parliamentary", "state", "national",
            "regional", "local", "senior", "top", "civil", "protection", "emergency", "electoral", "weather", "fire",
            "air", "joint", "chiefs", "of", "at", "and", "countries", "nations", "sides", "governments", "groups",
            "workers", "unions", "teams", "clubs", "companies", "banks", "ministers", "leaders", "results",
            "figures", "data", "polls", "surveys", "estimates", "records", "preliminary", "final", "agriculture",
            "finance", "economy", "interior", "health", "transport", "energy", "trade",
            "city", "traders", "markets", "forecasters", "rescuers", "central"}
PRONOUNS = {"he", "she", "they", "it"}
_PHONE = re.compile(r"\+?\d[\d\s().-]{8,}\d")
_TIME = re.compile(r"\b\d{1,2}:\d{2}\b")


# ---- numbers ---------------------------------------------------------------------------------------------------
def _number_value(words, i):
    """(value, last_word_index, value_text, unit_hint) of a number starting at word i, or None."""
    w = words[i].text
    low = w.lower()
    unit = None
    if low in SPELLED and SPELLED[low] is not None:
        value, j = float(SPELLED[low]), i
        if j + 1 < len(words) and words[j + 1].text.lower() in ("hundred", "thousand", "million", "billion"):
            mult = 100 if words[j + 1].text.lower() == "hundred" else SCALES[words[j + 1].text.lower()]
            value, j = value * mult, j + 1
        return value, j, " ".join(x.text for x in words[i:j + 1]), "spelled-small" if value < 10 else unit
    m = re.fullmatch(r"(\d{1,3}(?:,\d{3})+|\d+)(?:\.(\d+))?(k|m|bn|mn)?(?:-(strong))?", w, re.I)
    if not m:
        return None
    raw, frac, suffix = m.group(1), m.group(2), m.group(3)
    value = float(raw.replace(",", "") + (f".{frac}" if frac else ""))
    j = i
    if suffix:
        value *= SCALES[suffix.lower()]
    elif j + 1 < len(words) and words[j + 1].text.lower() in SCALES and len(words[j + 1].text) > 2:
        value *= SCALES[words[j + 1].text.lower()]
        j += 1
    if j + 1 < len(words) and words[j + 1].text == "%":
        unit, j = "percent", j + 1
    elif j + 1 < len(words) and words[j + 1].text.lower() in ("percent", "per") :
        unit = "percent"
        j += 2 if words[j + 1].text.lower() == "per" else 1
    return value, j, " ".join(x.text for x in words[i:j + 1]), unit


def _is_date_or_year(words, i, j, value, text) -> bool:
    raw = words[i].text
    prev = words[i - 1].text.lower() if i > 0 else ""
    nxt = words[j + 1].text.lower() if j + 1 < len(words) else ""
    if re.fullmatch(r"\d{4}", raw) and 1900 <= value <= 2100:
        return True
    if prev in MONTHS or nxt in MONTHS:
        return True
    start = words[i].start
    window = text[max(0, start - 12):words[j].end + 12]
    if _TIME.search(window) or _PHONE.search(window):
        return True
    return prev == "(" and nxt == ")"


def _unit_after(words, j, entities_by_word, max_modifiers: int = 2):
    """(unit noun, index) after word j: skips demonyms/entities, adjectives, stop words and up to two lower-case
    modifiers ("900 glide bombs", "25 Patriot air defence systems"); a plural-looking or known count noun."""
    modifiers = 0
    for k in range(j + 1, min(len(words), j + 7)):
        w = words[k].text
        low = w.lower()
        if k == j + 1 and low in PREPOSITIONS:
            return None, None  # "forced 12,000 from their homes": the noun is elided
        if k + 1 < len(words) and (low, words[k + 1].text.lower()) in COMPOUND_UNITS:
            return COMPOUND_UNITS[(low, words[k + 1].text.lower())], k + 1
        if k in entities_by_word or (w[:1].isupper() and low not in UNIT_FAMILY):
            continue
        if not low.replace("-", "").isalpha():
            if low in (",", ".", ";", ":", ")", "(", "—", "–"):
                return None, None
            continue
        if low in NOT_UNITS or low.endswith("-strong"):
            continue
        if low in TIME_UNITS:
            return None, None
        if low in UNIT_FAMILY or low in IRREGULAR_PLURALS or (low.endswith("s") and not low.endswith("ss")):
            return low, k
        modifiers += 1
        if modifiers > max_modifiers:
            return None, None
    return None, None


# ---- attribution -----------------------------------------------------------------------------------------------
def _np_before(words, k, lo) -> tuple[int, int] | None:
    """Word span of the noun phrase ending right before word k (auxiliaries skipped), not before lo.

    Capitalized words, possessives and common claimant nouns ('officials', 'agency') extend it leftwards; when
    the scan stops at another lower-case word and the clause began at most 4 words earlier ('A leading chipmaker
    reported'), the whole clause opening is the phrase."""
    end = k
    while end - 1 >= lo and words[end - 1].text.lower() in AUX:
        end -= 1
    start = end
    while start - 1 >= lo:
        w = words[start - 1].text
        low = w.lower()
        if w[:1].isupper() or low in ("'s", "’s", "the", "-") or low in NP_NOUNS:
            start -= 1
            continue
        if low.isalpha() and low not in _LEADING:
            clause = start - 1
            while clause - 1 >= lo and words[clause - 1].text not in (",", ";", ":") and start - clause < 5:
                clause -= 1
            if (clause == lo or words[clause - 1].text in (",", ";", ":")) and start - clause < 5 and \
                    not any(words[m].text.lower() in CUES | {"that"} for m in range(clause, end)):
                start = clause
        break
    while start < end and words[start].text.lower() in _LEADING:
        start += 1
    return (start, end) if start < end else None


_LEADING = {"of", "at", "and", "with", "while", "although", "though", "but", "however", "meanwhile", "as", "if", "when",
            "whereas", "since", "because"}


def _subject_np(words, lo, hi) -> tuple[int, int] | None:
    """The sentence's subject: the noun phrase at its start (after an opening 'In Seoul,' / 'Meanwhile,')."""
    start = lo
    for k in range(lo, min(hi, lo + 6)):
        if words[k].text == ",":
            start = k + 1
            break
    end = start
    while end < hi and (words[end].text[:1].isupper() or words[end].text.lower() in NP_NOUNS | {"'s", "’s", "the"}):
        end += 1
    return (start, end) if end > start else None


def _span_text(text, words, span):
    return text[words[span[0]].start:words[span[1] - 1].end] if span and span[1] > span[0] else None


# ---- extraction ------------------------------------------------------------------------------------------------
def extract_claims(article: dict) -> list[dict]:
    text = article.get("text") or ""
    words = split_words(text)
    entities = article.get("entities") or []
    if not all(e.get("canonical") for e in entities):  # the NER stage already canonicalizes; raw spans too
        entities = canonicalize_entities(entities)
    ent_at = {}  # word index → entity
    wi = 0
    for e in entities:
        while wi < len(words) and words[wi].end <= e["start"]:
            wi += 1
        k = wi
        while k < len(words) and words[k].start < e["end"]:
            ent_at[k] = e
            k += 1
    claims = []
    last_person = None
    for s, e in sentence_spans(text, words):
        sent_start, sent_end = words[s].start, words[e - 1].end
        sentence = text[sent_start:sent_end]
        lows = [w.text.lower() for w in words[s:e]]
        # denials
        for k in range(s, e):
            low = words[k].text.lower()
            if low not in DENIAL_CUES:
                continue
            rest = text[words[k].end:sent_end]
            if low in ("labeled", "labelled", "labels", "called", "calls", "branded", "brands") and \
                    not NEGATIVE.search(rest[:120]):
                continue
            np = _np_before(words, k, s) or _subject_np(words, s, e)
            obj_end = k + 1
            while obj_end < e and words[obj_end].text.lower() not in ("as", ",", ".", "and", "while", "but"):
                obj_end += 1
            denied = _span_text(text, words, (k + 1, obj_end)) if obj_end > k + 1 else None
            claims.append(_record(article, sentence, sent_start, sent_end, np, words, text, ent_at, cue=low,
                                  stance="denies", denied=denied, anchor=words[k].start))
        # quantities
        k = s
        while k < e:
            parsed = _number_value(words, k)
            if not parsed:
                k += 1
                continue
            value, j, value_text, unit = parsed
            if _is_date_or_year(words, k, j, value, text):
                k = j + 1
                continue
            small_spelled = unit == "spelled-small"
            if small_spelled:
                unit = None
            currency = k > s and words[k - 1].text in CURRENCY
            if unit is None and currency:
                unit = CURRENCY[words[k - 1].text]
            unit_idx = None
            if unit is None:
                unit, unit_idx = _unit_after(words, j, ent_at, max_modifiers=0 if small_spelled else 2)
            if unit is None:
                k = j + 1
                continue
            qualifier = None
            q_end = k - 1 if currency else k  # "about $30 billion"
            for n in (3, 2, 1):
                if q_end - n >= s:
                    phrase = " ".join(lows[q_end - n - s:q_end - s])
                    if phrase in QUALIFIERS:
                        qualifier = QUALIFIERS[phrase]
                        break
            claimant, cue = _attribution(words, s, e, k, lows, last_person)
            subject = _subject(words, k, j, unit_idx, s, claimant, ent_at)
            claims.append(_record(article, sentence, sent_start, sent_end, claimant, words, text, ent_at, cue=cue,
                                  stance="asserts", value=value, value_text=value_text, unit=unit,
                                  qualifier=qualifier, subject=subject, anchor=words[k].start))
            k = j + 1  # the next number may share this unit: "39 of the 62 drones"
        for k in range(s, e):
            if k in ent_at and ent_at[k]["label"] == "PER":
                last_person = (k, ent_at[k])
        if "\n" in text[sent_end:sent_end + 2]:
            last_person = None  # pronouns resolve within a paragraph
    return claims


def _attribution(words, s, e, k, lows, last_person):
    """(claimant word span or a resolved entity, cue) for a number at word k of sentence [s, e)."""
    according = [a for a in range(s, e - 1) if lows[a - s] == "according" and lows[a + 1 - s] == "to"]
    if according:
        before_k = [a for a in according if a < k]
        a = before_k[-1] if before_k else according[0]
        end = a + 2
        while end < e and words[end].text not in (",", ".", ";") and (a > k or end < k):
            end += 1
        return ((a + 2, end) if end > a + 2 else None), "according to"  # "…, according to." names nobody
    before = [c for c in range(s, k) if lows[c - s] in CUES]
    after = []
    for c in range(k + 1, e):
        if lows[c - s] in (";",) or (lows[c - s] in ("and", "but", "while") and lows[c - 1 - s] == ","):
            break  # "Inflation eased to 2.1%, and the governor said ...": the cue belongs to the next clause
        if lows[c - s] in CUES:
            after.append(c)
            break
    if not before and not after:
        return None, ("reportedly" if {"reportedly", "allegedly"} & set(lows) else None)
    c = before[-1] if before else after[0]
    np = _np_before(words, c, s)
    if c - 1 >= s and words[c - 1].text == ",":
        # an appositive (", Amara Mensah, said"), else the clause's subject (", alleging that")
        np = _np_before(words, c - 1, s)
        if np is None or not any(words[m].text[:1].isupper() for m in range(*np)):
            np = _subject_np(words, s, e)
    elif c - 1 >= s and words[c - 1].text.lower() == "and" or np is None:
        np = _subject_np(words, s, e)  # "Frederiksen visited Kyiv and announced": the sentence's subject
    if np and np[1] - np[0] == 1 and words[np[0]].text.lower() in PRONOUNS and last_person:
        return ("entity", last_person[1]), lows[c - s]
    return np, lows[c - s]


def _subject(words, k, j, unit_idx, s, claimant, ent_at):
    """The entity the number is about: inside the number's phrase, else the nearest other one before it."""
    claimant_words = set(range(*claimant)) if isinstance(claimant, tuple) and claimant and \
        claimant[0] != "entity" else set()
    for m in range(j + 1, (unit_idx or j) + 1):
        if m in ent_at:
            return actor_name(ent_at[m]["text"])
    for m in range(k - 1, s - 1, -1):
        if m in ent_at and m not in claimant_words and ent_at[m]["label"] != "PER":
            return actor_name(ent_at[m]["text"])
    return None


def _record(article, sentence, start, end, claimant, words, text, ent_at, *, cue, stance, value=None,
            value_text=None, unit=None, qualifier=None, subject=None, denied=None, anchor=None):
    claimant_rec = None
    if isinstance(claimant, tuple) and claimant and claimant[0] == "entity":
        ent = claimant[1]
        claimant_rec = {"text": ent["text"], "canonical": ent.get("canonical"), "label": ent["label"]}
    elif claimant:
        ctext = _span_text(text, words, claimant)
        last = claimant[1] - 1
        # the entity names the claimant only when it is the phrase's head ("the U.S.", "President Zelensky"),
        # not a modifier ("South Korean lawmakers" are lawmakers, not South Korea)
        head = ent_at.get(last)
        claimant_rec = {"text": ctext, "canonical": head.get("canonical") if head else None,
                        "label": head["label"] if head else "GROUP"}
    others = sorted({e.get("canonical") or e["text"] for m, e in ent_at.items()
                     if start <= words[m].start < end})
    return {
        # the number's (or the denial cue's) own offset tells apart two claims in one sentence
        "claim_id": stable_id(article["article_id"], anchor, stance, value, unit),
        "article_id": article["article_id"],
        "story_id": article.get("story_id"),
        "url": article.get("url"),
        "outlet": article.get("outlet"),
        "published_at": article.get("published_at"),
        "sentence": sentence,
        "evidence_start": start,
        "evidence_end": end,
        "claimant": claimant_rec,
        "cue": cue,
        "stance": stance,
        "subject": subject,
        "value": value,
        "value_text": value_text,
        "unit": unit,
        "unit_family": UNIT_FAMILY.get(unit, unit) if unit else None,
        "approximate": qualifier is not None if stance == "asserts" else None,
        "qualifier": qualifier,
        "denied_text": denied,
        "entities": others,
        "extractor": EXTRACTOR,
        "schema_version": CLAIMS.version,
    }


# ---- aggregation -----------------------------------------------------------------------------------------------
def story_claim_records(story_id: str, claims: list[dict]) -> list[dict]:
    """Per story: asserted claims grouped by (subject, unit family, value), with the distinct outlets and
    claimants backing each; other figures for the same subject and unit family are flagged as conflicts."""
    groups = collections.defaultdict(list)
    for c in claims:
        if c["stance"] == "asserts" and c["value"] is not None:
            groups[(c["subject"] or "", c["unit_family"] or "", c["value"])].append(c)
    values = collections.defaultdict(set)
    for subject, family, value in groups:
        values[(subject, family)].add(value)
    out = []
    for (subject, family, value), members in sorted(groups.items()):
        outlets = sorted({c["outlet"] for c in members if c["outlet"]})
        claimants = sorted({(c["claimant"] or {}).get("canonical") or (c["claimant"] or {}).get("text")
                            for c in members if c["claimant"]})
        # without a subject two figures may measure different things (a rate and inflation): no conflict claimed
        others = sorted(values[(subject, family)] - {value}) if subject else []
        out.append({
            "story_claim_id": stable_id(story_id, subject, family, value),
            "story_id": story_id, "subject": subject or None, "unit_family": family or None, "value": value,
            "stance": "asserts", "claim_count": len(members),
            "outlet_count": len(outlets), "article_count": len({c["article_id"] for c in members}),
            "claimant_count": len(claimants), "outlets": outlets, "claimants": claimants,
            "claim_ids": sorted(c["claim_id"] for c in members),
            "conflicting_values": others, "conflict": bool(others),
            "schema_version": STORY_CLAIMS.version,
        })
    return out


class ExtractArticleClaims(CountingDoFn):
    stage = "claims"

    def process(self, article):
        self.count("in")
        if article.get("duplicate_of"):
            self.count("copies_skipped")  # a reprint repeats its original's claims: not a second source
            return
        try:
            with self.timed():
                claims = extract_claims(article)
        except Exception as e:  # noqa: BLE001 - one article's failure costs its own claims, never the job
            yield self.dead_letter(article.get("url") or article["article_id"], "claims_failed",
                                   f"article {article['article_id']}: {type(e).__name__}: {e}")
            return
        for claim in claims:
            self.count("asserts" if claim["stance"] == "asserts" else "denials")
            yield claim


class ExtractClaims(beam.PTransform):
    """articles → claims.v1 records (main) + dead letters ('errors')."""

    def expand(self, articles):
        return articles | "Extract" >> beam.ParDo(ExtractArticleClaims()).with_outputs(ERRORS, main="claims")


class AggregateStoryClaims(beam.PTransform):
    """claims → story_claims.v1 records."""

    def expand(self, claims):
        return (claims
                | "KeyByStory" >> beam.Map(lambda c: (c["story_id"] or c["article_id"], c))
                | "GroupByStory" >> beam.GroupByKey()
                | "Aggregate" >> beam.FlatMapTuple(lambda sid, cs: story_claim_records(sid, list(cs))))
