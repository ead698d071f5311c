"""The store in Datasette: metadata, search, canned queries, the Atom feed, concurrent writes.

Served through Datasette's own test client on a file deliberately not called zgcwatch.db
(metadata is keyed by database name), and once for real by `python -m store serve`.
"""

import asyncio
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import feedparser
import pytest

from store import open_store, search
from store.articles import upsert_article
from store.datasette import (
    METADATA_KEY,
    canned_queries,
    load_metadata,
    make_datasette,
    metadata_for,
    run_query,
)
from tests.conftest import datasette_get, datasette_rows
from tests.test_search import ARTICLES, SEED_ID, STORY_IDS, fill_store

ROOT = Path(__file__).resolve().parent.parent
URL = {i: record["url"] for i, (record, _) in enumerate(ARTICLES, start=2)}
TITLE = {i: record["title"] for i, (record, _) in enumerate(ARTICLES, start=2)}
NEWEST_FIRST = [11, 6, 3, 7, 2]  # stories by publication date


@pytest.fixture
def store_file(tmp_path):
    path = tmp_path / "monitor.db"
    fill_store(path).conn.close()
    return path


@pytest.fixture
def get(store_file):
    """GET a path from Datasette serving store_file."""
    with datasette_get(store_file) as get:
        yield get


rows = datasette_rows


def ids(get, path):
    return [row["id"] for row in rows(get, path)]


def test_metadata_keyed_by_the_served_file_name(get):
    assert list(metadata_for("data/demo.db")["databases"]) == ["demo"]
    assert list(metadata_for("/srv/zgcwatch.db")["databases"]) == [METADATA_KEY]
    served = get("/-/metadata.json").json()
    assert list(served["databases"]) == ["monitor"]
    page = get("/monitor/articles").text
    assert "One row per distinct article URL fetched" in page
    assert 'data-column-description="Language of the text — en or zh."' in page
    home = get("/").text
    assert "zgcwatch — overseas returnees in Zhongguancun" in home
    assert 'href="https://zgcgw.beijing.gov.cn/"' in home
    assert 'href="https://www.chinadaily.com.cn/"' in home
    assert "Article content © the publishers" in home


def test_every_table_view_and_column_is_described(store_file):
    described = load_metadata()["databases"][METADATA_KEY]["tables"]
    db = open_store(store_file)
    shadow = re.compile(r"^articles_fts_(data|idx|content|docsize|config)$")
    names = [n for n in db.table_names() + db.view_names() if not shadow.match(n)]
    assert sorted(names) == sorted(described)
    for name in names:
        assert described[name]["description"], name
        columns = [c[1] for c in db.execute(f"PRAGMA table_info([{name}])")]
        assert sorted(described[name]["columns"]) == sorted(columns), name


def test_newest_first_with_source_language_and_month_facets(get):
    data = get("/monitor/stories.json?_col=id&_shape=objects").json()
    assert [r["id"] for r in data["rows"]] == NEWEST_FIRST
    facets = data["facet_results"]
    counts = {name: {(v["value"], v["count"]) for v in facet["results"]}
              for name, facet in facets.items()}
    assert counts == {
        "source": {("zgcgw", 3), ("chinadaily", 2)},
        "lang": {("zh", 3), ("en", 2)},
        "published": {("2024-06", 3), ("2024-05", 2)},
    }
    assert facets["published"]["type"] == "month"
    may = next(v for v in facets["published"]["results"] if v["value"] == "2024-05")
    assert may["toggle_url"].endswith("published__startswith=2024-05")
    assert ids(get, "/monitor/stories.json?published__startswith=2024-05") == [7, 2]
    articles = get("/monitor/articles.json?_col=id&_shape=objects&_size=3").json()
    assert [r["id"] for r in articles["rows"]] == [11, 10, 9]
    assert set(articles["facet_results"]) == {"source", "lang", "is_relevant", "published"}
    runs = get("/monitor/crawl_runs.json?_col=id&_shape=objects").json()
    assert [r["id"] for r in runs["rows"]] == [4, 2, 3, 1]


@pytest.mark.parametrize("query, articles, stories", [
    ("海归", [6, 8, 9], [6]),
    ("留学", [6, 7, 9], [6, 7]),
    ("returnee", [SEED_ID, 2, 3, 4, 5], [2, 3]),
    ("海归人才", [6, 9], [6]),
    ("海外人才 中关村", [7, 11], [7, 11]),
])
def test_search_finds_exactly_the_right_rows(get, query, articles, stories):
    assert sorted(ids(get, f"/monitor/articles.json?_search={query}&_col=id")) == articles
    assert sorted(ids(get, f"/monitor/stories.json?_search={query}&_col=id")) == stories


def test_search_box_on_table_and_view_pages(get):
    for page in ("/monitor/articles", "/monitor/stories"):
        assert 'name="_search"' in get(page).text, page
    found = get("/monitor/stories?_search=海归").text
    assert "1 row" in found and "search matches &#34;海归&#34;" in found
    assert TITLE[6] in found and TITLE[11] not in found


def test_raw_html_and_index_tables_hidden(get):
    tables = {t["name"]: t["hidden"] for t in get("/monitor.json").json()["tables"]}
    assert {name for name, hidden in tables.items() if not hidden} == {
        "articles", "crawl_runs", "url_aliases", "notifications"}
    assert tables["raw_pages"] and tables["articles_fts"] and tables["dedup_signatures"]
    assert 'href="/monitor/raw_pages"' not in get("/monitor").text


def test_latest_stories(get):
    assert rows(get, "/monitor/latest_stories.json") == [
        {"id": i, "published": ARTICLES[i - 2][0]["published"],
         "source": ARTICLES[i - 2][0]["source"], "lang": ARTICLES[i - 2][0]["lang"],
         "title": TITLE[i], "url": URL[i], "relevance": ARTICLES[i - 2][0]["relevance"],
         "first_seen": ARTICLES[i - 2][1]}
        for i in NEWEST_FIRST
    ]


def test_stories_per_month(get):
    assert rows(get, "/monitor/stories_per_month.json") == [
        {"month": "2024-06", "source": "chinadaily", "stories": 1},
        {"month": "2024-06", "source": "zgcgw", "stories": 2},
        {"month": "2024-05", "source": "chinadaily", "stories": 1},
        {"month": "2024-05", "source": "zgcgw", "stories": 1},
    ]


def test_duplicates_beside_originals(get):
    found = rows(get, "/monitor/duplicates.json")
    assert [(r["duplicate_id"], r["original_id"], r["similarity"]) for r in found] == [
        (9, 6, 0.96), (5, 2, 0.93)]
    assert found[1] == {
        "duplicate_id": 5, "duplicate_source": "zgcgw", "duplicate_published": "2024-05-22",
        "duplicate_title": "AI start-ups led by returnees thrive in Zhongguancun",
        "duplicate_url": URL[5], "similarity": 0.93,
        "original_id": 2, "original_source": "chinadaily", "original_published": "2024-05-20",
        "original_title": TITLE[2], "original_url": URL[2],
    }


def test_why_kept(get):
    found = {r["id"]: r for r in rows(get, "/monitor/why_kept.json")}
    assert list(found) == NEWEST_FIRST
    assert {i: (r["relevance"], r["terms"]) for i, r in found.items()} == {
        11: (0.8, "中关村, 海外人才"),
        6: (0.95, "中关村, 海归, 留学人员"),  # {"place": [...], "talent": [...]}
        3: (0.78, "Zhongguancun, returnee"),  # {"term": weight}
        7: (0.85, "中关村, 海外人才"),
        2: (0.91, "Zhongguancun, returnees"),
    }
    assert found[6]["matched_terms"] == ARTICLES[4][0]["matched_terms"]
    assert found[6]["url"] == URL[6]


def test_crawl_health(get):
    assert rows(get, "/monitor/crawl_health.json") == [
        {"source": "chinadaily", "last_started": "2024-06-25T01:00:00+00:00",
         "last_status": "failed", "last_message": "listing /china/society returned HTTP 503",
         "last_ok": "2024-06-24T01:05:00+00:00", "failures_since_ok": 1, "runs": 2,
         "failed": 1, "partial": 0, "pages": 31, "articles_new": 4, "stories_new": 2,
         "duplicates": 0, "errors": 1, "articles_stored": 3, "stories_stored": 2},
        {"source": "zgcgw", "last_started": "2024-06-25T02:00:00+00:00",
         "last_status": "ok", "last_message": None,
         "last_ok": "2024-06-25T02:10:00+00:00", "failures_since_ok": 0, "runs": 2,
         "failed": 0, "partial": 1, "pages": 52, "articles_new": 7, "stories_new": 4,
         "duplicates": 2, "errors": 2, "articles_stored": 7, "stories_stored": 3},
    ]
    recent = rows(get, "/monitor/recent_runs.json")
    assert [(r["id"], r["source"], r["status"]) for r in recent] == [
        (4, "zgcgw", "ok"), (2, "chinadaily", "failed"), (3, "zgcgw", "partial"),
        (1, "chinadaily", "ok")]


def test_canned_queries_same_rows_in_python(get, store_file):
    db = open_store(store_file)
    for name in canned_queries():
        assert run_query(db, name) == rows(get, f"/monitor/{name}.json"), name


def test_atom_feed_one_entry_per_story_newest_first(get):
    response = get("/monitor/feed.atom")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/xml")
    feed = feedparser.parse(response.content)
    assert not feed.bozo, feed.bozo_exception
    assert feed.feed.title == "zgcwatch — new stories about overseas returnees in Zhongguancun"
    assert sorted(NEWEST_FIRST) == STORY_IDS  # one entry per story, newest first:
    assert [e.id for e in feed.entries] == [URL[i] for i in NEWEST_FIRST]
    assert [e.link for e in feed.entries] == [URL[i] for i in NEWEST_FIRST]
    assert [e.title for e in feed.entries] == [TITLE[i] for i in NEWEST_FIRST]
    # Beijing dates and times in UTC; an explicit offset is honoured
    assert [e.updated for e in feed.entries] == [
        "2024-06-24T16:00:00+00:00", "2024-06-14T16:00:00+00:00",
        "2024-06-03T01:30:00+00:00", "2024-05-28T02:00:00+00:00",
        "2024-05-19T16:00:00+00:00"]
    updated = [e.updated_parsed for e in feed.entries]
    assert updated == sorted(updated, reverse=True)
    assert feed.entries[1].summary.startswith("2024-06-15 · zgcgw · relevance 0.95\n\n6月14日")


def test_atom_feed_without_stories_yet(tmp_path):
    path = tmp_path / "fresh.db"
    open_store(path).conn.close()
    ds = make_datasette(path)
    response = asyncio.run(ds.client.get("/fresh/feed.atom"))
    assert response.status_code == 200
    feed = feedparser.parse(response.content)
    assert [e.id for e in feed.entries] == ["urn:zgcwatch:no-stories-yet"]


def test_read_only_for_the_web(get, store_file):
    queries = load_metadata()["databases"][METADATA_KEY]["queries"]
    assert not any(q.get("write") for q in queries.values())
    refused = get("/monitor.json?sql=delete+from+articles")
    assert refused.status_code == 400 and "Statement must be a SELECT" in refused.text
    assert open_store(store_file)["articles"].count == 11
    plugins = {p["name"] for p in get("/-/plugins.json").json()}
    assert plugins <= {"datasette-atom", "zgcwatch"}  # neither writes


def test_reads_while_the_crawler_writes(store_file):
    """A crawl commits rows while Datasette serves: neither side meets `database is locked`."""
    ds = make_datasette(store_file)
    errors, written, during, done = [], [], [], threading.Event()

    def crawler():
        db = open_store(store_file)
        try:
            for n in range(150):
                upsert_article(db, {
                    "url": f"https://zgcgw.beijing.gov.cn/zgc/yw/gzdt/t{n}.html",
                    "source": "zgcgw", "lang": "zh", "title": f"海归创业者第{n}期交流会",
                    "body": "中关村留学人员创业园举办海归人才交流会。" * 20,
                    "published": "2024-07-01", "is_relevant": 1, "relevance": 0.9})
                written.append(n)
                time.sleep(0.01)  # a crawl writes an article at a time, not in a burst
        except Exception as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)
        finally:
            done.set()

    paths = ["/monitor/stories.json?_search=海归&_shape=array&_col=id",
             "/monitor/articles.json?_facet_month=published&_size=5",
             "/monitor/latest_stories.json", "/monitor/crawl_health.json",
             "/monitor/feed.atom", "/monitor/stories?_search=留学"]

    async def browse():
        statuses = []
        while not done.is_set() or len(statuses) < 30:
            for path in paths:
                response = await ds.client.get(path)
                statuses.append((response.status_code, "locked" in response.text))
                during.append(0 < len(written) < 150)
        return statuses

    thread = threading.Thread(target=crawler)
    thread.start()
    statuses = asyncio.run(browse())
    thread.join()
    assert errors == []
    assert len(written) == 150
    assert set(statuses) == {(200, False)}
    assert sum(during) >= 10  # the reads really overlapped the writes
    final = asyncio.run(ds.client.get(
        "/monitor/stories.json?_search=海归&_shape=array&_col=id&_size=max"))
    assert len(final.json()) == 151


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def fetch(url, timeout=20):
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                return response.status, response.read()
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def test_serve_command_on_any_file_name(tmp_path):
    path = tmp_path / "demo.db"
    fill_store(path).conn.close()
    port = free_port()
    env = {**os.environ, "ZGCWATCH_DB": str(path)}
    server = subprocess.Popen([sys.executable, "-m", "store", "serve", "--port", str(port)],
                              cwd=ROOT, env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True)
    try:
        base = f"http://127.0.0.1:{port}"
        status, body = fetch(f"{base}/demo/articles.json?_search=%E6%B5%B7%E5%BD%92"
                             "&_shape=array&_col=id")
        assert status == 200 and sorted(r["id"] for r in json.loads(body)) == [6, 8, 9]
        metadata = json.loads(fetch(f"{base}/-/metadata.json")[1])
        assert list(metadata["databases"]) == ["demo"]
        assert fetch(f"{base}/demo/feed.atom")[0] == 200
    finally:
        server.send_signal(signal.SIGTERM)
        output = server.communicate(timeout=20)[0]
    assert server.returncode == 0, output
    with pytest.raises(OSError):
        urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2)


def test_metadata_command_and_make_target(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "store", "metadata", "--db", str(tmp_path / "x" / "demo.db")],
        capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0, result.stderr
    assert list(json.loads(result.stdout)["databases"]) == ["demo"]
    assert not (tmp_path / "x").exists()  # printing metadata creates no store
    dry_run = subprocess.run(
        ["make", "--no-print-directory", "-n", "-o", ".venv/.installed", "serve", "PORT=8123"],
        capture_output=True, text=True, cwd=ROOT)
    assert dry_run.returncode == 0, dry_run.stderr
    assert dry_run.stdout.strip().endswith("/python -m store serve --port 8123")


def test_datasette_search_agrees_with_the_python_helper(get, store_file):
    db = open_store(store_file)
    for query in ("海归", "留学", "returnee", "中关村", "海外人才", "Zhongguancun returnees"):
        for relation in ("articles", "stories"):
            found = ids(get, f"/monitor/{relation}.json?_search={query}&_col=id&_size=max")
            assert sorted(found) == search.search(db, query, relation), (query, relation)


def test_stories_to_review_lists_close_calls_with_their_evidence(store_file):
    db = open_store(store_file)
    close = {"url": "https://www.chinadaily.com.cn/a/202406/30/WS66800001.html",
             "source": "chinadaily", "lang": "en", "title": "Battery fair draws crowds",
             "published": "2024-06-30", "body": "Zhongguancun hosted a fair. … A returnee.",
             "is_relevant": 0, "relevance": 0.3, "review": 1,
             "evidence": "Zhongguancun hosted a fair. … A returnee.",
             "matched_terms": '{"title": [], "place": ["Zhongguancun"], "talent": ["returnee"]}'}
    review_id, _ = upsert_article(db, close, now="2024-07-01T00:00:00+00:00")
    copy_id, _ = upsert_article(db, {**close, "url": close["url"] + "?copy"},
                                now="2024-07-01T00:00:00+00:00")
    db.execute("UPDATE articles SET duplicate_of = ? WHERE id = ?", [review_id, copy_id])
    db.conn.commit()
    stories = [r[0] for r in db.execute("SELECT id FROM stories")]
    db.conn.close()
    with datasette_get(store_file) as get:
        found = rows(get, "/monitor/stories_to_review.json")
        assert found == [{
            "id": review_id, "published": "2024-06-30", "source": "chinadaily", "lang": "en",
            "title": "Battery fair draws crowds", "relevance": 0.3,
            "evidence": "Zhongguancun hosted a fair. … A returnee.",
            "terms": "Zhongguancun, returnee", "url": close["url"]}]
        assert sorted(ids(get, "/monitor/stories.json?_col=id")) == sorted(stories)
        assert review_id not in stories
        page = get("/monitor/stories_to_review").text
        assert "Stories to review" in page and "A returnee." in page
