"""End to end: `scrapy crawl <site> -a base_url=...` against the fixture sites on 127.0.0.1."""

import contextlib
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from crawler.urls import SiteMap
from tests.conftest import FIXTURES, ROOT, crawl
from tests.siteserver import serve

LIVE = {"chinadaily": "https://www.chinadaily.com.cn", "zgcgw": "https://zgcgw.beijing.gov.cn"}
SEED_URL = "seed:zhongguancun-supports-overseas-returnees"


def expected(source):
    """The fixture site's expectations: articles, traps, aliases."""
    return json.loads((FIXTURES / source / "expected.json").read_text(encoding="utf-8"))


def gold(source, path):
    """The hand-written gold record of the fixture article at `path`."""
    for file in (FIXTURES / source / "gold").glob("*.json"):
        record = json.loads(file.read_text(encoding="utf-8"))
        if record["path"] == path:
            return record
    raise KeyError(path)


def live(source, path):
    """The canonical live URL of a fixture path, or of 'zgcgw:/path', or the seed."""
    if path == "seed":
        return SEED_URL
    if ":" in path and not path.startswith("/"):
        source, path = path.split(":", 1)
    return LIVE[source] + path


def rows(db_path, sql, params=()):
    """Query the store as a Datasette user would, with a plain connection."""
    conn = sqlite3.connect(db_path)
    conn.row_factory = sqlite3.Row
    try:
        return [dict(r) for r in conn.execute(sql, params)]
    finally:
        conn.close()


def article_paths(requests):
    """Paths of article pages among the requests a fixture server saw."""
    sites = [SiteMap("chinadaily"), SiteMap("zgcgw")]
    return {r.split("?")[0] for r in requests
            if any(s.is_article(LIVE[s.site.source] + r.split("?")[0]) for s in sites)}


def crawl_both(start_site, db_path):
    """China Daily first, then zgcgw: the cross-site original arrives after its copy."""
    sites, results = {}, {}
    for source in ("chinadaily", "zgcgw"):
        sites[source] = start_site(source)
        results[source] = crawl(source, sites[source].base_url, db_path)
    return db_path, sites, results


@pytest.fixture(scope="module")
def both_crawled(tmp_path_factory):
    """One crawl of each fixture site into one store, shared by the read-only tests."""
    root = tmp_path_factory.mktemp("e2e")
    with contextlib.ExitStack() as stack:
        def start_site(source):
            shutil.copytree(FIXTURES / source, root / source)
            return stack.enter_context(serve(root / source))

        yield crawl_both(start_site, root / "store.db")


def test_every_article_stored_once_with_its_outcome(both_crawled):
    db_path, sites, results = both_crawled
    for result in results.values():
        assert result.returncode == 0, result.stderr[-3000:]
    stored = {r["url"]: r for r in rows(db_path, "SELECT * FROM articles")}
    by_id = {r["id"]: r["url"] for r in stored.values()}
    for source in ("chinadaily", "zgcgw"):
        for path, outcome in expected(source)["articles"].items():
            row = stored[live(source, path)]
            assert row["source"] == source
            assert bool(row["is_relevant"]) == outcome["relevant"], (path, row["matched_terms"])
            original = by_id.get(row["duplicate_of"])
            want = live(source, outcome["duplicate_of"]) if outcome["duplicate_of"] else None
            assert original == want, (path, outcome["why"], row["similarity"])
    articles = sum(len(expected(s)["articles"]) for s in ("chinadaily", "zgcgw"))
    traps_stored = 2  # the empty video page and the empty zgcgw notice are fetched articles
    assert len(stored) == articles + traps_stored + 1  # + the seed
    stories = {r["url"] for r in rows(db_path, "SELECT url FROM stories")}
    assert stories == {
        live(source, path)
        for source in ("chinadaily", "zgcgw")
        for path, outcome in expected(source)["articles"].items()
        if outcome["relevant"] and not outcome["duplicate_of"]
    }


def test_run_counts_add_up_to_the_store_after_an_original_displaced_a_copy(both_crawled):
    """zgcgw's original displaced a copy China Daily's run had counted as a new story."""
    db_path, _, _ = both_crawled
    runs = rows(db_path, "SELECT source, articles_new, stories_new, duplicates FROM crawl_runs")
    stories = rows(db_path, "SELECT count(*) AS n FROM stories")[0]["n"]
    copies = rows(db_path, "SELECT count(*) AS n FROM articles WHERE duplicate_of IS NOT NULL "
                           "AND source <> 'seed'")[0]["n"]
    crawled = rows(db_path, "SELECT count(*) AS n FROM articles WHERE source <> 'seed'")[0]["n"]
    assert sum(r["stories_new"] for r in runs) == stories
    assert sum(r["duplicates"] for r in runs) == copies
    assert sum(r["articles_new"] for r in runs) == crawled


def test_traps_counted_and_robots_obeyed(both_crawled):
    db_path, sites, results = both_crawled
    assert not any(r.startswith("/private/") for r in sites["chinadaily"].requests)
    assert not any(r.endswith((".pdf", ".doc")) for r in sites["zgcgw"].requests)
    runs = {r["source"]: r for r in rows(db_path, "SELECT * FROM crawl_runs")}
    daily = runs["chinadaily"]
    stats = json.loads(daily["stats"])
    assert daily["status"] == "partial"
    assert daily["errors"] == 3  # 404, 500 after retries, timeout after retries
    assert stats["zgcwatch/errors/http_404"] == 1
    assert stats["zgcwatch/errors/http_500"] == 1
    assert stats["zgcwatch/errors/DownloadTimeoutError"] == 1
    assert stats["zgcwatch/skipped/attachment"] == 1
    assert stats["zgcwatch/redirects"] == 1
    assert stats["zgcwatch/warnings/empty_body"] == 1
    assert daily["listing_complete"] == 1
    zgc = runs["zgcgw"]
    assert (zgc["status"], zgc["errors"]) == ("partial", 1)  # the 404 article
    assert zgc["articles_new"] == len(expected("zgcgw")["articles"]) + 1
    assert daily["articles_new"] == len(expected("chinadaily")["articles"]) + 1


def test_multipage_story_joined_and_gbk_decoded(both_crawled):
    db_path, _, _ = both_crawled
    for path, pages in expected("chinadaily")["multipage"].items():
        row = rows(db_path, "SELECT id, body, page_count FROM articles WHERE url = ?",
                   [live("chinadaily", path)])[0]
        assert row["page_count"] == len(pages)
        body = gold("chinadaily", path)["body"]
        assert body.split("\n")[-1] in row["body"] and body.split("\n")[0] in row["body"]
    gbk_articles = [p for p in expected("zgcgw")["encodings"] if p.endswith("/index.html")]
    assert len(gbk_articles) == 4
    for path in gbk_articles:
        row = rows(db_path, "SELECT title, body FROM articles WHERE url = ?",
                   [live("zgcgw", path)])[0]
        assert row["title"] == gold("zgcgw", path)["title"]
        assert "\ufffd" not in row["body"] and row["body"][:20] in gold("zgcgw", path)["body"]


def test_aliases_remembered(both_crawled):
    db_path, _, _ = both_crawled
    redirect = rows(db_path, "SELECT a.url, r.url AS target FROM url_aliases a "
                             "JOIN articles r ON r.id = a.article_id")
    assert {(r["url"], r["target"]) for r in redirect} == {(
        live("chinadaily", "/china/2019-01/12/content_37427031.htm"),
        live("chinadaily", "/a/202207/14/WS62cfce2ca31034cb27ab3dbd.html"),
    )}


def test_second_crawl_fetches_only_the_new_article(site_copy, tmp_path):
    db_path, sites, _ = crawl_both(site_copy, tmp_path / "store.db")
    for source in ("chinadaily", "zgcgw"):
        site = sites[source]
        before = {r["url"] for r in rows(db_path, "SELECT url FROM articles")}
        first_requests = list(site.requests)
        shutil.copytree(FIXTURES / source / "new_article" / "site", site.site_dir / "site",
                        dirs_exist_ok=True)
        result = crawl(source, site.base_url, db_path)
        assert result.returncode == 0, result.stderr[-3000:]
        second = site.requests[len(first_requests):]
        added = {r["url"] for r in rows(db_path, "SELECT url FROM articles")} - before
        want = {live(source, p) for p in json.loads(
            (FIXTURES / source / "new_article" / "expected.json").read_text("utf-8")
        )["articles"]}
        assert added == want
        # Only those stored without a title, date or body (the empty video page...) are
        # asked again, a few runs long: the first answer may have been a broken one.
        incomplete = {urlsplit(r["url"]).path for r in rows(
            db_path, "SELECT url FROM articles WHERE source = ? AND (title IS NULL OR "
                     "published IS NULL OR coalesce(body, '') = '')", [source])}
        refetched = article_paths(second) & {urlsplit(u).path for u in before}
        assert refetched == incomplete, f"re-requested stored articles: {refetched}"
        run = rows(db_path, "SELECT * FROM crawl_runs WHERE source = ? ORDER BY id DESC "
                            "LIMIT 1", [source])[0]
        assert run["articles_new"] == 1 and run["stories_new"] == 1


def test_unreachable_site_records_failed_run_and_exits_1(tmp_path):
    db_path = tmp_path / "store.db"
    result = crawl("zgcgw", "http://127.0.0.1:9", db_path, {"RETRY_TIMES": "0"})
    assert result.returncode == 1, result.stderr[-2000:]
    run = rows(db_path, "SELECT status, message, pages FROM crawl_runs")[0]
    assert run["status"] == "failed" and run["pages"] == 0
    assert run["message"].startswith("site unreachable")


def test_broken_store_is_one_line_and_exit_1(tmp_path):
    db_path = tmp_path / "store.db"
    db_path.write_text("not a database")
    result = crawl("zgcgw", "http://127.0.0.1:9", db_path)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1] == \
        f"zgcwatch: cannot use {db_path}: file is not a database"
    assert "Traceback" not in result.stderr
    assert db_path.read_text() == "not a database"


def test_a_crawl_opens_no_port_and_exports_utf8(site_copy, tmp_path):
    site = site_copy("zgcgw")
    out = tmp_path / "out.jsonl"
    result = crawl("zgcgw", site.base_url, tmp_path / "store.db", {"LOG_LEVEL": "INFO"})
    assert result.returncode == 0, result.stderr[-2000:]
    enabled = result.stderr.split("Enabled extensions:", 1)[1].split("]", 1)[0]
    assert "TelnetConsole" not in enabled and "RemoteControl" not in enabled
    assert "crawler.runlog.CrawlRunLog" in enabled
    export = subprocess.run(
        [sys.executable, "-m", "scrapy", "crawl", "zgcgw", "-a", f"base_url={site.base_url}",
         "-O", str(out), "-s", "DOWNLOAD_DELAY=0", "-s", "AUTOTHROTTLE_ENABLED=False"],
        cwd=ROOT, env={**os.environ, "ZGCWATCH_DB": str(tmp_path / "fresh.db")},
        capture_output=True, text=True, timeout=120)
    assert export.returncode == 0, export.stderr[-2000:]
    items = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert len(items) == len(expected("zgcgw")["articles"]) + 1  # + the empty notice
    assert "中关村" in out.read_text(encoding="utf-8")  # not \u escapes
    assert {"url", "title", "published", "body", "is_relevant", "duplicate_of"} <= set(items[0])


def children_of(pid):
    """Pids whose parent is `pid` (Linux /proc)."""
    found = []
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            fields = dict(line.split(":\t", 1) for line in status.read_text().splitlines()
                          if ":\t" in line)
        except OSError:
            continue
        if fields.get("PPid", "").strip() == str(pid):
            found.append(int(status.parent.name))
    return found


def start_crawl_with_worker(site, db_path, **popen):
    """A crawl of `site` with one extraction worker, once the worker runs: (Popen, pids)."""
    args = [sys.executable, "-m", "scrapy", "crawl", "chinadaily", "-a",
            f"base_url={site.base_url}", "-s", "ZGCWATCH_EXTRACT_WORKERS=1",
            "-s", "DOWNLOAD_TIMEOUT=60", "-s", "DOWNLOAD_DELAY=0"]
    crawl_process = subprocess.Popen(args, cwd=ROOT, stdout=subprocess.DEVNULL,
                                     env={**os.environ, "ZGCWATCH_DB": str(db_path)}, **popen)
    deadline = time.monotonic() + 60
    workers = []
    while time.monotonic() < deadline and not workers:
        workers = [pid for pid in children_of(crawl_process.pid)
                   if "spawn_main" in Path(f"/proc/{pid}/cmdline").read_text(errors="replace")]
        time.sleep(0.2)
    assert workers, "the crawl started no extraction worker"
    return crawl_process, workers


def test_ctrl_c_stops_the_crawl_gracefully_and_its_worker_with_it(site_copy, tmp_path):
    """Ctrl-C reaches the whole process group; the worker leaves stopping to the crawl."""
    site = site_copy("chinadaily")  # its 30 s timeout trap keeps the crawl alive
    crawl_process, workers = start_crawl_with_worker(
        site, tmp_path / "s.db", stderr=subprocess.PIPE, start_new_session=True)
    time.sleep(0.5)  # the worker is idle, waiting for a story, or analyzing one
    os.killpg(crawl_process.pid, signal.SIGINT)  # what a terminal's Ctrl-C does
    _, stderr = crawl_process.communicate(timeout=60)
    stderr = stderr.decode(errors="replace")
    assert "KeyboardInterrupt" not in stderr and "BrokenProcessPool" not in stderr, stderr
    assert "shutting down gracefully" in stderr
    assert not any(Path(f"/proc/{pid}").exists() for pid in workers)


def test_a_killed_crawl_leaves_no_extraction_worker_behind(site_copy, tmp_path):
    site = site_copy("chinadaily")  # its 30 s timeout trap keeps the crawl alive
    crawl_process, workers = start_crawl_with_worker(site, tmp_path / "s.db",
                                                     stderr=subprocess.DEVNULL)
    crawl_process.kill()  # SIGKILL: the crawl cannot clean up after itself
    crawl_process.wait()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(Path(f"/proc/{pid}").exists()
                                              for pid in workers):
        time.sleep(0.1)
    left = [pid for pid in workers if Path(f"/proc/{pid}").exists()
            and "zombie" not in Path(f"/proc/{pid}/status").read_text()]
    assert left == []
