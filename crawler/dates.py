"""Publication dates from the sites' own bylines and metas, as ISO 8601 strings."""

import re
from datetime import date, datetime

_MONTHS = {m: i for i, m in enumerate(
    ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), 1)}

# 2021-03-26 10:00[:00], 2021/3/26, 2021年03月26日 10:00
_NUMERIC = re.compile(
    r"(?<!\d)(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?"
    r"(?:[\sT]*(\d{1,2})[:：](\d{2})(?:[:：](\d{2}))?)?"
)
# Mar 26, 2021 [07:26] and March 26 2021
_WORDY = re.compile(
    r"\b([A-Za-z]{3})[a-z]*\.?\s+(\d{1,2}),?\s+(\d{4})(?:\s+(\d{1,2}):(\d{2}))?"
)
# the labels a byline puts before its date, in the sites' languages
DATE_LABELS = re.compile(
    r"(?:Updated|Published|Release time|发布时间|发布日期|时间)\s*[:：]\s*", re.I
)


def parse_date(text, now=None):
    """The first date in `text` as "YYYY-MM-DD" or "YYYY-MM-DDTHH:MM:SS", or None.

    Dates after `now` (a datetime or date, when given) are rejected: a page's clock
    cannot run ahead of ours.
    """
    if not text:
        return None
    found = _numeric(text) or _wordy(text)
    if found is None:
        return None
    day, clock = found
    try:
        value = datetime(*day, *clock) if clock else date(*day)
    except ValueError:
        return None
    if now is not None and _as_date(value) > _as_date(now):
        return None
    return value.isoformat()


def labelled_date(text, now=None):
    """The date following a byline label such as "Updated:" or "发布时间：", or None."""
    match = DATE_LABELS.search(text or "")
    return parse_date(text[match.end():], now=now) if match else None


def _numeric(text):
    match = _NUMERIC.search(text)
    if not match:
        return None
    y, m, d, hh, mm, ss = match.groups()
    clock = (int(hh), int(mm), int(ss or 0)) if hh else None
    return (int(y), int(m), int(d)), clock


def _wordy(text):
    match = _WORDY.search(text)
    if not match or match[1].lower() not in _MONTHS:
        return None
    month, d, y, hh, mm = match.groups()
    clock = (int(hh), int(mm), 0) if hh else None
    return (int(y), _MONTHS[month.lower()], int(d)), clock


def _as_date(value):
    return value.date() if isinstance(value, datetime) else value
