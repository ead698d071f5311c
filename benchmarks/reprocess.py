"""Reprocess throughput: the same stored history redone on one core, then on all of them.

    python -m benchmarks.reprocess [--articles 2000] [--workers 2] [--repeat 2]

Builds a store of N China Daily-shaped article pages (the crawl benchmark's generator),
stored as a crawl leaves them (raw pages, extracted and scored rows, signatures, search
index), then times `reprocess()` over copies of it, as after a profile change, side by
side in this one command: with the analysis in this process (one core, the baseline) and
with a pool of --workers processes. Rounds interleave the two; prints pages/s, the ratio
and its range.
"""

import argparse
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from benchmarks.crawl import build_site
from crawler.reprocess import reprocess
from store import open_store
from store.articles import save_raw_pages, upsert_article
from tests.fixtures import build_fixtures as fx


def build_store(root, count):
    """A store of `count` stored stories with their raw pages, as crawls leave it."""
    files, _ = build_site(root, count)
    db = open_store(root / "base.db")
    site = root / "site"
    for path in files:
        url = fx.CD.replace("//", "https://", 1) + "/" + str(path.relative_to(site))
        id_, _ = upsert_article(db, {"url": url, "source": "chinadaily"})
        save_raw_pages(db, id_, [(url, "utf-8", path.read_bytes())])
    reprocess(db)  # extracted, scored and deduplicated once, as a crawl stores them
    db.conn.close()
    return root / "base.db"


def timed(base, path, workers):
    """Pages per second of one whole reprocess of a fresh copy of the store."""
    shutil.copy(base, path)
    db = open_store(path)
    started = time.perf_counter()
    summary = reprocess(db, workers=workers)
    elapsed = time.perf_counter() - started
    db.conn.close()
    path.unlink()
    return summary["articles"] / elapsed


def main(argv=None):
    """Print pages/s on one core and with a worker pool, and their ratio."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.reprocess", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--articles", type=int, default=2000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        started = time.perf_counter()
        base = build_store(root, args.articles)
        print(f"store of {args.articles} articles built in {time.perf_counter() - started:.1f} s")
        ratios, rows = [], []
        for _ in range(args.repeat):
            one = timed(base, root / "one.db", 0)
            pool = timed(base, root / "pool.db", args.workers)
            ratios.append(pool / one)
            rows.append((one, pool))
        one = statistics.median(r[0] for r in rows)
        pool = statistics.median(r[1] for r in rows)
        print(f"{'workers':>8} {'pages/s':>8}")
        print(f"{'0 (one core)':>8} {one:8.1f}")
        print(f"{args.workers:>8} {pool:8.1f}")
        print(f"ratio {statistics.median(ratios):.2f} (range {min(ratios):.2f}-{max(ratios):.2f},"
              f" {args.repeat} rounds)")


if __name__ == "__main__":
    main()
