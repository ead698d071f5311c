"""Near-duplicate checks at 1k/10k/100k stored articles, Chinese and English: time and recall.

    python -m benchmarks.dedup [--quick] [--sizes 1000,10000,100000] [--queries 200]

Stored bodies are synthetic (~3,000 characters: jieba's dictionary words by frequency for
Chinese, English stop words plus invented content words for English, both salted with
the topic's own phrases so that stored stories look alike). Planted republications of
stored stories (new lead, paragraphs dropped, words edited) measure recall, and so do
excerpts (a new intro line, then the story's first half word for word); as many fresh
stories measure the common case, a check that finds nothing. Signatures are
persisted in a real SQLite store and the warm-up loads them from it, as a crawl does.
The baseline is rapidfuzz `process.extractOne` (ratio) over every stored body.
"""

import argparse
import gc
import statistics
import sys
import tempfile
import time
from multiprocessing import Pool
from pathlib import Path

import jieba
import justext
import numpy as np
from rapidfuzz import fuzz, process

from crawler.dedup import DedupIndex, normalize
from store import open_store
from store.signatures import load_signatures, save_signatures

TOPIC = {
    "en": ["Zhongguancun", "overseas talent", "returnees", "returned overseas students",
           "science park", "artificial intelligence", "start-ups", "innovation",
           "entrepreneurship", "Haidian district", "pioneer park", "integrated circuits",
           "biomedicine", "the administrative committee", "recruitment fair", "incubators"],
    "zh": ["中关村", "海外人才", "留学人员", "创业园", "海归", "人工智能", "创新创业", "集成电路",
           "生物医药", "管委会", "招聘会", "孵化", "海淀区", "留创园", "回国", "科技园区"],
}
SYLLABLES = ["ba", "ce", "di", "fo", "gu", "ha", "ji", "ko", "lu", "ma", "ne", "pi", "qua",
             "ro", "su", "ta", "ve", "wi", "xo", "ya", "zen", "ar", "el", "in", "on", "ur",
             "str", "pl", "tion", "ment", "er", "ing", "al", "ous"]
BODY_CHARS = 3000
EDIT_SHARE = 0.02
TOPIC_SHARE = 0.06


class Corpus:
    """Deterministic synthetic article bodies of one language: body(i) is always the same."""

    def __init__(self, lang, seed=7):
        self.lang, self.seed = lang, seed
        words, weights = _vocabulary(lang, seed)
        weights = np.asarray(weights, dtype=float) / np.sum(weights) * (1 - TOPIC_SHARE)
        words += TOPIC[lang]  # the topic's own phrases make stored stories look alike
        topic = np.full(len(TOPIC[lang]), TOPIC_SHARE / len(TOPIC[lang]))
        weights = np.concatenate([weights, topic])
        # three more "words": comma, full stop, full stop ending a paragraph
        marks = ["，", "。", "。\n"] if lang == "zh" else [",", ".", ".\n"]
        self.punct = np.arange(len(words), len(words) + 3)
        self.words = np.array(words + marks, dtype=object)
        self.lens = np.array([len(w) for w in words + marks])
        self.cdf = np.cumsum(weights) / np.sum(weights)

    def rng(self, i, salt=0):
        return np.random.default_rng([self.seed, i, salt])

    def text(self, rng, chars, paragraphs=True):
        """About `chars` characters of text; sentences, and paragraphs of ~300 characters."""
        zh = self.lang == "zh"
        per_word = 2.0 if zh else 6.0
        n = int(chars / per_word * 1.3) + 40
        picks = self.sample(rng, n)
        marks = rng.random((2, n))
        clause = marks[0] < 1 / 9  # a comma or a full stop after this word
        stop = clause & (marks[1] < 0.35)
        brk = np.zeros(n, dtype=bool)  # every m-th full stop ends a ~300-character paragraph
        if paragraphs:
            m = int(rng.integers(2, 4)) if not zh else int(rng.integers(4, 8))
            brk[np.flatnonzero(stop)[m - 1 :: m]] = True
        tokens = np.where(stop, self.punct[1], self.punct[0])
        tokens = np.where(brk, self.punct[2], tokens)
        size = np.cumsum(self.lens[picks] + clause + brk) + (0 if zh else np.arange(n))
        end = min(n, int(np.searchsorted(size, chars)) + 1)
        order = np.argsort(np.concatenate([np.arange(end), np.flatnonzero(clause[:end]) + 0.5]))
        seq = np.concatenate([picks[:end], tokens[:end][clause[:end]]])[order]
        text = ("" if zh else " ").join(self.words[seq].tolist())
        if not zh:
            text = text.replace(" ,", ",").replace(" .", ".").replace("\n ", "\n")
        text = text.strip().rstrip("，,")
        return text + ("" if text[-1] in "。." else "。" if zh else ".")

    def sample(self, rng, n):
        """n word indices drawn by frequency."""
        return np.minimum(np.searchsorted(self.cdf, rng.random(n)), len(self.cdf) - 1)

    def body(self, i):
        """Stored story i: paragraphs up to ~3,000 characters."""
        return self.text(self.rng(i), BODY_CHARS)

    def republish(self, body, i, heavy):
        """A republication: reworded lead, paragraph(s) dropped, a few words edited."""
        rng = self.rng(i, salt=1)
        paragraphs = body.split("\n")
        paragraphs[0] = self.text(rng, len(paragraphs[0]), paragraphs=False)
        drops = max(1, len(paragraphs) // 4) if heavy else 1
        for _ in range(drops):
            paragraphs.pop(int(rng.integers(1, len(paragraphs))))
        text = "\n".join(paragraphs)
        for pos in sorted(rng.integers(0, len(text), int(len(text) * EDIT_SHARE / 3)))[::-1]:
            word = self.words[self.sample(rng, 1)[0]]
            text = text[:pos] + word + text[pos + 3 :]
        return text


def _vocabulary(lang, seed):
    """Words and Zipf-like weights: real frequencies for Chinese, ranked for English."""
    if lang == "zh":
        entries = []
        with jieba.get_dict_file() as lines:
            for line in lines:
                word, freq, *_ = line.decode("utf-8").split()
                if all("\u4e00" <= c <= "\u9fff" for c in word):
                    entries.append((int(freq), word))
        entries.sort(reverse=True)
        entries = entries[:60000]
        return [w for _, w in entries], [f for f, _ in entries]
    rng = np.random.default_rng(seed)
    stop = sorted(justext.get_stoplist("English"))
    content = {"".join(rng.choice(SYLLABLES, size=rng.integers(2, 5))) for _ in range(30000)}
    words = stop + sorted(content - set(stop))
    order = rng.permutation(len(stop))  # stop words take the top ranks, in random order
    ranks = np.concatenate([order + 1, np.arange(len(stop) + 1, len(words) + 1)])
    return words, list(1.0 / ranks)


_CORPORA = {}  # per worker process: reading jieba's dictionary takes a second


def _make_chunk(args):
    """Worker: bodies and signatures of ids [start, stop) of one corpus."""
    lang, start, stop, params = args
    corpus = _CORPORA.get(lang) or _CORPORA.setdefault(lang, Corpus(lang))
    index = DedupIndex(**params)
    bodies = [corpus.body(i) for i in range(start, stop)]
    return bodies, [index.signature(b) for b in bodies]


def build(lang, n, workers, params):
    """Bodies and signatures of stories 1..n, made in parallel; (bodies, sigs, seconds)."""
    step = 2000
    jobs = [(lang, s, min(s + step, n + 1), params) for s in range(1, n + 1, step)]
    start = time.perf_counter()
    bodies, sigs = [None], [None]  # index 0 unused: ids start at 1
    with Pool(workers) as pool:
        for b, s in pool.imap(_make_chunk, jobs):
            bodies.extend(b)
            sigs.extend(s)
    return bodies, sigs, time.perf_counter() - start


def store_signatures(path, lang, sigs, n):
    """A fresh store holding stub articles 1..n and their signatures."""
    db = open_store(path, load_seeds=False)
    with db.conn:
        db.conn.executemany(
            "INSERT INTO articles (id, url, source, lang, first_seen, last_seen) "
            "VALUES (?, ?, 'bench', ?, '', '')",
            [(i, f"bench:{lang}:{i}", lang) for i in range(1, n + 1)],
        )
    save_signatures(db, [(i, lang, sigs[i]) for i in range(1, n + 1)])
    return db


def index_bytes(index):
    """Bytes held by the index's numpy arrays (the per-article cost at scale)."""
    return sum(table.nbytes() for table in index._tables.values())


def queries(corpus, bodies, n, count, threshold, rng):
    """Planted republications of random stored stories, and as many fresh stories."""
    planted = []
    for j, i in enumerate(rng.choice(np.arange(1, n + 1), size=count, replace=False)):
        copy = corpus.republish(bodies[i], int(i), heavy=j % 2 == 1)
        if fuzz.ratio(normalize(copy), normalize(bodies[i]), processor=None) >= threshold * 100:
            planted.append((int(i), copy))
    fresh = [corpus.body(10_000_000 + j) for j in range(count)]
    excerpts = [(i, excerpt(bodies[i])) for i, _ in planted]
    return planted, fresh, excerpts


def excerpt(body):
    """A republisher's excerpt: its own intro line, then the story's first half word for word."""
    return "Republished with permission.\n" + body[: len(body) // 2]


def run_size(lang, corpus, bodies, sigs, n, args, tmp):
    """One table row: warm-up, ms per check, recall, false positives, memory."""
    db = store_signatures(Path(tmp) / f"{lang}-{n}.db", lang, sigs, n)
    fetch = lambda ids: {i: bodies[i] for i in ids}  # noqa: E731 - stands in for SQLite
    index = DedupIndex(args.threshold, fetch_bodies=fetch, **args.params)
    gc.collect()
    start = time.perf_counter()
    stale = index.load(load_signatures(db))
    warm = time.perf_counter() - start
    assert not stale and len(index) == n
    rng = np.random.default_rng(n)
    planted, fresh, excerpts = queries(corpus, bodies, n, args.queries, args.threshold, rng)
    hit_times, miss_times, part_times, found, false, parts = [], [], [], 0, 0, 0
    for original, copy in planted:
        t0 = time.perf_counter()
        match = index.find(lang, copy)
        hit_times.append(time.perf_counter() - t0)
        found += bool(match and match.article_id == original)
    for original, part in excerpts:
        t0 = time.perf_counter()
        match = index.find(lang, part)
        part_times.append(time.perf_counter() - t0)
        parts += bool(match and match.article_id == original)
    for body in fresh:
        t0 = time.perf_counter()
        match = index.find(lang, body)
        miss_times.append(time.perf_counter() - t0)
        false += match is not None
    every = hit_times + miss_times + part_times
    row = dict(
        lang=lang, stored=n, warm=warm, hit=_ms(hit_times), miss=_ms(miss_times),
        part=_ms(part_times), part_recall=f"{parts}/{len(excerpts)}",
        p95=_ms(sorted(every)[int(0.95 * len(every)) - 1:]),
        recall=f"{found}/{len(planted)}", false=f"{false}/{len(fresh)}",
        mem=index_bytes(index) / n, base="", base_recall="",
    )
    if n <= args.baseline_max:
        row.update(baseline(bodies, n, planted, args))
    db.conn.close()
    return row


def baseline(bodies, n, planted, args):
    """extractOne(ratio) over every stored body, on a few of the planted copies."""
    choices = [normalize(bodies[i]) for i in range(1, n + 1)]
    sample = planted[: max(2, min(len(planted), 5_000 // n))]
    times, found = [], 0
    for original, copy in sample:
        t0 = time.perf_counter()
        best = process.extractOne(
            normalize(copy), choices, scorer=fuzz.ratio, processor=None,
            score_cutoff=args.threshold * 100,
        )
        times.append(time.perf_counter() - t0)
        found += bool(best and best[2] + 1 == original)
    return dict(base=_ms(times), base_recall=f"{found}/{len(sample)}")


def _ms(seconds):
    return f"{1000 * statistics.mean(seconds):.2f}" if seconds else "-"


def print_table(rows, file=sys.stdout):
    """A Markdown table of the rows."""
    head = ["lang", "stored", "warm-up s", "ms/check dup", "ms/check excerpt", "ms/check new",
            "p95 ms", "recall", "excerpt recall", "false dup", "index B/article",
            "extractOne ms", "extractOne recall"]
    print("| " + " | ".join(head) + " |", file=file)
    print("|" + "---|" * len(head), file=file)
    for r in rows:
        cells = [r["lang"], f"{r['stored']:,}", f"{r['warm']:.2f}", r["hit"], r["part"],
                 r["miss"], r["p95"], r["recall"], r["part_recall"], r["false"],
                 f"{r['mem']:.0f}", r["base"] or "-",
                 r["base_recall"] or "-"]
        print("| " + " | ".join(cells) + " |", file=file, flush=True)


def main(argv=None):
    """Run the benchmark and print its table."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.dedup", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="1k and 10k only, fewer queries")
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--langs", default="zh,en")
    parser.add_argument("--queries", type=int, default=200, help="planted and fresh, each")
    parser.add_argument("--threshold", type=float, default=DedupIndex().threshold)
    parser.add_argument("--baseline-max", type=int, default=10_000)
    parser.add_argument("--workers", type=int, default=2)
    for name in ("shingle", "bins", "bands", "rows"):
        parser.add_argument(f"--{name}", type=int, help="DedupIndex parameter, to tune it")
    parser.add_argument("--jaccard-floor", type=float, help="DedupIndex parameter")
    args = parser.parse_args(argv)
    args.params = {k: v for k in ("shingle", "bins", "bands", "rows", "jaccard_floor")
                   if (v := getattr(args, k)) is not None}
    if args.quick:
        args.sizes, args.queries = "1000,10000", 50
    sizes = sorted(int(s) for s in args.sizes.split(","))
    jieba.setLogLevel(60)
    started = time.perf_counter()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for lang in args.langs.split(","):
            corpus = Corpus(lang)
            bodies, sigs, seconds = build(lang, sizes[-1], args.workers, args.params)
            print(f"{lang}: made {sizes[-1]:,} bodies + signatures in {seconds:.1f} s "
                  f"({args.workers} workers, {1000 * seconds * args.workers / sizes[-1]:.2f} "
                  f"ms per article per core; mean {statistics.mean(map(len, bodies[1:])):.0f} "
                  f"chars)", file=sys.stderr, flush=True)
            for n in sizes:
                rows.append(run_size(lang, corpus, bodies, sigs, n, args, tmp))
                print_table(rows[-1:], file=sys.stderr)
            del bodies, sigs
    probe = DedupIndex(args.threshold, **args.params)
    print(f"threshold {probe.threshold}, {probe.shingle}-character shingles, {probe.bins} bins, "
          f"{probe.bands} bands x {probe.rows} rows, jaccard floor {probe.jaccard_floor}, "
          f"max verify {probe.max_verify}; {args.queries} planted + {args.queries} fresh "
          f"checks per row; total {time.perf_counter() - started:.0f} s\n")
    print_table(rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
