"""ExtractText: fetched pages → article records (trafilatura text + metadata, htmldate publication date).

trafilatura can hang or blow up on hostile HTML, so it runs in a child process that is killed and restarted when
a page takes longer than --extract-timeout: a bad page costs one dead letter, never the worker.
"""
from __future__ import annotations

import os
import pickle
import re
import select
import struct
import subprocess
import sys

from claimcore.dates import infer_published, usable_date
from claimcore.language import detect_language
from claimcore.text import CONTROL_CHARS, content_hash
from claimcore.urls import canonicalize_url, outlet_of
from schemas import ARTICLES, stable_id

_LANG_RE = re.compile(rb"<html[^>]*\blang\s*=\s*[\"']?([A-Za-z]{2,3})", re.I)


_CHARSET = re.compile(rb"""charset\s*=\s*["']?([A-Za-z0-9._:-]+)""", re.I)
_META_CHARSET = re.compile(rb"""<meta[^>]{0,200}?charset\s*=\s*["']?([A-Za-z0-9._:-]+)""", re.I)
# as browsers read them (WHATWG Encoding): a page labelled Latin-1 or ASCII is windows-1252
_CHARSET_ALIASES = {"iso-8859-1": "cp1252", "latin1": "cp1252", "latin-1": "cp1252", "us-ascii": "cp1252",
                    "ascii": "cp1252", "iso8859-1": "cp1252"}


# what a Western page in windows-1252 holds beyond ASCII: Latin letters and typographic signs. A Central European
# page misread as windows-1252 shows ¹ ² ³ ¯ ¤ (ą ľ ł Ż ¤ in windows-1250); a Cyrillic, Greek or Hebrew one
# reads as nothing but accented letters.
_WESTERN_LETTERS = re.compile(r"[À-ÖØ-öø-ÿŠšŽžŒœŸƒ]")
_WESTERN_SIGNS = re.compile(r"[\u00a0‘’‚“”„–—…•€£¥¢°«»‹›§¶©®™·´¨ªº¡¿½¼¾†‡ˆ˜‰]")
_TAG = re.compile(r"<[^>]*>")
MAX_ACCENTED_SHARE = 0.2  # of a page's letters: French, German, Spanish text stays far below; Cyrillic is all


def _as_windows_1252(body: bytes) -> str | None:
    """The page as windows-1252 when that is a plausible reading of bytes that declare no charset: every
    non-ASCII character a Western letter or sign, and accented letters a small share of the text's letters."""
    try:
        html = body.decode("cp1252")
    except UnicodeDecodeError:  # 5 bytes windows-1252 leaves undefined: another single-byte charset
        return None
    text = _TAG.sub(" ", html)
    accented = len(_WESTERN_LETTERS.findall(text))
    odd = sum(1 for ch in text if ord(ch) > 127) - accented - len(_WESTERN_SIGNS.findall(text))
    letters = sum(1 for ch in text if ch.isalpha())
    return html if odd == 0 and accented <= MAX_ACCENTED_SHARE * letters else None


def decode_html(body: bytes, content_type: str | None = None) -> str | bytes:
    """The page as text where its bytes say how: valid UTF-8 as UTF-8 (a wrong 'ISO-8859-1' server default is
    common); else a byte-order mark, the HTTP Content-Type's charset, then a <meta> charset in the first 4 KB.
    A page that declares nothing is read as windows-1252 where that is plausible (what browsers do for Western
    pages); trafilatura's guess read a short one as cp1250 or cp775 ('Seńor', 'B³rgermeister'). Otherwise the
    bytes go back unchanged, for that guess (which gets Central European and Cyrillic pages right)."""
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        pass
    if body.startswith((b"\xff\xfe", b"\xfe\xff")):
        return body.decode("utf-16", "replace")
    declared = [m.group(1) for m in (_CHARSET.search((content_type or "").encode("latin-1", "replace")),
                                     _META_CHARSET.search(body[:4096])) if m]
    for label in declared:
        name = label.decode("ascii", "replace").lower()
        codecs = (_CHARSET_ALIASES[name], "latin-1") if name in _CHARSET_ALIASES else (name,)  # 5 bytes cp1252 lacks
        for codec in codecs:
            try:
                return body.decode(codec)
            except (LookupError, UnicodeDecodeError):
                continue
    return _as_windows_1252(body) or body


def extract_html(body: bytes, url: str | None, content_type: str | None = None) -> dict:
    """Runs in the extraction worker process. Returns text and metadata, or {'error': kind, 'message': ...}."""
    import htmldate
    import trafilatura
    html = decode_html(body, content_type)
    doc = trafilatura.bare_extraction(html, url=url, with_metadata=True, include_comments=False,
                                      include_tables=False, favor_precision=True)
    if doc is None or not (doc.text or "").strip():
        return {"error": "no_text", "message": "trafilatura found no article text"}
    # htmldate directly, asking for the original (first) publication date rather than the last update
    date = htmldate.find_date(html, url=url, original_date=True, extensive_search=False, outputformat="%Y-%m-%d")
    m = _LANG_RE.search(body[:4096])
    return {"text": doc.text.strip(), "title": doc.title, "author": doc.author, "sitename": doc.sitename,
            "canonical": doc.url, "date": date or doc.date,
            "language": m.group(1).decode().lower() if m else (doc.language or None)}


def _read_frame(stream):
    header = stream.read(4)
    if len(header) < 4:
        raise EOFError("extraction worker pipe closed")
    size = struct.unpack(">I", header)[0]
    data = stream.read(size)
    if len(data) < size:
        raise EOFError("extraction worker pipe closed")
    return pickle.loads(data)


def _write_frame(stream, obj) -> None:
    data = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    stream.write(struct.pack(">I", len(data)) + data)
    stream.flush()


def serve_stdio() -> None:
    """The worker's main loop: (body, url, content type) frames in on stdin, result dicts out on stdout."""
    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    sys.stdout = sys.stderr  # nothing but frames may reach the parent's pipe
    while True:
        try:
            body, url, content_type = _read_frame(stdin)
        except EOFError:
            return
        try:
            result = extract_html(body, url, content_type)
        except Exception as e:  # noqa: BLE001 - report any extractor failure as data, keep serving
            result = {"error": "extraction_failed", "message": f"{type(e).__name__}: {e}"[:500]}
        _write_frame(stdout, result)


class ExtractionWorker:
    """A child process (`python -m claimcore.extraction`) running extract_html. `run` returns its result, or an
    extraction_timeout error after killing it; the next call starts a fresh one."""

    def __init__(self, timeout: float):
        self.timeout = timeout
        self._proc = None

    def _start(self):
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
        self._proc = subprocess.Popen([sys.executable, "-m", "claimcore.extraction"], stdin=subprocess.PIPE,
                                      stdout=subprocess.PIPE, env=env)

    def run(self, body: bytes, url: str | None, content_type: str | None = None) -> dict:
        if self._proc is None or self._proc.poll() is not None:
            self._start()
        try:
            _write_frame(self._proc.stdin, (body, url, content_type))
            ready, _, _ = select.select([self._proc.stdout], [], [], self.timeout)
            if not ready:
                self.close()
                return {"error": "extraction_timeout", "message": f"extraction took over {self.timeout:g}s"}
            return _read_frame(self._proc.stdout)
        except (EOFError, OSError, pickle.UnpicklingError) as e:
            self.close()
            return {"error": "extraction_failed", "message": f"the extraction process died: {e}"}

    def close(self):
        if self._proc is not None:
            self._proc.kill()
            self._proc.wait(5)
            for stream in (self._proc.stdin, self._proc.stdout):
                try:
                    stream.close()
                except OSError:
                    pass
        self._proc = None


def _printable(value):
    """A string without control characters (NUL, escape codes; tabs and line breaks stay): they break HTML, CSV
    and terminals downstream and carry no text."""
    return CONTROL_CHARS.sub("", value) if isinstance(value, str) else value


def article_record(*, text: str, url: str | None, canonical_hint: str | None = None, source_id: str | None = None,
                   title=None, author=None, published_at=None, language=None, fetched_at=None, feed_url=None,
                   outlet=None, date_source: str = "input", file_name: str | None = None) -> dict:
    """An articles.v1 record with its identity: article_id from the canonical URL, else the source id, else
    the text. Without a publication date, one is inferred from the URL path, the file's name (`file_name`, a
    plain-text input) or the text's dateline (claimcore/dates.py); `date_source` says where it came from. The
    language is the text's (claimcore/language.py); the given one (a page's `<html lang>`, a JSONL field) only
    where the text cannot tell."""
    text, title, author = (_printable(v) for v in (text, title, author))
    canonical = None
    for candidate in (canonical_hint, url):
        if candidate and candidate.startswith(("http://", "https://")):
            canonical = canonicalize_url(candidate)
            break
    chash = content_hash(text)
    published = usable_date(published_at)
    if published is None:
        published, date_source = infer_published(url or canonical, text, file_name=file_name)
    if canonical:
        article_id = stable_id("url", canonical)
    elif source_id:
        article_id = stable_id("source", source_id)
    else:
        article_id = stable_id("text", chash)
    return {
        "article_id": article_id,
        "source_id": source_id,
        "url": url,
        "canonical_url": canonical,
        "outlet": outlet or outlet_of(canonical),
        "feed_url": feed_url,
        "title": title,
        "author": author,
        "published_at": published,
        "date_source": date_source,
        "language": detect_language(f"{title}\n{text}" if title else text, declared=language),
        "text": text,
        "content_hash": chash,
        "fetched_at": fetched_at,
        "schema_version": ARTICLES.version,
    }


if __name__ == "__main__":
    serve_stdio()
