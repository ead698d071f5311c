"""The pure, CPU-heavy part of handling a story: extract, score, sign. Runs in workers."""

import ctypes
import os
import signal
import sys
from dataclasses import dataclass
from functools import cache

from crawler.dedup import DedupIndex, hash_normalized, normalize
from crawler.extract import Extracted, extract_article
from crawler.relevance import Relevance, load_profile, score
from store.articles import compress_html
from store.search import index_text

PR_SET_PDEATHSIG = 1  # linux/prctl.h


@dataclass
class Analysis:
    """What a story's pages say: its fields, its relevance, its dedup signature.

    Also what storing it needs that costs CPU (search tokens, compressed pages), so the
    writer, on the crawl's reactor thread, only writes.
    """

    extracted: Extracted
    title: str | None  # the extracted headline, else the listing's
    relevance: Relevance
    body_hash: str | None
    signature: bytes | None
    index_tokens: tuple[str, str]  # (title, body) as the search index holds them
    compressed_pages: list[bytes]


@cache
def _profile():
    # seeds/topic.toml, or ZGCWATCH_TOPIC: a spawned worker inherits the environment.
    return load_profile()


@cache
def _signer():
    # Signatures depend only on the index's shingle and MinHash parameters, not its threshold.
    return DedupIndex()


def analyze(pages, source, fallback_title=None, compress=True):
    """Extract the story from its pages [(url, bytes)], score it and sign it for dedup.

    compress=False: leave out the compressed pages (a reprocess keeps the stored ones).
    """
    extracted = extract_article(pages, source)
    title = extracted.title or fallback_title
    relevance = score(_profile(), title, extracted.body, extracted.lang)
    body = extracted.body
    norm = normalize(body) if body else ""  # once, for both the hash and the signature
    return Analysis(
        extracted=extracted,
        title=title,
        relevance=relevance,
        body_hash=hash_normalized(norm) if body else None,
        signature=_signer().sign_normalized(norm) if body and extracted.lang else None,
        index_tokens=(index_text(title), index_text(body)),
        compressed_pages=[compress_html(html) for _, html in pages] if compress else [],
    )


def worker_init(niceness=5):
    """Start-up of an analysis worker: yield the CPU to the reactor, die with the crawl.

    Ctrl-C reaches the whole process group: the crawl then stops gracefully, and needs
    its worker for the stories in hand, so the worker ignores it (else it dies of
    KeyboardInterrupt and every later story fails with BrokenProcessPool). A crawl
    killed with SIGKILL cannot stop its workers; on Linux the kernel then sends them
    SIGTERM (PR_SET_PDEATHSIG), so no idle worker outlives its crawl.
    """
    os.nice(niceness)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
        if os.getppid() == 1:  # the crawl died before the line above took effect
            os._exit(0)


def warm_up():
    """Load the libraries and the profile, so a new worker's first story is not slow."""
    _profile()
    _signer()
    extract_article([("about:blank", b"<html><body><p>warm</p></body></html>")], "generic")
