"""China Daily (English): section listings, the keyword search API, split articles."""

import json
import re
from urllib.parse import urlencode

from crawler.spiders.base import Link, MonitorSpider, listing_page

LIVE = "https://www.chinadaily.com.cn"
SEARCH = "https://newssearch.chinadaily.com.cn/rest/en/search"
SEARCH_PAGE = "https://newssearch.chinadaily.com.cn/en/search"  # the page that calls the API
PAGE_NO = re.compile(r"(\d+)\s*/\s*(\d+)")


class ChinadailySpider(MonitorSpider):
    """Watch China Daily sections and search results for new articles."""

    name = "chinadaily"

    async def start(self):
        """One chain per configured section and per search query."""
        settings = self.crawler.settings
        for section in settings.getlist("ZGCWATCH_CHINADAILY_SECTIONS"):
            section = "/" + section.strip().strip("/")
            yield self.listing_request(LIVE + section, section, 1)
        for words in settings.getlist("ZGCWATCH_CHINADAILY_SEARCH"):
            yield self.search_request(words, 1)

    @listing_page
    def parse_search(self, response):
        """A page of search API results (JSON), then the next page."""
        try:
            data = json.loads(response.text)
        except ValueError:
            self.count_error("bad_json", response.url, "search")
            self.chains[response.meta["chain"]].done = True
            return
        content = (data.get("content") or []) if isinstance(data, dict) else []
        links = [
            Link(entry.get("url") or entry.get("shareUrl"), entry.get("title"),
                 entry.get("pubDateStr"))
            for entry in content
            if isinstance(entry, dict) and (entry.get("url") or entry.get("shareUrl"))
        ]
        requests, new, _ = self.follow_links(response, links)
        yield from requests
        page_no = response.meta["page_no"]
        total = data.get("totalPages") if isinstance(data, dict) else None
        more = bool(links) and (not isinstance(total, int) or page_no < total)
        words = response.meta["chain"].removeprefix("search:")
        next_url = self._search_url(words, page_no + 1) if more else None
        if self.goes_on(response, new, next_url):
            yield self.search_request(words, page_no + 1)

    def extra_pages(self, response, canonical):
        """Pages 2..N of a split story, linked from div#div_currpage as WS<id>_N.html."""
        if b"div_currpage" not in response.body:
            return []  # most stories are one page: spare the reactor thread an HTML parse
        stem = canonical.rsplit("/", 1)[-1].removesuffix(".html")
        pattern = re.compile(re.escape(stem) + r"_(\d+)\.html$")
        pages = {}
        for href in response.css("#div_currpage a::attr(href)").getall():
            match = pattern.search(href.split("?")[0])
            if match and int(match[1]) >= 2:
                pages[int(match[1])] = href
        return [pages[n] for n in sorted(pages)]

    def _parse_links(self, response):
        """Article links of the section list and its featured block, not of the sidebar."""
        links = []
        for item in response.css("div.tw3_01_2"):
            anchor = item.css("h4 a") or item.css("a")
            if anchor:
                links.append(Link(anchor[0].attrib.get("href", ""),
                                  self._text(anchor[0]), item.css("b::text").get()))
        for anchor in response.css("div.tw2 a[href]"):
            if self._text(anchor):  # the picture link repeats the headline link beside it
                links.append(Link(anchor.attrib["href"], self._text(anchor)))
        if not links:  # unknown layout: any article-shaped link outside the right column
            for anchor in response.xpath(
                '//a[@href][not(ancestor::div[contains(@class, "mai_r")])]'
            ):
                links.append(Link(anchor.attrib["href"], self._text(anchor)))
        return links

    def _parse_next(self, response):
        """The next listing page: the 'Next' link, else page_N+1 from the `k/N` counter."""
        for anchor in response.css("#div_currpage a"):
            if "next" in self._text(anchor).lower() and anchor.attrib.get("href"):
                return self.sites.live_url(anchor.attrib["href"], response.meta["live_url"])
        counter = PAGE_NO.search(" ".join(response.css("div.selectpage .pageno::text").getall()))
        if counter and int(counter[1]) < int(counter[2]):
            section = response.meta["chain"]
            return f"{LIVE}{section}/page_{int(counter[1]) + 1}.html"
        return None

    def search_request(self, words, page_no):
        """Page `page_no` (1, 2, ...) of the search API's results for `words`."""
        request = self.listing_request(self._search_url(words, page_no), f"search:{words}",
                                       page_no, callback=self.parse_search)
        # Public clients report that the API answers only calls from its own search page.
        referer = self.sites.fetch_url(f"{SEARCH_PAGE}?{urlencode({'keywords': words})}")
        request.headers["Referer"] = referer
        return request

    @staticmethod
    def _search_url(words, page_no):
        """The search API URL of result page `page_no` (1-based) for `words`, newest first.

        The API numbers its pages from 0, as public clients of it do.
        """
        query = {"keywords": words, "sort": "dp", "page": page_no - 1, "curType": "story"}
        return f"{SEARCH}?{urlencode(query)}"

    @staticmethod
    def _text(selector):
        """All text inside an element (headlines may hold <em>), spaces folded."""
        return " ".join("".join(selector.css("::text").getall()).split())
