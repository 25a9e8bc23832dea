"""The run summary: counters per stage (Beam Metrics), errors by kind, output files, wall time."""
from __future__ import annotations

import collections

from claimcore.figures import family_label
from claimcore.language import OTHER_LANGUAGES_NOTE, english_models_apply, language_counts
from schemas import TABLES
from schemas.dataset import read_table, table_dir
from transforms.common import NAMESPACE


def stage_counters(result) -> dict[str, dict[str, int]]:
    from apache_beam.metrics.metric import MetricsFilter
    stages = collections.defaultdict(dict)
    try:
        counters = result.metrics().query(MetricsFilter().with_namespace(NAMESPACE))["counters"]
    except Exception:  # some runners report no metrics
        return {}
    for c in counters:
        stage, _, name = c.key.metric.name.partition(".")
        value = c.committed if c.committed is not None else c.attempted
        stages[stage][name] = stages[stage].get(name, 0) + (value or 0)
    return dict(stages)


def format_summary(output_dir: str, counters: dict, seconds: float, shards: str | None = None) -> str:
    """The summary of one command (a sharded one: its stage counters summed over the shards it ran, and the
    `shards` line) over the output's tables."""
    lines = [f"claimwire run finished in {seconds:.1f}s"] + ([shards] if shards else []) + ["", "stages:"]
    for stage in sorted(counters):
        parts = ", ".join(f"{k} {v}" for k, v in sorted(counters[stage].items()) if not k.startswith("error."))
        lines.append(f"  {stage:<18} {parts}")
    lines += ["", "tables:"]
    for name in TABLES:
        t = read_table(output_dir, name)
        if t is not None:
            lines.append(f"  {name:<13} {t.num_rows:>6} rows  {table_dir(output_dir, name)}/")
    languages = read_table(output_dir, "articles", ["language"])
    if languages is not None and languages.num_rows:
        codes = languages.column("language").to_pylist()
        lines += ["", "articles by language:", f"  {language_counts(codes)}"]
        if not all(english_models_apply(c) for c in codes):
            lines.append(f"  ({OTHER_LANGUAGES_NOTE})")
    errors = read_table(output_dir, "errors")
    if errors is not None and errors.num_rows:
        kinds = collections.Counter(errors.column("kind").to_pylist())
        lines += ["", "errors by kind:"] + [f"  {k:<20} {v}" for k, v in kinds.most_common()]
    lines += top_corroborated_claims(output_dir)
    return "\n".join(lines)


def top_corroborated_claims(output_dir: str, n: int = 5) -> list[str]:
    """The figures most outlets back, per story: what the run found that several sources agree on."""
    t = read_table(output_dir, "story_claims")
    stories = read_table(output_dir, "stories")
    if t is None or not t.num_rows:
        return []
    titles = dict(zip(stories.column("story_id").to_pylist(), stories.column("representative_title").to_pylist())) \
        if stories is not None else {}
    rows = sorted(t.to_pylist(), key=lambda r: (-r["outlet_count"], -r["claim_count"], r["story_claim_id"]))
    lines = ["", "top corroborated claims (figure · subject · outlets · claimants):"]
    for r in rows[:n]:
        conflict = f"  [conflicting: {', '.join(_figure(v) for v in r['conflicting_values'])}]" \
            if r["conflict"] else ""
        outlets = f"{r['outlet_count']} outlet{'s' if r['outlet_count'] != 1 else ''}" if r["outlet_count"] else \
            f"{r['article_count']} article{'s' if r['article_count'] != 1 else ''}, outlet unknown"  # files, no URL
        figure = " ".join(x for x in (_figure(r["value"]), family_label(r["unit_family"])) if x)
        lines.append(f"  {figure} · {r['subject'] or '(no subject)'} · "
                     f"{outlets} · {', '.join(r['claimants'][:3]) or 'unattributed'}{conflict}")
        title = titles.get(r["story_id"])
        if title:
            lines.append(f"      in: {title[:90]}")
    return lines


def _figure(v: float) -> str:
    return f"{v:,.0f}" if v == int(v) else f"{v:,.2f}".rstrip("0").rstrip(".")
