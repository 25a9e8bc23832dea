"""Each stage as a Beam transform, with TestPipeline + assert_that, over real loopback HTTP and real files."""
import gzip
import json
import os

import apache_beam as beam
import pytest
from apache_beam.testing.test_pipeline import TestPipeline
from apache_beam.testing.util import assert_that, equal_to

from claimcore.http_client import FetchPolicy
from claimcore.text import content_hash
from transforms.documents import ReadDocuments
from transforms.extract import ExtractText
from transforms.feeds import FetchFeeds, feed_sources, parse_feed
from transforms.fetch_articles import FetchArticles, page_record

SITE = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "samples", "site")
POLICY = FetchPolicy(min_host_delay=0, retries=0)


def options():
    return beam.options.pipeline_options.PipelineOptions(["--runner=DirectRunner"])


def test_parse_feed_rss_atom_and_bad_inputs():
    rss = open(os.path.join(SITE, "cnewslive", "feed.xml"), "rb").read().replace(b"__BASE__", b"http://h")
    entries, kind, _ = parse_feed(rss, {}, "http://h/cnewslive/feed.xml")
    assert kind is None and len(entries) == 5
    assert all(e["url"].startswith("http://h/cnewslive/") and e["published"] for e in entries)
    atom = open(os.path.join(SITE, "timeswordle", "feed.xml"), "rb").read().replace(b"__BASE__", b"http://h")
    entries, kind, _ = parse_feed(atom, {}, "http://h/timeswordle/feed.xml")
    assert kind is None and len(entries) == 5 and entries[0]["guid"].startswith("tag:")
    assert parse_feed(b"", {}, "u")[1] == "empty_body"
    assert parse_feed(b"<html><body>hi</body></html>", {}, "u")[1] == "not_a_feed"
    assert parse_feed(open(os.path.join(SITE, "broken", "feed.xml"), "rb").read(), {}, "u")[1] == "feed_parse_error"
    # a str-like body that is a path must never be opened by feedparser
    assert parse_feed(b"/etc/passwd", {}, "u")[1] in ("not_a_feed", "feed_parse_error")


def test_feed_sources_expands_lists_and_local_files(tmp_path):
    listing = tmp_path / "feeds.txt"
    listing.write_text("# my feeds\nhttp://a.example/rss\n\nhttps://b.example/atom  # comment\n")
    local = os.path.join(SITE, "cnewslive", "feed.xml")
    sources = feed_sources([str(listing), local, "http://c.example/feed"])
    assert [s["feed_url"] for s in sources] == ["http://a.example/rss", "https://b.example/atom",
                                                 os.path.abspath(local), "http://c.example/feed"]
    assert sources[2]["content"].startswith(b"<?xml")
    with pytest.raises(FileNotFoundError):
        feed_sources([str(tmp_path / "missing.txt")])


def test_a_feed_lists_relative_paths_are_found_beside_it(tmp_path, monkeypatch):
    """'local.xml' in feeds/list.txt is feeds/local.xml, whatever the working directory."""
    folder = tmp_path / "feeds"
    folder.mkdir()
    feed = open(os.path.join(SITE, "cnewslive", "feed.xml"), "rb").read()
    (folder / "local.xml").write_bytes(feed)
    (folder / "list.txt").write_text("local.xml\nmissing.xml\n")
    monkeypatch.chdir(tmp_path)
    problems = []
    sources = feed_sources([os.path.join("feeds", "list.txt")], problems)
    assert [s["feed_url"] for s in sources] == [str(folder / "local.xml")]
    assert [where for where, _ in problems] == [os.path.join("feeds", "list.txt") + ":2"]


def test_a_feed_list_that_names_itself_is_reported_not_read_forever(tmp_path):
    """A list naming itself (or two lists naming each other) recursed until RecursionError stopped the run."""
    first, second = tmp_path / "a.txt", tmp_path / "b.txt"
    first.write_text(f"http://a.example/rss\n{second}\n{first}\n")
    second.write_text(f"{first}\nhttp://b.example/rss\n")
    problems = []
    sources = feed_sources([str(first)], problems)
    assert [s["feed_url"] for s in sources] == ["http://a.example/rss", "http://b.example/rss"]
    assert [where for where, _ in problems] == [f"{second}:1", f"{first}:3"]
    assert all("loop" in why for _, why in problems)


def test_fetch_feeds_transform(sample_site):
    from serve import feed_urls
    urls = feed_urls(sample_site)
    with TestPipeline(options=options()) as p:
        out = (p | beam.Create([{"feed_url": u, "content": None} for u in urls]
                               + [{"feed_url": urls[0].replace("feed.xml", "nope.xml"), "content": None}])
                 | FetchFeeds(POLICY))
        assert_that(out.entries | "N" >> beam.combiners.Count.Globally(), equal_to([15]), label="entries")
        assert_that(out.errors | "Kinds" >> beam.Map(lambda e: e["kind"]),
                    equal_to(["feed_parse_error", "http_client_error"]), label="errors")


def test_fetch_articles_dedups_urls_and_dead_letters_404(sample_site):
    base = f"http://127.0.0.1:{sample_site.server_address[1]}"
    good = f"{base}/cnewslive/marathon-record-falls.html"
    entries = [{"url": good, "feed_url": "f1", "guid": "a"},
               {"url": good + "?utm_source=x", "feed_url": "f2", "guid": "b"},  # same article, tracking junk
               {"url": f"{base}/cnewslive/missing.html", "feed_url": "f1", "guid": "c"}]
    for e in entries:
        e["trusted_hosts"] = [f"127.0.0.1:{sample_site.server_address[1]}"]
    with TestPipeline(options=options()) as p:
        out = p | beam.Create(entries) | FetchArticles(POLICY)
        assert_that(out.pages | "Urls" >> beam.Map(lambda pg: (pg["url"], pg["feed_url"], b"Kiprop" in pg["body"])),
                    equal_to([(good, "f1", True)]), label="pages")
        assert_that(out.errors | "K" >> beam.Map(lambda e: (e["stage"], e["kind"])),
                    equal_to([("fetch_articles", "http_client_error")]), label="errors")


def test_extract_text_drops_boilerplate_and_reads_metadata():
    body = open(os.path.join(SITE, "timeswordle", "3000-north-korean-troops-sent-russia.html"), "rb").read()
    pages = [page_record(url="http://127.0.0.1/t.html", final_url=None, body=body),
             page_record(url="http://127.0.0.1/empty.html", final_url=None, body=b"<html><body></body></html>")]

    def check(articles):
        assert len(articles) == 1
        a = articles[0]
        assert a["canonical_url"] == "https://timeswordle.example/3000-north-korean-troops-sent-russia"
        assert a["outlet"] == "timeswordle.example" and a["author"] == "Times Wordle Staff"
        assert a["published_at"].isoformat().startswith("2024-10-24") and a["language"] == "en"
        assert "John Kirby confirmed the number" in a["text"]
        for furniture in ("Check out TimesWordle.com", "You must be logged in", "Subscribe", "reader_1984",
                          "We use cookies", "Related stories", "All rights reserved"):
            assert furniture not in a["text"], furniture
        assert a["content_hash"] == content_hash(a["text"]) and len(a["article_id"]) == 20

    with TestPipeline(options=options()) as p:
        out = p | beam.Create(pages) | ExtractText(timeout=30)
        assert_that(out.articles, check, label="articles")
        assert_that(out.errors | beam.Map(lambda e: e["kind"]), equal_to(["no_text"]), label="errors")


def test_a_page_is_decoded_as_its_header_or_meta_says():
    """A short Latin-1 page came out as 'ŕ Montréal aprčs' (trafilatura guessed windows-1250); the HTTP
    Content-Type's charset and a <meta> charset now decide, and valid UTF-8 stays UTF-8 whatever a server claims.
    A page that declares nothing is read as windows-1252 where that is plausible ('B³rgermeister' and 'Seńor Peńa'
    before); Central European and Cyrillic pages that declare nothing are still recognized."""
    sentence = "Le maire a dit que 12 personnes sont mortes à Montréal après la crue."
    plain = f"<html><body><p>{sentence}</p></body></html>"
    meta = f'<html><head><meta http-equiv="Content-Type" content="text/html; charset=iso-8859-1"></head>' \
           f"<body><p>{sentence}</p></body></html>"
    cyrillic = "Президент сказал, что 12 человек погибли в результате наводнения в городе."
    pages = [page_record(url="http://127.0.0.1/header.html", final_url=None, body=plain.encode("latin-1"),
                         content_type="text/html; charset=ISO-8859-1"),
             page_record(url="http://127.0.0.1/meta.html", final_url=None, body=meta.encode("latin-1")),
             page_record(url="http://127.0.0.1/utf8.html", final_url=None, body=plain.encode("utf-8"),
                         content_type="text/html; charset=ISO-8859-1"),
             page_record(url="http://127.0.0.1/cp1251.html", final_url=None,
                         body=f"<html><body><p>{cyrillic}</p></body></html>".encode("cp1251"),
                         content_type="text/html; charset=windows-1251")]
    undeclared = {"de.html": ("Der Bürgermeister sagte, dass 12 Menschen in München starben.", "latin-1"),
                  "es.html": ("El “señor” Peña dijo que 12 personas murieron en Bogotá.", "cp1252"),
                  "pl.html": ("Burmistrz powiedział, że 12 osób zginęło w Łodzi po powodzi.", "cp1250"),
                  "ru.html": (cyrillic, "cp1251")}
    pages += [page_record(url=f"http://127.0.0.1/{name}", final_url=None,
                          body=f"<html><body><p>{text}</p></body></html>".encode(charset))
              for name, (text, charset) in undeclared.items()]
    with TestPipeline(options=options()) as p:
        out = p | beam.Create(pages) | ExtractText(timeout=30)
        assert_that(out.articles | beam.Map(lambda a: (a["url"].rsplit("/", 1)[1], a["text"])),
                    equal_to([("header.html", sentence), ("meta.html", sentence), ("utf8.html", sentence),
                              ("cp1251.html", cyrillic)] + [(name, text) for name, (text, _) in undeclared.items()]))


def test_extraction_time_limit_kills_and_recovers():
    from claimcore.extraction import ExtractionWorker
    body = open(os.path.join(SITE, "cnewslive", "marathon-record-falls.html"), "rb").read()
    w = ExtractionWorker(timeout=0.0001)
    assert w.run(body, None)["error"] == "extraction_timeout"
    w.timeout = 60
    assert "Kiprop" in w.run(body, None)["text"]  # a fresh worker after the kill
    w.close()


def test_read_documents_jsonl_and_folder(tmp_path):
    html = open(os.path.join(SITE, "cnewslive", "marathon-record-falls.html"), encoding="utf-8").read()
    jsonl = tmp_path / "docs.jsonl.gz"
    with gzip.open(jsonl, "wt", encoding="utf-8") as f:
        f.write(json.dumps({"id": "d1", "url": "https://x.example/a", "html": html}) + "\n")
        f.write(json.dumps({"id": "d2", "text": "Plain text about 3,000 troops.", "published": "2024-10-01"}) + "\n")
        f.write("{not json\n")
        f.write(json.dumps({"id": "d3"}) + "\n")
    folder = tmp_path / "folder"
    folder.mkdir()
    (folder / "one.txt").write_text("A text file article.")
    with gzip.open(folder / "two.html.gz", "wb") as f:
        f.write(html.encode())
    with TestPipeline(options=options()) as p:
        out = p | ReadDocuments([str(jsonl), str(folder)])
        assert_that(out.articles | "T" >> beam.Map(lambda a: (a["source_id"], a["text"][:10])),
                    equal_to([("d2", "Plain text"), ("one.txt", "A text fil")]), label="texts")
        assert_that(out.pages | "P" >> beam.Map(lambda pg: (pg["source_id"], pg["url"])),
                    equal_to([("d1", "https://x.example/a"), ("two.html.gz", None)]), label="pages")
        assert_that(out.errors | "E" >> beam.Map(lambda e: (e["kind"], e["url"].rsplit(":", 1)[-1])),
                    equal_to([("input_error", "3"), ("input_error", "4")]), label="errors")


def test_a_date_that_cannot_be_a_publication_date_gives_way_to_the_next_source(tmp_path):
    """An input 'published' in the future, before 1800 or a system's "no date" (1970-01-01T00:00Z) was stored as
    given (articles dated 9999-12-31, partition published_date=0001-01-01). Each is now a date_unreadable row
    saying why, and the article is dated as if it had none: the page's own date, else the URL, else the dateline.
    An unreadable 'published' on an HTML document no longer hides the page's own date. RFC 2822 and Unix times
    are dates."""
    import datetime as dt
    html = open(os.path.join(SITE, "cnewslive", "marathon-record-falls.html"), encoding="utf-8").read()
    page_date = dt.date(2024, 10, 27)  # the sample page's own (htmldate)
    text = "BERLIN, Oct. 17, 2024 (Reuters) - The city said 3,000 people ran."
    jsonl = tmp_path / "docs.jsonl"
    docs = [{"id": "future", "text": text, "published": "9999-12-31T00:00:00Z"},
            {"id": "year-1", "url": "https://x.example/2023/05/06/story", "text": text.replace("3,000", "4,000"),
             "published": "0001-01-01"},
            {"id": "epoch", "text": text.replace("3,000", "5,000"), "published": "1970-01-01T00:00:00Z"},
            {"id": "html-future", "url": "https://x.example/b", "html": html, "published": "2999-01-01"},
            {"id": "html-unreadable", "url": "https://x.example/c", "html": html, "published": "yesterday"},
            {"id": "fine", "text": text.replace("3,000", "6,000"), "published": "1851-09-18"},
            # as exports write dates: RSS's RFC 2822 and Unix times (these were unreadable, or dropped the document)
            {"id": "rfc2822", "text": text.replace("3,000", "7,000"), "published": "Sun, 20 Oct 2024 08:00:00 GMT"},
            {"id": "unix", "text": text.replace("3,000", "8,000"), "published": 1729411200},
            {"id": "unix-ms", "text": text.replace("3,000", "9,000"), "published": 1729411200000}]
    jsonl.write_text("".join(json.dumps(d) + "\n" for d in docs))
    with TestPipeline(options=options()) as p:
        read = p | ReadDocuments([str(jsonl)])
        pages = read.pages | ExtractText(timeout=30)
        articles = (read.articles, pages.articles) | beam.Flatten()
        assert_that(articles | "A" >> beam.Map(lambda a: (a["source_id"], a["published_at"].date(),
                                                          a["date_source"])),
                    equal_to([("future", dt.date(2024, 10, 17), "text"), ("year-1", dt.date(2023, 5, 6), "url"),
                              ("epoch", dt.date(2024, 10, 17), "text"), ("html-future", page_date, "html"),
                              ("html-unreadable", page_date, "html"), ("fine", dt.date(1851, 9, 18), "input"),
                              ("rfc2822", dt.date(2024, 10, 20), "input"), ("unix", dt.date(2024, 10, 20), "input"),
                              ("unix-ms", dt.date(2024, 10, 20), "input")]),
                    label="dates")
        why = ["is in the future", "is before 1800", "is a placeholder for no date", "is in the future",
               "is no date (ISO 8601, RFC 2822 or Unix time)"]
        assert_that(read.errors | "E" >> beam.Map(lambda e: (e["kind"], e["message"].rsplit("' ", 1)[1])),
                    equal_to([("date_unreadable", f"{w}; dated as if it had none") for w in why]), label="errors")


def test_json_files_and_news_please_output_are_read(tmp_path, monkeypatch):
    """news-please (the common open-source news crawler) writes one JSON file per article, with 'maintext' and
    'date_publish' ("2017-12-27 00:00:00", or the string "None"); a folder of them was skipped without a word. A
    .json file holding a list is a list of documents; a broken one is an input_error row, its neighbours are read."""
    import datetime as dt
    folder = tmp_path / "crawl" / "abcnews.go.com"
    folder.mkdir(parents=True)
    (folder / "a1.json").write_text(json.dumps({
        "authors": ["Abc News"], "date_download": "2018-01-01T22:41:10", "date_modify": "None",
        "date_publish": "2017-12-27 00:00:00", "language": "en", "source_domain": "abcnews.go.com",
        "maintext": "Two subway work trains collided in a tunnel, injuring 1 worker, officials said.",
        "title": "NYC subway work trains collide", "url": "http://abcnews.go.com/US/wireStory/trains-collide"}))
    (folder / "a2.json").write_text(json.dumps({"title": "Undated", "date_publish": "None",
                                                "maintext": "A second story about 40 buses."}))
    (folder / "list.json").write_text(json.dumps([{"id": "x1", "text": "Listed story one about 3 ships."}, 7,
                                                  {"id": "x2", "text": "Listed story two about 5 planes."}]))
    (folder / "broken.json").write_text('{"title": "cut')
    (folder / "big.json").write_text(json.dumps([{"text": "x" * 100}] * 20))
    (folder / "feed.json").write_text(json.dumps({"version": "https://jsonfeed.org/version/1.1", "items": []}))
    monkeypatch.setattr("transforms.documents.MAX_JSON_BYTES", 1000)  # a .json file is parsed whole: bounded
    with TestPipeline(options=options()) as p:
        out = p | ReadDocuments([str(tmp_path / "crawl")])
        assert_that(out.articles | "T" >> beam.Map(lambda a: (a["source_id"], a["text"][:10], a["published_at"])),
                    equal_to([("a1.json", "Two subway", dt.datetime(2017, 12, 27, tzinfo=dt.timezone.utc)),
                              ("a2.json", "A second s", None), ("x1", "Listed sto", None),
                              ("x2", "Listed sto", None)]), label="texts")
        assert_that(out.errors | "E" >> beam.Map(lambda e: (e["kind"], os.path.basename(e["url"]),
                                                              e["message"].split(":")[0])),
                    equal_to([("input_error", "list.json:[1]", "bad JSON"),
                              ("input_error", "broken.json", "bad JSON"),
                              ("input_error", "feed.json", "a JSON Feed, not a document"),
                              ("input_error", "big.json", "a .json file over 0 MiB is read whole; write it as JSONL "
                                                          "(one document per line) to stream it")]), label="errors")


def test_control_characters_never_reach_the_records():
    """NUL and escape codes in an input's text, title or author (a broken export, a binary paste) are dropped at
    the record; line breaks and tabs stay. Before, they went through to the Parquet files and the HTML report."""
    from claimcore.extraction import article_record
    rec = article_record(text="Officials\x00 said\x1b[31m 3,000\ttroops\narrived.\x7f", url=None, source_id="s",
                         title="Title\x01\x02", author="A\x0cuthor")
    assert (rec["text"], rec["title"], rec["author"]) == ("Officials said[31m 3,000\ttroops\narrived.", "Title",
                                                          "Author")
    assert rec["content_hash"] == content_hash("Officials said[31m 3,000\ttroops\narrived.")


def build_warc(path, pages):
    """A WARC.gz of (url, html bytes, capture date) responses, plus a redirect and an image that must be skipped."""
    import io

    from warcio.statusandheaders import StatusAndHeaders
    from warcio.warcwriter import WARCWriter
    with open(path, "wb") as f:
        w = WARCWriter(f, gzip=True)
        for url, body, date in pages:
            h = StatusAndHeaders("200 OK", [("Content-Type", "text/html; charset=utf-8")], protocol="HTTP/1.1")
            w.write_record(w.create_warc_record(url, "response", payload=io.BytesIO(body), http_headers=h,
                                                warc_headers_dict={"WARC-Date": date}))
        for status, ctype in (("301 Moved", "text/html"), ("200 OK", "image/png")):
            h = StatusAndHeaders(status, [("Content-Type", ctype)], protocol="HTTP/1.1")
            w.write_record(w.create_warc_record("http://x.example/skip", "response", payload=io.BytesIO(b"x"),
                                                http_headers=h))


def test_warc_archive_reprocessed_twice_gives_identical_rows(tmp_path):
    import glob

    import duckdb

    from pipeline.cli import main
    pages = []
    for path in sorted(glob.glob(os.path.join(SITE, "*", "*.html"))):
        slug = os.path.relpath(path, SITE)
        pages.append((f"http://archive.example/{slug}", open(path, "rb").read(), "2024-11-01T00:00:00Z"))
    warc = tmp_path / "sample.warc.gz"
    build_warc(warc, pages)
    outs = []
    for run in range(2):
        out = tmp_path / f"out{run}"
        assert main(["run", "--input", str(warc), "--output", str(out), "--no-ner", "--no-dedup",
                     "--no-claims"]) == 0
        outs.append(duckdb.sql(f"select * exclude (fetched_at) from read_parquet('{out}/articles/**/*.parquet') "
                               "order by article_id").fetchall())
    assert outs[0] == outs[1] and len(outs[0]) == len(pages) == 14
    # --since/--until keep [since, until) by publication date: the sample's October 24 stories
    out = tmp_path / "window"
    assert main(["run", "--input", str(warc), "--output", str(out), "--no-ner", "--no-dedup", "--no-claims",
                 "--since", "2024-10-24", "--until", "2024-10-25"]) == 0
    kept = duckdb.sql(f"select title from read_parquet('{out}/articles/**/*.parquet') order by 1").fetchall()
    assert [t for (t,) in kept] == ["3,000 North Korean Soldiers Reportedly Deployed to Support Russia",
                                    "3,000 North Korean Soldiers Reportedly Deployed to Support Russia",
                                    "3000 North Korean Troops Sent to Russia for Ukraine War",
                                    "Central bank holds interest rate at 3.5% as inflation cools"]
