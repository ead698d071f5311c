"""Versioned schema migrations, kept in PRAGMA user_version; each runs once, in order."""

import logging

from store.transaction import write_transaction

logger = logging.getLogger(__name__)

MIGRATIONS = {}


def migration(version):
    """Register a function as the migration to schema `version`."""

    def register(fn):
        MIGRATIONS[version] = fn
        return fn

    return register


def latest():
    """The newest schema version this code knows."""
    return max(MIGRATIONS)


def apply(db, path="store"):
    """Bring the store up to the latest version; refuse a store newer than the code."""
    from store.db import StoreError

    current = db.execute("PRAGMA user_version").fetchone()[0]
    if current > latest():
        raise StoreError(
            f"{path} has schema version {current}, newer than this zgcwatch knows "
            f"({latest()}); upgrade zgcwatch"
        )
    for version in sorted(v for v in MIGRATIONS if v > current):
        # One transaction per step: a failed step leaves the older version. Two processes
        # opening a new store at once: the second waits, then sees the step done.
        with write_transaction(db):
            if db.execute("PRAGMA user_version").fetchone()[0] >= version:
                continue
            MIGRATIONS[version](db)
            db.execute(f"PRAGMA user_version = {version}")
        logger.info("store %s migrated to schema version %d", path, version)


@migration(1)
def create_core_tables(db):
    """articles, crawl_runs, url_aliases, raw_pages and the stories view."""
    db.execute(
        """
        CREATE TABLE IF NOT EXISTS articles (
            id INTEGER PRIMARY KEY,
            url TEXT NOT NULL UNIQUE,
            source TEXT NOT NULL,
            title TEXT,
            published TEXT,
            author TEXT,
            lang TEXT,
            body TEXT,
            is_relevant INTEGER,
            relevance REAL,
            duplicate_of INTEGER REFERENCES articles(id),
            similarity REAL,
            first_seen TEXT NOT NULL,
            last_seen TEXT NOT NULL,
            body_hash TEXT,
            matched_terms TEXT,
            fetched_url TEXT,
            page_count INTEGER,
            warnings TEXT
        )
        """
    )
    for column in ("source", "published", "duplicate_of", "body_hash", "first_seen"):
        db.execute(
            f"CREATE INDEX IF NOT EXISTS idx_articles_{column} ON articles({column})"
        )
    db.execute(
        """
        CREATE TABLE IF NOT EXISTS crawl_runs (
            id INTEGER PRIMARY KEY,
            source TEXT NOT NULL,
            started_at TEXT NOT NULL,
            finished_at TEXT,
            status TEXT,
            pages INTEGER DEFAULT 0,
            articles_new INTEGER DEFAULT 0,
            stories_new INTEGER DEFAULT 0,
            duplicates INTEGER DEFAULT 0,
            errors INTEGER DEFAULT 0,
            message TEXT,
            listing_complete INTEGER DEFAULT 0,
            pid INTEGER,
            stats TEXT
        )
        """
    )
    db.execute(
        "CREATE INDEX IF NOT EXISTS idx_crawl_runs_source ON crawl_runs(source, started_at)"
    )
    db.execute(
        """
        CREATE TABLE IF NOT EXISTS url_aliases (
            url TEXT PRIMARY KEY,
            article_id INTEGER NOT NULL REFERENCES articles(id),
            kind TEXT NOT NULL,
            first_seen TEXT NOT NULL
        )
        """
    )
    db.execute(
        """
        CREATE TABLE IF NOT EXISTS raw_pages (
            article_id INTEGER NOT NULL REFERENCES articles(id),
            page_no INTEGER NOT NULL,
            url TEXT NOT NULL,
            fetched_at TEXT NOT NULL,
            encoding TEXT,
            html BLOB NOT NULL,
            PRIMARY KEY (article_id, page_no)
        )
        """
    )
    db.execute(
        """
        CREATE VIEW IF NOT EXISTS stories AS
        SELECT * FROM articles
        WHERE is_relevant = 1 AND duplicate_of IS NULL AND source <> 'seed'
        """
    )


@migration(2)
def create_dedup_signatures(db):
    """dedup_signatures: each article's persisted near-duplicate signature (opaque bytes)."""
    db.execute(
        """
        CREATE TABLE IF NOT EXISTS dedup_signatures (
            article_id INTEGER PRIMARY KEY REFERENCES articles(id) ON DELETE CASCADE,
            lang TEXT,
            signature BLOB NOT NULL
        )
        """
    )


@migration(3)
def add_search_index(db):
    """Full-text index `articles_fts` (see store/search.py), filled for existing rows."""
    from store import search

    search.rebuild(db)


@migration(4)
def add_first_run(db):
    """articles.first_run: the crawl run that stored the article first (NULL before v4).

    A run's counts of new stories and duplicates are then read from the store, so they
    stay true when another run's story later turns out to be a copy.
    """
    if "first_run" not in {row[1] for row in db.execute("PRAGMA table_info(articles)")}:
        db.execute("ALTER TABLE articles ADD COLUMN first_run INTEGER "
                   "REFERENCES crawl_runs(id)")
    db.execute("CREATE INDEX IF NOT EXISTS idx_articles_first_run ON articles(first_run)")


@migration(5)
def add_review_evidence_and_reprocess_queue(db):
    """articles.review and .evidence; reprocess_runs and reprocess_queue.

    review = 1: not relevant, but close (both sides named, only far apart or weakly), so
    a person may want to judge it; evidence: the headline or sentence(s) where the place
    and the talent side meet. Both NULL on rows stored before v5 until a reprocess.
    A reprocess keeps its work list and progress in the store, so an interrupted one
    resumes where it stopped, and it can say at the end what it changed.
    """
    have = {row[1] for row in db.execute("PRAGMA table_info(articles)")}
    if "review" not in have:
        db.execute("ALTER TABLE articles ADD COLUMN review INTEGER")
    if "evidence" not in have:
        db.execute("ALTER TABLE articles ADD COLUMN evidence TEXT")
    db.execute("CREATE INDEX IF NOT EXISTS idx_articles_review ON articles(review) "
               "WHERE review = 1")
    db.execute(
        """
        CREATE TABLE IF NOT EXISTS reprocess_runs (
            id INTEGER PRIMARY KEY,
            started_at TEXT NOT NULL,
            finished_at TEXT,
            pid INTEGER,
            source TEXT,
            threshold REAL,
            total INTEGER,
            summary TEXT
        )
        """
    )
    db.execute(
        """
        CREATE TABLE IF NOT EXISTS reprocess_queue (
            run_id INTEGER NOT NULL REFERENCES reprocess_runs(id),
            article_id INTEGER NOT NULL REFERENCES articles(id),
            position INTEGER NOT NULL,
            was_story INTEGER NOT NULL,
            was_review INTEGER NOT NULL,
            done INTEGER NOT NULL DEFAULT 0,
            PRIMARY KEY (run_id, article_id)
        )
        """
    )
    db.execute("CREATE INDEX IF NOT EXISTS idx_reprocess_queue_todo "
               "ON reprocess_queue(run_id, done, position)")


@migration(6)
def add_notifications(db):
    """notifications: each alert queued or sent to each target, so none goes out twice."""
    db.execute(
        """
        CREATE TABLE IF NOT EXISTS notifications (
            id INTEGER PRIMARY KEY,
            kind TEXT NOT NULL,
            target TEXT NOT NULL,
            source TEXT NOT NULL,
            article_id INTEGER REFERENCES articles(id),
            state TEXT,
            run_id INTEGER REFERENCES crawl_runs(id),
            queued_at TEXT NOT NULL,
            sent_at TEXT
        )
        """
    )
    db.execute("CREATE UNIQUE INDEX IF NOT EXISTS idx_notifications_story "
               "ON notifications(target, article_id) WHERE kind = 'story'")
    db.execute("CREATE INDEX IF NOT EXISTS idx_notifications_source "
               "ON notifications(source, target, kind)")


@migration(7)
def add_refetch_and_dead_urls(db):
    """articles.fetches (an incomplete article is fetched again) and dead_urls (loops)."""
    if "fetches" not in {row[1] for row in db.execute("PRAGMA table_info(articles)")}:
        # NULL for rows stored before v7: counted as fetched once.
        db.execute("ALTER TABLE articles ADD COLUMN fetches INTEGER")
    db.execute(
        """
        CREATE TABLE IF NOT EXISTS dead_urls (
            url TEXT PRIMARY KEY,
            source TEXT NOT NULL,
            reason TEXT NOT NULL,
            first_seen TEXT NOT NULL,
            last_seen TEXT NOT NULL,
            hits INTEGER NOT NULL DEFAULT 1
        )
        """
    )
