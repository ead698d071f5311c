"""Bilingual topic relevance: is a story about overseas talent AND about Zhongguancun?

The profile (seeds/topic.toml) names weighted terms for the two sides; a story must
have evidence on both. Headline mentions weigh more than body mentions, and repeated
body mentions of one term count only up to a cap, so one passing mention stays weak.
"""

import math
import os
import re
import tomllib
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_PROFILE = Path(__file__).resolve().parent.parent / "seeds" / "topic.toml"
SIDES = ("place", "talent")
_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")


@dataclass
class Profile:
    """Weighted terms per side and the scoring constants, as loaded from TOML."""

    terms: dict  # side -> {term: weight}
    threshold: float = 0.5
    title_weight: float = 3.0
    body_cap: int = 3
    scale: float = 4.0
    seed_weight: float = 2.0
    patterns: dict = field(default_factory=dict, repr=False)  # side -> compiled regex
    needles: dict = field(default_factory=dict, repr=False)  # side -> substrings, see _needles


@dataclass
class Relevance:
    """A story's relevance (0..1), the verdict, and the terms that earned it (JSON-able)."""

    score: float
    is_relevant: bool
    matched: dict


def load_profile(path=None) -> Profile:
    """Read the topic profile: the argument, else ZGCWATCH_TOPIC, else seeds/topic.toml."""
    path = Path(path or os.environ.get("ZGCWATCH_TOPIC") or DEFAULT_PROFILE)
    with path.open("rb") as file:
        data = tomllib.load(file)
    missing = [side for side in SIDES if not data.get(side)]
    if missing:
        raise ValueError(f"topic profile {path}: no terms for {', '.join(missing)}")
    constants = {k: data[k] for k in ("threshold", "title_weight", "body_cap", "scale",
                                      "seed_weight") if k in data}
    return make_profile({side: data[side] for side in SIDES}, **constants)


def make_profile(terms, **constants) -> Profile:
    """A Profile from {side: {term: weight}} and optional scoring constants."""
    terms = {side: {_fold(t): float(w) for t, w in terms[side].items()} for side in SIDES}
    profile = Profile(terms=terms, **constants)
    profile.patterns = {side: _compile(list(terms[side])) for side in SIDES}
    profile.needles = {side: _needles(list(terms[side])) for side in SIDES}
    return profile


def _needles(terms):
    """Substrings a lower-cased text must hold for any of the terms to match in it.

    The longest word of an English term, a Chinese term's first character: a plain `in`
    test is ~100x faster than the regex, and most stories miss one side entirely.
    """
    needles = set()
    for term in terms:
        if _CJK.search(term):
            needles.add(term.strip()[0])
        else:
            needles.add(max(re.split(r"[\s-]+", term.lower()), key=len))
    return sorted(needles)


def _fold(text):
    """NFKC (full-width letters and spaces to plain ones), whitespace collapsed."""
    text = text or ""
    if not unicodedata.is_normalized("NFKC", text):  # a quick check; most text is
        text = unicodedata.normalize("NFKC", text)
    return " ".join(text.split())  # what \s+ -> " " does, ~5x faster


def _term_pattern(term):
    """Regex for one term: Chinese as a substring across stray spaces; English as words.

    An English pattern expects to start at a word start (see _compile) and may end in a
    plural -s/-es on its last word; no letter or digit may follow it.
    """
    if _CJK.search(term):
        return r"\s*".join(re.escape(ch) for ch in term if not ch.isspace())
    words = re.split(r"[\s-]+", term)
    body = r"[\s-]+".join(re.escape(w) for w in words)
    return rf"{body}(?:e?s)?(?![A-Za-z0-9])"


def _compile(terms):
    """One alternation per side, longest terms first so the longest match wins.

    It runs on lower-cased text (re.IGNORECASE makes every character test slower).
    Python's re tries every alternative at every position; guarding the English terms
    with a word-start check and their possible first letters, and the Chinese ones with
    their possible first characters, lets most positions fail at once.
    """
    order = sorted(range(len(terms)), key=lambda i: -len(terms[i]))
    cjk = [i for i in order if _CJK.search(terms[i])]
    english = [i for i in order if i not in cjk]
    groups = []
    for group, guard in ((english, "(?<![a-z0-9])"), (cjk, "")):
        if not group:
            continue
        first = "".join(sorted({re.escape(terms[i].strip()[0].lower()) for i in group}))
        parts = "|".join(f"(?P<t{i}>{_term_pattern(terms[i].lower())})" for i in group)
        groups.append(rf"{guard}(?=[{first}])(?:{parts})")
    return re.compile("|".join(groups))


def _counts(pattern, needles, terms, text):
    """{term: mentions} of one side's terms in a lower-cased text."""
    found = {}
    if not any(needle in text for needle in needles):
        return found
    for match in pattern.finditer(text):
        term = terms[int(match.lastgroup[1:])]
        found[term] = found.get(term, 0) + 1
    return found


def score(profile, title: str | None, body: str, lang: str | None,
          seed_similarity: float | None = None) -> Relevance:
    """How much a story is about the profile's topic; relevant at or above its threshold."""
    # Every term applies whatever `lang` says: English pages name 中关村 and Chinese ones ZGC.
    title, body = _fold(title).lower(), _fold(body).lower()
    side_scores, matched = {}, {"title": []}
    for side in SIDES:
        terms = list(profile.terms[side])
        pattern, needles = profile.patterns[side], profile.needles[side]
        in_title = _counts(pattern, needles, terms, title)
        in_body = _counts(pattern, needles, terms, body)
        evidence = sum(
            weight * (profile.title_weight * (term in in_title)
                      + min(in_body.get(term, 0), profile.body_cap))
            for term, weight in profile.terms[side].items()
        )
        evidence += profile.seed_weight * max(0.0, seed_similarity or 0.0)
        side_scores[side] = 1 - math.exp(-evidence / profile.scale)
        matched[side] = sorted(set(in_title) | set(in_body), key=terms.index)
        matched["title"] += sorted(in_title, key=terms.index)
    value = math.sqrt(side_scores["place"] * side_scores["talent"])
    value = round(value, 4)
    return Relevance(score=value, is_relevant=value >= profile.threshold, matched=matched)
