"""The `notifications` log: story alerts queued and sent per target, source health alerts sent.

A story is queued for each target once, when the run that stored it ends; it is marked
sent when that target accepted it, so it is retried after a failure and never sent twice,
also across restarts of the daemon.
"""

from store.articles import utcnow
from store.transaction import write_transaction


def queue_stories(db, run_id, source, targets, now=None):
    """Queue the stories first stored by run `run_id` for each target; return how many rows."""
    now = now or utcnow()
    queued = 0
    with write_transaction(db):
        for target in targets:
            cursor = db.execute(
                "INSERT OR IGNORE INTO notifications "
                "(kind, target, source, article_id, run_id, queued_at) "
                "SELECT 'story', ?, source, id, first_run, ? FROM stories "
                "WHERE first_run = ? AND source = ?",
                [target, now, run_id, source])
            queued += cursor.rowcount
    return queued


def pending_stories(db, source, target):
    """The stories of `source` queued for `target` and not sent, oldest publication first.

    A queued story that has since been found to copy another is no longer a story: skipped.
    """
    return list(db.query(
        "SELECT s.id, s.title, s.published, s.source, s.url, s.lang FROM notifications n "
        "JOIN stories s ON s.id = n.article_id "
        "WHERE n.kind = 'story' AND n.target = ? AND n.source = ? AND n.sent_at IS NULL "
        "ORDER BY coalesce(s.published, s.first_seen), s.id",
        [target, source]))


def mark_sent(db, target, article_ids, now=None):
    """Record that `target` accepted the alert for these stories."""
    now = now or utcnow()
    with write_transaction(db):
        for article_id in article_ids:
            db.execute(
                "UPDATE notifications SET sent_at = ? "
                "WHERE kind = 'story' AND target = ? AND article_id = ? AND sent_at IS NULL",
                [now, target, article_id])


def last_health(db, source, target):
    """The last source health state sent to `target` about `source`, or None."""
    row = db.execute(
        "SELECT state FROM notifications WHERE kind = 'health' AND source = ? AND target = ? "
        "AND sent_at IS NOT NULL ORDER BY id DESC LIMIT 1", [source, target]).fetchone()
    return row[0] if row else None


def record_health(db, source, target, state, run_id, now=None):
    """Record that `target` accepted a health alert: `source` is now `state`."""
    now = now or utcnow()
    with write_transaction(db):
        db["notifications"].insert({
            "kind": "health", "target": target, "source": source, "state": state,
            "run_id": run_id, "queued_at": now, "sent_at": now,
        })
