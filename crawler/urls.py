"""Site URL rules: canonical forms, article patterns, and the base_url mirror mapping."""

import re
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

# Query keys that only track where a click came from; twins differing in them are one URL.
TRACKING_KEYS = re.compile(r"^(utm_\w+|spm|from|share_token|fbclid|gclid|mc_\w+|isappinstalled)$")
ATTACHMENT = re.compile(r"\.(pdf|docx?|xlsx?|pptx?|zip|rar|7z|wps|jpe?g|png|gif|mp4|mp3)$", re.I)


@dataclass(frozen=True)
class Site:
    """One monitored source: its hosts and the host spelling kept in the store."""

    source: str
    canonical_host: str
    host_suffixes: tuple  # any host equal to or ending in ".<suffix>" belongs to the source
    article_path: re.Pattern

    def owns(self, host):
        """True when `host` is one of this source's hosts."""
        host = (host or "").lower()
        return any(host == s or host.endswith("." + s) for s in self.host_suffixes)


SITES = {
    "chinadaily": Site(
        "chinadaily",
        "www.chinadaily.com.cn",
        ("chinadaily.com.cn",),
        re.compile(
            r"^/((?:[\w-]+/)*a/\d{6}/\d{2}/WS[0-9a-f]{24}(_\d+)?\.html"
            r"|(?:[\w-]+/)+\d{4}-\d{2}/\d{2}/content_\d+\.htm)$",
            re.I,
        ),
    ),
    "zgcgw": Site(
        "zgcgw",
        "zgcgw.beijing.gov.cn",
        ("zgcgw.beijing.gov.cn", "zgc.gov.cn"),
        re.compile(r"^/zgc/(?:[\w-]+/)+\d+/index\.html?$", re.I),
    ),
}


class SiteMap:
    """Translate between live URLs (what the store keeps) and fetch URLs (a mirror's)."""

    def __init__(self, source, base_url=None):
        self.site = SITES[source]
        self.base = urlsplit(base_url) if base_url else None
        if self.base and not (self.base.scheme in ("http", "https") and self.base.netloc):
            raise ValueError(f"base_url must look like http://host[:port], got {base_url!r}")

    @property
    def allowed_domains(self):
        """Domains Scrapy's offsite filter should let through."""
        if self.base:
            return [self.base.hostname]
        return list(self.site.host_suffixes)

    def live_url(self, url, base=None):
        """Resolve `url` against `base` and undo the mirror: the URL on the live site."""
        full = urljoin(base or f"https://{self.site.canonical_host}/", url.strip())
        parts = urlsplit(full)
        if self.base and parts.netloc == self.base.netloc:
            parts = parts._replace(scheme="https", netloc=self.site.canonical_host)
        return urlunsplit(parts)

    def owns(self, live_url):
        """True when the live URL is on one of this source's hosts."""
        return self.site.owns(urlsplit(live_url).hostname)

    def fetch_url(self, live_url):
        """The URL to request: the live URL, or its path on the mirror given as base_url."""
        parts = urlsplit(live_url)
        if self.base and self.site.owns(parts.hostname):
            parts = parts._replace(scheme=self.base.scheme, netloc=self.base.netloc)
        return urlunsplit(parts)

    def canonical(self, live_url):
        """One spelling per article: https, the canonical host, no fragment or tracking."""
        parts = urlsplit(live_url)
        query = urlencode(
            [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True)
             if not TRACKING_KEYS.match(k.lower())]
        )
        host = (parts.hostname or "").lower()
        if self.is_article(live_url):
            # Article pages are static: any query is noise, any host of the source the same.
            host, query = self.site.canonical_host, ""
        elif parts.port and parts.port not in (80, 443):
            host = f"{host}:{parts.port}"
        return urlunsplit(("https" if self.site.owns(host) else parts.scheme, host,
                           parts.path or "/", query, ""))

    def is_article(self, live_url):
        """True when the URL has the form of one of the source's article pages."""
        parts = urlsplit(live_url)
        return self.site.owns(parts.hostname) and bool(self.site.article_path.match(parts.path))

    @staticmethod
    def is_attachment(url):
        """True for links to documents and media rather than pages."""
        return bool(ATTACHMENT.search(urlsplit(url).path))
