"""The reader's pages (store/templates/): the stories list, the article page, the folded
column descriptions; the JSON and CSV beside them unchanged."""

import re
import sqlite3
from html import unescape

import pytest
from markupsafe import escape

from store import pages
from tests.conftest import datasette_get, datasette_rows
from tests.test_datasette import NEWEST_FIRST, TITLE, URL
from tests.test_search import fill_store

EVIDENCE = "中关村留学人员创业园举办海归人才交流会 <b>not bold</b>"


@pytest.fixture
def store_file(tmp_path):
    path = tmp_path / "monitor.db"
    fill_store(path).conn.close()
    return path


def stories_on(html):
    """(id, headline, link) of each story listed, in order."""
    return [(int(i), unescape(title), url) for url, title, i in re.findall(
        r'<h2 class="zgc-headline"[^>]*><a href="([^"]+)"[^>]*>([^<]+)</a></h2>.*?'
        r'href="/monitor/articles/(\d+)">details', html, re.S)]


@pytest.mark.parametrize("stored, expected", [
    ('{"title": ["中关村"], "place": ["中关村", "海淀"], "talent": ["海归"]}',
     ["中关村", "海淀", "海归"]),
    ('["Zhongguancun", "returnees"]', ["Zhongguancun", "returnees"]),
    ('{"Zhongguancun": 2.0, "returnee": 1.5}', []),  # weights only: no term text to show
    ("not json", ["not json"]),
    (None, []),
])
def test_terms_from_the_stored_json(stored, expected):
    assert pages.terms(stored) == expected


def test_snippet_is_one_line_cut_at_the_limit():
    assert pages.snippet("第一段。\n\n第二段  很长", limit=8) == "第一段。 第二段…"
    assert pages.snippet("Short.\nTwo lines.") == "Short. Two lines."
    assert pages.snippet(None) == ""


def test_stories_page_lists_headlines_links_dates_copies_and_why(store_file):
    with datasette_get(store_file) as get:
        html = get("/monitor/stories").text
    listed = stories_on(html)
    assert listed == [(i, TITLE[i], URL[i]) for i in NEWEST_FIRST]
    assert 'href="/monitor/articles?duplicate_of=2">1 copy linked' in html
    assert html.count("copy linked") == 2  # stories 2 and 6 have one copy each
    assert "Kept for" in html and '<span class="zgc-term">海归</span>' in html
    assert '<table class="rows-and-columns">' not in html  # no column wall of bodies
    assert '<details class="zgc-columns">' in html and "What the columns mean (23)" in html
    assert 'name="_search"' in html and "published (month)" in html  # search and facets stay
    assert "zgc-evidence" not in html  # these rows have no evidence: nothing empty shows


def test_evidence_shows_once_the_column_exists_and_markup_stays_text(store_file):
    conn = sqlite3.connect(store_file)
    with conn:
        conn.execute("UPDATE articles SET evidence = ? WHERE id = 6", [EVIDENCE])
    conn.close()
    with datasette_get(store_file) as get:
        html = get("/monitor/stories").text
        row_page = get("/monitor/articles/6").text
    quoted = f">{escape(EVIDENCE)}</blockquote>"
    assert quoted in html and quoted in row_page
    assert "<b>not bold</b>" not in html and "<b>not bold</b>" not in row_page


def test_article_page_shows_the_story_then_every_column(store_file):
    with datasette_get(store_file) as get:
        html = get("/monitor/articles/6").text
    story = html.split('<article class="zgc-article"', 1)[1].split("</article>", 1)[0]
    assert f'<a href="{URL[6]}" rel="noopener noreferrer">{TITLE[6]}</a>' in story
    assert "<time>2024-06-15</time> · Zhongguancun administration (zgcgw) · 中文" in story
    assert "<p>6月14日，中关村留学人员创业园举办海归人才交流会" in story
    columns = re.findall(r'<tr><th scope="row">(\w+)</th>', html)
    assert columns[:3] == ["id", "url", "source"] and "body_hash" in columns


def test_json_and_csv_unchanged_by_the_templates(store_file):
    with datasette_get(store_file) as get:
        found = datasette_rows(get, "/monitor/stories.json?_col=id&_col=title")
        assert found == [{"id": i, "title": TITLE[i]} for i in NEWEST_FIRST]
        csv = get("/monitor/stories.csv?_col=id&_col=title").text
        assert csv.splitlines() == ["id,title", *(f"{i},{TITLE[i]}" for i in NEWEST_FIRST)]
        assert get("/monitor/feed.atom").status_code == 200
        css = get(f"/{pages.STATIC_MOUNT}/zgcwatch.css")
        assert css.status_code == 200 and "zgc-stories" in css.text


def test_evidence_that_is_the_headline_is_said_not_repeated(store_file):
    conn = sqlite3.connect(store_file)
    with conn:
        conn.execute("UPDATE articles SET evidence = title WHERE id = 6")
    conn.close()
    with datasette_get(store_file) as get:
        html = get("/monitor/stories").text
    entry = html.split(f'href="{URL[6]}"', 1)[1].split("</li>", 1)[0]
    assert "both named in the headline" in entry and "zgc-evidence" not in entry
