"""ExtractClaims: articles (with entities, attributions and story ids) → claims; AggregateStoryClaims → story_claims.

The extraction itself, one article at a time, is claimcore/claims.py; these stages run it and count what it did.
"""
from __future__ import annotations

import apache_beam as beam

from claimcore.claims import extract_claims, story_claim_records
from claimcore.language import english_models_apply
from transforms.common import ERRORS, CountingDoFn


class ExtractArticleClaims(CountingDoFn):
    stage = "claims"

    def process(self, article):
        self.count("in")
        if article.get("duplicate_of"):
            self.count("copies_skipped")  # a reprint repeats its original's claims: not a second source
            return
        if not english_models_apply(article.get("language")):
            self.count("other_language")  # English rules and figures would misread it ("3.000" as 3)
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
    """articles → claims.v2 records (main) + dead letters ('errors')."""

    def expand(self, articles):
        return articles | "Extract" >> beam.ParDo(ExtractArticleClaims()).with_outputs(ERRORS, main="claims")


class AggregateStoryClaims(beam.PTransform):
    """claims → story_claims.v1 records."""

    def expand(self, claims):
        return (claims
                | "KeyByStory" >> beam.Map(lambda c: (c["story_id"] or c["article_id"], c))
                | "GroupByStory" >> beam.GroupByKey()
                | "Aggregate" >> beam.FlatMapTuple(lambda sid, cs: story_claim_records(sid, list(cs))))
