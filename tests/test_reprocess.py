"""`python -m crawler.reprocess`: the whole store rebuilt from raw HTML, without crawling."""

import io
import re
import shutil
import sqlite3
import subprocess
import sys

import crawler.reprocess as reprocess_module
from crawler.relevance import DEFAULT_PROFILE
from store import open_store
from tests.conftest import ROOT


def snapshot(db_path):
    """What a user sees: each article's relevance, original and key fields, by URL."""
    conn = sqlite3.connect(db_path)
    try:
        rows = conn.execute(
            "SELECT a.url, a.title, a.published, a.lang, a.is_relevant, o.url, length(a.body) "
            "FROM articles a LEFT JOIN articles o ON o.id = a.duplicate_of ORDER BY a.url"
        ).fetchall()
        stories = {r[0] for r in conn.execute("SELECT url FROM stories")}
    finally:
        conn.close()
    return rows, stories


def test_reprocess_rebuilds_the_same_store(crawled_store, tmp_path):
    db_path = tmp_path / "copy.db"
    shutil.copy(crawled_store, db_path)
    before = snapshot(db_path)
    conn = sqlite3.connect(db_path)
    with conn:  # as if a rule had changed: scores and links wiped
        conn.execute("UPDATE articles SET is_relevant = 0, duplicate_of = NULL, title = 'x' "
                     "WHERE source <> 'seed'")
    conn.close()
    result = subprocess.run([sys.executable, "-m", "crawler.reprocess", "--db", str(db_path)],
                            cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    # the wiped titles and verdicts come back: 12 stories, and nothing sent to review
    assert result.stdout == ("12 stories added, 0 removed, 0 sent to review (28 articles "
                             "reprocessed, 4 copies)\n"), result.stdout
    assert snapshot(db_path) == before


def test_run_counts_follow_a_reprocess_that_changes_the_verdicts(crawled_store, tmp_path):
    db_path = tmp_path / "copy.db"
    shutil.copy(crawled_store, db_path)
    stories_before = len(snapshot(db_path)[1])
    result = subprocess.run([sys.executable, "-m", "crawler.reprocess", "--db", str(db_path),
                             "--threshold", "0.999"],  # only exact copies stay copies
                            cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    conn = sqlite3.connect(db_path)
    stories, = conn.execute("SELECT count(*) FROM stories").fetchone()
    copies, = conn.execute("SELECT count(*) FROM articles WHERE duplicate_of IS NOT NULL "
                           "AND source <> 'seed'").fetchone()
    counted = conn.execute("SELECT sum(stories_new), sum(duplicates) FROM crawl_runs").fetchone()
    conn.close()
    assert stories > stories_before  # near-copies became stories of their own
    assert counted == (stories, copies)


def test_reprocess_refuses_a_broken_store(tmp_path):
    db_path = tmp_path / "bad.db"
    db_path.write_bytes(b"nope" * 100)
    result = subprocess.run([sys.executable, "-m", "crawler.reprocess", "--db", str(db_path)],
                            cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert result.stderr.strip() == f"zgcwatch: cannot use {db_path}: file is not a database"


def full_state(db_path):
    """Every stored verdict and link a reprocess decides, by URL (no clocks)."""
    conn = sqlite3.connect(db_path)
    try:
        return conn.execute(
            "SELECT a.url, a.title, a.published, a.lang, a.body, a.is_relevant, a.relevance, "
            "a.review, a.evidence, a.matched_terms, o.url, a.similarity, a.body_hash, "
            "s.signature FROM articles a LEFT JOIN articles o ON o.id = a.duplicate_of "
            "LEFT JOIN dedup_signatures s ON s.article_id = a.id ORDER BY a.url").fetchall()
    finally:
        conn.close()


def wiped_copy(crawled_store, path):
    """The crawled store as if the rules had changed: verdicts, links and texts off."""
    shutil.copy(crawled_store, path)
    conn = sqlite3.connect(path)
    with conn:
        conn.execute("UPDATE articles SET is_relevant = 0, duplicate_of = NULL, review = 1, "
                     "evidence = NULL, title = 'x', relevance = 0 WHERE source <> 'seed'")
    conn.close()
    return path


def reprocess_cli(db_path, *args):
    return subprocess.run([sys.executable, "-m", "crawler.reprocess", "--db", str(db_path),
                           *args], cwd=ROOT, capture_output=True, text=True, timeout=300)


def test_interrupted_and_resumed_equals_one_uninterrupted_run(crawled_store, tmp_path):
    whole = wiped_copy(crawled_store, tmp_path / "whole.db")
    assert reprocess_cli(whole, "--workers", "2").returncode == 0
    parts = wiped_copy(crawled_store, tmp_path / "parts.db")
    first = reprocess_cli(parts, "--workers", "2", "--limit", "10")
    assert first.returncode == 0, first.stderr
    assert first.stdout == "10 of 28 articles reprocessed; run again to go on\n"
    assert full_state(parts) != full_state(whole)  # half done: some rows still wiped
    second = reprocess_cli(parts, "--workers", "0", "--limit", "5")  # resumed in-process
    assert "resuming the reprocess started" in second.stderr
    assert second.stdout == "15 of 28 articles reprocessed; run again to go on\n"
    last = reprocess_cli(parts)
    assert last.returncode == 0, last.stderr
    assert last.stdout.startswith("12 stories added, 0 removed, 0 sent to review")
    assert full_state(parts) == full_state(whole)
    conn = sqlite3.connect(parts)
    assert conn.execute("SELECT count(*) FROM reprocess_queue").fetchone() == (0,)
    assert conn.execute("SELECT count(*) FROM reprocess_runs WHERE finished_at IS NULL"
                        ).fetchone() == (0,)
    conn.close()


class CtrlC:
    """A progress meter that presses Ctrl-C once `after` articles are done."""

    def __init__(self, total, done, after=8):
        self.done, self.after = done, after

    def advance(self, n):
        self.done += n
        if self.done >= self.after:
            raise KeyboardInterrupt

    def close(self):
        pass


def test_ctrl_c_leaves_a_consistent_store_that_resumes(crawled_store, tmp_path, monkeypatch):
    whole = wiped_copy(crawled_store, tmp_path / "whole.db")
    assert reprocess_cli(whole).returncode == 0
    parts = wiped_copy(crawled_store, tmp_path / "parts.db")
    monkeypatch.setattr(reprocess_module, "Progress", CtrlC)
    assert reprocess_module.main(["--db", str(parts), "--workers", "2"]) == 130
    conn = sqlite3.connect(parts)
    done, total = conn.execute("SELECT sum(done), count(*) FROM reprocess_queue").fetchone()
    conn.close()
    assert (done, total) == (16, 28)  # whole transactions only: one per 16 articles
    monkeypatch.undo()
    assert reprocess_cli(parts).returncode == 0
    assert full_state(parts) == full_state(whole)


def test_other_writers_get_the_store_between_its_short_transactions(crawled_store, tmp_path):
    """A crawl or the daemon writing meanwhile never waits for the whole pass."""
    path = wiped_copy(crawled_store, tmp_path / "busy.db")
    written = []

    class Neighbour:
        def __init__(self, total, done):
            pass

        def advance(self, n):  # between two of the pass's transactions
            other = sqlite3.connect(path, timeout=0.2)
            with other:
                other.execute("INSERT INTO crawl_runs (source, started_at, status) "
                              "VALUES ('zgcgw', '2026-12-01T00:00:00+00:00', 'running')")
            other.close()
            written.append(n)

        def close(self):
            pass

    db = open_store(path)
    summary = reprocess_module.reprocess(db, workers=0, progress=Neighbour)
    assert written == [16, 12] and summary["stories_added"] == 12


def test_a_second_reprocess_is_refused_while_one_runs(crawled_store, tmp_path):
    path = wiped_copy(crawled_store, tmp_path / "two.db")
    assert reprocess_cli(path, "--limit", "3").returncode == 0
    with subprocess.Popen(["sleep", "30"]) as other:  # stands for the first reprocess
        conn = sqlite3.connect(path)
        with conn:
            conn.execute("UPDATE reprocess_runs SET pid = ?", [other.pid])
        conn.close()
        refused = reprocess_cli(path)
        other.kill()
    assert refused.returncode == 1
    assert refused.stderr == (f"zgcwatch: another reprocess (pid {other.pid}) is running "
                              "on this store\n")
    assert reprocess_cli(path).returncode == 0  # its process gone: this one resumes


def test_progress_without_a_terminal_is_a_line_per_thousand():
    out = io.StringIO()
    meter = reprocess_module.Progress(2500, 0, stream=out)
    meter.advance(999)
    assert out.getvalue() == ""
    meter.advance(2)
    meter.advance(998)
    meter.advance(1)
    meter.advance(500)
    lines = out.getvalue().splitlines()
    assert [line.split(",")[0] for line in lines] == [
        "reprocess: 1001/2500 articles", "reprocess: 2000/2500 articles",
        "reprocess: 2500/2500 articles"]
    assert all(re.search(r", [\d.]+/s, ETA \d+s$", line) for line in lines)


def test_a_stricter_profile_says_what_changed(crawled_store, tmp_path, monkeypatch):
    path = tmp_path / "strict.db"
    shutil.copy(crawled_store, path)
    stories_before = {r[0] for r in sqlite3.connect(path).execute("SELECT id FROM stories")}
    strict = tmp_path / "topic.toml"
    strict.write_text(DEFAULT_PROFILE.read_text(encoding="utf-8").replace(
        "threshold = 0.5", "threshold = 0.97").replace("review_floor = 0.25",
                                                       "review_floor = 0.2"),
        encoding="utf-8")
    monkeypatch.setenv("ZGCWATCH_TOPIC", str(strict))
    result = reprocess_cli(path)
    assert result.returncode == 0, result.stderr
    conn = sqlite3.connect(path)
    stories_after = {r[0] for r in conn.execute("SELECT id FROM stories")}
    review = {r[0] for r in conn.execute(
        "SELECT id FROM articles WHERE review = 1 AND duplicate_of IS NULL "
        "AND source <> 'seed'")}
    conn.close()
    removed = stories_before - stories_after
    assert removed and not stories_after - stories_before and review >= removed
    assert result.stdout.startswith(
        f"0 stories added, {len(removed)} removed, {len(review)} sent to review")
