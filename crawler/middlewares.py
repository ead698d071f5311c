"""Retry back-off: a retried request waits before it is sent again, without blocking.

A 429 or 503 answer's `Retry-After` (seconds, or an HTTP date) sets the wait instead,
up to ZGCWATCH_RETRY_AFTER_MAX; a server asking for longer is not retried in this run.
"""

import asyncio
import logging
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

from scrapy.exceptions import NotConfigured

logger = logging.getLogger(__name__)

RATE_LIMITS = (429, 503)


def retry_after(value, now=None):
    """Seconds a Retry-After header value asks to wait, or None when it is unreadable."""
    text = (value or b"").decode("latin-1").strip()
    if text.isdigit():
        return float(text)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


class RetryBackoffMiddleware:
    """Delay the n-th retry of a request by base * 2**(n-1) seconds, up to a maximum."""

    def __init__(self, base, maximum, after_max):
        self.base = base
        self.maximum = maximum
        self.after_max = after_max

    @classmethod
    def from_crawler(cls, crawler):
        settings = crawler.settings
        base = settings.getfloat("ZGCWATCH_RETRY_BACKOFF")
        if base <= 0 or not settings.getbool("RETRY_ENABLED"):
            raise NotConfigured
        return cls(base, settings.getfloat("ZGCWATCH_RETRY_BACKOFF_MAX"),
                   settings.getfloat("ZGCWATCH_RETRY_AFTER_MAX"))

    async def process_request(self, request):
        """Sleep before a retried request goes out; first attempts pass straight through."""
        retries = request.meta.get("retry_times", 0)
        if retries:
            wait = min(self.maximum, self.base * 2 ** (retries - 1))
            asked = request.meta.get("zgcwatch_retry_after")
            await asyncio.sleep(asked if asked is not None else wait)
        return None

    def process_response(self, request, response):
        """Note a 429/503's Retry-After on the request, which the retry copies; or refuse it.

        Runs before Scrapy's RetryMiddleware (a higher number handles responses first).
        """
        if response.status not in RATE_LIMITS or b"Retry-After" not in response.headers:
            return response
        asked = retry_after(response.headers.get("Retry-After"))
        if asked is None:
            return response
        if asked > self.after_max:
            logger.warning("%s answered %d, Retry-After %.0fs (more than "
                           "ZGCWATCH_RETRY_AFTER_MAX=%.0fs): not retried in this run",
                           request.url, response.status, asked, self.after_max)
            request.meta["dont_retry"] = True
        else:
            logger.info("%s answered %d: retrying after %.0fs as Retry-After asks",
                        request.url, response.status, asked)
            request.meta["zgcwatch_retry_after"] = asked
        return response
