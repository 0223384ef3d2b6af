"""The decoded-array cache: decode an image tree once, load the arrays in a fraction of a second.

Entries live in `<user cache>/decoded/<key>.npz` (uncompressed, so loading is a plain read).
The key names the dataset and split and carries a digest of the source's *content* and of the
decoder version: for an archive its md5; for a folder the tree md5 of the split (the md5s of
every image file's bytes, `imagefolder.scan_folder`) and the class list. Sizes and modification
times are never trusted, so an edit that keeps both is still decoded afresh. Entries are
written to a temporary file and moved into place with `os.replace`, so a reader never sees half
an entry.
"""

from __future__ import annotations

import os
import sys
import tempfile
import zipfile
from pathlib import Path

import numpy as np

from layerlab.data.checksum import md5_bytes
from layerlab.data.locate import user_cache

FORMAT_VERSION = 1


def cache_dir() -> Path:
    """Returns the folder of decoded entries, `<user cache>/decoded`."""
    return user_cache() / "decoded"


def make_key(dataset: str, split: str, source_digest: str) -> str:
    """Returns the cache key "<dataset>-<split>-<tag>", the tag a digest of `source_digest`
    (the content digest of the source) and the decoder version."""
    import PIL

    tag = md5_bytes(f"{source_digest}|pillow {PIL.__version__}|v{FORMAT_VERSION}".encode())
    safe = "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in dataset)
    return f"{safe}-{split}-{tag[:16]}"


def load(key: str) -> dict[str, np.ndarray] | None:
    """The arrays cached under `key`, or None (a damaged entry counts as absent)."""
    path = cache_dir() / f"{key}.npz"
    if not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as npz:
            return {k: npz[k] for k in npz.files}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile):
        print(f"layerlab: damaged cache entry {path}; decoding again", file=sys.stderr)
        return None


def store(key: str, arrays: dict[str, np.ndarray]) -> None:
    """Cache `arrays` under `key` (returns None); a cache folder that cannot be written only
    costs speed."""
    path = cache_dir() / f"{key}.npz"
    try:
        save_atomic(path, arrays)
    except OSError as err:
        print(f"layerlab: cannot write the decoded cache {path} ({err}); "
              "loading will decode again next time", file=sys.stderr)


def save_atomic(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """Write `arrays` as an uncompressed .npz at `path` via a temporary file and os.replace
    (returns None; on an error the temporary file is removed and the error raised)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez(f, **arrays)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
