"""Items passed from the spiders to the pipeline."""

from dataclasses import dataclass, field


@dataclass
class ArticleItem:
    """One fetched story: its canonical URL and the raw pages it spans, in order."""

    url: str
    source: str
    pages: list = field(default_factory=list)  # [(fetched_url, encoding, body_bytes)]
    listing_title: str | None = None
    listing_date: str | None = None
    aliases: list = field(default_factory=list)  # canonical URLs that redirected here
    missing_pages: int = 0


@dataclass
class AliasItem:
    """A URL that leads to an article stored under another URL (a redirect)."""

    url: str
    target: str
    kind: str = "redirect"


@dataclass
class DeadUrlItem:
    """A URL that leads nowhere (a redirect loop): not requested again for a while."""

    url: str
    source: str
    reason: str


@dataclass
class StoryItem:
    """What the pipeline stored for one article: the exported, human-readable record."""

    id: int
    url: str
    source: str
    title: str | None
    published: str | None
    author: str | None
    lang: str | None
    body: str
    is_relevant: bool
    relevance: float
    duplicate_of: int | None
    similarity: float | None
    matched_terms: dict
    warnings: list
    replaces: int | None = None  # a stored story this earlier-published original displaced
    review: bool = False  # close to relevant: for a person to judge
    evidence: str | None = None  # the headline or sentence(s) where place and talent meet
