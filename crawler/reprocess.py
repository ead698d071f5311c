"""`python -m crawler.reprocess`: re-extract, re-score and re-dedup the store from raw HTML."""

import argparse
import logging
import sys

from crawler.analysis import analyze
from crawler.pipelines import ArticleProcessor
from crawler.settings import ZGCWATCH_DEDUP_THRESHOLD
from store import StoreError, open_store
from store.articles import raw_pages
from store.runs import recount_finished
from store.transaction import write_transaction


def reprocess(db, threshold=ZGCWATCH_DEDUP_THRESHOLD, source=None):
    """Rebuild every crawled article from its stored pages, oldest first; return counts."""
    with write_transaction(db):  # start from a clean slate so originals are chosen afresh
        db.execute("UPDATE articles SET duplicate_of = NULL, similarity = NULL")
        db.execute("DELETE FROM dedup_signatures")
    processor = ArticleProcessor(db, threshold)
    sql = "SELECT id, url, source, title FROM articles WHERE source <> 'seed'"
    params = []
    if source:
        sql += " AND source = ?"
        params.append(source)
    counts = {"articles": 0, "relevant": 0, "duplicates": 0, "without_pages": 0}
    for row in list(db.query(sql + " ORDER BY published, id", params)):
        pages = raw_pages(db, row["id"])
        if not pages:
            counts["without_pages"] += 1
            continue
        analysis = analyze([(url, html) for url, _, html in pages], row["source"],
                           fallback_title=row["title"])
        story, _ = processor.store(row["url"], row["source"], analysis, pages)
        counts["articles"] += 1
        counts["relevant"] += story.is_relevant
        counts["duplicates"] += story.duplicate_of is not None
    # Stories and copies may have changed places: each run's counts follow its articles.
    for (run_id,) in db.execute("SELECT DISTINCT first_run FROM articles "
                                "WHERE first_run IS NOT NULL").fetchall():
        recount_finished(db, run_id)
    return counts


def main(argv=None):
    """Command line: reprocess the store named by --db or ZGCWATCH_DB."""
    parser = argparse.ArgumentParser(prog="zgcwatch-reprocess", description=__doc__)
    parser.add_argument("--db", help="SQLite file (default: ZGCWATCH_DB or data/zgcwatch.db)")
    parser.add_argument("--source", choices=["chinadaily", "zgcgw"], help="only this source")
    parser.add_argument("--threshold", type=float, default=ZGCWATCH_DEDUP_THRESHOLD,
                        help="near-duplicate similarity threshold (0..1)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        db = open_store(args.db)
    except StoreError as exc:
        print(f"zgcwatch: {exc}", file=sys.stderr)
        return 1
    counts = reprocess(db, args.threshold, args.source)
    print(", ".join(f"{k} {v}" for k, v in counts.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
