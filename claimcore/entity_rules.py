"""entity-rules/2: a small, documented relabelling layer over the NER model's spans (like spaCy's entity_ruler).

Three cases where the model is faithful to CoNLL-2003 but wrong for claimwire:

1. Seats of government used for the institution ("The Kremlin has dismissed...", "White House spokesperson").
   CoNLL-2003 labels "Kremlin" LOC in all 13 of its occurrences, so no model trained on it says ORG; for claims
   these are speakers (institutions), hence ORG here, unless a locative word precedes them ("in the Kremlin",
   "visit Downing Street"): then they are the place and stay LOC.
2. People the model calls ORG/MISC/LOC because the name is rare in 1996 Reuters text (e.g. hyphenated Korean given
   names: "Park Sun-won" → ORG at 0.65), when the context says it is a person: a role noun right before it
   ("lawmaker Park Sun-won", "President X") or an appositive right after it (", a member of...", ", the
   spokesperson"). Only spans the model is not sure of (mean score < 0.9) and of at most 4 words are changed.
3. A punctuation word at either edge of a span goes back to O (new in entity-rules/2). CoNLL keeps "Mr." whole,
   split_words cuts it into "Mr" + "." (one tokenizer for figures, claims and entities), and the model then often
   starts the name at the period: ". Quiros" for "Mr. Quiros", or a lone "." entity. On PolNeAR dev (84 US
   articles, many with "Mr."/"Mrs.") that was 93 of the model's 5,381 spans: 59 names after a period, 34 lone
   periods. The encoder's input is the same either way (the same wordpieces).

bench/ner.py reports CoNLL-2003 F1 with and without these rules.
"""
from __future__ import annotations

from typing import Sequence

from claimcore.bio import bio_spans
from claimcore.text import HONORIFICS

RULES_VERSION = "entity-rules/2"

INSTITUTIONS = {
    ("kremlin",), ("white", "house"), ("pentagon",), ("downing", "street"), ("elysee",), ("élysée",),
    ("blue", "house"), ("zhongnanhai",), ("quai", "d'orsay"), ("chancellery",),
}
# "office in Downing Street", "return to the Kremlin": the place itself, which stays LOC
LOCATIVE = {"in", "to", "at", "into", "from", "near", "outside", "inside", "toward", "towards", "visit", "visited",
            "visits", "visiting", "reach", "reached", "arrive", "arrived", "left", "leave", "leaving", "across"}

# words that name a person's role: "lawmaker Park Sun-won", "President Yoon", "Mrs. Clinton"
ROLE_BEFORE = HONORIFICS | {
    "president", "minister", "senator", "lawmaker", "legislator", "spokesperson", "spokesman", "spokeswoman",
    "gen.", "general", "governor", "chancellor", "secretary", "ambassador", "mayor", "premier", "chairman",
    "chairwoman", "commander", "rep.", "sen.", "analyst", "professor", "prof.", "judge", "envoy", "colonel",
    "col.", "lt.", "sergeant", "captain",
}
# appositive heads after "<name> , a/an/the": "Park Sun-won, a member of the committee"
ROLE_AFTER = {
    "member", "lawmaker", "legislator", "spokesperson", "spokesman", "spokeswoman", "minister", "official",
    "analyst", "professor", "researcher", "director", "senator", "representative", "adviser", "advisor",
    "expert", "chairman", "chairwoman", "commander", "general", "ambassador", "governor", "mayor", "deputy",
    "former", "veteran", "senior", "retired",
}
UNSURE = 0.9
MAX_PERSON_WORDS = 4


def _relabel(tags: list[str], s: int, e: int, label: str) -> None:
    tags[s] = "B-" + label
    for k in range(s + 1, e):
        tags[k] = "I-" + label


def _punctuation(word: str) -> bool:
    return not any(c.isalnum() for c in word)


def _trim_punctuation(words: Sequence[str], tags: list[str], s: int, e: int, typ: str) -> tuple[int, int]:
    """Rule 3: the span [s, e) without punctuation words at its edges (their tags become O)."""
    while s < e and _punctuation(words[s]):
        tags[s] = "O"
        s += 1
    while e > s and _punctuation(words[e - 1]):
        tags[e - 1] = "O"
        e -= 1
    if s < e:
        tags[s] = "B-" + typ
    return s, e


def _person_context(words: Sequence[str], s: int, e: int) -> bool:
    before = words[s - 1].lower() if s > 0 else ""
    if before == "." and s > 1:  # "Mr" + "." (split_words): the role word is "mr."
        before = words[s - 2].lower() + "."
    if before in ROLE_BEFORE:
        return True
    after = [w.lower() for w in words[e:e + 4]]
    return (len(after) >= 3 and after[0] == "," and after[1] in ("a", "an", "the")
            and after[2] in ROLE_AFTER)


def apply_entity_rules(words: Sequence[str], tags: Sequence[str], scores: Sequence[float]) -> list[str]:
    """The BIO tags of one sentence after entity-rules/2 (see the module docstring)."""
    out = list(tags)
    for s, e, typ in bio_spans(tags):
        s, e = _trim_punctuation(words, out, s, e, typ)
        if s == e:
            continue
        key = tuple(w.lower() for w in words[s:e])
        before = [w.lower() for w in words[max(0, s - 2):s] if w.lower() != "the"]
        if key in INSTITUTIONS and typ != "ORG" and not (before and before[-1] in LOCATIVE):
            _relabel(out, s, e, "ORG")
            continue
        mean = sum(scores[s:e]) / (e - s) if scores else 0.0
        if (typ != "PER" and e - s <= MAX_PERSON_WORDS and mean < UNSURE and _person_context(words, s, e)):
            _relabel(out, s, e, "PER")
    return out
