"""`zgcwatch-reprocess`: re-extract, re-score and re-dedup the stored history from raw HTML.

After a change of the topic profile, the extraction or the dedup rules: every crawled
article is analysed again from its stored pages, without fetching, on all cores.

Safe beside a running daemon or crawl: nothing is reset up front. Articles are redone
oldest publication first, each compared only with those already redone (and the seeds),
a few at a time in short write transactions, so every row is at all times either as it
was or as it will be. Ctrl-C stops it; the next run resumes where it stopped (the work
list lives in the store), and the end result is the same as one uninterrupted run.
"""

import argparse
import logging
import multiprocessing
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor

from crawler.analysis import analyze, worker_init
from crawler.pipelines import ArticleProcessor
from crawler.settings import ZGCWATCH_DEDUP_THRESHOLD
from store import StoreError, open_store
from store import reprocessing as passes
from store.articles import raw_pages
from store.runs import recount_finished
from store.transaction import write_transaction

logger = logging.getLogger(__name__)

BATCH = 8  # articles per task sent to a worker: amortises the pickling round trip
COMMIT_EVERY = 16  # articles per write transaction: short, yet not a commit per row


def analyze_batch(batch):
    """analyze() each (pages, source, fallback title) of a batch, in a worker."""
    return [analyze(pages, source, title, compress=False) for pages, source, title in batch]


class Progress:
    """done/total, rate and ETA: a bar on a terminal, else a log line every `every`."""

    def __init__(self, total, done, stream=sys.stderr, every=1000):
        self.total, self.done, self.every = total, done, every
        self.started, self.start_done = time.monotonic(), done
        self.bar = None
        if stream.isatty():
            from tqdm import tqdm

            tqdm.monitor_interval = 0  # no monitor thread: the workers are forked after this
            self.bar = tqdm(total=total, initial=done, unit="article", file=stream,
                            desc="reprocess", smoothing=0.1)
        self.stream = stream

    def advance(self, n):
        """Count n more articles done."""
        before, self.done = self.done, self.done + n
        if self.bar is not None:
            self.bar.update(n)
        elif before // self.every != self.done // self.every or self.done == self.total:
            elapsed = time.monotonic() - self.started
            rate = (self.done - self.start_done) / elapsed if elapsed else 0.0
            eta = (self.total - self.done) / rate if rate else 0.0
            print(f"reprocess: {self.done}/{self.total} articles, {rate:.1f}/s, "
                  f"ETA {eta:.0f}s", file=self.stream, flush=True)

    def close(self):
        """Take the bar off the terminal."""
        if self.bar is not None:
            self.bar.close()


def _batches(db, run_id, size):
    """The pass's remaining articles, in order, as batches of (row, pages, task)."""
    after = 0  # rows in flight are not done yet: never ask for them twice
    while True:
        rows = passes.todo(db, run_id, after, size * 16)
        if not rows:
            return
        after = rows[-1][0]
        for start in range(0, len(rows), size):
            batch = []
            for _, id_, url, source, title in rows[start : start + size]:
                pages = raw_pages(db, id_)
                batch.append(((id_, url, source), pages,
                              ([(u, html) for u, _, html in pages], source, title)))
            yield batch


def _analyses(db, run_id, workers):
    """(row, pages, Analysis) of every remaining article, in order; `workers` processes."""
    if workers <= 0:
        for batch in _batches(db, run_id, BATCH):
            for (row, pages, _), analysis in zip(
                    batch, analyze_batch([task for *_, task in batch]), strict=True):
                yield row, pages, analysis
        return
    # fork, not spawn: the workers start in milliseconds with the analysis libraries
    # already loaded (spawn re-imports them, ~2 s, a big share of a short pass). The
    # parent is a plain command with no threads or reactor; workers never touch its store.
    context = multiprocessing.get_context("fork" if sys.platform.startswith("linux")
                                          else "spawn")
    with ProcessPoolExecutor(workers, mp_context=context, initializer=worker_init) as pool:
        ahead = []  # submitted batches, oldest first: results are consumed in order
        batches = _batches(db, run_id, BATCH)
        try:
            for batch in batches:
                ahead.append((batch, pool.submit(analyze_batch, [t for *_, t in batch])))
                if len(ahead) < 3 * workers:
                    continue
                yield from _drain(ahead.pop(0))
            while ahead:
                yield from _drain(ahead.pop(0))
        except BaseException:
            pool.shutdown(wait=False, cancel_futures=True)
            raise


def _drain(submitted):
    batch, future = submitted
    for (row, pages, _), analysis in zip(batch, future.result(), strict=True):
        yield row, pages, analysis


def reprocess(db, threshold=ZGCWATCH_DEDUP_THRESHOLD, source=None, workers=None,
              limit=None, progress=None):
    """Redo every crawled article from its pages; return the pass's summary (a dict).

    Resumes an unfinished pass if there is one (with its own source and threshold).
    `limit`: stop after that many articles, to be resumed later ("interrupted": True).
    """
    run = passes.begin(db, source, threshold)
    if run["resumed"]:
        done, total = passes.progress(db, run["id"])
        logger.warning("resuming the reprocess started %s: %d of %d articles done",
                       run["started_at"], done, total)
        threshold = run["threshold"] if run["threshold"] is not None else threshold
    processor = ArticleProcessor(db, threshold, follow_store=False)
    # The index starts from the seeds and what this pass redid already, in its order.
    seeds = db.execute("SELECT s.article_id, s.lang, s.signature FROM dedup_signatures s "
                       "JOIN articles a ON a.id = s.article_id WHERE a.source = 'seed' "
                       "ORDER BY s.article_id").fetchall()
    processor.index.load([*seeds, *passes.done_signatures(db, run["id"])])
    done, total = passes.progress(db, run["id"])
    meter = progress(total, done) if progress else None
    if workers is None:
        workers = os.cpu_count() or 1
    handled, pending = 0, []
    try:
        for (id_, url, source_), pages, analysis in _analyses(db, run["id"], workers):
            pending.append((id_, url, source_, pages, analysis))
            if len(pending) >= COMMIT_EVERY:
                handled += _store(db, processor, run["id"], pending, meter)
            if limit is not None and handled + len(pending) >= limit:
                break
        handled += _store(db, processor, run["id"], pending, meter)
    finally:
        if meter:
            meter.close()
        passes.release(db, run["id"])
    done, total = passes.progress(db, run["id"])
    if done < total:
        return {"articles": total, "done": done, "interrupted": True}
    # Stories and copies may have changed places: each run's counts follow its articles.
    for (run_id,) in db.execute("SELECT DISTINCT first_run FROM articles "
                                "WHERE first_run IS NOT NULL").fetchall():
        recount_finished(db, run_id)
    return passes.finish(db, run["id"])


def _store(db, processor, run_id, pending, meter):
    """Write a few redone articles and mark them done, in one transaction; empty the list."""
    if not pending:
        return 0
    with write_transaction(db):
        for _, url, source, pages, analysis in pending:
            processor.store(url, source, analysis, pages, save_pages=False)
        passes.mark_done(db, run_id, [p[0] for p in pending])
    count = len(pending)
    pending.clear()
    if meter:
        meter.advance(count)
    return count


def describe(summary):
    """The one line a user reads at the end."""
    return (f"{summary['stories_added']} stories added, {summary['stories_removed']} removed, "
            f"{summary['sent_to_review']} sent to review ({summary['articles']} articles "
            f"reprocessed, {summary['copies']} copies)")


def main(argv=None):
    """Command line: reprocess the store named by --db or ZGCWATCH_DB."""
    parser = argparse.ArgumentParser(prog="zgcwatch-reprocess", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", help="SQLite file (default: ZGCWATCH_DB or data/zgcwatch.db)")
    parser.add_argument("--source", choices=["chinadaily", "zgcgw"], help="only this source")
    parser.add_argument("--threshold", type=float, default=ZGCWATCH_DEDUP_THRESHOLD,
                        help="near-duplicate similarity threshold (0..1)")
    parser.add_argument("--workers", type=int, default=None,
                        help="analysis processes (default: one per core; 0: in this process)")
    parser.add_argument("--limit", type=int, default=None,
                        help="stop after this many articles; run again to go on")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        db = open_store(args.db)
        result = reprocess(db, args.threshold, args.source, args.workers, args.limit,
                           progress=Progress)
    except StoreError as exc:
        print(f"zgcwatch: {exc}", file=sys.stderr)
        return 1
    except passes.Busy as exc:
        print(f"zgcwatch: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("zgcwatch-reprocess: interrupted; run it again to resume where it stopped",
              file=sys.stderr)
        return 130
    if result.get("interrupted"):
        print(f"{result['done']} of {result['articles']} articles reprocessed; "
              "run again to go on")
        return 0
    print(describe(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
