"""Article extraction: the body by trafilatura, metadata from the sites' own markup first.

Pure: bytes in, an `Extracted` out, never an exception for bad input (empty, PDF,
garbage, unclosed markup): what went wrong is listed in `warnings`.
"""

import copy
import logging
import re
from dataclasses import dataclass, field
from datetime import datetime

import lxml.html
import trafilatura
from htmldate import find_date
from lxml import etree

from crawler.dates import labelled_date, parse_date

logger = logging.getLogger(__name__)


@dataclass
class Extracted:
    """What one story's pages say: metadata, body text, and what went wrong."""

    title: str | None = None
    published: str | None = None  # ISO 8601: "2021-03-26" or "2024-05-20T07:26:00"
    author: str | None = None
    lang: str | None = None  # "en" / "zh"
    body: str = ""  # paragraphs joined by "\n"
    warnings: list[str] = field(default_factory=list)


@dataclass
class SiteHints:
    """Where a site keeps its headline, byline and article text (XPath, best first)."""

    titles: tuple = ()
    bylines: tuple = ()
    bodies: tuple = ()


_CLASS = "contains(concat(' ', normalize-space(@class), ' '), ' {} ')"
SITES = {
    "chinadaily": SiteHints(
        titles=("//div[@id='lft-art']//h1", f"//div[{_CLASS.format('lft_art')}]//h1"),
        bylines=(f"//div[{_CLASS.format('info')}]/span[{_CLASS.format('info_l')}]",
                 f"//span[{_CLASS.format('info_l')}]"),
        bodies=("//div[@id='Content']", f"//div[{_CLASS.format('content')}]"),
    ),
    "zgcgw": SiteHints(
        titles=(f"//div[{_CLASS.format('easysite-news-title')}]//h2",
                f"//div[{_CLASS.format('easysite-news-title')}]//h1"),
        bylines=(f"//p[{_CLASS.format('easysite-news-describe')}]",
                 f"//div[{_CLASS.format('easysite-news-title')}]//p"),
        bodies=("//div[@id='easysiteText']", f"//div[{_CLASS.format('easysite-news-text')}]"),
    ),
}
GENERIC = SiteHints(titles=("//h1",), bylines=(), bodies=("//article",))

# " - Regional - Chinadaily.com.cn", "_工作动态_中关村科技园区管理委员会"
_TITLE_SUFFIXES = (
    re.compile(r"(?:\s+[-|]\s+[^-|]{1,40})?\s+[-|]\s+Chinadaily\.com\.cn\s*$", re.I),
    re.compile(r"(?:_[^_]{1,40})?_中关村科技园区管理委员会\s*$"),
)
_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_-]+)""", re.I)
# GB18030 is a superset of both, and pages that say gb2312 often use GBK characters
_ENCODING_ALIASES = {"gb2312": "gb18030", "gbk": "gb18030", "x-gbk": "gb18030"}
_XML_DECLARATION = re.compile(r"^\s*<\?xml[^>]*\?>")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")  # C0 and DEL; not \t \n \r
_ATTACHMENT = re.compile(r"^(?:附件|相关附件|Attachments?)\s*[:：]", re.I)
_AUTHOR_ZH = re.compile(r"作者\s*[:：]\s*([^\s　|]+)")
_BY = re.compile(r"^By\s+(.+?)(?:\s+in\s+[A-Z][\w .'-]*)?$")
_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_LATIN = re.compile(r"[A-Za-z]")


def extract_article(pages: list[tuple[str, bytes]], source: str, now=None) -> Extracted:
    """Extract one story from its pages [(url, raw html bytes), ...], in page order."""
    out = Extracted()
    hints = SITES.get(source, GENERIC)
    trees, paragraphs = [], []
    for number, (url, raw) in enumerate(pages, start=1):
        tree, raw, problem = _parse(raw)
        if problem:
            out.warnings.append(f"page {number}: {problem}")
            continue
        trees.append(tree)
        if out.title is None:
            out.title = _title(tree, hints)
        paragraphs += _body(raw, tree, url, hints, out.title)
    if trees:
        _metadata(out, trees[0], hints, now)
    out.body = "\n".join(paragraphs)
    out.lang = _language(out.title, out.body, trees[0] if trees else None)
    for missing, label in ((out.title, "no title"), (out.published, "no date"),
                           (out.body, "empty body")):
        if not missing:
            out.warnings.append(label)
    return out


def _parse(raw):
    """(lxml tree, what trafilatura reads, None) for an HTML page, else (None, None, problem).

    Control characters (a NUL, a stray form feed) are removed rather than judged: lxml
    refuses them, and one of them must not cost a story. A page full of them is binary.
    """
    if not raw or not raw.strip():
        return None, None, "empty"
    if raw.lstrip()[:5] == b"%PDF-":
        return None, None, "not html (pdf)"
    text = _decode(raw)
    sample = text[:4000]
    controls = len(_CONTROL.findall(sample))
    if controls > len(sample) // 100 or sample.count("\ufffd") > len(sample) // 20 \
            or "<" not in sample:
        return None, None, "not html"
    if controls or _CONTROL.search(text):
        text = raw = _CONTROL.sub("", text)  # trafilatura reads the cleaned text too
    try:
        return lxml.html.document_fromstring(_XML_DECLARATION.sub("", text)), raw, None
    except (etree.ParserError, ValueError) as exc:
        return None, None, f"unparsable html ({exc})"


def _decode(raw):
    """Text of a page by its declared charset (often only in a meta tag), else sniffed.

    A page that declares its charset is read by it even with a few invalid bytes in it
    (replaced): trying the next candidate would turn a whole UTF-8 page into mojibake.
    """
    if raw[:3] == b"\xef\xbb\xbf":
        return raw[3:].decode("utf-8", "replace")
    match = _CHARSET.search(raw[:4096])
    declared = match[1].decode("ascii").lower() if match else None
    declared = _ENCODING_ALIASES.get(declared, declared)
    for encoding in (declared, "utf-8", "gb18030"):
        if not encoding:
            continue
        try:
            return raw.decode(encoding)
        except LookupError:
            continue
        except UnicodeDecodeError:
            if encoding == declared:
                text = raw.decode(encoding, "replace")
                if text.count("\ufffd") <= len(text) // 1000:
                    return text
    return raw.decode("utf-8", "replace")


def clean(text):
    """One line of text: full-width, no-break and zero-width spaces folded, trimmed."""
    # str.split() splits on what re's \s matches (full-width and no-break spaces too),
    # about 5x faster than a regex; zero-width spaces it does not count as space.
    return " ".join((text or "").replace("\u200b", " ").replace("\ufeff", " ").split())


def _first_text(tree, xpaths):
    """Cleaned text of the first element any XPath finds with text in it."""
    for xpath in xpaths:
        for element in tree.xpath(xpath):
            text = clean(element.text_content())
            if text:
                return text
    return None


def _metas(tree):
    """{lower-cased meta name or property: content}, the first of each name winning."""
    found = {}
    for meta in tree.iter("meta"):
        name = (meta.get("name") or meta.get("property") or "").lower()
        if name and meta.get("content") and name not in found:
            found[name] = clean(meta.get("content"))
    return found


def _title(tree, hints):
    """The headline: the site's own element, then title metas, then <title> minus suffixes."""
    title = _first_text(tree, hints.titles)
    if title:
        return title
    metas = _metas(tree)
    for name in ("articletitle", "og:title", "twitter:title"):
        if metas.get(name):
            return strip_suffix(metas[name])
    return strip_suffix(_first_text(tree, ("//title",)) or "") or _first_text(tree, ("//h1",))


def strip_suffix(title):
    """A headline without the site's " - Section - Chinadaily.com.cn" or "_…_中关村…" tail."""
    for suffix in _TITLE_SUFFIXES:
        title = suffix.sub("", title)
    return clean(title) or None


def _metadata(out, tree, hints, now):
    """Date and author: bylines first, then metas, then htmldate's guess for the date."""
    byline = _first_text(tree, hints.bylines) or ""
    metas = _metas(tree)
    out.published = labelled_date(byline, now) or parse_date(byline, now)
    for name in ("pubdate", "publishdate", "article:published_time", "publish_date", "date"):
        if not out.published and metas.get(name):
            out.published = parse_date(metas[name], now)
    if not out.published:
        out.published = _htmldate(tree, now)
    out.author = _author(byline) or metas.get("author") or None


def _author(byline):
    """The writer named in a byline ("By Li Fusheng in Haikou | China Daily | ..."), or None."""
    match = _BY.match(clean(byline.split("|")[0]))
    if match:
        return match[1]
    match = _AUTHOR_ZH.search(byline)
    return match[1] if match else None


def _htmldate(tree, now):
    """htmldate's date, without its extensive search (it picks sidebar dates), or None."""
    max_date = (now or datetime.now()).strftime("%Y-%m-%d")
    try:
        found = find_date(tree, extensive_search=False, max_date=max_date)
    except Exception as exc:  # a third-party guess must never stop an extraction
        logger.debug("htmldate failed: %s", exc)
        return None
    return parse_date(found) if found else None


def _body(raw, tree, url, hints, title):
    """Paragraphs of one page: trafilatura's, or the site's own when trafilatura lost text."""
    container = _container(tree, hints)
    try:
        text = trafilatura.extract(
            # On a known layout trafilatura reads only the article element: text outside it
            # is dropped below anyway, and a small tree is 2-3x faster to clean and score.
            _alone(container) if container is not None else raw, url=url,
            include_comments=False, include_tables=False, include_images=False,
            include_links=False, with_metadata=False, deduplicate=False,
            date_extraction_params={"extensive_search": False},
            # On a known site the site's own article element is the fallback (below), so
            # trafilatura's second opinion (readability, justext) is not needed: ~25 % faster.
            fast=hints is not GENERIC,
        )
    except Exception as exc:  # a third-party parser must never stop a crawl
        logger.warning("trafilatura failed on %s: %s", url, exc)
        text = None
    chrome = {title, _first_text(tree, hints.bylines)}  # trafilatura keeps these at times
    ours = _keep([clean(line) for line in (text or "").splitlines()], chrome)
    if container is None:
        return ours
    site = _keep(_paragraphs(container), chrome)
    if not site:  # the article element holds no text: a video or attachment-only page
        return []
    # Text outside the article element is page furniture (bylines, related links).
    inside = clean(container.text_content())
    captions = {clean(c.text_content()) for c in container.iter("figcaption")}
    ours = [line for line in ours if line in inside and line not in captions]
    if _size(ours) < 0.9 * _size(site):  # trafilatura dropped paragraphs
        return site
    return ours


def _alone(element):
    """A copy of `element` as the only content of an otherwise empty HTML document."""
    document = lxml.html.document_fromstring("<html><head></head><body></body></html>")
    document.body.append(copy.deepcopy(element))
    return document


def _container(tree, hints):
    """The site's article text element, if the page has one."""
    for xpath in hints.bodies:
        found = tree.xpath(xpath)
        if found:
            return found[0]
    return None


def _paragraphs(container):
    """Text of the <p>s in an article element, else its lines; captions left out."""
    container = copy.deepcopy(container)
    for figure in container.xpath(".//figure | .//figcaption"):
        figure.drop_tree()
    paragraphs = [clean(p.text_content()) for p in container.iter("p")]
    paragraphs = [p for p in paragraphs if p]
    if paragraphs:
        return paragraphs
    return [line for line in map(clean, container.text_content().splitlines()) if line]


def _keep(lines, chrome):
    """Paragraphs without blanks, the headline and byline, or attachment lines."""
    return [line for line in lines
            if line and line not in chrome and not _ATTACHMENT.match(line)]


def _size(paragraphs):
    return sum(len(p) for p in paragraphs)


def _language(title, body, tree):
    """"zh" when CJK characters make up a fifth of the letters, "en" for Latin text."""
    sample = f"{title or ''} {body[:3000]}"
    if sample.isascii():  # no CJK possible: skip counting
        return "en" if _LATIN.search(sample) else _declared_language(tree)
    cjk, latin = len(_CJK.findall(sample)), len(_LATIN.findall(sample))
    if cjk + latin:
        return "zh" if cjk >= 0.2 * (cjk + latin) else "en"
    return _declared_language(tree)


def _declared_language(tree):
    """The page's <html lang>, if it is one we know, for a page without letters."""
    declared = (tree.get("lang") or "").lower()[:2] if tree is not None else ""
    return declared if declared in ("zh", "en") else None
