"""ReadDocuments: local archives → pages (HTML, to be extracted) and articles (plain text, no extraction).

Inputs: JSONL or JSONL.gz files of {"id", "url"?, "html" | "text", "published"?}, WARC or WARC.gz archives
(HTTP response records with an HTML payload; warcio), and folders of .html, .html.gz and .txt files. A bad line,
record or file becomes a dead letter; its neighbours are still read.
"""
from __future__ import annotations

import datetime as dt
import json
import os

import apache_beam as beam

from claimcore.archives import (
    DOC_SUFFIXES,
    JSON_SUFFIXES,
    JSONL_SUFFIXES,
    WARC_SUFFIXES,
    Piece,
    expand_inputs,
    jsonl_lines,
    open_bytes,
    warc_records,
)
from claimcore.dates import implausible_published, parse_date
from claimcore.extraction import article_record
from claimcore.text import CONTROL_CHARS
from transforms.common import ERRORS, CountingDoFn
from transforms.feeds import JSON_FEED_VERSION
from transforms.fetch_articles import page_record

PAGES = "pages"
MAX_JSON_BYTES = 256 * 2**20  # a .json file is parsed whole (a JSONL file streams): a larger one should be JSONL
MAX_WARC_PAYLOAD = 20_000_000  # bytes; larger payloads are not news pages


HEADLINE_CHARS = 200


def headline(text: str) -> str | None:
    """A plain-text file's title: its first line, when more text follows and the line reads as a headline: short,
    and either not ending in a period or a paragraph of its own (a blank line after it), as news text dumps
    write them."""
    first, _, rest = text.partition("\n")
    first = first.strip()
    if not rest.strip() or not first or len(first) > HEADLINE_CHARS:
        return None
    own_paragraph = rest.startswith("\n") or rest.startswith("\r\n")
    return first if own_paragraph or not first.endswith(".") else None


def _looks_binary(text: str) -> bool:
    """Bytes that are no UTF-8 text: over a tenth of the first 4,000 characters undecodable or control
    characters (a text file in another encoding keeps its letters; this is for images and archives)."""
    head = text[:4000]
    return bool(head) and len(CONTROL_CHARS.findall(head)) + head.count("\ufffd") > len(head) / 10


# news-please's names (the common open-source news crawler) for fields claimwire names otherwise; read when
# claimwire's own name is absent
_FIELD_ALIASES = {"maintext": "text", "date_publish": "published"}
_MISSING = {"none", "null", "nan"}  # how Python and pandas exports write a missing value as a string

# the document fields claimwire reads and the JSON types each may have (null is always allowed: absent)
_FIELD_TYPES = {"id": (str, int), "url": (str,), "html": (str, bytes), "text": (str,), "title": (str,),
                "published": (str, int, float), "language": (str,)}  # a number 'published' is a Unix time


class ReadDocumentFile(CountingDoFn):
    stage = "read_documents"

    def process(self, piece):
        """piece: a file's path, or a claimcore.archives.Piece (a file, or a range of a JSONL or WARC file)."""
        piece = piece if isinstance(piece, Piece) else Piece(piece)
        path = piece.path
        self.count("files")
        lower = path.lower()
        try:
            if lower.endswith(JSONL_SUFFIXES):
                yield from self._jsonl(piece)
            elif lower.endswith(JSON_SUFFIXES):
                yield from self._json(path)
            elif lower.endswith(WARC_SUFFIXES):
                yield from self._warc(piece)
            elif lower.endswith((".txt",)):
                with open_bytes(path) as f:
                    text = f.read().decode("utf-8", "replace").strip()
                if _looks_binary(text):
                    yield self.dead_letter(path, "input_error", "not text: a binary file named .txt")
                    return
                name = os.path.basename(path)
                yield from self._document({"id": name, "text": text, "title": headline(text)}, path, file_name=name)
            elif lower.endswith(DOC_SUFFIXES):
                with open_bytes(path) as f:
                    body = f.read()
                yield from self._document({"id": os.path.basename(path), "html": body}, path)
            else:
                yield self.dead_letter(path, "input_error", "not a JSONL, JSON, WARC, HTML or text file")
        except Exception as e:  # noqa: BLE001 - a file no reader can finish (a truncated gzip, a WARC record
            # warcio cannot parse) is one dead letter; what was read before the fault has been yielded already
            yield self.dead_letter(path, "input_error", f"{type(e).__name__}: {e}")

    def _jsonl(self, piece):
        for lineno, line in jsonl_lines(piece):
            if not line.strip():
                continue
            where = f"{piece.path}:{lineno}"
            try:
                doc = json.loads(line)
                if not isinstance(doc, dict):
                    raise ValueError("a line must be a JSON object")
            except ValueError as e:
                yield self.dead_letter(where, "input_error", f"bad JSON: {e}")
                continue
            yield from self._one_of_many(doc, where)

    def _json(self, path):
        """A .json file: one document (its id defaults to the file's name) or a list of documents."""
        with open_bytes(path) as f:
            raw = f.read(MAX_JSON_BYTES + 1)
            if len(raw) > MAX_JSON_BYTES:
                yield self.dead_letter(path, "input_error", f"a .json file over {MAX_JSON_BYTES // 2**20} MiB is "
                                       "read whole; write it as JSONL (one document per line) to stream it")
                return
            try:
                value = json.loads(raw)
            except ValueError as e:
                yield self.dead_letter(path, "input_error", f"bad JSON: {e}")
                return
        if isinstance(value, dict) and str(value.get("version", "")).startswith(JSON_FEED_VERSION):
            yield self.dead_letter(path, "input_error", "a JSON Feed, not a document: give it to --feeds")
            return
        docs = [(value, path)] if isinstance(value, dict) else \
            [(doc, f"{path}:[{i}]") for i, doc in enumerate(value)] if isinstance(value, list) else []
        if not docs:
            yield self.dead_letter(path, "input_error", "a .json file must hold a JSON object or a list of them")
        for doc, where in docs:
            if not isinstance(doc, dict):
                yield self.dead_letter(where, "input_error", "bad JSON: a document must be a JSON object")
                continue
            if isinstance(value, dict) and doc.get("id") is None:
                doc = {**doc, "id": os.path.basename(path)}
            yield from self._one_of_many(doc, where)

    def _one_of_many(self, doc, where):
        """One document of a JSONL or JSON file: a fault in it is its own dead letter, never the rest's loss."""
        try:
            yield from self._document(doc, where)
        except Exception as e:  # noqa: BLE001 - one bad document must not cost the rest of the file
            yield self.dead_letter(doc.get("url") if isinstance(doc.get("url"), str) else where,
                                   "input_error", f"{type(e).__name__}: {e}")

    def _warc(self, piece):
        """HTML responses of a WARC archive (or a piece of one) as pages: the target URI, the capture time, the
        decoded payload."""
        from warcio.exceptions import ArchiveLoadFailed
        path = piece.path
        try:
            for record, _ in warc_records(piece):
                if record.rec_type != "response" or record.http_headers is None:
                    continue
                uri = record.rec_headers.get_header("WARC-Target-URI")
                ctype = (record.http_headers.get_header("Content-Type") or "").lower()
                if record.http_headers.get_statuscode() != "200" or "html" not in ctype:
                    self.count("warc_skipped")  # redirects, errors, images, scripts: not articles
                    continue
                body = record.content_stream().read(MAX_WARC_PAYLOAD + 1)
                if len(body) > MAX_WARC_PAYLOAD:
                    yield self.dead_letter(uri, "body_too_large", f"WARC payload over {MAX_WARC_PAYLOAD} bytes")
                    continue
                self.count("warc_pages")
                self.count("out")
                yield beam.pvalue.TaggedOutput(PAGES, page_record(
                    url=uri, final_url=uri, body=body, content_type=ctype,
                    fetched_at=parse_date(record.rec_headers.get_header("WARC-Date"))))
        except Exception as e:  # noqa: BLE001 - not a WARC (ArchiveLoadFailed), or a record warcio cannot parse
            reason = str(e) if isinstance(e, ArchiveLoadFailed) else f"{type(e).__name__}: {e}"
            yield self.dead_letter(path, "input_error", f"unreadable WARC: {reason}")

    def _document(self, doc, where, file_name=None):
        doc = {**{ours: doc[theirs] for theirs, ours in _FIELD_ALIASES.items() if doc.get(ours) is None
                  and theirs in doc}, **{k: v for k, v in doc.items() if v is not None}}
        if isinstance(doc.get("published"), str) and doc["published"].strip().lower() in _MISSING:
            del doc["published"]
        wrong = [k for k, types in _FIELD_TYPES.items() if doc.get(k) is not None and not isinstance(doc[k], types)]
        if wrong:
            yield self.dead_letter(where, "input_error", "wrong type: " + ", ".join(
                f"'{k}' is {type(doc[k]).__name__}, not {' or '.join(t.__name__ for t in _FIELD_TYPES[k])}"
                for k in wrong))
            return
        source_id = str(doc["id"]) if doc.get("id") is not None else None
        url = doc.get("url") or None
        if str(doc.get("published") or "").strip():
            # the article is still read, dated as if it had no date (the page's own date, URL, file name, dateline)
            published = parse_date(doc["published"])
            why = "is no date (ISO 8601, RFC 2822 or Unix time)" if published is None else \
                implausible_published(published)
            if why:
                yield self.dead_letter(url or where, "date_unreadable",
                                       f"'published' {str(doc['published'])[:80]!r} {why}; dated as if it had none")
        if doc.get("html"):
            html = doc["html"]
            self.count("html")
            self.count("out")
            yield beam.pvalue.TaggedOutput(PAGES, page_record(
                url=url, final_url=url, body=html.encode("utf-8") if isinstance(html, str) else html,
                source_id=source_id, entry={"published": doc.get("published"), "title": doc.get("title")}))
        elif isinstance(doc.get("text"), str) and doc["text"].strip():
            self.count("text")
            self.count("out")
            yield article_record(text=doc["text"].strip(), url=url, source_id=source_id, title=doc.get("title"),
                                 published_at=doc.get("published"), language=doc.get("language"),
                                 file_name=file_name)
        elif doc.get("html") is not None or doc.get("text") is not None:
            yield self.dead_letter(url or where, "input_error", "the document is empty")
        else:
            yield self.dead_letter(url or where, "input_error", "document has neither 'html' nor 'text'")


class ReadDocuments(beam.PTransform):
    """file paths, or the pieces of one shard (claimcore.archives.plan_shards) → articles (main, plain-text
    documents), pages (HTML documents) and dead letters."""

    def __init__(self, paths: list[str] | None = None, pieces: list[Piece] | None = None):
        super().__init__()
        self.pieces = list(pieces) if pieces is not None else [Piece(f) for f in expand_inputs(paths or [])]

    def expand(self, pbegin):
        return (pbegin
                | "ListPieces" >> beam.Create(self.pieces)
                | "Spread" >> beam.Reshuffle()
                | "Read" >> beam.ParDo(ReadDocumentFile()).with_outputs(PAGES, ERRORS, main="articles"))


class KeepPublishedBetween(CountingDoFn):
    stage = "filter_published"

    def __init__(self, since: str | None, until: str | None):
        self.since = _day(since)
        self.until = _day(until)

    def process(self, article):
        published = article.get("published_at")
        if published is None:
            self.count("undated")  # cannot be placed in the window: left out, and counted
            return
        if (self.since and published < self.since) or (self.until and published >= self.until):
            self.count("outside")
            return
        self.count("out")
        yield article


def _day(value: str | None):
    if not value:
        return None
    return dt.datetime.fromisoformat(value).replace(tzinfo=dt.timezone.utc)


class FilterPublished(beam.PTransform):
    """--since / --until on publication date: [since, until), undated articles left out (and counted)."""

    def __init__(self, since: str | None, until: str | None):
        super().__init__()
        self.since, self.until = since, until

    def expand(self, articles):
        return articles | "KeepBetween" >> beam.ParDo(KeepPublishedBetween(self.since, self.until))
