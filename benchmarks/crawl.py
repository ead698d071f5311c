"""Crawl throughput: bare trafilatura over N local pages vs the full `scrapy crawl`.

    python -m benchmarks.crawl [--articles 500] [--workers 0 1 2] [--repeat 3]

Generates a China Daily-shaped site of N article pages (20 per listing page), serves it on
127.0.0.1, then measures in this one command: (a) `trafilatura.extract` over the same
pages in one process, the baseline; (b) the full crawl (fetch, extract, score, dedup,
store) as a subprocess, timed from its own stats (start-up excluded). Prints pages/s and
the ratio (b)/(a), the median of --repeat rounds and its range: only ratios measured side
by side are stable on a shared machine.
"""

import argparse
import json
import random
import sqlite3
import statistics
import tempfile
import time
from pathlib import Path

import trafilatura

from tests.conftest import crawl
from tests.fixtures import build_fixtures as fx
from tests.siteserver import serve

PER_PAGE = 20
SYLLABLES = ("ba ce di fo gu ha je ki lo mu na pe qi ro su ta ve wi xo yu za bre cla dro "
             "fli gra ple pro sta tri zhong guan cun hai gui tal ent park").split()


def vocabulary(rng, size=6000):
    """Pseudo-words with a long tail, so bodies share common words but not whole passages."""
    words = {"".join(rng.choices(SYLLABLES, k=rng.randint(1, 4))) for _ in range(size * 2)}
    return sorted(words)[:size]


def sentence(rng, words):
    """One sentence of 12-24 words drawn with a Zipf-like skew, as in real text."""
    picks = [words[min(len(words) - 1, int(rng.paretovariate(1.1)) - 1)] if rng.random() < 0.5
             else rng.choice(words) for _ in range(rng.randint(12, 24))]
    return " ".join(picks).capitalize() + "."


def article(n, rng, words):
    """The n-th generated article as the fixture generator's article dict."""
    day = 1 + n % 28
    return {
        "slug": f"bench-{n}", "when": f"2025-{1 + n % 12:02d}-{day:02d} {n % 24:02d}:{n % 60:02d}",
        "title": f"Story {n}: " + sentence(rng, words)[:60], "section": "China",
        "bread": ["Home", "China", "Society"],
        "byline": f"By Reporter {n} | China Daily | Updated: 2025-01-{day:02d} 08:00",
        "publishdate_meta": True,
        "body": [" ".join(sentence(rng, words) for _ in range(rng.randint(3, 6)))
                 for _ in range(rng.randint(6, 12))],
    }


def build_site(root, count):
    """Write listing and article pages of a generated site under root/site."""
    rng = random.Random(20261128)
    words = vocabulary(rng)
    articles = [article(n, rng, words) for n in range(count)]
    section = {"path": "/china/society", "title": "Society", "parent": "China"}
    pages = -(-count // PER_PAGE)
    for page in range(1, pages + 1):
        chunk = articles[(page - 1) * PER_PAGE: page * PER_PAGE]
        items = [fx.cd_item(fx.CD + fx.cd_path(a), fx.esc(a["title"]), a["when"]) for a in chunk]
        name = "index.html" if page == 1 else f"page_{page}.html"
        fx.write(root / "site/china/society" / name,
                 fx.cd_listing(section, page, pages, items, "", ""))
    for a in articles:
        fx.write(root / "site" / fx.cd_path(a).lstrip("/"), fx.cd_article_page(a, 1, []))
    return [root / "site" / fx.cd_path(a).lstrip("/") for a in articles], pages


def bare_extraction(files):
    """Pages per second of trafilatura.extract over the pages' bytes, in this process."""
    blobs = [f.read_bytes() for f in files]
    started = time.perf_counter()
    for blob in blobs:
        trafilatura.extract(blob)
    return len(blobs) / (time.perf_counter() - started)


def full_crawl(root, base_url, pages, workers, round_no=0):
    """Pages per second of the full crawl, from the crawl's own elapsed time."""
    db_path = root / f"bench-{workers}-{round_no}.db"
    result = crawl("chinadaily", base_url, db_path, {
        "ZGCWATCH_CHINADAILY_SECTIONS": "/china/society",
        "ZGCWATCH_CHINADAILY_SEARCH": "",
        "ZGCWATCH_MAX_PAGES": str(pages),
        "ZGCWATCH_MAX_NEW_ARTICLES": "0",  # the whole site in one run: it measures throughput
        "ZGCWATCH_EXTRACT_WORKERS": str(workers),
        "CONCURRENT_REQUESTS": "16", "CONCURRENT_REQUESTS_PER_DOMAIN": "16",
        "LOG_LEVEL": "WARNING",
    }, timeout=1800)
    if result.returncode != 0:
        raise SystemExit(f"crawl failed: {result.stderr[-2000:]}")
    conn = sqlite3.connect(db_path)
    stats, stored = conn.execute(
        "SELECT stats, articles_new FROM crawl_runs ORDER BY id DESC LIMIT 1").fetchone()
    conn.close()
    return stored / json.loads(stats)["elapsed_time_seconds"], stored


def main(argv=None):
    """Build the site, run both measurements, print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=500)
    parser.add_argument("--workers", type=int, nargs="+", default=[0, 1, 2],
                        help="ZGCWATCH_EXTRACT_WORKERS values to measure")
    parser.add_argument("--repeat", type=int, default=3, help="runs per value; median shown")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        files, pages = build_site(root, args.articles)
        bare_extraction(files[:50])  # imports and caches warm, outside any timing
        # The machine is shared: each crawl gets its own baseline, measured just before
        # and just after it, and its ratio is to their mean; rounds interleave the values.
        results = {workers: [] for workers in args.workers}
        with serve(root) as site:
            for round_no in range(args.repeat):
                for workers in args.workers:
                    before = bare_extraction(files)
                    rate, stored = full_crawl(root, site.base_url, pages, workers, round_no)
                    baseline = (before + bare_extraction(files)) / 2
                    if stored != args.articles:
                        raise SystemExit(f"the crawl stored {stored} of {args.articles}")
                    results[workers].append((rate / baseline, baseline, rate))
        print(f"{'ZGCWATCH_EXTRACT_WORKERS':>24} {'bare pages/s':>13} {'crawl pages/s':>14} "
              f"{'median ratio':>13} {'range':>11}")
        for workers, runs in results.items():
            ratio, baseline, rate = statistics.median_low(runs)
            low, high = min(r[0] for r in runs), max(r[0] for r in runs)
            print(f"{workers:>24} {baseline:13.1f} {rate:14.1f} {ratio:13.2f} "
                  f"{low:5.2f}-{high:.2f}")


if __name__ == "__main__":
    main()
