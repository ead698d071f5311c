"""Hostile sites and broken stores: real `scrapy crawl` runs against a misbehaving 127.0.0.1.

Each test builds a small zgcgw-shaped site (one column, EasySite markup) whose pages or
routes misbehave in one way, crawls it into a real SQLite file, and checks what the crawl
did, what it stored and what the run says.
"""

import json

import pytest

from scheduler import main as scheduler_main

LIVE = "https://zgcgw.beijing.gov.cn"
COLUMN = "/zgc/yw/gzdt/index.html"
OTHER_COLUMN = "/zgc/zwgk/tzgg/index.html"
SETTINGS = {"ZGCWATCH_ZGCGW_COLUMNS": COLUMN, "ZGCWATCH_EXTRACT_WORKERS": "0"}
TEXT = ("中关村科技园区今年新引进海归人才三百余名，留学归国人员创办的企业在人工智能、"
        "集成电路等领域不断取得突破。")


# -- 7. configurations that parse but would break later ----------------------------------


@pytest.mark.parametrize("toml, message", [
    ('[sources.zgcgw]\nevery = "3000000d"\n',
     'sources.zgcgw.every: expected a duration of at most 366d, got "3000000d"'),
    (f'[sources.zgcgw]\nevery = "{"9" * 400}d"\n',
     f'sources.zgcgw.every: expected a duration of at most 366d, got "{"9" * 400}d"'),
    ('crawl_timeout = "999999h"\n',
     'crawl_timeout: expected a duration of at most 366d, got "999999h"'),
    ('[sources.zgcgw]\ncron = "0 0 30 2 *"\n',
     'sources.zgcgw.cron: "0 0 30 2 *" never fires (no such date)'),
])
def test_config_that_would_break_later_is_refused_now(tmp_path, capsys, toml, message):
    path = tmp_path / "daemon.toml"
    path.write_text(toml, encoding="utf-8")
    assert scheduler_main(["--config", str(path), "--list"]) == 2
    assert capsys.readouterr().err.strip() == f"zgcwatch: config {path}: {message}"


def test_config_with_a_utf8_bom_is_read(tmp_path, capsys):
    path = tmp_path / "daemon.toml"
    store = json.dumps(str(tmp_path / "store.db"))
    path.write_bytes(f'\ufeffstore = {store}\n[sources.zgcgw]\nevery = "45m"\n'.encode())
    assert scheduler_main(["--config", str(path), "--list"]) == 0
    assert "every 45m" in capsys.readouterr().out
