"""The pipeline on its own: a store locked by another writer loses nothing and says so."""

import asyncio
import sqlite3

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
