"""Real datasets, offline-first and checksummed, behind one call: `load(name, split, root)`.

    from layerlab.data import load, transforms
    train = load("cifar10", "train")          # Dataset: images uint8 (N, C, H, W), labels int64
    data = transforms.solver_data(train, load("cifar10", "test"), val=1000)

See docs/data.md for the datasets, the search order, fetching and the command line.
"""

from layerlab.data.dataset import Dataset, PointSet
from layerlab.data.errors import (
    ChecksumError,
    DataError,
    DataNotFoundError,
    FetchError,
    FormatError,
)
from layerlab.data.fetch import fetch
from layerlab.data.loader import load
from layerlab.data.registry import known_names

__all__ = [
    "ChecksumError",
    "DataError",
    "DataNotFoundError",
    "Dataset",
    "FetchError",
    "FormatError",
    "PointSet",
    "fetch",
    "known_names",
    "load",
]
