"""Binary dataset formats: IDX files (MNIST, Fashion-MNIST) and CIFAR-10 python batches.

Readers take bytes and return arrays; they check every size the header promises, so a
truncated or foreign file fails with a message naming it instead of producing garbage.
"""

from __future__ import annotations

import gzip
import pickle
import tarfile
import zlib
from pathlib import Path

import numpy as np

from layerlab.data.errors import FormatError

# IDX type codes (third byte of the magic number) -> big-endian dtype.
IDX_DTYPES = {
    0x08: np.dtype(np.uint8),
    0x09: np.dtype(np.int8),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}


def read_maybe_gzip(path: Path) -> bytes:
    """The bytes of `path`, gunzipped when it is a gzip file (decided by content, not name)."""
    raw = path.read_bytes()
    if raw[:2] != b"\x1f\x8b":
        return raw
    try:
        return gzip.decompress(raw)
    except (EOFError, OSError, zlib.error) as err:
        raise FormatError(
            f"{path}: damaged gzip file ({err}); the download was probably cut short. "
            "Delete it and fetch it again."
        ) from None


def parse_idx(data: bytes, name: str) -> np.ndarray:
    """Parse IDX bytes into an array of the shape and dtype the header declares.

    The header is a magic number 0x0000TTDD (TT type code, DD number of dimensions) followed
    by DD big-endian int32 sizes. Images (idx3) come back (N, H, W), labels (idx1) (N,).
    """
    if len(data) < 4 or data[:2] != b"\x00\x00" or data[2] not in IDX_DTYPES:
        magic = data[:4].hex() if len(data) >= 4 else f"only {len(data)} bytes"
        raise FormatError(
            f"{name}: not an IDX file (magic number {magic}; expected 00000801 for labels "
            "or 00000803 for images). Is it the right file, and is it gzipped twice?"
        )
    dtype, ndim = IDX_DTYPES[data[2]], data[3]
    header = 4 + 4 * ndim
    if len(data) < header:
        raise FormatError(f"{name}: truncated IDX header ({len(data)} bytes)")
    shape = tuple(int(d) for d in np.frombuffer(data, ">i4", count=ndim, offset=4))
    expected = int(np.prod(shape)) * dtype.itemsize
    if len(data) - header != expected:
        raise FormatError(
            f"{name}: header promises shape {shape} ({expected} data bytes) but the file has "
            f"{len(data) - header}; it is truncated or damaged. Delete it and fetch it again."
        )
    return np.frombuffer(data, dtype, offset=header).reshape(shape).astype(dtype.newbyteorder("="))


def idx_pair(images: np.ndarray, labels: np.ndarray, names: tuple[str, str],
             num_classes: int) -> tuple[np.ndarray, np.ndarray]:
    """Check an IDX image/label pair and return (uint8 (N, 1, H, W), int64 (N,))."""
    if images.ndim != 3 or images.dtype != np.uint8:
        raise FormatError(f"{names[0]}: expected uint8 images (N, H, W), got "
                          f"{images.dtype} {images.shape}")
    if labels.ndim != 1:
        raise FormatError(f"{names[1]}: expected labels (N,), got shape {labels.shape}")
    if len(images) != len(labels):
        raise FormatError(
            f"{names[0]} has {len(images)} images but {names[1]} has {len(labels)} labels; "
            "the two files come from different sets or one is damaged"
        )
    labels = labels.astype(np.int64)
    if len(labels) and (labels.min() < 0 or labels.max() >= num_classes):
        raise FormatError(f"{names[1]}: labels outside 0..{num_classes - 1}")
    return images[:, None, :, :], labels


def parse_cifar_batch(data: bytes, name: str) -> tuple[np.ndarray, np.ndarray]:
    """Unpickle one CIFAR-10 python batch: (uint8 (N, 3, 32, 32), int64 (N,)).

    Only call this on bytes whose md5 was checked: unpickling runs code from the file.
    """
    try:
        batch = pickle.loads(data, encoding="bytes")
        pixels, labels = batch[b"data"], batch[b"labels"]
    except (pickle.UnpicklingError, EOFError, KeyError, TypeError, ValueError) as err:
        raise FormatError(f"{name}: not a CIFAR-10 python batch ({err!r})") from None
    pixels = np.asarray(pixels, dtype=np.uint8)
    labels = np.asarray(labels, dtype=np.int64)
    if pixels.ndim != 2 or pixels.shape[1] != 3072 or len(pixels) != len(labels):
        raise FormatError(f"{name}: expected data (N, 3072) and N labels, got "
                          f"{pixels.shape} and {labels.shape}")
    return pixels.reshape(-1, 3, 32, 32), labels


def tar_members(path: Path, names: set[str]) -> dict[str, bytes]:
    """Bytes of the members of a tarball whose base names are in `names` (one streaming pass)."""
    out: dict[str, bytes] = {}
    try:
        with tarfile.open(path, "r|*") as tar:
            for member in tar:
                base = member.name.rsplit("/", 1)[-1]
                if member.isfile() and base in names:
                    out[base] = tar.extractfile(member).read()
    except (tarfile.TarError, EOFError, OSError, zlib.error) as err:
        raise FormatError(
            f"{path}: damaged tarball ({err}); delete it and fetch it again"
        ) from None
    missing = names - out.keys()
    if missing:
        raise FormatError(f"{path}: members {sorted(missing)} are missing from the tarball")
    return out
