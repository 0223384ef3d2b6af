"""What `load` returns: `Dataset` for images, `PointSet` for generated 2-D points."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np


@dataclass(frozen=True, eq=False, repr=False)
class Dataset:
    """One split of an image dataset.

    images: uint8 (N, C, H, W). labels: int64 (N,), indices into `classes`.
    source: which copy was read (e.g. the lossy CIFAR-10 JPEG copy or the official batches).
    path: the file or folder read. place: where in the search order it was found.
    checksum: "verified" (matches a published md5), "unverified" (no published md5 to compare
    with), or "mismatch" (only with verify=False). checksum_detail says how it was decided.
    """

    name: str
    split: str
    images: np.ndarray
    labels: np.ndarray
    classes: tuple[str, ...]
    source: str
    path: Path | None
    place: str
    checksum: str
    checksum_detail: str = ""
    notes: tuple[str, ...] = field(default=())

    def __len__(self) -> int:
        return len(self.labels)

    def counts(self) -> np.ndarray:
        """Number of examples per class, shape (len(classes),)."""
        return np.bincount(self.labels, minlength=len(self.classes))

    def describe(self) -> str:
        """One line for a report: what was loaded, from which copy, checksum state."""
        n, c, h, w = self.images.shape
        return (f"{self.name} {self.split}: {n} images {c}x{h}x{w}, {len(self.classes)} classes; "
                f"source: {self.source}; from {self.path} ({self.place}); "
                f"checksum {self.checksum}")

    def __repr__(self) -> str:
        return f"<Dataset {self.describe()}>"


@dataclass(frozen=True, eq=False, repr=False)
class PointSet:
    """One split of a generated 2-D dataset (toy2d).

    X: float64 (N, 2) coordinates. y: int64 (N,) class indices, 1 for the playground's
    positive (+1) points and 0 for its negative (-1) ones; `y_signed` gives the ±1 form.
    params: the generator settings, enough to generate the same points again.
    """

    name: str
    split: str
    X: np.ndarray
    y: np.ndarray
    classes: tuple[str, ...]
    source: str
    params: dict

    def __len__(self) -> int:
        return len(self.y)

    @property
    def y_signed(self) -> np.ndarray:
        """Labels as -1/+1, shape (N,) int64."""
        return 2 * self.y - 1

    def counts(self) -> np.ndarray:
        """Number of points per class, shape (2,)."""
        return np.bincount(self.y, minlength=len(self.classes))

    def describe(self) -> str:
        """One line for a report."""
        settings = ", ".join(f"{k}={v}" for k, v in self.params.items())
        return f"{self.name} {self.split}: {len(self)} points ({settings})"

    def __repr__(self) -> str:
        return f"<PointSet {self.describe()}>"
