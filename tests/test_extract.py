"""Extraction: site hints for metadata, trafilatura for the body, warnings for bad input."""

import json
import os
import statistics
from datetime import datetime
from pathlib import Path

import pytest
from rapidfuzz import fuzz

from crawler import extract as extract_module
from crawler.dates import parse_date
from crawler.extract import Extracted, extract_article, strip_suffix

FIXTURES = Path(__file__).resolve().parent / "fixtures"

EN_PARAGRAPHS = [
    "Zhongguancun will offer 1,200 apartments to returned overseas scholars this year, "
    "its administrative committee said on Tuesday.",
    "The apartments in Haidian and Changping districts will rent at 30 to 50 percent below "
    "market prices to returnees who work for high-tech companies in the park.",
    "Housing costs are a main concern of overseas talent considering a move to Beijing, a "
    "survey of 2,000 returnees found last year, ahead of schooling and spouses' jobs.",
]
ZH_PARAGRAPHS = [
    "记者从中关村管委会获悉，今年1至4月，中关村各留学人员创业园新增入驻企业42家，同比增长31%。",
    "新入驻企业主要集中在集成电路、人工智能、生物医药和新能源领域，其中一家光子芯片企业由喆博士团队创办。",
    "截至目前，北京已建成留学人员创业园40余家，在园企业超过4000家，累计孵化企业近万家。",
]


def chinadaily_page(title, byline, paragraphs, *, publishdate=None, h1=True, pager=""):
    """A China Daily article page as the live site shapes it (docs: sites.md)."""
    meta = f'<meta name="publishdate" content="{publishdate}" />' if publishdate else ""
    body = "".join(f"<p>{p}</p>" for p in paragraphs[:1])
    body += ('<figure class="image"><img src="//img2.chinadaily.com.cn/x.jpeg" />'
             "<figcaption>Visitors at the park [Photo/Agencies]</figcaption></figure>")
    body += "".join(f"<p>{p}&nbsp;</p>" for p in paragraphs[1:])
    return f"""<!DOCTYPE html><html lang="en"><head><meta charset="utf-8" />
<title>{title} - China - Chinadaily.com.cn</title>{meta}
<meta property="og:title" content="{title}" /></head><body>
<div class="topNav"><a href="//www.chinadaily.com.cn">Global Edition</a></div>
<div class="main_art"><div class="lft_art" id="lft-art">
<span id="bread-nav"><a>Home</a> / <a>China</a></span>
{f"<h1>{title}</h1>" if h1 else ""}
<div class="info"><span class="info_l">{byline}</span><span class="info_r">share</span></div>
<div id="Content">{body}</div>{pager}
<div class="mb20 relatedNews"><div class="tit2">Related stories</div><ul>
<li><a href="//www.chinadaily.com.cn/a/1.html">Returnees find jobs in Shenzhen in 2009</a></li>
</ul></div>
<div class="commentbox" id="comments"><h3>Comments</h3>Please login to comment.</div>
</div></div><div class="footer"><p>Copyright 1995 - 2026. All rights reserved.</p></div>
</body></html>""".encode()


def zgcgw_page(title, describe, paragraphs, *, encoding="utf-8", charset="utf-8",
               metas="", title_tag=None, h2=True):
    """A zgcgw EasySite article page; GBK pages declare gb2312 in a meta tag only."""
    text = "".join(f"<p>　　{p}</p>" for p in paragraphs)
    text += '<p>附件：<a href="/zgc/x/1.pdf">名单.pdf</a></p>'
    page = f"""<!DOCTYPE html><html><head>
<meta http-equiv="Content-Type" content="text/html; charset={charset}" />
<title>{title_tag or title + "_工作动态_中关村科技园区管理委员会"}</title>{metas}</head><body>
<div class="header"><div class="nav"><a href="/zgc/index.html">首页</a></div></div>
<div class="w_content"><div class="easysite-news-peruse">
<div class="easysite-news-title">{f"<h2>{title}</h2>" if h2 else ""}
<p class="easysite-news-describe">{describe}</p></div>
<div class="easysite-news-operation"><a>打印本页</a> <a>关闭窗口</a></div>
<div class="easysite-news-text" id="easysiteText">{text}</div></div>
<div class="xgxx"><div class="xgxx_tit">相关信息</div><ul>
<li><a href="/zgc/yw/gzdt/1/index.html">2019年海归创业大赛举行</a><span>2019-06-01</span></li>
</ul></div></div>
<div class="footer"><p>主办单位：中关村科技园区管理委员会</p></div></body></html>"""
    return page.encode(encoding)


EN_TITLE = "Zhongguancun adds apartments for returned scholars"
ZH_TITLE = "中关村留学人员创业园今年新增入驻企业42家"
ZH_DESCRIBE = "发布时间：2024-05-20 10:00　信息来源：中关村管委会　字体：[大 中 小]"


@pytest.mark.parametrize(
    "source, raw, title, published, author, lang",
    [
        ("chinadaily", chinadaily_page(
            EN_TITLE, "By Li Fusheng | China Daily | Updated: 2019-04-29 07:26", EN_PARAGRAPHS),
         EN_TITLE, "2019-04-29T07:26:00", "Li Fusheng", "en"),
        ("chinadaily", chinadaily_page(
            EN_TITLE, 'chinadaily.com.cn | Updated: Mar 26, 2021 <span class="fontsize">'
            "<a>L</a> <a>M</a> <a>S</a></span>", EN_PARAGRAPHS),
         EN_TITLE, "2021-03-26", None, "en"),
        ("chinadaily", chinadaily_page(
            EN_TITLE, "By Cheng Si in Haikou | chinadaily.com.cn | Updated: 2022-07-14 16:05",
            EN_PARAGRAPHS, publishdate="2022-07-14"),
         EN_TITLE, "2022-07-14T16:05:00", "Cheng Si", "en"),
        ("chinadaily", chinadaily_page(  # no byline date: the publishdate meta
            EN_TITLE, "chinadaily.com.cn", EN_PARAGRAPHS, publishdate="2023-02-21", h1=False),
         EN_TITLE, "2023-02-21", None, "en"),
        ("zgcgw", zgcgw_page(ZH_TITLE, ZH_DESCRIBE, ZH_PARAGRAPHS),
         ZH_TITLE, "2024-05-20T10:00:00", None, "zh"),
        ("zgcgw", zgcgw_page(ZH_TITLE, ZH_DESCRIBE, ZH_PARAGRAPHS, encoding="gbk",
                             charset="gb2312"),
         ZH_TITLE, "2024-05-20T10:00:00", None, "zh"),
        ("zgcgw", zgcgw_page(  # no h2, no describe date: ArticleTitle and PubDate metas
            ZH_TITLE, "信息来源：中关村管委会", ZH_PARAGRAPHS, h2=False,
            metas=f'<meta name="ArticleTitle" content="{ZH_TITLE}" />'
                  '<meta name="PubDate" content="2024-05-20 10:00" />'),
         ZH_TITLE, "2024-05-20T10:00:00", None, "zh"),
        ("zgcgw", zgcgw_page(  # only <title>: the "_column_site" suffix goes
            ZH_TITLE, "发布时间：2024年05月20日", ZH_PARAGRAPHS, h2=False),
         ZH_TITLE, "2024-05-20", None, "zh"),
        ("zgcgw", zgcgw_page(
            "Haidian pioneer park welcomes 36 start-ups",
            "Release time: 2024-10-15 09:00　Source: Zhongguancun Science Park Administrative "
            "Committee　Font size: [L M S]", EN_PARAGRAPHS,
            title_tag="Haidian pioneer park welcomes 36 start-ups_News_中关村科技园区管理委员会"),
         "Haidian pioneer park welcomes 36 start-ups", "2024-10-15T09:00:00", None, "en"),
    ],
)
def test_fields(source, raw, title, published, author, lang):
    result = extract_article([("https://example.test/a.html", raw)], source)
    assert (result.title, result.published, result.author, result.lang) == (
        title, published, author, lang)
    expected = EN_PARAGRAPHS if lang == "en" else ZH_PARAGRAPHS
    assert result.body == "\n".join(expected)  # no caption, related links, comments, 附件
    assert result.warnings == []


def test_gbk_page_with_meta_only_charset_decodes_without_mojibake():
    raw = zgcgw_page(ZH_TITLE, ZH_DESCRIBE, ZH_PARAGRAPHS, encoding="gbk", charset="gb2312")
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")
    body = extract_article([("u", raw)], "zgcgw").body
    assert "喆博士" in body and "\ufffd" not in body and "　" not in body


def test_two_pages_are_joined_in_order():
    pager = '<div id="div_currpage"><a href="WS1.html">1</a> <a href="WS1_2.html">2</a></div>'
    byline = "By Li Fusheng | China Daily | Updated: 2024-05-20 07:26"
    first = chinadaily_page(EN_TITLE, byline, EN_PARAGRAPHS[:2], pager=pager)
    second = chinadaily_page(EN_TITLE, byline, EN_PARAGRAPHS[2:], pager=pager)
    result = extract_article([("WS1.html", first), ("WS1_2.html", second)], "chinadaily")
    assert result.body == "\n".join(EN_PARAGRAPHS)
    assert result.title == EN_TITLE and result.warnings == []


@pytest.mark.parametrize(
    "raw, page_warning",
    [
        (b"", "page 1: empty"),
        (b"   \n", "page 1: empty"),
        (b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj<</Type/Catalog>>endobj", "page 1: not html (pdf)"),
        (bytes(range(256)) * 20, "page 1: not html"),
        (b"just some text without any markup", "page 1: not html"),
    ],
)
def test_bad_bytes_give_warnings_not_exceptions(raw, page_warning):
    result = extract_article([("u", raw)], "chinadaily")
    assert result == Extracted(
        warnings=[page_warning, "no title", "no date", "empty body"])


def test_unclosed_markup_and_no_pages():
    raw = (b"<html><head><title>Returnees - China - Chinadaily.com.cn</title><body>"
           b"<div id='lft-art'><h1>Returnees arrive<div class='info'><span class='info_l'>"
           b"chinadaily.com.cn | Updated: 2023-02-21 14:12<div id='Content'><p>One."
           b"<p>Two returnees found companies in Zhongguancun.")
    result = extract_article([("u", raw)], "chinadaily")
    assert result.published == "2023-02-21T14:12:00" and "Zhongguancun" in result.body
    assert extract_article([], "zgcgw").warnings == ["no title", "no date", "empty body"]


def test_video_page_without_text_warns_empty_body():
    raw = chinadaily_page("Video: Inside a pioneer park", "chinadaily.com.cn | Updated: "
                          "2024-11-05 16:00", [])
    result = extract_article([("u", raw)], "chinadaily")
    assert result.title == "Video: Inside a pioneer park" and result.body == ""
    assert result.warnings == ["empty body"]


def test_generic_source_uses_metas_and_htmldate():
    raw = b"""<html lang="en"><head><title>Returnees build labs | Example News</title>
    <meta property="og:title" content="Returnees build labs" />
    <meta name="author" content="Jane Roe" /></head><body><article><h1>Returnees build labs</h1>
    <time datetime="2020-05-01">May 1, 2020</time>
    <p>Returnees are building laboratories across the country, officials said on Friday.</p>
    <p>More than 300 laboratories opened last year in science parks, the ministry said.</p>
    </article></body></html>"""
    result = extract_article([("https://example.test/x", raw)], "other",
                             now=datetime(2026, 1, 1))
    assert (result.title, result.published, result.author, result.lang) == (
        "Returnees build labs", "2020-05-01", "Jane Roe", "en")
    assert "Returnees are building laboratories across the country" in result.body


def test_site_selector_takes_over_when_trafilatura_loses_paragraphs(monkeypatch):
    monkeypatch.setattr(extract_module.trafilatura, "extract", lambda *a, **k: ZH_PARAGRAPHS[0])
    result = extract_article([("u", zgcgw_page(ZH_TITLE, ZH_DESCRIBE, ZH_PARAGRAPHS))], "zgcgw")
    assert result.body == "\n".join(ZH_PARAGRAPHS)

    def broken(*args, **kwargs):
        raise RuntimeError("parser bug")

    monkeypatch.setattr(extract_module.trafilatura, "extract", broken)
    result = extract_article([("u", zgcgw_page(ZH_TITLE, ZH_DESCRIBE, ZH_PARAGRAPHS))], "zgcgw")
    assert result.body == "\n".join(ZH_PARAGRAPHS)


@pytest.mark.parametrize(
    "title, expected",
    [
        ("Zhongguancun supports overseas returnees - Regional - Chinadaily.com.cn",
         "Zhongguancun supports overseas returnees"),
        ("Returnees - Chinadaily.com.cn", "Returnees"),
        ("中关村留创园新增企业_工作动态_中关村科技园区管理委员会", "中关村留创园新增企业"),
        ("Zhongguancun opens center_News_中关村科技园区管理委员会", "Zhongguancun opens center"),
        ("Mid-year review - a long look back", "Mid-year review - a long look back"),
    ],
)
def test_strip_suffix(title, expected):
    assert strip_suffix(title) == expected


@pytest.mark.parametrize(
    "text, expected",
    [
        ("Updated: 2019-04-29 07:26", "2019-04-29T07:26:00"),
        ("Updated: Mar 26, 2021 L M S", "2021-03-26"),
        ("Updated: September 3, 2025 06:58", "2025-09-03T06:58:00"),
        ("发布时间：2021-03-26 10:00　信息来源：中关村管委会", "2021-03-26T10:00:00"),
        ("2024年05月20日 10:00", "2024-05-20T10:00:00"),
        ("2024/5/2", "2024-05-02"),
        ("2021-02-30", None),  # no such day
        ("no date here", None),
        ("", None),
        ("2099-01-01", None),  # after `now`
    ],
)
def test_parse_date(text, expected):
    assert parse_date(text, now=datetime(2026, 11, 28)) == expected


def _gold_rows():
    rows = []
    for site in ("chinadaily", "zgcgw"):
        for path in sorted((FIXTURES / site / "gold").glob("*.json")):
            rows.append((site, json.loads(path.read_text(encoding="utf-8"))))
    return rows


def _pages(site, path):
    """The saved page of a gold article and its `_2.html` sibling, if it has one."""
    file = FIXTURES / site / "site" / path.lstrip("/")
    pages = [(path, file.read_bytes())]
    second = file.with_name(file.stem + "_2" + file.suffix)
    if second.exists():
        pages.append((path.replace(file.name, second.name), second.read_bytes()))
    return pages


def _ws(text):
    return " ".join((text or "").split())


@pytest.mark.skipif(not _gold_rows(), reason="fixture gold files not built yet")
def test_gold_fixture_articles():
    """Every headline, date, author and language exact; median body similarity >= 0.95."""
    similarities, wrong = [], []
    for site, gold in _gold_rows():
        result = extract_article(_pages(site, gold["path"]), site, now=datetime(2026, 11, 28))
        got = {k: getattr(result, k) for k in ("title", "published", "author", "lang")}
        want = {k: gold[k] for k in got}
        if got != want:
            wrong.append((gold["path"], got, want))
        similarities.append(fuzz.ratio(_ws(result.body), _ws(gold["body"]), processor=None,
                                       score_cutoff=0) / 100)
    assert wrong == []
    assert statistics.median(similarities) >= 0.95, similarities
    assert min(similarities) >= 0.9, similarities


@pytest.mark.skipif(not (FIXTURES / "chinadaily" / "site" / "pdf").is_dir(),
                    reason="fixture site not built yet")
@pytest.mark.parametrize(
    "site, path, warning",
    [
        ("chinadaily", "/pdf/report.pdf", "page 1: not html (pdf)"),
        ("chinadaily", "/a/202411/05/WS6729d080a3101f797b053451.html", "empty body"),
        ("zgcgw", "/zgc/zwgk/tzgg/10876120/index.html", "empty body"),  # only 附件：
    ],
)
def test_fixture_traps(site, path, warning):
    file = FIXTURES / site / "site" / path.lstrip("/")
    if not os.path.exists(file):
        pytest.skip(f"{path} not in the fixtures")
    result = extract_article([(path, file.read_bytes())], site)
    assert warning in result.warnings and result.body == ""
