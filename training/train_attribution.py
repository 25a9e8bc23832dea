"""Trains a claimwire attribution head, the Source / Cue / Content head over an NER encoder's features (PolNeAR).

    python -m training.train_attribution --polnear ../shared/data/polnear --encoder models/claimwire-ner-v2 \
        --out models/claimwire-attribution-v2

Steps: (1) the encoder's NER graph (its model.int8.onnx, the one the pipeline runs) encodes every
PolNeAR train article sentence by sentence, exactly as at inference; the features are cached under --cache; (2) the
head (claimcore/attribution_model.build_head) trains on train minus --holdout articles, which choose the epoch;
(3) the best epoch's weights are written with their recipe and holdout scores, and (4) their int8 graph
(head.int8.onnx, what the pipeline runs). PolNeAR dev is never read here: bench/attribution.py scores it.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import time

import numpy as np

from claimcore.attribution_model import (
    HEAD_FILE,
    LABELS,
    MODEL_FORMAT,
    AttributionTagger,
    build_head,
    encoder_graph_sha256,
    layout_features,
)
from claimcore.bio import viterbi_bio
from claimcore.ner_model import NerTagger, resolve_model_dir
from models import model_path
from training.conll import span_f1
from training.export_onnx import export_head_onnx
from training.polnear import read_split, word_roles


def encode_articles(articles, encoder_dir: str, cache_dir: str, split: str):
    """[(features (words × dims) float16, role tags)] per article, cached by encoder graph + split."""
    key = encoder_graph_sha256(encoder_dir)[:12]
    path = os.path.join(cache_dir, f"{split}-{key}-{len(articles)}.npz")
    if os.path.exists(path):
        data = np.load(path, allow_pickle=True)
        return list(zip(data["feats"], data["tags"]))
    tagger = NerTagger.load(encoder_dir)
    out, t0 = [], time.time()
    for k, art in enumerate(articles):
        doc = tagger.analyze([art.text], features=True)[0]
        feats = np.concatenate([doc.features, layout_features(art.text, doc.words, doc.sentences)], 1)
        out.append((feats.astype(np.float16), np.array(word_roles(doc.words, art.attributions))))
        if k % 100 == 0:
            print(f"  encoded {k}/{len(articles)} ({time.time() - t0:.0f} s)", flush=True)
    os.makedirs(cache_dir, exist_ok=True)
    np.savez(path, feats=np.array([f for f, _ in out], dtype=object), tags=np.array([t for _, t in out], dtype=object))
    return out


def teacher_probabilities(articles, teacher_dir: str, cache_dir: str, data) -> list[np.ndarray]:
    """Per article, the teacher head's word-role probabilities (words × labels) on its own encoder's features (the
    encoder its claimwire_attribution.json names under models/); the same words as `data`'s, article by article."""
    import torch

    with open(os.path.join(teacher_dir, "claimwire_attribution.json"), encoding="utf-8") as f:
        encoder_dir = model_path(json.load(f)["encoder"])
    teacher = AttributionTagger.load(teacher_dir, encoder_dir, backend="torch")
    out = []
    with torch.inference_mode():
        for (feats, _), (own, _) in zip(encode_articles(articles, encoder_dir, cache_dir, "train"), data):
            if len(feats) != len(own):
                raise ValueError("teacher and student encoders split an article into different words")
            logits = teacher.head(torch.from_numpy(feats.astype(np.float32))[None])[0]
            out.append(torch.softmax(logits, -1).numpy().astype(np.float32))
    return out


def holdout_indices(n: int, holdout: int, seed: int) -> list[int]:
    """Indices (into PolNeAR train in name order) of the articles kept back to choose the epoch; bench/attribution.py
    --split holdout scores them."""
    order = list(range(n))
    random.Random(seed).shuffle(order)
    return sorted(order[:holdout])


def evaluate(head, data) -> dict:
    """Span-level micro F1 over the three roles (exact spans), after constrained decoding."""
    import torch

    head.eval()
    gold, pred = [], []
    with torch.inference_mode():
        for feats, tags in data:
            logits = head(torch.from_numpy(feats.astype(np.float32))[None])[0]
            probs = torch.softmax(logits, -1).numpy()
            pred.append([LABELS[i] for i in viterbi_bio(probs, LABELS)])
            gold.append(list(tags))
    scores = span_f1(gold, pred)
    correct = sum(int(g == p) for gs, ps in zip(gold, pred) for g, p in zip(gs, ps))
    scores = dict(scores["overall"], per_role={k: v["f1"] for k, v in scores.items() if k != "overall"})
    scores["word_accuracy"] = correct / max(1, sum(len(g) for g in gold))
    return scores


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--polnear", required=True, help="PolNeAR folder (../shared/data/polnear)")
    ap.add_argument("--encoder", default=None, help="NER model folder (default: the shipped one)")
    ap.add_argument("--out", required=True, help="where the head goes (models/claimwire-attribution-vN)")
    ap.add_argument("--cache", default=os.path.join(os.environ.get("TMPDIR", "/tmp"), "claimwire-attr-cache"))
    ap.add_argument("--epochs", type=int, default=12)
    ap.add_argument("--holdout", type=int, default=60, help="train articles kept back to choose the epoch")
    ap.add_argument("--hidden", type=int, default=256)
    ap.add_argument("--proj", type=int, default=256)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--chunk", type=int, default=400, help="training sequence length in words")
    ap.add_argument("--seed", type=int, default=13)
    ap.add_argument("--teacher-head", help="a trained head folder: the new head also learns its word-role "
                    "probabilities, computed on its own encoder's features (distillation, e.g. v1's head for v2)")
    ap.add_argument("--teacher-weight", type=float, default=1.0, help="weight of the distillation loss")
    ap.add_argument("--init-from", help="a trained head folder with the same input size to start from")
    args = ap.parse_args(argv)

    import torch
    from safetensors.torch import save_file
    torch.manual_seed(args.seed)
    random.seed(args.seed)
    encoder_dir = resolve_model_dir(args.encoder)
    articles = read_split(args.polnear, "train")
    print(f"PolNeAR train: {len(articles)} articles; encoding with {encoder_dir}", flush=True)
    data = encode_articles(articles, encoder_dir, args.cache, "train")
    soft = teacher_probabilities(articles, args.teacher_head, args.cache, data) if args.teacher_head else None
    held = set(holdout_indices(len(data), args.holdout, args.seed))
    hold = [d for i, d in enumerate(data) if i in held]
    train = [d for i, d in enumerate(data) if i not in held]
    train_soft = [p for i, p in enumerate(soft) if i not in held] if soft is not None else [None] * len(train)
    in_dim = int(train[0][0].shape[1])
    label_id = {lab: i for i, lab in enumerate(LABELS)}

    # chunks of --chunk words (overlapping by half) make batches of similar length
    chunks = []
    for (feats, tags), probs in zip(train, train_soft):
        ids = np.array([label_id[t] for t in tags], dtype=np.int64)
        step = args.chunk // 2
        for s in range(0, max(1, len(ids) - step), step):
            chunks.append((feats[s:s + args.chunk], ids[s:s + args.chunk],
                           None if probs is None else probs[s:s + args.chunk]))
    head = build_head(in_dim, args.hidden, args.proj)
    if args.init_from:
        from safetensors.torch import load_file
        head.load_state_dict({k: v.float() for k, v in load_file(os.path.join(args.init_from, HEAD_FILE)).items()})
    opt = torch.optim.AdamW(head.parameters(), lr=args.lr, weight_decay=0.01)
    steps = args.epochs * ((len(chunks) + 15) // 16)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=args.lr, total_steps=steps, pct_start=0.1)
    best, best_state, history = -1.0, None, []
    for epoch in range(1, args.epochs + 1):
        head.train()
        random.shuffle(chunks)
        t0, total = time.time(), 0.0
        for b in range(0, len(chunks), 16):
            batch = chunks[b:b + 16]
            n = max(len(c[1]) for c in batch)
            x = torch.zeros((len(batch), n, in_dim))
            y = torch.full((len(batch), n), -100, dtype=torch.long)
            t = torch.zeros((len(batch), n, len(LABELS)))
            lengths = torch.tensor([len(c[1]) for c in batch])
            for k, (f, i, p) in enumerate(batch):
                x[k, :len(i)] = torch.from_numpy(f.astype(np.float32))
                y[k, :len(i)] = torch.from_numpy(i)
                if p is not None:
                    t[k, :len(i)] = torch.from_numpy(p)
            logits = head(x, lengths).reshape(-1, len(LABELS))
            loss = torch.nn.functional.cross_entropy(logits, y.reshape(-1), ignore_index=-100)
            if soft is not None:
                real = y.reshape(-1) != -100
                loss = loss + args.teacher_weight * torch.nn.functional.kl_div(
                    torch.log_softmax(logits[real], -1), t.reshape(-1, len(LABELS))[real], reduction="batchmean")
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(head.parameters(), 1.0)
            opt.step()
            sched.step()
            total += float(loss.detach())
        scores = evaluate(head, hold)
        history.append({"epoch": epoch, "loss": round(total / max(1, len(chunks) / 16), 4),
                        "holdout_span_f1": round(scores["f1"], 4),
                        "holdout_word_acc": round(scores["word_accuracy"], 4)})
        print(f"epoch {epoch}: loss {history[-1]['loss']}, holdout span F1 {scores['f1']:.4f}, "
              f"word acc {scores['word_accuracy']:.4f} ({time.time() - t0:.0f} s)", flush=True)
        if scores["f1"] > best:
            best = scores["f1"]
            best_state = {k: v.detach().clone() for k, v in head.state_dict().items()}
    os.makedirs(args.out, exist_ok=True)
    save_file({k: v.contiguous() for k, v in best_state.items()}, os.path.join(args.out, HEAD_FILE))
    meta = {"format": MODEL_FORMAT, "labels": LABELS, "in_dim": in_dim, "hidden": args.hidden, "proj": args.proj,
            "encoder": os.path.basename(os.path.normpath(encoder_dir)),
            "encoder_graph_sha256": encoder_graph_sha256(encoder_dir),
            "data": f"PolNeAR v1.0 train, {len(train)} articles (+{len(hold)} held out to choose the epoch)",
            "recipe": {k: getattr(args, k) for k in ("epochs", "lr", "chunk", "seed", "holdout")},
            **({"teacher_head": os.path.basename(os.path.normpath(args.teacher_head)),
                "teacher_weight": args.teacher_weight} if args.teacher_head else {}),
            **({"init_from": os.path.basename(os.path.normpath(args.init_from))} if args.init_from else {}),
            "history": history, "best_holdout_span_f1": round(best, 4)}
    with open(os.path.join(args.out, "claimwire_attribution.json"), "w", encoding="utf-8") as f:
        json.dump(meta, f, indent=1)
    export_head_onnx(args.out)  # the int8 graph the pipeline runs (its holdout figures: bench/attribution.py)
    print(f"wrote {args.out} (best holdout span F1 {best:.4f})")


if __name__ == "__main__":
    main()
