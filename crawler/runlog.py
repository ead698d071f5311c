"""Write one `crawl_runs` row per crawl: started at open, closed with counts and status."""

import logging
import os

from scrapy import signals

from store import open_store
from store.runs import fail_running, finish_run, outcome_counts, pid_alive, start_run

logger = logging.getLogger(__name__)

STATS_KEPT = ("zgcwatch/", "downloader/response_status_count/", "robotstxt/",
              "item_scraped_count", "item_dropped_count", "finish_reason", "elapsed_time_seconds")


def judge(stats, reason, listing_complete):
    """The run's status and message from its stats: ('ok'|'partial'|'failed', message)."""
    responses = stats.get("downloader/response_count", 0)
    errors = stats.get("zgcwatch/errors", 0)
    problems = []
    if responses == 0:
        failures = sorted(
            (k.rsplit("/", 1)[-1], v) for k, v in stats.items()
            if k.startswith("downloader/exception_type_count/")
        )
        what = ", ".join(f"{name.rsplit('.', 1)[-1]} x{n}" for name, n in failures)
        return "failed", f"site unreachable: no response at all ({what or 'no request made'})"
    if reason != "finished":
        return "failed", f"crawl stopped before the end ({reason})"
    if errors:
        problems.append(f"{errors} page{'s' if errors > 1 else ''} failed")
    if not stats.get("zgcwatch/listing/links"):
        problems.append("no article links in any listing: has the layout changed?")
    for key, label in (("no_title", "without a title"), ("no_date", "without a date")):
        if count := stats.get(f"zgcwatch/warnings/{key}"):
            problems.append(f"{count} articles {label}")
    if not listing_complete:
        problems.append("listings not walked to their end")
    return ("partial" if problems else "ok"), "; ".join(problems) or None


class CrawlRunLog:
    """Record the crawl in `crawl_runs`; mark runs left 'running' by dead crawls as failed."""

    def __init__(self, crawler):
        self.crawler = crawler
        self.db = None
        self.run_id = None

    @classmethod
    def from_crawler(cls, crawler):
        ext = cls(crawler)
        crawler.signals.connect(ext.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(ext.spider_closed, signal=signals.spider_closed)
        return ext

    def spider_opened(self, spider):
        """Open the store and start the run's row."""
        self.db = open_store(self.crawler.settings.get("ZGCWATCH_DB") or None)
        stale = [row["id"] for row in self.db.query(
            "SELECT id, pid FROM crawl_runs WHERE source = ? AND status = 'running'",
            [spider.name]) if not row["pid"] or not pid_alive(row["pid"])]
        if stale:
            fail_running(self.db, spider.name, "interrupted: the crawl process died", stale)
        self.run_id = start_run(self.db, spider.name, pid=os.getpid())
        spider.run_id = self.run_id  # the pipeline marks the articles it stores with it

    def spider_closed(self, spider, reason):
        """Close the run with its counts, status and a message saying what went wrong."""
        stats = self.crawler.stats.get_stats()
        complete = getattr(spider, "listing_complete", False) and reason == "finished"
        status, message = judge(stats, reason, complete)
        # What the run stored, read back from the store: true also when a crawl of the
        # other source, running at the same time, found an earlier original of a story.
        stored = outcome_counts(self.db, self.run_id)
        for key, stat in (("articles_new", "articles_new"), ("stories_new", "stories_new"),
                          ("duplicates", "duplicates_new")):
            self.crawler.stats.set_value(f"zgcwatch/{stat}", stored[key])
        counts = {
            "pages": stats.get("downloader/response_count", 0)
            - stats.get("robotstxt/response_count", 0),
            **stored,
            "errors": stats.get("zgcwatch/errors", 0),
        }
        kept = {k: v for k, v in stats.items() if k.startswith(STATS_KEPT)}
        finish_run(self.db, self.run_id, status, counts, message, complete, kept)
        self.crawler.stats.set_value("zgcwatch/run_status", status)
        log = logger.error if status == "failed" else logger.info
        log("%s: %s — %s%s", spider.name, status,
            ", ".join(f"{k} {v}" for k, v in counts.items()),
            f" ({message})" if message else "")
        self.db.conn.close()
