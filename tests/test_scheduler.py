"""The daemon end to end: real `scheduler.py` processes running real crawls of fixture sites
on 127.0.0.1 into a store in tmp_path; plus --status and --list on a prepared store."""

import json
import os
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

import scheduler
from store.db import open_store
from store.runs import finish_run, start_run
from tests.conftest import FAST, FIXTURES, ROOT
from tests.siteserver import serve

SOURCES = ("chinadaily", "zgcgw")
# No retries, short timeouts: the fixtures' deliberately slow page costs 2 s, not 4+.
QUICK = {**FAST, "DOWNLOAD_TIMEOUT": "2", "RETRY_TIMES": "0"}


def toml_value(value):
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {toml_value(v)}" for k, v in value.items()) + " }"
    return json.dumps(value)  # strings, numbers, true/false: the same spelling in TOML


def write_config(tmp_path, sources, **top):
    """A config file with a store in tmp_path and `sources` {name: {key: value}}."""
    top = {"store": str(tmp_path / "zgcwatch.db"), "grace": "10s", "crawl_timeout": "60s",
           **top}
    lines = [f"{key} = {toml_value(value)}" for key, value in top.items()]
    for name, table in sources.items():
        table = {"settings": QUICK, **table}
        lines += [f"[sources.{name}]"] + [f"{k} = {toml_value(v)}" for k, v in table.items()]
    path = tmp_path / "zgcwatch.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


class Daemon:
    """`python scheduler.py --config PATH [args]` in the background, stderr kept in a file."""

    def __init__(self, config, *args):
        self.log_path = config.parent / f"daemon-{time.monotonic_ns()}.log"
        env = {k: v for k, v in os.environ.items() if k not in ("ZGCWATCH_DB", "ZGCWATCH_CONFIG")}
        with self.log_path.open("wb") as log:
            self.proc = subprocess.Popen(
                [sys.executable, str(ROOT / "scheduler.py"), "--config", str(config), *args],
                cwd=config.parent, env=env, stdout=subprocess.PIPE, stderr=log,
            )

    @property
    def log(self):
        return self.log_path.read_text(encoding="utf-8")

    def stop(self, timeout):
        """SIGTERM; return (exit code, seconds it took to exit)."""
        started = time.monotonic()
        self.proc.send_signal(signal.SIGTERM)
        code = self.proc.wait(timeout=timeout)
        return code, time.monotonic() - started

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


@pytest.fixture
def daemons():
    """Start daemons with daemons(config, *args); any left running are killed at the end."""
    started = []

    def start(config, *args):
        started.append(Daemon(config, *args))
        return started[-1]

    yield start
    for daemon in started:
        daemon.kill()


def runs(db_path, source=None):
    """The crawl_runs rows, oldest first, read as an outsider would (read-only)."""
    if not db_path.exists():
        return []
    conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=10)
    conn.row_factory = sqlite3.Row
    try:
        rows = [dict(r) for r in conn.execute("SELECT * FROM crawl_runs ORDER BY id")]
    except sqlite3.OperationalError:  # not created yet
        return []
    finally:
        conn.close()
    return [r for r in rows if source in (None, r["source"])]


def wait_until(check, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if result := check():
            return result
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def closed_port():
    """A port on 127.0.0.1 that nothing listens on (just released by us)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def slow_site(tmp_path, source, robots_delay):
    """A copy of a fixture site whose robots.txt (asked first) answers after a delay."""
    target = tmp_path / f"slow-{source}"
    shutil.copytree(FIXTURES / source, target)
    routes_file = target / "routes.json"
    routes = json.loads(routes_file.read_text()) if routes_file.exists() else []
    routes.insert(0, {"path": "/robots.txt", "delay": robots_delay})
    routes_file.write_text(json.dumps(routes))
    return target


def group_members(pgid):
    """Pids of the live processes in process group `pgid` (a crawl leads its own group)."""
    members = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rpartition(")")[2].split()
        except OSError:  # gone meanwhile
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":
            members.append(int(stat.parent.name))
    return members


def good(rows, source):
    return [r for r in rows if r["source"] == source and r["status"] in ("ok", "partial")]


def test_daemon_crawls_each_source_again_and_again_and_a_dead_site_stops_nothing(
        tmp_path, daemons):
    """One daemon lifetime: zgcgw's server is down, then back; chinadaily is served all along."""
    db_path = tmp_path / "zgcwatch.db"
    port = closed_port()
    with serve(FIXTURES / "chinadaily") as cd:
        config = write_config(tmp_path, {
            "chinadaily": {"every": "1s", "base_url": cd.base_url},
            "zgcgw": {"every": "2s", "base_url": f"http://127.0.0.1:{port}"},
        }, log_file=str(tmp_path / "logs" / "zgcwatch.log"))
        daemon = daemons(config)
        wait_until(lambda: runs(db_path), 20, "the first run")

        second = subprocess.run([sys.executable, str(ROOT / "scheduler.py"), "--config",
                                 str(config)], capture_output=True, text=True, timeout=30)
        assert (second.returncode, second.stdout) == (1, "")
        assert second.stderr == (f"zgcwatch: another scheduler (pid {daemon.proc.pid}) "
                                 f"is running on {db_path}\n")

        def zgcgw_failed_twice():
            return sum(r["status"] == "failed" for r in runs(db_path, "zgcgw")) >= 2

        wait_until(zgcgw_failed_twice, 30, "2 failed zgcgw runs")
        with serve(FIXTURES / "zgcgw", port=port):
            wait_until(lambda: len(good(runs(db_path), "zgcgw")) >= 2
                       and len(good(runs(db_path), "chinadaily")) >= 3,
                       45, "2 good zgcgw runs once its server is back, 3 good chinadaily runs")
            code, _ = daemon.stop(timeout=30)
    assert code == 0, daemon.log
    rows = [r for r in runs(db_path) if r["status"] != "running"]
    zgcgw = [r for r in rows if r["source"] == "zgcgw"]
    chinadaily = [r for r in rows if r["source"] == "chinadaily"]
    assert {r["status"] for r in chinadaily} <= {"ok", "partial"}, chinadaily
    assert chinadaily[0]["articles_new"] > 0 and chinadaily[0]["pages"] > 0, chinadaily[0]
    # Failed while down, good once back, and never failed again.
    statuses = [r["status"] for r in zgcgw]
    back = next(i for i, status in enumerate(statuses) if status != "failed")
    assert set(statuses[:back]) == {"failed"} and "failed" not in statuses[back:], statuses
    assert zgcgw[0]["message"].startswith("site unreachable: no response at all"), zgcgw[0]
    assert zgcgw[back]["articles_new"] > 0, zgcgw[back]
    assert not any(group_members(r["pid"]) for r in rows)  # no orphan goes on crawling

    log = daemon.log
    assert (tmp_path / "logs" / "zgcwatch.log").read_text(encoding="utf-8") == log
    assert f"zgcwatch scheduler started (pid {daemon.proc.pid}, store {db_path})" in log
    assert log.rstrip().endswith("INFO zgcwatch scheduler stopped")
    assert log.count("chinadaily: crawl started (pid ") == len(runs(db_path, "chinadaily"))
    assert "zgcgw: failed in " in log and "(site unreachable: no response at all" in log
    first = chinadaily[0]
    assert (f"chinadaily: {first['status']} in ") in log
    # The log says what the run found when it ended; its row's story counts may move since,
    # when a zgcgw crawl stored an earlier original of one of its stories (still summing up).
    said = re.search(rf"pages {first['pages']}, articles_new {first['articles_new']}, "
                     rf"stories_new (\d+), duplicates (\d+), errors {first['errors']}", log)
    assert said, log
    assert int(said[1]) + int(said[2]) == first["stories_new"] + first["duplicates"]


def test_sigterm_waits_grace_for_running_crawls_then_ends_them(tmp_path, daemons):
    db_path = tmp_path / "zgcwatch.db"
    with serve(slow_site(tmp_path, "chinadaily", 60)) as hung, \
            serve(slow_site(tmp_path, "zgcgw", 1)) as slow:
        settings = {**QUICK, "DOWNLOAD_TIMEOUT": "90"}
        config = write_config(tmp_path, {
            "chinadaily": {"every": "1h", "base_url": hung.base_url, "settings": settings},
            "zgcgw": {"every": "1h", "base_url": slow.base_url, "settings": settings},
        }, grace="8s")
        daemon = daemons(config)
        crawls = wait_until(lambda: len(runs(db_path)) == 2 and runs(db_path), 20,
                            "both crawls to start")
        assert all(r["pid"] in group_members(r["pid"]) for r in crawls)  # own groups
        code, seconds = daemon.stop(timeout=30)
    assert code == 0, daemon.log
    assert seconds < 8 + scheduler.KILL_WAIT + 2, seconds
    rows = {r["source"]: r for r in runs(db_path)}
    assert rows["chinadaily"]["status"] == "failed"
    assert rows["chinadaily"]["message"] == "stopped by SIGTERM after grace"
    assert rows["zgcgw"]["status"] in ("ok", "partial"), rows["zgcgw"]
    assert rows["zgcgw"]["articles_new"] > 0
    assert not any(group_members(r["pid"]) for r in rows.values())  # no orphan crawls on
    log = daemon.log
    assert "SIGTERM: no new crawls; running ones get 8s" in log
    assert "chinadaily: failed in " in log and "(stopped by SIGTERM after grace)" in log


def test_once_records_a_timed_out_crawl_and_exits_1(tmp_path):
    db_path = tmp_path / "zgcwatch.db"
    with serve(slow_site(tmp_path, "zgcgw", 60)) as hung:
        config = write_config(tmp_path, {
            "chinadaily": {"enabled": False},
            "zgcgw": {"base_url": hung.base_url,
                      "settings": {**QUICK, "DOWNLOAD_TIMEOUT": "90"}},
        }, crawl_timeout="2s")
        done = subprocess.run([sys.executable, str(ROOT / "scheduler.py"), "--config",
                               str(config), "--once"], capture_output=True, text=True,
                              timeout=60)
    assert done.returncode == 1, done.stderr
    [row] = runs(db_path)
    assert (row["source"], row["status"], row["message"]) == (
        "zgcgw", "failed", "timed out after 2s")
    assert group_members(row["pid"]) == []
    header, line, total = done.stdout.splitlines()
    assert header.split() == ["source", "status", "time", "pages", "articles_new",
                              "stories_new", "duplicates", "errors", "message"]
    assert line.split()[:2] == ["zgcgw", "failed"]
    assert line.endswith("timed out after 2s")
    assert total.startswith("1 sources in ")


def test_once_records_a_crawl_killed_from_outside(tmp_path, daemons):
    db_path = tmp_path / "zgcwatch.db"
    with serve(slow_site(tmp_path, "chinadaily", 60)) as hung:
        config = write_config(tmp_path, {
            "chinadaily": {"base_url": hung.base_url,
                           "settings": {**QUICK, "DOWNLOAD_TIMEOUT": "90"}},
            "zgcgw": {"enabled": False},
        })
        once = daemons(config, "--once")
        [running] = wait_until(lambda: runs(db_path, "chinadaily"), 20, "the crawl to start")
        os.kill(running["pid"], signal.SIGKILL)  # as the OOM killer would
        out, _ = once.proc.communicate(timeout=60)
    assert once.proc.returncode == 1, once.log
    [row] = runs(db_path)
    assert (row["status"], row["message"]) == ("failed", "crawl killed by SIGKILL")
    assert out.decode().splitlines()[1].split()[:2] == ["chinadaily", "failed"]
    assert "chinadaily: failed in " in once.log and "(crawl killed by SIGKILL)" in once.log


def test_a_crawl_that_dies_before_recording_gets_a_failed_run(tmp_path):
    db_path = tmp_path / "zgcwatch.db"
    config = write_config(tmp_path, {
        "chinadaily": {"enabled": False},
        # Scrapy cannot open its log file, so it dies before the spider opens.
        "zgcgw": {"base_url": f"http://127.0.0.1:{closed_port()}",
                  "settings": {**QUICK, "LOG_FILE": str(tmp_path / "missing" / "dir" / "x.log")}},
    })
    done = subprocess.run([sys.executable, str(ROOT / "scheduler.py"), "--config", str(config),
                           "--once"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 1, done.stderr
    [row] = runs(db_path)
    assert (row["source"], row["status"]) == ("zgcgw", "failed")
    assert row["message"].startswith("crawl exited with code 1: FileNotFoundError: "), row
    assert row["finished_at"] >= row["started_at"]


NOW = datetime(2025, 3, 10, 12, 0, tzinfo=UTC)


def stamp(days_ago):
    return (NOW - timedelta(days=days_ago)).isoformat(timespec="seconds")


def add_run(db, source, days_ago, status, links=3, message=None, **counts):
    run_id = start_run(db, source, pid=1, now=stamp(days_ago))
    if status != "running":
        finish_run(db, run_id, status, counts, message, stats={"zgcwatch/listing/links": links},
                   now=stamp(days_ago))


def test_status_shows_last_runs_new_stories_and_warnings(tmp_path, capsys):
    db_path = tmp_path / "zgcwatch.db"
    db = open_store(db_path, load_seeds=False)
    add_run(db, "chinadaily", 9, "ok", pages=20, articles_new=12, stories_new=3)
    add_run(db, "chinadaily", 3, "partial", links=0, pages=1)
    add_run(db, "chinadaily", 2, "failed", links=0, message="site unreachable: no response")
    add_run(db, "chinadaily", 1, "ok", links=0, pages=1)
    for days_ago in (3, 2, 1):
        add_run(db, "zgcgw", days_ago, "failed", message="crawl killed by SIGKILL")
    for i, (source, days_ago, relevant) in enumerate([
        ("chinadaily", 8, 1), ("chinadaily", 6, 1), ("chinadaily", 1, 0), ("zgcgw", 2, 1),
    ]):
        db["articles"].insert({"url": f"https://x/{i}", "source": source, "is_relevant": relevant,
                               "first_seen": stamp(days_ago), "last_seen": stamp(days_ago)})
    db.conn.close()
    config = scheduler.load(write_config(tmp_path, {"zgcgw": {"enabled": False}}), environ={})
    assert scheduler.print_status(config, sys.stdout, now=NOW) == 0
    assert capsys.readouterr().out.splitlines() == [
        f"store {db_path}",
        "chinadaily (every 1h)",
        "  last run      2025-03-09T12:00:00+00:00 ok — pages 1, articles_new 0, stories_new 0, "
        "duplicates 0, errors 0",
        "  last success  2025-03-09T12:00:00+00:00",
        "  new stories   1 in the last 7 days",
        "  WARNING: the last 3 runs found no articles in the listings: has the site changed "
        "its layout?",
        "zgcgw (disabled)",
        "  last run      2025-03-09T12:00:00+00:00 failed — pages 0, articles_new 0, "
        "stories_new 0, duplicates 0, errors 0 (crawl killed by SIGKILL)",
        "  last success  never",
        "  new stories   1 in the last 7 days",
        "  WARNING: the last 3 runs all failed",
    ]


def test_status_warns_only_after_three_empty_runs(tmp_path, capsys):
    db_path = tmp_path / "zgcwatch.db"
    db = open_store(db_path, load_seeds=False)
    add_run(db, "chinadaily", 2, "ok", links=0)
    add_run(db, "chinadaily", 1, "ok", links=0)
    add_run(db, "zgcgw", 3, "failed")
    add_run(db, "zgcgw", 2, "ok", links=5)
    add_run(db, "zgcgw", 1, "failed")
    add_run(db, "zgcgw", 0, "running")
    db.conn.close()
    config = scheduler.load(write_config(tmp_path, {}), environ={})
    scheduler.print_status(config, sys.stdout, now=NOW)
    out = capsys.readouterr().out
    assert "WARNING" not in out
    assert f"  last run      {stamp(0)} running — pages 0" in out


def test_list_shows_triggers_and_next_runs(tmp_path, capsys):
    db_path = tmp_path / "zgcwatch.db"
    config = write_config(tmp_path, {"chinadaily": {"every": "2h"},
                                     "zgcgw": {"cron": "30 6 * * 1-5"}})
    before = datetime.now(UTC).replace(microsecond=0)
    assert scheduler.main(["--config", str(config), "--list"]) == 0
    chinadaily, zgcgw = capsys.readouterr().out.splitlines()
    assert not db_path.exists()  # --list writes nothing
    name, every, interval, next_, run, when = chinadaily.split(maxsplit=5)
    assert (name, every, interval, next_, run) == ("chinadaily", "every", "2h", "next", "run")
    assert before <= datetime.fromisoformat(when) <= before + timedelta(seconds=5)  # never ran
    assert zgcgw.startswith('zgcgw       cron "30 6 * * 1-5"    next run ')
    fires = datetime.fromisoformat(zgcgw.split("next run ")[1])
    assert (fires.hour, fires.minute, fires.second, fires.weekday() < 5) == (6, 30, 0, True)

    db = open_store(db_path, load_seeds=False)
    start_run(db, "chinadaily", now=(before - timedelta(minutes=30)).isoformat())
    db.conn.close()
    scheduler.main(["--config", str(config), "--list"])
    chinadaily = capsys.readouterr().out.splitlines()[0]
    assert datetime.fromisoformat(chinadaily.split("next run ")[1]) == (
        before + timedelta(minutes=90))
