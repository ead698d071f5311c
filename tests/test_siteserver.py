"""The fixture web server, and the integrity of the fixture sites it serves."""

from __future__ import annotations

import filecmp
import html
import http.client
import importlib.util
import json
import re
import socket
import subprocess
import sys
import threading
import time
import urllib.robotparser
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.siteserver import serve, start

FIXTURES = Path(__file__).parent / "fixtures"
SITES = ["chinadaily", "zgcgw"]
PAGE = b"<html><body>page</body></html>"
DIR_INDEX = b"<html><body>dir index</body></html>"
GBK_HTML = ('<html><head><meta http-equiv="Content-Type" content="text/html; charset=gb2312" />'
            "</head><body>中关村留学人员创业园</body></html>")


def get(site, path, method="GET", timeout=5.0):
    """(status, headers, body) of one request, never following redirects."""
    conn = http.client.HTTPConnection("127.0.0.1", site.port, timeout=timeout)
    try:
        conn.request(method, path)
        resp = conn.getresponse()
        return resp.status, dict(resp.getheaders()), resp.read()
    finally:
        conn.close()


@pytest.fixture
def site_dir(tmp_path):
    root = tmp_path / "site"
    (root / "dir").mkdir(parents=True)
    (root / "page.html").write_bytes(PAGE)
    (root / "dir" / "index.html").write_bytes(DIR_INDEX)
    (root / "gbk.html").write_bytes(GBK_HTML.encode("gbk"))
    (root / "one.json").write_text('{"page": 1}', encoding="utf-8")
    (root / "two.json").write_text('{"page": 2}', encoding="utf-8")
    routes = [
        {"path": "/broken.html", "status": 500},
        {"path": "/old.htm", "redirect": "/page.html"},
        {"path": "/api", "query": {"page": "1"}, "file": "one.json"},
        {"path": "/api", "query": {"page": "2"}, "file": "two.json", "headers": {"X-Page": "2"}},
        {"path": "/slow.html", "delay": 0.4, "file": "page.html"},
        {"path": "/stuck.html", "delay": 30},
        {"path": "/report", "file": "page.html", "content_type": "application/pdf"},
    ]
    (tmp_path / "routes.json").write_text(json.dumps(routes), encoding="utf-8")
    return tmp_path


@pytest.fixture
def site(site_dir):
    with serve(site_dir) as running:
        yield running


def test_file_served_with_length_and_bare_html_type(site):
    status, headers, body = get(site, "/page.html")
    assert (status, body) == (200, PAGE)
    assert headers["Content-Type"] == "text/html"
    assert headers["Content-Length"] == str(len(body))
    assert site.base_url == f"http://127.0.0.1:{site.port}"


@pytest.mark.parametrize("path", ["/dir", "/dir/", "/dir/index.html"])
def test_directory_serves_its_index_without_redirect(site, path):
    status, headers, body = get(site, path)
    assert (status, body) == (200, DIR_INDEX)
    assert "Location" not in headers


def test_unknown_path_is_404_with_html_body(site):
    status, headers, body = get(site, "/nothing/here.html")
    assert status == 404 and headers["Content-Type"] == "text/html" and b"404" in body


def test_path_escaping_the_site_is_404(site):
    assert get(site, "/../routes.json")[0] == 404


def test_route_status(site):
    assert get(site, "/broken.html")[0] == 500


def test_route_redirect_is_301_to_same_host(site):
    status, headers, _ = get(site, "/old.htm")
    assert status == 301
    assert headers["Location"] == site.base_url + "/page.html"


def test_routes_match_on_query_params(site):
    assert get(site, "/api?page=1")[2] == b'{"page": 1}'
    status, headers, body = get(site, "/api?keywords=zhongguancun&page=2&sort=dp")
    assert (status, body, headers["X-Page"]) == (200, b'{"page": 2}', "2")
    assert headers["Content-Type"] == "application/json"
    assert get(site, "/api?page=3")[0] == 404


def test_route_content_type_override(site):
    assert get(site, "/report")[1]["Content-Type"] == "application/pdf"


def test_route_delay(site):
    began = time.monotonic()
    status, _, body = get(site, "/slow.html")
    assert status == 200 and body == PAGE
    assert time.monotonic() - began >= 0.4


def test_stop_is_not_blocked_by_a_delayed_answer(site_dir):
    running = start(site_dir)
    errors = []

    def fetch():
        try:
            get(running, "/stuck.html", timeout=10)
        except Exception as exc:  # the connection is dropped unanswered
            errors.append(exc)

    client = threading.Thread(target=fetch)
    client.start()
    time.sleep(0.2)
    began = time.monotonic()
    running.stop()
    assert time.monotonic() - began < 2
    client.join(5)
    assert not client.is_alive() and errors


def test_gbk_bytes_are_served_unchanged_without_charset(site):
    status, headers, body = get(site, "/gbk.html")
    assert status == 200 and body == GBK_HTML.encode("gbk")
    assert headers["Content-Type"] == "text/html"


def test_head_sends_headers_only(site):
    status, headers, body = get(site, "/page.html", method="HEAD")
    assert (status, body, headers["Content-Length"]) == (200, b"", "30")


def test_request_log_keeps_paths_and_queries_in_order(site):
    for path in ["/page.html", "/api?page=2", "/missing", "/dir/"]:
        get(site, path)
    assert site.requests == ["/page.html", "/api?page=2", "/missing", "/dir/"]


def test_concurrent_requests_are_all_answered_fast(site):
    began = time.monotonic()
    with ThreadPoolExecutor(max_workers=20) as pool:
        results = list(pool.map(lambda n: get(site, f"/page.html?n={n}")[0], range(100)))
    assert results == [200] * 100
    assert time.monotonic() - began < 5
    assert len(site.requests) == 100


def test_keep_alive_connection_serves_several_requests(site):
    conn = http.client.HTTPConnection("127.0.0.1", site.port, timeout=5)
    bodies = []
    for path in ["/page.html", "/dir", "/api?page=1"]:
        conn.request("GET", path)
        bodies.append(conn.getresponse().read())
    conn.close()
    assert bodies == [PAGE, DIR_INDEX, b'{"page": 1}']


def test_client_hanging_up_prints_nothing(site, capfd):
    for _ in range(3):
        sock = socket.create_connection(("127.0.0.1", site.port))
        sock.sendall(b"GET /slow.html HTTP/1.1\r\nHost: x\r\n\r\n")
        sock.close()
    time.sleep(0.8)
    assert get(site, "/page.html")[0] == 200
    assert capfd.readouterr().err == ""


def test_command_line_prints_base_url_and_serves(site_dir):
    root = Path(__file__).parents[1]
    proc = subprocess.Popen([sys.executable, "-m", "tests.siteserver", str(site_dir)], cwd=root,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        base_url = proc.stdout.readline().strip()
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+", base_url)
        conn = http.client.HTTPConnection("127.0.0.1", urlsplit(base_url).port, timeout=5)
        conn.request("GET", "/dir")
        assert conn.getresponse().status == 200
        conn.close()
    finally:
        proc.terminate()
        proc.wait(5)


# ---------------------------------------------------------------- the fixture sites


def files(folder: Path) -> list[Path]:
    """Every file under folder, bytecode caches left out."""
    return [p for p in folder.rglob("*") if p.is_file() and "__pycache__" not in p.parts]


def declared_charset(raw: bytes) -> str:
    """The charset a page declares in its meta tags (utf-8 when none)."""
    found = re.search(rb'<meta[^>]+charset=["\']?([\w-]+)', raw[:2048], re.I)
    return found.group(1).decode().lower() if found else "utf-8"


def page_text(raw: bytes) -> str:
    """A page's visible text, normalised: tags dropped, entities decoded, spaces collapsed."""
    text = raw.decode("gbk" if declared_charset(raw) in ("gb2312", "gbk") else "utf-8")
    text = re.sub(r"<(script|style)\b.*?</\1>", " ", text, flags=re.S | re.I)
    return normalise(html.unescape(re.sub(r"<[^>]+>", " ", text)))


def normalise(text: str) -> str:
    return re.sub(r"[\s\u3000\xa0]+", " ", text).strip()


def golds(site_name: str):
    for folder in (FIXTURES / site_name / "gold", FIXTURES / site_name / "new_article" / "gold"):
        for path in sorted(folder.glob("*.json")):
            yield path, json.loads(path.read_text(encoding="utf-8"))


def page_files(site_name: str, gold_path: str) -> list[Path]:
    """The saved file(s) of one article: its pages in order (a split story has several)."""
    expected = json.loads((FIXTURES / site_name / "expected.json").read_text(encoding="utf-8"))
    paths = expected.get("multipage", {}).get(gold_path, [gold_path])
    files = []
    for path in paths:
        for root in ("site", "new_article/site"):
            candidate = FIXTURES / site_name / root / path.lstrip("/")
            if candidate.is_file():
                files.append(candidate)
                break
    assert len(files) == len(paths), f"missing pages for {gold_path}"
    return files


@pytest.mark.parametrize("site_name", SITES)
def test_every_gold_body_appears_in_its_pages(site_name):
    checked = 0
    for gold_file, gold in golds(site_name):
        assert set(gold) == {"path", "title", "published", "author", "lang", "body"}, gold_file
        assert re.fullmatch(r"\d{4}-\d\d-\d\d(T\d\d:\d\d:\d\d)?", gold["published"]), gold_file
        text = " ".join(page_text(f.read_bytes()) for f in page_files(site_name, gold["path"]))
        assert normalise(gold["title"]) in text, gold_file
        position = 0
        for paragraph in gold["body"].split("\n"):
            assert paragraph and paragraph == paragraph.strip(" \u3000\xa0"), gold_file
            found = text.find(normalise(paragraph), position)
            assert found >= 0, f"{gold_file.name}: {paragraph[:60]}"
            position = found
        assert "[Photo" not in gold["body"] and "附件" not in gold["body"], gold_file
        checked += 1
    assert checked >= 12


@pytest.mark.parametrize("site_name", SITES)
def test_pages_decode_by_their_declared_charset(site_name):
    gbk_pages = 0
    for path in (FIXTURES / site_name).rglob("*.htm*"):
        raw = path.read_bytes()
        if declared_charset(raw) in ("gb2312", "gbk"):
            assert b"charset=utf-8" not in raw.lower()
            raw.decode("gbk")
            raw.decode("gb2312")  # no character outside what the page declares
            gbk_pages += 1
        else:
            raw.decode("utf-8")
    assert gbk_pages >= (5 if site_name == "zgcgw" else 0)


@pytest.mark.parametrize("site_name", SITES)
def test_expectations_cover_every_gold_article(site_name):
    expected = json.loads((FIXTURES / site_name / "expected.json").read_text(encoding="utf-8"))
    gold_paths = {g["path"] for _, g in golds(site_name) if "new_article" not in str(_)}
    assert set(expected["articles"]) == gold_paths
    for outcome in expected["articles"].values():
        assert set(outcome) == {"relevant", "duplicate_of", "why"}
        dup = outcome["duplicate_of"]
        assert dup in (None, "seed") or dup in expected["articles"] or dup.split(":")[0] in SITES


def test_chinadaily_fixture_served_as_expected():
    expected = json.loads((FIXTURES / "chinadaily" / "expected.json").read_text(encoding="utf-8"))
    with serve(FIXTURES / "chinadaily") as site:
        for pages in expected["listings"].values():
            for path in pages:
                assert get(site, path)[0] == 200, path
        for path in expected["articles"]:
            assert get(site, path)[0] == 200, path
        kinds = {path: kind for path, kind in expected["traps"].items() if path.startswith("/")}
        for path, kind in kinds.items():
            if kind in ("404", "500"):
                assert get(site, path)[0] == int(kind), path
            elif kind == "redirect":
                status, headers, _ = get(site, path)
                assert status == 301 and headers["Location"].endswith(expected["aliases"][path])
            elif kind == "pdf":
                status, headers, body = get(site, path)
                assert headers["Content-Type"] == "application/pdf" and body.startswith(b"%PDF-")
            elif kind == "timeout":
                with pytest.raises(TimeoutError):
                    get(site, path, timeout=0.5)
        robots = urllib.robotparser.RobotFileParser()
        robots.parse(get(site, "/robots.txt")[2].decode().splitlines())
        robot_path = next(p for p, k in kinds.items() if k == "robots")
        assert not robots.can_fetch("zgcwatch", site.base_url + robot_path)
        query = "/rest/en/search?keywords=Zhongguancun&sort=dp&page={}&curType=story"
        pages = [json.loads(get(site, query.format(n))[2]) for n in (0, 1, 2)]
        assert [p.get("totalPages") for p in pages[:2]] == [2, 2] and pages[2]["code"] == 400
        urls = {hit["url"] for page in pages[:2] for hit in page["content"]}
        for only in expected["search_api"]["only_here"]:
            assert "//www.chinadaily.com.cn" + only in urls


def test_zgcgw_fixture_served_as_expected():
    expected = json.loads((FIXTURES / "zgcgw" / "expected.json").read_text(encoding="utf-8"))
    with serve(FIXTURES / "zgcgw") as site:
        first = get(site, "/zgc/yw/gzdt/index.html")[2].decode("utf-8")
        assert re.search(r'<div class=" windex">', first)
        assert 'tagname="/zgc/yw/gzdt/10870019-2.html"' in first and 'totalpage="3"' in first
        for pages in expected["listings"].values():
            for path in pages:
                assert get(site, path)[0] == 200, path
        for path in expected["articles"]:
            assert get(site, path)[0] == 200, path
        assert get(site, "/robots.txt")[0] == 404
        for path, kind in expected["traps"].items():
            if kind == "404":
                assert get(site, path)[0] == 404, path
            elif kind in ("pdf", "doc"):
                ctype = get(site, path)[1]["Content-Type"]
                assert ctype == {"pdf": "application/pdf", "doc": "application/msword"}[kind]


def test_build_script_is_deterministic_and_checked_in(tmp_path):
    spec = importlib.util.spec_from_file_location("build_fixtures", FIXTURES / "build_fixtures.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.build(tmp_path)
    for site_name in SITES:
        built = sorted(p.relative_to(tmp_path) for p in files(tmp_path / site_name))
        checked_in = sorted(p.relative_to(FIXTURES) for p in files(FIXTURES / site_name)
                            if p.name != "articles.py")
        assert built == checked_in, "stale fixtures: run python tests/fixtures/build_fixtures.py"
        for rel in built:
            assert filecmp.cmp(tmp_path / rel, FIXTURES / rel, shallow=False), rel


def test_fixture_tree_is_small():
    total = sum(p.stat().st_size for p in files(FIXTURES))
    assert total < 1_000_000
