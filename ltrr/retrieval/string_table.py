"""StringTable: a sorted set of strings packed into one UTF-8 buffer, for compact exact lookup.

Indexes over the full catalog hold hundreds of thousands of short strings (query keys, entity ids, tokens).
As Python objects each costs ~70 bytes plus a dict slot; packed, each costs its UTF-8 bytes plus an 8-byte
offset, and lookup is a binary search (UTF-8 byte order is code-point order, so Python's string order holds).

    >>> table = StringTable.of(["night drive", "glass harbour", "night drive"])
    >>> len(table), table[0], table.find("night drive"), table.find("nope")
    (2, 'glass harbour', 1, -1)
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path

import numpy as np


class StringTable:
    """Distinct strings in sorted order; `find` gives a string's position (-1 when absent)."""

    def __init__(self, data: np.ndarray, offsets: np.ndarray) -> None:
        # The UTF-8 bytes of every string, concatenated in order, held once as bytes (`find` compares slices of
        # it: no decoding) and seen as a read-only uint8 array without a copy.
        self._blob = data.tobytes()
        self.data = np.frombuffer(self._blob, dtype=np.uint8)
        self.offsets = offsets  # int64, len(self) + 1 boundaries into `data`

    @classmethod
    def of(cls, strings: Iterable[str]) -> StringTable:
        """The sorted distinct `strings`."""
        return cls.of_sorted(sorted(set(strings)))

    @classmethod
    def of_sorted(cls, strings: list[str]) -> StringTable:
        """Pack strings that are already sorted and distinct (not checked: `find` needs the order)."""
        encoded = [text.encode("utf-8") for text in strings]
        offsets = np.zeros(len(encoded) + 1, dtype=np.int64)
        np.cumsum([len(item) for item in encoded], out=offsets[1:])
        return cls(np.frombuffer(b"".join(encoded), dtype=np.uint8), offsets)

    def __len__(self) -> int:
        return len(self.offsets) - 1

    def __getitem__(self, index: int) -> str:
        start, end = self.offsets[index], self.offsets[index + 1]
        return self._blob[start:end].decode("utf-8")

    def take(self, indices: Iterable[int]) -> list[str]:
        """The strings at `indices`, in their order: one gather of the offsets for all of them (indexing one at a
        time reads two numpy scalars per string)."""
        rows = np.fromiter(indices, dtype=np.int64)
        blob = self._blob
        return [blob[start:end].decode("utf-8")
                for start, end in zip(self.offsets[rows].tolist(), self.offsets[rows + 1].tolist())]

    def __iter__(self) -> Iterator[str]:
        blob = self._blob
        bounds = self.offsets.tolist()
        for start, end in zip(bounds[:-1], bounds[1:]):
            yield blob[start:end].decode("utf-8")

    def find(self, text: str) -> int:
        """The position of `text`, or -1 when it is not in the table."""
        key, blob, offsets = text.encode("utf-8"), self._blob, self.offsets
        low, high = 0, len(offsets) - 1
        while low < high:  # bisect_left over the byte strings: UTF-8 byte order is code-point order
            middle = (low + high) >> 1
            if blob[offsets[middle]:offsets[middle + 1]] < key:
                low = middle + 1
            else:
                high = middle
        return low if low < len(offsets) - 1 and blob[offsets[low]:offsets[low + 1]] == key else -1

    @property
    def nbytes(self) -> int:
        return int(self.data.nbytes + self.offsets.nbytes)

    def save(self, directory: Path, name: str) -> None:
        np.save(directory / f"{name}.data.npy", self.data, allow_pickle=False)
        np.save(directory / f"{name}.offsets.npy", self.offsets, allow_pickle=False)

    @classmethod
    def load(cls, directory: Path, name: str) -> StringTable:
        data = np.load(directory / f"{name}.data.npy", allow_pickle=False)
        offsets = np.load(directory / f"{name}.offsets.npy", allow_pickle=False)
        if offsets.ndim != 1 or len(offsets) == 0 or offsets[-1] != len(data):
            raise ValueError(f"{directory / name}: string table offsets do not match its data; "
                             "the saved files are damaged, save the model again")
        return cls(data, offsets)
