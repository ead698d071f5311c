"""Does each spider still fit its site? One listing page per chain and its first article.

`python scheduler.py --check` runs this for every enabled source of the configuration
(its `base_url` and `settings` honoured): per chain (a section, a column, a search query)
it fetches the first listing page and the first article it links, politely (robots.txt,
the User-Agent, DOWNLOAD_DELAY between requests), through the spider's own parsing, and
says whether the listing was reached, how many article links it has, whether a next page
was found, and whether the site's own markup still gives the title, the date and the body.
Nothing is stored.
"""

import asyncio
import time
import urllib.error
import urllib.request
import urllib.robotparser
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import lxml.html
import scrapy
from scrapy.crawler import Crawler
from scrapy.http import Headers
from scrapy.responsetypes import responsetypes
from scrapy.settings import Settings
from scrapy.statscollectors import MemoryStatsCollector

from crawler import settings as project_settings
from crawler.extract import SITES, extract_article
from crawler.spiders.chinadaily import ChinadailySpider
from crawler.spiders.zgcgw import ZgcgwSpider

SPIDERS = {"chinadaily": ChinadailySpider, "zgcgw": ZgcgwSpider}
ARTICLE_TRIES = 3  # a dead first link is the site's problem, not the layout's: try a few


class Unreachable(Exception):
    """A page could not be fetched; the message says why, in a few words."""


@dataclass
class ChainReport:
    """What one listing chain and its first article showed."""

    chain: str
    problems: list = field(default_factory=list)  # what no longer fits: the verdict is red
    lines: list = field(default_factory=list)


class Fetcher:
    """GET pages politely: robots.txt obeyed, our User-Agent, a delay between requests."""

    def __init__(self, settings):
        self.agent = settings.get("USER_AGENT")
        self.delay = settings.getfloat("DOWNLOAD_DELAY")
        self.timeout = settings.getfloat("DOWNLOAD_TIMEOUT")
        self.obey = settings.getbool("ROBOTSTXT_OBEY")
        self.robots = {}
        self.last = None
        self.cache = {}

    def _wait(self):
        if self.last is not None:
            time.sleep(max(0.0, self.last + self.delay - time.monotonic()))
        self.last = time.monotonic()

    def allowed(self, url):
        """Whether robots.txt lets us fetch `url` (a missing robots.txt allows all)."""
        if not self.obey:
            return True
        parts = urlsplit(url)
        host = f"{parts.scheme}://{parts.netloc}"
        if host not in self.robots:
            parser = urllib.robotparser.RobotFileParser()
            try:
                status, _, body = self._get(f"{host}/robots.txt", {})
                parser.parse(body.decode("utf-8", "replace").splitlines()
                             if status == 200 else [])
            except Unreachable:
                parser.parse([])
            self.robots[host] = parser
        return self.robots[host].can_fetch(self.agent, url)

    def get(self, request):
        """(status, headers, body) of a Scrapy request's URL; Unreachable when it fails."""
        if request.url in self.cache:
            return self.cache[request.url]
        if not self.allowed(request.url):
            raise Unreachable("disallowed by robots.txt")
        headers = {k.decode(): v[0].decode("latin-1") for k, v in request.headers.items()}
        self.cache[request.url] = self._get(request.url, headers)
        return self.cache[request.url]

    def _get(self, url, headers):
        self._wait()
        request = urllib.request.Request(url, headers={**headers, "User-Agent": self.agent})
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                return response.status, dict(response.headers), response.read()
        except urllib.error.HTTPError as exc:
            raise Unreachable(f"HTTP {exc.code}") from exc
        except (OSError, ValueError) as exc:
            reason = getattr(exc, "reason", None) or exc  # URLError wraps the socket's error
            text = getattr(reason, "strerror", None) or str(reason) or type(reason).__name__
            raise Unreachable(text) from exc


def spider_for(source, base_url=None, overrides=None):
    """The source's spider with the project settings (and `overrides`), without a store."""
    values = {k: getattr(project_settings, k) for k in dir(project_settings) if k.isupper()}
    values.update(overrides or {})
    # A bare crawler: no engine, no reactor, no store (from_crawler would open the store).
    crawler = Crawler(SPIDERS[source], Settings(values))
    crawler.stats = MemoryStatsCollector(crawler)
    spider = SPIDERS[source](base_url=base_url)
    spider.crawler, spider.settings = crawler, crawler.settings
    return spider


def response_for(request, status, headers, body):
    """A Scrapy response of the right type, carrying the request (and so its meta)."""
    headers = Headers(headers)
    cls = responsetypes.from_args(headers=headers, url=request.url, body=body)
    return cls(url=request.url, status=status, headers=headers, body=body, request=request)


def check_chain(spider, fetcher, request):
    """Fetch one chain's first listing page and first article; report what fits and what not."""
    report = ChainReport(request.meta["chain"])
    try:
        listing = response_for(request, *fetcher.get(request))
    except Unreachable as exc:
        report.problems.append(f"listing not reached ({exc}): {request.url}")
        return report
    found = list(request.callback(listing))
    articles = [r for r in found if isinstance(r, scrapy.Request)
                and r.callback == spider.parse_article]
    pages = [r for r in found if isinstance(r, scrapy.Request) and r not in articles]
    report.lines.append(f"listing reached ({listing.status}), {len(articles)} article links, "
                        + (f"next page {pages[0].meta['live_url']}" if pages
                           else "no next page (a one-page listing, or paging markup changed)"))
    if not articles:
        report.problems.append("no article links on the listing: its markup no longer matches")
        return report
    tried = []
    for article in articles[:ARTICLE_TRIES]:
        url = article.meta["canonical"]
        try:
            status, headers, body = fetcher.get(article)
        except Unreachable as exc:
            tried.append(f"{url} ({exc})")
            continue
        line, problems, empty = check_article(spider.name, url, body)
        report.lines.append(line)
        if empty and article is not articles[:ARTICLE_TRIES][-1]:
            continue  # an attachment-only notice has no text of its own: look at the next
        report.problems += problems
        return report
    report.problems.append("no article reached: " + "; ".join(tried))
    return report


def check_article(source, url, body):
    """(a line on what the site's markup gives of one article, problems, empty body?)

    A field found only by a fallback (metas, <title>, trafilatura) is a problem too: the
    site's own markup, which the extraction relies on first, no longer matches.
    """
    extracted = extract_article([(url, body)], source)
    hints = SITES[source]
    try:
        tree = lxml.html.document_fromstring(body)
    except (lxml.etree.ParserError, ValueError):
        tree = None
    parts, problems = [], []
    empty = False
    for label, xpaths, value in (("title", hints.titles, extracted.title),
                                 ("date", hints.bylines, extracted.published),
                                 ("body", hints.bodies, extracted.body)):
        matched = tree is not None and any(tree.xpath(x) for x in xpaths)
        if label == "body" and matched and not value:
            empty = True  # the text's container is there, with no text in it
            parts.append("body empty (attachments only?)")
            continue
        if not value:
            problems.append(f"{label}: nothing extracted from {url}")
        elif not matched:
            problems.append(f"{label}: the site's markup ({xpaths[0]}) matches nothing on "
                            f"{url}; found only by a fallback")
        if label == "body":
            parts.append(f"body {len(value):,} characters" if value else "body missing")
        else:
            parts.append(f"{label} {value!r}" if value else f"{label} missing")
    return f"article {url}: " + ", ".join(parts), problems, empty


def check_source(source, out, base_url=None, overrides=None):
    """Check one source, print its report to `out`; True when everything still fits."""
    spider = spider_for(source, base_url, overrides)
    fetcher = Fetcher(spider.settings)

    async def starts():
        return [request async for request in spider.start()]

    first = {}
    for request in asyncio.run(starts()):
        first.setdefault(request.meta["chain"], request)
    print(f"{source}{f' (at {base_url})' if base_url else ''}", file=out)
    problems = []
    for request in first.values():
        report = check_chain(spider, fetcher, request)
        print(f"  {report.chain}", file=out)
        for line in report.lines:
            print(f"    {line}", file=out)
        for problem in report.problems:
            print(f"    NO MATCH: {problem}", file=out)
        problems += [f"{report.chain}: {p}" for p in report.problems]
    if problems:
        print(f"  verdict: FAILED — {len(problems)} part(s) no longer match; "
              f"first: {problems[0]}", file=out)
    else:
        print(f"  verdict: OK — {len(first)} chains, listings, links and articles all match",
              file=out)
    return not problems


def check(config, out):
    """`scheduler.py --check`: every enabled source; 0 when all fit, else 1."""
    results = [check_source(s.name, out, s.base_url, s.settings) for s in config.enabled()]
    return 0 if all(results) else 1
