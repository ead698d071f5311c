"""`scrapy crawl` that checks the store first and exits 1 when the site was unreachable."""

import sys

from scrapy.commands.crawl import Command as ScrapyCrawl
from scrapy.exceptions import UsageError

from store import StoreError, check_writable, open_store


class Command(ScrapyCrawl):
    """Scrapy's crawl, plus: a broken store or an unreachable site is exit code 1."""

    def run(self, args, opts):
        """Refuse a broken or unwritable store in one line, crawl, then exit as the run ended."""
        if len(args) != 1:
            raise UsageError("give exactly one spider: chinadaily or zgcgw")
        path = self.settings.get("ZGCWATCH_DB") or None
        try:
            db = open_store(path)
            try:  # before the first request: a store that cannot take the articles stops here
                check_writable(db, path)
            finally:
                db.conn.close()
        except StoreError as exc:
            print(f"zgcwatch: {exc}", file=sys.stderr)
            self.exitcode = 1
            return
        crawler = self._create_crawler(args[0])
        self.crawler_process.crawl(crawler, **opts.spargs)
        self.crawler_process.start()
        if self.crawler_process.bootstrap_failed:
            self.exitcode = 1
        elif crawler.stats.get_value("zgcwatch/run_status") == "failed":
            self.exitcode = 1
