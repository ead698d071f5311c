"""Shared test helpers: fixture sites on 127.0.0.1 and real `scrapy crawl` subprocesses."""

import asyncio
import contextlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from scrapy.utils.test import get_crawler

from store import open_store
from store.datasette import make_datasette
from tests.siteserver import serve

# A user's own store, config, seeds or profile must never leak into (or be touched by) tests.
for _name in [n for n in os.environ if n.startswith("ZGCWATCH_")]:
    del os.environ[_name]

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"

# Fast but otherwise default: no politeness delays against our own 127.0.0.1 server.
FAST = {
    "DOWNLOAD_DELAY": "0",
    "AUTOTHROTTLE_ENABLED": "False",
    "DOWNLOAD_TIMEOUT": "2",
    "RETRY_TIMES": "1",
    "ZGCWATCH_RETRY_BACKOFF": "0.05",
    "CONCURRENT_REQUESTS_PER_DOMAIN": "8",
    "LOG_LEVEL": "INFO",
}


def crawl(source, base_url, db_path, settings=None, timeout=120):
    """Run `python -m scrapy crawl <source> -a base_url=...` as a user would."""
    args = [sys.executable, "-m", "scrapy", "crawl", source, "-a", f"base_url={base_url}"]
    for key, value in {**FAST, **(settings or {})}.items():
        args += ["-s", f"{key}={value}"]
    env = {**os.environ, "ZGCWATCH_DB": str(db_path)}
    return subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=timeout)


@pytest.fixture(scope="session")
def empty_store(tmp_path_factory):
    """A migrated store made once; tests copy it (migrating takes most of a unit test)."""
    path = tmp_path_factory.mktemp("store") / "zgcwatch.db"
    open_store(path).conn.close()
    return path


def spider_factory(spider_cls, mirror, tmp_path, empty_store):
    """make(**settings): a spider on a tmp store (never the default one), using a mirror."""

    def make(**settings):
        db = tmp_path / "zgcwatch.db"
        if not db.exists():
            shutil.copyfile(empty_store, db)
        crawler = get_crawler(spider_cls, settings_dict={**settings, "ZGCWATCH_DB": str(db)})
        return spider_cls.from_crawler(crawler, base_url=mirror)

    return make


def spider_stats(spider):
    """The spider's zgcwatch/* stats."""
    return {k: v for k, v in spider.crawler.stats.get_stats().items()
            if k.startswith("zgcwatch/")}


@pytest.fixture
def site_copy(tmp_path):
    """Copy a fixture site to tmp (tests may edit it) and serve it on 127.0.0.1."""
    started = []

    def start(name):
        target = tmp_path / f"site-{name}"
        shutil.copytree(FIXTURES / name, target)
        context = serve(target)
        started.append(context)
        return context.__enter__()

    yield start
    for context in started:
        context.__exit__(None, None, None)


@pytest.fixture(scope="session")
def crawled_store(tmp_path_factory):
    """A store filled by one real crawl of each fixture site (read-only for tests)."""
    db_path = tmp_path_factory.mktemp("crawled") / "zgcwatch.db"
    for source in ("zgcgw", "chinadaily"):
        with serve(FIXTURES / source) as site:
            result = crawl(source, site.base_url, db_path)
            assert result.returncode == 0, result.stderr[-3000:]
    return db_path


@contextlib.contextmanager
def datasette_get(path):
    """get(url_path) on Datasette serving the store at `path`, one event loop throughout."""
    ds = make_datasette(path)
    loop = asyncio.new_event_loop()
    try:
        yield lambda url: loop.run_until_complete(ds.client.get(url))
    finally:
        loop.close()


def datasette_rows(get, url):
    """A Datasette JSON page's rows as dicts; the request must succeed."""
    response = get(url + ("&" if "?" in url else "?") + "_shape=array")
    assert response.status_code == 200, response.text
    return response.json()
