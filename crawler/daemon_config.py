"""The daemon's TOML configuration: defaults, validation, one-line errors.

Pure: imports neither Scrapy nor `store`. Every mistake is reported as one line naming
the key at fault and what was expected, e.g.
`sources.chinadaily.every: expected a duration like "90s", "45m", "2h", "1d", got "5 min"`.
"""

import json
import math
import os
import re
import tomllib
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from urllib.parse import urlsplit

from apscheduler.triggers.cron import CronTrigger

DEFAULT_STORE = "data/zgcwatch.db"
DEFAULT_EVERY = {"chinadaily": 3600.0, "zgcgw": 7200.0}  # the only sources that exist
DEFAULT_CRAWL_TIMEOUT = 1800.0
DEFAULT_GRACE = 60.0
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")

TOP_KEYS = ("store", "crawl_timeout", "grace", "log_file", "log_level", "notify", "alert_after",
            "sources")
SOURCE_KEYS = ("every", "cron", "enabled", "base_url", "settings", "notify")
DEFAULT_ALERT_AFTER = 3  # runs in a row that failed or found no links before a health alert
UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
DURATION = re.compile(r"^(\d+)([smhd])$")
DURATION_HINT = 'a duration like "90s", "45m", "2h", "1d"'
# Longer overflows datetime arithmetic (3000000d is past year 9999) and means nothing
# for a monitor: an hourly run that waits more than a year is a typo.
MAX_DURATION = 366 * 86400
SETTING_NAME = re.compile(r"^[A-Z][A-Z0-9_]*$")
WEEKDAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat", "sun")  # crontab: 0 and 7 = Sunday


class ConfigError(Exception):
    """A configuration the daemon refuses; the message is one line for the user."""


@dataclass(frozen=True)
class Source:
    """How and when one source is crawled."""

    name: str
    every: float | None = None  # seconds; exactly one of every/cron is set
    cron: str | None = None
    enabled: bool = True
    base_url: str | None = None
    settings: dict = field(default_factory=dict)  # Scrapy setting name -> string value
    notify: tuple | None = None  # Apprise URLs; None: the top-level list


@dataclass(frozen=True)
class Config:
    """The whole daemon configuration, with defaults filled in."""

    path: Path | None
    store: Path
    crawl_timeout: float
    grace: float
    log_file: Path | None
    log_level: str
    sources: dict  # name -> Source, in DEFAULT_EVERY order
    notify: tuple = ()  # Apprise URLs alerted of new stories and source health
    alert_after: int = DEFAULT_ALERT_AFTER

    def enabled(self):
        """The sources that are crawled."""
        return [s for s in self.sources.values() if s.enabled]

    def targets(self, source):
        """The Apprise URLs alerted about `source`: its own list, else the top-level one."""
        return source.notify if source.notify is not None else self.notify


def load(path=None, environ=None):
    """Read the config named by `path`, else ZGCWATCH_CONFIG, else use the defaults.

    ZGCWATCH_DB, when set, wins over the file's `store`. Raises ConfigError.
    """
    environ = os.environ if environ is None else environ
    path = path or environ.get("ZGCWATCH_CONFIG") or None
    data = {}
    if path:
        path = Path(path)
        try:
            # utf-8-sig: editors on Windows save a BOM that tomllib calls "Invalid statement".
            data = tomllib.loads(path.read_bytes().decode("utf-8-sig"))
        except OSError as exc:
            raise ConfigError(f"config {path}: cannot read it: {exc.strerror}") from exc
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"config {path}: not valid TOML: {exc}") from exc
        except UnicodeDecodeError as exc:
            raise ConfigError(f"config {path}: not valid TOML: not UTF-8 ({exc.reason})") from exc
    try:
        return parse(data, path=path, db_env=environ.get("ZGCWATCH_DB"))
    except ConfigError as exc:
        raise ConfigError(f"config {path or '(defaults)'}: {exc}") from exc


def parse(data, path=None, db_env=None):
    """Validate a parsed TOML document and fill in the defaults; return a Config."""
    _no_unknown_keys(data, TOP_KEYS, "")
    store = _string(data, "store", "", DEFAULT_STORE)
    log_file = _string(data, "log_file", "", None)
    level = _string(data, "log_level", "", "INFO").upper()
    if level not in LOG_LEVELS:
        raise ConfigError(f"log_level: expected one of {', '.join(LOG_LEVELS)}, got {_show(level)}")
    tables = data.get("sources", {})
    if not isinstance(tables, dict):
        raise ConfigError(f"sources: expected a table, got {_show(tables)}")
    for name in tables:
        if name not in DEFAULT_EVERY:
            raise ConfigError(
                f"sources.{name}: unknown source, expected one of {', '.join(DEFAULT_EVERY)}"
            )
    sources = {name: _source(name, tables.get(name, {})) for name in DEFAULT_EVERY}
    return Config(
        path=Path(path) if path else None,
        store=Path(db_env or store),
        crawl_timeout=_duration(data, "crawl_timeout", "", DEFAULT_CRAWL_TIMEOUT),
        grace=_duration(data, "grace", "", DEFAULT_GRACE, allow_zero=True),
        log_file=Path(log_file) if log_file else None,
        log_level=level,
        sources=sources,
        notify=_notify(data, "") or (),
        alert_after=_count(data, "alert_after", "", DEFAULT_ALERT_AFTER),
    )


def _source(name, table):
    where = f"sources.{name}."
    if not isinstance(table, dict):
        raise ConfigError(f"sources.{name}: expected a table, got {_show(table)}")
    _no_unknown_keys(table, SOURCE_KEYS, where)
    if "every" in table and "cron" in table:
        raise ConfigError(f"sources.{name}: expected either every or cron, got both")
    cron = _string(table, "cron", where, None)
    if cron is not None:
        cron_trigger(cron, where + "cron")  # refuse a bad expression now, not at the first run
    enabled = table.get("enabled", True)
    if not isinstance(enabled, bool):
        raise ConfigError(f"{where}enabled: expected true or false, got {_show(enabled)}")
    return Source(
        name=name,
        every=None if cron else _duration(table, "every", where, DEFAULT_EVERY[name]),
        cron=cron,
        enabled=enabled,
        base_url=_base_url(table, where),
        settings=_settings(table, where),
        notify=_notify(table, where),
    )


def _base_url(table, where):
    url = _string(table, "base_url", where, None)
    if url is None:
        return None
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigError(
            f'{where}base_url: expected an http(s) URL like "https://www.chinadaily.com.cn", '
            f"got {_show(url)}"
        )
    return url


def _settings(table, where):
    settings = table.get("settings", {})
    if not isinstance(settings, dict):
        raise ConfigError(f"{where}settings: expected a table, got {_show(settings)}")
    values = {}
    for key, value in settings.items():
        if not SETTING_NAME.match(key):
            raise ConfigError(
                f"{where}settings.{key}: expected an upper-case Scrapy setting name "
                f"like DOWNLOAD_DELAY"
            )
        if isinstance(value, bool):
            values[key] = "True" if value else "False"
        elif isinstance(value, (str, int, float)):
            values[key] = str(value)
        else:
            raise ConfigError(
                f"{where}settings.{key}: expected a string, number or boolean, got {_show(value)}"
            )
    return values


def _notify(table, where):
    """A list of Apprise URLs as a tuple, or None when the key is absent."""
    if "notify" not in table:
        return None
    urls = table["notify"]
    if not isinstance(urls, list) or not all(isinstance(u, str) and u.strip() for u in urls):
        raise ConfigError(f'{where}notify: expected a list of Apprise URLs like '
                          f'["mailto://user:pass@example.org", "json://host/path"], '
                          f"got {_show(urls)}")
    for i, url in enumerate(urls):
        scheme, sep, rest = url.strip().partition("://")
        if not sep or not scheme.isascii() or not scheme.isalnum() or not rest:
            # the value is not shown: it may hold a password or token
            raise ConfigError(f'{where}notify[{i}]: expected an Apprise URL like '
                              f'"json://host/path" (scheme://...), got something else')
    return tuple(u.strip() for u in urls)


def _count(table, key, where, default):
    value = table.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigError(f"{where}{key}: expected a whole number of runs, 1 or more, "
                          f"got {_show(value)}")
    return value


def _no_unknown_keys(table, known, where):
    for key in table:
        if key not in known:
            raise ConfigError(f"{where}{key}: unknown key, expected one of {', '.join(known)}")


def _string(table, key, where, default):
    value = table.get(key, default)
    if value is not None and not (isinstance(value, str) and value.strip()):
        raise ConfigError(f"{where}{key}: expected a non-empty string, got {_show(value)}")
    return value


def _duration(table, key, where, default, allow_zero=False):
    if key not in table:
        return default
    value = table[key]
    seconds = parse_duration(value) if isinstance(value, str) else None
    if seconds is None or (seconds == 0 and not allow_zero):
        raise ConfigError(f"{where}{key}: expected {DURATION_HINT}, got {_show(value)}")
    if seconds > MAX_DURATION:
        raise ConfigError(f"{where}{key}: expected a duration of at most "
                          f"{format_duration(MAX_DURATION)}, got {_show(value)}")
    return seconds


def parse_duration(text):
    """Seconds in "90s", "45m", "2h" or "1d"; None when the text is not such a duration."""
    match = DURATION.match(text.strip())
    if not match:
        return None
    try:
        return float(int(match[1]) * UNITS[match[2]])
    except OverflowError:  # more digits than a float holds: too long, as _duration says
        return math.inf


def format_duration(seconds):
    """The shortest exact spelling of a duration: 3600 -> "1h", 90 -> "90s"."""
    for unit in ("d", "h", "m"):
        if seconds >= UNITS[unit] and seconds % UNITS[unit] == 0:
            return f"{int(seconds // UNITS[unit])}{unit}"
    return f"{seconds:g}s"


def cron_trigger(expr, key="cron", timezone=None, jitter=None):
    """A CronTrigger for a 5-field crontab line, with crontab's weekday numbers (0 = Sunday).

    APScheduler 3 reads weekday numbers with 0 = Monday; numbers are turned into names here
    so "0 9 * * 1" fires on Mondays as in crontab(5).
    """
    fields = expr.split()
    hint = 'expected a crontab line like "0 * * * *" (minute hour day month weekday)'
    if len(fields) != 5:
        raise ConfigError(f"{key}: {hint}, got {_show(expr)}")
    try:
        weekday = _cron_weekdays(fields[4])
        trigger = CronTrigger(minute=fields[0], hour=fields[1], day=fields[2], month=fields[3],
                              day_of_week=weekday, timezone=timezone, jitter=jitter)
    except ValueError as exc:
        raise ConfigError(f"{key}: {hint}, got {_show(expr)} ({exc})") from exc
    # "0 0 30 2 *" parses, then the daemon idles forever: say so now.
    if trigger.get_next_fire_time(None, datetime.now(trigger.timezone)) is None:
        raise ConfigError(f"{key}: {_show(expr)} never fires (no such date)")
    return trigger


def _cron_weekdays(spec):
    """Crontab's weekday field as an explicit list of day names APScheduler reads alike."""
    if spec == "*":
        return spec
    days = []
    for part in spec.lower().split(","):
        span, slash, step = part.partition("/")
        if slash and not step.isdigit() or step == "0":
            raise ValueError(f"weekday step {step!r} is not a positive number")
        if span == "*":
            low, high = 0, 6
        elif "-" in span:
            low, high = (_weekday_number(end) for end in span.split("-", 1))
        else:
            low = _weekday_number(span)
            high = 6 if slash else low  # crontab: "1/2" means 1-6/2
        if low > high:
            raise ValueError(f"weekday range {span!r} runs backwards")
        days += range(low, high + 1, int(step or 1))
    return ",".join(dict.fromkeys(WEEKDAYS[day] for day in days))


def _weekday_number(text):
    if text.isdigit() and int(text) <= 7:
        return int(text)
    if text in WEEKDAYS:
        return WEEKDAYS.index(text)
    raise ValueError(f"weekday {text!r} is not 0-7 or sun-sat")


def _show(value):
    """A value as TOML would spell it, for error messages."""
    return json.dumps(value, ensure_ascii=False, default=str)
