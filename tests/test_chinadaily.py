"""The chinadaily spider on the saved fixture pages: listings, search API, articles, errors."""

import asyncio
import json
import re
from pathlib import Path

import pytest
from scrapy.exceptions import DownloadTimeoutError, IgnoreRequest
from scrapy.http import HtmlResponse, Request, Response, TextResponse
from scrapy.spidermiddlewares.httperror import HttpError
from twisted.python.failure import Failure

from crawler import settings as project_settings
from crawler.items import AliasItem, ArticleItem
from crawler.spiders.base import REDIRECTS, Chain, Link
from crawler.spiders.chinadaily import ChinadailySpider
from store.articles import add_alias, upsert_article
from store.db import open_store
from store.runs import finish_run, start_run
from tests.conftest import spider_factory, spider_stats

FIXTURES = Path(__file__).parent / "fixtures" / "chinadaily"
SITE = FIXTURES / "site"
LIVE = "https://www.chinadaily.com.cn"
# Listings follow their redirects themselves (off-site ones are refused).
LISTING_REDIRECTS = {"redirects": 0, "dont_redirect": True, "handle_httpstatus_list": REDIRECTS}
MIRROR = "http://127.0.0.1:8999"
SEARCH = "https://newssearch.chinadaily.com.cn/rest/en/search"

# The fixture articles by name (tests/fixtures/chinadaily/articles.py), at their live paths.
P = {
    "seed": "/a/202103/26/WS605d0024a3102e9a24701b4c.html",
    "repub": "/a/202103/30/WS60628350a310a07b1e8f3dc5.html",
    "remain": "/a/202601/12/WS696433a4a3104fa76c52ca51.html",
    "hardtech": "/a/202405/20/WS664a8a88a3100bf996d5e106.html",
    "hardtech_2": "/a/202405/20/WS664a8a88a3100bf996d5e106_2.html",
    "policy": "/a/202207/14/WS62cfce2ca31034cb27ab3dbd.html",
    "park25": "/a/202211/08/WS6369bf28a310de404372821b.html",
    "biotech": "/a/202504/09/WS67f5aea8a310c622f3f650d2.html",
    "copy": "/a/202307/18/WS64b63d20a310e82610a9dced.html",
    "apartments": "/a/202302/21/WS63f460b0a3101bbc42626052.html",
    "shenzhen": "/a/202308/17/WS64dd561ca310f0d7ebd1aeae.html",
    "chip": "/a/202503/28/WS67e66e70a3108252c0b3d8c4.html",
    "economy": "/a/202407/16/WS6695c8e0a310186fa704da03.html",
    "sport": "/a/202504/13/WS67fbae48a310cc5ecb74aecb.html",
    "gov": "/a/202509/03/WS68b77678a31081fce7077b17.html",
    "t404": "/a/202506/02/WS683ce980a3104502d8249184.html",
    "t500": "/a/202409/10/WS66dfc0bca310d9bb98bb609d.html",
    "timeout": "/a/202305/06/WS6455b950a310941458ca5358.html",
    "video": "/a/202411/05/WS6729d080a3101f797b053451.html",
    "robots": "/private/a/202203/15/WS622fe510a310c927e4da78fd.html",
    "old_form": "/china/2019-01/12/content_37427031.htm",
}
EXPECTED = json.loads((FIXTURES / "expected.json").read_text(encoding="utf-8"))


def live(name):
    return LIVE + P[name]


@pytest.fixture
def make_spider(tmp_path, empty_store):
    return spider_factory(ChinadailySpider, MIRROR, tmp_path, empty_store)


@pytest.fixture
def spider(make_spider):
    return make_spider()


stats = spider_stats


def listing(spider, section, page_no, body=None):
    """The listing page `page_no` of `section`, as the spider's own request would fetch it."""
    name = "index.html" if page_no == 1 else f"page_{page_no}.html"
    live_url = LIVE + section + ("" if page_no == 1 else f"/page_{page_no}.html")
    request = spider.listing_request(live_url, section, page_no)
    if body is None:
        body = (SITE / section.lstrip("/") / name).read_bytes()
    return HtmlResponse(request.url, body=body, request=request)


def search(spider, page_no, body=None, words="Zhongguancun returnees"):
    request = spider.search_request(words, page_no)
    if body is None:
        body = (SITE / f"rest/en/search/page_{page_no}.json").read_bytes()
    return TextResponse(request.url, body=body, encoding="utf-8", request=request)


def article(spider, name, link=None, aliases=(), file=None):
    request = spider.article_request(live(name), link, aliases)
    body = (SITE / (file or P[name]).lstrip("/")).read_bytes()
    return HtmlResponse(request.url, body=body, request=request)


def canonicals(outputs, spider):
    """Canonical URLs of the article requests, in order, each once."""
    urls = [r.meta["canonical"] for r in outputs
            if isinstance(r, Request) and r.callback == spider.parse_article]
    return list(dict.fromkeys(urls))


def listing_requests(outputs, spider):
    return [r for r in outputs if isinstance(r, Request) and r.callback != spider.parse_article]


def failure(request, exc):
    fail = Failure(exc)
    fail.request = request
    return fail


# -- listings ---------------------------------------------------------------------------


SOCIETY = {
    # list items first (image-less items too), then the featured block; right column out
    1: ["remain", "t404", "sport", "video", "t500", "hardtech", "biotech", "copy", "shenzhen"],
    2: ["shenzhen", "copy", "timeout", "apartments"],
    3: ["policy", "robots", "repub", "seed", "old_form"],
}


@pytest.mark.parametrize(
    ("section", "page_no", "articles"),
    [
        ("/china/society", 1, SOCIETY[1]),
        ("/china/society", 2, SOCIETY[2]),
        ("/china/society", 3, SOCIETY[3]),
        ("/business/tech", 1, ["chip", "biotech", "economy", "hardtech", "remain"]),
        ("/china/governmentandpolicy", 1, ["gov", "economy", "copy", "policy"]),
    ],
)
def test_listing_article_links(spider, section, page_no, articles):
    outputs = list(spider.parse_listing(listing(spider, section, page_no)))
    assert canonicals(outputs, spider) == [live(name) for name in articles]


def test_listing_requests_go_to_the_mirror_with_their_link(spider):
    outputs = list(spider.parse_listing(listing(spider, "/china/society", 1)))
    first = outputs[0]
    assert (first.url, first.callback, first.errback) == (
        MIRROR + P["remain"], spider.parse_article, spider.article_failed)
    assert first.meta == {
        "canonical": live("remain"),
        "link": Link("//www.chinadaily.com.cn" + P["remain"],
                     "Returnee graduates line up for 'Remain in Zhongguancun' jobs",
                     "2026-01-12 07:35"),
        "aliases": [],
        "dont_redirect": True,
        "handle_httpstatus_list": [301, 302, 303, 307, 308],
    }


def test_list_items_give_headline_and_date(spider):
    links = spider._parse_links(listing(spider, "/china/society", 1))
    cd = "//www.chinadaily.com.cn"
    assert links[:7] == [
        # the headline holds <EM>…</EM>: its text is joined
        Link(cd + P["remain"], "Returnee graduates line up for 'Remain in Zhongguancun' jobs",
             "2026-01-12 07:35"),
        Link(cd + P["t404"], "Overseas talent parks report record applications",
             "2025-06-02 08:00"),
        Link(cd + P["sport"], "Beijing half marathon draws record field of 20,000 runners",
             "2025-04-13 20:30"),
        Link(cd + P["video"], "Video: Inside a Zhongguancun overseas talent pioneer park",
             "2024-11-05 16:00"),
        Link(cd + P["t500"], "Returnee-led labs open in Zhongguancun", "2024-09-10 11:45"),
        Link(cd + P["hardtech"], "Returnees power Zhongguancun's hard-tech push",
             "2024-05-20 07:26"),
        Link("//m.chinadaily.com.cn" + P["biotech"],
             "Haigui scientists bring drug discovery home to Zhongguancun", "2025-04-09 07:18"),
    ]
    headed = [link for link in links[7:] if link.title]
    assert headed == [
        Link(cd + P["remain"] + "?utm_source=twitter&utm_medium=social",
             "Returnee graduates line up for 'Remain in Zhongguancun' jobs"),
        Link(cd + P["hardtech"], "Returnees power Zhongguancun's hard-tech push"),
        Link(cd + P["copy"],
             "One-stop hub in Zhongguancun speeds up services for returnees and foreign experts"),
        Link(cd + P["shenzhen"], "Shenzhen's Qianhai woos returnees with start-up subsidies"),
        Link(cd + P["video"], "Video: Inside a Zhongguancun overseas talent pioneer park"),
    ]


@pytest.mark.parametrize("section", ["/china/society", "/business/tech"])
def test_featured_block_links_have_headlines(spider, section):
    assert [link for link in spider._parse_links(listing(spider, section, 1))
            if not link.title] == []


def test_each_story_is_requested_once_per_page(spider):
    outputs = list(spider.parse_listing(listing(spider, "/china/society", 1)))
    articles = [r.meta["canonical"] for r in outputs if r.callback == spider.parse_article]
    assert len(articles) == len(set(articles)) == 9


def test_pdf_on_a_listing_is_skipped_and_counted(spider):
    outputs = list(spider.parse_listing(listing(spider, "/business/tech", 1)))
    assert MIRROR + "/pdf/report.pdf" not in [r.url for r in outputs]
    assert stats(spider)["zgcwatch/skipped/attachment"] == 1


def test_unknown_layout_falls_back_to_article_links_outside_the_right_column(spider):
    body = (b'<html><body><div class="news"><a href="//www.chinadaily.com.cn' + P["gov"].encode()
            + b'">A</a> <a href="/china/society">Society</a></div><div class="mai_r">'
            b'<a href="//www.chinadaily.com.cn' + P["sport"].encode() + b'">B</a></div>'
            b"</body></html>")
    outputs = list(spider.parse_listing(listing(spider, "/china/society", 1, body)))
    assert canonicals(outputs, spider) == [live("gov")]
    assert "zgcwatch/layout/empty_listing" not in stats(spider)


def test_page_without_links_is_counted_as_a_layout_change(spider):
    body = b"<html><body><p>Under maintenance</p></body></html>"
    assert list(spider.parse_listing(listing(spider, "/china/society", 1, body))) == []
    assert stats(spider) == {"zgcwatch/layout/empty_listing": 1}


NEXT_LINK = re.compile(rb'<a href="[^"]*" class="pagestyle">Next</a>')


@pytest.mark.parametrize(
    ("section", "page_no", "strip_next", "expected"),
    [
        ("/china/society", 1, False, LIVE + "/china/society/page_2.html"),
        # page 2 has a "Previous" link of the same class before "Next": the text decides
        ("/china/society", 2, False, LIVE + "/china/society/page_3.html"),
        ("/china/society", 3, False, None),
        ("/business/tech", 1, False, None),
        ("/china/governmentandpolicy", 1, False, None),
        # no "Next" link: the `k/N` counter of div.selectpage gives page k+1
        ("/china/society", 1, True, LIVE + "/china/society/page_2.html"),
        ("/china/society", 2, True, LIVE + "/china/society/page_3.html"),
        ("/china/society", 3, True, None),
    ],
)
def test_next_page(spider, section, page_no, strip_next, expected):
    name = "index.html" if page_no == 1 else f"page_{page_no}.html"
    body = (SITE / section.lstrip("/") / name).read_bytes()
    if strip_next:
        body = NEXT_LINK.sub(b"", body)
        assert b">Next<" not in body
    assert spider._parse_next(listing(spider, section, page_no, body)) == expected


def test_listing_page_requests_the_next_page(spider):
    outputs = list(spider.parse_listing(listing(spider, "/china/society", 1)))
    [next_page] = listing_requests(outputs, spider)
    assert (next_page.url, next_page.callback, next_page.errback, next_page.dont_filter,
            next_page.priority) == (MIRROR + "/china/society/page_2.html", spider.parse_listing,
                                    spider.listing_failed, True, 10)
    assert next_page.meta == {"chain": "/china/society", "page_no": 2,
                              "live_url": LIVE + "/china/society/page_2.html",
                              **LISTING_REDIRECTS}
    assert spider.chains["/china/society"] == Chain(
        "/china/society", visited={LIVE + "/china/society"})
    assert spider.listing_complete is False


def test_last_page_ends_the_chain_complete(spider):
    outputs = list(spider.parse_listing(listing(spider, "/china/governmentandpolicy", 1)))
    assert listing_requests(outputs, spider) == []
    assert spider.chains["/china/governmentandpolicy"] == Chain(
        "/china/governmentandpolicy", done=True, complete=True,
        visited={LIVE + "/china/governmentandpolicy"})
    assert spider.listing_complete is True


def test_default_sections_each_have_a_fixture_listing(make_spider):
    defaults = {k: v for k, v in vars(project_settings).items() if k.isupper()}
    spider = make_spider(**defaults)

    async def collect():
        return [r async for r in spider.start()]

    requests = asyncio.run(collect())
    sections = ["/china/governmentandpolicy", "/china/society", "/business/tech"]
    assert [(r.url, r.meta["chain"], r.meta["page_no"], r.callback) for r in requests] == [
        *[(MIRROR + s, s, 1, spider.parse_listing) for s in sections],
        (MIRROR + "/rest/en/search?keywords=Zhongguancun+returnees&sort=dp&page=0&curType=story",
         "search:Zhongguancun returnees", 1, spider.parse_search),
        (MIRROR + "/rest/en/search?keywords=Zhongguancun+overseas+talent&sort=dp&page=0"
         "&curType=story", "search:Zhongguancun overseas talent", 1, spider.parse_search),
    ]
    for section in sections:
        assert (SITE / section.lstrip("/") / "index.html").is_file(), section
        assert EXPECTED["listings"][section][0] == section


# -- incremental crawling ----------------------------------------------------------------


def test_known_articles_are_not_requested(spider):
    spider.known = {live("remain"), live("hardtech"), live("biotech")}
    outputs = list(spider.parse_listing(listing(spider, "/china/society", 1)))
    assert canonicals(outputs, spider) == [live(n) for n in
                                           ["t404", "sport", "video", "t500", "copy", "shenzhen"]]
    assert len(listing_requests(outputs, spider)) == 1


@pytest.mark.parametrize(
    ("stop_early", "next_pages"),
    [(True, []), (False, [MIRROR + "/china/society/page_3.html"])],
)
def test_page_with_nothing_new(spider, stop_early, next_pages):
    spider.known = {live(n) for n in ["shenzhen", "copy", "timeout", "apartments"]}
    spider.stop_early = stop_early
    outputs = list(spider.parse_listing(listing(spider, "/china/society", 2)))
    assert [r.url for r in outputs] == next_pages
    assert spider.chains["/china/society"].complete is stop_early
    assert stats(spider) == {"zgcwatch/listing/links": 4, "zgcwatch/skipped/known": 4}


def test_stop_early_goes_on_while_pages_bring_something_new(spider):
    spider.known = {live("shenzhen"), live("copy")}
    spider.stop_early = True
    outputs = list(spider.parse_listing(listing(spider, "/china/society", 2)))
    assert canonicals(outputs, spider) == [live("timeout"), live("apartments")]
    assert [r.url for r in listing_requests(outputs, spider)] == [
        MIRROR + "/china/society/page_3.html"]


@pytest.mark.parametrize(("max_pages", "page_no"), [(1, 1), (2, 2), ("0", 1)])
def test_max_pages_ends_the_chain(make_spider, max_pages, page_no):
    spider = make_spider(ZGCWATCH_MAX_PAGES=max_pages)
    outputs = list(spider.parse_listing(listing(spider, "/china/society", page_no)))
    assert listing_requests(outputs, spider) == []
    assert canonicals(outputs, spider) == [live(name) for name in SOCIETY[page_no]]
    assert (spider.max_pages, spider.chains["/china/society"].complete) == (
        max(1, int(max_pages)), True)


def test_state_is_read_from_the_store(tmp_path, make_spider):
    db = open_store(tmp_path / "zgcwatch.db")
    complete = {"title": "T", "published": "2024-05-20", "body": "B"}  # else fetched again
    article_id, _ = upsert_article(db, {"url": live("policy"), "source": "chinadaily",
                                        **complete})
    add_alias(db, LIVE + P["old_form"], article_id, "redirect")
    upsert_article(db, {"url": "https://zgcgw.beijing.gov.cn/zgc/yw/gzdt/1/index.html",
                        "source": "zgcgw", **complete})
    finish_run(db, start_run(db, "chinadaily"), "ok", listing_complete=True)
    db.conn.close()
    spider = make_spider()
    assert (spider.known, spider.stop_early, spider.max_pages) == (
        {live("policy"), LIVE + P["old_form"]}, True, 5)


def test_fresh_store_means_nothing_known_and_no_early_stop(spider):
    assert (spider.known, spider.stop_early, spider.allowed_domains) == (set(), False,
                                                                         ["127.0.0.1"])


# -- search API --------------------------------------------------------------------------


def test_search_page_one(spider):
    outputs = list(spider.parse_search(search(spider, 1)))
    assert canonicals(outputs, spider) == [live(n) for n in
                                           ["remain", "biotech", "hardtech", "copy"]]
    assert outputs[0].meta["link"] == Link(
        "//www.chinadaily.com.cn" + P["remain"],
        "Returnee graduates line up for 'Remain in Zhongguancun' jobs", "2026-01-12 07:35")
    [next_page] = listing_requests(outputs, spider)
    query = "?keywords=Zhongguancun+returnees&sort=dp&page=1&curType=story"
    assert (next_page.url, next_page.callback) == (MIRROR + "/rest/en/search" + query,
                                                   spider.parse_search)
    assert next_page.meta == {"chain": "search:Zhongguancun returnees", "page_no": 2,
                              "live_url": SEARCH + query, **LISTING_REDIRECTS}


def test_search_last_page_ends_the_chain(spider):
    outputs = list(spider.parse_search(search(spider, 2)))
    assert canonicals(outputs, spider) == [live(n) for n in ["park25", "policy", "repub", "seed"]]
    assert listing_requests(outputs, spider) == []
    assert spider.chains["search:Zhongguancun returnees"].complete is True


def test_search_past_the_end_code_400(spider):
    assert json.loads((SITE / "rest/en/search/page_3.json").read_text())["code"] == 400
    assert list(spider.parse_search(search(spider, 3))) == []
    chain = spider.chains["search:Zhongguancun returnees"]
    assert (chain.done, chain.complete, stats(spider)) == (True, True, {})


@pytest.mark.parametrize("body", [b"<html><body>502 Bad Gateway</body></html>", b'{"content": [',
                                  b""])
def test_search_malformed_json_is_an_error(spider, body):
    assert list(spider.parse_search(search(spider, 2, body))) == []
    chain = spider.chains["search:Zhongguancun returnees"]
    assert (chain.done, chain.complete) == (True, False)
    assert stats(spider) == {"zgcwatch/errors/bad_json": 1, "zgcwatch/errors": 1}
    assert spider.listing_complete is False


HIT = {"url": "//www.chinadaily.com.cn" + P["gov"], "title": "T", "pubDateStr": "2025-09-03"}


@pytest.mark.parametrize(
    ("data", "page_no", "articles", "next_page"),
    [
        ({"content": [HIT], "totalPages": 3}, 2, ["gov"], 3),
        ({"content": [HIT]}, 4, ["gov"], 5),  # no page count: go on while pages have hits
        ({"content": [HIT], "totalPages": 1}, 1, ["gov"], None),
        ({"content": [{"shareUrl": "https://www.chinadaily.com.cn" + P["seed"]}, {"title": "x"},
                      "junk"], "totalPages": 2}, 1, ["seed"], 2),
        ({"content": [], "totalPages": 9}, 1, [], None),
        ({"content": None}, 1, [], None),
        ([HIT], 1, [], None),
    ],
)
def test_search_results_and_paging(spider, data, page_no, articles, next_page):
    body = json.dumps(data).encode()
    outputs = list(spider.parse_search(search(spider, page_no, body)))
    assert canonicals(outputs, spider) == [live(n) for n in articles]
    assert [r.meta["page_no"] for r in listing_requests(outputs, spider)] == (
        [next_page] if next_page else [])


# -- articles ----------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["policy", "seed", "apartments", "video", "gov"])
def test_one_page_article_becomes_one_item(spider, name):
    link = Link("//www.chinadaily.com.cn" + P[name], "Listing headline", "2022-07-14 16:05")
    response = article(spider, name, link)
    assert list(spider.parse_article(response)) == [ArticleItem(
        url=live(name), source="chinadaily",
        pages=[(MIRROR + P[name], "utf-8", (SITE / P[name].lstrip("/")).read_bytes())],
        listing_title="Listing headline", listing_date="2022-07-14 16:05")]


@pytest.mark.parametrize(
    ("name", "file", "pages"),
    [
        ("hardtech", P["hardtech"], ["//www.chinadaily.com.cn" + P["hardtech_2"]]),
        ("hardtech", P["hardtech_2"], []),  # page 2 links back to page 1 only
        ("policy", P["policy"], []),
        ("video", P["video"], []),
    ],
)
def test_extra_pages(spider, name, file, pages):
    assert spider.extra_pages(article(spider, name, file=file), live(name)) == pages


def test_two_page_story_is_joined(spider):
    first = article(spider, "hardtech")
    [page_two] = list(spider.parse_article(first))
    assert (page_two.url, page_two.callback, page_two.errback) == (
        MIRROR + P["hardtech_2"], spider.parse_more, spider.page_failed)
    assert page_two.meta["remaining"] == []
    response = HtmlResponse(page_two.url, body=(SITE / P["hardtech_2"].lstrip("/")).read_bytes(),
                            request=page_two)
    assert list(spider.parse_more(response)) == [ArticleItem(
        url=live("hardtech"), source="chinadaily",
        pages=[(MIRROR + P["hardtech"], "utf-8", first.body),
               (MIRROR + P["hardtech_2"], "utf-8", response.body)],
        listing_title=None, listing_date=None)]


def test_failed_later_page_keeps_the_first_and_counts_the_missing(spider):
    first = article(spider, "hardtech")
    item = ArticleItem(url=live("hardtech"), source="chinadaily",
                       pages=[(first.url, "utf-8", first.body)])
    request = spider.page_request(item, [MIRROR + P["hardtech_2"],
                                         MIRROR + P["hardtech_2"].replace("_2", "_3")])
    error = HttpError(Response(request.url, status=500, request=request))
    assert spider.page_failed(failure(request, error)) == [ArticleItem(
        url=live("hardtech"), source="chinadaily", pages=[(first.url, "utf-8", first.body)],
        missing_pages=2)]
    assert stats(spider) == {"zgcwatch/errors/http_500": 1, "zgcwatch/errors": 1}


def redirect(spider, location, name="old_form", link=None):
    request = spider.article_request(LIVE + P[name], link)
    headers = {"Location": location} if location is not None else {}
    return Response(request.url, status=301, headers=headers, request=request)


@pytest.mark.parametrize("location", [MIRROR + P["policy"], P["policy"],
                                      "https://www.chinadaily.com.cn" + P["policy"] + "?from=x"])
def test_redirect_yields_alias_and_requests_the_target(spider, location):
    link = Link("//www.chinadaily.com.cn" + P["old_form"], "Old headline", "2022-07-14 16:05")
    outputs = list(spider.parse_article(redirect(spider, location, link=link)))
    assert outputs[0] == AliasItem(url=LIVE + P["old_form"], target=live("policy"))
    target = outputs[1]
    assert (len(outputs), target.url, target.callback) == (2, MIRROR + P["policy"],
                                                           spider.parse_article)
    assert (target.meta["canonical"], target.meta["link"], target.meta["aliases"]) == (
        live("policy"), link, [LIVE + P["old_form"]])
    assert stats(spider) == {"zgcwatch/redirects": 1}


def test_redirect_to_a_known_article_yields_only_the_alias(spider):
    spider.known = {live("policy")}
    assert list(spider.parse_article(redirect(spider, MIRROR + P["policy"]))) == [
        AliasItem(url=LIVE + P["old_form"], target=live("policy"))]


@pytest.mark.parametrize(
    ("location", "stat"),
    [
        (None, {"zgcwatch/errors/redirect_without_location": 1, "zgcwatch/errors": 1}),
        ("/china/society", {}),  # leaves the article pages: not followed
        ("https://www.chinadailyhk.com" + P["policy"], {}),
    ],
)
def test_redirect_not_followed(spider, location, stat):
    assert list(spider.parse_article(redirect(spider, location))) == []
    assert stats(spider) == stat


def test_non_html_response_is_skipped_and_counted(spider):
    request = spider.article_request(live("policy"))
    response = Response(request.url, body=(SITE / "pdf/report.pdf").read_bytes(),
                        headers={"Content-Type": "application/pdf"}, request=request)
    assert list(spider.parse_article(response)) == []
    assert stats(spider) == {"zgcwatch/skipped/not_html": 1}


@pytest.mark.parametrize(
    ("error", "stat"),
    [
        (lambda r: HttpError(Response(r.url, status=404, request=r)),
         {"zgcwatch/errors/http_404": 1, "zgcwatch/errors": 1}),
        (lambda r: DownloadTimeoutError("took longer than 2 seconds"),
         {"zgcwatch/errors/DownloadTimeoutError": 1, "zgcwatch/errors": 1}),
        (lambda r: IgnoreRequest("Forbidden by robots.txt"), {"zgcwatch/skipped/ignored": 1}),
    ],
)
def test_failed_article_is_counted_by_kind(spider, error, stat):
    request = spider.article_request(live("t404"))
    assert spider.article_failed(failure(request, error(request))) is None
    assert stats(spider) == stat


def test_failed_listing_leaves_its_chain_incomplete(spider):
    spider.listing_request(LIVE + "/business/tech", "/business/tech", 1)
    request = spider.listing_request(LIVE + "/china/society", "/china/society", 1)
    spider.chains["/business/tech"].done = spider.chains["/business/tech"].complete = True
    error = HttpError(Response(request.url, status=503, request=request))
    spider.listing_failed(failure(request, error))
    assert spider.chains["/china/society"] == Chain("/china/society", done=True, complete=False)
    assert spider.listing_complete is False
    assert stats(spider) == {"zgcwatch/errors/http_503": 1, "zgcwatch/errors": 1,
                             "zgcwatch/listing/failed/http_503": 1}


def test_search_requests_carry_the_search_page_as_referer(spider):
    request = search(spider, 2).request
    assert request.headers["Referer"] == \
        (MIRROR + "/en/search?keywords=Zhongguancun+returnees").encode()
