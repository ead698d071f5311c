"""The pipeline on its own: a store locked by another writer loses nothing and says so."""

import asyncio
import sqlite3
import threading

import pytest
from scrapy.exceptions import DropItem
from scrapy.utils.test import get_crawler

from crawler.items import ArticleItem
from crawler.pipelines import StorePipeline
from crawler.spiders.zgcgw import ZgcgwSpider
from tests.conftest import FIXTURES

PATH = "/zgc/yw/gzdt/10872688/index.html"
URL = "https://zgcgw.beijing.gov.cn" + PATH


@pytest.fixture
def pipeline(tmp_path):
    crawler = get_crawler(ZgcgwSpider, settings_dict={
        "ZGCWATCH_DB": str(tmp_path / "z.db"), "ZGCWATCH_EXTRACT_WORKERS": 0})
    crawler.stats.open_spider()
    pipeline = StorePipeline.from_crawler(crawler)
    pipeline.open_spider()
    yield pipeline
    pipeline.close_spider()


def item():
    html = (FIXTURES / "zgcgw" / "site" / PATH.lstrip("/")).read_bytes()
    return ArticleItem(url=URL, source="zgcgw", pages=[(URL, "utf-8", html)])


def test_a_story_is_stored_and_counted(pipeline):
    story = asyncio.run(pipeline.process_item(item()))
    assert (story.url, story.lang, story.is_relevant, story.duplicate_of) == (URL, "zh", True,
                                                                              None)
    stats = pipeline.crawler.stats.get_stats()
    assert (stats["zgcwatch/articles_new"], stats["zgcwatch/stories_new"]) == (1, 1)


def test_a_locked_store_drops_the_item_counts_it_and_keeps_the_file_whole(pipeline, tmp_path):
    # The store belongs to the pipeline's writer thread: the test uses it there too.
    db = pipeline.processor.db
    pipeline.in_writer(db.execute, "PRAGMA busy_timeout = 100")
    other = sqlite3.connect(tmp_path / "z.db")
    other.execute("BEGIN IMMEDIATE")  # another writer holds the lock
    try:
        with pytest.raises(DropItem, match="not stored .*database is locked"):
            asyncio.run(pipeline.process_item(item()))
    finally:
        other.rollback()
        other.close()
    stats = pipeline.crawler.stats.get_stats()
    assert (stats["zgcwatch/errors/store"], stats["zgcwatch/errors"]) == (1, 1)
    assert pipeline.in_writer(lambda: db.execute(
        "SELECT count(*) FROM articles WHERE url = ?", [URL]).fetchone()) == (0,)
    assert pipeline.in_writer(lambda: db.execute("PRAGMA integrity_check").fetchone()) == ("ok",)
    story = asyncio.run(pipeline.process_item(item()))  # the lock is gone: it goes in
    assert story.url == URL


def test_a_store_locked_for_a_while_blocks_no_crawling_meanwhile(pipeline, tmp_path):
    """The store write waits for the lock in the writer thread; the reactor's loop runs on."""
    other = sqlite3.connect(tmp_path / "z.db", check_same_thread=False)
    other.execute("BEGIN IMMEDIATE")  # e.g. the other source's crawl, mid-transaction
    threading.Timer(1.0, other.rollback).start()

    async def crawl_on():
        ticks = 0
        stored = asyncio.ensure_future(pipeline.process_item(item()))
        while not stored.done():
            ticks += 1  # what downloads and parsing would do meanwhile
            await asyncio.sleep(0.02)
        return ticks, stored.result()

    ticks, story = asyncio.run(crawl_on())
    other.close()
    assert story.url == URL  # it waited for the lock (busy timeout), then went in
    assert ticks >= 20  # ~50 in the second the lock was held; 0 if the loop had waited
