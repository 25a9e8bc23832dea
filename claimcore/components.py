"""The versioned parts of claimwire, named in one registry (the spaCy way), and the one place their version stamps
are written from: `claims.extractor` on every claim row, and each run's `components` in the dataset manifest.

A component's version changes when its output does. tests/test_components.py runs each component on fixed
inputs (tests/golden/) and compares a digest of its output with the digest recorded here for the current version,
so an output change without a version bump fails CI. After a deliberate change:

    .venv/bin/python tests/golden/regenerate.py NAME     # rewrites tests/golden/NAME.json, prints the new digest

then add the next version with that digest, and a line on what changed, to `versions` below. Earlier versions stay, with the digest they had
over the golden inputs of their time: a stamp once written keeps naming one behaviour.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Component:
    name: str
    what: str
    versions: tuple[tuple[int, str, str], ...]  # (version, digest of its golden output, what changed), oldest first

    @property
    def version(self) -> int:
        return self.versions[-1][0]

    @property
    def digest(self) -> str:
        return self.versions[-1][1]

    @property
    def stamp(self) -> str:
        return f"{self.name}/{self.version}"


COMPONENTS = {c.name: c for c in (
    Component("extractor", "HTML page → text, title, author, date, language: trafilatura and htmldate behind "
              "claimcore/extraction.py (charset reading included)", (
                  (1, "04920fe552dd7849", "first tracked version"),)),
    Component("language", "title and text → ISO 639 language code: fastText lid.176 through claimcore/language.py "
              "(its sample, letters and confidence floors)", (
                  (1, "dae979f3cabe2707", "first version"),)),
    Component("figures", "text → figures with value, range, unit and unit family: claimcore/figures.py with its "
              "word lists and unit lexicon (claimcore/data/)", (
                  (2, "44590e8da1ba4b5d", "first tracked version (the stamp 'figures/1' was never written)"),)),
    Component("ner", "text and title → entities: the shipped claimwire-ner-v1 through claimcore/ner_model.py "
              "(words, sentences, windows, constrained decoding) and the entity rules", (
                  (1, "86c1d97fd3fb0aae", "first tracked version"),
                  (2, "85b549f328d45b87", "a headline the text runs on into its first sentence is a sentence of "
                                          "its own"))),
    Component("attribution", "text and title → attributions (source, cue, content): claimwire-attribution-v1 over "
              "the NER encoder's features, linked by claimcore/attribution_model.py", (
                  (1, "fa68e7c8591fb066", "first tracked version"),
                  (2, "ad14555f58d690bb", "as ner/2: a run-on headline is a sentence of its own"))),
    Component("embedder", "title and lead → story embedding: claimwire-embed-v1 (int8 ONNX) through "
              "claimcore/embedder.py", (
                  (1, "e8a83da4e3424e76", "first tracked version"),)),
    Component("claims", "article with entities and attributions → claim rows, and a story's story_claims: "
              "claimcore/claims.py with claimcore/data/claim_words.json", (
                  (3, "b335ea1085841967", "first tracked version ('claims/2' stamped rows of many rule sets)"),
                  (4, "2db40cf5fdca32be", "no claims from an article in a language the English rules do not read"),
                  (5, "154642edeb55262d", "a headline run on into the first sentence is a sentence of its own: "
                                          "its figure takes no body claimant"))),
    Component("stories", "article signatures → copies, stories and threads: claimcore/story_grouping.py with "
              "the default StoryParams", (
                  (1, "5ff083d2bd1390b3", "first tracked version"),
                  (2, "1123d5449a9ea346", "an article in a language the embedder does not read is grouped with its "
                                          "copies only"),
                  (3, "1efc785fabb50047", "caps that hold for clusters: no story spans more than thread_window_days, "
                                          "and a component over max_component is clustered in runs, not kept "
                                          "whole"),
                  (4, "74425eadd05d01e9", "a story id carried from an earlier run names one of the stories a later "
                                          "run splits it into (carried_ids); a run regroups only the story index "
                                          "rows within two thread windows of its articles (index_reach)"))),
)}


def stamp(name: str) -> str:
    """'claims/5': the component's name and current version."""
    return COMPONENTS[name].stamp


def stamps(names=None) -> dict[str, str]:
    """{name: stamp} of the named components (default: all), for a run's manifest entry."""
    return {n: COMPONENTS[n].stamp for n in (names if names is not None else COMPONENTS)}
