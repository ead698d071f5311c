"""Copies on real published text: distinct stories stay apart, their excerpts are linked.

    python -m benchmarks.copies PATH.jsonl [PATH.jsonl ...]

The files are labelled real stories as `benchmarks.relevance` reads them (kept outside
the repository). Per language: every pair of distinct stories is compared (the highest
containment and ratio seen, and how many the index would call copies: none should be),
then the first half of each story, under a new intro line, is looked up in an index of
them all (it should find its own story).
"""

import argparse
import itertools
import sys

from rapidfuzz import fuzz

from benchmarks.relevance import read_stories
from crawler.dedup import DedupIndex, containment, normalize


def pairs(texts):
    """The five most alike pairs: (containment, ratio, id, id)."""
    rows = []
    for (a, ta), (b, tb) in itertools.combinations(texts, 2):
        rows.append((containment(ta, tb), fuzz.ratio(ta, tb, processor=None) / 100, a, b))
    return sorted(rows, reverse=True)[:5], len(rows)


def main(argv=None):
    """Print, per language, how far apart distinct stories are and how excerpts fare."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.copies", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("paths", nargs="+")
    args = parser.parse_args(argv)
    stories = read_stories(args.paths)
    for lang in sorted({s["lang"] for s in stories}):
        texts = [(s["id"], normalize(s["text"])) for s in stories if s["lang"] == lang]
        index = DedupIndex()
        for n, (_, text) in enumerate(texts):
            index.add(n, lang, text)
        top, count = pairs(texts)
        false = [(texts[n][0], texts[m.article_id][0]) for n, (_, text) in enumerate(texts)
                 if (m := index.find(lang, text, exclude={n}))]
        long_enough = [(n, text) for n, (_, text) in enumerate(texts)
                       if len(text) // 2 >= index.min_excerpt]
        linked = sum(bool((m := index.find(lang, "Republished from another site. "
                                           + text[: len(text) // 2])) and m.article_id == n)
                     for n, text in long_enough)
        print(f"{lang}: {len(texts)} stories, {count} pairs; distinct stories called copies: "
              f"{len(false)} {false or ''}")
        print("    most alike pairs (containment, ratio): " + ", ".join(
            f"{a}~{b} {c:.2f}/{r:.2f}" for c, r, a, b in top))
        print(f"    first halves under a new intro linked to their story: "
              f"{linked}/{len(long_enough)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
