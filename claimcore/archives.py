"""Where the documents of `--input` lie: the files, and pieces of them small enough for one shard.

A piece is a whole file, or a byte range of a JSONL or WARC file that starts and ends on a record boundary (for
a .jsonl.gz file, a range of its decompressed bytes). `plan_shards` cuts the input into shards of at most
`shard_size` documents: a JSONL or WARC file into ranges of its own (so a file added to a folder leaves the other
files' shards as they were), single-document files (.html, .txt, .json) packed in runs. Each shard has a digest of
its documents' bytes (and of a single-document file's name, which becomes its id), not of its path: a committed
shard is recognised wherever its file lies now (pipeline/shards.py).
"""
from __future__ import annotations

import dataclasses
import gzip
import hashlib
import os
from collections.abc import Iterator

DOC_SUFFIXES = (".html", ".htm", ".html.gz", ".htm.gz", ".txt")
JSONL_SUFFIXES = (".jsonl", ".jsonl.gz", ".ndjson", ".ndjson.gz")
JSON_SUFFIXES = (".json", ".json.gz")  # one document per file, or a list of them (news-please writes one per file)
WARC_SUFFIXES = (".warc", ".warc.gz")
READ_CHUNK = 1 << 20


@dataclasses.dataclass(frozen=True)
class Piece:
    """A whole file (start None), or the bytes [start, end) of a JSONL or WARC file, whose first record is line
    `first_line` (JSONL) or record `first_line` (WARC), counted from 1."""
    path: str
    start: int | None = None
    end: int | None = None
    first_line: int = 1

    def describe(self) -> str:
        return self.path if self.start is None else f"{self.path}@{self.start}-{self.end}"


@dataclasses.dataclass(frozen=True)
class Shard:
    pieces: tuple[Piece, ...]
    documents: int  # records that may hold a document (lines, WARC records, files); the run counts what it read
    digest: str  # of the documents' bytes, not of the paths


def expand_inputs(paths: list[str]) -> list[str]:
    """Files to read, sorted for deterministic runs. Folders are walked for document files."""
    files = []
    for path in paths:
        if os.path.isdir(path):
            for root, _, names in os.walk(path):
                files.extend(os.path.join(root, n) for n in names
                             if n.lower().endswith(DOC_SUFFIXES + JSONL_SUFFIXES + JSON_SUFFIXES + WARC_SUFFIXES))
        elif os.path.isfile(path):
            files.append(path)
        else:
            raise FileNotFoundError(f"--input: {path} does not exist")
    return sorted(os.path.abspath(f) for f in files)


def open_bytes(path: str):
    return gzip.open(path, "rb") if path.endswith(".gz") else open(path, "rb")


def jsonl_lines(piece: Piece) -> Iterator[tuple[int, bytes]]:
    """(line number, line) of a JSONL file or piece; a .gz file is decompressed up to the piece's start."""
    with open_bytes(piece.path) as f:
        if piece.start:
            f.seek(piece.start)
        position, number = piece.start or 0, piece.first_line
        while piece.end is None or position < piece.end:
            line = f.readline()
            if not line:
                break
            position += len(line)
            yield number, line
            number += 1


def warc_records(piece: Piece):
    """(record, archive iterator) of a WARC file or piece (.warc.gz: one gzip member a record, as WARC writers make
    them, which is what lets a piece start in the middle). The caller reads each record before the next."""
    from warcio.archiveiterator import ArchiveIterator
    with open(piece.path, "rb") as f:
        if piece.start:
            f.seek(piece.start)
        records = ArchiveIterator(f)
        for record in records:
            # warcio's `offset` is where the current record starts, from the file's start (get_record_offset()
            # would read the record to its end first, leaving the caller an empty payload)
            if piece.end is not None and records.offset >= piece.end:
                break
            yield record, records


def _jsonl_offsets(path: str, shard_size: int) -> tuple[list[tuple[int, int, int, int]], list]:
    """(start, end, first line, documents) of consecutive ranges of at most shard_size non-blank lines, and a
    digest of each range's bytes."""
    ranges, start, first, count, position, number = [], 0, 1, 0, 0, 0
    digests = [hashlib.sha256(b"jsonl\0")]
    end: int | None = None
    try:
        with open_bytes(path) as f:
            for line in f:
                number += 1
                if count == shard_size and line.strip():
                    ranges.append((start, position, first, count))
                    start, first, count = position, number, 0
                    digests.append(hashlib.sha256(b"jsonl\0"))
                digests[-1].update(line)
                position += len(line)
                count += bool(line.strip())
        end = position
    except Exception as e:  # noqa: BLE001 - a truncated gzip, an unreadable file: the last piece reads to the
        # fault, and the reader reports it as a dead letter with what came before it kept
        digests[-1].update(f"unreadable: {type(e).__name__}".encode())
    ranges.append((start, end, first, count))
    return ranges, digests


def _warc_offsets(path: str, shard_size: int) -> list[tuple[int, int, int, int]] | None:
    """The same for a WARC file's records (response records count as documents), or None when it cannot be cut
    (unreadable, or a .gz compressed as one stream: it is read whole and says why)."""
    from warcio.archiveiterator import ArchiveIterator
    ranges, start, first, count, number = [], 0, 1, 0, 0
    try:
        with open(path, "rb") as f:
            records = ArchiveIterator(f)
            for record in records:
                number += 1
                is_document = record.rec_type == "response"
                offset = records.get_record_offset()
                if count == shard_size and is_document:
                    ranges.append((start, offset, first, count))
                    start, first, count = offset, number, 0
                count += is_document
            end = f.seek(0, os.SEEK_END)
    except Exception:  # noqa: BLE001 - the reader reports it as a dead letter; the plan keeps the file whole
        return None
    ranges.append((start, end, first, count))
    return ranges


def plan_shards(paths: list[str], shard_size: int) -> list[Shard]:
    """The input cut into shards of at most shard_size documents, in a deterministic order."""
    if shard_size < 1:
        raise ValueError("shard size must be at least 1")
    shards: list[Shard] = []
    pack: list[Piece] = []
    pack_digest = hashlib.sha256()

    def close_pack():
        nonlocal pack, pack_digest
        if pack:
            shards.append(Shard(tuple(pack), len(pack), pack_digest.hexdigest()))
        pack, pack_digest = [], hashlib.sha256()

    for path in expand_inputs(paths):
        lower = path.lower()
        ranges, digests = None, []
        if lower.endswith(JSONL_SUFFIXES):
            ranges, digests = _jsonl_offsets(path, shard_size)
        elif lower.endswith(WARC_SUFFIXES):
            ranges = _warc_offsets(path, shard_size)
            if ranges is not None:
                digests = [_file_digest(path, start, end, b"warc\0") for start, end, _, _ in ranges]
        if ranges is None:  # one document per file (or a whole file the reader will explain)
            pack.append(Piece(path))
            pack_digest.update(os.path.basename(path).encode("utf-8", "surrogateescape") + b"\0")
            pack_digest.update(_file_digest(path).digest())
            if len(pack) >= shard_size:
                close_pack()
            continue
        close_pack()
        for (start, end, first, count), digest in zip(ranges, digests):
            if count or len(ranges) == 1:
                shards.append(Shard((Piece(path, start, end, first),), count, digest.hexdigest()))
    close_pack()
    return shards


def _file_digest(path: str, start: int = 0, end: int | None = None, tag: bytes = b"file\0"):
    digest = hashlib.sha256(tag)
    try:
        _hash_bytes(digest, path, start, end)
    except OSError as e:  # unreadable here: the reader gives its dead letter
        digest.update(f"unreadable: {type(e).__name__}".encode())
    return digest


def _hash_bytes(digest, path: str, start: int, end: int | None) -> None:
    with open(path, "rb") as f:
        f.seek(start)
        left = None if end is None else end - start
        while left is None or left > 0:
            chunk = f.read(READ_CHUNK if left is None else min(READ_CHUNK, left))
            if not chunk:
                break
            digest.update(chunk)
            if left is not None:
                left -= len(chunk)
