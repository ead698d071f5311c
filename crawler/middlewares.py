"""Retry back-off: a retried request waits before it is sent again, without blocking."""

import asyncio

from scrapy.exceptions import NotConfigured


class RetryBackoffMiddleware:
    """Delay the n-th retry of a request by base * 2**(n-1) seconds, up to a maximum."""

    def __init__(self, base, maximum):
        self.base = base
        self.maximum = maximum

    @classmethod
    def from_crawler(cls, crawler):
        base = crawler.settings.getfloat("ZGCWATCH_RETRY_BACKOFF")
        if base <= 0 or not crawler.settings.getbool("RETRY_ENABLED"):
            raise NotConfigured
        return cls(base, crawler.settings.getfloat("ZGCWATCH_RETRY_BACKOFF_MAX"))

    async def process_request(self, request):
        """Sleep before a retried request goes out; first attempts pass straight through."""
        retries = request.meta.get("retry_times", 0)
        if retries:
            await asyncio.sleep(min(self.maximum, self.base * 2 ** (retries - 1)))
        return None
