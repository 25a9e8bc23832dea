"""The attribution head (claimwire-attribution-v1 over claimwire-ner-v1, the default; v2 over v2): who says what, as
word roles (Source / Cue / Content) over a whole article.

The head reads the NER encoder's word features (claimcore/ner_model.FEATURE_LAYERS, from the same forward pass
that tags entities) plus three layout bits (sentence start, paragraph start, quote mark), and runs dilated
convolutions over the whole article, so a Content may span sentences and its Source may sit in the next one. Labels are
BIO over the three PolNeAR roles; decoding is the same constrained Viterbi as NER. Trained by
training/train_attribution.py on PolNeAR train (models/claimwire-attribution-v1/README.md; v2: the same recipe).

`link_attributions` then groups the role spans into attributions: each Content takes the nearest Cue (its own
sentence or the ones next to it), and the Cue the nearest Source.
"""
from __future__ import annotations

import functools
import json
import os
from dataclasses import dataclass, field
from typing import Sequence

from claimcore.bio import bio_spans, viterbi_bio
from claimcore.ner_model import ONNX_FILE, resolve_model_dir
from models import DEFAULT_ATTRIBUTION_MODEL, MODELS_DIR, local_model_dir

MODEL_FORMAT = "claimwire-attribution/1"
LABELS = ["O", "B-SOURCE", "I-SOURCE", "B-CUE", "I-CUE", "B-CONTENT", "I-CONTENT"]
QUOTES = {'"', "“", "”", "'", "‘", "’", "«", "»"}
LAYOUT_DIMS = 3


def layout_features(text: str, words, sentence_spans_: Sequence[tuple[int, int]]):
    """(words × 3) float32: word starts a sentence, starts a paragraph (a line break before it), is a quote mark."""
    import numpy as np
    out = np.zeros((len(words), LAYOUT_DIMS), dtype=np.float32)
    for s, _ in sentence_spans_:
        if s < len(words):
            out[s, 0] = 1.0
    for i, w in enumerate(words):
        if i == 0 or "\n" in text[words[i - 1].end:w.start]:
            out[i, 1] = 1.0
        if w.text in QUOTES:
            out[i, 2] = 1.0
    return out


def build_head(in_dim: int, hidden: int = 256, proj: int = 256, dropout: float = 0.25,
               dilations: Sequence[int] = (1, 2, 4, 8, 16, 1)):
    """Residual dilated 1-D convolutions over the article's words (kernel 3): each word sees about 60 words on
    either side. Chosen over a BiLSTM after measuring: a 2-layer BiLSTM took over 8 minutes per PolNeAR epoch on
    2 CPU cores; these convolutions run in parallel over the words."""
    import torch

    class Block(torch.nn.Module):
        def __init__(self, dilation):
            super().__init__()
            self.conv = torch.nn.Conv1d(hidden, hidden, 3, padding=dilation, dilation=dilation)
            self.norm = torch.nn.LayerNorm(hidden)

        def forward(self, h):  # (batch, words, hidden)
            return self.norm(h + torch.nn.functional.gelu(self.conv(h.transpose(1, 2)).transpose(1, 2)))

    class AttributionHead(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.drop = torch.nn.Dropout(dropout)
            self.proj = torch.nn.Linear(in_dim, hidden)
            self.blocks = torch.nn.ModuleList(Block(d) for d in dilations)
            self.out = torch.nn.Linear(hidden, len(LABELS))

        def forward(self, x, lengths=None):
            h = torch.nn.functional.gelu(self.proj(self.drop(x)))
            if lengths is not None:  # padding stays zero so it never leaks into real words
                mask = (torch.arange(x.shape[1])[None, :] < lengths[:, None]).unsqueeze(-1).to(h.dtype)
            for block in self.blocks:
                h = self.drop(block(h))
                if lengths is not None:
                    h = h * mask
            return self.out(h)

    return AttributionHead()


@dataclass
class Attribution:
    """Word-index spans [start, end) of one attribution; source/cue may be None."""
    content: tuple[int, int]
    cue: tuple[int, int] | None = None
    source: tuple[int, int] | None = None
    score: float = 0.0
    extra_content: list[tuple[int, int]] = field(default_factory=list)


HEAD_FILE = "head.safetensors"
HEAD_ONNX_FILE = "head.int8.onnx"


def file_sha256(path: str) -> str:
    import hashlib
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


class AttributionTagger:
    def __init__(self, head, meta: dict, session=None):
        self.head = head  # torch module, or None when `session` (ONNX Runtime, the int8 graph) runs the head
        self.meta = meta
        self.session = session

    @property
    def backend(self) -> str:
        return "onnx-int8" if self.session is not None else "torch"

    @classmethod
    def load(cls, model_dir: str, encoder_dir: str | None = None, backend: str = "auto") -> "AttributionTagger":
        """With `encoder_dir`: refuses a head trained on another encoder's features (its output would be noise).
        backend: 'auto' (the int8 graph HEAD_ONNX_FILE when it was exported from these weights and onnxruntime is
        installed, else torch), 'onnx' or 'torch'."""
        with open(os.path.join(model_dir, "claimwire_attribution.json"), encoding="utf-8") as f:
            meta = json.load(f)
        if meta.get("format") != MODEL_FORMAT:
            raise ValueError(f"{model_dir}: not a {MODEL_FORMAT} model")
        if encoder_dir is not None and encoder_graph_sha256(encoder_dir) != meta.get("encoder_graph_sha256"):
            raise ValueError(f"attribution model {model_dir} was trained on the features of {meta.get('encoder')}, "
                             f"not of {encoder_dir}: pass --attribution-model for that NER model, or none")
        if backend not in ("auto", "onnx", "torch"):
            raise ValueError(f"attribution backend {backend!r}: expected auto, onnx or torch")
        if backend != "torch":
            session = _onnx_session(model_dir, meta)
            if session is not None:
                return cls(None, meta, session)
            if backend == "onnx":
                raise FileNotFoundError(f"{model_dir}: no {HEAD_ONNX_FILE} exported from its {HEAD_FILE} (or no "
                                        f"onnxruntime): python -m training.export_onnx {model_dir}")
        from safetensors.torch import load_file
        head = build_head(meta["in_dim"], meta["hidden"], meta["proj"])
        head.load_state_dict({k: v.float() for k, v in load_file(os.path.join(model_dir, HEAD_FILE)).items()})
        head.eval()
        return cls(head, meta)

    def tag(self, features) -> tuple[list[str], list[float]]:
        """BIO role per word of one article from its (words × dims) features (encoder + layout). One model call per
        article: the int8 graph's activation scales are the article's own, whatever else is in the batch."""
        import numpy as np
        if len(features) == 0:
            return [], []
        x = np.ascontiguousarray(features, dtype=np.float32)
        if self.session is not None:
            logits = self.session.run(None, {"features": x})[0]
        else:
            import torch
            with torch.inference_mode():
                logits = self.head(torch.from_numpy(x)[None])[0].numpy()
        logits = logits - logits.max(-1, keepdims=True)
        probs = np.exp(logits)
        probs /= probs.sum(-1, keepdims=True)
        path = viterbi_bio(probs, LABELS)
        return [LABELS[i] for i in path], [float(probs[k, i]) for k, i in enumerate(path)]


def _onnx_session(model_dir: str, meta: dict):
    """ONNX Runtime session over the head's int8 graph, on one thread (the head runs beside the encoder's calls,
    which already fill the cores); None when there is no graph for these exact weights or no onnxruntime."""
    graph = meta.get("int8_graph") or {}
    path = os.path.join(model_dir, graph.get("file") or HEAD_ONNX_FILE)
    if not os.path.exists(path) or graph.get("head_sha256") != file_sha256(os.path.join(model_dir, HEAD_FILE)):
        return None
    try:
        import onnxruntime as ort
    except ImportError:
        return None
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    return ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])


def link_attributions(tags: Sequence[str], sentence_spans_: Sequence[tuple[int, int]],
                      words: Sequence | None = None) -> list[Attribution]:
    """Groups role spans into attributions.

    - A Content takes the nearest Cue in its own sentence(s), else in the sentence before or after, else up to
      two sentences before it ("X reported:" and a quoted paragraph).
    - A Content that continues the previous one (only quotes, punctuation or a line break between them, or the
      Cue of the previous one: '"…," he said, "…"') and finds no Cue of its own shares the previous attribution.
    - A Cue takes the nearest Source in its sentence, else the nearest one before it in the sentence before, else
      any within one sentence."""
    spans = bio_spans(tags)
    sent_of = {}
    for k, (s, e) in enumerate(sentence_spans_):
        for i in range(s, e):
            sent_of[i] = k
    cues = [(s, e) for s, e, lab in spans if lab == "CUE"]
    sources = [(s, e) for s, e, lab in spans if lab == "SOURCE"]

    def nearest_cue(s, e):
        first, last = sent_of.get(s, 0), sent_of.get(e - 1, 0)
        for lo, hi in ((first, last), (first - 1, last + 1), (first - 2, last)):
            best, best_d = None, None
            for cs, ce in cues:
                if not lo <= sent_of.get(cs, 0) <= hi:
                    continue
                d = s - ce if ce <= s else (cs - e if cs >= e else 0)
                if best is None or d < best_d:
                    best, best_d = (cs, ce), d
            if best is not None:
                return best
        return None

    def source_of(cue):
        k = sent_of.get(cue[0], 0)
        mid = (cue[0] + cue[1]) / 2
        cands = [(abs((ss + se) / 2 - mid), (ss, se)) for ss, se in sources if sent_of.get(ss, -9) == k]
        if not cands:
            cands = [(cue[0] - se, (ss, se)) for ss, se in sources if se <= cue[0] and sent_of.get(ss, -9) >= k - 1]
        if not cands:  # "…," the agency's spokesman said, in the next sentence
            cands = [(abs(ss - cue[1]), (ss, se)) for ss, se in sources if abs(sent_of.get(ss, -9) - k) <= 1]
        return min(cands)[1] if cands else None

    def bridges(a_end, b_start, prev_cue):
        for i in range(a_end, b_start):
            if prev_cue and prev_cue[0] <= i < prev_cue[1]:
                continue
            if i in source_span_words:
                continue
            if words is not None and words[i].text.isalnum():
                return False
            if words is None and tags[i] != "O":
                return False
        return True

    source_span_words = {i for ss, se in sources for i in range(ss, se)}
    out: list[Attribution] = []
    for s, e, lab in spans:
        if lab != "CONTENT":
            continue
        cue = nearest_cue(s, e)
        prev = out[-1] if out else None
        if prev is not None and (cue is None or cue == prev.cue) and bridges(prev.content[1], s, prev.cue):
            out.append(Attribution(content=(s, e), cue=prev.cue, source=prev.source))
            continue
        out.append(Attribution(content=(s, e), cue=cue, source=source_of(cue) if cue else None))
    return out


@functools.lru_cache(maxsize=8)
def encoder_graph_sha256(encoder_dir: str) -> str | None:
    """sha256 of an NER model's ONNX graph (the features a head was trained on); None without one. Read once per
    process: resolving the head and checking it both ask."""
    path = os.path.join(encoder_dir, ONNX_FILE)
    return file_sha256(path) if os.path.exists(path) else None


def resolve_attribution_dir(ref: str | None, encoder_dir: str | None = None) -> str | None:
    """--attribution-model: a local directory or a name under models/. Unset: the shipped head trained on
    `encoder_dir`'s graph (default: the shipped NER model's), or None when no shipped head was (a hub NER model:
    claims then use the cue rules alone)."""
    if ref:
        found = local_model_dir(ref, DEFAULT_ATTRIBUTION_MODEL)
        if found is None:
            raise FileNotFoundError(f"attribution model {ref!r}: no such directory (nor under models/)")
        return found
    sha = encoder_graph_sha256(encoder_dir or resolve_model_dir(None))
    if sha is None:
        return None
    for name in sorted(os.listdir(MODELS_DIR), reverse=True):  # newest version first
        meta_path = os.path.join(MODELS_DIR, name, "claimwire_attribution.json")
        if os.path.exists(meta_path):
            with open(meta_path, encoding="utf-8") as f:
                if json.load(f).get("encoder_graph_sha256") == sha:
                    return os.path.join(MODELS_DIR, name)
    return None


class ArticleAnalyzer:
    """Entities and attributions of whole articles: one encoder pass per sentence feeds the NER head and the
    attribution head."""

    def __init__(self, ner, attribution: AttributionTagger | None = None):
        self.ner = ner
        self.attribution = attribution
        if attribution is not None and attribution.session is None and getattr(ner.backend, "parallel_calls", 1) > 1:
            # the head runs while the encoder's parallel calls already fill the cores: one torch thread, or the
            # threads fight (measured, 96 articles on 2 cores: 13.0 s with torch's default 2 threads, 8.9 s with 1)
            import torch
            torch.set_num_threads(1)

    def analyze(self, texts: Sequence[str], titles: Sequence[str | None] | None = None) -> list[tuple[list, list]]:
        """(entities, attributions) per text; attributions are dicts of character offsets (articles.v1's
        `attributions` column)."""
        import numpy as np
        out = []
        # each article's attributions while the model still tags the next articles' sentences
        for doc in self.ner.iter_analyze(texts, features=self.attribution is not None, titles=titles):
            found = []
            if self.attribution is not None and doc.words:
                feats = np.concatenate([doc.features, layout_features(doc.text, doc.words, doc.sentences)], 1)
                tags, scores = self.attribution.tag(feats)
                for a in link_attributions(tags, doc.sentences, doc.words):
                    found.append(attribution_record(doc.text, doc.words, a, scores))
            out.append((doc.entities, found))
        return out


def attribution_record(text: str, words, a: Attribution, scores: Sequence[float]) -> dict:
    def chars(span):
        return (words[span[0]].start, words[span[1] - 1].end) if span else (None, None)

    cs, ce = chars(a.content)
    qs, qe = chars(a.cue)
    ss, se = chars(a.source)
    content_scores = scores[a.content[0]:a.content[1]]
    return {"content_start": cs, "content_end": ce,
            "cue": text[qs:qe] if a.cue else None, "cue_start": qs, "cue_end": qe,
            "source": text[ss:se] if a.source else None, "source_start": ss, "source_end": se,
            "score": round(float(sum(content_scores) / max(1, len(content_scores))), 4)}
