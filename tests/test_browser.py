"""The stories page in a real browser: Debian's Chromium (headless, through Playwright) on
`python -m store serve` of a crawled fixture store. Screenshots go to test-artifacts/."""

import os
import shutil
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT
from tests.test_datasette import fetch, free_port

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = ROOT / "test-artifacts"
STORY = "https://www.chinadaily.com.cn/a/202405/20/WS664a8a88a3100bf996d5e106.html"
# Markup as text in a headline and a body, as a site may show it escaped: shown as text.
HOSTILE_TITLE = "Returnees power Zhongguancun's hard-tech push <script>alert(1)</script>"
HOSTILE_LINE = "A line that reads <img src=x onerror=alert(2)> on the page."


@pytest.fixture(scope="module")
def served(crawled_store, tmp_path_factory):
    """`python -m store serve` on a copy of the crawled store, one headline holding markup."""
    path = tmp_path_factory.mktemp("browser") / "zgcwatch.db"
    conn = sqlite3.connect(crawled_store)
    try:
        conn.execute(f"VACUUM INTO '{path}'")  # a consistent copy, WAL included
    finally:
        conn.close()
    conn = sqlite3.connect(path)
    with conn:
        conn.execute("UPDATE articles SET title = ?, body = ? || char(10) || body WHERE url = ?",
                     [HOSTILE_TITLE, HOSTILE_LINE, STORY])
    conn.close()
    port = free_port()
    env = {**os.environ, "ZGCWATCH_DB": str(path)}
    server = subprocess.Popen([sys.executable, "-m", "store", "serve", "--port", str(port)],
                              cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        fetch(f"{base}/-/versions.json")
        yield base, path
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=20)


def stories(path, where="1"):
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return conn.execute(f"SELECT title, url, lang, id FROM stories WHERE {where} "
                            "ORDER BY published DESC").fetchall()
    finally:
        conn.close()


def test_a_reader_browses_searches_and_opens_a_story(served):
    from playwright.sync_api import sync_playwright

    assert CHROMIUM.exists(), "needs Debian's chromium and fonts-noto-cjk (.ci/run installs them)"
    base, path = served
    shutil.rmtree(ARTIFACTS / "browser", ignore_errors=True)
    (ARTIFACTS / "browser").mkdir(parents=True)
    everything = stories(path)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM),
                                             args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1200, "height": 900})
        dialogs = []
        page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
        errors = []  # Datasette's table.js must cope with a page that has no table of rows
        page.on("pageerror", lambda error: errors.append(str(error)))

        page.goto(f"{base}/zgcwatch/stories")
        assert page.locator("h1").inner_text() == "New stories (view)"
        headlines = page.locator("li.zgc-story h2 a")
        assert headlines.all_inner_texts() == [title for title, *_ in everything]
        assert [a.get_attribute("href") for a in headlines.all()] == [u for _, u, *_ in everything]
        chinese = next(title for title, _, lang, _ in everything if lang == "zh")
        assert page.get_by_role("link", name=chinese).is_visible()
        assert page.get_by_text(HOSTILE_TITLE, exact=True).is_visible()
        assert page.locator("li.zgc-story img, li.zgc-story script").count() == 0
        first = page.locator("li.zgc-story").first
        assert "Kept for" in first.locator(".zgc-why").inner_text()
        assert first.locator(".zgc-snippet").bounding_box()["height"] < 60  # two lines
        assert not page.locator("dl.column-descriptions").is_visible()
        assert page.locator("details.zgc-columns summary").is_visible()
        assert page.locator(".facet-info").count() >= 3  # source, lang, month stay
        page.screenshot(path=ARTIFACTS / "browser" / "stories.png", full_page=True)

        page.fill("#_search", "海归")
        page.press("#_search", "Enter")
        page.wait_for_url("**_search=*")
        found = page.locator("li.zgc-story h2 a").all_inner_texts()
        ids = [row[3] for row in everything]
        haigui = [t for t, _, _, i in everything if i in search_ids(base, "海归", ids)]
        assert found == haigui and found
        page.screenshot(path=ARTIFACTS / "browser" / "search-haigui.png", full_page=True)

        page.locator("li.zgc-story a.zgc-details").first.click()
        page.wait_for_url("**/zgcwatch/articles/*")
        assert page.locator("article.zgc-article h2").inner_text() == found[0]
        assert len(page.locator(".zgc-body p").all()) >= 2
        page.screenshot(path=ARTIFACTS / "browser" / "story.png", full_page=True)

        page.goto(f"{base}/zgcwatch/stories")
        page.get_by_text(HOSTILE_TITLE).locator("xpath=../..").locator("a.zgc-details").click()
        page.wait_for_url("**/zgcwatch/articles/*")
        assert page.locator("article.zgc-article h2").inner_text() == HOSTILE_TITLE
        assert page.get_by_text(HOSTILE_LINE, exact=True).is_visible()
        assert page.locator("article img, article script").count() == 0
        page.screenshot(path=ARTIFACTS / "browser" / "story-with-markup.png")
        browser.close()
    assert dialogs == []  # no script from a headline or a body ever ran
    assert errors == []


def search_ids(base, word, ids):
    """The ids Datasette's JSON gives for a search of the stories (the page must agree)."""
    import json
    from urllib.parse import quote

    status, body = fetch(f"{base}/zgcwatch/stories.json?_search={quote(word)}"
                         "&_shape=array&_col=id&_size=max")
    assert status == 200
    return {row["id"] for row in json.loads(body)} & set(ids)
