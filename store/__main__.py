"""`python -m store init|check`: create or check the store; one-line errors, exit 1."""

import argparse
import logging
import sys

from store.db import StoreError, db_path, open_store


def main(argv=None):
    """Open (and migrate) the store named by --db or ZGCWATCH_DB and report its tables."""
    parser = argparse.ArgumentParser(prog="python -m store", description=__doc__)
    parser.add_argument("command", choices=["init", "check"], nargs="?", default="init")
    parser.add_argument("--db", help="SQLite file (default: ZGCWATCH_DB or data/zgcwatch.db)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        db = open_store(args.db)
    except StoreError as exc:
        print(f"zgcwatch: {exc}", file=sys.stderr)
        return 1
    counts = {t: db[t].count for t in ("articles", "crawl_runs")}
    print(f"{db_path(args.db)}: " + ", ".join(f"{t} {n}" for t, n in counts.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
