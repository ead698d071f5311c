"""Zhongguancun administration (EasySite CMS, Chinese and English): columns and paging."""

import re

from crawler.spiders.base import Link, MonitorSpider

LIVE = "https://zgcgw.beijing.gov.cn"
NEXT_LABELS = ("下一页", "next")


class ZgcgwSpider(MonitorSpider):
    """Watch the administration's news, notice and English columns for new articles."""

    name = "zgcgw"

    async def start(self):
        """One chain per configured column."""
        for column in self.crawler.settings.getlist("ZGCWATCH_ZGCGW_COLUMNS"):
            column = "/" + column.strip().lstrip("/")
            yield self.listing_request(LIVE + column, column, 1)

    def _parse_links(self, response):
        """Items of the EasySite list: the full title is in `title`, the text may be cut."""
        links = []
        for item in response.css("div.w_ul_list li, #wuhang li"):
            anchor = item.css("span.fl a[href]") or item.css("a[href]")
            if anchor:
                title = anchor[0].attrib.get("title") or " ".join(
                    "".join(anchor[0].css("::text").getall()).split())
                links.append(Link(anchor[0].attrib["href"], title,
                                  item.css("span.fr::text").get()))
        if not links:  # unknown layout: any article-shaped link on the page
            links = [Link(href) for href in response.css("a::attr(href)").getall()]
        return links

    def _parse_next(self, response):
        """The next page: paging links keep their URL in `tagname`, not in `href`.

        EasySite keeps a 下一页 link on the last page, pointing at itself or page 1, so the
        `totalpage` counter decides when the column ends.
        """
        total = response.css('input[name="article_paging_list_hidden"]::attr(totalpage)').get()
        page_no = response.meta["page_no"]
        if total and total.strip().isdigit() and page_no >= int(total):
            return None
        for anchor in response.css("a[tagname]"):
            label = "".join(anchor.css("::text").getall()).strip().lower()
            if any(word in label for word in NEXT_LABELS):
                return self.sites.live_url(anchor.attrib["tagname"], response.meta["live_url"])
        tagnames = response.css("a[tagname]::attr(tagname)").getall()
        numbered = [t for t in tagnames if re.search(r"-\d+\.html$", t)]
        if total and numbered:  # no labelled link: build <column>/<list-id>-<N+1>.html
            pattern = re.sub(r"-\d+\.html$", f"-{page_no + 1}.html", numbered[0])
            return self.sites.live_url(pattern, response.meta["live_url"])
        return None
