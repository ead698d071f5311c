"""Reads and writes of `articles`, `url_aliases` and `raw_pages`."""

import zlib
from datetime import UTC, datetime

from store import search
from store.transaction import write_transaction


def utcnow():
    """Now, UTC, ISO 8601 to the second: the store's clock format."""
    return datetime.now(UTC).isoformat(timespec="seconds")


def known_urls(db, source=None):
    """Every URL the store has for `source` (articles and their aliases), as a set."""
    if source is None:
        rows = db.execute("SELECT url FROM articles UNION SELECT url FROM url_aliases")
    else:
        rows = db.execute(
            "SELECT url FROM articles WHERE source = ? UNION "
            "SELECT a.url FROM url_aliases a JOIN articles r ON r.id = a.article_id "
            "WHERE r.source = ?",
            [source, source],
        )
    return {row[0] for row in rows}


# Missing any of these, an article may come from a transient or broken answer.
INCOMPLETE = "(coalesce(title, '') = '' OR coalesce(published, '') = '' OR coalesce(body, '') = '')"


def refetch_urls(db, source, max_fetches):
    """URLs of `source`'s incomplete articles (and their aliases) fetched < max_fetches times.

    A page answered without its headline, date or text (a server error dressed as a page,
    a truncated body) is asked again at the next runs; after `max_fetches` it is final.
    """
    rows = db.execute(
        f"WITH due AS (SELECT id, url FROM articles WHERE source = ? AND {INCOMPLETE} "
        "AND coalesce(fetches, 1) < ?) "
        "SELECT url FROM due UNION "
        "SELECT a.url FROM url_aliases a JOIN due ON due.id = a.article_id",
        [source, max_fetches],
    )
    return {row[0] for row in rows}


def count_fetch(db, article_id, created):
    """Count one more fetch of a stored article (the first when it was just created)."""
    with write_transaction(db):
        db.execute("UPDATE articles SET fetches = CASE WHEN ? THEN 1 "
                   "ELSE coalesce(fetches, 1) + 1 END WHERE id = ?", [created, article_id])


def dead_urls(db, source, since):
    """URLs of `source` found dead (a redirect loop) at or after `since`: not asked again yet."""
    rows = db.execute("SELECT url FROM dead_urls WHERE source = ? AND last_seen >= ?",
                      [source, since])
    return {row[0] for row in rows}


def mark_dead(db, url, source, reason, now=None):
    """Remember that `url` leads nowhere (e.g. "redirect loop"), or that it still does."""
    now = now or utcnow()
    with write_transaction(db):
        db.execute(
            "INSERT INTO dead_urls (url, source, reason, first_seen, last_seen) "
            "VALUES (?, ?, ?, ?, ?) ON CONFLICT(url) DO UPDATE SET "
            "reason = excluded.reason, last_seen = excluded.last_seen, hits = hits + 1",
            [url, source, reason, now, now])


def article_id(db, url):
    """The id of the article stored at `url` or aliased to it, else None."""
    row = db.execute(
        "SELECT id FROM articles WHERE url = ? UNION ALL "
        "SELECT article_id FROM url_aliases WHERE url = ? LIMIT 1",
        [url, url],
    ).fetchone()
    return row[0] if row else None


def get_article(db, id_):
    """One article row as a dict, or None."""
    rows = list(db.query("SELECT * FROM articles WHERE id = ?", [id_]))
    return rows[0] if rows else None


def compress_html(html):
    """A page's HTML as `raw_pages` keeps it."""
    return zlib.compress(html, 1)  # level 1: ~3x faster than level 6, HTML still shrinks ~3x


def upsert_article(db, record, now=None, index_tokens=None, first_run=None):
    """Insert or update the article at record['url']; return (id, created).

    An unchanged record only moves `last_seen`, so re-crawling a page is harmless.
    `first_run`: the crawl run storing it, kept only when the article is new.
    `index_tokens`: record's (title, body) as `search.index_text` gives them, when the
    caller segmented them already (a crawl does, in its worker, off the writer's thread).
    """
    now = now or utcnow()
    # One transaction, write lock first: the row and its search index entry land together.
    with search.indexed(db):
        existing = list(db.query("SELECT * FROM articles WHERE url = ?", [record["url"]]))
        # Plain SQL: sqlite-utils' insert/update read the table's schema on every call.
        if not existing:
            changes = {**record, "first_seen": now, "last_seen": now, "first_run": first_run}
            cursor = db.execute(
                f"INSERT INTO articles ({', '.join(changes)}) "
                f"VALUES ({', '.join('?' * len(changes))})",
                list(changes.values()),
            )
            id_, created = cursor.lastrowid, True
        else:
            row = existing[0]
            changes = {k: v for k, v in record.items() if row.get(k) != v}
            changes["last_seen"] = now
            db.execute(
                f"UPDATE articles SET {', '.join(f'{k} = ?' for k in changes)} WHERE id = ?",
                [*changes.values(), row["id"]])
            id_, created = row["id"], False
        if index_tokens is not None and {"title", "body"} & changes.keys():
            search.store_tokens(db, [(id_, *index_tokens)])
        return id_, created


def add_alias(db, url, article_id, kind, now=None):
    """Remember that `url` leads to the stored article (a redirect, a twin URL)."""
    with write_transaction(db):
        db.execute(
            "INSERT OR IGNORE INTO url_aliases (url, article_id, kind, first_seen) "
            "VALUES (?, ?, ?, ?)",
            [url, article_id, kind, now or utcnow()],
        )


def save_raw_pages(db, article_id, pages, now=None, compressed=None):
    """Keep each fetched page's HTML, compressed: [(url, encoding, html_bytes), ...].

    `compressed`: the pages' `compress_html()` blobs, when the caller made them already.
    """
    now = now or utcnow()
    if compressed is None:
        compressed = [compress_html(html) for _, _, html in pages]
    with write_transaction(db):
        db.execute("DELETE FROM raw_pages WHERE article_id = ?", [article_id])
        db.conn.executemany(
            "INSERT INTO raw_pages (article_id, page_no, url, fetched_at, encoding, html) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            [(article_id, page_no, url, now, encoding, blob)
             for page_no, ((url, encoding, _), blob)
             in enumerate(zip(pages, compressed, strict=True), start=1)],
        )


def raw_pages(db, article_id):
    """The stored pages of one article: [(url, encoding, html_bytes), ...] in order."""
    rows = db.execute(
        "SELECT url, encoding, html FROM raw_pages WHERE article_id = ? ORDER BY page_no",
        [article_id],
    )
    return [(url, encoding, zlib.decompress(html)) for url, encoding, html in rows]
