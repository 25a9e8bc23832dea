"""Exports a trained claimwire model to ONNX and quantizes it to int8 (dynamic, per-channel weights) beside its
weights:

    python -m training.export_onnx models/claimwire-ner-v1
    python -m training.export_onnx models/claimwire-attribution-v1

- An NER model: NerTagger then uses model.int8.onnx through ONNX Runtime by default (bench/ner.py measures why:
  speed and F1). The graph outputs `logits` and `features` (the model's `feature_layers`, by default
  transforms.ner_model.FEATURE_LAYERS), which the attribution head reads; a re-export changes the graph's hash, so
  retrain the head (training/train_attribution.py) after one.
- An attribution head (a folder with claimwire_attribution.json): head.int8.onnx, its convolutions unrolled into
  matrix products (transforms.attribution_model.export_head_onnx); training/train_attribution.py already writes it.
"""
import os
import sys
import tempfile

from transforms.ner_model import ONNX_FILE, export_onnx, feature_layers, quantize_onnx, read_model_meta


def main(model_dir: str) -> None:
    if os.path.exists(os.path.join(model_dir, "claimwire_attribution.json")):
        from transforms.attribution_model import export_head_onnx
        path = export_head_onnx(model_dir)
        print(f"wrote {path} ({os.path.getsize(path) / 2**20:.1f} MiB)")
        return
    import torch
    from transformers import AutoModelForTokenClassification
    model = AutoModelForTokenClassification.from_pretrained(model_dir, dtype=torch.float32)
    with tempfile.TemporaryDirectory() as tmp:
        fp32 = os.path.join(tmp, "model.fp32.onnx")
        export_onnx(model, fp32, feature_layers(read_model_meta(model_dir)))
        quantize_onnx(fp32, os.path.join(model_dir, ONNX_FILE))
    print(f"wrote {os.path.join(model_dir, ONNX_FILE)} "
          f"({os.path.getsize(os.path.join(model_dir, ONNX_FILE)) / 2**20:.1f} MiB)")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "models/claimwire-ner-v1")
