"""`make demo`'s crawl step: both offline sites crawled at once through the daemon's path."""

import json
import sqlite3

from tests.conftest import FIXTURES
from tests.demo import main

LIVE = {"chinadaily": "https://www.chinadaily.com.cn", "zgcgw": "https://zgcgw.beijing.gov.cn"}


def expected_stories():
    """Canonical URLs of the fixture articles that are relevant originals."""
    urls = set()
    for source, host in LIVE.items():
        articles = json.loads((FIXTURES / source / "expected.json").read_text("utf-8"))
        urls |= {host + path for path, outcome in articles["articles"].items()
                 if outcome["relevant"] and not outcome["duplicate_of"]}
    return urls


def test_demo_crawls_both_sites_in_parallel_into_the_right_stories(tmp_path, capfd):
    db_path = tmp_path / "demo.db"
    assert main(["--db", str(db_path), "--no-serve"]) == 0
    out = capfd.readouterr().out
    conn = sqlite3.connect(db_path)
    stories = {row[0] for row in conn.execute("SELECT url FROM stories")}
    runs = conn.execute("SELECT source, status FROM crawl_runs ORDER BY source").fetchall()
    copies = conn.execute(
        "SELECT count(*) FROM articles WHERE duplicate_of IS NOT NULL").fetchone()[0]
    conn.close()
    assert stories == expected_stories()
    assert runs == [("chinadaily", "partial"), ("zgcgw", "partial")]  # the traps, on purpose
    assert copies == 4
    assert f"{len(stories)} new stories ({copies} republished copies" in out
    assert "chinadaily  partial" in out and "zgcgw       partial" in out
    lines = [line.split() for line in out.splitlines()]
    header = next(cells for cells in lines if cells[:2] == ["source", "status"])
    table = [cells for cells in lines if cells[:1] in (["chinadaily"], ["zgcgw"])]
    column = {name: header.index(name) for name in ("stories_new", "duplicates")}
    # The table adds up to the store, whichever crawl found an original first.
    assert sum(int(cells[column["stories_new"]]) for cells in table) == len(stories)
    assert sum(int(cells[column["duplicates"]]) for cells in table) == copies
    assert "Returnee graduates line up for 'Remain in Zhongguancun' jobs" in out
    assert "中关村留学人员创业园今年新增入驻企业42家" in out
