"""`python -m store init|check|reindex|metadata|serve`: the store's command line.

- `init`, `check`: create or migrate the store, check it takes writes, report its tables.
- `reindex`: rebuild the full-text search index of every article.
- `metadata`: print the Datasette metadata for the store file (keyed by its name).
- `serve [--host 127.0.0.1] [--port 8001] [datasette options]`: browse it with Datasette.

Errors are one line on stderr and exit 1.
"""

import argparse
import json
import logging
import sqlite3
import sys
import time

from store.db import StoreError, check_writable, db_path, open_store

COMMANDS = ["init", "check", "reindex", "metadata", "serve"]


def main(argv=None):
    """Run one command on the store named by --db or ZGCWATCH_DB."""
    parser = argparse.ArgumentParser(
        prog="python -m store", description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("command", choices=COMMANDS, nargs="?", default="init")
    parser.add_argument("--db", help="SQLite file (default: ZGCWATCH_DB or data/zgcwatch.db)")
    parser.add_argument("--host", default="127.0.0.1",
                        help="serve: interface to listen on (default 127.0.0.1, this machine only)")
    parser.add_argument("--port", type=int, default=8001, help="serve: port (default 8001)")
    args, extra = parser.parse_known_args(argv)
    if extra and args.command != "serve":
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    path = db_path(args.db)
    if args.command == "metadata":
        from store.datasette import metadata_for

        print(json.dumps(metadata_for(path), ensure_ascii=False, indent=2))
        return 0
    try:
        db = open_store(path)
        if args.command in ("init", "check", "reindex"):
            check_writable(db, path)
        if args.command == "reindex":
            return reindex(db, path)
        if args.command == "serve":
            from store import search
            from store.datasette import serve

            search.sync(db)  # rows written outside upsert_article (seeds) become searchable
            db.close()
            return serve(path, host=args.host, port=args.port, extra_args=extra)
    except StoreError as exc:
        print(f"zgcwatch: {exc}", file=sys.stderr)
        return 1
    except sqlite3.Error as exc:
        print(f"zgcwatch: {path}: {exc}", file=sys.stderr)
        return 1
    counts = {t: db[t].count for t in ("articles", "crawl_runs")}
    print(f"{path}: " + ", ".join(f"{t} {n}" for t, n in counts.items()))
    return 0


def reindex(db, path):
    """Rebuild the search index and say how long it took."""
    from store import search

    started = time.monotonic()
    count = search.rebuild(db)
    print(f"{path}: {count} articles indexed in {time.monotonic() - started:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
