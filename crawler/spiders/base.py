"""What both spiders share: listing chains, incremental skipping, article pages, errors."""

import logging
from dataclasses import dataclass, field

import scrapy
from scrapy.exceptions import IgnoreRequest
from scrapy.http import TextResponse
from scrapy.spidermiddlewares.httperror import HttpError

from crawler.items import AliasItem, ArticleItem
from crawler.urls import SiteMap
from store.state import crawl_state

REDIRECTS = [301, 302, 303, 307, 308]


@dataclass
class Link:
    """An article link found on a listing page."""

    url: str  # live URL as linked
    title: str | None = None
    date: str | None = None


@dataclass
class Chain:
    """One listing followed page by page (a section, a column, a search query)."""

    name: str
    done: bool = False
    complete: bool = False
    visited: set = field(default_factory=set)  # listing pages seen: a loop ends the chain


class MonitorSpider(scrapy.Spider):
    """Walk listings, request only articles the store lacks, hand their pages on."""

    def __init__(self, base_url=None, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.sites = SiteMap(self.name, base_url)
        self.allowed_domains = self.sites.allowed_domains
        self.chains = {}
        self.known = set()
        self.stop_early = False
        self.max_pages = 5

    @classmethod
    def from_crawler(cls, crawler, *args, **kwargs):
        spider = super().from_crawler(crawler, *args, **kwargs)
        spider.max_pages = max(1, crawler.settings.getint("ZGCWATCH_MAX_PAGES", 5))
        spider.known, spider.stop_early = crawl_state(
            crawler.settings.get("ZGCWATCH_DB") or None, spider.name
        )
        return spider

    @property
    def listing_complete(self):
        """True when every listing chain reached its end without a failure."""
        return bool(self.chains) and all(c.complete for c in self.chains.values())

    # -- listings -------------------------------------------------------------------
    def listing_request(self, live_url, chain, page_no, callback=None):
        """A request for one listing page of `chain`."""
        self.chains.setdefault(chain, Chain(chain))
        return scrapy.Request(
            self.sites.fetch_url(live_url),
            callback=callback or self.parse_listing,
            errback=self.listing_failed,
            meta={"chain": chain, "page_no": page_no, "live_url": live_url},
            dont_filter=True,  # listings are always fetched, even if seen by a twin chain
            priority=10,
        )

    def parse_listing(self, response):
        """A listing page: request its new articles, then decide on the next page."""
        requests, new, found = self.follow_links(response, self._parse_links(response))
        if not found:
            self.crawler.stats.inc_value("zgcwatch/layout/empty_listing")
            self.logger.warning("no article links on listing %s: has the layout changed?",
                                response.url)
        yield from requests
        next_url = self._parse_next(response)
        if self.goes_on(response, new, next_url, found > 0):
            yield self.listing_request(next_url, response.meta["chain"],
                                       response.meta["page_no"] + 1)

    def _parse_links(self, response):
        """The article links of a listing page (each spider knows its site's markup)."""
        raise NotImplementedError

    def _parse_next(self, response):
        """The live URL of the next listing page, or None on the last one."""
        raise NotImplementedError

    def follow_links(self, response, links):
        """Requests for the new articles among `links`, the count of new ones, and of all."""
        requests, new, seen = [], 0, set()
        base = response.meta.get("live_url")
        for link in links:
            live = self.sites.live_url(link.url, base)
            if self.sites.is_attachment(live):
                self.crawler.stats.inc_value("zgcwatch/skipped/attachment")
                continue
            canonical = self.sites.canonical(live)
            if not self.sites.is_article(live) or canonical in seen:
                continue  # a story linked twice on a page (picture and headline) counts once
            seen.add(canonical)
            self.crawler.stats.inc_value("zgcwatch/listing/links")
            if canonical in self.known:
                self.crawler.stats.inc_value("zgcwatch/skipped/known")
                continue
            new += 1
            requests.append(self.article_request(canonical, link))
        return requests, new, len(seen)

    def goes_on(self, response, new, next_url, found=True):
        """Whether the chain goes on to `next_url`; when it ends, say why and how.

        A page where no article link was found ends the chain as incomplete: the layout
        may have changed, and the next run must not take the silence for "nothing new".
        """
        chain = self.chains[response.meta["chain"]]
        page_no = response.meta["page_no"]
        if not found:
            chain.done, chain.complete = True, False
            return False
        reason = None
        chain.visited.add(response.meta["live_url"])
        if next_url is None or next_url in chain.visited:
            reason = "last page"
        elif page_no >= self.max_pages:
            reason = f"ZGCWATCH_MAX_PAGES={self.max_pages}"
        elif new == 0 and self.stop_early:
            reason = "nothing new"
        if reason:
            self.logger.info("listing %s: stop after page %d (%s)", chain.name, page_no, reason)
            chain.done = chain.complete = True
            return False
        return True

    def listing_failed(self, failure):
        """A listing page failed: count it; the chain is incomplete, so the next run goes deep."""
        chain = self.chains[failure.request.meta["chain"]]
        chain.done, chain.complete = True, False
        self.count_failure(failure, "listing")

    # -- articles -------------------------------------------------------------------
    def article_request(self, canonical, link=None, aliases=()):
        """A request for page 1 of an article not yet stored."""
        return scrapy.Request(
            self.sites.fetch_url(canonical),
            callback=self.parse_article,
            errback=self.article_failed,
            meta={
                "canonical": canonical,
                "link": link or Link(canonical),
                "aliases": list(aliases),
                "dont_redirect": True,
                "handle_httpstatus_list": REDIRECTS,
            },
        )

    def parse_article(self, response):
        """Page 1 of an article: follow a redirect, or collect its pages and yield the item."""
        meta = response.meta
        if response.status in REDIRECTS:
            yield from self.follow_redirect(response)
            return
        if not isinstance(response, TextResponse):
            self.crawler.stats.inc_value("zgcwatch/skipped/not_html")
            self.logger.warning("not an HTML page, skipped: %s (%s)", response.url,
                                response.headers.get("Content-Type", b"?").decode("latin-1"))
            return
        link = meta["link"]
        item = ArticleItem(
            url=meta["canonical"],
            source=self.name,
            pages=[(response.url, response.encoding, response.body)],
            listing_title=link.title,
            listing_date=link.date,
            aliases=meta["aliases"],
        )
        more = [self.sites.fetch_url(self.sites.live_url(u, meta["canonical"]))
                for u in self.extra_pages(response, meta["canonical"])]
        if more:
            yield self.page_request(item, more)
        else:
            yield item

    def follow_redirect(self, response):
        """Record where an old URL leads; request the target unless it is stored already."""
        location = response.headers.get("Location", b"").decode("latin-1")
        old = response.meta["canonical"]
        if not location:
            self.count_error("redirect_without_location", response.url)
            return
        target = self.sites.canonical(self.sites.live_url(location, response.url))
        if not self.sites.owns(target) or not self.sites.is_article(target):
            self.logger.warning("redirect from %s leaves the article pages: %s", old, target)
            return
        self.crawler.stats.inc_value("zgcwatch/redirects")
        # Also when the request below carries it: Scrapy drops that request as a duplicate
        # if another link already scheduled the target, and the alias must not be lost.
        yield AliasItem(url=old, target=target)
        if target not in self.known:
            yield self.article_request(target, response.meta["link"],
                                       [*response.meta["aliases"], old])

    def page_request(self, item, remaining):
        """A request for the next page of a story split over several pages."""
        return scrapy.Request(
            remaining[0],
            callback=self.parse_more,
            errback=self.page_failed,
            meta={"item": item, "remaining": remaining[1:]},
        )

    def parse_more(self, response):
        """Page 2+ of a story: append it and go on to the next, or yield the whole story."""
        item, remaining = response.meta["item"], response.meta["remaining"]
        item.pages.append((response.url, response.encoding, response.body))
        yield self.page_request(item, remaining) if remaining else item

    def page_failed(self, failure):
        """A later page failed: store what we have and say the story is incomplete."""
        self.count_failure(failure, "page")
        item = failure.request.meta["item"]
        item.missing_pages += 1 + len(failure.request.meta["remaining"])
        return [item]

    def article_failed(self, failure):
        """Page 1 of an article failed: count it; the next run will try again."""
        self.count_failure(failure, "article")

    def extra_pages(self, response, canonical):
        """Further pages of a story split over several pages (none by default)."""
        return []

    # -- errors ---------------------------------------------------------------------
    def count_failure(self, failure, what):
        """Log one line for a failed request and count it by kind."""
        request = failure.request
        if failure.check(IgnoreRequest) and not failure.check(HttpError):
            self.crawler.stats.inc_value("zgcwatch/skipped/ignored")
            self.logger.info("%s not fetched (%s): %s", what, failure.getErrorMessage(),
                             request.url)
            return
        if failure.check(HttpError):
            kind = f"http_{failure.value.response.status}"
        else:
            kind = type(failure.value).__name__
        self.count_error(kind, request.url, what)

    def count_error(self, kind, url, what="article"):
        """Count an error under zgcwatch/errors/<kind> and log it."""
        self.crawler.stats.inc_value(f"zgcwatch/errors/{kind}")
        self.crawler.stats.inc_value("zgcwatch/errors")
        self.logger.error("%s failed (%s): %s", what, kind, url)


# Scrapy logs each ignored 4xx/5xx at INFO; count_failure already says it once, as an error.
logging.getLogger("scrapy.spidermiddlewares.httperror").setLevel(logging.WARNING)
