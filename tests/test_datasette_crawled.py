"""Datasette on the store a real crawl filled: canned queries, search, the Atom feed, pages.

Every expected row comes from the fixture sites' expected.json and gold files (or, for ids
and timestamps the crawl chose, from a plain read-only `sqlite3` look-up by URL). The
store is the shared session `crawled_store` (zgcgw crawled first, then China Daily).
"""

import json
import sqlite3
from collections import Counter

import feedparser
import pytest
from markupsafe import escape

from crawler.relevance import load_profile
from store.datasette import database_name
from store.seeds import read_seeds
from tests.conftest import FIXTURES, datasette_get, datasette_rows

SITES = {"chinadaily": "https://www.chinadaily.com.cn",
         "zgcgw": "https://zgcgw.beijing.gov.cn"}
SEED = read_seeds()[0]  # the one seed, seeds/zhongguancun-supports-overseas-returnees.txt


def expected(source):
    return json.loads((FIXTURES / source / "expected.json").read_text(encoding="utf-8"))


def live(source, path):
    """The live URL of a fixture path; "seed" is the seed, "zgcgw:/..." another site's."""
    if path == "seed":
        return SEED["url"]
    if ":/" in path and not path.startswith("http"):
        source, path = path.split(":", 1)
    return SITES[source] + path


def gold_by_url():
    """{live URL: gold record with its source} for every gold article of both sites."""
    found = {}
    for source in SITES:
        for file in (FIXTURES / source / "gold").glob("*.json"):
            record = json.loads(file.read_text(encoding="utf-8"))
            found[live(source, record["path"])] = {**record, "source": source}
    found[SEED["url"]] = {"title": SEED["title"], "published": SEED["published"],
                          "lang": SEED["lang"], "source": "seed"}
    return found


GOLD = gold_by_url()
OUTCOMES = {live(source, path): {**outcome, "source": source}
            for source in SITES for path, outcome in expected(source)["articles"].items()}
STORIES = sorted((url for url, o in OUTCOMES.items() if o["relevant"] and not o["duplicate_of"]),
                 key=lambda url: GOLD[url]["published"], reverse=True)  # newest first
COPIES = {url: live(o["source"], o["duplicate_of"])
          for url, o in OUTCOMES.items() if o["duplicate_of"]}


@pytest.fixture(scope="module")
def stored(crawled_store):
    """{url: row} of the crawled store, read with plain sqlite3 (read-only)."""
    conn = sqlite3.connect(f"file:{crawled_store}?mode=ro", uri=True)
    conn.row_factory = sqlite3.Row
    try:
        return {row["url"]: dict(row) for row in conn.execute("SELECT * FROM articles")}
    finally:
        conn.close()


@pytest.fixture(scope="module")
def sql(crawled_store):
    """Run one read-only query on the crawled store; rows as dicts."""
    conn = sqlite3.connect(f"file:{crawled_store}?mode=ro", uri=True)
    conn.row_factory = sqlite3.Row
    yield lambda query, params=(): [dict(r) for r in conn.execute(query, params)]
    conn.close()


@pytest.fixture(scope="module")
def db(crawled_store):
    """The Datasette database name of the crawled store."""
    return database_name(crawled_store)


@pytest.fixture(scope="module")
def get(crawled_store):
    """GET a path from Datasette serving the crawled store."""
    with datasette_get(crawled_store) as get:
        yield get


rows = datasette_rows


def leaves(value):
    """The text values of a JSON document, depth first, as SQLite's json_tree walks it."""
    if isinstance(value, dict):
        return [leaf for item in value.values() for leaf in leaves(item)]
    if isinstance(value, list):
        return [leaf for item in value for leaf in leaves(item)]
    return [value] if isinstance(value, str) else []


def test_latest_stories_are_the_expected_stories_newest_first(get, db, stored):
    assert len(STORIES) == 12
    assert rows(get, f"/{db}/latest_stories.json") == [
        {"id": stored[url]["id"], "published": GOLD[url]["published"],
         "source": GOLD[url]["source"], "lang": GOLD[url]["lang"],
         "title": GOLD[url]["title"], "url": url, "relevance": stored[url]["relevance"],
         "first_seen": stored[url]["first_seen"]}
        for url in STORIES
    ]


def test_stories_per_month_add_up_to_the_stories(get, db):
    counts = Counter((GOLD[url]["published"][:7], GOLD[url]["source"]) for url in STORIES)
    by_source = sorted(counts.items(), key=lambda item: item[0][1])
    newest_month_first = sorted(by_source, key=lambda item: item[0][0], reverse=True)
    found = rows(get, f"/{db}/stories_per_month.json")
    assert found == [{"month": month, "source": source, "stories": n}
                     for (month, source), n in newest_month_first]
    assert sum(r["stories"] for r in found) == len(STORIES)


def test_duplicates_are_the_expected_copies_beside_their_originals(get, db, stored):
    assert len(COPIES) == 4  # two of the seed, the Chinese republication, the cross-site copy
    found = rows(get, f"/{db}/duplicates.json")
    order = sorted(COPIES, key=lambda url: (stored[url]["first_seen"], stored[url]["id"]),
                   reverse=True)
    assert [{k: v for k, v in r.items() if k != "similarity"} for r in found] == [
        {"duplicate_id": stored[copy]["id"], "duplicate_source": GOLD[copy]["source"],
         "duplicate_published": GOLD[copy]["published"], "duplicate_title": GOLD[copy]["title"],
         "duplicate_url": copy,
         "original_id": stored[COPIES[copy]]["id"], "original_source": GOLD[COPIES[copy]]["source"],
         "original_published": GOLD[COPIES[copy]]["published"],
         "original_title": GOLD[COPIES[copy]]["title"], "original_url": COPIES[copy]}
        for copy in order
    ]
    for row in found:
        assert 0.7 <= row["similarity"] <= 1, row


def test_why_kept_names_matched_terms_for_every_story(get, db, stored):
    found = rows(get, f"/{db}/why_kept.json")
    assert [r["url"] for r in found] == STORIES
    threshold = load_profile().threshold
    for row in found:
        url = row["url"]
        matched = json.loads(row["matched_terms"])
        assert matched["place"] and matched["talent"], url  # about both, or not kept
        assert row == {
            "id": stored[url]["id"], "published": GOLD[url]["published"],
            "source": GOLD[url]["source"], "title": GOLD[url]["title"],
            "relevance": stored[url]["relevance"], "evidence": stored[url]["evidence"],
            "terms": ", ".join(leaves(matched)),
            "matched_terms": stored[url]["matched_terms"], "url": url,
        }
        assert row["evidence"], url  # a kept story always says where the sides meet
        assert row["relevance"] >= threshold, url


def test_crawl_health_one_row_per_source_partial_with_its_errors(get, db, sql):
    runs = {r["source"]: r for r in sql("SELECT * FROM crawl_runs")}
    found = rows(get, f"/{db}/crawl_health.json")
    errors = {"chinadaily": 3, "zgcgw": 1}  # chinadaily: 404, 500, timeout; zgcgw: 404
    traps_stored = {s: list(expected(s)["traps"].values()).count("empty") for s in SITES}
    assert [{k: v for k, v in r.items() if k not in ("pages", "last_message",
                                                     "stories_new", "duplicates")}
            for r in found] == [
        {"source": source, "last_started": runs[source]["started_at"],
         "last_status": "partial", "last_ok": None, "failures_since_ok": 0, "runs": 1,
         "failed": 0, "partial": 1,
         "articles_new": len(expected(source)["articles"]) + traps_stored[source],
         "errors": errors[source],
         "articles_stored": len(expected(source)["articles"]) + traps_stored[source],
         "stories_stored": sum(GOLD[url]["source"] == source for url in STORIES)}
        for source in sorted(SITES)
    ]
    for row in found:
        assert row["last_message"].startswith(f"{errors[row['source']]} page"), row
    recent = rows(get, f"/{db}/recent_runs.json")
    assert [(r["source"], r["status"], r["errors"]) for r in recent] == [
        ("chinadaily", "partial", 3), ("zgcgw", "partial", 1)]  # crawled second, listed first


def test_run_counts_agree_with_what_the_run_stored(get, db):
    found = rows(get, f"/{db}/crawl_health.json")
    copies = Counter(GOLD[url]["source"] for url in COPIES)
    assert [(r["source"], r["stories_new"], r["duplicates"]) for r in found] == [
        (r["source"], r["stories_stored"], copies[r["source"]]) for r in found]


def zh_or_en(stored, query, lang):
    """Ids of stored `lang` articles whose title or body holds `query` (case-insensitive)."""
    return sorted(r["id"] for r in stored.values() if r["lang"] == lang
                  and query.lower() in f"{r['title'] or ''}\n{r['body'] or ''}".lower())


@pytest.mark.parametrize("query, lang", [("海归", "zh"), ("留学", "zh"), ("returnee", "en")])
def test_search_finds_exactly_the_articles_holding_the_word(get, db, stored, query, lang):
    want = zh_or_en(stored, query, lang)
    story_ids = {stored[url]["id"] for url in STORIES}
    assert want and set(want) & story_ids
    found = rows(get, f"/{db}/articles.json?_search={query}&_col=id&_size=max")
    assert sorted(r["id"] for r in found) == want
    found = rows(get, f"/{db}/stories.json?_search={query}&_col=id&_size=max")
    assert sorted(r["id"] for r in found) == sorted(set(want) & story_ids)


def test_atom_feed_one_entry_per_story_newest_publication_first(get, db, sql):
    response = get(f"/{db}/feed.atom")
    assert response.status_code == 200
    feed = feedparser.parse(response.content)
    assert not feed.bozo, feed.bozo_exception
    assert sql("SELECT count(*) AS n FROM stories") == [{"n": len(STORIES)}]
    assert [e.link for e in feed.entries] == STORIES
    assert [e.id for e in feed.entries] == STORIES
    assert [e.title for e in feed.entries] == [GOLD[url]["title"] for url in STORIES]
    updated = [e.updated_parsed for e in feed.entries]
    assert updated == sorted(updated, reverse=True)


def test_stories_page_shows_both_languages_and_hides_raw_html(get, db, sql):
    page = get(f"/{db}/stories")
    assert page.status_code == 200
    for url in STORIES:
        assert str(escape(GOLD[url]["title"])) in page.text, url
    assert {GOLD[url]["lang"] for url in STORIES} == {"en", "zh"}
    others = [url for url in OUTCOMES if url not in STORIES]
    for url in others:
        assert str(escape(GOLD[url]["title"])) not in page.text, url
    assert sql("SELECT count(*) > 0 AS kept FROM raw_pages") == [{"kept": 1}]
    tables = {t["name"]: t["hidden"] for t in get(f"/{db}.json").json()["tables"]}
    assert tables["raw_pages"] is True
    assert f'href="/{db}/raw_pages"' not in get(f"/{db}").text
