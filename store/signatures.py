"""Persisted near-duplicate signatures, so a crawl warms its dedup index without rehashing."""

from store.transaction import write_transaction

CHUNK = 500  # ids per IN (...) query, well under SQLite's bound-parameter limit


def save_signature(db, article_id, lang, signature):
    """Store (or replace) one article's signature; an empty one removes it."""
    save_signatures(db, [(article_id, lang, signature)])


def save_signatures(db, rows):
    """Store many (article_id, lang, signature) rows in one transaction."""
    rows = list(rows)
    with write_transaction(db):
        db.conn.executemany(
            "INSERT OR REPLACE INTO dedup_signatures (article_id, lang, signature) "
            "VALUES (?, ?, ?)",
            [(i, lang, bytes(sig)) for i, lang, sig in rows if sig],
        )
        db.conn.executemany(
            "DELETE FROM dedup_signatures WHERE article_id = ?",
            [(i,) for i, _, sig in rows if not sig],
        )


def delete_signature(db, article_id):
    """Forget one article's signature."""
    with write_transaction(db):
        db.execute("DELETE FROM dedup_signatures WHERE article_id = ?", [article_id])


def load_signatures(db, originals_only=False):
    """Every stored (article_id, lang, signature), oldest id first; a generator."""
    sql = "SELECT s.article_id, s.lang, s.signature FROM dedup_signatures s"
    if originals_only:
        sql += " JOIN articles a ON a.id = s.article_id WHERE a.duplicate_of IS NULL"
    yield from db.execute(sql + " ORDER BY s.article_id")


def missing_signatures(db):
    """(id, lang, body) of articles with a body but no signature: to backfill."""
    yield from db.execute(
        "SELECT a.id, a.lang, a.body FROM articles a "
        "LEFT JOIN dedup_signatures s ON s.article_id = a.id "
        "WHERE s.article_id IS NULL AND a.body IS NOT NULL AND a.body <> '' ORDER BY a.id"
    )


def load_bodies(db, ids):
    """{id: body} for the given article ids: what DedupIndex's fetch_bodies asks for."""
    ids = list(ids)
    found = {}
    for start in range(0, len(ids), CHUNK):
        part = ids[start : start + CHUNK]
        marks = ",".join("?" * len(part))
        found.update(db.execute(f"SELECT id, body FROM articles WHERE id IN ({marks})", part))
    return found
