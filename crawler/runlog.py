"""Write one `crawl_runs` row per crawl: started at open, closed with counts and status."""

import logging
import os
import sqlite3

from scrapy import signals

from store import open_store
from store.runs import fail_running, finish_run, outcome_counts, pid_alive, start_run

logger = logging.getLogger(__name__)

STATS_KEPT = ("zgcwatch/", "downloader/response_status_count/", "robotstxt/",
              "item_scraped_count", "item_dropped_count", "finish_reason", "elapsed_time_seconds")


def causes(stats):
    """Why the listings could not be read, worst first: robots.txt, rate limits, the network."""
    found = []
    if n := stats.get("robotstxt/forbidden"):
        found.append(f"forbidden by robots.txt ({n} request{'s' if n > 1 else ''})")
    failed = {k.rsplit("/", 1)[-1]: v for k, v in stats.items()
              if k.startswith("zgcwatch/listing/failed/")}
    for kind, label in (("http_429", "rate limited (429)"),
                        ("http_503", "service unavailable (503)")):
        if failed.pop(kind, 0):
            found.append(label)
    network = {k: v for k, v in failed.items() if not k.startswith(("http_", "redirect"))}
    if network:
        found.append("site unreachable for listings (" + ", ".join(
            f"{kind} x{n}" for kind, n in sorted(network.items())) + ")")
    found += [f"listings answered HTTP {k[5:]}" for k in sorted(failed) if k.startswith("http_")]
    return found


def judge(stats, reason, listing_complete, notes=()):
    """The run's status and message from its stats: ('ok'|'partial'|'failed', message).

    `notes`: lines the spider wants in the message (a listing redirected off the site).
    The real cause (robots.txt, a rate limit, the network) is named before any guess at
    a layout change; a run that found no article link at all for such a cause failed.
    """
    responses = stats.get("downloader/response_count", 0)
    errors = stats.get("zgcwatch/errors", 0)
    problems = []
    if reason == "store_full":
        return "failed", "store full: the crawl stopped at the first article it could not store"
    if responses == 0:
        failures = sorted(
            (k.rsplit("/", 1)[-1], v) for k, v in stats.items()
            if k.startswith("downloader/exception_type_count/")
        )
        what = ", ".join(f"{name.rsplit('.', 1)[-1]} x{n}" for name, n in failures)
        return "failed", f"site unreachable: no response at all ({what or 'no request made'})"
    if reason != "finished":
        return "failed", f"crawl stopped before the end ({reason})"
    found = causes(stats)
    if not stats.get("zgcwatch/listing/links") and (found or notes):
        return "failed", "; ".join([*found, *notes])  # no listing gave us anything
    if errors:
        problems.append(f"{errors} page{'s' if errors > 1 else ''} failed")
    problems += [*found, *notes]
    if not stats.get("zgcwatch/listing/links") and not found:
        problems.append("no article links in any listing: has the layout changed?")
    if left := stats.get("zgcwatch/capped/links"):
        problems.append(f"{left} new article links left for the next run (capped)")
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
        status, message = judge(stats, reason, complete,
                                getattr(spider, "listing_problems", ()))
        # Before the store is written: a full store may refuse even the run's row.
        self.crawler.stats.set_value("zgcwatch/run_status", status)
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
        try:
            finish_run(self.db, self.run_id, status, counts, message, complete, kept)
        except sqlite3.Error as exc:  # the next crawl marks the row failed ("interrupted")
            logger.error("%s: the run could not be recorded: %s", spider.name, exc)
        log = logger.error if status == "failed" else logger.info
        log("%s: %s — %s%s", spider.name, status,
            ", ".join(f"{k} {v}" for k, v in counts.items()),
            f" ({message})" if message else "")
        self.db.conn.close()
