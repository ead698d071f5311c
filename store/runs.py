"""The `crawl_runs` log: one row per crawl of one source."""

import json
import os

from store.articles import utcnow
from store.transaction import write_transaction

COUNTS = ("pages", "articles_new", "stories_new", "duplicates", "errors")


def pid_alive(pid):
    """True when a process with this pid exists (a run's crawl, a reprocess)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def start_run(db, source, pid=None, now=None):
    """Record a crawl as started (status 'running'); return its id."""
    with write_transaction(db):
        db["crawl_runs"].insert(
            {"source": source, "started_at": now or utcnow(), "status": "running", "pid": pid}
        )
        return db.execute("SELECT last_insert_rowid()").fetchone()[0]


def finish_run(db, run_id, status, counts=None, message=None, listing_complete=False,
               stats=None, now=None):
    """Close a run with its final status ('ok'|'partial'|'failed'), counts and message."""
    if status not in ("ok", "partial", "failed"):
        raise ValueError(f"unknown run status {status!r}")
    row = {k: int((counts or {}).get(k, 0)) for k in COUNTS}
    row.update(
        finished_at=now or utcnow(),
        status=status,
        message=message,
        listing_complete=int(bool(listing_complete)),
        stats=json.dumps(stats, default=str, sort_keys=True) if stats else None,
    )
    with write_transaction(db):
        db["crawl_runs"].update(run_id, row)


def outcome_counts(db, run_id):
    """{articles_new, stories_new, duplicates} of a run, as the store says now.

    Counted over the articles the run stored first (`first_run`), so a story that a later
    run found to be a copy of an earlier original counts as a duplicate, never twice.
    """
    articles, stories, duplicates = db.execute(
        "SELECT count(*), "
        "coalesce(sum(is_relevant = 1 AND duplicate_of IS NULL), 0), "
        "coalesce(sum(duplicate_of IS NOT NULL), 0) "
        "FROM articles WHERE first_run = ? AND source <> 'seed'", [run_id]).fetchone()
    return {"articles_new": articles, "stories_new": stories, "duplicates": duplicates}


def recount_finished(db, run_id):
    """Refresh a finished run's story counts (a running one counts itself when it ends)."""
    counts = outcome_counts(db, run_id)
    with write_transaction(db):
        db.execute(
            "UPDATE crawl_runs SET stories_new = ?, duplicates = ? "
            "WHERE id = ? AND status <> 'running'",
            [counts["stories_new"], counts["duplicates"], run_id])


def fail_running(db, source, message, ids=None, now=None):
    """Mark runs of `source` left 'running' (a killed crawl) as failed; return how many.

    With `ids`, only those runs: another crawl of the source may be running right now.
    """
    sql = "SELECT id FROM crawl_runs WHERE source = ? AND status = 'running'"
    ids = [row[0] for row in db.execute(sql, [source]) if ids is None or row[0] in ids]
    for run_id in ids:
        with write_transaction(db):
            db["crawl_runs"].update(
                run_id, {"status": "failed", "finished_at": now or utcnow(), "message": message}
            )
    return len(ids)


def last_finished(db, source):
    """The newest finished run of `source` as a dict, or None."""
    rows = list(
        db.query(
            "SELECT * FROM crawl_runs WHERE source = ? AND status IN ('ok','partial','failed') "
            "ORDER BY id DESC LIMIT 1",
            [source],
        )
    )
    return rows[0] if rows else None


def may_stop_early(db, source):
    """True when the newest finished run walked the listings to their end.

    Only then may paging stop at the first page that brings nothing new: after a
    killed or failed run the deeper pages it never reached are still owed.
    """
    last = last_finished(db, source)
    return bool(last and last["listing_complete"])


def run_of_pid(db, source, pid, since):
    """The newest run of `source` written by process `pid` since `since`, as a dict, or None."""
    rows = list(
        db.query(
            "SELECT * FROM crawl_runs WHERE source = ? AND pid = ? AND started_at >= ? "
            "ORDER BY id DESC LIMIT 1",
            [source, pid, since],
        )
    )
    return rows[0] if rows else None


def last_run(db, source, statuses=None):
    """The newest run of `source` (any status, or one of `statuses`) as a dict, or None."""
    sql = "SELECT * FROM crawl_runs WHERE source = ?"
    params = [source]
    if statuses:
        sql += f" AND status IN ({', '.join('?' for _ in statuses)})"
        params += list(statuses)
    rows = list(db.query(sql + " ORDER BY id DESC LIMIT 1", params))
    return rows[0] if rows else None


def recent_finished(db, source, limit=3):
    """The newest `limit` finished runs of `source`, newest first, as dicts."""
    return list(
        db.query(
            "SELECT * FROM crawl_runs WHERE source = ? AND status IN ('ok','partial','failed') "
            "ORDER BY id DESC LIMIT ?",
            [source, limit],
        )
    )


def stories_since(db, source, since):
    """How many new stories of `source` the store first saw at or after `since`."""
    return db.execute(
        "SELECT count(*) FROM stories WHERE source = ? AND first_seen >= ?", [source, since]
    ).fetchone()[0]
