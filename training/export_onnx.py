"""Exports a trained claimwire model to ONNX and quantizes it to int8 (dynamic, per-channel weights) beside its
weights:

    python -m training.export_onnx models/claimwire-ner-v1 [--conll ../shared/data/conll2003]
    python -m training.export_onnx models/claimwire-attribution-v1

- An NER model: NerTagger then uses model.int8.onnx through ONNX Runtime by default (bench/ner.py measures why:
  speed and F1). The graph outputs `logits` and `features` (the model's `feature_layers`, by default
  claimcore.ner_model.FEATURE_LAYERS), which the attribution head reads.
  A head is bound to the sha256 of the graph it was trained on. When a graph is already there, the new one is run
  beside it on every sentence of the check texts (the repository's seeds and story fixtures; with --conll also
  CoNLL-2003 test). If logits and features are bit for bit the same, the heads bound to the old graph are bound to
  the new one, and their claimwire_attribution.json records the re-export. Otherwise they stay bound to the old
  graph, so the pipeline refuses them, and they must be retrained (training/train_attribution.py).
- An attribution head (a folder with claimwire_attribution.json): head.int8.onnx, its convolutions unrolled into
  matrix products (claimcore.attribution_model.export_head_onnx); training/train_attribution.py already writes it.
"""
import argparse
import json
import os
import shutil
import tempfile
from typing import Sequence

from claimcore.attribution_model import HEAD_FILE, HEAD_ONNX_FILE, AttributionTagger, file_sha256
from claimcore.ner_model import FEATURE_LAYERS, ONNX_FILE, NerTagger, OnnxBackend, feature_layers, read_model_meta
from claimcore.text import sentence_spans, split_words
from models import MODELS_DIR
from training.conll import iter_conll

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def check_texts(conll: str | None) -> list[list[str]]:
    """Sentences as word lists: the seeds and the story fixtures' articles, and CoNLL-2003 test with --conll."""
    texts = []
    seeds = os.path.join(REPO, "samples", "seeds")
    for name in sorted(os.listdir(seeds)):
        with open(os.path.join(seeds, name), encoding="utf-8") as f:
            texts.append(f.read())
    with open(os.path.join(REPO, "tests", "fixtures", "story_corpus.json"), encoding="utf-8") as f:
        corpus = json.load(f)
    texts += [article["text"] for article in corpus["rewrites"]]
    sentences = []
    for text in texts:
        words = split_words(text)
        sentences += [[w.text for w in words[s:e]] for s, e in sentence_spans(text, words)]
    if conll:
        sentences += [words for words, _ in iter_conll(os.path.join(conll, "eng.testb"))]
    return sentences


def same_outputs(model_dir: str, old_graph: str, new_graph: str, sentences: list[list[str]]) -> dict:
    """Runs both graphs on every window of `sentences` (as NerTagger builds them); counts and whether every
    logit and feature was bit for bit equal."""
    import numpy as np

    tagger = NerTagger.load(model_dir, backend="onnx")  # its wordpieces and case markers; both graphs run below
    old, new = OnnxBackend(old_graph, threads=1), OnnxBackend(new_graph, threads=1)
    windows = tokens = 0
    identical = True
    for words in sentences:
        if not words:
            continue
        ids = np.asarray([tagger.encoder.encode(words)[0][:tagger.max_pieces]], dtype=np.int64)
        a, b = old.run(ids, None, True), new.run(ids, None, True)
        identical = identical and all(np.array_equal(x, y) for x, y in zip(a, b))
        windows += 1
        tokens += ids.shape[1]
    return {"windows": windows, "wordpieces": tokens, "identical": identical}


def rebind_heads(old_sha: str, new_sha: str, check: dict, models_dir: str | None = None) -> list[str]:
    """Heads under models/ (or models_dir) bound to old_sha are bound to new_sha (the check found the same
    outputs)."""
    models_dir = models_dir or MODELS_DIR
    rebound = []
    for name in sorted(os.listdir(models_dir)):
        path = os.path.join(models_dir, name, "claimwire_attribution.json")
        if not os.path.exists(path):
            continue
        with open(path, encoding="utf-8") as f:
            meta = json.load(f)
        if meta.get("encoder_graph_sha256") != old_sha:
            continue
        meta["encoder_graph_sha256"] = new_sha
        meta.setdefault("encoder_graph_reexports", []).append(
            {"from": old_sha, "to": new_sha, "outputs_identical_on": {k: check[k] for k in ("windows", "wordpieces")}})
        with open(path, "w", encoding="utf-8") as f:
            json.dump(meta, f, indent=1)
        rebound.append(name)
    return rebound


def export_ner(model_dir: str, conll: str | None) -> None:
    import torch
    from transformers import AutoModelForTokenClassification

    model = AutoModelForTokenClassification.from_pretrained(model_dir, dtype=torch.float32)
    dst = os.path.join(model_dir, ONNX_FILE)
    with tempfile.TemporaryDirectory() as tmp:
        fp32, new = os.path.join(tmp, "model.fp32.onnx"), os.path.join(tmp, ONNX_FILE)
        export_onnx(model, fp32, feature_layers(read_model_meta(model_dir)))
        quantize_onnx(fp32, new)
        old_sha, new_sha = (file_sha256(dst) if os.path.exists(dst) else None), file_sha256(new)
        if old_sha is not None and old_sha != new_sha:
            check = same_outputs(model_dir, dst, new, check_texts(conll))
            print(f"new graph against the old one on {check['windows']} sentences ({check['wordpieces']} wordpieces): "
                  f"{'bit for bit the same outputs' if check['identical'] else 'DIFFERENT outputs'}")
            if check["identical"]:
                print(f"heads rebound to the new graph: {', '.join(rebind_heads(old_sha, new_sha, check)) or 'none'}")
            else:
                print("heads trained on the old graph stay bound to it (refused with the new one): retrain them with "
                      "training/train_attribution.py")
        shutil.copy(new, dst)
    print(f"wrote {dst} ({os.path.getsize(dst) / 2**20:.1f} MiB)")


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("model_dir", nargs="?", default="models/claimwire-ner-v1")
    ap.add_argument("--conll", help="CoNLL-2003 folder: its test sentences join the re-export check")
    args = ap.parse_args(argv)
    if os.path.exists(os.path.join(args.model_dir, "claimwire_attribution.json")):
        path = export_head_onnx(args.model_dir)
        print(f"wrote {path} ({os.path.getsize(path) / 2**20:.1f} MiB)")
        return
    export_ner(args.model_dir, args.conll)


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


def unrolled_head(head):
    """The same function as `head`, for one article (words × in_dim → words × labels) with each dilated convolution
    written as one matrix product over [h(t-d), h(t), h(t+d)]: the form an int8 matrix-product kernel runs
    (ONNX Runtime's dynamic quantization leaves convolutions in fp32). Outputs match `head` to about 1e-5."""
    import torch

    class UnrolledHead(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.proj, self.out = head.proj, head.out
            self.norms = torch.nn.ModuleList(b.norm for b in head.blocks)
            self.dilations = [b.conv.dilation[0] for b in head.blocks]
            self.mixes = torch.nn.ModuleList()
            for b in head.blocks:
                w = b.conv.weight  # (out, in, kernel 3)
                mix = torch.nn.Linear(w.shape[1] * 3, w.shape[0])
                mix.weight.data = w.permute(0, 2, 1).reshape(w.shape[0], -1).clone()
                mix.bias.data = b.conv.bias.data.clone()
                self.mixes.append(mix)

        def forward(self, x):
            h = torch.nn.functional.gelu(self.proj(x))
            n = h.shape[0]
            for d, mix, norm in zip(self.dilations, self.mixes, self.norms):
                padded = torch.nn.functional.pad(h, (0, 0, d, d))  # zeros beyond the article, as the conv pads
                taps = torch.cat([padded[0:n], padded[d:d + n], padded[2 * d:2 * d + n]], 1)
                h = norm(h + torch.nn.functional.gelu(mix(taps)))
            return self.out(h)

    return UnrolledHead().eval()


def export_head_onnx(model_dir: str) -> str:
    """Writes HEAD_ONNX_FILE beside a head's weights (the unrolled head, dynamic int8 like the NER graph) and
    records in claimwire_attribution.json which weights it came from, so a retrained head never runs a stale
    graph. `python -m training.export_onnx models/claimwire-attribution-v2`."""
    import tempfile

    import torch

    tagger = AttributionTagger.load(model_dir, backend="torch")
    x = torch.zeros((16, tagger.meta["in_dim"]))
    dst = os.path.join(model_dir, HEAD_ONNX_FILE)
    with tempfile.TemporaryDirectory() as tmp:
        fp32 = os.path.join(tmp, "head.fp32.onnx")
        torch.onnx.export(unrolled_head(tagger.head), (x,), fp32, input_names=["features"], output_names=["logits"],
                          opset_version=17, dynamo=False, dynamic_axes={"features": {0: "words"},
                                                                        "logits": {0: "words"}})
        quantize_onnx(fp32, dst)
    meta_path = os.path.join(model_dir, "claimwire_attribution.json")
    with open(meta_path, encoding="utf-8") as f:
        meta = json.load(f)
    meta["int8_graph"] = {"file": HEAD_ONNX_FILE, "head_sha256": file_sha256(os.path.join(model_dir, HEAD_FILE)),
                          "graph_sha256": file_sha256(dst)}
    with open(meta_path, "w", encoding="utf-8") as f:
        json.dump(meta, f, indent=1)
    return dst


if __name__ == "__main__":
    main()
