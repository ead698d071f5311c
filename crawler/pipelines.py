"""The one place where the stages meet the store: extract, score, dedup, store."""

import asyncio
import json
import logging
import multiprocessing
import sqlite3
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor

from scrapy.exceptions import DropItem
from scrapy.utils.defer import deferred_from_coro

from crawler.analysis import analyze, warm_up, worker_init
from crawler.dedup import DedupIndex, body_hash
from crawler.items import AliasItem, ArticleItem, DeadUrlItem, StoryItem
from store import open_store
from store.articles import (
    add_alias,
    article_id,
    count_fetch,
    get_article,
    mark_dead,
    save_raw_pages,
    upsert_article,
    utcnow,
)
from store.db import is_full
from store.runs import recount_finished
from store.signatures import (
    load_bodies,
    missing_signatures,
    save_signature,
    save_signatures,
)
from store.transaction import write_transaction

logger = logging.getLogger(__name__)


class ArticleProcessor:
    """Turn one story's raw pages into a stored, scored, deduplicated `articles` row."""

    def __init__(self, db, threshold, follow_store=True):
        """follow_store=False: the index holds only what the caller loads or stores (a
        reprocess pass compares each article with those it has already redone)."""
        self.db = db
        # Bodies are read from the store only for the index's few candidates per check.
        self.index = DedupIndex(threshold=threshold,
                                fetch_bodies=lambda ids: load_bodies(db, ids))
        self.follow_store = follow_store
        self.watermark = 0  # signatures with a higher article id are not indexed yet
        stale = self._catch_up() if follow_store else []
        # Seeds, rows from older versions and stale signatures get one now, once.
        todo = list(missing_signatures(db))
        if stale:
            marks = ",".join("?" * len(stale))
            todo += db.execute(f"SELECT id, lang, body FROM articles WHERE id IN ({marks})",
                               stale).fetchall()
        backfill = [(id_, lang, self.index.signature(body)) for id_, lang, body in todo
                    if lang and body]
        save_signatures(db, backfill)
        if follow_store:
            self.index.load(backfill)
        # The store loads seeds without crawler code: give them the dedup body hash here.
        with write_transaction(db):
            for id_, body, old in db.execute("SELECT id, body, body_hash FROM articles "
                                             "WHERE source = 'seed'").fetchall():
                if old != (new := body_hash(body)):
                    db["articles"].update(id_, {"body_hash": new})

    def store(self, url, source, analysis, pages=(), aliases=(), now=None, run_id=None,
              save_pages=True, fetched=False):
        """Score, dedup and upsert one extracted story; return (StoryItem, created).

        `run_id`: the crawl run storing it (`crawl_runs.id`), which counts it.
        `save_pages`: keep the pages' HTML (a reprocess re-reads what is kept already).
        `fetched`: the pages were just fetched (not reprocessed): count the fetch, so an
        incomplete article is asked again only a few times.

        One write transaction: crawls of both sources may run at once in two processes,
        and each must see the other's articles before deciding what is a copy.
        """
        with write_transaction(self.db):
            if self.follow_store:
                self._catch_up()
            story, created = self._store(url, source, analysis, pages, aliases, now, run_id,
                                         save_pages)
            if fetched:
                count_fetch(self.db, story.id, created)
        self.watermark = max(self.watermark, story.id)
        return story, created

    def _catch_up(self):
        """Index the signatures stored since the last look (by any process); return stale ids."""
        def tracked(rows):
            for row in rows:
                self.watermark = max(self.watermark, row[0])
                if row[0] not in self.index:
                    yield row

        return self.index.load(tracked(self.db.execute(
            "SELECT article_id, lang, signature FROM dedup_signatures WHERE article_id > ? "
            "ORDER BY article_id", [self.watermark])))

    def _store(self, url, source, analysis, pages, aliases, now, run_id, save_pages):
        """The body of store(), inside its transaction."""
        now = now or utcnow()
        extracted, relevance = analysis.extracted, analysis.relevance
        record = {
            "url": url, "source": source, "title": analysis.title,
            "published": extracted.published,
            "author": extracted.author, "lang": extracted.lang, "body": extracted.body,
            "is_relevant": int(relevance.is_relevant and bool(extracted.body)),
            "relevance": round(relevance.score, 4),
            "matched_terms": json.dumps(relevance.matched, ensure_ascii=False),
            "review": int(relevance.review and bool(extracted.body)),
            "evidence": relevance.evidence or None,
            "body_hash": analysis.body_hash,
            "fetched_url": pages[0][0] if pages else None,
            "page_count": len(pages) or None,
            "warnings": (json.dumps(extracted.warnings, ensure_ascii=False)
                         if extracted.warnings else None),
        }
        id_, created = upsert_article(self.db, record, now=now, first_run=run_id,
                                      index_tokens=analysis.index_tokens)
        original, similarity = self._find_original(id_, record, analysis.signature)
        replaces = self._link(id_, record, original, similarity)
        if pages and save_pages:
            save_raw_pages(self.db, id_, pages, now=now, compressed=analysis.compressed_pages)
        for alias in aliases:
            add_alias(self.db, alias, id_, "redirect", now=now)
        if analysis.signature:
            self.index.add(id_, record["lang"], record["body"], signature=analysis.signature)
            save_signature(self.db, id_, record["lang"], analysis.signature)
        row = get_article(self.db, id_)
        return StoryItem(
            id=id_, url=url, source=source, title=row["title"], published=row["published"],
            author=row["author"], lang=row["lang"], body=row["body"] or "",
            is_relevant=bool(row["is_relevant"]), relevance=row["relevance"],
            duplicate_of=row["duplicate_of"], similarity=row["similarity"],
            matched_terms=relevance.matched, warnings=extracted.warnings, replaces=replaces,
            review=bool(row["review"]), evidence=row["evidence"],
        ), created

    def _find_original(self, id_, record, signature):
        """The stored article this one copies (exact hash first, then near-duplicate)."""
        if not record["body"]:
            return None, None
        same = self.db.execute(
            "SELECT id FROM articles WHERE body_hash = ? AND id <> ? ORDER BY id LIMIT 1",
            [record["body_hash"], id_],
        ).fetchone()
        if same:
            return same[0], 1.0
        match = self.index.find(record["lang"], record["body"], exclude={id_},
                                signature=signature)
        return (match.article_id, match.similarity) if match else (None, None)

    def _point(self, id_, original, similarity):
        """Set (or clear) which article `id_` copies."""
        # Most calls change nothing (a new story is no copy): then no row is written.
        self.db.execute("UPDATE articles SET duplicate_of = ?, similarity = ? WHERE id = ? "
                        "AND (duplicate_of IS NOT ? OR similarity IS NOT ?)",
                        [original, similarity, id_, original, similarity])

    def _link(self, id_, record, original, similarity):
        """Point the copy at the original: whichever was published first, seeds always first.

        Returns the id of the article this one displaced as the original, if any.
        """
        if original is None:
            self._point(id_, None, None)
            return None
        root, seen = get_article(self.db, original), {id_}
        while root["duplicate_of"] is not None and root["duplicate_of"] not in seen:
            seen.add(root["id"])
            root = get_article(self.db, root["duplicate_of"])
        if root["duplicate_of"] is not None:  # it copies this article: this one is the original
            self._point(id_, None, None)
            return None
        published = record["published"] or "9999"
        if root["source"] != "seed" and published[:10] < (root["published"] or "9999")[:10]:
            # An earlier original arrived after its republication: it takes the story's place.
            self.db.execute("UPDATE articles SET duplicate_of = ? WHERE duplicate_of = ? "
                            "AND id <> ?", [id_, root["id"], id_])
            self._point(root["id"], id_, similarity)
            self._point(id_, None, None)
            if root["is_relevant"]:
                self._carry_relevance(id_, root["evidence"])
            logger.info("%s is the earlier original of %s", record["url"], root["url"])
            if root["first_run"] is not None:  # that run counted a new story: now a copy
                recount_finished(self.db, root["first_run"])
            return root["id"]
        self._point(id_, root["id"], round(similarity, 4))
        if record["is_relevant"]:
            self._carry_relevance(root["id"], record["evidence"])
        return None

    def _carry_relevance(self, original, evidence):
        """A story is relevant when any version of it is: its original shows in stories.

        A republication may tie the place to the talent where the original does not (a
        new headline, say); without this the copy is hidden and the original not kept.
        """
        changed = self.db.execute(
            "UPDATE articles SET is_relevant = 1, review = 0, evidence = coalesce(evidence, ?) "
            "WHERE id = ? AND is_relevant = 0 AND source <> 'seed' "
            "AND body IS NOT NULL AND body <> ''", [evidence, original]).rowcount
        first_run = changed and get_article(self.db, original)["first_run"]
        if first_run:  # that run now has one more new story
            recount_finished(self.db, first_run)


class StorePipeline:
    """Scrapy glue: analysis in worker processes, the store in its own thread, then stats.

    The reactor thread only fetches and parses: a story's analysis runs in a worker
    process, and its store write in one writer thread that owns the SQLite connection,
    so a store locked by another writer (up to the 30 s busy timeout) stalls no download.
    """

    def __init__(self, crawler, db_path, threshold, workers):
        self.crawler = crawler
        self.db_path = db_path
        self.threshold = threshold
        self.workers = workers
        self.executor = None
        # One thread, so writes keep their arrival order and the connection one owner.
        self.writer = ThreadPoolExecutor(1, thread_name_prefix="zgcwatch-store")
        self.processor = None  # lives in the writer thread, like its connection
        self.pending_aliases = []  # writer thread only
        self.full = False  # the store said "database or disk is full": the crawl is stopping

    @classmethod
    def from_crawler(cls, crawler):
        settings = crawler.settings
        return cls(crawler, settings.get("ZGCWATCH_DB") or None,
                   settings.getfloat("ZGCWATCH_DEDUP_THRESHOLD"),
                   settings.getint("ZGCWATCH_EXTRACT_WORKERS"))

    def in_writer(self, function, *args):
        """Run function(*args) in the writer thread, where the store may be touched; wait."""
        return self.writer.submit(function, *args).result()

    def open_spider(self):
        """Open the store, warm the dedup index, start the extraction worker(s)."""
        self.processor = self.in_writer(
            lambda: ArticleProcessor(open_store(self.db_path), self.threshold))
        if self.workers > 0:
            # spawn: a forked copy of a running reactor is not a safe place to start from
            # Workers run niced: the reactor thread, which feeds them, must never starve.
            self.executor = ProcessPoolExecutor(
                self.workers, mp_context=multiprocessing.get_context("spawn"),
                initializer=worker_init)
            for _ in range(self.workers):  # start-up overlaps the first listing fetches
                self.executor.submit(warm_up)

    def close_spider(self):
        """Record redirects whose target arrived later; stop the workers; close the store."""
        if self.executor:
            self.executor.shutdown(cancel_futures=True)
        if self.processor is not None:
            self.in_writer(self._close_store)
        self.writer.shutdown()

    def _close_store(self):
        db = self.processor.db
        for alias in self.pending_aliases:
            target = article_id(db, alias.target)
            if target is not None:
                add_alias(db, alias.url, target, alias.kind)
        db.conn.close()

    def _remember_alias(self, item):
        """Store a redirect's URL as an alias of its target, or keep it for later."""
        target = article_id(self.processor.db, item.target)
        if target is None:
            self.pending_aliases.append(item)
        else:
            add_alias(self.processor.db, item.url, target, item.kind)

    async def process_item(self, item):
        """Store an article (returning what was stored) or remember an alias."""
        if isinstance(item, AliasItem):
            await asyncio.wrap_future(self.writer.submit(self._remember_alias, item))
            raise DropItem(f"alias {item.url} -> {item.target}", log_level="DEBUG")
        if isinstance(item, DeadUrlItem):
            await asyncio.wrap_future(self.writer.submit(
                mark_dead, self.processor.db, item.url, item.source, item.reason))
            raise DropItem(f"dead URL {item.url} ({item.reason})", log_level="DEBUG")
        if not isinstance(item, ArticleItem):
            return item
        args = ([(url, body) for url, _, body in item.pages], item.source, item.listing_title)
        if self.executor is None:
            analysis = analyze(*args)
        else:  # in a worker process, so the reactor thread keeps crawling meanwhile
            analysis = await asyncio.wrap_future(self.executor.submit(analyze, *args))
        if item.missing_pages:
            analysis.extracted.warnings.append(f"{item.missing_pages} later pages missing")
        try:
            story, created = await asyncio.wrap_future(self.writer.submit(
                self.processor.store, item.url, item.source, analysis, item.pages,
                item.aliases, run_id=getattr(self.crawler.spider, "run_id", None),
                fetched=True))
        except sqlite3.OperationalError as exc:
            # Locked past the busy timeout, or the disk is full: the transaction rolled
            # back, so nothing half-written stays; the URL is not known, the next run retries.
            self.crawler.stats.inc_value("zgcwatch/errors/store")
            self.crawler.stats.inc_value("zgcwatch/errors")
            if is_full(exc):
                self._stop_full(exc)
            raise DropItem(f"not stored ({exc}): {item.url}", log_level="ERROR") from exc
        self._count(story, created, analysis.extracted.warnings)
        return story

    def _stop_full(self, exc):
        """The store is full: stop the crawl now, every page fetched from here would be lost."""
        if self.full:
            return
        self.full = True
        self.crawler.stats.set_value("zgcwatch/store_full", 1)
        logger.error("store full (%s): stopping the crawl", exc)
        deferred_from_coro(self.crawler.engine.close_spider_async(reason="store_full"))

    def _count(self, story, created, warnings):
        """Namespaced stats: what was new, what was a duplicate, what lost its fields.

        The story counts are the crawl's running view; when it ends, the run log replaces
        them with what the store says (a story found later to be a copy moves there).
        """
        stats = self.crawler.stats
        for warning in warnings:
            key = warning.replace(" ", "_") if warning in ("no title", "no date", "empty body") \
                else "other"
            stats.inc_value(f"zgcwatch/warnings/{key}")
            logger.warning("%s: %s", story.url, warning)
        if not created:
            return
        stats.inc_value("zgcwatch/articles_new")
        if story.duplicate_of is not None:
            stats.inc_value("zgcwatch/duplicates_new")
        elif story.is_relevant:
            stats.inc_value("zgcwatch/stories_new")
