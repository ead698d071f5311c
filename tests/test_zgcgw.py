"""The zgcgw spider on the saved EasySite pages: columns, tagname paging, GBK, articles."""

import asyncio
import re
from pathlib import Path

import pytest
from scrapy.http import HtmlResponse, Request, Response
from scrapy.spidermiddlewares.httperror import HttpError
from twisted.python.failure import Failure

from crawler import settings as project_settings
from crawler.items import AliasItem, ArticleItem
from crawler.spiders.base import REDIRECTS, Chain, Link
from crawler.spiders.zgcgw import ZgcgwSpider
from tests.conftest import spider_factory, spider_stats

SITE = Path(__file__).parent / "fixtures" / "zgcgw" / "site"
LIVE = "https://zgcgw.beijing.gov.cn"
OLD = "http://www.zgc.gov.cn"
MIRROR = "http://127.0.0.1:8998"
GZDT, TZGG, ENGLISH = "/zgc/yw/gzdt/index.html", "/zgc/zwgk/tzgg/index.html", \
    "/zgc/english/news/index.html"
PAGES = {(GZDT, 1): GZDT, (GZDT, 2): "/zgc/yw/gzdt/10870019-2.html",
         (GZDT, 3): "/zgc/yw/gzdt/10870019-3.html", (TZGG, 1): TZGG, (ENGLISH, 1): ENGLISH}

# The fixture articles by name (tests/fixtures/zgcgw/articles.py), at their live paths.
P = {
    "station": "/zgc/yw/gzdt/10876009/index.html",  # GBK
    "forum": "/zgc/yw/gzdt/10875102/index.html",
    "repub": "/zgc/yw/gzdt/10873671/index.html",
    "missing": "/zgc/yw/gzdt/10873999/index.html",  # 404
    "park": "/zgc/yw/gzdt/10873644/index.html",  # GBK, linked on the old domain
    "shenzhen": "/zgc/yw/gzdt/10873105/index.html",  # GBK
    "contest": "/zgc/yw/gzdt/10872688/index.html",
    "recruit": "/zgc/yw/gzdt/10871532/index.html",  # GBK, on the GBK listing page 3
    "recruit_form": "/zgc/yw/gzdt/10871532/2022061509302efc9ad.doc",
    "empty": "/zgc/zwgk/tzgg/10876120/index.html",
    "stats": "/zgc/zwgk/tzgg/10875230/index.html",
    "stats_pdf": "/zgc/zwgk/tzgg/10875230/2025031010008a050e2.pdf",
    "stats_doc": "/zgc/zwgk/tzgg/10875230/2025031010006c8f1aa.doc",
    "address": "/zgc/zwgk/tzgg/10874512/index.html",
    "e_ic": "/zgc/english/news/10875413/index.html",
    "e_park": "/zgc/english/news/10874230/index.html",
    "e_center": "/zgc/english/news/10872790/index.html",
}


def live(name):
    return LIVE + P[name]


@pytest.fixture
def make_spider(tmp_path, empty_store):
    return spider_factory(ZgcgwSpider, MIRROR, tmp_path, empty_store)


@pytest.fixture
def spider(make_spider):
    return make_spider()


stats = spider_stats


def listing(spider, column, page_no, body=None):
    """Page `page_no` of `column`, as the spider's own request would fetch it."""
    path = PAGES[column, page_no]
    request = spider.listing_request(LIVE + path, column, page_no)
    body = (SITE / path.lstrip("/")).read_bytes() if body is None else body
    return HtmlResponse(request.url, body=body, request=request)


def article(spider, name, link=None):
    request = spider.article_request(live(name), link)
    return HtmlResponse(request.url, body=(SITE / P[name].lstrip("/")).read_bytes(),
                        request=request)


def canonicals(outputs, spider):
    return [r.meta["canonical"] for r in outputs
            if isinstance(r, Request) and r.callback == spider.parse_article]


def listing_requests(outputs, spider):
    return [r for r in outputs if isinstance(r, Request) and r.callback != spider.parse_article]


# -- listings ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("column", "page_no", "links"),
    [
        (GZDT, 1, [
            Link(P["station"], "中关村软件园海外高层次人才服务站揭牌运行", "2025-11-18"),
            Link(P["forum"], "2025中关村论坛人工智能芯片分论坛举行", "2025-04-22"),
            # link text cut with …: the title attribute holds the whole headline
            Link(P["repub"], "归国人才创业热情高涨 中关村留创园前四月迎来42家新企业", "2024-05-23"),
            Link(P["missing"], "中关村海外人才创业园2023年度工作总结", "2024-03-01"),
        ]),
        (GZDT, 2, [
            Link(OLD + P["park"], "中关村留学人员创业园今年新增入驻企业42家", "2024-05-20"),
            Link(P["shenzhen"], "深圳前海：海归创业扶持政策再升级 最高可获100万元资助",
                 "2023-12-06"),
            Link(P["contest"], "第八届中关村海外人才创新创业大赛总决赛落幕", "2023-09-08"),
        ]),
        (GZDT, 3, [  # a GBK page: the Chinese must come out right
            Link(P["recruit"], "“留在中关村”海外学子专场招聘会在中关村留学人员海淀创业园举办",
                 "2022-06-15"),
            Link(P["recruit_form"], "“留在中关村”专场招聘会企业岗位信息表.doc", "2022-06-15"),
        ]),
        (TZGG, 1, [
            Link(P["empty"], "关于公布2025年度中关村留学人员创业园认定结果的通知", "2025-12-01"),
            Link(OLD + P["stats"], "关于开展2025年度中关村示范区企业统计报表填报工作的通知",
                 "2025-03-10"),
            Link(P["stats_pdf"], "2025年度中关村示范区企业统计报表填报说明.pdf", "2025-03-10"),
            Link(P["stats_doc"], "企业统计报表联系人信息表.doc", "2025-03-10"),
            Link(P["address"], "关于中关村管委会政务服务大厅办公地址变更的通知", "2024-08-26"),
        ]),
        (ENGLISH, 1, [
            Link(P["e_ic"], "Zhongguancun IC design park brings new computing center online",
                 "2025-06-19"),
            Link(OLD + P["e_park"],
                 "Haidian pioneer park for returned overseas students welcomes 36 start-ups",
                 "2024-10-15"),
            Link(P["e_center"], "Zhongguancun opens one-stop service center for overseas talent",
                 "2023-07-12"),
        ]),
    ],
)
def test_listing_links(spider, column, page_no, links):
    assert spider._parse_links(listing(spider, column, page_no)) == links


@pytest.mark.parametrize(
    ("column", "page_no", "title", "shown"),
    [
        (GZDT, 1, "归国人才创业热情高涨 中关村留创园前四月迎来42家新企业",
         "归国人才创业热情高涨 中关村留创园前四月迎…"),
        (GZDT, 3, "“留在中关村”海外学子专场招聘会在中关村留学人员海淀创业园举办",
         "“留在中关村”海外学子专场招聘会在中关村留…"),
        (ENGLISH, 1, "Haidian pioneer park for returned overseas students welcomes 36 start-ups",
         "Haidian pioneer park for returned overseas students welcome…"),
    ],
)
def test_cut_headlines_are_taken_from_title(spider, column, page_no, title, shown):
    response = listing(spider, column, page_no)
    assert response.css(f'#wuhang a[title="{title}"]::text').get() == shown
    assert title in [link.title for link in spider._parse_links(response)]


def test_without_title_attribute_the_link_text_is_used(spider):
    body = re.sub(rb' title="[^"]*"', b"", (SITE / GZDT.lstrip("/")).read_bytes())
    links = spider._parse_links(listing(spider, GZDT, 1, body))
    assert [link.title for link in links] == [
        "中关村软件园海外高层次人才服务站揭牌运行", "2025中关村论坛人工智能芯片分论坛举行",
        "归国人才创业热情高涨 中关村留创园前四月迎…", "中关村海外人才创业园2023年度工作总结"]


@pytest.mark.parametrize(
    ("column", "page_no", "articles", "attachments"),
    [
        (GZDT, 1, ["station", "forum", "repub", "missing"], 0),
        (GZDT, 2, ["park", "shenzhen", "contest"], 0),  # old-domain link: the new domain
        (GZDT, 3, ["recruit"], 1),
        (TZGG, 1, ["empty", "stats", "address"], 2),
        (ENGLISH, 1, ["e_ic", "e_park", "e_center"], 0),
    ],
)
def test_listing_requests_new_articles_only(spider, column, page_no, articles, attachments):
    outputs = list(spider.parse_listing(listing(spider, column, page_no)))
    assert canonicals(outputs, spider) == [live(name) for name in articles]
    assert [r.url for r in outputs if r.callback == spider.parse_article] == [
        MIRROR + P[name] for name in articles]
    assert stats(spider).get("zgcwatch/skipped/attachment", 0) == attachments


def test_article_request_carries_its_link(spider):
    outputs = list(spider.parse_listing(listing(spider, GZDT, 2)))
    assert outputs[0].meta == {
        "canonical": live("park"),
        "link": Link(OLD + P["park"], "中关村留学人员创业园今年新增入驻企业42家", "2024-05-20"),
        "aliases": [],
        "dont_redirect": True,
        "handle_httpstatus_list": [301, 302, 303, 307, 308],
    }


def test_gbk_listing_page_is_decoded_by_its_meta_charset(spider):
    raw = (SITE / PAGES[GZDT, 3].lstrip("/")).read_bytes()
    assert b"charset=gb2312" in raw and "中关村".encode("gbk") in raw
    response = listing(spider, GZDT, 3)
    assert response.encoding == "gb18030"  # w3lib reads gb2312 as its superset
    assert response.css("div.w_list_tit::text").get() == "工作动态"


def test_unknown_layout_falls_back_to_any_article_link(spider):
    body = ('<html><body><a href="/zgc/yw/gzdt/10876009/index.html">新闻</a>'
            '<a href="/zgc/yw/gzdt/index.html">工作动态</a><a href="javascript:void(0)">x</a>'
            "</body></html>").encode()
    outputs = list(spider.parse_listing(listing(spider, GZDT, 1, body)))
    assert canonicals(outputs, spider) == [live("station")]
    assert stats(spider) == {"zgcwatch/listing/links": 1}


def test_page_without_links_is_counted_as_a_layout_change(spider):
    body = "<html><body><p>系统维护中</p></body></html>".encode()
    assert list(spider.parse_listing(listing(spider, GZDT, 1, body))) == []
    assert stats(spider) == {"zgcwatch/layout/empty_listing": 1}


# -- paging -------------------------------------------------------------------------------


def drop_total(body):
    return re.sub(rb'\s*<input name="article_paging_list_hidden"[^>]*>', b"", body)


def set_tag(label, tag):
    """Point the paging link labelled `label` at `tag`."""
    def edit(body):
        pattern = rb'tagname="[^"]*"( onclick="[^"]*">' + re.escape(label) + rb"</a>)"
        return re.sub(pattern, b'tagname="' + tag + rb'"\1', body)
    return edit


def relabel(body):
    """Paging links without words: only their tagname URLs are left to go on."""
    for word in ("首页", "上一页", "下一页", "尾页"):
        body = body.replace(f">{word}<".encode(), b">&gt;<")
    return body


def same(body):
    return body


@pytest.mark.parametrize(
    ("column", "page_no", "edit", "expected"),
    [
        (GZDT, 1, same, LIVE + "/zgc/yw/gzdt/10870019-2.html"),
        (GZDT, 2, same, LIVE + "/zgc/yw/gzdt/10870019-3.html"),
        # last page: 下一页 points at the page itself, totalpage says it is the last
        (GZDT, 3, same, None),
        (TZGG, 1, same, None),
        (ENGLISH, 1, same, None),
        # no totalpage: the tagname decides, even when it points back at the page itself
        (GZDT, 1, drop_total, LIVE + "/zgc/yw/gzdt/10870019-2.html"),
        (GZDT, 3, drop_total, LIVE + "/zgc/yw/gzdt/10870019-3.html"),
        (ENGLISH, 1, drop_total, LIVE + ENGLISH),
        # English labels: "Next"
        (ENGLISH, 1, lambda b: set_tag(b"Next", b"/zgc/english/news/10870025-2.html")(
            b.replace(b'totalpage="1"', b'totalpage="2"')),
         LIVE + "/zgc/english/news/10870025-2.html"),
        # no labels: <column>/<list-id>-<N+1>.html built from a numbered tagname
        (GZDT, 1, relabel, LIVE + "/zgc/yw/gzdt/10870019-2.html"),
        (GZDT, 2, relabel, LIVE + "/zgc/yw/gzdt/10870019-3.html"),
        (GZDT, 3, relabel, None),
        (GZDT, 1, lambda b: relabel(drop_total(b)), None),
    ],
)
def test_next_page(spider, column, page_no, edit, expected):
    body = edit((SITE / PAGES[column, page_no].lstrip("/")).read_bytes())
    assert spider._parse_next(listing(spider, column, page_no, body)) == expected


def test_next_page_is_requested_with_the_chain(spider):
    outputs = list(spider.parse_listing(listing(spider, GZDT, 2)))
    [next_page] = listing_requests(outputs, spider)
    assert (next_page.url, next_page.callback, next_page.errback) == (
        MIRROR + "/zgc/yw/gzdt/10870019-3.html", spider.parse_listing, spider.listing_failed)
    assert next_page.meta == {"chain": GZDT, "page_no": 3,
                              "live_url": LIVE + "/zgc/yw/gzdt/10870019-3.html",
                              "redirects": 0, "dont_redirect": True,
                              "handle_httpstatus_list": REDIRECTS}


@pytest.mark.parametrize("edit", [same, drop_total])
def test_last_page_ends_the_chain_complete(spider, edit):
    for page_no in (1, 2):
        list(spider.parse_listing(listing(spider, GZDT, page_no)))
    body = edit((SITE / PAGES[GZDT, 3].lstrip("/")).read_bytes())
    outputs = list(spider.parse_listing(listing(spider, GZDT, 3, body)))
    assert listing_requests(outputs, spider) == []
    assert spider.chains[GZDT] == Chain(GZDT, done=True, complete=True,
                                        visited={LIVE + PAGES[GZDT, n] for n in (1, 2, 3)})
    assert spider.listing_complete is True


def test_last_page_pointing_back_at_page_one_ends_the_chain(spider):
    list(spider.parse_listing(listing(spider, GZDT, 1)))
    list(spider.parse_listing(listing(spider, GZDT, 2)))
    raw = (SITE / PAGES[GZDT, 3].lstrip("/")).read_bytes()
    body = set_tag("下一页".encode("gbk"), GZDT.encode())(drop_total(raw))
    assert spider._parse_next(listing(spider, GZDT, 3, body)) == LIVE + GZDT
    outputs = list(spider.parse_listing(listing(spider, GZDT, 3, body)))
    assert (listing_requests(outputs, spider), spider.chains[GZDT].complete) == ([], True)


def test_columns_come_from_settings(make_spider):
    defaults = {k: v for k, v in vars(project_settings).items() if k.isupper()}
    spider = make_spider(**defaults)

    async def collect():
        return [r async for r in spider.start()]

    assert [(r.url, r.meta) for r in asyncio.run(collect())] == [
        (MIRROR + c, {"chain": c, "page_no": 1, "live_url": LIVE + c, "redirects": 0,
                      "dont_redirect": True, "handle_httpstatus_list": REDIRECTS})
        for c in (GZDT, TZGG, ENGLISH)
    ]
    spider = make_spider(ZGCWATCH_ZGCGW_COLUMNS=" zgc/zwgk/tzgg/index.html ")
    assert [(r.url, r.meta["chain"]) for r in asyncio.run(collect())] == [(MIRROR + TZGG, TZGG)]


# -- incremental crawling ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("stop_early", "next_pages"),
    [(True, []), (False, [MIRROR + "/zgc/yw/gzdt/10870019-3.html"])],
)
def test_page_with_nothing_new(spider, stop_early, next_pages):
    spider.known = {live("park"), live("shenzhen"), live("contest")}
    spider.stop_early = stop_early
    outputs = list(spider.parse_listing(listing(spider, GZDT, 2)))
    assert [r.url for r in outputs] == next_pages
    assert spider.chains[GZDT].complete is stop_early
    assert stats(spider) == {"zgcwatch/listing/links": 3, "zgcwatch/skipped/known": 3}


def test_known_articles_are_skipped_new_ones_requested(spider):
    spider.known = {live("station"), live("repub")}
    spider.stop_early = True
    outputs = list(spider.parse_listing(listing(spider, GZDT, 1)))
    assert canonicals(outputs, spider) == [live("forum"), live("missing")]
    assert [r.url for r in listing_requests(outputs, spider)] == [
        MIRROR + "/zgc/yw/gzdt/10870019-2.html"]


def test_max_pages_ends_the_chain(make_spider):
    spider = make_spider(ZGCWATCH_MAX_PAGES=2)
    outputs = list(spider.parse_listing(listing(spider, GZDT, 2)))
    assert (listing_requests(outputs, spider), canonicals(outputs, spider)) == (
        [], [live("park"), live("shenzhen"), live("contest")])
    assert spider.chains[GZDT].complete is True


# -- articles ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "encoding"),
    [("recruit", "gb18030"), ("park", "gb18030"), ("stats", "utf-8"), ("e_center", "utf-8"),
     ("empty", "utf-8")],
)
def test_article_page_becomes_one_item(spider, name, encoding):
    link = Link(P[name], "列表标题", "2022-06-15")
    response = article(spider, name, link)
    assert list(spider.parse_article(response)) == [ArticleItem(
        url=live(name), source="zgcgw",
        pages=[(MIRROR + P[name], encoding, (SITE / P[name].lstrip("/")).read_bytes())],
        listing_title="列表标题", listing_date="2022-06-15")]
    assert spider.extra_pages(response, live(name)) == []


def test_gbk_article_text_decodes(spider):
    response = article(spider, "recruit")
    assert response.css("div.easysite-news-title h2::text").get() == (
        "“留在中关村”海外学子专场招聘会在中关村留学人员海淀创业园举办")


def test_redirect_from_old_domain_yields_alias_and_target(spider):
    request = spider.article_request(live("park").replace("10873644", "10870001"))
    response = Response(request.url, status=302, request=request,
                        headers={"Location": OLD + P["park"]})
    outputs = list(spider.parse_article(response))
    assert outputs[0] == AliasItem(url=LIVE + "/zgc/yw/gzdt/10870001/index.html",
                                   target=live("park"))
    assert (len(outputs), outputs[1].url, outputs[1].meta["aliases"]) == (
        2, MIRROR + P["park"], [LIVE + "/zgc/yw/gzdt/10870001/index.html"])
    spider.known = {live("park")}
    assert list(spider.parse_article(response)) == [outputs[0]]


def test_attachment_served_for_an_article_is_skipped_and_counted(spider):
    request = spider.article_request(live("stats"))
    response = Response(request.url, body=(SITE / P["stats_doc"].lstrip("/")).read_bytes(),
                        headers={"Content-Type": "application/msword"}, request=request)
    assert list(spider.parse_article(response)) == []
    assert stats(spider) == {"zgcwatch/skipped/not_html": 1}


def test_missing_article_is_counted(spider):
    request = spider.article_request(live("missing"))
    fail = Failure(HttpError(Response(request.url, status=404, request=request)))
    fail.request = request
    spider.article_failed(fail)
    assert stats(spider) == {"zgcwatch/errors/http_404": 1, "zgcwatch/errors": 1}
