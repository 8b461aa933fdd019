"""A sorted list and a map whose copies share their storage until one side changes it.

Every commit hands the publisher a snapshot of the tenant's waiting lines while the writer goes on
changing its own. A plain copy costs time proportional to the queue (5,000 waiting: a dict and
five lists of 5,000 entries, at every commit). Here the items live in chunks of at most a few
hundred: a copy copies the list of chunk references only, and a change copies just the chunk it
touches if another copy still shares it (copy on write). So a commit costs the same whatever the
queue length, and a snapshot is never changed under a reader's feet.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right, insort
from collections.abc import Iterator
from itertools import accumulate, chain, islice
from typing import Any, Generic, TypeVar

CHUNK = 256
"""Items per chunk before it splits in two (copying a chunk this size is about a microsecond)."""

K = TypeVar("K", bound=tuple[Any, ...])
V = TypeVar("V")


class SortedChunks(Generic[K]):
    """A sorted list of distinct tuples: insert, remove, rank (``bisect_*``), index and
    iteration, each touching one chunk."""

    __slots__ = ("_chunk", "_chunks", "_len", "_maxes", "_offsets", "_owned")

    def __init__(self, *, chunk: int = CHUNK) -> None:
        self._chunk = chunk
        self._chunks: list[list[K]] = []
        self._maxes: list[K] = []
        """The last (largest) item of each chunk: which chunk an item belongs to."""
        self._offsets: list[int] = []
        """How many items the chunks before each one hold (its first item's index)."""
        self._owned: list[bool] = []
        """Whether each chunk is this list's alone (else a change copies it first)."""
        self._len = 0

    def copy(self) -> SortedChunks[K]:
        other: SortedChunks[K] = SortedChunks.__new__(SortedChunks)
        other._chunk = self._chunk
        other._chunks = list(self._chunks)
        other._maxes = list(self._maxes)
        other._offsets = list(self._offsets)
        other._len = self._len
        # Both now share every chunk: whichever changes one first copies it.
        other._owned = [False] * len(self._chunks)
        self._owned = [False] * len(self._chunks)
        return other

    def __len__(self) -> int:
        return self._len

    def __iter__(self) -> Iterator[K]:
        return chain.from_iterable(self._chunks)

    def __getitem__(self, index: int) -> K:
        if index < 0:
            index += self._len
        if not 0 <= index < self._len:
            raise IndexError(index)
        at = bisect_right(self._offsets, index) - 1
        return self._chunks[at][index - self._offsets[at]]

    def head(self, count: int) -> Iterator[K]:
        """The first ``count`` items."""
        return islice(iter(self), count)

    def bisect_left(self, item: K) -> int:
        at = bisect_left(self._maxes, item)
        if at == len(self._chunks):
            return self._len
        return self._offsets[at] + bisect_left(self._chunks[at], item)

    def bisect_right(self, item: K) -> int:
        at = bisect_right(self._maxes, item)
        if at == len(self._chunks):
            return self._len
        return self._offsets[at] + bisect_right(self._chunks[at], item)

    def add(self, item: K) -> None:
        if not self._chunks:
            self._chunks, self._maxes, self._owned = [[item]], [item], [True]
        else:
            at = min(bisect_left(self._maxes, item), len(self._chunks) - 1)
            chunk = self._own(at)
            insort(chunk, item)
            self._maxes[at] = chunk[-1]
            if len(chunk) > 2 * self._chunk:
                half = len(chunk) // 2
                self._chunks[at : at + 1] = [chunk[:half], chunk[half:]]
                self._maxes[at : at + 1] = [chunk[half - 1], chunk[-1]]
                self._owned[at : at + 1] = [True, True]
        self._len += 1
        self._reindex()

    def discard(self, item: K) -> None:
        at = bisect_left(self._maxes, item)
        if at == len(self._chunks):
            return
        index = bisect_left(self._chunks[at], item)
        if index == len(self._chunks[at]) or self._chunks[at][index] != item:
            return
        chunk = self._own(at)
        del chunk[index]
        if chunk:
            self._maxes[at] = chunk[-1]
        else:
            del self._chunks[at], self._maxes[at], self._owned[at]
        self._len -= 1
        self._reindex()

    def _own(self, at: int) -> list[K]:
        if not self._owned[at]:
            self._chunks[at] = list(self._chunks[at])
            self._owned[at] = True
        return self._chunks[at]

    def _reindex(self) -> None:
        # One entry per chunk (n / CHUNK), summed in C: cheap next to the chunk the change
        # touched.
        self._offsets = list(accumulate(map(len, self._chunks), initial=0))[:-1]


BUCKETS = 64


class SharedMap(Generic[V]):
    """A ``str``-keyed map in ``BUCKETS`` buckets by hash: a copy shares the buckets, a change
    copies only the bucket it touches when it is shared."""

    __slots__ = ("_buckets", "_len", "_owned")

    def __init__(self) -> None:
        self._buckets: list[dict[str, V]] = [{} for _ in range(BUCKETS)]
        self._owned = [True] * BUCKETS
        self._len = 0

    def copy(self) -> SharedMap[V]:
        other: SharedMap[V] = SharedMap.__new__(SharedMap)
        other._buckets = list(self._buckets)
        other._owned = [False] * BUCKETS
        self._owned = [False] * BUCKETS
        other._len = self._len
        return other

    def __len__(self) -> int:
        return self._len

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and key in self._buckets[hash(key) % BUCKETS]

    def get(self, key: str) -> V | None:
        return self._buckets[hash(key) % BUCKETS].get(key)

    def __getitem__(self, key: str) -> V:
        return self._buckets[hash(key) % BUCKETS][key]

    def values(self) -> Iterator[V]:
        return chain.from_iterable(bucket.values() for bucket in self._buckets)

    def set(self, key: str, value: V) -> None:
        bucket = self._own(hash(key) % BUCKETS)
        if key not in bucket:
            self._len += 1
        bucket[key] = value

    def pop(self, key: str) -> V | None:
        at = hash(key) % BUCKETS
        if key not in self._buckets[at]:
            return None
        self._len -= 1
        return self._own(at).pop(key)

    def _own(self, at: int) -> dict[str, V]:
        if not self._owned[at]:
            self._buckets[at] = dict(self._buckets[at])
            self._owned[at] = True
        return self._buckets[at]
