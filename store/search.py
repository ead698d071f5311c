"""Full-text index of articles for English and Chinese: FTS5 over jieba-segmented text.

SQLite's tokenizers cannot split Chinese (`unicode61` keeps a whole clause as one token;
`trigram` misses two-character words), so the index does not hold the raw text: each run
of Chinese characters is replaced by its jieba words, space-separated, and the table's
own `porter unicode61` tokenizer does the rest (English stemming, case folding). Queries
need no jieba: `unicode61` turns `海归` into the token `海归`, which the index holds.
That is why Datasette, which never imports jieba, can search with `?_search=海归`.

`articles_fts` (rowid = articles.id) is a plain FTS5 table holding that segmented text.
Triggers on `articles` queue inserted and edited rows in `articles_fts_pending` (pure
SQL, so any writer keeps it right) and drop deleted rows from the index; `sync()`
segments the queued rows. `store.articles.upsert_article` writes through `indexed()`,
so the crawler's rows are searchable the moment they are committed.
"""

import logging
import re
import unicodedata
from contextlib import contextmanager

from store.transaction import write_transaction

logger = logging.getLogger(__name__)

FTS_TABLE = "articles_fts"
PENDING_TABLE = "articles_fts_pending"
COLUMNS = ("title", "body")
BATCH = 200

SCHEMA = (
    f"CREATE VIRTUAL TABLE IF NOT EXISTS {FTS_TABLE} "
    "USING fts5(title, body, tokenize='porter unicode61')",
    f"CREATE TABLE IF NOT EXISTS {PENDING_TABLE} (id INTEGER PRIMARY KEY)",
    f"""CREATE TRIGGER IF NOT EXISTS articles_fts_insert AFTER INSERT ON articles
BEGIN
    INSERT OR IGNORE INTO {PENDING_TABLE} (id) VALUES (new.id);
END""",
    f"""CREATE TRIGGER IF NOT EXISTS articles_fts_update AFTER UPDATE OF id, title, body ON articles
WHEN old.id IS NOT new.id OR old.title IS NOT new.title OR old.body IS NOT new.body
BEGIN
    DELETE FROM {FTS_TABLE} WHERE rowid = old.id AND old.id IS NOT new.id;
    DELETE FROM {PENDING_TABLE} WHERE id = old.id AND old.id IS NOT new.id;
    INSERT OR IGNORE INTO {PENDING_TABLE} (id) VALUES (new.id);
END""",
    f"""CREATE TRIGGER IF NOT EXISTS articles_fts_delete AFTER DELETE ON articles
BEGIN
    DELETE FROM {FTS_TABLE} WHERE rowid = old.id;
    DELETE FROM {PENDING_TABLE} WHERE id = old.id;
END""",
)

# CJK unified ideographs, extension A, compatibility ideographs, extensions B and later.
HAN_RUN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f]+")

_jieba = None


def _segmenter():
    """jieba, loaded on first use: only text with Chinese in it pays for its dictionary."""
    global _jieba
    if _jieba is None:
        import jieba

        jieba.setLogLevel(logging.WARNING)  # not "Building prefix dict..." on every crawl
        jieba.initialize()
        _jieba = jieba
    return _jieba


def han_tokens(run):
    """Index tokens of one run of Chinese characters.

    jieba's search-engine mode (each word, plus its two- and three-character dictionary
    sub-words: 留学人员 also gives 留学, 人员) and each pair of adjacent words joined
    (海归 + 人才 gives 海归人才), because a user types a two-word query without a space
    and `unicode61` keeps it as one token.
    """
    jieba = _segmenter()
    words = list(jieba.cut(run))
    tokens = []
    for i, word in enumerate(words):
        for n in (2, 3):
            if len(word) > n:
                tokens += [word[j:j + n] for j in range(len(word) - n + 1)
                           if jieba.get_FREQ(word[j:j + n])]
        tokens.append(word)
        if i:
            tokens.append(words[i - 1] + word)
    return tokens


def index_text(text):
    """The text as stored in the index: NFKC, each Chinese run replaced by its tokens."""
    if not text:
        return ""
    text = unicodedata.normalize("NFKC", text)  # full-width ＡＩ２０２４ -> AI2024
    return HAN_RUN.sub(lambda m: " " + " ".join(han_tokens(m.group())) + " ", text)


def match_expression(query):
    """A user's query as Datasette's default search mode sends it to FTS5.

    Each whitespace-separated term becomes a quoted string, all terms must match
    (Datasette's `escape_fts`); used by tests and Python callers to search as a
    Datasette user does.
    """
    terms = [t.replace('"', '""') for t in query.split()]
    return " ".join(f'"{t}"' for t in terms)


def search(db, query, relation="articles"):
    """Ids of `relation` (articles or stories) matching `query` as Datasette's `_search`."""
    sql = (f"SELECT id FROM [{relation}] WHERE id IN (SELECT rowid FROM {FTS_TABLE} "
           f"WHERE {FTS_TABLE} MATCH ?) ORDER BY id")
    return [row[0] for row in db.execute(sql, [match_expression(query)])]


def create(db):
    """Create the index table, its queue and the triggers, if missing (safe to re-run)."""
    for statement in SCHEMA:
        db.execute(statement)


@contextmanager
def indexed(db):
    """Write articles in one transaction that ends by indexing what it wrote."""
    with write_transaction(db):
        yield db
        sync(db)


def _write(db, rows):
    """Replace the index entries of [(id, title_tokens, body_tokens), ...]."""
    db.conn.executemany(f"DELETE FROM {FTS_TABLE} WHERE rowid = ?", [(r[0],) for r in rows])
    db.conn.executemany(
        f"INSERT INTO {FTS_TABLE} (rowid, title, body) VALUES (?, ?, ?)", rows
    )


def store_tokens(db, rows):
    """Index [(id, title_tokens, body_tokens), ...] segmented elsewhere; dequeue those ids."""
    with write_transaction(db):
        _write(db, rows)
        db.conn.executemany(f"DELETE FROM {PENDING_TABLE} WHERE id = ?",
                            [(r[0],) for r in rows])


def _tokenized(rows):
    return [(id_, index_text(title), index_text(body)) for id_, title, body in rows]


def sync(db):
    """Index the queued rows (new or edited since they were last indexed); return how many."""
    with write_transaction(db):
        ids = [row[0] for row in db.conn.execute(f"SELECT id FROM {PENDING_TABLE}")]
        for start in range(0, len(ids), BATCH):
            chunk = ids[start:start + BATCH]
            marks = ",".join("?" * len(chunk))
            rows = db.conn.execute(
                f"SELECT id, title, body FROM articles WHERE id IN ({marks})", chunk
            ).fetchall()
            _write(db, _tokenized(rows))
            db.conn.execute(f"DELETE FROM {PENDING_TABLE} WHERE id IN ({marks})", chunk)
    return len(ids)


def rebuild(db, batch=BATCH):
    """Re-index every article (after a tokenizer or dictionary change); return the count.

    Batches commit one by one and segment outside the write lock, so a crawl writing
    meanwhile waits a moment at most; a row it edits mid-way is queued by the triggers
    and indexed by the closing `sync()`.
    """
    create(db)
    last_id, count = 0, 0
    while True:
        rows = db.conn.execute(
            "SELECT id, title, body FROM articles WHERE id > ? ORDER BY id LIMIT ?",
            [last_id, batch],
        ).fetchall()
        if not rows:
            break
        tokenized = _tokenized(rows)
        with write_transaction(db):
            _write(db, tokenized)
        last_id, count = rows[-1][0], count + len(rows)
        logger.debug("search index: %d articles re-indexed", count)
    with write_transaction(db):
        db.conn.execute(
            f"DELETE FROM {FTS_TABLE} WHERE rowid NOT IN (SELECT id FROM articles)"
        )
    sync(db)
    with write_transaction(db):
        db.conn.execute(f"INSERT INTO {FTS_TABLE} ({FTS_TABLE}) VALUES ('optimize')")
    return count


def status(db):
    """Counts for a health check: articles, indexed rows, rows queued for indexing."""
    tables = {"articles": "articles", "indexed": FTS_TABLE, "pending": PENDING_TABLE}
    return {key: db.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
            for key, table in tables.items()}
