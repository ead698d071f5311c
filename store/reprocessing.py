"""A reprocess pass's bookkeeping: its work list, progress and what it changed."""

import json
import os

from store.articles import utcnow
from store.runs import pid_alive
from store.transaction import write_transaction


def _is_story(a):
    """SQL: the article (alias `a`) is in the stories view."""
    return (f"(coalesce({a}.is_relevant, 0) = 1 AND {a}.duplicate_of IS NULL "
            f"AND {a}.source <> 'seed')")


def _is_review(a):
    """SQL: the article (alias `a`) is listed by the stories_to_review query."""
    return (f"(coalesce({a}.review, 0) = 1 AND {a}.duplicate_of IS NULL "
            f"AND {a}.source <> 'seed')")


class Busy(Exception):
    """Another reprocess is running on this store."""


def unfinished(db):
    """The newest reprocess run that has not finished, as a dict, or None."""
    rows = list(db.query("SELECT * FROM reprocess_runs WHERE finished_at IS NULL "
                         "ORDER BY id DESC LIMIT 1"))
    return rows[0] if rows else None


def begin(db, source=None, threshold=None, now=None):
    """Resume the unfinished pass, or start one over every crawled article; return its row.

    The work list is fixed at the start, oldest publication first (originals before their
    copies), with whether each article was a story or sent to review then. Raises Busy
    when the unfinished pass belongs to a process that still runs.
    """
    with write_transaction(db):
        run = unfinished(db)
        if run is not None:
            if run["pid"] and run["pid"] != os.getpid() and pid_alive(run["pid"]):
                raise Busy(f"another reprocess (pid {run['pid']}) is running on this store")
            db.execute("UPDATE reprocess_runs SET pid = ? WHERE id = ?", [os.getpid(), run["id"]])
            return {**run, "pid": os.getpid(), "resumed": True}
        run_id = db.execute(
            "INSERT INTO reprocess_runs (started_at, pid, source, threshold) VALUES (?, ?, ?, ?)",
            [now or utcnow(), os.getpid(), source, threshold]).lastrowid
        where, params = "source <> 'seed'", [run_id]
        if source:
            where += " AND source = ?"
            params.append(source)
        db.execute(
            "INSERT INTO reprocess_queue (run_id, article_id, position, was_story, was_review) "
            f"SELECT ?, id, row_number() OVER (ORDER BY published, id), {_is_story('a')}, "
            f"{_is_review('a')} FROM articles a WHERE {where} "
            "AND id IN (SELECT article_id FROM raw_pages)", params)
        total = db.execute("SELECT count(*) FROM reprocess_queue WHERE run_id = ?",
                           [run_id]).fetchone()[0]
        db.execute("UPDATE reprocess_runs SET total = ? WHERE id = ?", [total, run_id])
    return {**unfinished(db), "resumed": False}


def progress(db, run_id):
    """(done, total) of a pass."""
    return db.execute("SELECT coalesce(sum(done), 0), count(*) FROM reprocess_queue "
                      "WHERE run_id = ?", [run_id]).fetchone()


def todo(db, run_id, after, limit):
    """The next `limit` (position, article id, url, source, title) not done, past `after`."""
    return db.execute(
        "SELECT q.position, a.id, a.url, a.source, a.title FROM reprocess_queue q "
        "JOIN articles a ON a.id = q.article_id "
        "WHERE q.run_id = ? AND q.done = 0 AND q.position > ? ORDER BY q.position LIMIT ?",
        [run_id, after, limit]).fetchall()


def release(db, run_id):
    """Let a later process resume the pass: this one stops working on it."""
    with write_transaction(db):
        db.execute("UPDATE reprocess_runs SET pid = NULL WHERE id = ? AND pid = ?",
                   [run_id, os.getpid()])


def mark_done(db, run_id, article_ids):
    """Record articles as reprocessed (inside the caller's transaction, with their rows)."""
    db.conn.executemany("UPDATE reprocess_queue SET done = 1 WHERE run_id = ? AND article_id = ?",
                        [(run_id, i) for i in article_ids])


def done_signatures(db, run_id):
    """(article id, lang, signature) of the pass's done articles, in the pass's order."""
    yield from db.execute(
        "SELECT s.article_id, s.lang, s.signature FROM reprocess_queue q "
        "JOIN dedup_signatures s ON s.article_id = q.article_id "
        "WHERE q.run_id = ? AND q.done = 1 ORDER BY q.position", [run_id])


def finish(db, run_id, now=None):
    """Close a pass: what it changed, compared with the store when it began; a dict."""
    with write_transaction(db):
        added, removed, to_review, copies = db.execute(
            f"SELECT coalesce(sum({_is_story('a')} AND NOT q.was_story), 0), "
            f"coalesce(sum(q.was_story AND NOT {_is_story('a')}), 0), "
            f"coalesce(sum({_is_review('a')} AND NOT q.was_review), 0), "
            "coalesce(sum(a.duplicate_of IS NOT NULL), 0) "
            "FROM reprocess_queue q JOIN articles a ON a.id = q.article_id "
            "WHERE q.run_id = ?",
            [run_id]).fetchone()
        total = db.execute("SELECT count(*) FROM reprocess_queue WHERE run_id = ?",
                           [run_id]).fetchone()[0]
        summary = {"articles": total, "stories_added": added, "stories_removed": removed,
                   "sent_to_review": to_review, "copies": copies}
        db.execute("UPDATE reprocess_runs SET finished_at = ?, summary = ? WHERE id = ?",
                   [now or utcnow(), json.dumps(summary), run_id])
        db.execute("DELETE FROM reprocess_queue WHERE run_id = ?", [run_id])
    return summary
