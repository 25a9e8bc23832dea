"""claimwire NER model core: word tokenization, capitalization markers, windowing, decoding.

This module holds everything that must be identical between training (training/train_ner.py), the Beam stage
(transforms/ner.py) and the `claimwire ner` command, so that offsets and preprocessing never drift apart.

Why markers: the shipped encoder (all-MiniLM-L6-v2) is uncased, and capitalization is one of the strongest NER
signals. Before every Capitalized word we insert the vocabulary's `[unused1]` token and before every ALL-CAPS word
`[unused2]`; the model learns what they mean during fine-tuning.
"""
from __future__ import annotations

import functools
import itertools
import json
import os
from dataclasses import dataclass
from typing import Iterable, Sequence

from claimcore.bio import bio_spans, viterbi_bio
from claimcore.entity_rules import apply_entity_rules
from claimcore.text import Word, sentence_spans, split_words
from models import DEFAULT_NER_MODEL, local_model_dir

LABELS = ["O", "B-PER", "I-PER", "B-ORG", "I-ORG", "B-LOC", "I-LOC", "B-MISC", "I-MISC"]
MODEL_FORMAT = "claimwire-ner/1"
TITLE_MARKER = "[unused1]"
UPPER_MARKER = "[unused2]"


def case_marker(word: str) -> str | None:
    letters = [c for c in word if c.isalpha()]
    if not letters or not letters[0].isupper():
        return None
    if len(letters) > 1 and all(c.isupper() for c in letters):
        return UPPER_MARKER
    return TITLE_MARKER


class WordEncoder:
    """Turns words into wordpiece ids with case markers; caches per-word pieces (news repeats words a lot)."""

    def __init__(self, tokenizer, max_pieces_per_word: int = 12):
        self.tokenizer = tokenizer
        self.cls_id = tokenizer.cls_token_id
        self.sep_id = tokenizer.sep_token_id
        self.pad_id = tokenizer.pad_token_id
        self.marker_ids = {
            TITLE_MARKER: tokenizer.convert_tokens_to_ids(TITLE_MARKER),
            UPPER_MARKER: tokenizer.convert_tokens_to_ids(UPPER_MARKER),
        }
        self.max_pieces_per_word = max_pieces_per_word
        self._pieces = functools.lru_cache(maxsize=200_000)(self._pieces_uncached)
        self.marked_pieces = functools.lru_cache(maxsize=200_000)(self._marked_pieces_uncached)

    def _pieces_uncached(self, word: str) -> tuple[int, ...]:
        ids = self.tokenizer(word, add_special_tokens=False)["input_ids"]
        if not ids:
            ids = [self.tokenizer.unk_token_id]
        return tuple(ids[: self.max_pieces_per_word])

    def _marked_pieces_uncached(self, word: str) -> tuple[tuple[int, ...], int]:
        marker = case_marker(word)
        pieces = self._pieces(word)
        return ((self.marker_ids[marker],) + pieces, 1) if marker else (pieces, 0)

    def word_pieces(self, word: str) -> list[int]:
        return list(self.marked_pieces(word)[0])

    def encode(self, words: Sequence[str]) -> tuple[list[int], list[int]]:
        """Returns (input_ids, first_piece_position_per_word) with [CLS]/[SEP] around."""
        ids, firsts = [self.cls_id], []
        for word in words:
            pieces = self.word_pieces(word)
            # the marker is context; the word's label sits on its first real piece
            firsts.append(len(ids) + (len(pieces) - len(self._pieces(word))))
            ids.extend(pieces)
        ids.append(self.sep_id)
        return ids, firsts


@dataclass(frozen=True)
class Window:
    doc_index: int
    word_start: int  # first word of the window in the document
    word_end: int
    keep_start: int  # words of this window whose predictions are kept (the overlap goes to one side only)
    keep_end: int


def make_windows(doc_index: int, piece_counts: Sequence[int], max_pieces: int, stride_words: int) -> list[Window]:
    """Splits a document's words into windows of at most max_pieces wordpieces (plus [CLS]/[SEP]).

    Consecutive windows overlap by `stride_words` words of context; each word's prediction is taken from the
    window in which it is furthest from an edge (the first half of the overlap from the left window).
    """
    budget = max_pieces - 2
    n = len(piece_counts)
    bounds = []
    start = 0
    while start < n:
        end, used = start, 0
        while end < n and (used + piece_counts[end] <= budget or end == start):
            used += piece_counts[end]
            end += 1
        bounds.append((start, end))
        if end >= n:
            break
        start = max(start + 1, end - stride_words)
    windows = []
    for i, (s, e) in enumerate(bounds):
        keep_s = s if i == 0 else (bounds[i - 1][1] + s) // 2
        keep_e = e if i == len(bounds) - 1 else (e + bounds[i + 1][0]) // 2
        windows.append(Window(doc_index, s, e, keep_s, keep_e))
    return windows


def read_model_meta(model_dir: str) -> dict:
    path = os.path.join(model_dir, "claimwire_ner.json")
    if os.path.exists(path):
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    return {}


def entities_from_word_tags(text: str, words: Sequence[Word], tags: Sequence[str],
                            scores: Sequence[float]) -> list[dict]:
    """Entity dicts whose offsets index the original text: text[start:end] == entity['text']."""
    out = []
    for s, e, typ in bio_spans(tags):
        start, end = words[s].start, words[e - 1].end
        out.append({
            "text": text[start:end],
            "label": typ,
            "start": start,
            "end": end,
            "score": float(sum(scores[s:e]) / (e - s)),
        })
    return out


def resolve_model_dir(ref: str | None) -> str:
    """--ner-model: a local directory, else a hub id (for users with internet), default the shipped model."""
    # else a hub id: transformers downloads it (never the default; fails offline with its own message)
    return local_model_dir(ref, DEFAULT_NER_MODEL) or ref


ONNX_FILE = "model.int8.onnx"  # the quantized graph, when shipped, beside the safetensors weights


# The encoder's word features that the attribution head (claimcore/attribution_model.py) reads: a middle
# layer (closer to the words: cue verbs, quotes) and the last one (entities), concatenated. One forward pass
# gives the NER logits and these features. A model's claimwire_ner.json may name others (`feature_layers`: a
# distilled student's layers that learned these of its teacher).
FEATURE_LAYERS = (3, -1)


def feature_layers(meta: dict) -> tuple[int, ...]:
    return tuple(meta.get("feature_layers") or FEATURE_LAYERS)


class TorchBackend:
    name = "torch-fp32"

    def __init__(self, model, layers: Sequence[int] = FEATURE_LAYERS):
        self.model = model
        self.layers = tuple(layers)

    def __call__(self, input_ids, attention_mask):
        return self.run(input_ids, attention_mask, False)[0]

    def run(self, input_ids, attention_mask, features: bool):
        """(logits, features or None)."""
        import torch
        with torch.inference_mode():
            out = self.model(input_ids=torch.from_numpy(input_ids), attention_mask=torch.from_numpy(attention_mask),
                             output_hidden_states=features)
        feats = torch.cat([out.hidden_states[k] for k in self.layers], -1).numpy() if features else None
        return out.logits.numpy(), feats


class OnnxBackend:
    """ONNX Runtime over an exported graph (fused attention/GELU kernels; optionally int8 weights).

    parallel_calls > 1: that many model calls run at once from a thread pool (ONNX Runtime releases the GIL), each
    on one thread. Small single-window calls leave a multi-threaded kernel little to split, so on 2 cores two
    one-thread calls at once tag ~1.6x the words per second of one two-thread call; each call's arithmetic is
    the same as alone (one thread, its own input), so results do not depend on it."""

    def __init__(self, path: str, threads: int | None = None, parallel_calls: int = 1):
        import onnxruntime as ort
        opts = ort.SessionOptions()
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        self.parallel_calls = max(1, parallel_calls)
        if self.parallel_calls > 1:
            threads = 1
        if threads:
            opts.intra_op_num_threads = threads
            opts.inter_op_num_threads = 1
        self.session = ort.InferenceSession(path, opts, providers=["CPUExecutionProvider"])
        self.name = "onnx-" + ("int8" if "int8" in os.path.basename(path) else "fp32")

        self.has_features = any(o.name == "features" for o in self.session.get_outputs())
        self.takes_mask = any(i.name == "attention_mask" for i in self.session.get_inputs())
        self._pool = None

    def pool(self):
        """The thread pool that runs parallel_calls model calls at once (created on first use)."""
        if self._pool is None:
            from concurrent.futures import ThreadPoolExecutor
            self._pool = ThreadPoolExecutor(self.parallel_calls, thread_name_prefix="claimwire-onnx")
        return self._pool

    def __call__(self, input_ids, attention_mask):
        return self.run(input_ids, attention_mask, False)[0]

    def run(self, input_ids, attention_mask, features: bool):
        """(logits, features or None); features need a graph exported with them (training/export_onnx.py)."""
        if features and not self.has_features:
            raise ValueError("this ONNX graph has no 'features' output: re-export it with training/export_onnx.py")
        names = ["logits", "features"] if features else ["logits"]
        out = self.session.run(names, self.inputs(input_ids, attention_mask))
        return out[0], (out[1] if features else None)

    def inputs(self, input_ids, attention_mask=None) -> dict:
        """The graph's inputs for unpadded ids. The shipped graphs take `input_ids` alone (export_onnx); a graph
        exported before 2026-11-26, or from the hub, also takes a mask: of ones unless one is given."""
        if self.takes_mask:
            import numpy as np
            return {"input_ids": input_ids,
                    "attention_mask": np.ones_like(input_ids) if attention_mask is None else attention_mask}
        if attention_mask is not None and not attention_mask.all():
            raise ValueError("this ONNX graph takes no attention mask: pass each window unpadded, one per call")
        return {"input_ids": input_ids}


class NerTagger:
    """Runs the token classifier over whole articles: word split, markers, overlapping windows, one model call per
    window, word-level BIO decoding, entities with exact character offsets."""

    def __init__(self, backend, tokenizer, id2label: list[str], uses_markers: bool = True, max_pieces: int = 192,
                 stride_words: int = 24):
        self.backend = backend
        self.encoder = WordEncoder(tokenizer)
        self.id2label = id2label
        self.uses_markers = uses_markers
        self.max_pieces = max_pieces
        self.stride_words = stride_words
        self.rules = True  # entity_rules.RULES_VERSION over the spans in predict() (claimcore/entity_rules.py)
        self.feature_dims = 0  # of the encoder features (FEATURE_LAYERS), known after the first window

    @classmethod
    def load(cls, model_dir: str, threads: int | None = None, backend: str = "auto", **kwargs) -> "NerTagger":
        """backend: 'auto' (the shipped ONNX int8 graph when present and onnxruntime is installed, else torch),
        'torch' or 'onnx'."""
        import torch
        from transformers import AutoConfig, AutoTokenizer
        from transformers.utils import logging as hf_logging
        hf_logging.disable_progress_bar()  # no "Loading weights" bar in worker logs
        if threads:
            torch.set_num_threads(threads)
        tokenizer = AutoTokenizer.from_pretrained(model_dir)
        config = AutoConfig.from_pretrained(model_dir)
        id2label = [config.id2label[i] for i in range(config.num_labels)]
        onnx_path = os.path.join(model_dir, ONNX_FILE)
        use_onnx = backend == "onnx" or (backend == "auto" and os.path.exists(onnx_path) and _has_onnxruntime())
        if use_onnx:
            runner = OnnxBackend(onnx_path, threads, parallel_calls=threads or os.cpu_count() or 1)
        else:
            from transformers import AutoModelForTokenClassification
            runner = TorchBackend(AutoModelForTokenClassification.from_pretrained(
                model_dir, dtype=torch.float32).eval(), feature_layers(read_model_meta(model_dir)))
        # a hub model trained without our markers must not see them
        markers = read_model_meta(model_dir).get("case_markers", False) if os.path.isdir(model_dir) else False
        return cls(runner, tokenizer, id2label, markers, **kwargs)

    def _pieces(self, word: str) -> tuple[tuple[int, ...], int]:
        """(wordpiece ids, offset of the word's first real piece: 1 after a case marker, else 0)."""
        if not self.uses_markers:
            return self.encoder._pieces(word), 0
        return self.encoder.marked_pieces(word)

    def tag_words(self, docs: Sequence[Sequence[str]], features: bool = False):
        """BIO tags and scores per word for each document given as a word list; also counts wordpieces. With
        features=True also each word's encoder features (its first wordpiece's; FEATURE_LAYERS), one float32
        array (words × dims) per document: the same forward pass, for the attribution head.

        A window's result depends on that window alone, never on what else is being tagged: each window is its own
        model call at its own length (no padding), so the int8 model's dynamic activation scales are computed
        over that window only, the same whatever the batch size, the bundle, the worker or the runner. Measured
        (bench/ner.py): one window per call is also faster than padded batches on CPU."""
        done = list(self.iter_tag_words(docs, features))
        tags, scores = [d[0] for d in done], [d[1] for d in done]
        return (tags, scores, [d[2] for d in done]) if features else (tags, scores)

    def iter_tag_words(self, docs: Iterable[Sequence[str]], features: bool = False):
        """tag_words, one document at a time: an iterator of (tags, scores, features or None) per document, in
        order, each as soon as its windows are back.

        Reads every document and queues its windows at once, before returning: `docs` may be a lazy iterable, and
        the model already runs on the first documents while later ones are still being split and tokenized; then
        it keeps the cores busy while the caller works on the documents already done."""
        return self._decoded(self._queue_windows(docs, features), features)

    def _run_window(self, call, features: bool):
        import numpy as np
        input_ids = call[2]
        logits, feats = self.backend.run(input_ids, np.ones_like(input_ids), features)
        return logits[0], (feats[0] if features else None)

    def _queue_windows(self, docs: Iterable[Sequence[str]], features: bool) -> list:
        """Per document: its word count and its windows [((window, firsts, input ids), future or None)]; with
        parallel calls each window goes to the pool as soon as it is built."""
        import numpy as np
        pool = self.backend.pool() if getattr(self.backend, "parallel_calls", 1) > 1 else None
        self.last_wordpieces = 0
        queued = []
        for words in docs:
            words_pieces = [self._pieces(w) for w in words]
            calls = []
            if words_pieces:
                for w in make_windows(len(queued), [len(p) for p, _ in words_pieces], self.max_pieces,
                                      self.stride_words):
                    ids, firsts = [self.encoder.cls_id], []
                    for wp, first in words_pieces[w.word_start:w.word_end]:
                        firsts.append(len(ids) + first)
                        ids.extend(wp)
                    ids.append(self.encoder.sep_id)
                    self.last_wordpieces += len(ids)
                    call = (w, firsts, np.asarray([ids], dtype=np.int64))
                    calls.append((call, pool.submit(self._run_window, call, features) if pool is not None else None))
            queued.append((len(words), calls))
        return queued

    def _decoded(self, queued: list, features: bool):
        import numpy as np
        outside = self.id2label.index("O")
        for n_words, calls in queued:
            probs = np.zeros((n_words, len(self.id2label)), dtype=np.float32)
            probs[:, outside] = 1.0  # words no window kept (none, normally) stay outside
            doc_feats = np.zeros((n_words, self.feature_dims), dtype=np.float32) if features else None
            for call, future in calls:
                logits, feats = future.result() if future is not None else self._run_window(call, features)
                w, firsts, _ = call
                word_ids = np.arange(w.word_start, w.word_end)
                keep = (word_ids >= w.keep_start) & (word_ids < w.keep_end)
                rows = np.asarray(firsts)[keep]
                if features:
                    if doc_feats.shape[1] != feats.shape[-1]:
                        self.feature_dims = feats.shape[-1]
                        doc_feats = np.zeros((n_words, self.feature_dims), dtype=np.float32)
                    doc_feats[word_ids[keep]] = feats[rows]
                logits = logits[rows]
                logits = logits - logits.max(-1, keepdims=True)
                p = np.exp(logits)
                probs[word_ids[keep]] = p / p.sum(-1, keepdims=True)
            path = viterbi_bio(probs, self.id2label)
            yield ([self.id2label[i] for i in path], [float(probs[k, i]) for k, i in enumerate(path)], doc_feats)

    def predict(self, texts: Sequence[str], titles: Sequence[str | None] | None = None) -> list[list[dict]]:
        """Entities of each text (`titles`: each text's headline, a sentence of its own where the text runs it on)."""
        return [doc.entities for doc in self.analyze(texts, titles=titles)]

    def analyze(self, texts: Sequence[str], features: bool = False,
                titles: Sequence[str | None] | None = None) -> list["AnalyzedText"]:
        """Words, sentences, entities (and, with features=True, each word's encoder features) of each text; a
        text's title, where given, is a sentence of its own (claimcore.text.sentence_spans).

        Each sentence is its own model input, as in training: measured on CoNLL-2003 test, whole-document windows
        cost 2.5 (128 wordpieces) to 7 (256) F1 points against sentence inputs."""
        return list(self.iter_analyze(texts, features, titles))

    def iter_analyze(self, texts: Sequence[str], features: bool = False,
                     titles: Sequence[str | None] | None = None):
        """analyze, one text at a time, each as soon as its sentences are tagged (see iter_tag_words)."""
        import numpy as np
        prepared = []  # (text, words, sentence spans, each sentence's words), filled as iter_tag_words reads them

        def sentences():  # split each text only when the tagger asks for it, so splitting overlaps the model
            for t, title in zip(texts, titles if titles is not None else itertools.repeat(None)):
                t = t or ""
                words = split_words(t)
                spans = sentence_spans(t, words, title)
                prepared.append((t, words, spans, [[w.text for w in words[s:e]] for s, e in spans]))
                yield from prepared[-1][3]

        tagged = self.iter_tag_words(sentences(), features=features)  # has read (and split) every text
        for t, words, doc_spans, sentence_words in prepared:
            tags, scores, feats = [], [], []
            for sentence in sentence_words:
                sentence_tags, sentence_scores, sentence_feats = next(tagged)
                if self.rules:
                    sentence_tags = apply_entity_rules(sentence, sentence_tags, sentence_scores)
                tags += sentence_tags
                scores += sentence_scores
                if features:
                    feats.append(sentence_feats)
            doc_feats = None
            if features:
                doc_feats = np.concatenate(feats) if feats else np.zeros((0, self.feature_dims), dtype=np.float32)
            yield AnalyzedText(t, words, doc_spans, tags, entities_from_word_tags(t, words, tags, scores), doc_feats)


@dataclass
class AnalyzedText:
    text: str
    words: list
    sentences: list  # word-index spans
    tags: list
    entities: list
    features: object = None  # numpy (words × dims) or None


def _has_onnxruntime() -> bool:
    try:
        import onnxruntime  # noqa: F401
    except ImportError:
        return False
    return True
