"""RecognizeEntities: articles → articles with `entities`, through Beam's RunInference.

Our own ModelHandler (Beam's huggingface_inference imports TensorFlow and breaks with transformers 5). The model
loads once per worker process (RunInference shares it between the process's threads); batches are sorted by
length inside NerTagger.predict. A batch that raises is retried one article at a time, so one bad article costs
its own entities (an `ner_failed` error row) and never its neighbours'.
"""
from __future__ import annotations

from typing import Any, Iterable, Optional, Sequence

import apache_beam as beam
from apache_beam.ml.inference.base import ModelHandler, RunInference

from transforms.common import ERRORS, CountingDoFn
from transforms.entities import canonicalize_entities
from transforms.ner_model import NerTagger, resolve_model_dir


class NerModelHandler(ModelHandler[dict, tuple, NerTagger]):
    def __init__(self, model_ref: str | None = None, batch_size: int = 32, threads: int | None = None):
        self.model_ref = model_ref
        self.batch_size = batch_size
        self.threads = threads

    def load_model(self) -> NerTagger:
        return NerTagger.load(resolve_model_dir(self.model_ref), threads=self.threads)

    def run_inference(self, batch: Sequence[dict], model: NerTagger,
                      inference_args: Optional[dict[str, Any]] = None) -> Iterable[tuple]:
        batch = list(batch)  # RunInference hands a tuple
        try:
            found = model.predict([a["text"] for a in batch], batch_size=self.batch_size)
            return [(a, ents, None) for a, ents in zip(batch, found)]
        except Exception:  # noqa: BLE001 - isolate the culprit below
            out = []
            for a in batch:
                try:
                    out.append((a, model.predict([a["text"]], batch_size=self.batch_size)[0], None))
                except Exception as e:  # noqa: BLE001
                    out.append((a, None, f"{type(e).__name__}: {e}"))
            return out

    def batch_elements_kwargs(self):
        return {"min_batch_size": 1, "max_batch_size": self.batch_size}

    def get_metrics_namespace(self) -> str:
        return "claimwire_ner"


class AttachEntities(CountingDoFn):
    stage = "ner"

    def process(self, result):
        article, entities, error = result
        self.count("in")
        if error is not None:
            yield self.dead_letter(article.get("url") or article["article_id"], "ner_failed", error)
            entities = []
        self.count("entities", len(entities))
        self.count("out")
        yield dict(article, entities=canonicalize_entities(entities))


class RecognizeEntities(beam.PTransform):
    """articles → articles with entities (main) + dead letters ('errors')."""

    def __init__(self, model_ref: str | None = None, batch_size: int = 32):
        super().__init__()
        self.handler = NerModelHandler(model_ref, batch_size)

    def expand(self, articles):
        return (articles
                | "RunInference" >> RunInference(self.handler)
                | "AttachEntities" >> beam.ParDo(AttachEntities()).with_outputs(ERRORS, main="articles"))
