"""What a spider may read of the store: the URLs it already has, and whether to stop early."""

from datetime import UTC, datetime, timedelta

from store.articles import dead_urls, known_urls, refetch_urls
from store.db import open_store
from store.runs import may_stop_early

DEAD_FOR = timedelta(days=7)  # a URL found dead is asked again after this


def crawl_state(path, source, max_fetches=3, now=None):
    """(URLs not to request, may paging stop early) read from the store at `path`.

    Not to request: stored articles, except incomplete ones fetched fewer than
    `max_fetches` times, plus the URLs found dead (redirect loops) in the last DEAD_FOR.
    """
    now = now or datetime.now(UTC)
    db = open_store(path)
    try:
        skip = known_urls(db, source) - refetch_urls(db, source, max_fetches)
        skip |= dead_urls(db, source, (now - DEAD_FOR).isoformat(timespec="seconds"))
        return skip, may_stop_early(db, source)
    finally:
        db.conn.close()
