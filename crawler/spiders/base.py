"""What both spiders share: listing chains, incremental skipping, article pages, errors."""

import functools
import logging
from dataclasses import dataclass, field

import scrapy
from scrapy.exceptions import IgnoreRequest
from scrapy.http import TextResponse
from scrapy.spidermiddlewares.httperror import HttpError

from crawler.items import AliasItem, ArticleItem, DeadUrlItem
from crawler.urls import SiteMap
from store.state import crawl_state

REDIRECTS = [301, 302, 303, 307, 308]
MAX_LISTING_REDIRECTS = 5


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
    capped: bool = False  # links were left for the next run


def listing_page(parse):
    """Decorate a listing callback: follow or refuse a redirect, else parse the page."""

    @functools.wraps(parse)
    def callback(self, response):
        if response.status in REDIRECTS:
            return self.follow_listing_redirect(response)
        return parse(self, response)

    return callback


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
        self.max_links = 0  # new article requests per listing page (0: no cap)
        self.max_articles = 0  # new article requests per run (0: no cap)
        self.requested = 0
        self.listing_problems = []  # one line each, for the run's message

    @classmethod
    def from_crawler(cls, crawler, *args, **kwargs):
        spider = super().from_crawler(crawler, *args, **kwargs)
        spider.max_pages = max(1, crawler.settings.getint("ZGCWATCH_MAX_PAGES", 5))
        spider.max_links = max(0, crawler.settings.getint("ZGCWATCH_MAX_LINKS_PER_PAGE", 0))
        spider.max_articles = max(0, crawler.settings.getint("ZGCWATCH_MAX_NEW_ARTICLES", 0))
        spider.known, spider.stop_early = crawl_state(
            crawler.settings.get("ZGCWATCH_DB") or None, spider.name,
            max_fetches=crawler.settings.getint("ZGCWATCH_INCOMPLETE_FETCHES", 3),
        )
        return spider

    @property
    def listing_complete(self):
        """True when every listing chain reached its end without a failure."""
        return bool(self.chains) and all(c.complete for c in self.chains.values())

    # -- listings -------------------------------------------------------------------
    def listing_request(self, live_url, chain, page_no, callback=None, redirects=0):
        """A request for one listing page of `chain`.

        Redirects are followed by the callback (see `listing_page`), not by Scrapy:
        listings skip the offsite filter (dont_filter), so a redirect must not take them
        to another host unchecked.
        """
        self.chains.setdefault(chain, Chain(chain))
        return scrapy.Request(
            self.sites.fetch_url(live_url),
            callback=callback or self.parse_listing,
            errback=self.listing_failed,
            meta={"chain": chain, "page_no": page_no, "live_url": live_url,
                  "redirects": redirects, "dont_redirect": True,
                  "handle_httpstatus_list": REDIRECTS},
            dont_filter=True,  # listings are always fetched, even if seen by a twin chain
            priority=10,
        )

    def follow_listing_redirect(self, response):
        """A listing redirected: request the target on the source's hosts, else fail the chain.

        The same rule as for articles (`follow_redirect`): the source's own hosts only.
        """
        meta = response.meta
        location = response.headers.get("Location", b"").decode("latin-1")
        target = self.sites.live_url(location, meta["live_url"]) if location else None
        chain = self.chains[meta["chain"]]
        problem = None
        if not target:
            problem = "redirect without a Location"
        elif not self.sites.owns(target):
            problem = f"redirected off the site to {target}"
        elif target == meta["live_url"] or meta["redirects"] >= MAX_LISTING_REDIRECTS:
            problem = f"redirect loop at {target}"
        if problem:
            chain.done, chain.complete = True, False
            self.crawler.stats.inc_value("zgcwatch/listing/failed/redirect")
            self.count_error("listing_redirect", f"{meta['live_url']}: {problem}", "listing")
            self.listing_problems.append(f"listing {chain.name} {problem}")
            return []
        return [self.listing_request(target, meta["chain"], meta["page_no"],
                                     response.request.callback, meta["redirects"] + 1)]

    @listing_page
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
        """Requests for the new articles among `links`, the count of new ones, and of all.

        At most ZGCWATCH_MAX_LINKS_PER_PAGE new articles are taken from one page and
        ZGCWATCH_MAX_NEW_ARTICLES in the run; the chain then counts as not walked to its
        end, so the next run goes as deep again and takes the rest.
        """
        requests, new, seen, left = [], 0, set(), 0
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
            if self._capped(len(requests)):
                left += 1
                continue
            self.requested += 1
            requests.append(self.article_request(canonical, link))
        if left:
            chain = self.chains[response.meta["chain"]]
            chain.capped = True
            self.crawler.stats.inc_value("zgcwatch/capped/links", left)
            self.logger.warning("listing %s: %d new article links left for the next run "
                                "(ZGCWATCH_MAX_LINKS_PER_PAGE=%d, ZGCWATCH_MAX_NEW_ARTICLES=%d)",
                                response.url, left, self.max_links, self.max_articles)
        return requests, new, len(seen)

    def _capped(self, taken_here):
        """True when no more articles may be requested from this page or in this run."""
        return (self.max_links and taken_here >= self.max_links) or (
            self.max_articles and self.requested >= self.max_articles)

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
        if chain.capped:  # later pages would only add to what is left for the next run
            chain.done, chain.complete = True, False
            self.logger.info("listing %s: stop after page %d (cap reached)", chain.name, page_no)
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
        chain = [*response.meta["aliases"], old]
        if target in chain:
            # Logged once here and remembered, so the next runs do not ask again for a while.
            self.count_error("redirect_loop", f"{' -> '.join(chain)} -> {target}")
            for url in chain:
                yield DeadUrlItem(url=url, source=self.name, reason="redirect loop")
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
        message = failure.getErrorMessage()
        if "DOWNLOAD_MAXSIZE" in message or "larger than download max size" in message:
            kind = "too_big"  # a gzip bomb (cut while inflating) counts like a huge page
        elif failure.check(IgnoreRequest) and not failure.check(HttpError):
            self.crawler.stats.inc_value("zgcwatch/skipped/ignored")
            self.logger.info("%s not fetched (%s): %s", what, message, request.url)
            return
        elif failure.check(HttpError):
            kind = f"http_{failure.value.response.status}"
        else:
            kind = type(failure.value).__name__
        if what == "listing":  # the run's message names why no listing could be read
            self.crawler.stats.inc_value(f"zgcwatch/listing/failed/{kind}")
        self.count_error(kind, request.url, what)

    def count_error(self, kind, url, what="article"):
        """Count an error under zgcwatch/errors/<kind> and log it."""
        self.crawler.stats.inc_value(f"zgcwatch/errors/{kind}")
        self.crawler.stats.inc_value("zgcwatch/errors")
        self.logger.error("%s failed (%s): %s", what, kind, url)


# Scrapy logs each ignored 4xx/5xx at INFO; count_failure already says it once, as an error.
logging.getLogger("scrapy.spidermiddlewares.httperror").setLevel(logging.WARNING)
