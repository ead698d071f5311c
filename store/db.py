"""Open the SQLite store named by ZGCWATCH_DB: WAL, busy timeout, migrations, seeds."""

import logging
import os
import shutil
import sqlite3
from pathlib import Path

import sqlite_utils

from store import migrations, search, seeds
from store.transaction import write_transaction

logger = logging.getLogger(__name__)

DEFAULT_DB = "data/zgcwatch.db"
BUSY_TIMEOUT_S = 30
# A crawl writes ~30 KB per article (row, search index, compressed HTML, signature):
# with less room than this on the store's disk it would fetch pages only to drop them.
MIN_FREE_BYTES = 1024 * 1024


class StoreError(Exception):
    """A store that cannot be opened or used; the message is one line for the user."""


def db_path(path=None):
    """The store's path: the argument, else ZGCWATCH_DB, else data/zgcwatch.db."""
    return Path(path or os.environ.get("ZGCWATCH_DB") or DEFAULT_DB)


def open_store(path=None, *, seeds_dir=None, load_seeds=True, now=None):
    """Open (creating if needed) and migrate the store; load the seeds; return the Database."""
    path = db_path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StoreError(f"cannot create folder {path.parent}: {exc.strerror}") from exc
    if path.is_dir():
        raise StoreError(f"{path} is a folder, not a SQLite file")
    try:
        conn = sqlite3.connect(path, timeout=BUSY_TIMEOUT_S, check_same_thread=False)
    except sqlite3.Error as exc:
        raise StoreError(f"cannot open {path}: {exc}") from exc
    try:
        # Read before any write: a file that is not SQLite fails here, untouched.
        conn.execute("PRAGMA schema_version").fetchone()
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_S * 1000}")
        mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        if mode.lower() != "wal":
            logger.warning("store %s: journal mode is %s, not WAL", path, mode)
        # WAL + NORMAL: a commit cannot corrupt the file and needs no fsync of its own.
        conn.execute("PRAGMA synchronous = NORMAL")
        conn.execute("PRAGMA foreign_keys = ON")
        db = sqlite_utils.Database(conn)
        migrations.apply(db, path=path)
        if load_seeds:
            seeds.load(db, seeds_dir=seeds_dir, now=now)
            search.sync(db)  # seeds are written outside upsert_article; index them too
    except StoreError:
        conn.close()
        raise
    except sqlite3.DatabaseError as exc:
        conn.close()
        # A disk with no room left fails already here, often as a mere "disk I/O error".
        full = "store full: " if is_full(exc) or _free(path) < MIN_FREE_BYTES else ""
        raise StoreError(f"{full}cannot use {path}: {exc}") from exc
    return db


def _free(path):
    """Bytes free on the disk holding `path`."""
    return shutil.disk_usage(path.resolve().parent).free


def is_full(exc):
    """True when a SQLite error says the database or its disk is full."""
    return getattr(exc, "sqlite_errorcode", None) == sqlite3.SQLITE_FULL or (
        "database or disk is full" in str(exc))


def check_writable(db, path=None):
    """Raise StoreError unless the store takes a commit and its disk has room for a crawl.

    Opening a read-only file succeeds (SQLite falls back to reading), and a full disk is
    only found out at the first write: both are asked here, before anything is fetched.
    """
    path = db_path(path)
    try:
        with write_transaction(db):
            # Rewriting the header's user_version is a real commit that changes nothing.
            version = db.execute("PRAGMA user_version").fetchone()[0]
            db.execute(f"PRAGMA user_version = {int(version)}")
    except sqlite3.Error as exc:
        if is_full(exc):
            raise StoreError(f"store full: cannot write {path}: {exc}") from exc
        raise StoreError(f"cannot write {path}: {exc}") from exc
    free = _free(path)
    if free < MIN_FREE_BYTES:
        raise StoreError(f"store full: {free // 1024} KiB free on the disk of {path}, "
                         f"a crawl needs {MIN_FREE_BYTES // 1024} KiB")
