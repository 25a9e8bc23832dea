"""Claims of one article: articles (with entities, attributions and story ids) → claims.v2 records; and a story's
story_claims.v1 rows. transforms/claims.py runs them as Beam stages.

A claim is a figure (claimcore/figures.py: every kind, with a unit family) or a denial, plus who puts it forward.
Extraction runs as named steps over one article:

1. `article_context`: words, sentences (abbreviation-aware), entities by word, the article's attributions;
2. `find_figures`: the one figure parser; years, dates, times, ordinals and numbers inside names are not figures;
3. `find_denials`: dismissed / denied / rejected / called … "fake news" → stance `denies`, with what is denied;
4. `attribute`: the attribution whose Content holds the figure (claimwire-attribution-v1, computed in the NER
   stage) gives the claimant (its Source) and the cue; a pronoun or a description with no name in it ("he",
   "the influential US daily") resolves to the nearest named person or organisation before it. A figure outside
   every attributed content falls back to the cue rules (`rules_claimant`: "according to X", a cue verb and the
   noun phrase before it); with neither, the claimant stays null;
5. `find_subject`: the entity inside the figure's phrase ("3,000 North Korean troops"), else the nearest other
   entity before it, as an actor name;
6. `claim_record`.

Word lists (cue verbs, denial cues, claimant nouns, count classes) are in claimcore/data/claim_words.json.
"""
from __future__ import annotations

import bisect
import collections
import functools
import json
import os
import re
from dataclasses import dataclass, field

from claimcore.components import stamp
from claimcore.entities import actor_name, canonicalize_entities
from claimcore.figures import Figure, parse_figures
from claimcore.language import english_models_apply
from claimcore.text import HONORIFICS, sentence_spans, split_words, stop_words
from schemas import CLAIMS, STORY_CLAIMS, stable_id

EXTRACTOR = stamp("claims")  # claims.extractor: the version of this module's output (claimcore/components.py)
RULES_FALLBACK = True  # figures outside every attributed content still get the cue rules' claimant
_DATA = os.path.join(os.path.dirname(__file__), "data", "claim_words.json")


@functools.lru_cache(maxsize=1)
def claim_words() -> dict:
    with open(_DATA, encoding="utf-8") as f:
        data = json.load(f)
    for key in ("cues", "denial_cues", "aux", "np_nouns", "pronouns", "relative_pronouns", "leading", "determiners",
                "object_cues", "claim_nouns", "withheld_from"):
        data[key] = frozenset(data[key])
    data["honorifics"] = HONORIFICS  # claimcore/text.py owns the courtesy titles
    data["negative"] = re.compile(r"\b(" + "|".join(data["negative_words"]) + r")\b", re.I)
    return data


def count_family(unit: str | None) -> str:
    """A count's unit family: 'count:<class>' (troops and soldiers are both military personnel), else 'count'."""
    if not unit:
        return "count"
    cls = claim_words()["count_classes"].get(unit)
    return f"count:{cls or unit}"


# ---- 1. context ------------------------------------------------------------------------------------------------
@dataclass
class ArticleContext:
    article: dict
    text: str
    words: list
    sentences: list  # word-index spans
    ent_at: dict  # word index → entity
    entities: list
    attributions: list  # articles.v1 `attributions` dicts (character offsets)
    word_starts: list = field(default_factory=list)
    sentence_starts: list = field(default_factory=list)

    def word_at(self, char: int) -> int:
        """Index of the word holding (or starting after) character `char`."""
        return max(0, bisect.bisect_right(self.word_starts, char) - 1)

    def sentence_of(self, k: int) -> tuple[int, int]:
        return self.sentences[max(0, bisect.bisect_right(self.sentence_starts, k) - 1)]


def article_context(article: dict) -> ArticleContext:
    text = article.get("text") or ""
    words = split_words(text)
    entities = article.get("entities") or []
    if not all(e.get("canonical") for e in entities):  # the NER stage already canonicalizes; raw spans too
        entities = canonicalize_entities(entities)
    ent_at = {}
    starts = [w.start for w in words]
    for e in entities:
        k = bisect.bisect_left(starts, e["start"])
        while k < len(words) and words[k].start < e["end"]:
            ent_at[k] = e
            k += 1
    sentences = sentence_spans(text, words, article.get("title"))
    return ArticleContext(article, text, words, sentences, ent_at, entities, list(article.get("attributions") or []),
                          starts, [s for s, _ in sentences])


# ---- 2. figures ------------------------------------------------------------------------------------------------
def find_figures(ctx: ArticleContext) -> list[Figure]:
    return parse_figures(ctx.text, ctx.words, ctx.sentences,
                         is_entity_word=lambda k: ctx.ent_at[k]["label"] if k in ctx.ent_at else None)


# ---- 3. denials ------------------------------------------------------------------------------------------------
@dataclass
class Denial:
    cue_word: int
    cue: str
    denied: str | None


def find_denials(ctx: ArticleContext) -> list[Denial]:
    words, text, cw = ctx.words, ctx.text, claim_words()
    out = []
    for s, e in ctx.sentences:
        sent_end = words[e - 1].end
        for k in range(s, e):
            low = words[k].text.lower()
            if low not in cw["denial_cues"]:
                continue
            rest = text[words[k].end:sent_end]
            if low in ("labeled", "labelled", "labels", "called", "calls", "branded", "brands") and \
                    not cw["negative"].search(rest[:120]):
                continue
            obj_end = k + 1
            while obj_end < e and words[obj_end].text.lower() not in ("as", ",", ".", "and", "while", "but"):
                obj_end += 1
            # what is denied must be a claim. "deny" denies what it names ("deny arms shipments", "denied any
            # involvement") unless it withholds something from someone ("deny them permits", "denying us
            # justice", "deny the right"); "reject", "dismiss", "rebuff" need a that-clause, a noun of assertion
            # ("those reports", "that argument") or negative wording ("as fake news"), not a request, a proposal
            # or a person ("rejected a media request", "reject her parents", "a compromise rebuffed by")
            passive = k + 1 < e and words[k + 1].text.lower() == "by"
            nxt = " ".join(w.text.lower() for w in words[k + 1:min(e, k + 3)])
            if low.startswith("den"):
                if passive or nxt.split(" ")[0] in cw["withheld_from"] or nxt.startswith(("the right", "access")):
                    continue
            else:
                object_words = range(max(s, k - 3), k) if passive else range(k + 1, obj_end)
                if not ((not passive and nxt.startswith("that ")) or cw["negative"].search(rest[:120]) or
                        any(words[m].text.lower() in cw["claim_nouns"] for m in object_words)):
                    continue
            denied = _span_text(text, words, (k + 1, obj_end)) if obj_end > k + 1 and not passive else None
            out.append(Denial(k, low, denied))
    return out


# ---- 4. attribution --------------------------------------------------------------------------------------------
@dataclass
class Claimant:
    record: dict | None  # claims.v2 `claimant`
    start: int | None  # the mention as written
    end: int | None
    cue: str | None
    method: str | None  # model / rules
    words: frozenset = frozenset()
    cue_word: int | None = None  # where the cue is (word index)


def attribute(ctx: ArticleContext, k: int, anchor: int) -> Claimant:
    """Who puts forward the figure (or denial) at word k / character `anchor`."""
    for att in ctx.attributions:
        if att.get("source_start") is not None and att["source_start"] <= anchor < att["source_end"] and \
                head_entity(ctx, *_source_words(ctx, att)) is not None:
            # a figure inside a named source describes that source ("said 23-year-old Ryosuke Kinoshita"):
            # nobody else, found by the rules, is its claimant
            return Claimant(None, None, None, att["cue"].lower() if att.get("cue") else None, "model")
    for att in ctx.attributions:
        if att.get("content_start") is not None and att["content_start"] <= anchor < att["content_end"]:
            found = model_claimant(ctx, att, anchor)
            rules = rules_claimant(ctx, k)
            if rules.record is not None and (found.record is None or not _same_sentence(ctx, att) or
                                             _nested(found.cue_word, rules, k)):
                # no source; or one linked from another sentence than its cue (a weak link); or a cue nested
                # inside the content, nearer the figure ("Zelensky said …, with intelligence suggesting that
                # … 12,000 personnel"): the innermost attribution holds the figure
                return rules
            return found
    # the model's content often stops short of the clause's end ("… have given $200 or less"): an attribution whose
    # content lies in the same sentence still holds the figure
    s, e = ctx.sentence_of(k)
    lo, hi = ctx.words[s].start, ctx.words[e - 1].end
    near = [(min(abs(anchor - att["content_start"]), abs(anchor - att["content_end"])), n, att)
            for n, att in enumerate(ctx.attributions)
            if att.get("content_start") is not None and att["content_start"] < hi and lo < att["content_end"]
            and att.get("source_start") is not None]
    if near:
        found = model_claimant(ctx, min(near, key=lambda t: t[:2])[2], anchor)
        if found.record is not None:
            return found
    return rules_claimant(ctx, k) if RULES_FALLBACK else Claimant(None, None, None, None, None)


def _nested(outer_cue: int | None, rules: "Claimant", k: int) -> bool:
    """A secondary attribution inside the content, nearer the figure at word k: 'according to X' or a participle
    cue ('with intelligence suggesting that …'), between the model's cue and the figure."""
    inner = rules.cue_word
    return outer_cue is not None and inner is not None and outer_cue < inner < k and \
        (rules.cue == "according to" or (rules.cue or "").endswith("ing"))


def _same_sentence(ctx: ArticleContext, att: dict) -> bool:
    """The attribution's source and cue are in one sentence."""
    if att.get("source_start") is None or att.get("cue_start") is None:
        return True
    return ctx.sentence_of(ctx.word_at(att["source_start"])) == ctx.sentence_of(ctx.word_at(att["cue_start"]))


_PREPOSITIONS = frozenset({"at", "of", "for", "from", "in", "with", "to", "on", "by"})
_DANGLING = _PREPOSITIONS | {"and", "or"}  # a source span never ends in one: the model's span ran on


def _source_words(ctx: ArticleContext, att: dict) -> tuple[int, int]:
    """The first and last word of an attribution's source, without punctuation or a dangling preposition or
    conjunction at its end: "The program, called EB-5," ends at its last word, and "The prime minister's cabinet
    on" (the model's span stopped inside "on Wednesday") at "cabinet"."""
    first, last = ctx.word_at(att["source_start"]), ctx.word_at(att["source_end"] - 1)
    while last > first and (not ctx.words[last].text[:1].isalnum() or ctx.words[last].text.lower() in _DANGLING):
        last -= 1
    return first, last


def model_claimant(ctx: ArticleContext, att: dict, anchor: int | None = None) -> Claimant:
    cue = att.get("cue")
    cue_word = ctx.word_at(att["cue_start"]) if att.get("cue_start") is not None else None
    if att.get("source_start") is None or att.get("source_end") is None or \
            att["source_end"] <= att["source_start"]:
        return Claimant(None, None, None, cue.lower() if cue else None, "model", cue_word=cue_word)
    s, e = att["source_start"], att["source_end"]
    first, last = _source_words(ctx, att)
    if any(w.text[:1].isalnum() for w in ctx.words[last + 1:ctx.word_at(e - 1) + 1]):
        e = ctx.words[last].end  # a dangling "on" or "and" is not part of the mention
    if anchor is not None and s <= anchor < e:  # a figure is never its own source (a headline's "3,000 Soldiers")
        return Claimant(None, None, None, cue.lower() if cue else None, "model", cue_word=cue_word)
    lows = [w.text.lower() for w in ctx.words[first:last + 1]]
    if lows[-1] in claim_words()["honorifics"]:  # the model stopped at "Mrs" of "Mrs. Clinton": take the name
        after = last + 2 if last + 2 < len(ctx.words) and ctx.words[last + 1].text == "." else last + 1
        name = ctx.ent_at.get(after)
        if name is not None and name["label"] == "PER":
            while ctx.ent_at.get(last + 1) is name or last + 1 < after:
                last += 1
            e = ctx.words[last].end
    extended = lows[-1] in claim_words()["determiners"]
    if extended:  # the model stopped at "The" of "The 30-second spot": the noun it names, as written
        end = cue_word if cue_word is not None and cue_word > last else len(ctx.words)
        while last + 1 < end and ctx.words[last + 1].text[:1].isalnum() and \
                ctx.words[last + 1].text.lower() not in stop_words():
            last += 1
        e = ctx.words[last].end
        lows = [w.text.lower() for w in ctx.words[first:last + 1]]
    span_words = frozenset(range(first, last + 1))
    mention = ctx.text[s:e]
    head = head_entity(ctx, first, last)
    if head is not None:
        record = {"text": mention, "canonical": head.get("canonical"), "label": head["label"]}
    else:
        resolved = None if extended else resolve_mention(ctx, first, last,
                                                         not_in=(att.get("content_start"), att.get("content_end")))
        if resolved is not None and anchor is not None and resolved.get("start") is not None and \
                resolved["start"] <= anchor < resolved["end"]:
            # "Of the 10 judges who will hear the case": the figure is in the phrase "who" stands for
            return Claimant(None, None, None, cue.lower() if cue else None, "model", cue_word=cue_word)
        if resolved is not None:
            record = {"text": resolved["text"], "canonical": resolved.get("canonical"), "label": resolved["label"]}
        elif len(lows) == 1 and (lows[0] in claim_words()["determiners"] | set(claim_words()["possessives"]) |
                                 _PREPOSITIONS | {"that"} or not lows[0][:1].isalnum()):
            # "that", "his" (nobody before it), "In", a dash ("The two juries - one for each defendant - showed"):
            # a lone function word or sign names nobody
            return Claimant(None, None, None, cue.lower() if cue else None, "model", cue_word=cue_word)
        else:
            record = {"text": mention, "canonical": None, "label": "GROUP"}
    return Claimant(record, s, e, cue.lower() if cue else None, "model", span_words, cue_word)


def head_entity(ctx: ArticleContext, first: int, last: int) -> dict | None:
    """The entity that names a source, when it is the phrase's head (its last word): "Trump campaign manager
    Kellyanne Conway", "the U.S.", "South Korea". An entity that only modifies the head names a group, not the
    speaker ("Ukraine's air force", "U.S. intelligence"), and so does one after a preposition ("North Korean
    officials at the United Nations")."""
    ent = ctx.ent_at.get(last)
    if ent is None:
        return None
    if ent["label"] == "PER":
        return ent
    start = last
    while start - 1 >= first and ctx.ent_at.get(start - 1) is ent:
        start -= 1
    before = start - 1
    if before >= first and ctx.words[before].text.lower() == "the":
        before -= 1
    if before >= first and ctx.words[before].text.lower() in _PREPOSITIONS:
        return None
    return ent


def resolve_mention(ctx: ArticleContext, first: int, last: int, not_in=(None, None)) -> dict | None:
    """A pronoun or a definite description with no name in it → the nearest named person (he, she, I) or person
    or organisation (they, it, we; 'the influential US daily') before it, within the paragraph or the three
    sentences before; None when it is neither or nothing fits. not_in: the characters of the attribution's own
    content, whose names are what the source talks about, not the source ('"… Putin …," the embassy wrote')."""
    words = ctx.words
    lows = [words[m].text.lower() for m in range(first, last + 1)]
    if not lows:
        return None
    if len(lows) == 1 and lows[0] in claim_words()["possessives"]:  # "his comment about …": the one he refers to
        lows = [claim_words()["possessives"][lows[0]]]
    if len(lows) == 1 and lows[0] in claim_words()["relative_pronouns"]:
        # "the Saudi government, which has denied …": the noun phrase right before it, not a name sentences back
        end = first - 1 if first - 1 >= 0 and words[first - 1].text == "," else first
        start, lo = end, ctx.sentence_of(first)[0]
        while start - 1 >= lo and words[start - 1].text[:1].isalnum() and (
                words[start - 1].text[:1].isupper() or words[start - 1].text.lower() not in stop_words() or
                words[start - 1].text.lower() in claim_words()["determiners"]):
            start -= 1
            if words[start].text.lower() in claim_words()["determiners"]:
                break  # "members of the Saudi government, which": the phrase starts at its article
        if start < end:
            head = ctx.ent_at.get(end - 1)
            return {"text": _span_text(ctx.text, words, (start, end)),
                    "canonical": head.get("canonical") if head else None, "label": head["label"] if head else "GROUP",
                    "start": words[start].start, "end": words[end - 1].end}
        # after a parenthesis ("… -- most of whom … -- who cited"): the nearest name, as for a pronoun
    pronoun = len(lows) == 1 and lows[0] in claim_words()["pronouns"] | claim_words()["relative_pronouns"]
    description = lows[0] in ("the", "this", "that") and len(lows) >= 2 and not lows[-1].endswith("s")
    if not (pronoun or description):
        return None
    labels = ("PER",) if lows[0] in ("he", "she", "i") else ("PER", "ORG")
    sent_start = ctx.sentence_of(first)[0]
    lo = ctx.sentences[max(0, bisect.bisect_right(ctx.sentence_starts, sent_start) - 4)][0]
    for m in range(first - 1, lo - 1, -1):
        ent = ctx.ent_at.get(m)
        if ent and ent["label"] in labels and not (not_in[0] is not None and
                                                     not_in[0] <= ctx.words[m].start < not_in[1]):
            return ent
    return None


RULES_REACH = 120  # words; news sentences run to about 60


def rules_claimant(ctx: ArticleContext, k: int) -> Claimant:
    """The cue rules for a figure no attribution holds: 'according to X'; else the nearest cue verb before the
    figure (or after it in the same clause) and the noun phrase before the cue; a pronoun resolves as above.
    The search reaches RULES_REACH words either side: a "sentence" of thousands of words (a table or list
    without stops) would otherwise cost time in the square of its length, once per figure."""
    s, e = ctx.sentence_of(k)
    s, e = max(s, k - RULES_REACH), min(e, k + RULES_REACH + 1)
    words, lows = ctx.words, [w.text.lower() for w in ctx.words[s:e]]
    span, cue, cue_word = _rules_span(words, s, e, k, lows, ctx.ent_at)
    if span is None:
        return Claimant(None, None, None, cue, None)
    if span[1] - span[0] == 1 and lows[span[0] - s] in claim_words()["pronouns"]:
        ent = resolve_mention(ctx, span[0], span[0])
        if ent is not None:
            return Claimant({"text": ent["text"], "canonical": ent.get("canonical"), "label": ent["label"]},
                            words[span[0]].start, words[span[0]].end, cue, "rules", frozenset([span[0]]), cue_word)
    ctext = _span_text(ctx.text, words, span)
    if span[1] - span[0] == 1 and (ctext.islower() or not any(c.isalnum() for c in ctext)) and \
            ctext not in claim_words()["np_nouns"]:
        return Claimant(None, None, None, cue, None)  # "from", "only", "-": no noun phrase, no claimant
    head = ctx.ent_at.get(span[1] - 1)
    if head is None and all(w.text.lower() in stop_words() for w in words[span[0]:span[1]]):
        return Claimant(None, None, None, cue, None)  # "Another", "First", "They": function words name nobody
    # the entity names the claimant only when it is the phrase's head ("the U.S.", "President Zelensky"),
    # not a modifier ("South Korean lawmakers" are lawmakers, not South Korea)
    record = {"text": ctext, "canonical": head.get("canonical") if head else None,
              "label": head["label"] if head else "GROUP"}
    return Claimant(record, words[span[0]].start, words[span[1] - 1].end, cue, "rules", frozenset(range(*span)),
                    cue_word)


def _rules_span(words, s, e, k, lows, named=()):
    """(claimant word span or None, cue, cue word index) for a figure at word k of sentence [s, e). named: word
    indices inside entities."""
    cw = claim_words()

    def is_cue(c):  # a cue verb, not part of a name ("the United States"), a noun after an article ("the
        # reports") or an infinitive ("declined to say", "Needless to say"); after a possessive it stays a cue:
        # "its forecast" names its source
        return lows[c - s] in cw["cues"] and c not in named and (c == s or lows[c - 1 - s] not in cw["determiners"]
                                                                 and lows[c - 1 - s] != "to")
    according = [a for a in range(s, e - 1) if lows[a - s] == "according" and lows[a + 1 - s] == "to"]
    if according:
        before_k = [a for a in according if a < k]
        a = before_k[-1] if before_k else according[0]
        end = a + 2
        while end < e and words[end].text not in (",", ".", ";") and (a > k or end < k):
            end += 1
        return ((a + 2, end) if end > a + 2 else None), "according to", a  # "…, according to." names nobody
    def reports(c):  # "added", "posted", "recorded" also act on an object: "Singler added six rebounds",
        # "Villa posted $7,500 bail". Before the figure they report only with "that", a colon or a quote between
        return lows[c - s] not in cw["object_cues"] or any(
            lows[m - s] in ("that", ":") or lows[m - s][:1] in "\"“”'‘" for m in range(c + 1, k))
    before = [c for c in range(s, k) if is_cue(c) and reports(c)]
    after = []
    for c in range(k + 1, e):
        if lows[c - s] in (";",) or (lows[c - s] in ("and", "but", "while") and lows[c - 1 - s] == ","):
            break  # "Inflation eased to 2.1%, and the governor said ...": the cue belongs to the next clause
        if is_cue(c):
            after.append(c)
            break
    if not before and not after:
        return None, ("reportedly" if {"reportedly", "allegedly"} & set(lows) else None), None
    c = before[-1] if before else after[0]
    np = _np_before(words, c, s)
    if c - 1 >= s and words[c - 1].text == ",":
        # an appositive (", Amara Mensah, said"), else the clause's subject (", alleging that")
        np = _np_before(words, c - 1, s)
        if np is None or not any(words[m].text[:1].isupper() for m in range(*np)):
            np = _subject_np(words, s, e)
    elif c - 1 >= s and words[c - 1].text.lower() == "and" or np is None:
        np = _subject_np(words, s, e)  # "Frederiksen visited Kyiv and announced": the sentence's subject
    if np is not None and np[0] <= c < np[1]:
        np = None  # the cue word is no claimant of itself ("Posted at 10:30", "Added Smith: ...")
    return np, lows[c - s], c


def _np_before(words, k, lo) -> tuple[int, int] | None:
    """Word span of the noun phrase ending right before word k (auxiliaries skipped), not before lo.

    Capitalized words, possessives and common claimant nouns ('officials', 'agency') extend it leftwards; when
    the scan stops at another lower-case word and the clause began at most 4 words earlier ('A leading chipmaker
    reported'), the whole clause opening is the phrase."""
    cw = claim_words()
    end = k
    while end - 1 >= lo and words[end - 1].text.lower() in cw["aux"]:
        end -= 1
    start = end
    while start - 1 >= lo:
        w = words[start - 1].text
        low = w.lower()
        if w[:1].isupper() or low in ("'s", "’s", "the", "-") or low in cw["np_nouns"]:
            start -= 1
            continue
        if low.isalpha() and low not in cw["leading"]:
            clause = start - 1
            while clause - 1 >= lo and words[clause - 1].text not in (",", ";", ":") and start - clause < 5:
                clause -= 1
            if (clause == lo or words[clause - 1].text in (",", ";", ":")) and start - clause < 5 and \
                    not any(words[m].text.lower() in cw["cues"] | {"that"} for m in range(clause, end)):
                start = clause
        break
    while start < end and words[start].text.lower() in cw["leading"]:
        start += 1
    return (start, end) if start < end else None


def _subject_np(words, lo, hi) -> tuple[int, int] | None:
    """The sentence's subject: the noun phrase at its start (after an opening 'In Seoul,' / 'Meanwhile,')."""
    start = lo
    for k in range(lo, min(hi, lo + 6)):
        if words[k].text == ",":
            start = k + 1
            break
    end = start
    nouns = claim_words()["np_nouns"] | {"'s", "’s", "the"}
    while end < hi and (words[end].text[:1].isupper() or words[end].text.lower() in nouns):
        end += 1
    return (start, end) if end > start else None


def _span_text(text, words, span):
    return text[words[span[0]].start:words[span[1] - 1].end] if span and span[1] > span[0] else None


# ---- 5. subject ------------------------------------------------------------------------------------------------
def find_subject(ctx: ArticleContext, fig: Figure, claimant: Claimant) -> str | None:
    """The entity the figure is about: inside the figure's phrase, else the nearest other one before it in the
    sentence (not the claimant, not a person)."""
    k = fig.number_start
    s, _ = ctx.sentence_of(k)
    last = fig.unit_word if fig.unit_word is not None else fig.word_end - 1
    for m in range(k + 1, last + 1):
        if m in ctx.ent_at:
            return actor_name(ctx.ent_at[m]["text"], ctx.ent_at[m]["label"])
    for m in range(k - 1, s - 1, -1):
        if m in ctx.ent_at and m not in claimant.words and ctx.ent_at[m]["label"] != "PER":
            return actor_name(ctx.ent_at[m]["text"], ctx.ent_at[m]["label"])
    return None


# ---- 6. records ------------------------------------------------------------------------------------------------
def extract_claims(article: dict) -> list[dict]:
    """Every claim of one article: its denials, then its figures, in reading order. None for an article in a
    language the English rules do not read (claimcore/language.py): no claim is better than a misread figure."""
    if not english_models_apply(article.get("language")):
        return []
    ctx = article_context(article)
    claims = []
    for d in find_denials(ctx):
        anchor = ctx.words[d.cue_word].start
        who = denial_claimant(ctx, d, anchor)
        claims.append(claim_record(ctx, d.cue_word, who, cue=d.cue, stance="denies", denied=d.denied,
                                   start=anchor, end=ctx.words[d.cue_word].end))
    figures = find_figures(ctx)
    for fig in figures:
        # "Donna Sampson Rawlings, 59, of Ashton, said …": an age that describes a person is nobody's claim
        who = Claimant(None, None, None, None, None) if fig.of_person else \
            attribute(ctx, fig.number_start, ctx.words[fig.number_start].start)
        if who.record is not None and who.start is not None and (who.start <= fig.start < who.end or
                                                                 _only_a_figure(ctx, who, figures)):
            # a figure inside its own claimant's phrase is not that claimant's claim: "63 percent said …" (the
            # poll's respondents), "Two senior officials told Reuters" (the outlet counts its sources); and a
            # claimant that is only a figure names nobody ("46 percent would choose Clinton and 44 percent …")
            who = Claimant(None, None, None, who.cue, None)
        claims.append(claim_record(ctx, fig.number_start, who, cue=who.cue, stance="asserts", fig=fig,
                                   subject=find_subject(ctx, fig, who), start=fig.start, end=fig.end))
    return claims


def _only_a_figure(ctx: ArticleContext, who: Claimant, figures: list[Figure]) -> bool:
    """The claimant's words, function words aside, all belong to one share or bare number: "46 percent", "\" while
    73 percent" (not "Two senior officials": a count of people names a group)."""
    first, last = ctx.word_at(who.start), ctx.word_at(who.end - 1)
    content = [k for k in range(first, last + 1)
               if ctx.words[k].text[:1].isalnum() and ctx.words[k].text.lower() not in stop_words()]
    return bool(content) and any(f.number_start <= content[0] and content[-1] < f.word_end and
                                 (f.unit_family in ("percent", "fraction") or f.unit is None) for f in figures)


def denial_claimant(ctx: ArticleContext, d: Denial, anchor: int) -> Claimant:
    """The attribution whose cue is the denial verb gives its source; else the noun phrase before the verb, or the
    sentence's subject."""
    for att in ctx.attributions:
        if att.get("cue_start") is not None and att["cue_start"] <= anchor < att["cue_end"] and \
                att.get("source_start") is not None:
            return model_claimant(ctx, att)
    s, e = ctx.sentence_of(d.cue_word)
    np = _np_before(ctx.words, d.cue_word, s) or _subject_np(ctx.words, s, e)
    if np is None:
        return Claimant(None, None, None, d.cue, None)
    head = ctx.ent_at.get(np[1] - 1)
    record = {"text": _span_text(ctx.text, ctx.words, np), "canonical": head.get("canonical") if head else None,
              "label": head["label"] if head else "GROUP"}
    return Claimant(record, ctx.words[np[0]].start, ctx.words[np[1] - 1].end, d.cue, "rules",
                    frozenset(range(*np)))


def claim_record(ctx: ArticleContext, k: int, who: Claimant, *, cue, stance, start, end, fig: Figure | None = None,
                 subject=None, denied=None) -> dict:
    article, words = ctx.article, ctx.words
    s, e = ctx.sentence_of(k)
    sent_start, sent_end = words[s].start, words[e - 1].end
    others = sorted({ent.get("canonical") or ent["text"] for m, ent in ctx.ent_at.items() if s <= m < e})
    value = fig.value if fig else None
    unit = fig.unit if fig else None
    family = (count_family(unit) if fig.unit_family == "count" else fig.unit_family) if fig else None
    anchor = words[fig.number_start].start if fig else start
    return {
        # the number's (or the denial cue's) own offset tells apart two claims in one sentence
        "claim_id": stable_id(article["article_id"], anchor, stance, value, unit),
        "article_id": article["article_id"],
        "story_id": article.get("story_id"),
        "url": article.get("url"),
        "outlet": article.get("outlet"),
        "published_at": article.get("published_at"),
        "sentence": ctx.text[sent_start:sent_end],
        "evidence_start": sent_start,
        "evidence_end": sent_end,
        "claimant": who.record,
        "cue": cue,
        "stance": stance,
        "subject": subject,
        "value": value,
        "value_text": fig.value_text if fig else None,
        "unit": unit,
        "unit_family": family,
        "approximate": fig.approximate if fig else None,
        "qualifier": fig.qualifier if fig else None,
        "denied_text": denied,
        "entities": others,
        "extractor": EXTRACTOR,
        "value_low": fig.value_low if fig else None,
        "value_high": fig.value_high if fig else None,
        "vague": fig.vague if fig else None,
        "figure_start": start,
        "figure_end": end,
        "claimant_start": who.start if who.record else None,
        "claimant_end": who.end if who.record else None,
        "attribution": who.method if who.record else None,
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


