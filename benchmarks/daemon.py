"""Does the daemon's memory stay flat? RSS of `scheduler.py` after 5 and after 50 runs.

    python -m benchmarks.daemon [--runs 50] [--every 1s]

Serves both fixture sites on 127.0.0.1, runs the real daemon on a fresh store in a temporary
folder with a short interval, and reads the daemon's VmRSS (and its open files and threads)
from /proc after the 5th and the last finished run. Children do the crawling, so the
daemon should hold nothing per run: the ratio should stay near 1.
"""

import argparse
import json
import os
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tests.siteserver import serve

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures"
FAST = {"DOWNLOAD_DELAY": 0, "AUTOTHROTTLE_ENABLED": False, "RETRY_TIMES": 0,
        "DOWNLOAD_TIMEOUT": 2, "LOG_LEVEL": "WARNING"}


def proc_status(pid):
    """VmRSS and VmHWM in MiB, open file descriptors and threads of a live process."""
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        fields[key] = value.split()
    return {
        "rss_mib": int(fields["VmRSS"][0]) / 1024,
        "peak_mib": int(fields["VmHWM"][0]) / 1024,
        "fds": len(os.listdir(f"/proc/{pid}/fd")),
        "threads": int(fields["Threads"][0]),
    }


def finished_runs(db_path):
    """(finished runs, their statuses) in the store, 0 before it exists."""
    if not db_path.exists():
        return 0, {}
    conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=10)
    try:
        rows = conn.execute("SELECT status, count(*) FROM crawl_runs "
                            "WHERE status <> 'running' GROUP BY status").fetchall()
    except sqlite3.OperationalError:
        return 0, {}
    finally:
        conn.close()
    return sum(n for _, n in rows), dict(rows)


def write_config(folder, every, sites):
    lines = [f'store = "{folder / "zgcwatch.db"}"', 'grace = "10s"', 'crawl_timeout = "2m"']
    for name, site in sites.items():
        settings = ", ".join(f"{k} = {json.dumps(v)}" for k, v in FAST.items())
        lines += [f"[sources.{name}]", f'every = "{every}"', f'base_url = "{site.base_url}"',
                  f"settings = {{ {settings} }}"]
    path = folder / "zgcwatch.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


def main(argv=None):
    """Run the daemon until `--runs` runs finished; print RSS after 5 and after all of them."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--every", default="1s", help='interval of both sources (default "1s")')
    args = parser.parse_args(argv)
    checkpoints = sorted({5, args.runs})
    with tempfile.TemporaryDirectory() as tmp, serve(FIXTURES / "chinadaily") as cd, \
            serve(FIXTURES / "zgcgw") as zg:
        folder = Path(tmp)
        config = write_config(folder, args.every, {"chinadaily": cd, "zgcgw": zg})
        env = {k: v for k, v in os.environ.items() if k not in ("ZGCWATCH_DB", "ZGCWATCH_CONFIG")}
        log = (folder / "daemon.log").open("wb")
        daemon = subprocess.Popen([sys.executable, str(ROOT / "scheduler.py"), "--config",
                                   str(config)], cwd=ROOT, env=env, stderr=log)
        started = time.monotonic()
        seen = []
        try:
            for target in checkpoints:
                while (done := finished_runs(folder / "zgcwatch.db"))[0] < target:
                    if daemon.poll() is not None:
                        sys.exit(f"the daemon exited with {daemon.returncode}")
                    time.sleep(0.05)
                seen.append((done, time.monotonic() - started, proc_status(daemon.pid)))
        finally:
            daemon.send_signal(signal.SIGTERM)
            code = daemon.wait(timeout=60)
            log.close()
    print(f"daemon {args.every} interval, 2 sources, exit code {code} after SIGTERM")
    for (runs, statuses), seconds, status in seen:
        print(f"after {runs:3d} runs ({seconds:5.1f}s, {statuses}): RSS {status['rss_mib']:.1f} "
              f"MiB, peak {status['peak_mib']:.1f} MiB, {status['fds']} fds, "
              f"{status['threads']} threads")
    first, last = seen[0][2], seen[-1][2]
    print(f"RSS ratio {seen[-1][0][0]}/{seen[0][0][0]} runs: "
          f"{last['rss_mib'] / first['rss_mib']:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
