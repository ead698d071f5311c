"""Bilingual topic relevance: does a story tie Zhongguancun to overseas talent?

Real stories name the place and the talent side once or twice, and where they are about
both, they say so together: in the headline, or in one sentence or the next. So a story
is judged by its *ties*, not by how often it repeats the words: a place term and a talent
term in the headline, in the same sentence or a few sentences apart, or one side in the
headline and the other in the body. Each tie is worth (place weight) x (talent weight) x
(how close they are); the score is the noisy-OR of the best few close ties, so two close
ties beat one. Both sides named only far apart (a passing mention) score low: such a
story is sent to review rather than kept or dropped silently.
"""

import bisect
import os
import re
import tomllib
import unicodedata
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

DEFAULT_PROFILE = Path(__file__).resolve().parent.parent / "seeds" / "topic.toml"
SIDES = ("place", "talent")
_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
# Sentence ends: Chinese marks and !/? (a closing quote stays with its sentence), and an
# English full stop followed by a space, so "1.4 million" and "U.S.-based" stay whole. A
# pattern that starts with its end marks lets re scan for them (4x faster than lookbehinds).
_SENTENCE_END = re.compile(r"([。！？!?][”’」』）)\"']?|\.[\"”’)]?(?=\s))\s*")
# Constants a topic.toml may set, besides the terms (earlier versions' title_weight,
# body_cap and scale are accepted and ignored, so an old profile still loads).
CONSTANTS = ("threshold", "review_floor", "window", "lead_sentences", "max_ties",
             "title_tie", "lead_tie", "headline_tie", "sentence_tie", "near_tie", "far_tie",
             "seed_weight")


@dataclass
class Profile:
    """Weighted terms per side and the scoring constants, as loaded from TOML."""

    terms: dict  # side -> {term: weight}
    threshold: float = 0.5  # relevant at or above
    review_floor: float = 0.25  # below the threshold and at or above this: review
    window: int = 2  # sentences apart at most for a near tie
    lead_sentences: int = 3  # the body's lead, for a headline-and-lead tie
    max_ties: int = 3  # close ties that add up (noisy-OR); more says nothing new
    title_tie: float = 1.0  # both sides in the headline
    lead_tie: float = 0.9  # one side in the headline, the other in the lead
    headline_tie: float = 0.45  # one side in the headline, the other further down
    sentence_tie: float = 0.9  # both in one sentence
    near_tie: float = 0.75  # both within `window` sentences
    far_tie: float = 0.3  # both in the body, only further apart
    seed_weight: float = 1.0  # similarity to the seed article counts as a tie this strong
    patterns: dict = field(default_factory=dict, repr=False)  # side -> compiled regex
    needles: dict = field(default_factory=dict, repr=False)  # side -> substrings, see _needles


@dataclass
class Relevance:
    """A story's relevance (0..1), the verdict, the terms that earned it and why."""

    score: float
    is_relevant: bool
    matched: dict  # {"title": [...], "place": [...], "talent": [...]}, JSON-able
    review: bool = False  # near the threshold or tied only far apart: for a person to judge
    evidence: str = ""  # the headline or sentence(s) where place and talent meet


def load_profile(path=None) -> Profile:
    """Read the topic profile: the argument, else ZGCWATCH_TOPIC, else seeds/topic.toml."""
    path = Path(path or os.environ.get("ZGCWATCH_TOPIC") or DEFAULT_PROFILE)
    with path.open("rb") as file:
        data = tomllib.load(file)
    missing = [side for side in SIDES if not data.get(side)]
    if missing:
        raise ValueError(f"topic profile {path}: no terms for {', '.join(missing)}")
    constants = {k: data[k] for k in CONSTANTS if k in data}
    return make_profile({side: data[side] for side in SIDES}, **constants)


def make_profile(terms, **constants) -> Profile:
    """A Profile from {side: {term: weight}} and optional scoring constants."""
    terms = {side: {_matchable(_fold(t)): float(w) for t, w in terms[side].items()}
             for side in SIDES}
    profile = Profile(terms=terms, **constants)
    profile.patterns = {side: _compile(list(terms[side])) for side in SIDES}
    profile.needles = {side: _needles(list(terms[side])) for side in SIDES}
    return profile


@cache
def _converter():
    import opencc  # a C++ converter: ~0.1 ms for a 3,000-character story

    return opencc.OpenCC("t2s")


# Some reposting sites gloss characters with their pinyin in brackets: 中關(guān)村.
_PINYIN_GLOSS = re.compile(
    r"(?<=[\u3400-\u9fff])\([a-zA-Z\u00e0-\u00fc\u0101-\u01dc\u0300-\u036f]{1,7}\)")


def _matchable(text):
    """Traditional Chinese as simplified (中關村 -> 中关村), so one term finds both."""
    if not _CJK.search(text):
        return text
    return _converter().convert(_PINYIN_GLOSS.sub("", text))


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


def sentences(body) -> list[str]:
    """The body's sentences, folded, in order (paragraphs always end one)."""
    found = []
    for paragraph in (body or "").split("\n"):
        parts = _SENTENCE_END.split(_fold(paragraph))  # text, end mark, text, end mark, ...
        for i in range(0, len(parts), 2):
            sentence = (parts[i] + (parts[i + 1] if i + 1 < len(parts) else "")).strip()
            if sentence:
                found.append(sentence)
    return found


def _atoms(term):
    """A lower-cased term as a sequence of regex pieces, the units of the pattern's trie.

    Chinese: its characters, stray spaces allowed between them. English: its letters,
    each word may take a plural -s/-es ("talents from overseas"), words are separated by
    spaces or hyphens, and no letter or digit may follow the last.
    """
    if _CJK.search(term):
        chars = [re.escape(ch) for ch in term if not ch.isspace()]
        return tuple(piece for ch in chars for piece in (r"\s*", ch))[1:]
    atoms = []
    for word in re.split(r"[\s-]+", term):
        if atoms:
            atoms.append(r"(?:e?s)?[\s-]+")
        atoms += [re.escape(ch) for ch in word]
    return (*atoms, r"(?:e?s)?(?![A-Za-z0-9])")


def _depth(node):
    """Atoms on the longest path below a trie node."""
    return max((1 + _depth(child) for atom, child in node.items() if atom != ""), default=0)


def _trie_pattern(node):
    """The regex of a trie of atoms: shared beginnings are tried once, longest match first.

    An empty named group `t<i>` marks where term i ends, so match.lastgroup names it.
    """
    children = sorted((item for item in node.items() if item[0] != ""),
                      key=lambda item: -_depth(item[1]))  # longer terms first
    branches = [atom + _trie_pattern(child) for atom, child in children]
    if "" in node:
        branches.append(f"(?P<t{node['']}>)")
    return branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"


def _compile(terms):
    """One pattern per side: a trie of its terms, run on lower-cased text.

    Python's re tries every alternative at every position; as a trie, the terms that
    share a beginning share its test, so a position fails after a character or two
    (scoring a real story ~2x faster than with one alternation of whole terms). English
    terms start at a word start; Chinese ones anywhere. Where terms overlap, the longest
    wins.
    """
    groups = []
    for cjk, guard in ((False, "(?<![a-z0-9])"), (True, "")):
        trie = {}
        for i, term in enumerate(terms):
            if bool(_CJK.search(term)) != cjk:
                continue
            node = trie
            for atom in _atoms(term.lower()):
                node = node.setdefault(atom, {})
            node.setdefault("", i)  # the same term twice: the first one counts
        if trie:
            groups.append(guard + _trie_pattern(trie))
    return re.compile("|".join(groups))


def _mentions(profile, side, text, starts):
    """[(sentence index, term)] of one side's terms in a lower-cased, joined text."""
    if not any(needle in text for needle in profile.needles[side]):
        return []
    terms = list(profile.terms[side])
    return [(bisect.bisect_right(starts, match.start()) - 1, terms[int(match.lastgroup[1:])])
            for match in profile.patterns[side].finditer(text)]


def _joined(parts):
    """The parts as one lower-cased, simplified text, and where each part starts in it."""
    starts, pos = [], 0
    converted = [_matchable(part).lower() for part in parts]
    for part in converted:
        starts.append(pos)
        pos += len(part) + 1
    return "\n".join(converted), starts


def _ties(profile, title_found, body_found):
    """Every tie between the sides: (strength, kind, place mention, talent mention).

    A mention is (where, term): where is "title" or the body's sentence index.
    """
    weight = profile.terms
    ties = []

    def tie(strength, kind, place, talent):
        ties.append((weight["place"][place[1]] * weight["talent"][talent[1]] * strength,
                     kind, place, talent))

    for place in title_found["place"]:
        for talent in title_found["talent"]:
            tie(profile.title_tie, "title", ("title", place), ("title", talent))
    for side in SIDES:  # the headline's side, the body's other
        for term in title_found[side]:
            for index, found in body_found["talent" if side == "place" else "place"]:
                lead = index < profile.lead_sentences
                kind, strength = (("lead", profile.lead_tie) if lead
                                  else ("headline", profile.headline_tie))
                mentions = (("title", term), (index, found))
                tie(strength, kind, *(mentions if side == "place" else mentions[::-1]))
    for i, place in body_found["place"]:
        for j, talent in body_found["talent"]:
            apart = abs(i - j)
            kind, strength = (("sentence", profile.sentence_tie) if apart == 0
                              else ("near", profile.near_tie) if apart <= profile.window
                              else ("far", profile.far_tie))
            tie(strength, kind, (i, place), (j, talent))
    return ties


def _combine(profile, ties):
    """Noisy-OR of the best close ties that share no mention; (score, best tie).

    One mention of "returnees" near three of "Zhongguancun" is one piece of evidence, so
    each mention serves one tie. A far tie counts only when nothing is close, and alone:
    a long story naming both sides in passing many times still names them in passing.
    """
    used, chosen = set(), []
    for tie in sorted((t for t in ties if t[1] != "far"), key=lambda t: -t[0]):
        if tie[2] in used or tie[3] in used:
            continue
        used.update(tie[2:4])
        chosen.append(tie)
        if len(chosen) == profile.max_ties:
            break
    if chosen:
        miss = 1.0
        for tie in chosen:
            miss *= 1 - min(tie[0], 1.0)
        return 1 - miss, chosen[0]
    far = max(ties, key=lambda t: t[0], default=None)
    return (min(far[0], 1.0), far) if far else (0.0, None)


def score(profile, title: str | None, body: str, lang: str | None,
          seed_similarity: float | None = None) -> Relevance:
    """How much a story ties the profile's place to its talent; relevant at the threshold."""
    # Every term applies whatever `lang` says: English pages name 中关村 and Chinese ones ZGC.
    title = _fold(title)
    parts = sentences(body)
    body_text, starts = _joined(parts)
    title_text, _ = _joined([title])
    title_found, body_found, matched = {}, {}, {"title": []}
    for side in SIDES:
        terms = list(profile.terms[side])
        title_found[side] = sorted({t for _, t in _mentions(profile, side, title_text, [0])},
                                   key=terms.index)
        body_found[side] = _mentions(profile, side, body_text, starts)
        matched[side] = sorted(set(title_found[side]) | {t for _, t in body_found[side]},
                               key=terms.index)
        matched["title"] += title_found[side]
    value, best = _combine(profile, _ties(profile, title_found, body_found))
    if seed_similarity:  # a story like the seed is on topic as far as it is like it
        value = 1 - (1 - value) * (1 - min(1.0, profile.seed_weight * seed_similarity))
    value = round(value, 4)
    relevant = value >= profile.threshold
    evidence = ""
    if best is not None:
        where = sorted({m[0] for m in best[2:4] if m[0] != "title"})
        shown = [title] if best[1] in ("title", "lead", "headline") else []
        shown += [parts[i] for i in where]
        evidence = " … ".join(shown)
    return Relevance(score=value, is_relevant=relevant, matched=matched,
                     review=not relevant and value >= profile.review_floor,
                     evidence=evidence)
