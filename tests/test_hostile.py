"""Hostile sites and broken stores: real `scrapy crawl` runs against a misbehaving 127.0.0.1.

Each test builds a small zgcgw-shaped site (one column, EasySite markup) whose pages or
routes misbehave in one way, crawls it into a real SQLite file, and checks what the crawl
did, what it stored and what the run says.
"""

import gzip
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from crawler.daemon_config import parse
from crawler.runlog import judge
from scheduler import Crawls
from scheduler import main as scheduler_main
from store import open_store
from tests.conftest import FAST, ROOT
from tests.siteserver import serve

LIVE = "https://zgcgw.beijing.gov.cn"
COLUMN = "/zgc/yw/gzdt/index.html"
OTHER_COLUMN = "/zgc/zwgk/tzgg/index.html"
SETTINGS = {"ZGCWATCH_ZGCGW_COLUMNS": COLUMN, "ZGCWATCH_EXTRACT_WORKERS": "0"}
TEXT = ("中关村科技园区今年新引进海归人才三百余名，留学归国人员创办的企业在人工智能、"
        "集成电路等领域不断取得突破。")


def article_path(n, column="/zgc/yw/gzdt"):
    """The path of article number `n` of a column."""
    return f"{column}/{10000 + n}/index.html"


def article_html(title, body=TEXT, date="2026-11-20 10:00"):
    """An EasySite article page (UTF-8) as the live site serves it."""
    return (
        '<html><head><meta charset="utf-8"><title>' + title + "_中关村科技园区管理委员会</title>"
        '</head><body><div class="easysite-news-peruse"><div class="easysite-news-title">'
        f'<h2>{title}</h2><p class="easysite-news-describe">发布时间：{date}　'
        '信息来源：中关村管委会</p></div><div class="easysite-news-text" id="easysiteText">'
        + "".join(f"<p>{p}</p>" for p in body.split("\n")) + "</div></div></body></html>"
    )


def listing_html(paths):
    """An EasySite column page linking `paths`, the only page of its column."""
    items = "".join(
        f'<li class="clearfix"><span class="fl"><a href="{p}" title="第{i}条">第{i}条</a>'
        f'</span><span class="fr">2026-11-20</span></li>' for i, p in enumerate(paths))
    return ('<html><head><meta charset="utf-8"><title>工作动态</title></head><body>'
            f'<div class="w_ul_list" id="wuhang"><ul>{items}</ul></div>'
            '<div class=" windex"><input name="article_paging_list_hidden" totalpage="1">'
            "</div></body></html>")


def make_site(root, files, routes=()):
    """A fixture directory: `files` {path: str|bytes} under site/, plus routes.json."""
    for path, content in files.items():
        target = root / "site" / path.lstrip("/")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content.encode() if isinstance(content, str) else content)
    (root / "site").mkdir(parents=True, exist_ok=True)
    (root / "routes.json").write_text(json.dumps(list(routes)), encoding="utf-8")
    return root


def crawl_args(base_url, settings=None):
    """argv of `python -m scrapy crawl zgcgw` against `base_url`, fast, one column."""
    args = [sys.executable, "-m", "scrapy", "crawl", "zgcgw", "-a", f"base_url={base_url}"]
    for key, value in {**FAST, **SETTINGS, **(settings or {})}.items():
        args += ["-s", f"{key}={value}"]
    return args


def run(args, db_path, prefix=(), timeout=120, env=None):
    """Run a command as a user would, with the store at `db_path`."""
    env = {**os.environ, "ZGCWATCH_DB": str(db_path), **(env or {})}
    return subprocess.run([*prefix, *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=timeout)


def crawl(base_url, db_path, settings=None):
    """A real crawl of the zgcgw spider into the store at `db_path`."""
    return run(crawl_args(base_url, settings), db_path)


def rows(db_path, sql, params=()):
    """Rows of a query on the store, as dicts."""
    conn = sqlite3.connect(db_path)
    conn.row_factory = sqlite3.Row
    try:
        return [dict(r) for r in conn.execute(sql, params)]
    finally:
        conn.close()


def last_run(db_path):
    """The newest crawl_runs row, with its stats decoded."""
    row = rows(db_path, "SELECT * FROM crawl_runs ORDER BY id DESC LIMIT 1")[0]
    return {**row, "stats": json.loads(row["stats"] or "{}")}


def requested_articles(requests):
    """The article paths among a server's requests."""
    return [r for r in requests if r.endswith("/index.html") and r.count("/") == 5]


# -- 1. a read-only store ---------------------------------------------------------------


def as_unprivileged_user():
    """A command prefix that runs as nobody, without the right to override file modes."""
    if os.geteuid() != 0:
        return []  # an ordinary user cannot write a mode 444 file anyway
    if not shutil.which("setpriv"):
        pytest.skip("running as root and setpriv is missing: cannot drop CAP_DAC_OVERRIDE")
    return ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]


@pytest.fixture
def read_only_store():
    """A migrated store file of mode 444 in a folder anyone may enter and write."""
    folder = Path(tempfile.mkdtemp(prefix="zgcwatch-ro-"))
    folder.chmod(0o777)  # the WAL and lock files could be created: only the file refuses
    path = folder / "zgcwatch.db"
    open_store(path).conn.close()
    path.chmod(0o444)
    yield path
    shutil.rmtree(folder)


def test_read_only_store_refused_in_one_line_before_any_request(read_only_store, tmp_path):
    prefix = as_unprivileged_user()
    before = read_only_store.read_bytes()
    site_dir = make_site(tmp_path / "site", {COLUMN: listing_html([article_path(1)]),
                                             article_path(1): article_html("海归")})
    want = f"zgcwatch: cannot write {read_only_store}: attempt to write a readonly database"
    config = read_only_store.parent / "daemon.toml"  # pytest's tmp_path is private to root
    config.write_text('[sources.zgcgw]\nevery = "1h"\n[sources.chinadaily]\nenabled = false\n')
    config.chmod(0o644)
    with serve(site_dir) as site:
        commands = {
            "crawl": crawl_args(site.base_url),
            "store check": [sys.executable, "-m", "store", "check", "--db", str(read_only_store)],
            "daemon --once": [sys.executable, "scheduler.py", "--config", str(config), "--once"],
        }
        for name, args in commands.items():
            result = run(args, read_only_store, prefix)
            assert result.returncode == 1, (name, result.stderr[-2000:])
            assert result.stderr.strip().splitlines()[-1] == want, (name, result.stderr[-2000:])
            assert "Traceback" not in result.stderr, name
        assert site.requests == []
    assert read_only_store.read_bytes() == before


# -- 2. NUL bytes, invalid UTF-8, and incomplete articles fetched again -----------------


def test_page_with_nul_control_bytes_and_invalid_utf8_is_cleaned_and_stored(tmp_path):
    page = article_html("中关村海归\x01创业", TEXT + "\x00\nReturnees\x0c came back.").encode()
    page = page.replace(b"Returnees", b"Return\xff\xfeees")  # bytes no UTF-8 decoder takes
    site_dir = make_site(tmp_path / "site", {COLUMN: listing_html([article_path(1)]),
                                             article_path(1): page})
    db_path = tmp_path / "store.db"
    with serve(site_dir) as site:
        result = crawl(site.base_url, db_path)
    assert result.returncode == 0, result.stderr[-3000:]
    row = rows(db_path, "SELECT title, published, body, lang, is_relevant, warnings "
                        "FROM articles WHERE source = 'zgcgw'")[0]
    assert row == {"title": "中关村海归创业", "published": "2026-11-20T10:00:00",
                   "body": TEXT + "\nReturn\ufffd\ufffdees came back.", "lang": "zh",
                   "is_relevant": 1, "warnings": None}


def test_incomplete_article_is_fetched_again_for_three_fetches_then_final(tmp_path):
    broken = "<html><head><meta charset='utf-8'></head><body><p>系统繁忙</p></body></html>"
    fixed, always_broken = article_path(1), article_path(2)
    site_dir = make_site(tmp_path / "site", {COLUMN: listing_html([fixed, always_broken]),
                                             fixed: broken, always_broken: broken})
    db_path = tmp_path / "store.db"
    asked = []
    with serve(site_dir) as site:
        for number in range(1, 5):
            seen = len(site.requests)
            result = crawl(site.base_url, db_path)
            assert result.returncode == 0, result.stderr[-3000:]
            asked.append(sorted(requested_articles(site.requests[seen:])))
            if number == 1:  # the site answers properly from now on, for one of them
                (site_dir / "site" / fixed.lstrip("/")).write_text(article_html("海归回来了"))
    assert asked == [[fixed, always_broken], [fixed, always_broken], [always_broken], []]
    stored = {r["url"]: r for r in rows(db_path, "SELECT url, title, body, fetches "
                                                 "FROM articles WHERE source = 'zgcgw'")}
    assert stored[LIVE + fixed] == {"url": LIVE + fixed, "title": "海归回来了", "body": TEXT,
                                    "fetches": 2}
    assert stored[LIVE + always_broken]["fetches"] == 3


# -- 3. listings redirected to another host ---------------------------------------------


def test_listing_redirect_off_site_fails_naming_the_target_and_on_site_is_followed(tmp_path):
    off_site = "http://127.0.0.2:9/zgc/yw/gzdt/index.html"
    moved = "/zgc/zwgk/tzgg/list.html"
    site_dir = make_site(
        tmp_path / "site",
        {moved: listing_html([article_path(1, "/zgc/zwgk/tzgg")]),
         article_path(1, "/zgc/zwgk/tzgg"): article_html("海归")},
        [{"path": COLUMN, "redirect": off_site},
         {"path": OTHER_COLUMN, "redirect": moved, "status": 302}],
    )
    db_path = tmp_path / "store.db"
    with serve(site_dir) as site:
        result = crawl(site.base_url, db_path,
                       {"ZGCWATCH_ZGCGW_COLUMNS": f"{COLUMN},{OTHER_COLUMN}"})
    assert result.returncode == 0, result.stderr[-3000:]
    run_row = last_run(db_path)
    assert run_row["status"] == "partial"
    assert f"listing {COLUMN} redirected off the site to {off_site}" in run_row["message"]
    assert not any(k.startswith("downloader/exception") for k in run_row["stats"])  # not asked
    assert [r["url"] for r in rows(db_path, "SELECT url FROM articles WHERE source='zgcgw'")] \
        == [LIVE + article_path(1, "/zgc/zwgk/tzgg")]


def test_listing_redirected_off_site_alone_fails_the_run(tmp_path):
    off_site = "http://127.0.0.2:9/elsewhere.html"
    site_dir = make_site(tmp_path / "site", {}, [{"path": COLUMN, "redirect": off_site}])
    db_path = tmp_path / "store.db"
    with serve(site_dir) as site:
        result = crawl(site.base_url, db_path)
    assert result.returncode == 1, result.stderr[-3000:]
    run_row = last_run(db_path)
    assert (run_row["status"], run_row["message"]) == \
        ("failed", f"listing {COLUMN} redirected off the site to {off_site}")


@pytest.mark.parametrize("routes", [
    [{"path": COLUMN, "redirect": COLUMN}],
    [{"path": COLUMN, "redirect": "/zgc/b.html"}, {"path": "/zgc/b.html", "redirect": COLUMN}],
])
def test_listing_redirect_loop_fails_the_listing_with_a_message(tmp_path, routes):
    site_dir = make_site(tmp_path / "site", {}, routes)
    db_path = tmp_path / "store.db"
    with serve(site_dir) as site:
        result = crawl(site.base_url, db_path)
        assert len(site.requests) <= 8  # robots.txt, then at most 6 hops
    assert result.returncode == 1, result.stderr[-3000:]
    run_row = last_run(db_path)
    assert (run_row["status"], run_row["message"]) == \
        ("failed", f"listing {COLUMN} redirect loop at {LIVE}{COLUMN}")


# -- 4. a full disk --------------------------------------------------------------------


@pytest.fixture
def small_disk(tmp_path):
    """A 32 MiB tmpfs (root only), unmounted afterwards."""
    mount = tmp_path / "disk"
    mount.mkdir()
    if os.geteuid() != 0 or not shutil.which("mount"):
        pytest.skip("mounting a small tmpfs needs root")
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=32m", "tmpfs", str(mount)],
                          capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
    yield mount
    subprocess.run(["umount", str(mount)], check=True)


def fill(disk, leave):
    """Write a filler file leaving about `leave` bytes free on `disk`."""
    free = shutil.disk_usage(disk).free
    with open(disk / "filler", "ab") as fh:
        fh.write(b"\0" * max(0, free - leave))


def big_article(n):
    """An article of ~30 KB of text (about 200 KB in the store, with its search index)."""
    words = [f"{TEXT}{(n * 7919 + i) ** 3:x}" for i in range(200)]
    return article_html(f"海归第{n}篇", "\n".join(words))


def test_disk_full_stops_the_crawl_at_once_and_a_later_run_stores_the_rest(tmp_path,
                                                                           small_disk):
    paths = [article_path(n) for n in range(40)]
    site_dir = make_site(tmp_path / "site", {COLUMN: listing_html(paths),
                                             **{p: big_article(n) for n, p in enumerate(paths)}})
    db_path = small_disk / "store.db"
    open_store(db_path).conn.close()
    fill(small_disk, 1536 * 1024)  # room to start (1 MiB needed), not for 40 x 200 KB
    with serve(site_dir) as site:
        result = crawl(site.base_url, db_path, {"CONCURRENT_REQUESTS": "2"})
        assert result.returncode == 1, result.stderr[-3000:]
        assert "store full" in result.stderr
        fetched = requested_articles(site.requests)
        assert len(fetched) < 30, len(fetched)  # stopped, not 40 fetched and dropped
        run_row = last_run(db_path)
        assert run_row["status"] == "failed" and run_row["message"].startswith("store full")
        (small_disk / "filler").unlink()
        again = crawl(site.base_url, db_path)
    assert again.returncode == 0, again.stderr[-3000:]
    assert rows(db_path, "SELECT count(*) AS n FROM articles WHERE source = 'zgcgw'")[0]["n"] \
        == 40


@pytest.mark.parametrize("left", [0, 256 * 1024])
def test_crawl_refuses_to_start_on_a_full_store(tmp_path, small_disk, left):
    site_dir = make_site(tmp_path / "site", {COLUMN: listing_html([article_path(1)]),
                                             article_path(1): article_html("海归")})
    db_path = small_disk / "store.db"
    open_store(db_path).conn.close()
    fill(small_disk, left)
    with serve(site_dir) as site:
        result = crawl(site.base_url, db_path)
        assert site.requests == []
    assert result.returncode == 1
    line = result.stderr.strip().splitlines()[-1]
    assert line.startswith("zgcwatch: store full: ") and str(db_path) in line, line
    assert "Traceback" not in result.stderr


# -- 5. rate limits, robots.txt: the run says why --------------------------------------


def test_retry_after_honoured_up_to_the_cap_and_the_run_says_rate_limited(tmp_path):
    site_dir = make_site(tmp_path / "site", {}, [
        {"path": COLUMN, "status": 429, "headers": {"Retry-After": "2"}},
        {"path": OTHER_COLUMN, "status": 429, "headers": {"Retry-After": "3600"}},
    ])
    db_path = tmp_path / "store.db"
    with serve(site_dir) as site:
        result = crawl(site.base_url, db_path, {
            "ZGCWATCH_ZGCGW_COLUMNS": f"{COLUMN},{OTHER_COLUMN}",
            "ZGCWATCH_RETRY_AFTER_MAX": "60"})
        times = site.timed_requests
    assert result.returncode == 1, result.stderr[-3000:]
    asked = [t for t, path in times if path == COLUMN]
    assert len(asked) == 2 and asked[1] - asked[0] >= 1.9  # FAST's back-off is 0.05 s
    assert [path for _, path in times].count(OTHER_COLUMN) == 1  # 3600 s > cap: not retried
    run_row = last_run(db_path)
    assert (run_row["status"], run_row["message"]) == ("failed", "rate limited (429)")


def test_robots_disallow_all_is_named_not_taken_for_a_layout_change(tmp_path):
    site_dir = make_site(tmp_path / "site", {"/robots.txt": "User-agent: *\nDisallow: /\n",
                                             COLUMN: listing_html([article_path(1)])})
    db_path = tmp_path / "store.db"
    with serve(site_dir) as site:
        result = crawl(site.base_url, db_path)
        assert site.requests == ["/robots.txt"]
    assert result.returncode == 1, result.stderr[-3000:]
    run_row = last_run(db_path)
    assert (run_row["status"], run_row["message"]) == \
        ("failed", "forbidden by robots.txt (1 request)")


# -- 6. 20,000 links on one listing ------------------------------------------------------


def test_links_capped_per_page_and_per_run_the_rest_comes_next_run(tmp_path):
    many = [article_path(n) for n in range(20_000)]
    few = [article_path(n, "/zgc/zwgk/tzgg") for n in range(10)]
    files = {COLUMN: listing_html(many), OTHER_COLUMN: listing_html(few)}
    files |= {p: article_html(f"海归{i}") for i, p in enumerate(many[:10] + few)}
    site_dir = make_site(tmp_path / "site", files)
    db_path = tmp_path / "store.db"
    caps = {"ZGCWATCH_ZGCGW_COLUMNS": f"{COLUMN},{OTHER_COLUMN}",
            "ZGCWATCH_MAX_LINKS_PER_PAGE": "5", "ZGCWATCH_MAX_NEW_ARTICLES": "8"}
    asked = []
    with serve(site_dir) as site:
        for _ in range(2):
            seen = len(site.requests)
            result = crawl(site.base_url, db_path, caps)
            assert result.returncode == 0, result.stderr[-3000:]
            asked.append(requested_articles(site.requests[seen:]))
            run_row = last_run(db_path)
            assert run_row["status"] == "partial"
            assert "new article links left for the next run (capped)" in run_row["message"]
            assert run_row["articles_new"] == 8
    first, second = set(asked[0]), set(asked[1])  # a request timed out under load is retried
    assert len(first) == len(second) == 8
    assert not first & second  # the second run took the next ones


# -- 7. configurations that parse but would break later ----------------------------------


@pytest.mark.parametrize("toml, message", [
    ('[sources.zgcgw]\nevery = "3000000d"\n',
     'sources.zgcgw.every: expected a duration of at most 366d, got "3000000d"'),
    (f'[sources.zgcgw]\nevery = "{"9" * 400}d"\n',
     f'sources.zgcgw.every: expected a duration of at most 366d, got "{"9" * 400}d"'),
    ('crawl_timeout = "999999h"\n',
     'crawl_timeout: expected a duration of at most 366d, got "999999h"'),
    ('[sources.zgcgw]\ncron = "0 0 30 2 *"\n',
     'sources.zgcgw.cron: "0 0 30 2 *" never fires (no such date)'),
])
def test_config_that_would_break_later_is_refused_now(tmp_path, capsys, toml, message):
    path = tmp_path / "daemon.toml"
    path.write_text(toml, encoding="utf-8")
    assert scheduler_main(["--config", str(path), "--list"]) == 2
    assert capsys.readouterr().err.strip() == f"zgcwatch: config {path}: {message}"


def test_config_with_a_utf8_bom_is_read(tmp_path, capsys):
    path = tmp_path / "daemon.toml"
    store = json.dumps(str(tmp_path / "store.db"))
    path.write_bytes(f'\ufeffstore = {store}\n[sources.zgcgw]\nevery = "45m"\n'.encode())
    assert scheduler_main(["--config", str(path), "--list"]) == 0
    assert "every 45m" in capsys.readouterr().out


# -- 8. the gzip bomb counts like the big page; redirect loops are remembered -------------


def test_gzip_bomb_and_big_page_both_count_as_errors(tmp_path):
    bomb, big = article_path(1), article_path(2)
    files = {COLUMN: listing_html([bomb, big]),
             "/bomb.gz": gzip.compress(b"<html>" + b" " * (8 << 20), compresslevel=9),
             big: article_html("大", "x" * (3 << 20))}
    site_dir = make_site(tmp_path / "site", files, [
        {"path": bomb, "file": "/bomb.gz", "content_type": "text/html",
         "headers": {"Content-Encoding": "gzip"}}])
    db_path = tmp_path / "store.db"
    with serve(site_dir) as site:
        result = crawl(site.base_url, db_path, {"DOWNLOAD_MAXSIZE": str(1 << 20),
                                                "DOWNLOAD_WARNSIZE": "0"})
    assert result.returncode == 0, result.stderr[-3000:]
    run_row = last_run(db_path)
    assert run_row["errors"] == 2 and run_row["stats"]["zgcwatch/errors/too_big"] == 2
    assert run_row["message"].startswith("2 pages failed")


def test_redirect_loop_logged_once_and_not_asked_again(tmp_path):
    a, b, c = article_path(1), article_path(2), article_path(3)
    site_dir = make_site(tmp_path / "site", {COLUMN: listing_html([a, c])}, [
        {"path": a, "redirect": b}, {"path": b, "redirect": a}, {"path": c, "redirect": c}])
    db_path = tmp_path / "store.db"
    with serve(site_dir) as site:
        first = crawl(site.base_url, db_path)
        seen = len(site.requests)
        second = crawl(site.base_url, db_path)
        again = requested_articles(site.requests[seen:])
    assert first.returncode == second.returncode == 0, first.stderr[-3000:]
    loops = [line for line in first.stderr.splitlines() if "(redirect_loop)" in line]
    assert len(loops) == 2, loops
    assert f"{LIVE}{a} -> {LIVE}{b} -> {LIVE}{a}" in "\n".join(loops)
    dead = rows(db_path, "SELECT url, reason, hits FROM dead_urls ORDER BY url")
    assert dead == [{"url": LIVE + p, "reason": "redirect loop", "hits": 1} for p in (a, b, c)]
    assert again == []
    assert "(redirect_loop)" not in second.stderr


@pytest.mark.parametrize("stats, expected", [
    ({"zgcwatch/listing/failed/DownloadTimeoutError": 2, "zgcwatch/errors": 2},
     ("failed", "site unreachable for listings (DownloadTimeoutError x2)")),
    ({"zgcwatch/listing/failed/http_503": 1, "zgcwatch/errors": 1},
     ("failed", "service unavailable (503)")),
    ({"zgcwatch/listing/links": 3, "zgcwatch/listing/failed/http_429": 1, "zgcwatch/errors": 1},
     ("partial", "1 page failed; rate limited (429)")),
    ({"zgcwatch/errors": 0}, ("partial", "no article links in any listing: has the layout "
                                         "changed?")),
])
def test_run_message_names_the_cause_before_guessing_at_the_layout(stats, expected):
    assert judge({"downloader/response_count": 3, **stats}, "finished", True) == expected


def test_daemon_logs_one_line_when_the_store_cannot_record_a_crawl(tmp_path, caplog):
    folder = tmp_path / "store.db"
    folder.mkdir()  # the store turned unusable while the daemon ran: the crawl refuses it
    config = parse({"store": str(folder),
                    "sources": {"zgcgw": {"base_url": "http://127.0.0.1:9"}}})
    with caplog.at_level("ERROR", logger="zgcwatch.scheduler"):
        assert Crawls(config).run(config.sources["zgcgw"]) is None
    [record] = [r for r in caplog.records if r.name == "zgcwatch.scheduler"]
    assert record.getMessage() == (f"zgcgw: the crawl could not be recorded: {folder} is a "
                                   "folder, not a SQLite file")
    assert record.exc_info is None
