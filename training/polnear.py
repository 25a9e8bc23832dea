"""PolNeAR (Political News Attribution Relations) reader: articles with their Source / Cue / Content spans.

Format (../shared/data/README.md): `<split>/text/<stem>.txt` and `<split>/attributions/<stem>_<annotator>.ann`
(BRAT standoff, Python str offsets, discontinuous spans as `a b;c d`). Where two annotators marked one article the
first file in name order is kept. Irregular lines are skipped, not fatal. Used by training/train_attribution.py and
bench/attribution.py; the data never enters this repository.
"""
from __future__ import annotations

import glob
import os
import re
from dataclasses import dataclass, field

ROLES = ("source", "cue", "content")


@dataclass
class Attribution:
    source: list[tuple[int, int]] = field(default_factory=list)
    cue: list[tuple[int, int]] = field(default_factory=list)
    content: list[tuple[int, int]] = field(default_factory=list)


@dataclass
class Article:
    name: str
    text: str
    attributions: list[Attribution]


_T_LINE = re.compile(r"^(T\d+)\t(\w+) ([\d ;]+)\t?")


def _parse_ann(path: str) -> list[Attribution]:
    spans: dict[str, tuple[str, list[tuple[int, int]]]] = {}
    relations = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.rstrip("\n")
            m = _T_LINE.match(line)
            if m:
                frags = []
                for part in m.group(3).split(";"):
                    bits = part.split()
                    if len(bits) == 2 and bits[0].isdigit() and bits[1].isdigit():
                        frags.append((int(bits[0]), int(bits[1])))
                if frags:
                    spans[m.group(1)] = (m.group(2).lower(), frags)
            elif line.startswith("E"):
                parts = line.split("\t")
                if len(parts) >= 2:
                    relations.append(dict(p.split(":", 1) for p in parts[1].split() if ":" in p))
    out = []
    for rel in relations:
        a = Attribution()
        for role in ROLES:
            ref = rel.get(role.capitalize())
            if ref in spans:
                getattr(a, role).extend(spans[ref][1])
        if a.content or a.cue:
            out.append(a)
    return out


def read_split(root: str, split: str) -> list[Article]:
    """Articles of one split ('train' or 'dev') under root (../shared/data/polnear), in name order."""
    base = os.path.join(root, split)
    if not os.path.isdir(os.path.join(base, "text")):
        raise FileNotFoundError(f"{base}/text not found: pass the PolNeAR folder (../shared/data/polnear)")
    anns: dict[str, str] = {}
    for path in sorted(glob.glob(os.path.join(base, "attributions", "*.ann"))):
        stem = os.path.basename(path).rsplit("_", 1)[0]
        anns.setdefault(stem, path)
    articles = []
    for stem, ann in sorted(anns.items()):
        txt = os.path.join(base, "text", stem + ".txt")
        if not os.path.exists(txt):
            continue
        with open(txt, encoding="utf-8") as f:
            text = f.read()
        articles.append(Article(stem, text, _parse_ann(ann)))
    return articles


def word_roles(words, attributions: list[Attribution]) -> list[str]:
    """BIO role tag per word (B-/I- × SOURCE, CUE, CONTENT): a word takes the role of the span holding its first
    character; each span fragment starts with B-."""
    tags = ["O"] * len(words)
    starts = [w.start for w in words]
    import bisect
    for a in attributions:
        for role in ROLES:
            for s, e in getattr(a, role):
                i = bisect.bisect_left(starts, s)
                first = True
                while i < len(words) and words[i].start < e:
                    tags[i] = ("B-" if first else "I-") + role.upper()
                    first = False
                    i += 1
    return tags
