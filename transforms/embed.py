"""EmbedArticles: articles → (article, title+lead embedding) through RunInference, with the story embedder
(claimcore/embedder.py: all-MiniLM-L6-v2, by default its int8 ONNX graph shipped in models/claimwire-embed-v1).
"""
from __future__ import annotations

from typing import Any, Iterable, Optional, Sequence

import apache_beam as beam
from apache_beam.ml.inference.base import ModelHandler, RunInference

from claimcore.embedder import SentenceEncoder, title_and_lead
from transforms.common import OncePerText, loaded_once


class EmbeddingModelHandler(ModelHandler[dict, tuple, SentenceEncoder]):
    def __init__(self, model_dir: str | None = None, batch_size: int = 64):
        self.model_dir = model_dir
        self.batch_size = batch_size

    def load_model(self) -> SentenceEncoder:
        return loaded_once((type(self).__name__, self.model_dir), lambda: SentenceEncoder(self.model_dir))

    def run_inference(self, batch: Sequence[dict], model: SentenceEncoder,
                      inference_args: Optional[dict[str, Any]] = None) -> Iterable[tuple]:
        batch = list(batch)  # RunInference hands a tuple
        vectors = model.encode([title_and_lead(a) for a in batch])
        return [(a, v) for a, v in zip(batch, vectors)]

    def batch_elements_kwargs(self):
        return {"min_batch_size": 1, "max_batch_size": self.batch_size}

    def get_metrics_namespace(self) -> str:
        return "claimwire_embed"


class EmbedArticles(beam.PTransform):
    """articles → (article, float32[384] unit vector) pairs."""

    def __init__(self, model_dir: str | None = None, batch_size: int = 64):
        super().__init__()
        self.handler = EmbeddingModelHandler(model_dir, batch_size)

    def expand(self, articles):
        return articles | "Embed" >> OncePerText(RunInference(self.handler), title_and_lead, "embed")
