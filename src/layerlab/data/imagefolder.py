"""Image-folder trees `<split>/<class>/<image>`: as a folder, a .tar(.gz) or a .zip.

Classes are the class folder names found under any split folder (train, test, val or the one
asked for), in natural order ("2" before "10"); images within a class are in natural name
order too, so a tree reads the same from a folder and from an archive. Grayscale and 1-bit
images give one channel (1-bit pixels become 0 or 255); colour images give three. Files that
are not images by their extension (README, .DS_Store) are skipped; an image that cannot be
decoded is an error naming the file. `scan_folder` hashes a folder split without decoding it
(the tree md5 that verification and the decoded cache's key are based on).
"""

from __future__ import annotations

import io
import os
import re
import tarfile
import zipfile
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from layerlab.data.checksum import md5_bytes, tree_md5
from layerlab.data.errors import DataError, FormatError

IMAGE_EXTENSIONS = {".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".gif", ".ppm", ".pgm",
                    ".pbm", ".webp"}
ARCHIVE_SUFFIXES = (".tar.gz", ".tgz", ".tar", ".tar.bz2", ".tar.xz", ".zip")
SPLIT_FOLDERS = ("train", "test", "val")
GRAY_MODES = {"1", "L", "LA", "I", "I;16", "I;16B", "I;16L", "F"}


@dataclass(frozen=True)
class Tree:
    """One decoded split: images uint8 (N, C, H, W), labels int64 (N,), classes, tree md5."""

    images: np.ndarray
    labels: np.ndarray
    classes: tuple[str, ...]
    tree_md5: str


def natural_key(text: str) -> list:
    """Sort key that orders digit runs by value: "2.bmp" < "10.bmp"."""
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", text)]


def is_archive(path: Path) -> bool:
    """True when `path` names an archive this module reads."""
    return path.is_file() and path.name.lower().endswith(ARCHIVE_SUFFIXES)


def is_image(name: str) -> bool:
    """Returns True when `name` is an image file by its extension (hidden files are not)."""
    return not name.startswith(".") and os.path.splitext(name)[1].lower() in IMAGE_EXTENSIONS


def _folder_files(source: Path) -> Iterator[tuple[tuple[str, ...], str]]:
    """Yields (path parts relative to `source`, path) of every image file under the folder.

    Plain strings, not Path objects: a scan of 60,000 files is about twice as fast."""
    base = os.fspath(source)
    for dirpath, _, files in os.walk(base):
        rel = () if dirpath == base else tuple(os.path.relpath(dirpath, base).split(os.sep))
        for name in files:
            if is_image(name):
                yield (*rel, name), os.path.join(dirpath, name)


def _read_file(path: str) -> bytes:
    """Returns the bytes of the file at `path` (os.open/os.read: for small images about twice
    as fast as open(), which sets up a buffered reader per file)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        size = os.fstat(fd).st_size
        data = os.read(fd, size + 1)
        if len(data) <= size:
            return data  # the usual case: the whole file in one read
        chunks = [data]
        while chunk := os.read(fd, 1 << 20):  # the file grew since fstat: read to its end
            chunks.append(chunk)
        return b"".join(chunks)
    finally:
        os.close(fd)


def _entries(source: Path) -> Iterator[tuple[tuple[str, ...], Callable[[], bytes]]]:
    """Yields (path parts, read-bytes function) of every image file in a folder or archive."""
    if source.is_dir():
        for parts, path in _folder_files(source):
            yield parts, lambda path=path: _read_file(path)
    elif source.name.lower().endswith(".zip"):
        with zipfile.ZipFile(source) as z:
            for info in z.infolist():
                parts = tuple(info.filename.split("/"))
                if not info.is_dir() and is_image(parts[-1]):
                    yield parts, lambda info=info: z.read(info)
    else:
        with tarfile.open(source, "r|*") as tar:
            for member in tar:
                parts = tuple(p for p in member.name.split("/") if p not in ("", "."))
                if member.isfile() and is_image(parts[-1]):
                    # a streamed member can only be read before the loop moves on
                    yield parts, lambda member=member: tar.extractfile(member).read()


def read_tree(source: Path, split: str, classes: tuple[str, ...] | None = None) -> Tree:
    """Decode the images under `<split>/<class>/` of a folder or archive.

    source: a folder holding `<split>/` or an archive whose members end in
    `<split>/<class>/<image>` (any leading folders are allowed). `classes` fixes the label
    order (class folder names); by default it is the natural order of the folders found.
    Returns a Tree with images (N, C, H, W) uint8 and labels (N,) int64.
    """
    return read_trees(source, (split,), classes)[split]


def read_trees(source: Path, splits: tuple[str, ...],
               classes: tuple[str, ...] | None = None) -> dict[str, Tree]:
    """Decode several splits in one pass over the source (an archive is read once, not per
    split). Returns {split: Tree}; the first split must exist, the others are optional."""
    if source.is_dir():
        _require_split_folder(source, splits[0])
    picked: dict[str, list[tuple[str, str, bytes]]] = {s: [] for s in splits}
    seen_classes: set[str] = set()
    seen_splits: set[str] = set()
    try:
        for parts, read in _entries(source):
            if len(parts) < 3:
                continue
            member_split, cls, name = parts[-3], parts[-2], parts[-1]
            seen_splits.add(member_split)
            if member_split in SPLIT_FOLDERS or member_split in picked:
                seen_classes.add(cls)
            if member_split in picked:
                picked[member_split].append((cls, name, read()))
    except (tarfile.TarError, zipfile.BadZipFile, EOFError, zlib.error) as err:
        raise FormatError(f"{source}: damaged archive ({err}); replace it") from None
    if not picked[splits[0]]:
        raise DataError(
            f"{source}: no images under a {splits[0]!r} folder (split folders seen: "
            f"{', '.join(sorted(seen_splits)) or 'none'}). "
            "Expected <split>/<class>/<image> inside it."
        )
    if classes is None:
        classes = tuple(sorted(seen_classes, key=natural_key))
    return {s: _build(source, s, entries, classes) for s, entries in picked.items() if entries}


def _require_split_folder(source: Path, split: str) -> None:
    """Raise DataError (listing the folders found) when the folder `source` has no `split/`."""
    if not (source / split).is_dir():
        found = sorted(p.name for p in source.iterdir() if p.is_dir())
        raise DataError(
            f"{source} has no {split!r} folder (found folders: {', '.join(found) or 'none'})."
            " An image folder is laid out as <root>/<split>/<class>/<image>."
        )


@dataclass(frozen=True)
class Scan:
    """One split of a folder tree, read and hashed but not decoded.

    tree_md5: as `Tree.tree_md5` (the md5s of the files' bytes). counts: images per class
    folder found in the split. classes: the label order a decode of this split uses (the
    `classes` given, else the class folders of every split folder, in natural order).
    """

    tree_md5: str
    counts: dict[str, int]
    classes: tuple[str, ...]


def scan_folder(source: Path, split: str, classes: tuple[str, ...] | None = None) -> Scan:
    """Hash the image files of `source/<split>/<class>/` exactly as `read_trees` picks them.

    Every file's bytes are read and hashed (content, not sizes or times), nothing is decoded.
    Returns a Scan whose tree_md5 equals the Tree.tree_md5 a decode of the same files gives.
    """
    _require_split_folder(source, split)
    entries: list[tuple[str, str]] = []
    counts: dict[str, int] = {}
    seen: set[str] = set()
    for parts, path in _folder_files(source):
        if len(parts) < 3:
            continue
        member_split, cls = parts[-3], parts[-2]
        if member_split in SPLIT_FOLDERS or member_split == split:
            seen.add(cls)
        if member_split == split:
            entries.append((f"{cls}/{parts[-1]}", md5_bytes(_read_file(path))))
            counts[cls] = counts.get(cls, 0) + 1
    if classes is None:
        classes = tuple(sorted(seen, key=natural_key))
    return Scan(tree_md5(entries), counts, tuple(classes))


def _build(source: Path, split: str, picked: list[tuple[str, str, bytes]],
           classes: tuple[str, ...]) -> Tree:
    """Order, checksum and decode the files of one split."""
    index = {c: i for i, c in enumerate(classes)}
    unknown = sorted({c for c, _, _ in picked} - index.keys())
    if unknown:
        raise DataError(f"{source}: class folders {unknown} are not among {list(classes)}")
    picked.sort(key=lambda e: (index[e[0]], natural_key(e[1])))
    digest = tree_md5((f"{c}/{n}", md5_bytes(b)) for c, n, b in picked)
    arrays = [_decode(b, f"{source}: {split}/{c}/{n}") for c, n, b in picked]
    images = _stack(arrays, [f"{split}/{c}/{n}" for c, n, _ in picked], source)
    labels = np.array([index[c] for c, _, _ in picked], dtype=np.int64)
    return Tree(images, labels, tuple(classes), digest)


def _decode(data: bytes, where: str) -> np.ndarray:
    """One image file's bytes -> uint8 (H, W) for grayscale/1-bit or (H, W, 3) for colour."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data)) as im:
            im.load()
            im = im.convert("L" if im.mode in GRAY_MODES else "RGB")
            return np.asarray(im, dtype=np.uint8)
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as err:
        raise FormatError(
            f"cannot read image {where} ({err}). Replace or remove that file."
        ) from None


def _stack(arrays: list[np.ndarray], names: list[str], source: Path) -> np.ndarray:
    """Stack decoded images into (N, C, H, W); gray images join colour ones as 3 channels."""
    size = arrays[0].shape[:2]
    for a, name in zip(arrays, names, strict=True):
        if a.shape[:2] != size:
            raise FormatError(
                f"{source}: {name} is {a.shape[1]}x{a.shape[0]} but {names[0]} is "
                f"{size[1]}x{size[0]}; all images of a dataset must have one size"
            )
    if all(a.ndim == 2 for a in arrays):
        return np.stack(arrays)[:, None, :, :]
    rgb = [a if a.ndim == 3 else np.repeat(a[:, :, None], 3, axis=2) for a in arrays]
    return np.ascontiguousarray(np.stack(rgb).transpose(0, 3, 1, 2))
