"""The daemon's TOML configuration: defaults, overrides, and one-line refusals."""

import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

import scheduler
from crawler.daemon_config import (
    Config,
    ConfigError,
    Source,
    cron_trigger,
    format_duration,
    load,
    parse_duration,
)

ROOT = Path(__file__).resolve().parent.parent


def write(tmp_path, text):
    path = tmp_path / "zgcwatch.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_defaults_without_a_file():
    assert load(None, environ={}) == Config(
        path=None,
        store=Path("data/zgcwatch.db"),
        crawl_timeout=1800.0,
        grace=60.0,
        log_file=None,
        log_level="INFO",
        sources={
            "chinadaily": Source("chinadaily", every=3600.0),
            "zgcgw": Source("zgcgw", every=7200.0),
        },
    )


def test_a_full_file(tmp_path):
    path = write(tmp_path, """
store = "/srv/zgcwatch/zgcwatch.db"
crawl_timeout = "20m"
grace = "0s"
log_file = "/var/log/zgcwatch.log"
log_level = "debug"

[sources.chinadaily]
every = "90s"
base_url = "http://127.0.0.1:8080"
settings = { DOWNLOAD_DELAY = 2.5, ROBOTSTXT_OBEY = false, LOG_FILE = "cd.log", RETRY_TIMES = 0 }

[sources.zgcgw]
cron = "30 6 * * 1-5"
enabled = false
""")
    assert load(path, environ={}) == Config(
        path=path,
        store=Path("/srv/zgcwatch/zgcwatch.db"),
        crawl_timeout=1200.0,
        grace=0.0,
        log_file=Path("/var/log/zgcwatch.log"),
        log_level="DEBUG",
        sources={
            "chinadaily": Source(
                "chinadaily", every=90.0, base_url="http://127.0.0.1:8080",
                settings={"DOWNLOAD_DELAY": "2.5", "ROBOTSTXT_OBEY": "False",
                          "LOG_FILE": "cd.log", "RETRY_TIMES": "0"},
            ),
            "zgcgw": Source("zgcgw", cron="30 6 * * 1-5", enabled=False),
        },
    )


def test_a_source_left_out_keeps_its_default_schedule(tmp_path):
    path = write(tmp_path, '[sources.chinadaily]\nevery = "45m"\n')
    config = load(path, environ={})
    assert config.sources["chinadaily"].every == 2700.0
    assert config.sources["zgcgw"] == Source("zgcgw", every=7200.0)
    assert [s.name for s in config.enabled()] == ["chinadaily", "zgcgw"]


def test_environment_names_the_file_and_the_store_wins(tmp_path):
    path = write(tmp_path, 'store = "from-file.db"\n')
    config = load(None, environ={"ZGCWATCH_CONFIG": str(path), "ZGCWATCH_DB": "/x/env.db"})
    assert (config.path, config.store) == (path, Path("/x/env.db"))
    assert load(path, environ={}).store == Path("from-file.db")


BAD = [
    ('crawl_timeout = "30 minutes"',
     'crawl_timeout: expected a duration like "90s", "45m", "2h", "1d", got "30 minutes"'),
    ("crawl_timeout = 1800",
     'crawl_timeout: expected a duration like "90s", "45m", "2h", "1d", got 1800'),
    ('grace = "-5s"', 'grace: expected a duration like "90s", "45m", "2h", "1d", got "-5s"'),
    ('crawl_timeout = "0s"',
     'crawl_timeout: expected a duration like "90s", "45m", "2h", "1d", got "0s"'),
    ("store = 5", "store: expected a non-empty string, got 5"),
    ('store = ""', 'store: expected a non-empty string, got ""'),
    ('log_level = "chatty"',
     'log_level: expected one of DEBUG, INFO, WARNING, ERROR, got "CHATTY"'),
    ('stroe = "x.db"',
     "stroe: unknown key, expected one of store, crawl_timeout, grace, log_file, log_level, "
     "notify, alert_after, sources"),
    ('sources = "chinadaily"', 'sources: expected a table, got "chinadaily"'),
    ('[sources.xinhua]\nevery = "1h"',
     "sources.xinhua: unknown source, expected one of chinadaily, zgcgw"),
    ('[sources.chinadaily]\nevery = "5 minutes"',
     'sources.chinadaily.every: expected a duration like "90s", "45m", "2h", "1d", '
     'got "5 minutes"'),
    ('[sources.chinadaily]\nevery = "1.5h"',
     'sources.chinadaily.every: expected a duration like "90s", "45m", "2h", "1d", got "1.5h"'),
    ('[sources.chinadaily]\nevery = "0m"',
     'sources.chinadaily.every: expected a duration like "90s", "45m", "2h", "1d", got "0m"'),
    ('[sources.zgcgw]\nevery = "1h"\ncron = "0 * * * *"',
     "sources.zgcgw: expected either every or cron, got both"),
    ('[sources.zgcgw]\ncron = "every hour"',
     'sources.zgcgw.cron: expected a crontab line like "0 * * * *" (minute hour day month '
     'weekday), got "every hour"'),
    ('[sources.zgcgw]\ncron = "61 * * * *"',
     'sources.zgcgw.cron: expected a crontab line like "0 * * * *" (minute hour day month '
     'weekday), got "61 * * * *" (Error validating expression \'61\': the last value (61) '
     "is higher than the maximum value (59))"),
    ('[sources.zgcgw]\ncron = "0 9 * * 8"',
     'sources.zgcgw.cron: expected a crontab line like "0 * * * *" (minute hour day month '
     "weekday), got \"0 9 * * 8\" (weekday '8' is not 0-7 or sun-sat)"),
    ('[sources.zgcgw]\nenabled = "yes"',
     'sources.zgcgw.enabled: expected true or false, got "yes"'),
    ('[sources.zgcgw]\nbase_url = "127.0.0.1:8000"',
     'sources.zgcgw.base_url: expected an http(s) URL like "https://www.chinadaily.com.cn", '
     'got "127.0.0.1:8000"'),
    ('[sources.zgcgw]\nevry = "1h"',
     "sources.zgcgw.evry: unknown key, expected one of every, cron, enabled, base_url, "
     "settings, notify"),
    ('[sources.zgcgw]\nsettings = "DOWNLOAD_DELAY=1"',
     'sources.zgcgw.settings: expected a table, got "DOWNLOAD_DELAY=1"'),
    ("[sources.zgcgw]\nsettings = { download_delay = 1 }",
     "sources.zgcgw.settings.download_delay: expected an upper-case Scrapy setting name like "
     "DOWNLOAD_DELAY"),
    ("[sources.zgcgw]\nsettings = { ZGCWATCH_ZGCGW_COLUMNS = ['/a'] }",
     'sources.zgcgw.settings.ZGCWATCH_ZGCGW_COLUMNS: expected a string, number or boolean, '
     'got ["/a"]'),
    ('sources = { zgcgw = "2h" }', 'sources.zgcgw: expected a table, got "2h"'),
]


@pytest.mark.parametrize(("text", "message"), BAD, ids=[m.split(":")[0] for _, m in BAD])
def test_bad_config_is_refused_with_the_key_and_what_was_expected(tmp_path, capsys, text,
                                                                  message):
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        load(path, environ={})
    assert str(caught.value) == f"config {path}: {message}"
    assert scheduler.main(["--config", str(path), "--list"]) == 2
    out, err = capsys.readouterr()
    assert (out, err) == ("", f"zgcwatch: config {path}: {message}\n")


def test_toml_syntax_error_is_one_line(tmp_path, capsys):
    path = write(tmp_path, '[sources.chinadaily]\nevery = "1h\n')
    assert scheduler.main(["--config", str(path)]) == 2
    assert capsys.readouterr().err == (
        f"zgcwatch: config {path}: not valid TOML: Illegal character '\\n' "
        f"(at line 2, column 12)\n"
    )


def test_missing_file_is_one_line(tmp_path, capsys):
    path = tmp_path / "nope.toml"
    assert scheduler.main(["--config", str(path), "--status"]) == 2
    assert capsys.readouterr().err == (
        f"zgcwatch: config {path}: cannot read it: No such file or directory\n"
    )


def test_every_source_disabled_is_refused(tmp_path, capsys):
    path = write(tmp_path, "[sources.chinadaily]\nenabled = false\n"
                           "[sources.zgcgw]\nenabled = false\n")
    assert scheduler.main(["--config", str(path), "--once"]) == 2
    assert capsys.readouterr().err == f"zgcwatch: config {path}: every source is disabled\n"


def test_the_console_script_refuses_a_bad_file_at_start(tmp_path):
    path = write(tmp_path, '[sources.chinadaily]\nevery = "5 minutes"\n')
    done = subprocess.run([sys.executable, str(ROOT / "scheduler.py"), "--config", str(path)],
                          capture_output=True, text=True, timeout=30)
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr.splitlines() == [
        f'zgcwatch: config {path}: sources.chinadaily.every: expected a duration like "90s", '
        f'"45m", "2h", "1d", got "5 minutes"'
    ]


@pytest.mark.parametrize(("text", "seconds"), [
    ("90s", 90), ("45m", 2700), ("2h", 7200), ("1d", 86400), (" 1h ", 3600),
    ("5 minutes", None), ("1.5h", None), ("h", None), ("10", None), ("-1s", None), ("", None),
])
def test_parse_duration(text, seconds):
    assert parse_duration(text) == seconds


@pytest.mark.parametrize(("seconds", "text"), [
    (90, "90s"), (60, "1m"), (2700, "45m"), (7200, "2h"), (86400, "1d"), (5400, "90m"),
    (0, "0s"), (1.5, "1.5s"),
])
def test_format_duration(seconds, text):
    assert format_duration(seconds) == text


# 2025-01-01 was a Wednesday. Crontab counts weekdays from Sunday = 0 (7 too).
@pytest.mark.parametrize(("weekdays", "fires_on"), [
    ("1", ["Mon", "Mon", "Mon"]),
    ("0", ["Sun", "Sun", "Sun"]),
    ("7", ["Sun", "Sun", "Sun"]),
    ("1-5", ["Wed", "Thu", "Fri", "Mon"]),
    ("5-7", ["Fri", "Sat", "Sun", "Fri"]),
    ("0,6", ["Sat", "Sun", "Sat"]),
    ("*/2", ["Thu", "Sat", "Sun", "Tue"]),
    ("1-5/2", ["Wed", "Fri", "Mon", "Wed"]),
    ("mon-fri", ["Wed", "Thu", "Fri", "Mon"]),
    ("*", ["Wed", "Thu", "Fri", "Sat"]),
])
def test_cron_weekdays_count_from_sunday_as_in_crontab(weekdays, fires_on):
    trigger = cron_trigger(f"0 9 * * {weekdays}", timezone=UTC)
    fired, when = [], datetime(2025, 1, 1, tzinfo=UTC)
    for _ in fires_on:
        when = trigger.get_next_fire_time(None, when)
        fired.append(when.strftime("%a"))
        when += timedelta(seconds=1)
    assert fired == fires_on
    assert when.strftime("%H:%M") == "09:00"


def test_crawl_command_passes_base_url_and_settings():
    source = Source("zgcgw", every=60.0, base_url="http://127.0.0.1:8001",
                    settings={"DOWNLOAD_DELAY": "0", "ROBOTSTXT_OBEY": "False"})
    assert scheduler.crawl_command(source, python="py") == [
        "py", "-m", "scrapy", "crawl", "zgcgw", "-a", "base_url=http://127.0.0.1:8001",
        "-s", "DOWNLOAD_DELAY=0", "-s", "ROBOTSTXT_OBEY=False",
    ]
    assert scheduler.crawl_command(Source("chinadaily", every=60.0), python="py") == [
        "py", "-m", "scrapy", "crawl", "chinadaily",
    ]
