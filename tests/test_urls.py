"""SiteMap: canonical URLs, article and attachment shapes, the base_url mirror mapping."""

import pytest

from crawler.urls import SiteMap

CD_ID = "/a/201901/12/WS5c38db2fa3106c65c34e3ffa.html"
CD = "https://www.chinadaily.com.cn" + CD_ID
ZGC_PATH = "/zgc/zwgk/tzgg/10870021/index.html"
ZGC = "https://zgcgw.beijing.gov.cn" + ZGC_PATH
MIRROR = "http://127.0.0.1:8999"


@pytest.mark.parametrize(
    ("source", "linked", "canonical"),
    [
        # China Daily: protocol-relative links, every host of the source, http and https.
        ("chinadaily", "//www.chinadaily.com.cn" + CD_ID, CD),
        ("chinadaily", "http://www.chinadaily.com.cn" + CD_ID, CD),
        ("chinadaily", "https://global.chinadaily.com.cn" + CD_ID, CD),
        ("chinadaily", "//m.chinadaily.com.cn" + CD_ID, CD),
        ("chinadaily", "HTTPS://WWW.ChinaDaily.com.cn" + CD_ID, CD),
        ("chinadaily", "http://www.chinadaily.com.cn:80" + CD_ID, CD),
        # Tracking parameters, any query and fragments are noise on a static article page.
        ("chinadaily", CD + "?utm_source=twitter&utm_medium=social", CD),
        ("chinadaily", CD + "#comments", CD),
        ("chinadaily", CD + "?utm_campaign=x&from=singlemessage#top", CD),
        ("chinadaily", CD + "?", CD),
        ("chinadaily", " " + CD + "\n", CD),
        # Page 2 of a split story is its own URL; the old content_<id>.htm form is kept as is.
        ("chinadaily", CD.replace(".html", "_2.html"), CD.replace(".html", "_2.html")),
        ("chinadaily", "/china/2019-01/12/content_37427031.htm",
         "https://www.chinadaily.com.cn/china/2019-01/12/content_37427031.htm"),
        ("chinadaily", "http://m.chinadaily.com.cn/china/2019-01/12/content_37427031.htm?utm_source=x",
         "https://www.chinadaily.com.cn/china/2019-01/12/content_37427031.htm"),
        ("chinadaily", "//www.chinadaily.com.cn/m/hebei/shijiazhuang/2021-03/26/content_123.htm",
         "https://www.chinadaily.com.cn/m/hebei/shijiazhuang/2021-03/26/content_123.htm"),
        # Not articles: the host is kept, only tracking keys and the fragment go.
        ("chinadaily", "//www.chinadaily.com.cn/china/society?utm_source=x&page=2#list",
         "https://www.chinadaily.com.cn/china/society?page=2"),
        ("chinadaily", "http://www.chinadaily.com.cn", "https://www.chinadaily.com.cn/"),
        ("chinadaily", "https://www.chinadaily.com.cn:8080/china/society",
         "https://www.chinadaily.com.cn:8080/china/society"),
        ("chinadaily", "https://www.chinadailyhk.com" + CD_ID + "?utm_source=x",
         "https://www.chinadailyhk.com" + CD_ID),
        # zgcgw: the old domain names the same paths; site-relative links resolve to the new one.
        ("zgcgw", "http://www.zgc.gov.cn" + ZGC_PATH, ZGC),
        ("zgcgw", "https://zgc.gov.cn" + ZGC_PATH, ZGC),
        ("zgcgw", ZGC_PATH, ZGC),
        ("zgcgw", "//zgcgw.beijing.gov.cn" + ZGC_PATH + "?spm=a.b#top", ZGC),
        ("zgcgw", "http://www.zgc.gov.cn/zgc/yw/gzdt/index.html",
         "https://www.zgc.gov.cn/zgc/yw/gzdt/index.html"),
    ],
)
def test_canonical(source, linked, canonical):
    sites = SiteMap(source)
    assert sites.canonical(sites.live_url(linked)) == canonical


def test_canonical_twins_of_one_story_are_one_url():
    sites = SiteMap("chinadaily")
    twins = ["//www.chinadaily.com.cn" + CD_ID, "https://global.chinadaily.com.cn" + CD_ID,
             "//m.chinadaily.com.cn" + CD_ID + "?utm_source=wechat", CD + "#comments"]
    assert {sites.canonical(sites.live_url(t)) for t in twins} == {CD}


@pytest.mark.parametrize(
    ("linked", "base", "live"),
    [
        ("/a/x.html", None, "https://www.chinadaily.com.cn/a/x.html"),
        ("page_2.html", "https://www.chinadaily.com.cn/china/society/",
         "https://www.chinadaily.com.cn/china/society/page_2.html"),
        ("//m.chinadaily.com.cn/a/x.html", "https://www.chinadaily.com.cn/china/society",
         "https://m.chinadaily.com.cn/a/x.html"),
        ("//www.chinadaily.com.cn/a/x.html", "http://www.chinadaily.com.cn/china",
         "http://www.chinadaily.com.cn/a/x.html"),
    ],
)
def test_live_url_resolves_against_base(linked, base, live):
    assert SiteMap("chinadaily").live_url(linked, base) == live


# Every host of a source is fetched from the mirror; the mirror maps back to the canonical host.
@pytest.mark.parametrize(
    ("source", "live", "fetch", "back"),
    [
        ("chinadaily", CD, MIRROR + CD_ID, CD),
        ("chinadaily", "http://www.chinadaily.com.cn" + CD_ID, MIRROR + CD_ID, CD),
        ("chinadaily", "https://global.chinadaily.com.cn" + CD_ID, MIRROR + CD_ID, CD),
        ("chinadaily", "https://m.chinadaily.com.cn" + CD_ID, MIRROR + CD_ID, CD),
        ("chinadaily", "https://www.chinadaily.com.cn/china/society",
         MIRROR + "/china/society", "https://www.chinadaily.com.cn/china/society"),
        ("chinadaily",
         "https://newssearch.chinadaily.com.cn/rest/en/search?keywords=Zhongguancun&page=2",
         MIRROR + "/rest/en/search?keywords=Zhongguancun&page=2",
         "https://www.chinadaily.com.cn/rest/en/search?keywords=Zhongguancun&page=2"),
        ("zgcgw", ZGC, MIRROR + ZGC_PATH, ZGC),
        ("zgcgw", "http://www.zgc.gov.cn" + ZGC_PATH, MIRROR + ZGC_PATH, ZGC),
        ("zgcgw", "http://zgc.gov.cn" + ZGC_PATH, MIRROR + ZGC_PATH, ZGC),
    ],
)
def test_base_url_mapping_both_ways(source, live, fetch, back):
    sites = SiteMap(source, MIRROR)
    assert (sites.fetch_url(live), sites.live_url(fetch)) == (fetch, back)


@pytest.mark.parametrize(
    ("source", "page", "href", "live"),
    [
        # protocol-relative links take the mirror's http: canonical() makes them https
        ("chinadaily", MIRROR + "/china/society", "//www.chinadaily.com.cn" + CD_ID,
         "http://www.chinadaily.com.cn" + CD_ID),
        ("chinadaily", MIRROR + "/china/society", CD_ID, CD),
        ("chinadaily", MIRROR + "/rest/en/search?page=1", CD_ID, CD),
        ("zgcgw", MIRROR + "/zgc/zwgk/tzgg/index.html", ZGC_PATH, ZGC),
        ("zgcgw", MIRROR + "/zgc/zwgk/tzgg/index.html", "10870021/index.html", ZGC),
        ("zgcgw", MIRROR + "/zgc/zwgk/tzgg/index.html", "http://www.zgc.gov.cn" + ZGC_PATH,
         "http://www.zgc.gov.cn" + ZGC_PATH),
    ],
)
def test_links_on_a_mirrored_page_resolve_to_the_live_site(source, page, href, live):
    assert SiteMap(source, MIRROR).live_url(href, page) == live


@pytest.mark.parametrize(
    ("source", "url"),
    [
        ("chinadaily", "https://www.chinadailyhk.com/article/1"),
        ("chinadaily", "http://www.beijing.gov.cn/"),
        ("chinadaily", "https://evilchinadaily.com.cn" + CD_ID),
        ("zgcgw", "http://www.beijing.gov.cn/"),
        ("zgcgw", CD),
    ],
)
def test_other_hosts_are_fetched_where_they_are(source, url):
    sites = SiteMap(source, MIRROR)
    assert (sites.fetch_url(url), sites.live_url(url), sites.owns(url)) == (url, url, False)


@pytest.mark.parametrize(
    ("source", "base_url", "allowed"),
    [
        ("chinadaily", None, ["chinadaily.com.cn"]),
        ("zgcgw", None, ["zgcgw.beijing.gov.cn", "zgc.gov.cn"]),
        ("chinadaily", MIRROR, ["127.0.0.1"]),
        ("zgcgw", "https://localhost:8443", ["localhost"]),
    ],
)
def test_allowed_domains(source, base_url, allowed):
    assert SiteMap(source, base_url).allowed_domains == allowed


def test_without_base_url_live_and_fetch_urls_are_the_same():
    sites = SiteMap("zgcgw")
    old = "http://www.zgc.gov.cn" + ZGC_PATH
    assert (sites.fetch_url(old), sites.live_url(old), sites.fetch_url(ZGC)) == (old, old, ZGC)


@pytest.mark.parametrize(
    "base_url", ["127.0.0.1:8999", "ftp://127.0.0.1", "http://", "file:///tmp/site", "//host"]
)
def test_bad_base_url_raises(base_url):
    with pytest.raises(ValueError, match="base_url must look like http://host"):
        SiteMap("chinadaily", base_url)


def test_unknown_source_raises():
    with pytest.raises(KeyError):
        SiteMap("xinhua")


@pytest.mark.parametrize(
    ("source", "url", "article"),
    [
        ("chinadaily", CD, True),
        ("chinadaily", "https://global.chinadaily.com.cn" + CD_ID, True),
        ("chinadaily", "https://m.chinadaily.com.cn" + CD_ID, True),
        ("chinadaily", CD.replace(".html", "_2.html"), True),
        ("chinadaily", "https://www.chinadaily.com.cn/china/2019-01/12/content_37427031.htm", True),
        ("chinadaily", "https://www.chinadaily.com.cn/m/hebei/2021-03/26/content_123.htm", True),
        ("chinadaily", "https://www.chinadaily.com.cn/china/society", False),
        ("chinadaily", "https://www.chinadaily.com.cn/china/society/page_2.html", False),
        ("chinadaily", "https://www.chinadaily.com.cn/a/201901/12/WS5c38.html", False),
        ("chinadaily", "https://www.chinadaily.com.cn/pdf/report.pdf", False),
        ("chinadaily", "https://www.chinadaily.com.cn/rss/index.html", False),
        ("chinadaily", "https://www.chinadailyhk.com" + CD_ID, False),
        ("chinadaily", ZGC, False),
        ("zgcgw", ZGC, True),
        ("zgcgw", "http://www.zgc.gov.cn" + ZGC_PATH, True),
        ("zgcgw", "https://zgcgw.beijing.gov.cn/zgc/english/news/10872790/index.html", True),
        ("zgcgw", "https://zgcgw.beijing.gov.cn/zgc/zwgk/zcfg18/zcjd/10871100/index.htm", True),
        ("zgcgw", "https://zgcgw.beijing.gov.cn/zgc/yw/gzdt/index.html", False),
        ("zgcgw", "https://zgcgw.beijing.gov.cn/zgc/yw/gzdt/10870019-2.html", False),
        ("zgcgw", "https://zgcgw.beijing.gov.cn/zgc/yw/gzdt/10871532/2022061509302efc9ad.doc",
         False),
        ("zgcgw", "https://www.beijing.gov.cn/zgc/yw/gzdt/10871532/index.html", False),
        ("zgcgw", CD, False),
    ],
)
def test_is_article(source, url, article):
    assert SiteMap(source).is_article(url) is article


@pytest.mark.parametrize(
    ("url", "attachment"),
    [
        ("https://www.chinadaily.com.cn/pdf/report.pdf", True),
        ("//www.chinadaily.com.cn/pdf/REPORT.PDF", True),
        ("/zgc/yw/gzdt/10871532/2022061509302efc9ad.doc", True),
        ("/zgc/zwgk/tzgg/10875230/附件.docx?download=1", True),
        ("/zgc/files/表.xls", True),
        ("/zgc/files/data.xlsx#sheet1", True),
        ("/files/archive.zip", True),
        ("//img2.chinadaily.com.cn/images/202103/26/x.jpeg", True),
        (CD, False),
        (ZGC, False),
        ("/download?file=report.pdf", False),
        ("/reports/pdf/index.html", False),
        ("/a/report.pdf.html", False),
    ],
)
def test_is_attachment(url, attachment):
    assert SiteMap.is_attachment(url) is attachment
