"""`make demo`: crawl an offline copy of both sites into data/demo.db, then browse it.

    python -m tests.demo [--port 8001] [--db data/demo.db] [--no-serve]

Serves the fixture sites (tests/fixtures/, shaped like the live ones) on 127.0.0.1, runs
one crawl cycle of both sources through the daemon's own `--once` path, prints what was
found, then serves Datasette on the demo store until Ctrl-C. No network needed.
"""

import argparse
import contextlib
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import scheduler
from tests.siteserver import serve

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"
# Our own 127.0.0.1 server: no politeness delay; short timeouts so the traps end quickly.
DEMO_SETTINGS = ('{ DOWNLOAD_DELAY = 0, AUTOTHROTTLE_ENABLED = false, DOWNLOAD_TIMEOUT = 3, '
                 'RETRY_TIMES = 1, ZGCWATCH_RETRY_BACKOFF = 0.2, LOG_LEVEL = "WARNING" }')


def write_config(path, db_path, sites):
    """The daemon configuration of the demo: both sources pointed at the local copies."""
    lines = [f'store = "{db_path}"', 'crawl_timeout = "5m"', 'grace = "10s"']
    for source, site in sites.items():
        lines += ["", f"[sources.{source}]", 'every = "1h"', f'base_url = "{site.base_url}"',
                  f"settings = {DEMO_SETTINGS}"]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def print_stories(db_path, out=None):
    """The new stories' headlines, newest first, and how many copies were linked."""
    out = out or sys.stdout
    conn = sqlite3.connect(db_path)
    try:
        stories = conn.execute(
            "SELECT published, source, title FROM stories ORDER BY published DESC").fetchall()
        copies = conn.execute(
            "SELECT count(*) FROM articles WHERE duplicate_of IS NOT NULL").fetchone()[0]
    finally:
        conn.close()
    print(f"\n{len(stories)} new stories ({copies} republished copies linked to their "
          "originals):", file=out)
    for published, source, title in stories:
        print(f"  {(published or '')[:10]:10}  {source:10}  {title}", file=out)


def crawl_demo(db_path, config_path):
    """Serve both fixture sites and crawl each once; return the daemon's exit code."""
    for stale in (db_path, Path(f"{db_path}-wal"), Path(f"{db_path}-shm")):
        stale.unlink(missing_ok=True)  # the demo starts from an empty store each time
    with contextlib.ExitStack() as stack:
        sites = {s: stack.enter_context(serve(FIXTURES / s)) for s in ("chinadaily", "zgcgw")}
        for source, site in sites.items():
            print(f"offline copy of {source} served at {site.base_url}")
        write_config(config_path, db_path, sites)
        saved = os.environ.pop("ZGCWATCH_DB", None)  # it would win over the config's store
        try:
            return scheduler.main(["--config", str(config_path), "--once"])
        finally:
            if saved is not None:
                os.environ["ZGCWATCH_DB"] = saved


def main(argv=None):
    """Crawl the offline sites, print the summary and stories, then serve Datasette."""
    parser = argparse.ArgumentParser(prog="make demo", description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8001)
    parser.add_argument("--db", default="data/demo.db")
    parser.add_argument("--no-serve", action="store_true", help="stop after the crawl")
    args = parser.parse_args(argv)
    db_path = Path(args.db).resolve()
    db_path.parent.mkdir(parents=True, exist_ok=True)
    code = crawl_demo(db_path, db_path.with_suffix(".toml"))
    # A partial crawl is expected: the copies hold 404, 500 and timeout traps on purpose.
    print_stories(db_path)
    if code != 0 or args.no_serve:
        return code
    print(f"\nDatasette: http://127.0.0.1:{args.port}/{db_path.stem}/stories   (Ctrl-C stops)")
    env = {**os.environ, "ZGCWATCH_DB": str(db_path)}
    server = subprocess.Popen([sys.executable, "-m", "store", "serve", "--port", str(args.port)],
                              cwd=ROOT, env=env)
    try:
        return server.wait()
    except KeyboardInterrupt:
        server.terminate()
        server.wait(timeout=10)
        return 0


if __name__ == "__main__":
    sys.exit(main())
