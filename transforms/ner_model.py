"""claimwire NER model core: word tokenization, capitalization markers, windowing, decoding.

This module holds everything that must be identical between training (training/train_ner.py), the Beam stage
(transforms/ner.py) and the `claimwire ner` command, so that offsets and preprocessing never drift apart.

Why markers: the shipped encoder (all-MiniLM-L6-v2) is uncased, and capitalization is one of the strongest NER
signals. Before every Capitalized word we insert the vocabulary's `[unused1]` token and before every ALL-CAPS word
`[unused2]`; the model learns what they mean during fine-tuning.
"""
from __future__ import annotations

import bisect
import functools
import json
import os
import re
import threading
from dataclasses import dataclass
from typing import Iterable, Sequence

from transforms.entity_rules import apply_entity_rules

LABELS = ["O", "B-PER", "I-PER", "B-ORG", "I-ORG", "B-LOC", "I-LOC", "B-MISC", "I-MISC"]
MODEL_FORMAT = "claimwire-ner/1"
TITLE_MARKER = "[unused1]"
UPPER_MARKER = "[unused2]"

# Words as CoNLL-2003 tokenizes them: abbreviations (U.S.), words with inner hyphens/apostrophes/periods,
# numbers with separators, and every other non-space character on its own.
_WORD_RE = re.compile(
    r"(?:[A-Za-z]\.){2,}"  # U.S. / U.N.
    r"|['’]s\b"  # the possessive is its own token, as in CoNLL ("Korea 's")
    r"|\w+(?:[-.,]\w+|['’](?!s\b)\w+)*"  # Sun-won, O'Neil, 3,000, 1.5
    r"|[^\w\s]",
    re.UNICODE,
)


@dataclass(frozen=True)
class Word:
    text: str
    start: int
    end: int


def split_words(text: str) -> list[Word]:
    """Tokenizes text into words with character offsets; text[w.start:w.end] == w.text always."""
    return [Word(m.group(), m.start(), m.end()) for m in _WORD_RE.finditer(text)]


def case_marker(word: str) -> str | None:
    letters = [c for c in word if c.isalpha()]
    if not letters or not letters[0].isupper():
        return None
    if len(letters) > 1 and all(c.isupper() for c in letters):
        return UPPER_MARKER
    return TITLE_MARKER


def iob1_to_bio(tags: Sequence[str]) -> list[str]:
    """CoNLL-2003 uses IOB1 (B- only between adjacent same-type chunks); the model is trained on BIO."""
    out, prev = [], "O"
    for tag in tags:
        if tag.startswith("I-"):
            typ = tag[2:]
            if prev == "O" or prev[2:] != typ:
                tag = "B-" + typ
        out.append(tag)
        prev = tag
    return out


def bio_spans(tags: Sequence[str]) -> list[tuple[int, int, str]]:
    """Word-index spans [start, end) with their type from BIO tags; a stray I- starts a new span."""
    spans, start, typ = [], None, None
    for i, tag in enumerate(list(tags) + ["O"]):
        if tag == "O" or tag.startswith("B-") or (tag.startswith("I-") and tag[2:] != typ):
            if start is not None:
                spans.append((start, i, typ))
                start, typ = None, None
            if tag != "O":
                start, typ = i, tag[2:]
    return spans


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


def iter_conll(path: str) -> Iterable[tuple[list[str], list[str]]]:
    """Sentences (words, BIO tags) of a CoNLL-2003 file (IOB1 on disk)."""
    words, tags = [], []
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if not line or line.startswith("-DOCSTART-"):
                if words:
                    yield words, iob1_to_bio(tags)
                words, tags = [], []
                continue
            parts = line.split()
            words.append(parts[0])
            tags.append(parts[-1])
    if words:
        yield words, iob1_to_bio(tags)


def span_f1(gold: Sequence[Sequence[str]], pred: Sequence[Sequence[str]]) -> dict:
    """Entity-level micro P/R/F1, overall and per type (the CoNLL evaluation)."""
    from collections import Counter
    tp, n_gold, n_pred = Counter(), Counter(), Counter()
    for g, p in zip(gold, pred):
        gs, ps = set(bio_spans(g)), set(bio_spans(p))
        for s in gs:
            n_gold[s[2]] += 1
        for s in ps:
            n_pred[s[2]] += 1
        for s in gs & ps:
            tp[s[2]] += 1

    def prf(t, g, p):
        prec = t / p if p else 0.0
        rec = t / g if g else 0.0
        return {"precision": prec, "recall": rec, "f1": 2 * prec * rec / (prec + rec) if prec + rec else 0.0,
                "support": g}

    result = {typ: prf(tp[typ], n_gold[typ], n_pred[typ]) for typ in sorted(n_gold | n_pred)}
    result["overall"] = prf(sum(tp.values()), sum(n_gold.values()), sum(n_pred.values()))
    return result


def resolve_model_dir(ref: str | None) -> str:
    """--ner-model: a local directory, else a hub id (for users with internet), default the shipped model."""
    from models import DEFAULT_NER_MODEL, local_model_dir
    # else a hub id: transformers downloads it (never the default; fails offline with its own message)
    return local_model_dir(ref, DEFAULT_NER_MODEL) or ref


ONNX_FILE = "model.int8.onnx"  # the quantized graph, when shipped, beside the safetensors weights



# The encoder's word features that the attribution head (transforms/attribution_model.py) reads: a middle
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


def export_onnx(model, path: str, layers: Sequence[int] = FEATURE_LAYERS) -> None:
    """Exports the token classifier to ONNX with dynamic batch and sequence axes; outputs `logits` and
    `features` (the hidden states of `layers`, concatenated).

    The graph takes `input_ids` alone, no attention mask: every window is its own call at its own length, never
    padded (NerTagger.tag_words), so the mask would be all ones. Without it the graph drops the mask arithmetic
    in every layer. Measured, int8, one thread: 5.2 → 4.7 ms for 40 wordpieces, 17.0 → 13.6 ms for 128, with
    outputs bit for bit those of the graph with a mask of ones (training/export_onnx.py checks that on re-export).
    """
    import torch

    class WithFeatures(torch.nn.Module):
        def __init__(self, inner):
            super().__init__()
            self.inner = inner

        def forward(self, input_ids):
            out = self.inner(input_ids=input_ids, output_hidden_states=True)
            return out.logits, torch.cat([out.hidden_states[k] for k in layers], -1)

    model = WithFeatures(model.float().eval()).eval()
    ids = torch.ones((1, 16), dtype=torch.long)
    torch.onnx.export(model, (ids,), path, input_names=["input_ids"], output_names=["logits", "features"],
                      opset_version=17, dynamo=False,
                      dynamic_axes={"input_ids": {0: "b", 1: "t"}, "logits": {0: "b", 1: "t"},
                                    "features": {0: "b", 1: "t"}})


def quantize_onnx(src: str, dst: str) -> None:
    from onnxruntime.quantization import QuantType, quantize_dynamic
    # per-channel scales: -0.26 F1 points against fp32 on CoNLL test, where per-tensor scales cost -0.57
    quantize_dynamic(src, dst, weight_type=QuantType.QInt8, per_channel=True)


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
        self.rules = True  # entity_rules.RULES_VERSION over the spans in predict() (transforms/entity_rules.py)
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

    def tag_words(self, docs: Sequence[Sequence[str]], batch_size: int | None = None, features: bool = False):
        """BIO tags and scores per word for each document given as a word list; also counts wordpieces. With
        features=True also each word's encoder features (its first wordpiece's; FEATURE_LAYERS), one float32
        array (words × dims) per document: the same forward pass, for the attribution head.

        A window's result depends on that window alone, never on what else is being tagged: each window is its own
        model call at its own length (no padding), so the int8 model's dynamic activation scales are computed
        over that window only, the same whatever the batch size, the bundle, the worker or the runner. Measured
        (bench/ner.py): one window per call is also faster than padded batches on CPU. `batch_size` is accepted
        for compatibility and changes nothing."""
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

    def predict(self, texts: Sequence[str], batch_size: int = 32) -> list[list[dict]]:
        """Entities of each text."""
        return [doc.entities for doc in self.analyze(texts, batch_size)]

    def analyze(self, texts: Sequence[str], batch_size: int = 32, features: bool = False) -> list["AnalyzedText"]:
        """Words, sentences, entities (and, with features=True, each word's encoder features) of each text.

        Each sentence is its own model input, as in training: measured on CoNLL-2003 test, whole-document windows
        cost 2.5 (128 wordpieces) to 7 (256) F1 points against sentence inputs."""
        return list(self.iter_analyze(texts, features))

    def iter_analyze(self, texts: Sequence[str], features: bool = False):
        """analyze, one text at a time, each as soon as its sentences are tagged (see iter_tag_words)."""
        import numpy as np
        prepared = []  # (text, words, sentence spans, each sentence's words), filled as iter_tag_words reads them

        def sentences():  # split each text only when the tagger asks for it, so splitting overlaps the model
            for t in texts:
                t = t or ""
                words = split_words(t)
                spans = sentence_spans(t, words)
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


_OPENING_QUOTES = {'"', "“", "'", "‘"}
# abbreviations that spaCy ends a sentence on, though a number follows: "the No. 5 seed", "Art. 5 of the treaty"
_BEFORE_A_NUMBER = re.compile(r"(?:^|\W)(?:No|Nos|Nr|Vol|Art|Fig|Sec|Ch|pp?)\.\s*$")
_sentencizer_lock = threading.Lock()


# Titles that news writes before a name and spaCy's English exceptions lack ("Lt. Gen. Ben Hodges", "Det. Joe
# Smith said"): without them its sentencizer ends a sentence at the period, inside the name.
_TITLE_ABBREVIATIONS = ("Lt", "Lieut", "Sgt", "Capt", "Cpt", "Col", "Maj", "Cpl", "Pvt", "Spc", "Cmdr", "Brig",
                        "Supt", "Det", "Insp", "Atty", "Amb", "Pres", "Sec", "Hon", "Fr", "Msgr", "Ald", "Sr", "Ft",
                        "Sens", "Reps", "Gens")


@functools.lru_cache(maxsize=1)
def _sentencizer():
    """spaCy's tokenizer (its English abbreviation exceptions: Mr., Mrs., Dr., Gen., Sen., U.S., Jan., initials,
    plus the titles above) with its rule-based sentencizer: no model file, ~300k words/s."""
    import spacy
    nlp = spacy.blank("en")
    for title in _TITLE_ABBREVIATIONS:
        nlp.tokenizer.add_special_case(title + ".", [{"ORTH": title + "."}])
    nlp.add_pipe("sentencizer")
    return nlp


@functools.lru_cache(maxsize=1)
def stop_words() -> frozenset:
    """spaCy's English stop words (function words: 'who', 'should', 'among', 'that'): spaCy's list, not ours."""
    from spacy.lang.en.stop_words import STOP_WORDS
    return frozenset(STOP_WORDS)


_PUNCTUATION_RUN = re.compile(r"[^\w\s]{64,}")


@functools.lru_cache(maxsize=512)
def sentence_start_offsets(text: str) -> tuple[int, ...]:
    """Character offsets where sentences start (spaCy); an opening quote that spaCy leaves at the end of the
    previous sentence ('arrived. "' | 'It is over') starts the next one."""
    if not text.strip():
        return ()
    # spaCy peels a run of punctuation one character per pass (10,000 quote marks: 6 s); such a run holds no
    # sentence boundary, so it is read as spaces of the same length (offsets stay those of `text`)
    plain = _PUNCTUATION_RUN.sub(lambda m: " " * len(m.group()), text)
    with _sentencizer_lock:  # one tokenizer shared by the process's threads
        doc = _sentencizer()(plain)
        sents = [(s.start_char, s.end_char, s[-1].text, s[-1].idx) for s in doc.sents]
    starts = [start for start, _, _, _ in sents]
    for k, (start, _, last, last_idx) in enumerate(sents[:-1]):
        if (last in _OPENING_QUOTES and last_idx > start and text[last_idx - 1].isspace()
                and last_idx + 1 < len(text) and not text[last_idx + 1].isspace()):
            starts[k + 1] = last_idx
        elif text[starts[k + 1]:starts[k + 1] + 1].isdigit() and \
                _BEFORE_A_NUMBER.search(text, max(start, starts[k + 1] - 8), starts[k + 1]):
            starts[k + 1] = None  # "the No. | 5 seed": one sentence
    starts = [s for s in starts if s is not None]
    # cached: the NER stage and the claims stage split the same article text (the same process, usually)
    return tuple(sorted(set(starts)))


def sentence_spans(text: str, words: Sequence[Word]) -> list[tuple[int, int]]:
    """Word-index spans [start, end) of sentences: spaCy's abbreviation-aware boundaries ("Mr. Clyburn" stays one
    sentence) plus every line break (paragraphs, headlines)."""
    if not words:
        return []
    starts = sentence_start_offsets(text)
    spans, start = [], 0
    for i in range(1, len(words)):
        gap_lo, gap_hi = words[i - 1].end, words[i].start
        k = bisect.bisect_right(starts, gap_hi)
        boundary = k > 0 and gap_lo <= starts[k - 1] <= gap_hi
        if boundary or "\n" in text[gap_lo:gap_hi]:
            spans.append((start, i))
            start = i
    spans.append((start, len(words)))
    return spans


@functools.lru_cache(maxsize=8)
def _bio_constraints(labels: tuple[str, ...]):
    """(allowed[prev, cur], start_ok[cur]) for BIO labels: an I-X only after B-X or I-X."""
    import numpy as np
    k = len(labels)
    allowed = np.ones((k, k), dtype=bool)
    start_ok = np.ones(k, dtype=bool)
    for j, lab in enumerate(labels):
        if lab.startswith("I-"):
            start_ok[j] = False
            for i, prev in enumerate(labels):
                allowed[i, j] = prev[2:] == lab[2:] and prev != "O"
    return allowed, start_ok


def viterbi_bio(probs, labels: Sequence[str]) -> list[int]:
    """The most probable label sequence in which every I-X follows B-X or I-X.

    Greedy argmax can emit 'Park/B-PER Sun-won/I-ORG' and split one name in two; constrained decoding keeps
    entities whole (measured: +0.4 F1 points on CoNLL-2003 test for this model). When the greedy path breaks no
    constraint it is that sequence (the constraints only remove paths), so the dynamic programme runs only when it
    does: most sentences, measured, need none."""
    import numpy as np
    n, k = probs.shape
    if n == 0:
        return []
    allowed, start_ok = _bio_constraints(tuple(labels))
    greedy = probs.argmax(1)
    if start_ok[greedy[0]] and bool(allowed[greedy[:-1], greedy[1:]].all()):
        return greedy.tolist()
    logp = np.log(np.clip(probs, 1e-9, 1.0))
    trans = np.where(allowed, 0.0, -1e9)
    score = np.where(start_ok, logp[0], -1e9)
    back = np.zeros((n, k), dtype=np.int64)
    for t in range(1, n):
        cand = score[:, None] + trans
        back[t] = cand.argmax(0)
        score = cand.max(0) + logp[t]
    path = [int(score.argmax())]
    for t in range(n - 1, 0, -1):
        path.append(int(back[t, path[-1]]))
    return path[::-1]


def _has_onnxruntime() -> bool:
    try:
        import onnxruntime  # noqa: F401
    except ImportError:
        return False
    return True
