"""A generated news corpus for the determinism test: about 100 articles on 20 events, each event written up by
several outlets in different words, with actors, places and figures that several events share (the same
president in three stories, 3,000 troops in two, spelling variants of one name), so that story grouping, entity
canonicalization and claim aggregation all meet ties and near-ties. Seeded: the same corpus on every machine."""
from __future__ import annotations

import datetime as dt
import json
import random

OUTLETS = ["dailyledger.example", "morningpost.example", "wirenews.example", "citytimes.example",
           "globalherald.example"]
PEOPLE = [("Volodymyr Zelensky", "Zelenskiy"), ("Yoon Suk Yeol", "Yoon"), ("Antony Blinken", "Blinken"),
          ("Amara Mensah", "Mensah"), ("Olena Kovalenko", "Kovalenko"), ("Lloyd Austin", "Austin")]
PLACES = ["North Korea", "Ukraine", "Russia", "South Korea", "Kursk", "Seoul", "Kyiv", "Rotterdam", "Nairobi"]
GROUPS = ["the defence ministry", "the United Nations", "NATO", "the central bank", "the electoral commission",
          "South Korean intelligence"]
THINGS = [("troops", "soldiers"), ("drones", "attack drones"), ("residents", "people"), ("tonnes of grain", "tonnes"),
          ("percent", "percent"), ("dollars", "dollars")]
FIGURES = [3000, 10000, 1500, 62, 39, 12000, 71, 250, 3000, 40]
CUES = ["said", "told reporters", "according to", "said on Monday", "announced"]
OPENINGS = ["{place} {verb} {n:,} {thing}, {who} {cue}.", "{who} {cue} that {place} had {verb2} {n:,} {thing}.",
            "About {n:,} {thing} were {verb3} in {place}, {who} {cue}."]
VERBS = [("sent", "sent", "deployed"), ("lost", "lost", "reported"), ("moved", "moved", "counted")]


def _sentence(rng, event, k):
    who_full, who_short = PEOPLE[event["person"]]
    who = who_full if k == 0 else rng.choice([who_short, who_full, GROUPS[event["group"]]])
    if k > 0 and who_short == "Zelenskiy" and rng.random() < 0.5:
        who = "Zelensky"  # another spelling of the same man
    thing = THINGS[event["thing"]][rng.randrange(2)]
    verb = VERBS[event["verb"]]
    n = event["figures"][rng.randrange(len(event["figures"]))]
    template = rng.choice(OPENINGS)
    cue = rng.choice(CUES)
    if cue == "according to":
        return f"{event['place']} {verb[0]} {n:,} {thing}, according to {who}."
    return template.format(place=event["place"], verb=verb[0], verb2=verb[1], verb3=verb[2], n=n, thing=thing,
                           who=who, cue=cue)


def corpus(events: int = 20, seed: int = 7, days_apart: float | None = None) -> list[dict]:
    """days_apart: one event every so many days (a year-long archive) instead of two a day."""
    rng = random.Random(seed)
    start = dt.datetime(2024, 10, 14, 8, tzinfo=dt.timezone.utc)
    docs = []
    for e in range(events):
        event = {"person": e % len(PEOPLE), "group": (e * 5) % len(GROUPS), "place": PLACES[e % len(PLACES)],
                 "thing": e % len(THINGS), "verb": e % len(VERBS),
                 "figures": [FIGURES[e % len(FIGURES)], FIGURES[(e * 3 + 1) % len(FIGURES)]]}
        day = start + (dt.timedelta(days=e * days_apart) if days_apart else
                       dt.timedelta(days=e // 2, hours=3 * (e % 2)))  # two events a day: same-day neighbours
        outlets = rng.sample(OUTLETS, k=rng.choice([3, 4, 5]))
        for o, outlet in enumerate(outlets):
            for version in range(2 if o == 0 else 1):  # the first outlet also updates its story
                paragraphs = [_sentence(rng, event, k) + " " + _sentence(rng, event, k + 1) for k in range(4)]
                title = f"{event['place']}: {PEOPLE[event['person']][0]} on {THINGS[event['thing']][0]} " \
                        f"({outlet.split('.')[0]}{' update' if version else ''})"
                published = day + dt.timedelta(minutes=37 * o + 90 * version)
                docs.append({
                    "id": f"e{e:02d}-{outlet.split('.')[0]}-{version}",
                    "url": f"https://{outlet}/{published:%Y/%m/%d}/event-{e}-{version}",
                    "title": title,
                    "text": title + "\n" + "\n".join(paragraphs),
                    "published": published.isoformat().replace("+00:00", "Z"),
                })
    # one exact wire copy on another outlet, and one copy of an event with the same timestamp as its original
    wire = dict(docs[0], id="wire-copy", url="https://wirenews.example/copy/event-0")
    docs.append(wire)
    docs.append(dict(docs[5], id="same-time-copy", url="https://citytimes.example/copy/event-2"))
    return docs


def write_corpus(path: str, docs: list[dict] | None = None) -> int:
    docs = corpus() if docs is None else docs
    with open(path, "w", encoding="utf-8") as f:
        for d in docs:
            f.write(json.dumps(d) + "\n")
    return len(docs)
