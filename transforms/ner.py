"""RecognizeEntities: articles → articles with `entities` and `attributions`, through Beam's RunInference.

Our own ModelHandler (Beam's huggingface_inference imports TensorFlow and breaks with transformers 5). The model
loads once per worker process (RunInference shares it between the process's threads). Exact copies of a text are
tagged once (transforms.common.OncePerText). A batch that raises is retried one article at a time, so one bad
article costs its own entities (an `ner_failed` error row) and never its neighbours'. The model is English: an
article in another language (claimcore/language.py) passes with no entities, counted.
"""
from __future__ import annotations

from typing import Any, Iterable, NamedTuple, Optional, Sequence

import apache_beam as beam
from apache_beam.ml.inference.base import ModelHandler, RunInference

from claimcore.attribution_model import ArticleAnalyzer, AttributionTagger, resolve_attribution_dir
from claimcore.entities import canonicalize_entities
from claimcore.language import english_models_apply
from claimcore.ner_model import NerTagger, resolve_model_dir
from claimcore.text import glued_title_ends
from transforms.common import ERRORS, CountingDoFn, OncePerText, loaded_once

# articles handed to one analyze call: their sentences are queued together, so the model's parallel calls keep the
# cores busy across articles. Results never depend on it (each sentence is its own model call).
ARTICLES_PER_CALL = 32
OTHER_LANGUAGE = "other_language"  # the tag of articles the English models do not run on


class NerModelHandler(ModelHandler[dict, tuple, ArticleAnalyzer]):
    """Loads the NER model and the attribution head on it (one encoder pass feeds both); attribution_ref 'none'
    runs NER alone."""

    def __init__(self, model_ref: str | None = None, articles_per_call: int = ARTICLES_PER_CALL,
                 threads: int | None = None, attribution_ref: str | None = None):
        self.model_ref = model_ref
        self.articles_per_call = articles_per_call
        self.threads = threads
        self.attribution_ref = attribution_ref

    def load_model(self) -> ArticleAnalyzer:
        return loaded_once((type(self).__name__, self.model_ref, self.threads, self.attribution_ref), self._load)

    def _load(self) -> ArticleAnalyzer:
        model_dir = resolve_model_dir(self.model_ref)
        ner = NerTagger.load(model_dir, threads=self.threads)
        attribution = None
        if (self.attribution_ref or "").lower() != "none" and getattr(ner.backend, "has_features", True):
            head_dir = resolve_attribution_dir(self.attribution_ref, model_dir)
            if head_dir is not None:
                attribution = AttributionTagger.load(head_dir, model_dir)
        return ArticleAnalyzer(ner, attribution)

    def run_inference(self, batch: Sequence[dict], model: ArticleAnalyzer,
                      inference_args: Optional[dict[str, Any]] = None) -> Iterable[tuple]:
        batch = list(batch)  # RunInference hands a tuple
        try:
            found = model.analyze([a["text"] for a in batch], [a.get("title") for a in batch])
            return [(a, result, None) for a, result in zip(batch, found)]
        except Exception:  # noqa: BLE001 - isolate the culprit below
            out = []
            for a in batch:
                try:
                    out.append((a, model.analyze([a["text"]], [a.get("title")])[0], None))
                except Exception as e:  # noqa: BLE001
                    out.append((a, None, f"{type(e).__name__}: {e}"))
            return out

    def batch_elements_kwargs(self):
        return {"min_batch_size": 1, "max_batch_size": self.articles_per_call}

    def get_metrics_namespace(self) -> str:
        return "claimwire_ner"


def article_text(article: dict) -> str:
    """What the analysis of an article depends on: its text, and its title where the text runs the title on into
    its first sentence (a sentence boundary there). Exact copies under other titles still share one analysis."""
    text = article.get("text") or ""
    if not isinstance(text, str):
        return text  # a bad record: OncePerText keys it by its repr, and it fails inside the model call alone
    glued = glued_title_ends(text, article.get("title"))
    return f"{text}\x00{article['title']}" if glued else text


class AttachEntities(CountingDoFn):
    stage = "ner"

    def process(self, result):
        article, found, error = result
        self.count("in")
        entities, attributions = found if error is None else ([], None)
        if error is not None:
            yield self.dead_letter(article.get("url") or article["article_id"], "ner_failed", error)
        self.count("entities", len(entities))
        self.count("attributions", len(attributions or ()))
        self.count("out")
        yield dict(article, entities=canonicalize_entities(entities), attributions=attributions)


class SkipOtherLanguages(CountingDoFn):
    """Articles the English models apply to (English, or a language that cannot be told) go on to the model; any
    other keeps its row with no entities and no attributions, counted as `ner.other_language`."""
    stage = "ner"

    def process(self, article):
        if english_models_apply(article.get("language")):
            yield article
        else:
            self.count("other_language")
            yield beam.pvalue.TaggedOutput(OTHER_LANGUAGE, dict(article, entities=[], attributions=None))


class Tagged(NamedTuple):
    articles: beam.PCollection
    errors: beam.PCollection


class RecognizeEntities(beam.PTransform):
    """articles → articles with entities (main) + dead letters ('errors')."""

    def __init__(self, model_ref: str | None = None, attribution_ref: str | None = None,
                 articles_per_call: int = ARTICLES_PER_CALL):
        super().__init__()
        self.handler = NerModelHandler(model_ref, articles_per_call, attribution_ref=attribution_ref)

    def expand(self, articles):
        routed = articles | "ByLanguage" >> beam.ParDo(SkipOtherLanguages()).with_outputs(OTHER_LANGUAGE,
                                                                                            main="english")
        tagged = (routed.english
                  | "Tag" >> OncePerText(RunInference(self.handler), article_text, "ner")
                  | "AttachEntities" >> beam.ParDo(AttachEntities()).with_outputs(ERRORS, main="articles"))
        every = (tagged.articles, routed[OTHER_LANGUAGE]) | "AllLanguages" >> beam.Flatten()
        return Tagged(every, tagged.errors)
