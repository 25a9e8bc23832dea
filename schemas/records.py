"""claimwire's tables: pyarrow schemas, versions and the id rules. The single source of truth for record layouts.

Inside the pipeline records travel as plain dicts keyed by these column names; `to_table` turns a list of them into
an Arrow table of the exact schema (missing keys become nulls, unknown keys are an error, so a typo cannot slip
through silently). `docs/schema.md` documents every column; tests check the two agree.
"""
from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass

import pyarrow as pa

TS = pa.timestamp("us", tz="UTC")

ENTITY = pa.struct([
    ("text", pa.string()),
    ("label", pa.string()),  # PER / ORG / LOC / MISC
    ("start", pa.int32()),  # character offsets into articles.text: text[start:end] == entity.text
    ("end", pa.int32()),
    ("score", pa.float32()),
    ("canonical", pa.string()),  # canonical name (alias table + fuzzy match), null when not canonicalized
])


@dataclass(frozen=True)
class Table:
    name: str  # directory under the output root
    version: str  # e.g. "articles.v1"; bumped on any incompatible change
    schema: pa.Schema
    key: str  # the id column: rows are unique by it, files are sorted by it

    @property
    def columns(self) -> list[str]:
        return self.schema.names


def _schema(*fields) -> pa.Schema:
    return pa.schema(list(fields) + [("schema_version", pa.string())])


ATTRIBUTION = pa.struct([
    ("content_start", pa.int32()), ("content_end", pa.int32()),
    ("cue", pa.string()), ("cue_start", pa.int32()), ("cue_end", pa.int32()),
    ("source", pa.string()), ("source_start", pa.int32()), ("source_end", pa.int32()),
    ("score", pa.float32()),
])

ARTICLES = Table("articles", "articles.v1", _schema(
    ("article_id", pa.string()),
    ("source_id", pa.string()),
    ("url", pa.string()),
    ("canonical_url", pa.string()),
    ("outlet", pa.string()),
    ("feed_url", pa.string()),
    ("title", pa.string()),
    ("author", pa.string()),
    ("published_at", TS),
    # where published_at came from: input (feed entry / JSONL field), html (htmldate), url (a date in the URL
    # path), text (the dateline); null when no date was found (claimcore/dates.py). New nullable column.
    ("date_source", pa.string()),
    ("language", pa.string()),
    ("text", pa.string()),
    ("content_hash", pa.string()),
    ("fetched_at", TS),
    ("duplicate_of", pa.string()),
    ("duplicate_kind", pa.string()),
    ("story_id", pa.string()),
    # the developing story the article's story belongs to (transforms/dedup.py); null for rows written before
    # threads (a new nullable column)
    ("thread_id", pa.string()),
    ("entities", pa.list_(ENTITY)),
    # who says what (claimwire-attribution-v1): character spans of each attribution's content, cue and source;
    # null for rows written before the attribution model (a new nullable column, articles.v1 unchanged otherwise)
    ("attributions", pa.list_(ATTRIBUTION)),
), key="article_id")

ERRORS = Table("errors", "errors.v1", _schema(
    ("error_id", pa.string()),
    ("stage", pa.string()),
    ("url", pa.string()),
    ("kind", pa.string()),
    ("message", pa.string()),
    ("attempts", pa.int32()),
    ("at", TS),
), key="error_id")

STORIES = Table("stories", "stories.v1", _schema(
    ("story_id", pa.string()),
    ("first_seen", TS),
    ("last_seen", TS),
    ("article_count", pa.int32()),
    ("outlet_count", pa.int32()),
    ("representative_title", pa.string()),
    ("top_entities", pa.list_(pa.string())),
    ("outlets", pa.list_(pa.string())),
    ("article_ids", pa.list_(pa.string())),
    ("thread_id", pa.string()),  # the developing story (a thread of stories) this story belongs to
), key="story_id")

CLAIMANT = pa.struct([("text", pa.string()), ("canonical", pa.string()), ("label", pa.string())])

# claims.v2 (was v1): every figure is a claim (counts without a unit too); unit_family has a new vocabulary
# (claimcore/figures.py: count, count:<class>, money:<ISO code>, percent, points, duration, age, length …);
# new columns for ranges, vague magnitudes, the figure's and the claimant's offsets.
CLAIMS = Table("claims", "claims.v2", _schema(
    ("claim_id", pa.string()),
    ("article_id", pa.string()),
    ("story_id", pa.string()),
    ("url", pa.string()),
    ("outlet", pa.string()),
    ("published_at", TS),
    ("sentence", pa.string()),
    ("evidence_start", pa.int32()),  # offsets of the sentence in articles.text
    ("evidence_end", pa.int32()),
    ("claimant", CLAIMANT),
    ("cue", pa.string()),
    ("stance", pa.string()),  # asserts / denies
    ("subject", pa.string()),
    ("value", pa.float64()),
    ("value_text", pa.string()),
    ("unit", pa.string()),
    ("unit_family", pa.string()),
    ("approximate", pa.bool_()),
    ("qualifier", pa.string()),
    ("denied_text", pa.string()),
    ("entities", pa.list_(pa.string())),
    ("extractor", pa.string()),
    ("value_low", pa.float64()),  # a range ("$200,000 to $300,000") or a vague magnitude ("tens of thousands")
    ("value_high", pa.float64()),
    ("vague", pa.bool_()),
    ("figure_start", pa.int32()),  # offsets of the figure (or the denial cue) in articles.text
    ("figure_end", pa.int32()),
    ("claimant_start", pa.int32()),  # offsets of the claimant as written ("he", "the influential US daily")
    ("claimant_end", pa.int32()),
    ("attribution", pa.string()),  # how the claimant was found: model / rules; null when there is none
), key="claim_id")

STORY_CLAIMS = Table("story_claims", "story_claims.v1", _schema(
    ("story_claim_id", pa.string()),
    ("story_id", pa.string()),
    ("subject", pa.string()),
    ("unit_family", pa.string()),
    ("value", pa.float64()),
    ("stance", pa.string()),
    ("claim_count", pa.int32()),
    ("outlet_count", pa.int32()),
    ("article_count", pa.int32()),
    ("claimant_count", pa.int32()),
    ("outlets", pa.list_(pa.string())),
    ("claimants", pa.list_(pa.string())),
    ("claim_ids", pa.list_(pa.string())),
    ("conflicting_values", pa.list_(pa.float64())),
    ("conflict", pa.bool_()),
), key="story_claim_id")

# State, not output: the story index a later run starts from (OUT/state/story_index/). Rows are the signatures
# transforms/dedup.py compares; the embeddings are only comparable under the same embedding model.
STORY_INDEX = Table("state/story_index", "story_index.v1", _schema(
    ("article_id", pa.string()),
    ("published", pa.float64()),  # epoch seconds, null when unknown
    ("content_hash", pa.string()),
    ("text_len", pa.int64()),
    ("minhash", pa.binary()),  # 64 x uint64
    ("embedding", pa.binary()),  # 384 x float32, unit length
    ("entities", pa.list_(pa.string())),
    ("figures", pa.list_(pa.float64())),
    ("year", pa.int32()),  # publication year, else the latest year the text names; null when neither
    ("months", pa.list_(pa.int8())),  # months (1-12) the text names; null in rows written before it was kept
    ("story_id", pa.string()),
    ("thread_id", pa.string()),
), key="article_id")

# State of `--follow` and streaming polls (OUT/state/feeds/): what the last poll of each feed saw, for
# conditional GET next time. content_hash is the fallback for servers that ignore ETag/If-Modified-Since.
FEED_STATE = Table("state/feeds", "feed_state.v1", _schema(
    ("feed_url", pa.string()),
    ("etag", pa.string()),
    ("last_modified", pa.string()),
    ("content_hash", pa.string()),  # sha256 of the last feed body that was parsed
    ("status", pa.string()),  # changed / not_modified (HTTP 304) / unchanged (same body) / failed
    ("checked_at", TS),
    ("changed_at", TS),  # when the body last changed
), key="feed_url")

TABLES = {t.name: t for t in (ARTICLES, ERRORS, STORIES, CLAIMS, STORY_CLAIMS)}

# The fixed vocabulary of errors.kind; docs/schema.md explains each one.
ERROR_KINDS = (
    "invalid_url",  # not http(s), unparsable, or a file path coming from feed content
    "blocked_address",  # resolves to loopback/private/link-local/multicast/reserved and is not trusted
    "robots_disallowed",  # robots.txt forbids our User-Agent
    "dns_error",  # the host name does not resolve
    "connection_error",  # refused, reset, TLS failure
    "timeout",  # connect, read or total time limit
    "http_client_error",  # 4xx (not retried)
    "http_server_error",  # 5xx after the retries
    "too_many_redirects",  # redirect chain over the limit, or a loop
    "body_too_large",  # over max bytes, before or after decompression
    "decode_error",  # broken gzip/deflate stream, undecodable bytes
    "empty_body",  # 200 with nothing in it
    "not_a_feed",  # parsed, but neither RSS nor Atom (an HTML page, junk)
    "feed_parse_error",  # ill-formed XML with no usable entries
    "entry_without_link",  # a feed entry that names no article URL
    "no_feed_found",  # a --site whose page, common feed paths and news sitemap give no feed
    "extraction_timeout",  # the extractor ran past its time limit and was stopped
    "extraction_failed",  # the extractor raised or crashed
    "no_text",  # extraction found no article text
    "input_error",  # a local input (JSONL line, file) is unreadable or malformed
    "date_unreadable",  # a local document's 'published' is no date, or none a publication can have (still read)
    "ner_failed",  # the NER model raised on this article
    "claims_failed",  # claim extraction raised on this article (the article is still written, without claims)
    "signals_failed",  # a story signal (entities, figures, dates) raised: grouped on embedding, copies, date alone
)


def stable_id(*parts: object, size: int = 20) -> str:
    """Content-derived id: the same parts give the same id in every run, on every machine."""
    h = hashlib.sha256()
    for p in parts:
        h.update(b"\x1f")
        h.update(("" if p is None else str(p)).encode("utf-8"))
    return h.hexdigest()[:size]


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def error_record(stage: str, url: str | None, kind: str, message: str, attempts: int = 1,
                 at: dt.datetime | None = None) -> dict:
    """A dead letter. Its id depends on what failed, not when, so a re-run replaces rather than adds rows."""
    if kind not in ERROR_KINDS:
        raise ValueError(f"unknown error kind {kind!r}")
    return {
        "error_id": stable_id(stage, url, kind),
        "stage": stage,
        "url": url,
        "kind": kind,
        "message": (message or "")[:2000],
        "attempts": attempts,
        "at": at or utcnow(),
        "schema_version": ERRORS.version,
    }


def to_table(table: Table, rows: list[dict]) -> pa.Table:
    """Arrow table of exactly `table.schema` from record dicts, sorted by the table's key."""
    allowed = set(table.columns)
    for r in rows:
        extra = set(r) - allowed
        if extra:
            raise KeyError(f"{table.version}: unknown columns {sorted(extra)}")
    rows = sorted(rows, key=lambda r: r.get(table.key) or "")
    cols = {}
    for name in table.columns:
        if name == "schema_version":
            cols[name] = [table.version] * len(rows)
        else:
            cols[name] = [r.get(name) for r in rows]
    return pa.Table.from_pydict(cols, schema=table.schema)
