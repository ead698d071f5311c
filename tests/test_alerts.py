"""Alerts through Apprise to real receivers on 127.0.0.1: an HTTP server taking `json://`
posts and an SMTP server (aiosmtpd) taking `mailto://`; the daemon run as users run it."""

import os
import sqlite3
import subprocess
import sys

import pytest

from crawler.alerts import Alerts
from crawler.daemon_config import ConfigError, parse
from store.db import open_store
from store.runs import finish_run, start_run
from tests.conftest import ROOT
from tests.receivers import free_port, json_receiver, smtp_receiver
from tests.test_scheduler import write_config

STORY = "/a/202405/20/WS664a8a88a3100bf996d5e106.html"
HEADLINE = "Returnees power Zhongguancun's hard-tech push"
# Markup in a headline, escaped on the source page as a site does: it is text, not markup.
HOSTILE = f"{HEADLINE} <script>alert(1)</script> <img src=x onerror=alert(2)>"


def hostile_site(site_copy):
    """The China Daily fixture site served from a copy whose story headline holds markup."""
    site = site_copy("chinadaily")
    page = site.site_dir / "site" / STORY.lstrip("/")
    html = page.read_text(encoding="utf-8")
    escaped = HOSTILE.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    assert f"<h1>{HEADLINE}</h1>" in html
    page.write_text(html.replace(f"<h1>{HEADLINE}</h1>", f"<h1>{escaped}</h1>"),
                    encoding="utf-8")
    return site


def once(config):
    env = {k: v for k, v in os.environ.items() if not k.startswith("ZGCWATCH_")}
    return subprocess.run([sys.executable, str(ROOT / "scheduler.py"), "--config", str(config),
                           "--once"], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=180)


def query(db_path, sql):
    conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    conn.row_factory = sqlite3.Row
    try:
        return [dict(row) for row in conn.execute(sql)]
    finally:
        conn.close()


def expected_body(stories):
    lines = []
    for story in stories:
        lines += [story["title"], f"{story['published'][:10]} · chinadaily", story["url"], ""]
    return "\n".join(lines).rstrip()


def test_new_stories_alerted_once_across_restarts_and_a_dead_target_stops_nothing(
        tmp_path, site_copy):
    site = hostile_site(site_copy)
    dead = free_port()
    with json_receiver() as hook, smtp_receiver() as mail:
        config = write_config(tmp_path, {
            "chinadaily": {"base_url": site.base_url},
            "zgcgw": {"enabled": False},
        }, notify=[hook.url, mail.url, f"json://127.0.0.1:{dead}/hook"])
        first = once(config)
        assert first.returncode == 0, first.stderr[-3000:]
        assert f"json://127.0.0.1:{dead}/hook" in first.stderr
        assert "not delivered; tried again after the next run" in first.stderr

        db_path = tmp_path / "zgcwatch.db"
        stories = query(db_path, "SELECT title, published, url FROM stories "
                                 "ORDER BY coalesce(published, first_seen), id")
        assert len(stories) >= 5 and HOSTILE in [s["title"] for s in stories]
        title = f"zgcwatch: {len(stories)} new stories from chinadaily"
        body = expected_body(stories)
        assert "<script>alert(1)</script> <img src=x onerror=alert(2)>" in body
        assert "2024-05-20 · chinadaily\nhttps://www.chinadaily.com.cn" + STORY in body
        assert [(p["title"], p["message"]) for p in hook.posts] == [(title, body)]
        assert len(mail.messages) == 1
        message = mail.messages[0]
        assert (message["Subject"], message["To"]) == (title, "reader@example.org")
        assert message.get_content_type() == "text/plain"  # markup stays text in mail too
        assert message.get_content().replace("\r\n", "\n") == body + "\n"  # MIME ends lines

        sent = query(db_path, "SELECT target, count(*) AS n, count(sent_at) AS sent "
                              "FROM notifications WHERE kind = 'story' GROUP BY target")
        assert sorted((r["n"], r["sent"]) for r in sent) == [
            (len(stories), 0), (len(stories), len(stories)), (len(stories), len(stories))]

        # A restart: nothing new to say to the targets that got it; the dead one is back.
        with json_receiver(port=dead) as late:
            second = once(config)
            assert second.returncode == 0, second.stderr[-3000:]
            assert len(hook.posts) == 1 and len(mail.messages) == 1
            assert [(p["title"], p["message"]) for p in late.posts] == [(title, body)]
    runs = query(db_path, "SELECT status, stories_new FROM crawl_runs ORDER BY id")
    assert [r["stories_new"] for r in runs] == [len(stories), 0]
    assert query(db_path, "SELECT count(*) AS n FROM notifications WHERE sent_at IS NULL") == [
        {"n": 0}]


def add_run(db, status, links):
    run_id = start_run(db, "zgcgw", pid=1)
    finish_run(db, run_id, status, message="site unreachable" if status == "failed" else None,
               stats={"zgcwatch/listing/links": links})
    return {"id": run_id}


def test_source_health_alerted_when_failing_or_empty_and_when_recovered(tmp_path):
    db_path = tmp_path / "zgcwatch.db"
    db = open_store(db_path, load_seeds=False)
    with json_receiver() as hook:
        config = parse({"store": str(db_path), "notify": [hook.url], "alert_after": 3})
        alerts = Alerts(config)
        source = config.sources["zgcgw"]
        said = []
        for status, links in [("failed", 0), ("failed", 0), ("failed", 0), ("failed", 0),
                              ("ok", 12), ("ok", 12), ("partial", 0), ("ok", 0),
                              ("partial", 0), ("partial", 0), ("ok", 9)]:
            alerts.after_run(source, add_run(db, status, links))
            said.append([p["title"] for p in hook.posts[len(sum(said, [])):]])
    assert said == [
        [], [], ["zgcwatch: zgcgw failed 3 runs in a row"], [],
        ["zgcwatch: zgcgw recovered"], [], [], [],
        ["zgcwatch: zgcgw listings yield no article links"], [],
        ["zgcwatch: zgcgw recovered"],
    ]
    assert "has the site changed its layout?" in hook.posts[2]["message"]
    assert hook.posts[0]["message"].endswith("failed (site unreachable)")


def test_a_failed_health_alert_is_sent_at_the_next_run(tmp_path):
    db_path = tmp_path / "zgcwatch.db"
    db = open_store(db_path, load_seeds=False)
    port = free_port()
    config = parse({"store": str(db_path), "notify": [f"json://127.0.0.1:{port}/hook"],
                    "alert_after": 1})
    alerts = Alerts(config)
    alerts.after_run(config.sources["zgcgw"], add_run(db, "failed", 0))  # nobody listening
    with json_receiver(port=port) as hook:
        alerts.after_run(config.sources["zgcgw"], add_run(db, "failed", 0))
        alerts.after_run(config.sources["zgcgw"], add_run(db, "failed", 0))
    assert [p["title"] for p in hook.posts] == ["zgcwatch: zgcgw failed 1 runs in a row"]


def test_test_notify_says_which_target_worked(tmp_path):
    dead = free_port()
    with json_receiver() as hook, smtp_receiver() as mail:
        config = write_config(tmp_path, {"zgcgw": {"notify": [mail.url]}},
                              notify=[hook.url, f"json://127.0.0.1:{dead}/x"])
        result = subprocess.run([sys.executable, str(ROOT / "scheduler.py"), "--config",
                                 str(config), "--test-notify"], cwd=ROOT, capture_output=True,
                                text=True, timeout=60)
        assert result.returncode == 1, result.stderr
        lines = result.stdout.splitlines()
        assert lines[0].startswith(f"ok      {hook.url}?")
        assert lines[1].startswith(f"FAILED  json://127.0.0.1:{dead}/x?")
        assert lines[2].startswith(f"ok      mailto://127.0.0.1:{mail.url.split(':')[2][:5]}")
        assert lines[3:] == ["2 of 3 targets worked"]
        assert [p["title"] for p in hook.posts] == ["zgcwatch: test message"]
        assert [m["Subject"] for m in mail.messages] == ["zgcwatch: test message"]


def test_notify_config_top_level_and_per_source():
    config = parse({"notify": ["json://a/x"], "alert_after": 5,
                    "sources": {"zgcgw": {"notify": ["mailto://u:p@example.org"]},
                                "chinadaily": {}}})
    assert config.alert_after == 5
    assert config.targets(config.sources["chinadaily"]) == ("json://a/x",)
    assert config.targets(config.sources["zgcgw"]) == ("mailto://u:p@example.org",)
    assert parse({}).notify == () and parse({}).alert_after == 3
    silent = parse({"notify": ["json://a/x"], "sources": {"zgcgw": {"notify": []}}})
    assert silent.targets(silent.sources["zgcgw"]) == ()


@pytest.mark.parametrize("data, message", [
    ({"notify": "json://a"}, 'notify: expected a list of Apprise URLs like'),
    ({"notify": ["json://a", ""]}, "notify: expected a list of Apprise URLs like"),
    ({"notify": ["user:secret@host"]}, 'notify[0]: expected an Apprise URL like "json://'),
    ({"sources": {"zgcgw": {"notify": [3]}}}, "sources.zgcgw.notify: expected a list"),
    ({"alert_after": 0}, "alert_after: expected a whole number of runs, 1 or more, got 0"),
    ({"alert_after": "3"}, 'alert_after: expected a whole number of runs, 1 or more, got "3"'),
])
def test_bad_notify_config_is_one_line_without_the_secret(data, message):
    with pytest.raises(ConfigError) as error:
        parse(data)
    assert str(error.value).startswith(message)
    assert "secret" not in str(error.value)
