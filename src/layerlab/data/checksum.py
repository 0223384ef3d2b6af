"""md5 checksums: of a file, of a gzip file's uncompressed content, and of an image tree.

A file is accepted when its own md5 is a published one, or when its uncompressed content has
the published content md5: repackagers (Debian's Fashion-MNIST, for one) rewrite gzip headers,
which changes the file's md5 but not a single data byte.
"""

from __future__ import annotations

import gzip
import hashlib
import zlib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from layerlab.data.registry import RemoteFile

CHUNK = 1 << 20
GZIP_MAGIC = b"\x1f\x8b"


def md5_bytes(data: bytes) -> str:
    """Hex md5 of `data`."""
    return hashlib.md5(data, usedforsecurity=False).hexdigest()


def md5_file(path: Path) -> str:
    """Hex md5 of the file at `path`, read in 1 MiB chunks."""
    h = hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as f:
        while chunk := f.read(CHUNK):
            h.update(chunk)
    return h.hexdigest()


def is_gzip(path: Path) -> bool:
    """True when the file starts with the gzip magic bytes (whatever its name)."""
    with open(path, "rb") as f:
        return f.read(2) == GZIP_MAGIC


def md5_content(path: Path) -> str:
    """Hex md5 of the uncompressed content of a gzip file (of the file itself if not gzip)."""
    if not is_gzip(path):
        return md5_file(path)
    h = hashlib.md5(usedforsecurity=False)
    with gzip.open(path, "rb") as f:
        while chunk := f.read(CHUNK):
            h.update(chunk)
    return h.hexdigest()


def tree_md5(entries: Iterable[tuple[str, str]]) -> str:
    """Digest of an image tree from (relative path "class/file", file md5) pairs.

    The md5 of the lines "path<TAB>md5<LF>" in sorted path order, so a folder and an archive
    holding the same files give the same digest.
    """
    lines = "".join(f"{p}\t{m}\n" for p, m in sorted(entries))
    return md5_bytes(lines.encode())


@dataclass(frozen=True)
class Check:
    """The outcome of checking one file: ok or not, how, and the md5s involved."""

    ok: bool
    how: str
    got: str
    expected: str

    def line(self, label: str) -> str:
        """One human line, e.g. "train-images-idx3-ubyte.gz: ok (file md5)"."""
        if self.ok:
            return f"{label}: ok ({self.how})"
        return f"{label}: MISMATCH ({self.how} {self.got}, expected {self.expected})"


def check_file(path: Path, remote: RemoteFile) -> Check:
    """Check a file on disk against its published md5s, falling back to the content md5."""
    got = md5_file(path)
    if got in remote.md5:
        return Check(True, "file md5", got, " or ".join(remote.md5))
    if remote.content_md5 is not None:
        try:
            content = md5_content(path)
        except (OSError, EOFError, zlib.error) as err:
            return Check(False, f"damaged gzip ({err}); file md5", got, " or ".join(remote.md5))
        if content == remote.content_md5:
            how = "content md5; the file differs from the published one only in its wrapping"
            return Check(True, how, content, remote.content_md5)
        return Check(False, "content md5", content, remote.content_md5)
    return Check(False, "file md5", got, " or ".join(remote.md5))


def check_content(data_md5: str, remote: RemoteFile) -> Check:
    """Check the md5 of already uncompressed bytes against a file's published content md5."""
    expected = remote.content_md5 or " or ".join(remote.md5)
    ok = data_md5 == remote.content_md5 or data_md5 in remote.md5
    return Check(ok, "content md5", data_md5, expected)
