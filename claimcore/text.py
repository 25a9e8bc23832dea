"""Text basics every part of claimwire shares: words with character offsets, sentences, stop words, the
normalized text that identifies a copy, control characters.

One word splitter for NER, attribution, figures and claims, so that every offset agrees: text[w.start:w.end] is
w.text. Sentences come from spaCy's rule-based sentencizer (no model file) plus every line break.
"""
from __future__ import annotations

import bisect
import functools
import hashlib
import re
import threading
import unicodedata
from dataclasses import dataclass
from typing import Sequence

# Words as CoNLL-2003 tokenizes them: abbreviations (U.S.), words with inner hyphens/apostrophes/periods,
# numbers with separators, and every other non-space character on its own.
_WORD_RE = re.compile(
    r"(?:[A-Za-z]\.){2,}"  # U.S. / U.N.
    r"|['’]s\b"  # the possessive is its own token, as in CoNLL ("Korea 's")
    r"|\w+(?:[-.,]\w+|['’](?!s\b)\w+)*"  # Sun-won, O'Neil, 3,000, 1.5
    r"|[^\w\s]",
    re.UNICODE,
)


@dataclass(frozen=True)
class Word:
    text: str
    start: int
    end: int


def split_words(text: str) -> list[Word]:
    """Tokenizes text into words with character offsets; text[w.start:w.end] == w.text always."""
    return [Word(m.group(), m.start(), m.end()) for m in _WORD_RE.finditer(text)]


_OPENING_QUOTES = {'"', "“", "'", "‘"}


# abbreviations that spaCy ends a sentence on, though a number follows: "the No. 5 seed", "Art. 5 of the treaty"
_BEFORE_A_NUMBER = re.compile(r"(?:^|\W)(?:No|Nos|Nr|Vol|Art|Fig|Sec|Ch|pp?)\.\s*$")


_sentencizer_lock = threading.Lock()


# Courtesy titles before a name, with or without their period ("Mr Moon", "Mrs. Clinton"): the one list, read by
# the entity rules (a role before a name) and the claims (a source span that stopped at "Mrs").
HONORIFICS = frozenset(title + dot for title in ("mr", "mrs", "ms", "dr") for dot in ("", "."))

# Titles that news writes before a name and spaCy's English exceptions lack ("Lt. Gen. Ben Hodges", "Det. Joe
# Smith said"): without them its sentencizer ends a sentence at the period, inside the name.
_TITLE_ABBREVIATIONS = ("Lt", "Lieut", "Sgt", "Capt", "Cpt", "Col", "Maj", "Cpl", "Pvt", "Spc", "Cmdr", "Brig",
                        "Supt", "Det", "Insp", "Atty", "Amb", "Pres", "Sec", "Hon", "Fr", "Msgr", "Ald", "Sr", "Ft",
                        "Sens", "Reps", "Gens")


@functools.lru_cache(maxsize=1)
def _sentencizer():
    """spaCy's tokenizer (its English abbreviation exceptions: Mr., Mrs., Dr., Gen., Sen., U.S., Jan., initials,
    plus the titles above) with its rule-based sentencizer: no model file, ~300k words/s."""
    import spacy
    nlp = spacy.blank("en")
    for title in _TITLE_ABBREVIATIONS:
        nlp.tokenizer.add_special_case(title + ".", [{"ORTH": title + "."}])
    nlp.add_pipe("sentencizer")
    return nlp


@functools.lru_cache(maxsize=1)
def stop_words() -> frozenset:
    """spaCy's English stop words (function words: 'who', 'should', 'among', 'that'): spaCy's list, not ours."""
    from spacy.lang.en.stop_words import STOP_WORDS
    return frozenset(STOP_WORDS)


_PUNCTUATION_RUN = re.compile(r"[^\w\s]{64,}")


@functools.lru_cache(maxsize=512)
def sentence_start_offsets(text: str) -> tuple[int, ...]:
    """Character offsets where sentences start (spaCy); an opening quote that spaCy leaves at the end of the
    previous sentence ('arrived. "' | 'It is over') starts the next one."""
    if not text.strip():
        return ()
    # spaCy peels a run of punctuation one character per pass (10,000 quote marks: 6 s); such a run holds no
    # sentence boundary, so it is read as spaces of the same length (offsets stay those of `text`)
    plain = _PUNCTUATION_RUN.sub(lambda m: " " * len(m.group()), text)
    with _sentencizer_lock:  # one tokenizer shared by the process's threads
        doc = _sentencizer()(plain)
        sents = [(s.start_char, s.end_char, s[-1].text, s[-1].idx) for s in doc.sents]
    starts = [start for start, _, _, _ in sents]
    for k, (start, _, last, last_idx) in enumerate(sents[:-1]):
        if (last in _OPENING_QUOTES and last_idx > start and text[last_idx - 1].isspace()
                and last_idx + 1 < len(text) and not text[last_idx + 1].isspace()):
            starts[k + 1] = last_idx
        elif text[starts[k + 1]:starts[k + 1] + 1].isdigit() and \
                _BEFORE_A_NUMBER.search(text, max(start, starts[k + 1] - 8), starts[k + 1]):
            starts[k + 1] = None  # "the No. | 5 seed": one sentence
    starts = [s for s in starts if s is not None]
    # cached: the NER stage and the claims stage split the same article text (the same process, usually)
    return tuple(sorted(set(starts)))


MIN_GLUED_TITLE_WORDS = 4  # a shorter title is too likely to be the first words of a sentence that goes on


def _starts_upper(text: str, at: int) -> bool:
    """Whether the first letter after offset `at` (past spaces and an opening quote) is a capital."""
    rest = text[at:at + 8].lstrip(" \t\"“‘'(")
    return bool(rest) and rest[0].isupper()


def glued_title_ends(text: str, title: str | None) -> tuple[int, ...]:
    """Where a headline written at the start of a line runs on into the body's first sentence ("3000 North Korean
    Troops Sent to Russia for Ukraine War There are increasing reports …", as one outlet prints it): the character
    offsets just after each such title. A headline on a line of its own needs nothing (a line break is a boundary)."""
    title_words = (title or "").split()
    if len(title_words) < MIN_GLUED_TITLE_WORDS:
        return ()
    # what follows must start a sentence: a lede that repeats the headline's words goes on in lower case ("Fed
    # raises rates by 0.25 points"), and its figure must keep its sentence
    pattern = r"(?m)^[ \t]*" + r"[ \t]+".join(map(re.escape, title_words)) + r"(?=[ \t]+[\"“‘'(]?[^\W\d_])"
    return tuple(m.end() for m in re.finditer(pattern, text) if _starts_upper(text, m.end()))


def sentence_spans(text: str, words: Sequence[Word], title: str | None = None) -> list[tuple[int, int]]:
    """Word-index spans [start, end) of sentences: spaCy's abbreviation-aware boundaries ("Mr. Clyburn" stays one
    sentence), every line break (paragraphs, headlines), and the end of the article's `title` where the text runs it
    on into its first sentence (glued_title_ends): a headline is a sentence of its own, so its figure never takes
    the body's claimant."""
    if not words:
        return []
    starts = sentence_start_offsets(text)
    glued = glued_title_ends(text, title)
    if glued:
        starts = tuple(sorted(set(starts) | set(glued)))
    spans, start = [], 0
    for i in range(1, len(words)):
        gap_lo, gap_hi = words[i - 1].end, words[i].start
        k = bisect.bisect_right(starts, gap_hi)
        boundary = k > 0 and gap_lo <= starts[k - 1] <= gap_hi
        if boundary or "\n" in text[gap_lo:gap_hi]:
            spans.append((start, i))
            start = i
    spans.append((start, len(words)))
    return spans


_WS_RE = re.compile(r"\s+")


def normalized_text(text: str) -> str:
    """The form hashed for exact-duplicate detection: NFKC, case-folded, whitespace collapsed."""
    return _WS_RE.sub(" ", unicodedata.normalize("NFKC", text).casefold()).strip()


def content_hash(text: str) -> str:
    return hashlib.sha256(normalized_text(text).encode("utf-8")).hexdigest()[:32]


CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ufffe\uffff]")
