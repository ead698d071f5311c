"""Near-duplicate detection of article bodies in any language: MinHash LSH, then rapidfuzz.

A check never compares full bodies against the whole store. Each body gets a MinHash
signature over character shingles of its normalized text (crawler.lsh); LSH bands pick
the few stored articles that share a band, the signatures rank them by estimated
Jaccard, and only the best few are verified on the full text: rapidfuzz `ratio` for a
copy of the whole story, and containment for an excerpt (a republisher's first half, a
lead with "read more", the story under an added intro), which `ratio` scores ~0.6.
Character shingles and `ratio` need no word segmentation, so Chinese works as English.
"""

import hashlib
import re
import struct
import unicodedata
from collections import Counter
from dataclasses import dataclass

import numpy as np
from rapidfuzz import fuzz

from crawler.lsh import FRAG_BINS, LshTable, minhash, shingle_hashes

# CJK has no spaces between words: spaces next to it are layout, not content.
_CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uac00-\ud7af"
_NON_WORD = re.compile(r"[\W_]+")
_SPACE_BY_CJK = re.compile(rf" (?:(?=[{_CJK}])|(?<=[{_CJK}] ))")
_YEAR = re.compile(r"(?<!\d)(19[5-9]\d|20\d\d)(?!\d)")

_SCHEME = 3
_HEADER = struct.Struct("<BBHI")  # scheme, shingle size, bins, normalized length


def normalize(text) -> str:
    """NFKC, lower case, punctuation and whitespace folded; no spaces around CJK."""
    text = _NON_WORD.sub(" ", text or "")
    # Folding punctuation first leaves most text NFKC already, and NFKC is the slow step.
    if not unicodedata.is_normalized("NFKC", text):
        text = _NON_WORD.sub(" ", unicodedata.normalize("NFKC", text))
    return _SPACE_BY_CJK.sub("", text.lower()).strip()


def body_hash(text) -> str:
    """SHA-1 of the normalized text: equal for bodies that differ only in layout."""
    return hash_normalized(normalize(text))


def hash_normalized(norm) -> str:
    """body_hash() of a text that is normalize()d already."""
    return hashlib.sha1(norm.encode("utf-8")).hexdigest()


def similarity(a, b) -> float:
    """rapidfuzz ratio of two bodies' normalized texts, 0..1."""
    return fuzz.ratio(normalize(a), normalize(b), processor=None, score_cutoff=0) / 100


CONTAINMENT_SHINGLE = 10  # long enough that stories on one topic share few (fixtures: <= 0.16)


def _shingle_set(norm):
    """The distinct shingle hashes of a normalized text, sorted: what containment compares."""
    return np.unique(shingle_hashes(norm, CONTAINMENT_SHINGLE))


def containment(a, b) -> float:
    """How much of the shorter body's text the longer one holds word for word, 0..1."""
    return _contained(_shingle_set(normalize(a)), _shingle_set(normalize(b)))


def _contained(a, b):
    """Share of the smaller shingle set found in the other."""
    small = min(a.size, b.size)
    return np.intersect1d(a, b, assume_unique=True).size / small if small else 0.0


@dataclass
class Match:
    """The stored article a body duplicates, and how similar they are (0..1)."""

    article_id: int
    similarity: float


def _top_years(norm):
    """The most-mentioned years of a text: a new edition of an event names a new one."""
    counts = Counter(_YEAR.findall(norm))
    if not counts:
        return set()
    most = max(counts.values())
    return {year for year, n in counts.items() if n == most}


def _years_within(a, b):
    """An excerpt names no year its story does not: else it is another year's edition.

    (The most-mentioned year of a first half need not be the whole story's.)
    """
    short, long_ = sorted((a, b), key=len)
    return set(_YEAR.findall(short)) <= set(_YEAR.findall(long_))


class DedupIndex:
    """Finds the stored article a body nearly duplicates, per language, in milliseconds.

    threshold: rapidfuzz ratio (0..1) of normalized bodies at or above which a body is a
    duplicate. fetch_bodies(ids) -> {id: body} supplies the few candidates' bodies from
    the store; without it the index keeps every added body in memory. The LSH defaults
    (7-character shingles, 384 bins, 128 bands of 3) miss a copy whose shingle Jaccard is
    0.38 with p = 0.0007 (0.35: 0.004); copies at ratio >= 0.7 measured 0.38 and up,
    while same-topic stories share 0.02-0.12 and become candidates 0.1-20 % of the time.

    An excerpt is a copy too: when the shorter body has at least `min_excerpt` normalized
    characters and the longer holds at least `threshold` of its 10-character shingles
    (copies in the fixtures: 0.73-1.0; other stories on the same topic: 0.16 at most).
    Excerpts of half a story or more share a Jaccard of ~0.5 with it, so LSH finds them
    as surely as whole copies.
    """

    def __init__(
        self,
        threshold: float = 0.7,
        *,
        fetch_bodies=None,
        jaccard_floor: float = 0.25,
        max_verify: int = 8,
        shingle: int = 7,
        bins: int = 384,
        bands: int = 128,
        rows: int = 3,
        year_guard: bool = True,
        min_excerpt: int = 250,
    ):
        if bands * rows > bins or bins < FRAG_BINS or not 1 <= rows <= 3:
            raise ValueError(f"need bins >= {FRAG_BINS} and >= bands * rows, rows 1..3")
        self.threshold = threshold
        self.fetch_bodies = fetch_bodies
        self.jaccard_floor = jaccard_floor  # estimated Jaccard below which ratio is not tried
        self.max_verify = max_verify  # full-text comparisons per check, best estimates first
        self.shingle, self.bins, self.bands, self.rows = shingle, bins, bands, rows
        self.year_guard = year_guard
        self.min_excerpt = min_excerpt
        self._tables = {}  # lang -> LshTable
        self._where = {}  # article id -> (lang, slot)
        self._bodies = {}  # article id -> normalized body, only without fetch_bodies

    def __len__(self):
        return len(self._where)

    def __contains__(self, article_id):
        return article_id in self._where

    def signature(self, body: str) -> bytes:
        """The persistable signature of a body (776 bytes by default), b"" for an empty one."""
        return self.sign_normalized(normalize(body))

    def sign_normalized(self, norm: str) -> bytes:
        """signature() of a body that is normalize()d already."""
        sig = minhash(norm, self.shingle, self.bins)
        if sig is None:
            return b""
        header = _HEADER.pack(_SCHEME, self.shingle, self.bins, len(norm))
        return header + sig.astype("<u2").tobytes()

    def _decode(self, signature):
        """(normalized length, signature array) of a stored signature, or None if stale."""
        if not signature or len(signature) != _HEADER.size + 2 * self.bins:
            return None
        scheme, shingle, bins, length = _HEADER.unpack_from(signature)
        if (scheme, shingle, bins) != (_SCHEME, self.shingle, self.bins):
            return None
        return length, np.frombuffer(signature, dtype="<u2", offset=_HEADER.size)

    def _table(self, lang):
        return self._tables.setdefault(lang or "", LshTable(self.bands, self.rows))

    def add(self, article_id: int, lang: str, body: str | None, signature=None) -> None:
        """Index one article; a valid stored signature spares hashing the body again."""
        decoded = self._decode(signature)
        keep_body = self.fetch_bodies is None or decoded is None
        norm = normalize(body) if body is not None and keep_body else None
        if decoded is None:
            sig = minhash(norm, self.shingle, self.bins) if norm else None
            if sig is None:
                return
            decoded = len(norm), sig
        self.remove(article_id)
        length, sig = decoded
        slot = self._table(lang).add([article_id], [length], sig[None, :])[0]
        self._where[article_id] = (lang or "", int(slot))
        if self.fetch_bodies is None and norm:
            self._bodies[article_id] = norm

    def load(self, rows) -> list[int]:
        """Bulk-index stored (article_id, lang, signature) rows; return the ids of stale ones."""
        stale, groups = [], {}
        for article_id, lang, signature in rows:
            decoded = self._decode(signature)
            if decoded is None:
                stale.append(article_id)
                continue
            self.remove(article_id)
            groups.setdefault(lang or "", []).append((article_id, *decoded))
        for lang, group in groups.items():
            ids, lengths, sigs = zip(*group, strict=True)
            table = self._table(lang)
            slots = table.add(ids, lengths, np.stack(sigs))
            # a bulk load sorts its keys now, not in the first check; a few rows (another
            # process's latest articles) wait in the tail, as add() does
            table.flush(merge=len(ids) >= 256)
            self._where.update((i, (lang, int(s))) for i, s in zip(ids, slots, strict=True))
        return stale

    def remove(self, article_id: int) -> None:
        """Forget an article (re-pointed, deleted, re-extracted); unknown ids are ignored."""
        where = self._where.pop(article_id, None)
        if where is not None:
            self._tables[where[0]].kill(where[1])
        self._bodies.pop(article_id, None)

    def find(self, lang: str, body: str, exclude=(), signature=None) -> Match | None:
        """The most similar stored article of `lang` at or above the threshold, else None.

        With the body's valid `signature`, the body is normalized only when some stored
        article is a candidate, which most new stories never meet.
        """
        table = self._tables.get(lang or "")
        decoded = self._decode(signature)
        norm = None
        if decoded is None:
            norm = normalize(body)
            decoded = (len(norm), minhash(norm, self.shingle, self.bins)) if norm else None
        if table is None or decoded is None:
            return None
        ids = self._ranked(table, decoded[1], decoded[0], exclude)
        if not ids:
            return None
        return self._verify(norm if norm is not None else normalize(body), ids)

    def _ranked(self, table, sig, length, exclude):
        """Candidate ids, most promising first, that could still be a copy or an excerpt."""
        slots = table.candidates(sig)
        lengths = table.lengths[slots]
        est = table.estimate(slots, sig)
        shorter = np.minimum(lengths, length)
        # ratio can never exceed 2*min/(a+b): lengths that cannot reach the threshold go
        whole = (2 * shorter >= self.threshold * (lengths + length)) & (est >= self.jaccard_floor)
        # Jaccard J of an excerpt in a story: contained share = J (a + b) / ((1 + J) min)
        share = est * (lengths + length) / ((1 + est) * np.maximum(shorter, 1))
        part = (shorter >= self.min_excerpt) & (share >= self.threshold * 0.75)
        keep = whole | part
        order = np.argsort(-np.maximum(est, share)[keep], kind="stable")
        exclude = set(exclude)
        ids = [i for i in table.ids[slots[keep][order]].tolist() if i not in exclude]
        return ids[: self.max_verify]

    def _verify(self, norm, ids):
        """The best candidate whose full-text ratio, or containment, reaches its threshold."""
        if not ids:
            return None
        if self.fetch_bodies is None:
            bodies = {i: self._bodies.get(i) for i in ids}
        else:
            bodies = {i: normalize(b) for i, b in (self.fetch_bodies(ids) or {}).items()}
        years = _top_years(norm) if self.year_guard else set()
        shingles = None
        best = None
        for article_id in ids:
            other = bodies.get(article_id)
            if not other:
                continue
            floor = best.similarity if best else 0
            score = fuzz.ratio(norm, other, processor=None,
                               score_cutoff=max(self.threshold, floor) * 100) / 100
            if score:
                other_years = _top_years(other) if years else set()
                if years and other_years and not years & other_years:
                    continue  # the same template for another year's edition: a new story
            elif min(len(norm), len(other)) >= self.min_excerpt:
                if shingles is None:
                    shingles = _shingle_set(norm)
                share = _contained(shingles, _shingle_set(other))
                if share < max(self.threshold, floor) or not _years_within(norm, other):
                    continue
                score = share
            if not score or (best and score <= best.similarity):
                continue
            best = Match(article_id, round(score, 4))
        return best
