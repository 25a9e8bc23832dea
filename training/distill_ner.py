"""Distils a smaller NER encoder (student) from claimwire-ner-v1 (teacher), for speed. claimwire-ner-v2, shipped
as an opt-in model, is the 4-layer student of this command (models/claimwire-ner-v2/README.md):

    python -m training.distill_ner --conll ../shared/data/conll2003 --polnear ../shared/data/polnear \
        --layers 0,2,4,5 --epochs 2 --polnear-sentences 100000 --out models/claimwire-ner-v2

The student is the teacher with only --layers kept (its weights copied, so training starts close). It learns from
(1) CoNLL-2003 train gold tags, (2) the teacher's tag distribution and (3) the teacher's hidden states at the
layers the attribution head reads (claimcore/ner_model.FEATURE_LAYERS), on CoNLL train and on PolNeAR train
sentences (news text; the teacher's outputs are the only labels used from it; the attribution head's held-out
articles and PolNeAR dev are left out). CoNLL dev (testa) chooses the epoch; test (testb) is scored once at the end.
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

from claimcore.ner_model import FEATURE_LAYERS, LABELS, WordEncoder, resolve_model_dir
from claimcore.text import sentence_spans, split_words
from training.polnear import read_split
from training.train_attribution import holdout_indices
from training.train_ner import batches, encode_corpus, evaluate


def polnear_sentences(articles, enc: WordEncoder, max_len: int, skip: set[int], limit: int):
    items = []
    for k, art in enumerate(articles):
        if k in skip:
            continue
        words = split_words(art.text)
        for s, e in sentence_spans(art.text, words):
            ws = [w.text for w in words[s:e]]
            ids, firsts = enc.encode(ws)
            if 3 <= len(ids) <= max_len:
                items.append((ids, [-100] * len(ids), ws, None, firsts))
    random.Random(13).shuffle(items)
    return items[:limit]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--conll", required=True)
    ap.add_argument("--polnear", required=True)
    ap.add_argument("--teacher", default="claimwire-ner-v1", help="a model folder or a name under models/")
    ap.add_argument("--layers", default="0,2,5", help="teacher layers the student keeps")
    ap.add_argument("--out", required=True)
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--lr", type=float, default=1e-4)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--max-len", type=int, default=160)
    ap.add_argument("--polnear-sentences", type=int, default=12000)
    ap.add_argument("--hidden-weight", type=float, default=1.0)
    ap.add_argument("--seed", type=int, default=13)
    ap.add_argument("--final-epochs-with-dev", type=int, default=1,
                    help="after choosing the epoch on dev, this many more epochs on train + dev at 0.3x the learning "
                         "rate (as training/train_ner.py does; test stays unseen)")
    ap.add_argument("--init", default=None, help="continue from this student (with --epochs 0: the final stage only)")
    ap.add_argument("--device", default="cpu", help="torch device for the teacher and the student, e.g. cuda")
    args = ap.parse_args(argv)

    from transformers import AutoModelForTokenClassification, AutoTokenizer

    random.seed(args.seed)
    np.random.seed(args.seed)
    torch.manual_seed(args.seed)
    if args.device == "cpu":
        torch.set_num_threads(os.cpu_count() or 2)
    teacher_dir = resolve_model_dir(args.teacher)
    tok = AutoTokenizer.from_pretrained(teacher_dir)
    enc = WordEncoder(tok)
    conll = encode_corpus(enc, os.path.join(args.conll, "eng.train"), args.max_len)
    dev = encode_corpus(enc, os.path.join(args.conll, "eng.testa"), 512)
    test = encode_corpus(enc, os.path.join(args.conll, "eng.testb"), 512)
    polnear = read_split(args.polnear, "train")
    skip = set(holdout_indices(len(polnear), 60, 13))  # training/train_attribution.py's held-out articles
    news = polnear_sentences(polnear, enc, args.max_len, skip, args.polnear_sentences)
    train = conll + news + (dev if args.final_epochs_with_dev else [])  # dev joins only in the final stage
    n_select = len(conll) + len(news)
    print(f"sentences: CoNLL train {len(conll)}, PolNeAR train {len(news)}, dev {len(dev)}, test {len(test)}",
          flush=True)

    teacher = AutoModelForTokenClassification.from_pretrained(teacher_dir, dtype=torch.float32).eval().to(args.device)
    keep = [int(x) for x in args.layers.split(",")]
    n_teacher = teacher.config.num_hidden_layers
    t_feat = [k if k >= 0 else n_teacher + 1 + k for k in FEATURE_LAYERS]  # hidden_states indices
    # the student's hidden state after the last kept teacher layer below t stands for the teacher's state t
    s_feat = [max(i + 1 for i, layer in enumerate(keep) if layer < t) if t > 0 else 0 for t in t_feat]
    print(f"student keeps teacher layers {keep}; student hidden states {s_feat} learn teacher's {t_feat}",
          flush=True)

    # teacher targets, once (fp16 to keep memory down)
    t0 = time.time()
    targets = [None] * len(train)
    with torch.inference_mode():
        for idx in batches(train, 64, False, None):
            n = max(len(train[i][0]) for i in idx)
            ids = torch.zeros((len(idx), n), dtype=torch.long)
            att = torch.zeros((len(idx), n), dtype=torch.long)
            for r, i in enumerate(idx):
                ids[r, :len(train[i][0])] = torch.tensor(train[i][0])
                att[r, :len(train[i][0])] = 1
            out = teacher(input_ids=ids.to(args.device), attention_mask=att.to(args.device), output_hidden_states=True)
            logits, hidden = out.logits.half().cpu(), torch.cat([out.hidden_states[k] for k in t_feat], -1).half().cpu()
            for r, i in enumerate(idx):
                L = len(train[i][0])
                targets[i] = (logits[r, :L], hidden[r, :L])
    print(f"teacher targets: {time.time() - t0:.0f} s", flush=True)

    if args.init:
        student = AutoModelForTokenClassification.from_pretrained(args.init, dtype=torch.float32)
    else:
        config = teacher.config.to_dict()
        config["num_hidden_layers"] = len(keep)
        from transformers import BertConfig
        student = AutoModelForTokenClassification.from_config(BertConfig(**config))
        new_state = {}
        for k, v in teacher.state_dict().items():
            if ".encoder.layer." in k:
                layer = int(k.split(".encoder.layer.")[1].split(".")[0])
                if layer not in keep:
                    continue
                k = k.replace(f".encoder.layer.{layer}.", f".encoder.layer.{keep.index(layer)}.")
            new_state[k] = v
        student.load_state_dict(new_state)
    del teacher
    student.to(args.device)

    rng = random.Random(args.seed)
    selection = train[:n_select]
    t0 = time.time()

    def run_epoch(items, label, opt, sched):
        student.train()
        running = 0.0
        steps_per_epoch = math.ceil(len(items) / args.batch_size)
        for step, idx in enumerate(batches(items, args.batch_size, True, rng)):
            n = max(len(train[i][0]) for i in idx)
            ids = torch.zeros((len(idx), n), dtype=torch.long)
            att = torch.zeros((len(idx), n), dtype=torch.long)
            lab = torch.full((len(idx), n), -100, dtype=torch.long)
            t_logits = torch.zeros((len(idx), n, len(LABELS)))
            t_hidden = torch.zeros((len(idx), n, targets[idx[0]][1].shape[-1]))
            for r, i in enumerate(idx):
                L = len(train[i][0])
                ids[r, :L] = torch.tensor(train[i][0])
                att[r, :L] = 1
                lab[r, :L] = torch.tensor(train[i][1])
                t_logits[r, :L] = targets[i][0].float()
                t_hidden[r, :L] = targets[i][1].float()
            ids, att, lab = ids.to(args.device), att.to(args.device), lab.to(args.device)
            t_logits, t_hidden = t_logits.to(args.device), t_hidden.to(args.device)
            out = student(input_ids=ids, attention_mask=att, output_hidden_states=True)
            mask = att.bool()
            gold = torch.nn.functional.cross_entropy(out.logits.reshape(-1, len(LABELS)), lab.reshape(-1),
                                                     ignore_index=-100) if (lab >= 0).any() else 0.0
            soft = torch.nn.functional.kl_div(torch.log_softmax(out.logits[mask], -1),
                                              torch.softmax(t_logits[mask], -1), reduction="batchmean")
            s_hidden = torch.cat([out.hidden_states[k] for k in s_feat], -1)
            hidden = torch.nn.functional.mse_loss(s_hidden[mask], t_hidden[mask])
            loss = gold + soft + args.hidden_weight * hidden
            loss.backward()
            torch.nn.utils.clip_grad_norm_(student.parameters(), 1.0)
            opt.step()
            sched.step()
            opt.zero_grad()
            running += float(loss.detach())
            if step % 200 == 0:
                print(f"{label} step {step}/{steps_per_epoch} loss {running / (step + 1):.4f} "
                      f"(hidden {float(hidden.detach()):.4f}) {time.time() - t0:.0f}s", flush=True)

    opt = torch.optim.AdamW(student.parameters(), lr=args.lr, weight_decay=0.01)
    total = math.ceil(len(selection) / args.batch_size) * args.epochs
    warmup = int(0.06 * total)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min((s + 1) / max(1, warmup), max(0.0, (total - s) / max(1, total - warmup))))
    best, best_state, history = -1.0, None, []
    for epoch in range(args.epochs):
        run_epoch(selection, f"epoch {epoch}", opt, sched)
        f1 = evaluate(student, dev, tok.pad_token_id, args.device)["overall"]["f1"]
        history.append({"epoch": epoch, "dev_f1": f1, "seconds": round(time.time() - t0)})
        print(f"epoch {epoch} dev F1 {f1:.4f} ({time.time() - t0:.0f}s)", flush=True)
        if f1 > best:
            best, best_state = f1, {k: v.detach().clone() for k, v in student.state_dict().items()}
    if best_state is not None:
        student.load_state_dict(best_state)
    if args.final_epochs_with_dev:
        # the dev set has chosen the epoch; its sentences (with their gold tags) are worth learning from too
        opt2 = torch.optim.AdamW(student.parameters(), lr=args.lr * 0.3, weight_decay=0.01)
        total2 = math.ceil(len(train) / args.batch_size) * args.final_epochs_with_dev
        sched2 = torch.optim.lr_scheduler.LambdaLR(opt2, lambda s: max(0.0, (total2 - s) / total2))
        for epoch in range(args.final_epochs_with_dev):
            run_epoch(train, f"train+dev epoch {epoch}", opt2, sched2)
        history.append({"final_epochs_with_dev": args.final_epochs_with_dev, "seconds": round(time.time() - t0)})
    test_scores = evaluate(student, test, tok.pad_token_id, args.device)
    print(f"test F1 (greedy, fp32) {test_scores['overall']['f1']:.4f}", flush=True)
    os.makedirs(args.out, exist_ok=True)
    student.cpu().half().save_pretrained(args.out, safe_serialization=True)
    tok.save_pretrained(args.out)
    with open(os.path.join(teacher_dir, "claimwire_ner.json"), encoding="utf-8") as f:
        teacher_meta = json.load(f)
    # the teacher's labels and input format carry over; its training record does not
    meta = {k: teacher_meta[k] for k in ("format", "labels", "case_markers") if k in teacher_meta}
    meta.update(torch=torch.__version__, name=os.path.basename(os.path.normpath(args.out)),
                base=f"distilled from {os.path.basename(os.path.normpath(teacher_dir))}, teacher layers {keep}",
                feature_layers=s_feat, train={k: v for k, v in vars(args).items()
                                              if k not in ("conll", "polnear", "out", "teacher", "init")},
                history=history, dev_after_selection={"overall": {"f1": best}} if best_state else None,
                test=test_scores, init=args.init and os.path.basename(os.path.normpath(args.init)),
                train_seconds=round(time.time() - t0))
    with open(os.path.join(args.out, "claimwire_ner.json"), "w", encoding="utf-8") as f:
        json.dump(meta, f, indent=1)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
