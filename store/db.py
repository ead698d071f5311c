"""Open the SQLite store named by ZGCWATCH_DB: WAL, busy timeout, migrations, seeds."""

import logging
import os
import sqlite3
from pathlib import Path

import sqlite_utils

from store import migrations, search, seeds

logger = logging.getLogger(__name__)

DEFAULT_DB = "data/zgcwatch.db"
BUSY_TIMEOUT_S = 30


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
        raise StoreError(f"cannot use {path}: {exc}") from exc
    return db
