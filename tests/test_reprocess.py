"""`python -m crawler.reprocess`: the whole store rebuilt from raw HTML, without crawling."""

import shutil
import sqlite3
import subprocess
import sys

from tests.conftest import ROOT


def snapshot(db_path):
    """What a user sees: each article's relevance, original and key fields, by URL."""
    conn = sqlite3.connect(db_path)
    try:
        rows = conn.execute(
            "SELECT a.url, a.title, a.published, a.lang, a.is_relevant, o.url, length(a.body) "
            "FROM articles a LEFT JOIN articles o ON o.id = a.duplicate_of ORDER BY a.url"
        ).fetchall()
        stories = {r[0] for r in conn.execute("SELECT url FROM stories")}
    finally:
        conn.close()
    return rows, stories


def test_reprocess_rebuilds_the_same_store(crawled_store, tmp_path):
    db_path = tmp_path / "copy.db"
    shutil.copy(crawled_store, db_path)
    before = snapshot(db_path)
    conn = sqlite3.connect(db_path)
    with conn:  # as if a rule had changed: scores and links wiped
        conn.execute("UPDATE articles SET is_relevant = 0, duplicate_of = NULL, title = 'x' "
                     "WHERE source <> 'seed'")
    conn.close()
    result = subprocess.run([sys.executable, "-m", "crawler.reprocess", "--db", str(db_path)],
                            cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("articles 28, relevant 16, duplicates 4"), result.stdout
    assert snapshot(db_path) == before


def test_run_counts_follow_a_reprocess_that_changes_the_verdicts(crawled_store, tmp_path):
    db_path = tmp_path / "copy.db"
    shutil.copy(crawled_store, db_path)
    stories_before = len(snapshot(db_path)[1])
    result = subprocess.run([sys.executable, "-m", "crawler.reprocess", "--db", str(db_path),
                             "--threshold", "0.999"],  # only exact copies stay copies
                            cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    conn = sqlite3.connect(db_path)
    stories, = conn.execute("SELECT count(*) FROM stories").fetchone()
    copies, = conn.execute("SELECT count(*) FROM articles WHERE duplicate_of IS NOT NULL "
                           "AND source <> 'seed'").fetchone()
    counted = conn.execute("SELECT sum(stories_new), sum(duplicates) FROM crawl_runs").fetchone()
    conn.close()
    assert stories > stories_before  # near-copies became stories of their own
    assert counted == (stories, copies)


def test_reprocess_refuses_a_broken_store(tmp_path):
    db_path = tmp_path / "bad.db"
    db_path.write_bytes(b"nope" * 100)
    result = subprocess.run([sys.executable, "-m", "crawler.reprocess", "--db", str(db_path)],
                            cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert result.stderr.strip() == f"zgcwatch: cannot use {db_path}: file is not a database"
