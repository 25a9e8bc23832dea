"""ExtractText: fetched pages → article records (trafilatura text + metadata, htmldate publication date).

trafilatura can hang or blow up on hostile HTML, so it runs in a child process (claimcore/extraction.py) that is
killed and restarted when a page takes longer than --extract-timeout: a bad page costs one dead letter, never the
worker.
"""
from __future__ import annotations

import apache_beam as beam

from claimcore.dates import usable_date
from claimcore.extraction import ExtractionWorker, article_record
from transforms.common import ERRORS, CountingDoFn


class ExtractArticle(CountingDoFn):
    stage = "extract"

    def __init__(self, timeout: float = 20.0):
        self.timeout = timeout

    def setup(self):
        self.worker = ExtractionWorker(self.timeout)

    def teardown(self):
        self.worker.close()

    def process(self, page):
        self.count("in")
        url = page.get("final_url") or page.get("url")
        with self.timed():
            result = self.worker.run(page["body"], url, page.get("content_type"))
        if "error" in result:
            yield self.dead_letter(page.get("url") or page.get("source_id"), result["error"], result["message"])
            return
        self.count("out")
        self.count("chars", len(result["text"]))
        # the feed's timestamp when there is one (to the second), else htmldate's day; a date that cannot be a
        # publication date gives way to the next
        date_source, published = next(((source, date) for source, value in (
            ("input", page.get("entry_published")), ("html", result.get("date"))) if (date := usable_date(value))),
            ("html", None))
        yield article_record(
            text=result["text"], url=page.get("url"), canonical_hint=result.get("canonical"),
            source_id=page.get("source_id"),
            title=result.get("title") or page.get("entry_title"), author=result.get("author"),
            published_at=published, language=result.get("language"),
            fetched_at=page.get("fetched_at"), feed_url=page.get("feed_url"), date_source=date_source)


class ExtractText(beam.PTransform):
    """pages → articles (main) + dead letters ('errors')."""

    def __init__(self, timeout: float = 20.0):
        super().__init__()
        self.timeout = timeout

    def expand(self, pages):
        return pages | "Extract" >> beam.ParDo(ExtractArticle(self.timeout)).with_outputs(ERRORS, main="articles")
