"""zgcwatch's monitoring daemon: each source crawled on its schedule, as a child process.

    python scheduler.py [--config PATH] [--once | --list | --status | --test-notify | --check]

A crawl is `python -m scrapy crawl <source>` in its own process group, so a crash, leak or
hang in one crawl never takes the daemon down and nothing it started outlives it. The
crawl records its own `crawl_runs` row; the daemon closes the row when the crawl died,
timed out or was stopped. After each run, the alerts of crawler/alerts.py go out (new
stories, source health). Exit codes: 0 done, 1 a run failed (--once), a source no longer
fits its site (--check), an alert target failed (--test-notify), or the daemon could not
start (store, lock), 2 a bad configuration or command line.
"""

import argparse
import fcntl
import json
import logging
import logging.handlers
import os
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_MAX_INSTANCES, EVENT_JOB_MISSED
from apscheduler.executors.pool import ThreadPoolExecutor as JobPool
from apscheduler.schedulers.base import SchedulerNotRunningError
from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.interval import IntervalTrigger

from crawler.alerts import Alerts
from crawler.daemon_config import ConfigError, cron_trigger, format_duration, load
from store.articles import utcnow
from store.db import StoreError, check_writable, open_store
from store.runs import (
    COUNTS,
    finish_run,
    last_run,
    recent_finished,
    run_of_pid,
    start_run,
    stories_since,
)

logger = logging.getLogger("zgcwatch.scheduler")

ROOT = Path(__file__).resolve().parent  # holds scrapy.cfg: the crawls' working directory
KILL_WAIT = 5.0  # seconds a crawl gets between SIGTERM and SIGKILL to its process group
POLL = 0.1  # seconds between checks of a running crawl
JITTER_MAX = 30.0  # runs start up to this much (or 5 % of the interval) late, at random
WARN_AFTER = 3  # finished runs in a row that found nothing before --status warns
EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


class Refused(Exception):
    """The daemon cannot start; the message is one line for the user."""


class Crawls:
    """Run one source's crawl as a child process and record it; end crawls on stop()."""

    def __init__(self, config):
        self.config = config
        self.store = str(config.store.resolve())
        # The settings module is named too, so crawls find the project from any install.
        self.env = {"SCRAPY_SETTINGS_MODULE": "crawler.settings", **os.environ,
                    "ZGCWATCH_DB": self.store}
        self.stop_reason = None  # "SIGTERM"... once stopping; plain attributes, set in a
        self.stop_at = None  # signal handler, where taking a lock could deadlock
        self._active = 0
        self._idle = threading.Condition()
        self.alerts = Alerts(config)

    def stop(self, reason, grace):
        """Start no more crawls; end the running ones `grace` seconds from now."""
        self.stop_at = time.monotonic() + grace
        self.stop_reason = reason

    def wait(self):
        """Block until no crawl is running."""
        with self._idle:
            self._idle.wait_for(lambda: self._active == 0)

    def run(self, source):
        """The job: crawl `source` once; return its crawl_runs row, or None if none ran."""
        with self._idle:
            if self.stop_reason:
                return None
            self._active += 1
        try:
            row = self._run(source)
        except (StoreError, sqlite3.Error) as exc:  # a full or broken store: one line
            logger.error("%s: the crawl could not be recorded: %s", source.name, exc)
            return None
        except Exception:  # a job boundary: log, keep the daemon and the other source going
            logger.exception("%s: the daemon failed to run or record the crawl", source.name)
            return None
        else:
            self.alerts.after_run(source, row)  # logs its own failures, never raises
            return row
        finally:
            with self._idle:
                self._active -= 1
                self._idle.notify_all()

    def _run(self, source):
        since, begun = utcnow(), time.monotonic()
        with tempfile.TemporaryFile() as output:
            child = subprocess.Popen(
                crawl_command(source), cwd=ROOT, env=self.env,
                stdin=subprocess.DEVNULL, stdout=output, stderr=subprocess.STDOUT,
                start_new_session=True,
            )
            logger.info("%s: crawl started (pid %d)", source.name, child.pid)
            ended = self._watch(child, begun)
            output.seek(max(0, output.seek(0, os.SEEK_END) - 4096))
            tail = output.read().decode("utf-8", "replace").strip().splitlines()
        row = self._record(source.name, child, since, ended, tail[-1] if tail else "")
        row["seconds"] = time.monotonic() - begun
        log_run(source.name, row)
        return row

    def _watch(self, child, begun):
        """Wait for the child; on timeout or stop end its group and say why, else None."""
        timeout_at = begun + self.config.crawl_timeout
        while True:
            stop_at = self.stop_at if self.stop_reason else None
            limit = min(timeout_at, stop_at) if stop_at is not None else timeout_at
            left = limit - time.monotonic()
            if left <= 0:
                break
            try:
                child.wait(timeout=min(left, POLL))
                return None
            except subprocess.TimeoutExpired:
                pass
        if stop_at is not None and stop_at <= timeout_at:
            why = f"stopped by {self.stop_reason} after grace"
        else:
            why = f"timed out after {format_duration(self.config.crawl_timeout)}"
        end_group(child)
        return why

    def _record(self, name, child, since, ended, last_line):
        """Close the child's run as failed when it did not end well by itself; return it."""
        code = child.returncode
        if ended:
            message = ended
        elif code < 0:
            message = f"crawl killed by {signal.Signals(-code).name}"
        else:
            message = f"crawl exited with code {code}: {last_line[:300]}"
        db = open_store(self.store, load_seeds=False)
        try:
            row = run_of_pid(db, name, child.pid, since)
            if row is None:  # it died before writing its row
                finish_run(db, start_run(db, name, pid=child.pid, now=since), "failed",
                           message=message)
            elif ended or row["status"] == "running":
                finish_run(db, row["id"], "failed", counts=row, message=message,
                           stats=json.loads(row["stats"]) if row["stats"] else None)
            elif code not in (0, 1):
                logger.warning("%s: the crawl recorded its run, then: %s", name, message)
            return run_of_pid(db, name, child.pid, since)
        finally:
            db.conn.close()


def crawl_command(source, python=sys.executable):
    """The child's argv: scrapy crawl with the source's base_url and settings."""
    argv = [python, "-m", "scrapy", "crawl", source.name]
    if source.base_url:
        argv += ["-a", f"base_url={source.base_url}"]
    for key, value in source.settings.items():
        argv += ["-s", f"{key}={value}"]
    return argv


def end_group(child):
    """SIGTERM the child's process group, then SIGKILL whatever is left of it; reap."""
    for sig, wait in ((signal.SIGTERM, KILL_WAIT), (signal.SIGKILL, None)):
        try:
            os.killpg(child.pid, sig)
        except ProcessLookupError:
            pass
        try:
            child.wait(timeout=wait)
        except subprocess.TimeoutExpired:
            pass


def log_run(name, row):
    """One line: `chinadaily: ok in 12.3s — pages 14, articles_new 9, ...`."""
    counts = ", ".join(f"{k} {row[k]}" for k in COUNTS)
    message = f" ({row['message']})" if row["message"] and row["status"] != "ok" else ""
    level = logging.INFO if row["status"] == "ok" else logging.WARNING
    logger.log(level, "%s: %s in %.1fs — %s%s", name, row["status"], row["seconds"], counts,
               message)


def take_lock(store):
    """Hold `<store>.lock` for the life of the process; Refused if another daemon holds it."""
    path = Path(f"{store}.lock")
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        pid = os.pread(fd, 32, 0).decode(errors="replace").strip() or "?"
        os.close(fd)
        raise Refused(f"another scheduler (pid {pid}) is running on {store}") from None
    os.ftruncate(fd, 0)
    os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
    return fd


def trigger_of(source, jitter=True):
    """The APScheduler trigger of a source, with a little jitter unless told not to."""
    if source.cron:
        return cron_trigger(source.cron, f"sources.{source.name}.cron",
                            jitter=JITTER_MAX if jitter else None)
    return IntervalTrigger(seconds=source.every,
                           jitter=min(JITTER_MAX, source.every * 0.05) if jitter else None)


def describe(source):
    """`every 1h` or `cron "0 * * * *"`."""
    return f'cron "{source.cron}"' if source.cron else f"every {format_duration(source.every)}"


def first_run(source, db, now):
    """When an interval source runs first: one interval after its last run, at once if due.

    So a restarted daemon neither waits a whole interval nor crawls again right away.
    None for cron sources: their trigger decides.
    """
    if source.cron:
        return None
    last = last_run(db, source.name) if db else None
    if not last:
        return now
    due = datetime.fromisoformat(last["started_at"]) + timedelta(seconds=source.every)
    return max(now, due.astimezone(now.tzinfo))


class Daemon:
    """The foreground scheduler: jobs, signal handling, an orderly stop."""

    def __init__(self, config):
        self.config = config
        self.crawls = Crawls(config)
        self.in_scheduler = False

    def on_signal(self, signum, frame):
        """SIGTERM/SIGINT: stop scheduling, give running crawls `grace`; again: end them now."""
        name = signal.Signals(signum).name
        if self.crawls.stop_reason:
            self.crawls.stop(self.crawls.stop_reason, 0)
            return
        self.crawls.stop(name, self.config.grace)
        if self.in_scheduler:
            self.in_scheduler = False
            raise _Stop(name)  # leaves BlockingScheduler.start(), as KeyboardInterrupt would

    def install_signals(self):
        """Route SIGTERM and SIGINT to on_signal (a bound method, held strongly)."""
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, self.on_signal)

    def serve(self):
        """Run the jobs until SIGTERM/SIGINT, then wait for running crawls; return 0."""
        sources = self.config.enabled()
        scheduler = BlockingScheduler(
            executors={"default": JobPool(max(2, len(sources)))},
            job_defaults={"coalesce": True, "max_instances": 1},
        )
        db = open_store(self.crawls.store, load_seeds=False)
        try:
            now = datetime.now(scheduler.timezone)
            for source in sources:
                first = first_run(source, db, now)
                # A run more than half an interval late is dropped: the next one is near.
                misfire = int(max(1, min((source.every or 7200) / 2, 3600)))
                scheduler.add_job(
                    self.crawls.run, trigger_of(source), args=[source], id=source.name,
                    name=source.name, misfire_grace_time=misfire, next_run_time=first,
                )
                logger.info("%s: %s, first run %s", source.name, describe(source),
                            _when(first) or "as the cron line says")
        finally:
            db.conn.close()
        scheduler.add_listener(on_job_event,
                               EVENT_JOB_ERROR | EVENT_JOB_MISSED | EVENT_JOB_MAX_INSTANCES)
        logger.info("zgcwatch scheduler started (pid %d, store %s)", os.getpid(),
                    self.crawls.store)
        try:
            self.in_scheduler = True
            if not self.crawls.stop_reason:
                scheduler.start()
        except _Stop:
            pass
        finally:
            self.in_scheduler = False
        try:
            scheduler.shutdown(wait=False)
        except SchedulerNotRunningError:
            pass
        logger.info("%s: no new crawls; running ones get %s", self.crawls.stop_reason,
                    format_duration(self.config.grace))
        self.crawls.wait()
        logger.info("zgcwatch scheduler stopped")
        return EXIT_OK

    def once(self, out=None):
        """Crawl every enabled source once, in parallel; print a summary; 1 if any failed."""
        out = out or sys.stdout
        sources = self.config.enabled()
        with ThreadPoolExecutor(len(sources)) as pool:
            started = time.monotonic()
            rows = list(pool.map(self.crawls.run, sources))
        print_summary(sources, self.reread(rows), time.monotonic() - started, out)
        failed = any(row is None or row["status"] == "failed" for row in rows)
        return EXIT_FAILED if failed else EXIT_OK


    def reread(self, rows):
        """The runs' rows as they are now, after all ended.

        A crawl that ended last may have found an earlier original of a story that a run
        which ended before counted as new: that run's row now counts it as a duplicate.
        """
        db = open_store(self.config.store, load_seeds=False)
        try:
            return [row and {**row, **db["crawl_runs"].get(row["id"])} for row in rows]
        finally:
            db.conn.close()


class _Stop(Exception):
    """Raised by the signal handler to leave BlockingScheduler.start()."""


def on_job_event(event):
    """APScheduler's listener: say when a run was skipped, missed or raised."""
    if event.code == EVENT_JOB_ERROR:
        logger.error("%s: job raised %r", event.job_id, event.exception)
    elif event.code == EVENT_JOB_MISSED:
        logger.warning("%s: run due at %s missed (the daemon was busy or asleep)",
                       event.job_id, _when(event.scheduled_run_time))
    else:  # EVENT_JOB_MAX_INSTANCES
        logger.warning("%s: run due at %s skipped: the previous crawl is still running",
                       event.job_id, _when(event.scheduled_run_times[-1]))


def print_summary(sources, rows, seconds, out):
    """The --once table: one line per source with status, counts and message."""
    header = ["source", "status", "time", *COUNTS, "message"]
    lines = [header]
    for source, row in zip(sources, rows, strict=True):
        row = row or {"status": "failed", "message": "the daemon could not run the crawl"}
        lines.append([source.name, row["status"], f"{row.get('seconds', 0):.1f}s",
                      *(str(row.get(k, 0)) for k in COUNTS), row.get("message") or ""])
    widths = [max(len(line[i]) for line in lines) for i in range(len(header) - 1)]
    for line in lines:
        cells = [cell.ljust(width) for cell, width in zip(line, widths, strict=False)]
        print("  ".join([*cells, line[-1]]).rstrip(), file=out)
    print(f"{len(rows)} sources in {seconds:.1f}s", file=out)


def print_list(config, out):
    """The --list lines: each source, its trigger and its next run time."""
    db = open_store(config.store, load_seeds=False) if config.store.exists() else None
    try:
        now = datetime.now(BlockingScheduler().timezone)  # the daemon's time zone
        for source in config.sources.values():
            plan = "disabled"
            if source.enabled:
                when = first_run(source, db, now)
                when = when or trigger_of(source, jitter=False).get_next_fire_time(None, now)
                plan = f"next run {_when(when)}"
            print(f"{source.name:<11} {describe(source):<22} {plan}", file=out)
    finally:
        if db:
            db.conn.close()


def print_status(config, out, now=None):
    """The --status report: last run, last success, new stories, and warnings."""
    if not config.store.exists():
        print(f"store {config.store}: no runs yet (the file does not exist)", file=out)
        return EXIT_OK
    now = now or datetime.now(UTC)
    week_ago = (now - timedelta(days=7)).isoformat(timespec="seconds")
    db = open_store(config.store, load_seeds=False)
    try:
        print(f"store {config.store.resolve()}", file=out)
        for source in config.sources.values():
            plan = describe(source) if source.enabled else "disabled"
            print(f"{source.name} ({plan})", file=out)
            last = last_run(db, source.name)
            success = last_run(db, source.name, statuses=("ok", "partial"))
            print(f"  last run      {_run_line(last)}", file=out)
            print(f"  last success  {success['started_at'] if success else 'never'}", file=out)
            print(f"  new stories   {stories_since(db, source.name, week_ago)} in the last 7 days",
                  file=out)
            if warning := nothing_found(recent_finished(db, source.name, WARN_AFTER)):
                print(f"  WARNING: {warning}", file=out)
    finally:
        db.conn.close()
    return EXIT_OK


def nothing_found(runs):
    """A warning when all `runs` (WARN_AFTER of them) failed or found no article links."""
    if len(runs) < WARN_AFTER:
        return None
    if all(run["status"] == "failed" for run in runs):
        return f"the last {len(runs)} runs all failed"
    links = [json.loads(run["stats"] or "{}").get("zgcwatch/listing/links", 0) for run in runs]
    if all(run["status"] == "failed" or not n for run, n in zip(runs, links, strict=True)):
        return (f"the last {len(runs)} runs found no articles in the listings: "
                f"has the site changed its layout?")
    return None


def _run_line(run):
    if not run:
        return "never"
    counts = ", ".join(f"{k} {run[k]}" for k in COUNTS)
    message = f" ({run['message']})" if run["message"] else ""
    return f"{run['started_at']} {run['status']} — {counts}{message}"


def _when(moment):
    return moment.isoformat(sep=" ", timespec="seconds") if moment else None


def setup_logging(config):
    """Log to stderr and, if configured, to log_file (reopened when logrotate moves it)."""
    handlers = [logging.StreamHandler(sys.stderr)]
    if config.log_file:
        try:
            config.log_file.parent.mkdir(parents=True, exist_ok=True)
            handlers.append(logging.handlers.WatchedFileHandler(config.log_file,
                                                                encoding="utf-8"))
        except OSError as exc:
            raise Refused(f"log_file {config.log_file}: {exc.strerror}") from exc
    logging.basicConfig(level=config.log_level, handlers=handlers, force=True,
                        format="%(asctime)s %(levelname)s %(message)s")
    if config.log_level != "DEBUG":  # on_job_event says what matters, in one line
        logging.getLogger("apscheduler").setLevel(logging.ERROR)


def main(argv=None):
    """Command line entry point; returns the exit code."""
    parser = argparse.ArgumentParser(
        prog="zgcwatch-scheduler", description=__doc__.split("\n")[0],
        epilog="exit codes: 0 done; 1 a crawl failed (--once), a source no longer fits "
               "(--check), an alert target failed (--test-notify), or the store or lock is "
               "unusable; 2 bad configuration or arguments",
    )
    parser.add_argument("--config", help="TOML file (default: ZGCWATCH_CONFIG, else defaults)")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--once", action="store_true", help="crawl every enabled source once")
    mode.add_argument("--list", action="store_true", help="show jobs and next run times")
    mode.add_argument("--status", action="store_true", help="show last runs and warnings")
    mode.add_argument("--check", action="store_true",
                      help="fetch one listing page per chain and its first article of each "
                           "source; say whether the spiders still fit the sites")
    mode.add_argument("--test-notify", action="store_true",
                      help="send a test message to every alert target and say which worked")
    args = parser.parse_args(argv)
    try:
        config = load(args.config)
    except ConfigError as exc:
        print(f"zgcwatch: {exc}", file=sys.stderr)
        return EXIT_USAGE
    try:
        if args.list:
            print_list(config, sys.stdout)
            return EXIT_OK
        if args.status:
            return print_status(config, sys.stdout)
        if args.test_notify:
            return Alerts(config).test(sys.stdout)
        if args.check:
            from crawler.check import check  # Scrapy and the spiders: only for this mode

            return check(config, sys.stdout)
        if not config.enabled():
            where = config.path or "(defaults)"
            print(f"zgcwatch: config {where}: every source is disabled", file=sys.stderr)
            return EXIT_USAGE
        setup_logging(config)
        daemon = Daemon(config)
        daemon.install_signals()
        lock = take_lock(daemon.crawls.store)
        try:
            db = open_store(daemon.crawls.store)  # migrate and load seeds once, here
            try:
                check_writable(db, daemon.crawls.store)
            finally:
                db.conn.close()
            return daemon.once() if args.once else daemon.serve()
        finally:
            os.close(lock)
    except (Refused, StoreError) as exc:
        print(f"zgcwatch: {exc}", file=sys.stderr)
        return EXIT_FAILED


if __name__ == "__main__":
    sys.exit(main())
