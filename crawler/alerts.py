"""The daemon's alerts through Apprise: new stories after a run, and source health.

After each run of a source, every target configured for it (`notify`) gets one message
listing the stories that run stored first, plus any it missed before; a target that fails
is logged and tried again after the next run, and a story accepted by a target is never
sent to it again (the `notifications` table). Source health: one message when the last
`alert_after` runs all failed or all found no article links, one when the source recovers.
Messages are plain text: a headline holding markup is sent as the characters it is.
"""

import json
import logging

import apprise

from store.db import open_store
from store.notifications import (
    last_health,
    mark_sent,
    pending_stories,
    queue_stories,
    record_health,
)
from store.runs import recent_finished

logger = logging.getLogger(__name__)

HEALTHY, FAILING, NO_LINKS, RECOVERED = "ok", "failing", "no_links", "recovered"


class Target:
    """One Apprise URL: sends a plain-text message, says whether it was accepted."""

    def __init__(self, url):
        self.url = url
        self.plugin = apprise.Apprise.instantiate(url)
        # The store and the logs name a target without its password or token.
        self.name = self.plugin.url(privacy=True) if self.plugin else url.split("://")[0] + "://"

    def send(self, title, body):
        """Send one message; True when the target accepted it. Never raises."""
        if self.plugin is None:
            logger.error("alert target %s: Apprise does not support this URL", self.name)
            return False
        try:
            sent = self.plugin.notify(body=body, title=title,
                                      body_format=apprise.NotifyFormat.TEXT)
        except Exception:  # a target's boundary: one bad target stops nothing else
            logger.exception("alert target %s failed", self.name)
            return False
        if not sent:
            logger.warning("alert target %s: not delivered; tried again after the next run",
                           self.name)
        return bool(sent)


def story_message(source, stories):
    """The title and body of a new-stories alert: headline, date, source, link per story."""
    count = len(stories)
    title = f"zgcwatch: {count} new {'story' if count == 1 else 'stories'} from {source}"
    lines = []
    for story in stories:
        date = (story["published"] or "undated")[:10]
        lines += [story["title"] or story["url"], f"{date} · {story['source']}", story["url"], ""]
    return title, "\n".join(lines).rstrip()


def health_state(runs, alert_after):
    """The health of a source from its newest finished runs (newest first).

    FAILING when the last `alert_after` runs all failed, NO_LINKS when they all failed or
    found no article link in any listing, HEALTHY when the newest run found links, else
    None (too few runs to say, or nothing has changed).
    """
    if not runs:
        return None
    links = [json.loads(run["stats"] or "{}").get("zgcwatch/listing/links", 0) for run in runs]
    if len(runs) >= alert_after:
        recent = runs[:alert_after]
        if all(run["status"] == "failed" for run in recent):
            return FAILING
        if all(run["status"] == "failed" or not n for run, n in zip(recent, links, strict=False)):
            return NO_LINKS
    if runs[0]["status"] != "failed" and links[0]:
        return HEALTHY
    return None


def health_message(source, state, runs, alert_after):
    """The title and body of a source health alert."""
    newest = runs[0]
    if state == FAILING:
        title = f"zgcwatch: {source} failed {alert_after} runs in a row"
        body = f"The last {alert_after} crawls of {source} failed."
    elif state == NO_LINKS:
        title = f"zgcwatch: {source} listings yield no article links"
        body = (f"The last {alert_after} crawls of {source} found no article links in its "
                f"listings: has the site changed its layout?")
    else:
        title = f"zgcwatch: {source} recovered"
        body = f"The latest crawl of {source} ended {newest['status']} and found articles again."
    last = f"Last run {newest['started_at']}: {newest['status']}"
    if newest["message"]:
        last += f" ({newest['message']})"
    return title, f"{body}\n{last}"


class Alerts:
    """Send the alerts of each finished run to the targets configured for its source."""

    def __init__(self, config):
        self.config = config

    def targets(self, source):
        """Fresh Target objects for `source`: the two sources' jobs run in parallel threads."""
        return [Target(url) for url in self.config.targets(source)]

    def after_run(self, source, row):
        """Queue and send the run's new stories, then any health change. Never raises."""
        targets = self.targets(source)
        if not targets or not row:
            return
        try:
            db = open_store(self.config.store, load_seeds=False)
        except Exception:
            logger.exception("%s: alerts skipped: cannot open the store", source.name)
            return
        try:
            queue_stories(db, row["id"], source.name, [t.name for t in targets])
            for target in targets:
                self._send_stories(db, source.name, target)
            self._send_health(db, source.name, targets)
        except Exception:  # a job boundary: alerts must never stop the crawls
            logger.exception("%s: alerts failed", source.name)
        finally:
            db.conn.close()

    def _send_stories(self, db, source, target):
        stories = pending_stories(db, source, target.name)
        if not stories:
            return
        if target.send(*story_message(source, stories)):
            mark_sent(db, target.name, [story["id"] for story in stories])
            logger.info("%s: %d new stories sent to %s", source, len(stories), target.name)

    def _send_health(self, db, source, targets):
        alert_after = self.config.alert_after
        runs = recent_finished(db, source, alert_after)
        state = health_state(runs, alert_after)
        if state is None:
            return
        for target in targets:
            last = last_health(db, source, target.name)
            if state == HEALTHY:
                if last not in (FAILING, NO_LINKS):
                    continue
                state_sent = RECOVERED
            elif state == last:
                continue
            else:
                state_sent = state
            if target.send(*health_message(source, state_sent, runs, alert_after)):
                record_health(db, source, target.name, state_sent, runs[0]["id"])

    def test(self, out):
        """Send a test message to every configured target; print which worked; 0 if all did."""
        urls = list(dict.fromkeys(
            [*self.config.notify,
             *(url for s in self.config.sources.values() for url in (s.notify or ()))]))
        if not urls:
            print("no alert targets configured (notify = [...])", file=out)
            return 2
        failed = 0
        for url in urls:
            target = Target(url)
            ok = target.send("zgcwatch: test message",
                             "This is a test message from zgcwatch: alerts reach you here.\n")
            failed += not ok
            print(f"{'ok    ' if ok else 'FAILED'}  {target.name}", file=out)
        print(f"{len(urls) - failed} of {len(urls)} targets worked", file=out)
        return 1 if failed else 0
