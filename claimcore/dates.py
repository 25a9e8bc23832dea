"""Publication dates for articles that arrive without one, and where each date came from.

An article's `published_at` comes, in order of trust, from the input (a feed entry's timestamp, a JSONL
`published`), from htmldate on the page's HTML, from a date written in the URL path (`/2024/10/17/`,
`/2024-10-17-`, `20241017`) or, for a plain-text file, in the file's name (`nyt_2016-09-30_slug.txt`), or from a
dateline in the first lines of the text (`SEOUL, Oct. 17, 2024 (Reuters) -`, `October 17, 2024`, `Posted
2/3/2009 11:11 PM`). `date_source`
records which one gave it (`input`, `html`, `url`, `file`, `text`); an article none of them dates keeps null in
both and is compared with the dated ones by content (transforms/dedup.py). A given date that cannot be a
publication date (`implausible_published`: in the future, before 1800, 1970-01-01T00:00Z) gives way to the next
source.

Only full dates (day, month and year) count: a weekday or "Oct 17" without a year is not a date, and neither is
"05/02/2013" alone (May 2 or 5 February) unless a US time zone on its line says month first.

`text_months` is the other use of dates in the text: not when the article appeared, but which months it talks
about (story grouping's "when" evidence for articles, dated or not).
"""
from __future__ import annotations

import datetime as dt
import email.utils
import re

DATE_SOURCES = ("input", "html", "url", "file", "text")

# the one list of month names: dates in URLs and datelines, the months a text names, and the words a figure
# parser must not read as a count ("Sept. 30" is a date, claimcore/figures.py)
MONTHS = ("january", "february", "march", "april", "may", "june", "july", "august", "september", "october",
          "november", "december")
_MONTHS = {m[:3]: i + 1 for i, m in enumerate(MONTHS)}
MONTH_WORDS = frozenset(MONTHS) | frozenset(_MONTHS) | {"sept"}  # names and news-style abbreviations, lower case
_MONTH = r"(?P<month>" + "|".join(sorted(MONTH_WORDS, key=lambda w: (-len(w), w))) + r")\.?"
_YEAR = r"(?P<year>(?:19[7-9]|20[0-9])\d)"

# URL paths: /2024/10/17/, /2024-10-17, /20241017/ (between separators, so an article number is not a date)
_URL_DATES = [
    re.compile(r"/" + _YEAR + r"[/-](?P<mon>[01]?\d)[/-](?P<day>[0-3]?\d)(?:[/_.-]|$)"),
    re.compile(r"[/_-]" + _YEAR + r"(?P<mon>[01]\d)(?P<day>[0-3]\d)(?:[/_.-]|$)"),
]
# datelines: "October 17, 2024", "17 October 2024", "Oct. 17, 2024", "2024-10-17", "2012.08.08"
_TEXT_DATES = [
    re.compile(r"\b" + _MONTH + r"\s+(?P<day>[0-3]?\d)(?:st|nd|rd|th)?,?\s+" + _YEAR + r"\b", re.I),
    re.compile(r"\b(?P<day>[0-3]?\d)(?:st|nd|rd|th)?\s+" + _MONTH + r",?\s+" + _YEAR + r"\b", re.I),
    re.compile(r"\b" + _YEAR + r"([-./])(?P<mon>[01]\d)\2(?P<day>[0-3]\d)\b"),
]
# all-number datelines: "Posted 2/3/2009 11:11 PM", "04/28/09 07:35 PM ET", "14.06.2013"; read in _numeric_date
# (a two-digit year only with slashes: "3.13.12" is more often a version than a date)
_NUMERIC_DATE = re.compile(r"(?<![\d/.-])(?P<a>[0-3]?\d)(?:/(?P<b>[0-3]?\d)/(?P<y>(?:19|20)?\d\d)|"
                           r"\.(?P<b2>[0-3]?\d)\.(?P<y2>(?:19|20)\d\d))(?![\d/.-])")
# a US time zone on the line says month first where both readings are possible ("05/02/2013 12:50 PM EDT")
_US_ZONE = re.compile(r"\b(?:E|C|M|P|AK|H)[SD]?T\b")
DATELINE_CHARS = 300  # a dateline sits at the top; a date further down is more often an event's than the article's


def _date(year: str, month: int, day: str) -> dt.datetime | None:
    try:
        return dt.datetime(int(year), month, int(day), tzinfo=dt.timezone.utc)
    except ValueError:
        return None


def date_from_url(url: str | None) -> dt.datetime | None:
    if not url:
        return None
    path = re.sub(r"^[a-z]+://[^/]+", "", url, flags=re.I).split("?", 1)[0]
    for pattern in _URL_DATES:
        m = pattern.search(path)
        if m:
            d = _date(m.group("year"), int(m.group("mon")), m.group("day"))
            if d:
                return d
    return None


# file names: 2016-09-30, 2016_09_30 or 20160930, not inside a longer number
_FILE_DATE = re.compile(r"(?<!\d)" + _YEAR + r"[-_]?(?P<mon>[01]\d)[-_]?(?P<day>[0-3]\d)(?!\d)")


def date_from_file_name(name: str | None) -> dt.datetime | None:
    """The date in a file's name (the name only: a folder named by date says less about each file)."""
    for m in _FILE_DATE.finditer(name or ""):
        d = _date(m.group("year"), int(m.group("mon")), m.group("day"))
        if d:
            return d
    return None


DATELINE_LINE = 100  # a date line ("Published: May 3, 2013 at 7:31 AM ET") is short; a sentence is prose
_WIRE_DATELINE = re.compile(r"^[^\n]{0,60}?\b\d{4}\s*(?:\([^)]{1,40}\)\s*)?[-–—]")  # "SEOUL, Oct. 17, 2024 (Reuters) -"


def _on_dateline(head: str, m: re.Match) -> bool:
    """A date in a short line of its own, or the wire dateline opening a paragraph; not a date in prose
    ("on October 21, 2011 the company ..."), which is more often an earlier event's."""
    start = head.rfind("\n", 0, m.start()) + 1
    end = head.find("\n", m.end())
    line = head[start:end if end >= 0 else None]
    return len(line) <= DATELINE_LINE or bool(_WIRE_DATELINE.match(head[start:m.end() + 30]))


def _numeric_date(head: str, m: re.Match) -> dt.datetime | None:
    """An all-number date: month and day in the order only one reading allows (13/2 is day first, 2/13 month
    first), or month first where a US time zone is on the line (the US order); otherwise none. Two-digit years
    are 1970-2069."""
    a, b, year = int(m.group("a")), int(m.group("b") or m.group("b2")), int(m.group("y") or m.group("y2"))
    if year < 100:
        year += 2000 if year < 70 else 1900
    if a > 12 and b <= 12:
        month, day = b, a
    elif (b > 12 and a <= 12) or a == b:
        month, day = a, b
    else:
        start = head.rfind("\n", 0, m.start()) + 1
        end = head.find("\n", m.end())
        if not _US_ZONE.search(head[start:end if end >= 0 else None]):
            return None
        month, day = a, b
    return _date(str(year), month, str(day)) if 1 <= month <= 12 else None


def date_from_text(text: str | None) -> dt.datetime | None:
    head = (text or "")[:DATELINE_CHARS]
    found = [(m.start(), d) for m in _NUMERIC_DATE.finditer(head)
             if _on_dateline(head, m) and (d := _numeric_date(head, m)) is not None]
    for pattern in _TEXT_DATES:
        for m in pattern.finditer(head):
            if not _on_dateline(head, m):
                continue
            month = _MONTHS[m.group("month")[:3].casefold()] if "month" in m.groupdict() and m.group("month") \
                else int(m.group("mon"))
            d = _date(m.group("year"), month, m.group("day"))
            if d:
                found.append((m.start(), d))
    return min(found, key=lambda f: f[0])[1] if found else None  # the first date written


# months named in running text: capitalized full names ("May" only before a day: it is also a verb) and the
# abbreviations news style writes with a period
_TEXT_MONTH = re.compile(r"\b(?:(?P<name>" + "|".join(m.capitalize() for m in MONTHS if m != "may") + r")\b"
                         r"|(?P<abbr>" + "|".join(sorted((w.capitalize() for w in MONTH_WORDS - set(MONTHS)),
                                                         key=lambda w: (-len(w), w))) + r")\."
                         r"|(?P<may>May)(?=\s+\d))")


def text_months(text: str | None) -> frozenset[int]:
    """The months (1-12) a text names ("on Dec. 11", "in March", "May 3"), any year."""
    return frozenset(_MONTHS[next(g for g in m.groups() if g)[:3].casefold()]
                     for m in _TEXT_MONTH.finditer(text or ""))


EARLIEST_PUBLISHED = dt.datetime(1800, 1, 1, tzinfo=dt.timezone.utc)  # older news is scanned, not served
FUTURE_SLACK = dt.timedelta(days=1)  # a feed in a time zone ahead, a clock a little fast
# midnight on these is what a system writes for "no date" (Unix time 0; spreadsheets' and databases' day 1)
_PLACEHOLDER_DATES = {dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc), dt.datetime(1900, 1, 1, tzinfo=dt.timezone.utc)}


def implausible_published(d: dt.datetime, now: dt.datetime | None = None) -> str | None:
    """Why a date given as a publication date cannot be one (it is later than `now` by more than a day, before
    1800, or a system's "no date" placeholder such as 1970-01-01T00:00Z), else None."""
    now = now or dt.datetime.now(dt.timezone.utc)
    if d > now + FUTURE_SLACK:
        return "is in the future"
    if d < EARLIEST_PUBLISHED:
        return "is before 1800"
    if d in _PLACEHOLDER_DATES:
        return "is a placeholder for no date"
    return None


def infer_published(url: str | None, text: str | None, now: dt.datetime | None = None,
                    file_name: str | None = None) -> tuple[dt.datetime | None, str | None]:
    """(date, source) from the URL path, else the file's name (plain-text inputs), else the text's dateline;
    (None, None) when none has a full date. A date after `now` (default: the current time) is not a publication
    date and is ignored."""
    now = now or dt.datetime.now(dt.timezone.utc)
    for source, find in (("url", lambda: date_from_url(url)), ("file", lambda: date_from_file_name(file_name)),
                         ("text", lambda: date_from_text(text))):
        d = find()
        if d is not None and implausible_published(d, now) is None:
            return d, source
    return None, None


UNIX_MILLISECONDS_FROM = 1e11  # a Unix time above this is in milliseconds (1e11 seconds is the year 5138)


def parse_date(value) -> dt.datetime | None:
    """A publication date as exports write it: ISO 8601 ("2024-10-17T10:00:00Z"), RFC 2822 as in RSS ("Thu, 17
    Oct 2024 10:00:00 GMT") or a Unix time in seconds or milliseconds (a number); a datetime passes through. No
    zone is UTC. None for anything else."""
    if isinstance(value, bool) or value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        return value if value.tzinfo else value.replace(tzinfo=dt.timezone.utc)
    if isinstance(value, (int, float)):
        try:
            seconds = value / 1000 if abs(value) > UNIX_MILLISECONDS_FROM else value
            return dt.datetime.fromtimestamp(seconds, dt.timezone.utc)
        except (OverflowError, OSError, ValueError):
            return None
    text = str(value).strip()
    if text.isdigit() and len(text) in (9, 10, 12, 13):  # a Unix time written as a string ("20241017" is ISO)
        return parse_date(int(text))
    try:
        d = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        try:
            d = email.utils.parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            return None
    return d if d.tzinfo else d.replace(tzinfo=dt.timezone.utc)


def usable_date(value) -> dt.datetime | None:
    """parse_date's date when it can be a publication date (claimcore/dates.implausible_published), else None."""
    date = parse_date(value)
    return date if date is not None and implausible_published(date) is None else None
