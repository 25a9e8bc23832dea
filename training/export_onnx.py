"""Exports a trained claimwire model to ONNX and quantizes it to int8 (dynamic, per-channel weights) beside its
weights:

    python -m training.export_onnx models/claimwire-ner-v1 [--conll ../shared/data/conll2003]
    python -m training.export_onnx models/claimwire-attribution-v1

- An NER model: NerTagger then uses model.int8.onnx through ONNX Runtime by default (bench/ner.py measures why:
  speed and F1). The graph outputs `logits` and `features` (the model's `feature_layers`, by default
  transforms.ner_model.FEATURE_LAYERS), which the attribution head reads.
  A head is bound to the sha256 of the graph it was trained on. When a graph is already there, the new one is run
  beside it on every sentence of the check texts (the repository's seeds and story fixtures; with --conll also
  CoNLL-2003 test). If logits and features are bit for bit the same, the heads bound to the old graph are bound to
  the new one, and their claimwire_attribution.json records the re-export. Otherwise they stay bound to the old
  graph, so the pipeline refuses them, and they must be retrained (training/train_attribution.py).
- An attribution head (a folder with claimwire_attribution.json): head.int8.onnx, its convolutions unrolled into
  matrix products (transforms.attribution_model.export_head_onnx); training/train_attribution.py already writes it.
"""
import argparse
import json
import os
import shutil
import tempfile

from transforms.ner_model import ONNX_FILE, export_onnx, feature_layers, quantize_onnx, read_model_meta

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def check_texts(conll: str | None) -> list[list[str]]:
    """Sentences as word lists: the seeds and the story fixtures' articles, and CoNLL-2003 test with --conll."""
    from transforms.ner_model import iter_conll, sentence_spans, split_words
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

    from transforms.ner_model import NerTagger, OnnxBackend
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
    from models import MODELS_DIR
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

    from transforms.attribution_model import _file_sha256
    model = AutoModelForTokenClassification.from_pretrained(model_dir, dtype=torch.float32)
    dst = os.path.join(model_dir, ONNX_FILE)
    with tempfile.TemporaryDirectory() as tmp:
        fp32, new = os.path.join(tmp, "model.fp32.onnx"), os.path.join(tmp, ONNX_FILE)
        export_onnx(model, fp32, feature_layers(read_model_meta(model_dir)))
        quantize_onnx(fp32, new)
        old_sha, new_sha = (_file_sha256(dst) if os.path.exists(dst) else None), _file_sha256(new)
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
        from transforms.attribution_model import export_head_onnx
        path = export_head_onnx(args.model_dir)
        print(f"wrote {path} ({os.path.getsize(path) / 2**20:.1f} MiB)")
        return
    export_ner(args.model_dir, args.conll)


if __name__ == "__main__":
    main()
