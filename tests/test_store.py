"""The store: exact schema, migrations, seeds, idempotent writes, error cases."""

import sqlite3
import subprocess
import sys

import pytest

from store import StoreError, migrations, open_store
from store.articles import (
    add_alias,
    article_id,
    known_urls,
    raw_pages,
    save_raw_pages,
    upsert_article,
)
from store.runs import fail_running, finish_run, may_stop_early, start_run
from store.seeds import parse_seed

NOW = "2026-11-28T06:00:00+00:00"

ARTICLES_COLUMNS = {
    "id": "INTEGER", "url": "TEXT", "source": "TEXT", "title": "TEXT", "published": "TEXT",
    "author": "TEXT", "lang": "TEXT", "body": "TEXT", "is_relevant": "INTEGER",
    "relevance": "REAL", "duplicate_of": "INTEGER", "similarity": "REAL",
    "first_seen": "TEXT", "last_seen": "TEXT",
}
CRAWL_RUNS_COLUMNS = {
    "id": "INTEGER", "source": "TEXT", "started_at": "TEXT", "finished_at": "TEXT",
    "status": "TEXT", "pages": "INTEGER", "articles_new": "INTEGER", "stories_new": "INTEGER",
    "duplicates": "INTEGER", "errors": "INTEGER", "message": "TEXT",
}


@pytest.fixture
def db(tmp_path):
    return open_store(tmp_path / "z.db", now=NOW)


def test_contract_schema(db):
    columns = {c.name: c.type for c in db["articles"].columns}
    assert ARTICLES_COLUMNS.items() <= columns.items()
    assert db["articles"].pks == ["id"]
    references = {fk.column: fk.other_table for fk in db["articles"].foreign_keys}
    assert references == {"duplicate_of": "articles", "first_run": "crawl_runs"}
    assert any(ix.unique and ix.columns == ["url"] for ix in db["articles"].indexes)
    runs = {c.name: c.type for c in db["crawl_runs"].columns}
    assert CRAWL_RUNS_COLUMNS.items() <= runs.items()
    assert "stories" in db.view_names()
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert db.execute("PRAGMA user_version").fetchone()[0] == migrations.latest()


def test_stories_view_filters(db):
    base = {"source": "chinadaily", "lang": "en", "body": "b", "title": "t"}
    upsert_article(db, {**base, "url": "https://x/1", "is_relevant": 1})
    upsert_article(db, {**base, "url": "https://x/2", "is_relevant": 0})
    first = article_id(db, "https://x/1")
    upsert_article(db, {**base, "url": "https://x/3", "is_relevant": 1, "duplicate_of": first})
    assert [r["url"] for r in db.query("SELECT url FROM stories")] == ["https://x/1"]


def test_seed_row_loaded_once(tmp_path):
    db = open_store(tmp_path / "z.db", now=NOW)
    open_store(tmp_path / "z.db", now="2030-01-01T00:00:00+00:00")
    rows = list(db.query("SELECT url, source, title, published, lang, is_relevant, "
                         "relevance, first_seen, last_seen FROM articles"))
    assert rows == [{
        "url": "seed:zhongguancun-supports-overseas-returnees", "source": "seed",
        "title": "Zhongguancun supports overseas returnees", "published": "2021-03-26",
        "lang": "en", "is_relevant": 1, "relevance": 1.0, "first_seen": NOW, "last_seen": NOW,
    }]
    body = db.execute("SELECT body FROM articles").fetchone()[0]
    assert body.startswith("The Zhongguancun Overseas Talent Pioneer Park has explored")
    assert ".png" not in body and "[Photo/" not in body and "L M S" not in body


def test_user_seed_dropped_in_folder(tmp_path):
    seeds = tmp_path / "seeds"
    seeds.mkdir()
    (seeds / "zgc-haigui.txt").write_text(
        "title: 中关村海归创业\nlang: zh\npublished: 2024-05-20\n\n　　第一段。\n\n第二段。\n",
        encoding="utf-8")
    (seeds / "broken.txt").write_text("no header here\n\nbody", encoding="utf-8")
    db = open_store(tmp_path / "z.db", seeds_dir=seeds, now=NOW)
    rows = list(db.query("SELECT url, title, lang, body FROM articles"))
    assert rows == [{"url": "seed:zgc-haigui", "title": "中关村海归创业", "lang": "zh",
                     "body": "第一段。\n第二段。"}]


def test_parse_seed_requires_title():
    with pytest.raises(ValueError, match="missing title"):
        parse_seed("lang: en\n\nbody", "x")


def test_migrations_twice_and_upgrade_older(tmp_path):
    path = tmp_path / "old.db"
    conn = sqlite3.connect(path)
    migrations.MIGRATIONS[1](__import__("sqlite_utils").Database(conn))
    conn.execute("PRAGMA user_version = 1")
    conn.execute("INSERT INTO articles (url, source, first_seen, last_seen) "
                 "VALUES ('https://x/old', 'chinadaily', 'a', 'a')")
    conn.commit()
    conn.close()
    db = open_store(path, now=NOW)
    assert db.execute("PRAGMA user_version").fetchone()[0] == migrations.latest()
    migrations.apply(db)  # a second run is a no-op
    assert article_id(db, "https://x/old") == 1
    assert db["articles"].count == 2


def test_newer_schema_refused_untouched(tmp_path):
    path = tmp_path / "new.db"
    open_store(path)
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA user_version = 999")
    conn.commit()
    conn.close()
    with pytest.raises(StoreError, match="schema version 999, newer"):
        open_store(path)
    assert sqlite3.connect(path).execute("PRAGMA user_version").fetchone()[0] == 999


def test_not_sqlite_file_refused_untouched(tmp_path):
    path = tmp_path / "notes.db"
    path.write_bytes(b"my notes, not a database\n" * 10)
    with pytest.raises(StoreError, match="file is not a database"):
        open_store(path)
    assert path.read_bytes() == b"my notes, not a database\n" * 10


def test_unwritable_path_refused(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(StoreError, match="cannot create folder"):
        open_store(blocker / "sub" / "z.db")


@pytest.mark.parametrize("content", [b"garbage" * 100, None])
def test_cli_one_line_error_and_exit_code(tmp_path, content):
    path = tmp_path / "bad.db"
    if content is None:
        path.mkdir()
    else:
        path.write_bytes(content)
    result = subprocess.run([sys.executable, "-m", "store", "check", "--db", str(path)],
                            capture_output=True, text=True)
    assert result.returncode == 1, result
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("zgcwatch: ")
    assert "Traceback" not in result.stderr


def test_cli_init_creates_default_location(tmp_path):
    env = {"ZGCWATCH_DB": str(tmp_path / "data" / "zgcwatch.db"), "PATH": ""}
    result = subprocess.run([sys.executable, "-m", "store", "init"], capture_output=True,
                            text=True, env=env)
    assert result.returncode == 0, result.stderr
    assert "articles 1, crawl_runs 0" in result.stdout


def test_upsert_is_idempotent(db):
    record = {"url": "https://x/a", "source": "zgcgw", "title": "标题", "body": "正文",
              "lang": "zh"}
    first_id, created = upsert_article(db, record, now="t1")
    again_id, created_again = upsert_article(db, record, now="t2")
    assert (first_id, created, created_again) == (again_id, True, False)
    row = db["articles"].get(first_id)
    assert (row["first_seen"], row["last_seen"], row["title"]) == ("t1", "t2", "标题")


def test_known_urls_include_aliases(db):
    aid, _ = upsert_article(db, {"url": "https://x/a", "source": "chinadaily"})
    add_alias(db, "https://x/old.htm", aid, "redirect")
    add_alias(db, "https://x/old.htm", aid, "redirect")
    upsert_article(db, {"url": "https://y/b", "source": "zgcgw"})
    assert known_urls(db, "chinadaily") == {"https://x/a", "https://x/old.htm"}
    assert article_id(db, "https://x/old.htm") == aid


def test_raw_pages_roundtrip(db):
    aid, _ = upsert_article(db, {"url": "https://x/a", "source": "zgcgw"})
    pages = [("https://x/a", "gbk", "中关村".encode("gbk")), ("https://x/a_2", "utf-8", b"<p>")]
    save_raw_pages(db, aid, pages)
    save_raw_pages(db, aid, pages)
    assert raw_pages(db, aid) == pages


def test_runs_and_early_stop(db):
    assert not may_stop_early(db, "chinadaily")
    run = start_run(db, "chinadaily", pid=42, now="t0")
    finish_run(db, run, "ok", {"pages": 3, "articles_new": 2}, listing_complete=True, now="t1")
    assert may_stop_early(db, "chinadaily")
    killed = start_run(db, "chinadaily", pid=43)
    assert fail_running(db, "chinadaily", "killed") == 1
    assert db["crawl_runs"].get(killed)["status"] == "failed"
    assert not may_stop_early(db, "chinadaily")
    row = db["crawl_runs"].get(run)
    assert {k: row[k] for k in ("status", "pages", "articles_new", "errors", "finished_at")} == \
        {"status": "ok", "pages": 3, "articles_new": 2, "errors": 0, "finished_at": "t1"}
    with pytest.raises(ValueError):
        finish_run(db, run, "weird")
