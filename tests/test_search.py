"""Full-text search over English and Chinese articles: the index, its upkeep, its rebuild.

`fill_store` builds the realistic store that tests/test_datasette.py browses too.
"""

import json
import sqlite3
import subprocess
import sys

import pytest
import sqlite_utils

from store import migrations, open_store, search
from store.articles import upsert_article
from store.runs import finish_run, start_run

NOW = "2024-06-26T00:00:00+00:00"
SEED_ID = 1  # open_store loads the repo's English seed before anything else

ZGC = "https://zgcgw.beijing.gov.cn/zgc"
CD = "https://www.chinadaily.com.cn/a"

# (record, first_seen): ids follow in order, 2..11. Chinese bodies are whole clauses with
# no spaces, as extracted.
ARTICLES = [
    ({"url": f"{CD}/202405/20/WS664a0001.html", "source": "chinadaily", "lang": "en",
      "title": "Returnees power Zhongguancun's AI start-ups", "published": "2024-05-20",
      "author": "Li Fusheng",
      "body": "More than 30 percent of the entrepreneurs in Zhongguancun have studied or "
              "worked overseas. Returnees now run hundreds of AI start-ups in Haidian.",
      "is_relevant": 1, "relevance": 0.91,
      "matched_terms": json.dumps(["Zhongguancun", "returnees"])},
     "2024-05-21T02:00:00+00:00"),
    ({"url": f"{CD}/202406/03/WS665d0002.html", "source": "chinadaily", "lang": "en",
      "title": "Zhongguancun job fair draws overseas talent", "published": "2024-06-03 09:30",
      "body": "A recruitment fair at the Zhongguancun Overseas Talent Pioneer Park drew 2,000 "
              "international students. One returnee who studied in Chicago found a job.",
      "is_relevant": 1, "relevance": 0.78,
      "matched_terms": json.dumps({"Zhongguancun": 2.0, "returnee": 1.5})},
     "2024-06-04T02:00:00+00:00"),
    ({"url": f"{CD}/202406/10/WS66660003.html", "source": "chinadaily", "lang": "en",
      "title": "Shenzhen woos returnees with housing subsidies", "published": "2024-06-10",
      "body": "Shenzhen offers returnees housing subsidies and start-up grants.",
      "is_relevant": 0, "relevance": 0.2, "matched_terms": json.dumps(["returnees"])},
     "2024-06-11T02:00:00+00:00"),
    ({"url": f"{ZGC}/english/news/202405/t20240522_0004.html", "source": "zgcgw",
      "lang": "en", "title": "AI start-ups led by returnees thrive in Zhongguancun",
      "published": "2024-05-22",
      "body": "More than 30 percent of the entrepreneurs in Zhongguancun have studied or "
              "worked overseas. Returnees run hundreds of AI start-ups in Haidian district.",
      "is_relevant": 1, "relevance": 0.9, "duplicate_of": 2, "similarity": 0.93,
      "matched_terms": json.dumps(["Zhongguancun", "returnees"])},
     "2024-05-23T03:00:00+00:00"),
    ({"url": f"{ZGC}/yw/gzdt/202406/t20240615_0005.html", "source": "zgcgw", "lang": "zh",
      "title": "中关村留学人员创业园举办海归人才交流会", "published": "2024-06-15",
      "body": "6月14日，中关村留学人员创业园举办海归人才交流会，200余名海归创业者参加。"
              "与会企业家介绍了回国创业的经验。",
      "is_relevant": 1, "relevance": 0.95,
      "matched_terms": json.dumps({"place": ["中关村"], "talent": ["海归", "留学人员"]},
                                  ensure_ascii=False)},
     "2024-06-15T08:00:00+00:00"),
    ({"url": f"{ZGC}/zwgk/tzgg/202405/t20240528_0006.html", "source": "zgcgw", "lang": "zh",
      "title": "中关村出台支持海外人才新政", "published": "2024-05-28T10:00:00+08:00",
      "body": "中关村发布支持海外人才新政，吸引留学生回国创业，最高给予100万元资助。",
      "is_relevant": 1, "relevance": 0.85,
      "matched_terms": json.dumps(["中关村", "海外人才"], ensure_ascii=False)},
     "2024-05-28T04:00:00+00:00"),
    ({"url": f"{ZGC}/yw/gzdt/202406/t20240601_0007.html", "source": "zgcgw", "lang": "zh",
      "title": "深圳吸引海归创业", "published": "2024-06-01",
      "body": "深圳出台措施吸引海归创业，提供住房补贴。",
      "is_relevant": 0, "relevance": 0.25,
      "matched_terms": json.dumps(["海归"], ensure_ascii=False)},
     "2024-06-02T04:00:00+00:00"),
    ({"url": f"{ZGC}/yw/gzdt/202406/t20240616_0008.html", "source": "zgcgw", "lang": "zh",
      "title": "海归人才交流会在中关村举行", "published": "2024-06-16",
      "body": "6月14日，中关村留学人员创业园举办海归人才交流会，200余名海归创业者参加。",
      "is_relevant": 1, "relevance": 0.93, "duplicate_of": 6, "similarity": 0.96,
      "matched_terms": json.dumps(["中关村", "海归"], ensure_ascii=False)},
     "2024-06-17T04:00:00+00:00"),
    ({"url": f"{ZGC}/yw/gzdt/202406/t20240620_0009.html", "source": "zgcgw", "lang": "zh",
      "title": "中关村人工智能芯片论坛开幕", "published": "2024-06-20",
      "body": "中关村人工智能芯片论坛今天开幕，多家企业发布新产品。",
      "is_relevant": 0, "relevance": 0.3, "matched_terms": json.dumps(["中关村"],
                                                                       ensure_ascii=False)},
     "2024-06-21T04:00:00+00:00"),
    ({"url": f"{ZGC}/yw/gzdt/202406/t20240625_0010.html", "source": "zgcgw", "lang": "zh",
      "title": "中关村海外人才驿站揭牌", "published": "2024-06-25",
      "body": "中关村海外人才驿站揭牌成立，为海外高层次人才提供一站式服务。",
      "is_relevant": 1, "relevance": 0.8,
      "matched_terms": json.dumps(["中关村", "海外人才"], ensure_ascii=False)},
     "2024-06-25T06:00:00+00:00"),
]
STORY_IDS = [2, 3, 6, 7, 11]

# (source, started, finished, status, counts, message)
RUNS = [
    ("chinadaily", "2024-06-24T01:00:00+00:00", "2024-06-24T01:05:00+00:00", "ok",
     {"pages": 30, "articles_new": 4, "stories_new": 2}, None),
    ("chinadaily", "2024-06-25T01:00:00+00:00", "2024-06-25T01:01:00+00:00", "failed",
     {"pages": 1, "errors": 1}, "listing /china/society returned HTTP 503"),
    ("zgcgw", "2024-06-24T02:00:00+00:00", "2024-06-24T02:20:00+00:00", "partial",
     {"pages": 40, "articles_new": 6, "stories_new": 3, "duplicates": 2, "errors": 2},
     "2 pages could not be decoded"),
    ("zgcgw", "2024-06-25T02:00:00+00:00", "2024-06-25T02:10:00+00:00", "ok",
     {"pages": 12, "articles_new": 1, "stories_new": 1}, None),
]


def fill_store(path):
    """A store filled the way the crawler fills it: upsert_article, then the run log."""
    db = open_store(path, now="2024-05-01T00:00:00+00:00")
    for record, first_seen in ARTICLES:
        upsert_article(db, record, now=first_seen)
    for source, started, finished, status, counts, message in RUNS:
        run = start_run(db, source, pid=4242, now=started)
        finish_run(db, run, status, counts, message=message, now=finished)
    return db


@pytest.fixture
def db(tmp_path):
    return fill_store(tmp_path / "z.db")


def indexed_rows(db):
    return dict(db.execute(f"SELECT rowid, body FROM {search.FTS_TABLE}").fetchall())


@pytest.mark.parametrize("text, expected", [
    ("Returnees flock to Zhongguancun", "Returnees flock to Zhongguancun"),
    ("ＡＩ　２０２４", "AI 2024"),  # full-width forms folded (NFKC)
    ("海归人才", " 海归 人才 海归人才 "),
    ("留学人员", " 留学 学人 人员 留学人员 "),
    ("中关村海归", " 中关 关村 中关村 海归 中关村海归 "),
    ("吸引留学生回国", " 吸引 留学 学生 留学生 吸引留学生 回国 留学生回国 "),
    ("ZGC的海归。", "ZGC 的 海归 的海归 。"),
    ("", ""),
    (None, ""),
])
def test_index_text(text, expected):
    assert search.index_text(text) == expected


def test_exact_schema(db):
    sql = {name: s for name, s in db.execute(
        "SELECT name, sql FROM sqlite_master WHERE name LIKE 'articles_fts%'")}
    assert sql["articles_fts"] == (
        "CREATE VIRTUAL TABLE articles_fts USING fts5(title, body, tokenize='porter unicode61')")
    assert sql["articles_fts_pending"] == (
        "CREATE TABLE articles_fts_pending (id INTEGER PRIMARY KEY)")
    triggers = {name: s for name, s in db.execute(
        "SELECT name, sql FROM sqlite_master WHERE type = 'trigger'")}
    assert set(triggers) >= {"articles_fts_insert", "articles_fts_update", "articles_fts_delete"}
    assert triggers["articles_fts_update"].startswith(
        "CREATE TRIGGER articles_fts_update AFTER UPDATE OF id, title, body ON articles\n"
        "WHEN old.id IS NOT new.id OR old.title IS NOT new.title OR old.body IS NOT new.body")
    assert db.execute("PRAGMA user_version").fetchone()[0] == migrations.latest() >= 3


@pytest.mark.parametrize("query, articles, stories", [
    ("海归", [6, 8, 9], [6]),
    ("留学", [6, 7, 9], [6, 7]),
    ("returnee", [SEED_ID, 2, 3, 4, 5], [2, 3]),
    ("RETURNEES", [SEED_ID, 2, 3, 4, 5], [2, 3]),
    ("海归人才", [6, 9], [6]),  # two words typed together
    ("海归 人才", [6, 9], [6]),
    ("海外人才 中关村", [7, 11], [7, 11]),
    ("中关村", [6, 7, 9, 10, 11], [6, 7, 11]),
    ("Zhongguancun returnees", [SEED_ID, 2, 3, 5], [2, 3]),
    ("深圳", [8], []),
    ('"unbalanced', [], []),
])
def test_search_finds_exactly(db, query, articles, stories):
    assert search.search(db, query) == articles
    assert search.search(db, query, "stories") == stories


def test_every_row_indexed_seed_included(db):
    assert search.status(db) == {"articles": 11, "indexed": 11, "pending": 0}
    assert db.execute("SELECT title FROM articles_fts WHERE rowid = ?",
                      [SEED_ID]).fetchone()[0] == "Zhongguancun supports overseas returnees"


def test_edit_and_delete_keep_index_current(db):
    url = ARTICLES[5][0]["url"]  # id 7: 中关村出台支持海外人才新政
    upsert_article(db, {"url": url, "source": "zgcgw",
                        "body": "中关村为海归博士提供公寓。"}, now="2024-07-01T00:00:00+00:00")
    assert 7 in search.search(db, "海归") and 7 not in search.search(db, "留学")
    assert search.search(db, "新政") == [7]  # the title was not edited, still indexed
    unchanged = indexed_rows(db)
    upsert_article(db, {"url": url, "source": "zgcgw"}, now="2024-07-02T00:00:00+00:00")
    assert indexed_rows(db) == unchanged and search.status(db)["pending"] == 0
    with db.conn:
        db.execute("DELETE FROM articles WHERE id = 10")
    assert search.search(db, "芯片") == [] and search.status(db)["indexed"] == 10


def test_rows_written_around_upsert_are_queued_then_synced(db):
    db["articles"].insert({"url": "https://x/zh", "source": "zgcgw", "title": "海归之家",
                           "first_seen": NOW, "last_seen": NOW})
    db["articles"].update(3, {"title": "Overseas graduates flock to Zhongguancun"})
    assert search.status(db)["pending"] == 2
    assert search.sync(db) == 2
    assert search.search(db, "海归") == [6, 8, 9, 12]
    assert search.search(db, "graduate") == [SEED_ID, 3]  # the seed says "graduated"


def test_index_failure_rolls_back_the_article(db, monkeypatch):
    def broken(text):
        raise RuntimeError("segmenter crashed")

    monkeypatch.setattr(search, "index_text", broken)
    with pytest.raises(RuntimeError):
        upsert_article(db, {"url": "https://x/new", "source": "zgcgw", "title": "海归"})
    assert db.execute("SELECT count(*) FROM articles WHERE url = 'https://x/new'"
                      ).fetchone()[0] == 0
    assert not db.conn.in_transaction and search.status(db)["pending"] == 0


def test_rebuild_restores_a_damaged_index(db):
    expected = indexed_rows(db)
    with db.conn:
        db.execute("DELETE FROM articles_fts WHERE rowid IN (6, 7)")
        db.execute("INSERT INTO articles_fts (rowid, title, body) VALUES (99, 'stray', 'x')")
        db.execute("DROP TRIGGER articles_fts_insert")
    assert search.search(db, "海归") == [8, 9]
    assert search.rebuild(db) == 11
    assert indexed_rows(db) == expected
    assert search.search(db, "海归") == [6, 8, 9]
    upsert_article(db, {"url": "https://x/again", "source": "zgcgw", "title": "海归回国"})
    assert search.search(db, "海归")[-1] == 12  # the trigger is back


def test_reindex_command(tmp_path):
    path = tmp_path / "monitor.db"
    fill_store(path).conn.close()
    conn = sqlite3.connect(path)
    with conn:
        conn.execute("DELETE FROM articles_fts")
    conn.close()
    result = subprocess.run([sys.executable, "-m", "store", "reindex", "--db", str(path)],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"{path}: 11 articles indexed in ")
    assert search.search(open_store(path), "留学") == [6, 7, 9]


def test_older_store_upgrades_with_its_rows_indexed(tmp_path):
    path = tmp_path / "old.db"
    conn = sqlite3.connect(path)
    old = sqlite_utils.Database(conn)
    older = [v for v in sorted(migrations.MIGRATIONS) if v < 3]
    for version in older:
        migrations.MIGRATIONS[version](old)
    conn.execute(f"PRAGMA user_version = {older[-1]}")
    conn.execute("INSERT INTO articles (url, source, title, body, lang, first_seen, last_seen) "
                 "VALUES ('https://x/old', 'zgcgw', '留学人员回国', '海归创业。', 'zh', 'a', 'a')")
    conn.commit()
    conn.close()
    db = open_store(path, now=NOW)
    assert search.search(db, "海归") == [1]
    assert search.search(db, "留学") == [1]
    assert search.sync(db) == 0  # open_store indexed the seed it loaded after the migration
    assert search.search(db, "returnees") == [2]
    assert search.status(db) == {"articles": 2, "indexed": 2, "pending": 0}
