"""Load the seed articles of seeds/*.txt into `articles` with source 'seed'."""

import logging
import os
import re
from datetime import UTC, datetime
from pathlib import Path

from store.transaction import write_transaction

logger = logging.getLogger(__name__)

SEEDS_DIR = Path(__file__).resolve().parent.parent / "seeds"
HEADER = re.compile(r"^([a-z_]+):\s*(.*)$")
REQUIRED = ("title", "lang")


def seeds_dir(path=None):
    """The seeds folder: the argument, else ZGCWATCH_SEEDS, else the repo's seeds/."""
    return Path(path or os.environ.get("ZGCWATCH_SEEDS") or SEEDS_DIR)


def parse_seed(text, name):
    """Parse a seed file: `key: value` header lines, a blank line, then the body."""
    header, _, body = text.replace("\r\n", "\n").partition("\n\n")
    fields = {}
    for line in header.splitlines():
        match = HEADER.match(line.strip())
        if not match:
            raise ValueError(f"seed {name}: header line {line!r} is not 'key: value'")
        fields[match[1]] = match[2].strip()
    missing = [key for key in REQUIRED if not fields.get(key)]
    if missing:
        raise ValueError(f"seed {name}: missing {', '.join(missing)}")
    paragraphs = [" ".join(p.split()) for p in body.split("\n\n")]
    body = "\n".join(p for p in paragraphs if p)
    if not body:
        raise ValueError(f"seed {name}: empty body")
    fields.setdefault("url", f"seed:{name}")
    fields["body"] = body
    return fields


def read_seeds(path=None):
    """Every valid seed in the folder; a broken one is logged and skipped."""
    found = []
    for file in sorted(seeds_dir(path).glob("*.txt")):
        try:
            found.append(parse_seed(file.read_text(encoding="utf-8"), file.stem))
        except (ValueError, UnicodeDecodeError) as exc:
            logger.error("skipping seed %s: %s", file, exc)
    return found


def load(db, seeds_dir=None, now=None):
    """Upsert every seed as a relevant `articles` row; re-loading changes nothing."""
    now = now or datetime.now(UTC).isoformat(timespec="seconds")
    for seed in read_seeds(seeds_dir):
        row = {
            "url": seed["url"],
            "source": "seed",
            "title": seed["title"],
            "published": seed.get("published"),
            "author": seed.get("author"),
            "lang": seed["lang"],
            "body": seed["body"],
            "is_relevant": 1,
            "relevance": 1.0,
        }
        existing = db.execute(
            "SELECT id, title, published, author, lang, body FROM articles WHERE url = ?",
            [row["url"]],
        ).fetchone()
        if existing is None:
            with write_transaction(db):
                db["articles"].insert({**row, "first_seen": now, "last_seen": now})
        elif tuple(existing[1:]) != tuple(row[k] for k in
                                          ("title", "published", "author", "lang", "body")):
            with write_transaction(db):
                db["articles"].update(existing[0], row)
