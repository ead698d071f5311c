"""The run log: a crawl's row, and runs left 'running' by crawls that died."""

import os
import subprocess
import sys

from scrapy.utils.test import get_crawler

from crawler.runlog import CrawlRunLog, judge
from crawler.spiders.zgcgw import ZgcgwSpider
from store import open_store
from store.runs import start_run


def test_only_runs_of_dead_crawls_are_failed_at_start(tmp_path):
    db_path = tmp_path / "z.db"
    db = open_store(db_path)
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    died = start_run(db, "zgcgw", pid=dead.pid)
    alive = start_run(db, "zgcgw", pid=os.getppid())  # a crawl running by hand
    crawler = get_crawler(ZgcgwSpider, settings_dict={"ZGCWATCH_DB": str(db_path)})
    runlog = CrawlRunLog.from_crawler(crawler)
    runlog.spider_opened(ZgcgwSpider.from_crawler(crawler))
    status = dict(db.execute("SELECT id, status FROM crawl_runs").fetchall())
    assert status == {died: "failed", alive: "running", runlog.run_id: "running"}


def test_judge_says_what_went_wrong():
    stats = {"downloader/response_count": 10, "zgcwatch/errors": 1,
             "zgcwatch/listing/links": 5, "zgcwatch/warnings/no_date": 2}
    assert judge(stats, "finished", True) == \
        ("partial", "1 page failed; 2 articles without a date")
    assert judge({"downloader/response_count": 0,
                  "downloader/exception_type_count/twisted.internet.error.DNSLookupError": 3},
                 "finished", False) == \
        ("failed", "site unreachable: no response at all (DNSLookupError x3)")
    assert judge({**stats, "zgcwatch/errors": 0, "zgcwatch/warnings/no_date": 0},
                 "finished", True) == ("ok", None)
