"""What a spider may read of the store: the URLs it already has, and whether to stop early."""

from store.articles import known_urls
from store.db import open_store
from store.runs import may_stop_early


def crawl_state(path, source):
    """(known URLs of `source`, may paging stop early) read from the store at `path`."""
    db = open_store(path)
    try:
        return known_urls(db, source), may_stop_early(db, source)
    finally:
        db.conn.close()
