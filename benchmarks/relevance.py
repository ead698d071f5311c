"""Relevance on real published text: precision and recall per language, and every miss.

    python -m benchmarks.relevance PATH.jsonl [PATH.jsonl ...] [--split dev|test] [--clear]

Each line of a file is a labelled story: {"id", "lang", "label": "on"|"off", "kind",
"title", "text", "split", "borderline"}. The texts are third-party stories, kept outside
the repository; `benchmarks/realtext_manifest.tsv` lists the ones we measure on (address,
label, why).
A story counts as kept when `is_relevant`; "review" counts those sent to review.
"""

import argparse
import json
import sys
from collections import Counter, defaultdict

from crawler.relevance import load_profile, score


def read_stories(paths, split=None, clear=False):
    """The labelled stories of the JSONL files: one split only, or only the clear cases."""
    stories = []
    for path in paths:
        with open(path, encoding="utf-8") as file:
            for line in file:
                if line.strip():
                    story = json.loads(line)
                    if clear and story.get("borderline"):
                        continue
                    if split is None or story.get("split") == split:
                        stories.append(story)
    return stories


def judge(profile, stories):
    """[(story, Relevance)] for every story."""
    return [(s, score(profile, s.get("title"), s.get("text") or "", s.get("lang")))
            for s in stories]


def table(judged):
    """Rows of counts per language and kind, and precision/recall per language."""
    counts = defaultdict(Counter)
    for story, result in judged:
        verdict = "kept" if result.is_relevant else "review" if result.review else "dropped"
        counts[(story["lang"], story["kind"])][verdict] += 1
    lines = [f"{'lang':4}  {'kind':18} {'n':>3} {'kept':>5} {'review':>6} {'dropped':>7}"]
    for (lang, kind), c in sorted(counts.items()):
        lines.append(f"{lang:4}  {kind:18} {c.total():3} {c['kept']:5} {c['review']:6} "
                     f"{c['dropped']:7}")
    lines.append("")
    for lang in sorted({s["lang"] for s, _ in judged}):
        on = [r for s, r in judged if s["lang"] == lang and s["label"] == "on"]
        off = [r for s, r in judged if s["lang"] == lang and s["label"] == "off"]
        kept_on = sum(r.is_relevant for r in on)
        kept_off = sum(r.is_relevant for r in off)
        precision = kept_on / (kept_on + kept_off) if kept_on + kept_off else 1.0
        recall = kept_on / len(on) if on else 1.0
        with_review = sum(r.is_relevant or r.review for r in on) / len(on) if on else 1.0
        lines.append(f"{lang}: precision {precision:.3f} ({kept_on}/{kept_on + kept_off}), "
                     f"recall {recall:.3f} ({kept_on}/{len(on)}), recall counting review "
                     f"{with_review:.3f}; off-topic kept {kept_off}/{len(off)}, "
                     f"sent to review {sum(r.review for r in off)}/{len(off)}")
    return lines


def misses(judged):
    """One line per wrong verdict: on-topic not kept, off-topic kept."""
    lines = []
    for story, result in judged:
        wrong = (story["label"] == "on") != result.is_relevant
        if wrong:
            what = "MISSED" if story["label"] == "on" else "FALSE "
            review = " (review)" if result.review else ""
            lines.append(f"{what} {story['id']} {story['kind']} score {result.score:.3f}"
                         f"{review}: {story.get('title', '')[:70]}")
            lines.append(f"       evidence: {result.evidence[:200] or '-'}")
            lines.append(f"       matched: {json.dumps(result.matched, ensure_ascii=False)}")
    return lines


def main(argv=None):
    """Print the figures for the given files."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.relevance", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("paths", nargs="+", help="JSONL files of labelled stories")
    parser.add_argument("--split", choices=["dev", "test"], help="only this split")
    parser.add_argument("--clear", action="store_true",
                        help="leave out the stories labelled borderline")
    parser.add_argument("--profile", help="topic profile (default: ZGCWATCH_TOPIC or seeds/)")
    args = parser.parse_args(argv)
    stories = read_stories(args.paths, args.split, args.clear)
    if not stories:
        print("no stories", file=sys.stderr)
        return 1
    judged = judge(load_profile(args.profile), stories)
    print("\n".join(table(judged) + [""] + misses(judged)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
