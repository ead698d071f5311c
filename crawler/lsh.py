"""MinHash signatures and LSH tables for dedup: numpy only, deterministic across processes."""

import numpy as np

FRAG_BINS = 128  # signature values kept in memory per article to estimate Jaccard
# Slots waiting in the tail before a merge: the tail is then 1 MB at 128 bands (what an
# add moves at most), and a merge into 100k articles' keys takes ~0.1 s, so ~0.1 ms per
# added article.
TAIL_SLOTS = 1024

_S33 = np.uint64(33)
_C1 = np.uint64(0xFF51AFD7ED558CCD)
_C2 = np.uint64(0xC4CEB9FE1A85EC53)
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_LOW32 = np.uint64(0xFFFFFFFF)
_PRIME = np.uint64(1_000_003)
_SHIFT32 = np.uint64(32)
_SHIFT16 = np.uint64(16)


def _fmix64(h):
    """MurmurHash3's 64-bit finalizer: spreads every input bit over the whole word."""
    # uint64 arrays wrap silently on overflow, which is what hashing wants
    h = h ^ (h >> _S33)
    h = h * _C1
    h = h ^ (h >> _S33)
    h = h * _C2
    return h ^ (h >> _S33)


def shingle_hashes(norm, k):
    """64-bit hashes of every k-character shingle of a text (a shorter text is one shingle)."""
    codes = np.frombuffer(norm.encode("utf-32-le"), dtype=np.uint32).astype(np.uint64)
    if codes.size == 0:
        return codes
    k = min(k, codes.size)
    n = codes.size - k + 1
    h = codes[:n].copy()
    for j in range(1, k):  # a polynomial hash, not Python's hash(), which is salted per process
        h = h * _PRIME + codes[j : j + n]
    return _fmix64(h)


def minhash(norm, k, bins):
    """One-permutation MinHash with rotation densification: `bins` uint16 values, or None.

    One hash per shingle, bucketed by its top 32 bits (scaled to 0..bins-1), the minimum
    of the low bits kept per bucket: about as good an estimate of Jaccard as `bins`
    separate permutations, at the cost of one.
    """
    hashes = shingle_hashes(norm, k)
    if hashes.size == 0:
        return None
    which = (((hashes >> _SHIFT32) * np.uint64(bins)) >> _SHIFT32).astype(np.intp)
    sig = np.full(bins, 0xFFFFFFFF, dtype=np.uint32)
    np.minimum.at(sig, which, (hashes & _LOW32).astype(np.uint32))
    filled = np.zeros(bins, dtype=bool)
    filled[which] = True
    if not filled.all():  # short texts: borrow from the next filled bin, marked by distance
        pos = np.flatnonzero(filled)
        idx = np.arange(bins)
        nxt = pos[np.searchsorted(pos, idx) % pos.size]
        dist = ((nxt - idx) % bins).astype(np.uint64)
        mixed = _fmix64(sig[nxt].astype(np.uint64) + dist * _GOLDEN)
        sig = np.where(filled, sig, (mixed & _LOW32).astype(np.uint32))
    # 16 bits per bin halve storage; unequal minima still differ with p = 1 - 1/65536
    return (sig & 0xFFFF).astype(np.uint16)


def band_keys(sigs, bands, rows):
    """One uint32 key per LSH band of each signature row: shape (n, bands).

    A band (up to 3 values of 16 bits) and its number pack exactly into 64 bits; one
    multiplicative hash folds that to 32. A rare false collision only adds a candidate
    that the Jaccard estimate then drops.
    """
    if rows > 3:
        raise ValueError("band_keys packs at most 3 rows of 16 bits")
    part = sigs[:, : bands * rows].astype(np.uint64).reshape(len(sigs), bands, rows)
    key = np.broadcast_to(np.arange(1, bands + 1, dtype=np.uint64), part.shape[:2])
    for r in range(rows):
        key = (key << _SHIFT16) | part[:, :, r]
    return ((key * _GOLDEN) >> _SHIFT32).astype(np.uint32)


def _merged(big, new):
    """Two sorted arrays as one: the newcomers inserted in place, linear, no full re-sort."""
    return np.insert(big, np.searchsorted(big, new), new)


class LshTable:
    """The LSH index of one language: slots of articles and their sorted band keys.

    Band keys live in a sorted uint64 array of (key << 32 | slot). New slots go to a
    second, small sorted array (the tail), merged into the big one in bulk, so adding one
    article moves a few hundred kB at most, not the whole index.
    """

    def __init__(self, bands, rows):
        self.bands, self.rows = bands, rows
        self.size = 0
        self.ids = np.zeros(0, dtype=np.int64)
        self.lengths = np.zeros(0, dtype=np.int32)  # normalized body lengths
        self.frag = np.zeros((0, FRAG_BINS), dtype=np.uint16)
        self.alive = np.zeros(0, dtype=bool)
        self.entries = np.zeros(0, dtype=np.uint64)
        self.tail = np.zeros(0, dtype=np.uint64)  # entries of slots not merged yet
        self.tail_slots = 0
        self.pending = []  # (slots, sigs) whose band keys are not computed yet

    def add(self, ids, lengths, sigs):
        """Give rows of (article id, normalized length, signature) new slots; return them."""
        n = len(ids)
        slots = np.arange(self.size, self.size + n)
        self._grow(self.size + n)
        self.ids[slots] = ids
        self.lengths[slots] = lengths
        self.frag[slots] = sigs[:, :FRAG_BINS]
        self.alive[slots] = True
        self.size += n
        self.pending.append((slots, sigs))
        return slots

    def kill(self, slot):
        """Take a slot out of every future answer (its keys stay until they are harmless)."""
        self.alive[slot] = False

    def _grow(self, need):
        """Double the slot arrays when full: adding one article is amortised O(1)."""
        if need <= len(self.ids):
            return
        cap = max(need, 2 * len(self.ids), 256)
        for name in ("ids", "lengths", "frag", "alive"):
            old = getattr(self, name)
            new = np.zeros((cap, *old.shape[1:]), dtype=old.dtype)
            new[: len(old)] = old
            setattr(self, name, new)

    def flush(self, merge=False):
        """Compute the band keys of pending slots; merge when asked or the tail is large."""
        if not self.pending:
            return
        slots = np.concatenate([s for s, _ in self.pending])
        keys = band_keys(np.concatenate([g for _, g in self.pending]), self.bands, self.rows)
        self.pending = []
        entries = (keys.astype(np.uint64) << _SHIFT32) | slots.astype(np.uint64)[:, None]
        self.tail = _merged(self.tail, np.sort(entries.ravel()))
        self.tail_slots += len(slots)
        if merge or self.tail_slots > TAIL_SLOTS:
            self.entries = _merged(self.entries, self.tail)
            self.tail, self.tail_slots = np.zeros(0, dtype=np.uint64), 0

    def candidates(self, sig):
        """Live slots sharing at least one band with a signature."""
        self.flush()
        qkeys = band_keys(sig[None, :], self.bands, self.rows)[0].astype(np.uint64) << _SHIFT32
        found = []
        for entries in (self.entries, self.tail):
            lo = np.searchsorted(entries, qkeys, side="left")
            hi = np.searchsorted(entries, qkeys | _LOW32, side="right")
            hit = hi > lo  # most bands of most signatures meet nothing
            found += [entries[a:b] & _LOW32
                      for a, b in zip(lo[hit].tolist(), hi[hit].tolist(), strict=True)]
        if not found:
            return np.zeros(0, dtype=np.intp)
        found = np.concatenate(found).astype(np.intp)
        if found.size < 256:
            found = np.unique(found)
            return found[self.alive[found]]
        marks = np.zeros(self.size, dtype=bool)  # a bitmap beats sorting many candidates
        marks[found] = True
        return np.flatnonzero(marks & self.alive[: self.size])

    def estimate(self, slots, sig):
        """Estimated Jaccard similarity of each slot's article to a signature."""
        same = self.frag[slots] == sig[:FRAG_BINS]
        return np.count_nonzero(same, axis=1) / FRAG_BINS

    def nbytes(self):
        """Memory held by the arrays (the per-article cost at scale)."""
        arrays = (self.ids, self.lengths, self.frag, self.alive, self.entries)
        return sum(a.nbytes for a in arrays)
