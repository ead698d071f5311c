"""The store's write transactions: take the write lock first; nested ones join the outer."""

from contextlib import contextmanager


@contextmanager
def write_transaction(db):
    """One transaction that takes the write lock first (BEGIN IMMEDIATE).

    Taking it up front means a read followed by a write inside cannot fail with
    `database is locked` because another process wrote in between; the busy timeout
    waits for the lock instead. Inside an open transaction it joins that transaction.
    """
    if db.conn.in_transaction:
        # Already inside one: an error propagates and rolls the whole of it back, so a
        # savepoint per nested write would only cost time (a crawl nests several).
        yield db
        return
    db.conn.execute("BEGIN IMMEDIATE")
    try:
        yield db
        db.conn.execute("COMMIT")
    except BaseException:
        if db.conn.in_transaction:
            db.conn.execute("ROLLBACK")
        raise
