"""Where datasets are looked for, in order, and the message when none of the places has one.

Search order (first hit wins; within one place, lossless forms come before lossy ones):

1. the `root` argument (also the folder itself, not only the layouts inside it);
2. `$LAYERLAB_DATA` (one folder, or several separated by the OS path separator);
3. the user cache: `$XDG_CACHE_HOME/layerlab`, else `~/.cache/layerlab` (`fetch` writes here);
4. system places: `/usr/share/datasets`, `/usr/local/share/datasets` (Debian's
   `dataset-fashion-mnist` installs to `/usr/share/datasets/fashion-mnist/`);
5. the staged data beside a source checkout: `<checkout>/../shared/data`, if it exists.

In every place the dataset's layouts are tried, including torchvision's (`MNIST/raw/`,
`FashionMNIST/raw/`, `cifar-10-batches-py/`), so existing downloads are reused.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from layerlab.data.errors import DataError, DataNotFoundError
from layerlab.data.registry import BUILTIN_DIR, BUILTINS, Layout, Spec

SYSTEM_PLACES = (Path("/usr/share/datasets"), Path("/usr/local/share/datasets"))


@dataclass(frozen=True)
class Place:
    """A folder searched for datasets. `path` is None when the setting is absent."""

    label: str
    path: Path | None
    exact: bool = False  # the folder itself may be the dataset folder (root argument only)


@dataclass(frozen=True)
class Found:
    """A dataset copy: its form (see `registry.Layout`), file or folder, and the place."""

    form: str
    path: Path
    place: Place


def user_cache() -> Path:
    """The user cache folder: `$XDG_CACHE_HOME/layerlab` or `~/.cache/layerlab`."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "layerlab"


def checkout_staged_data() -> Path | None:
    """`<checkout>/../shared/data` when this package runs from a source checkout, else None."""
    checkout = Path(__file__).resolve().parents[3]
    if (checkout / "pyproject.toml").is_file():
        return checkout.parent / "shared" / "data"
    return None


def places(root: str | os.PathLike | None = None) -> list[Place]:
    """Every place searched, in order (absent settings included, with path None)."""
    if root is not None and not Path(root).is_dir():
        raise DataError(f"root {root} is not a folder; pass the folder that holds the dataset")
    found = [Place("root argument", Path(root) if root is not None else None, exact=True)]
    env = os.environ.get("LAYERLAB_DATA")
    if env:
        found += [Place("$LAYERLAB_DATA", Path(p)) for p in env.split(os.pathsep) if p]
    else:
        found.append(Place("$LAYERLAB_DATA", None))
    found.append(Place("user cache", user_cache()))
    found += [Place("system datasets", p) for p in SYSTEM_PLACES]
    found.append(Place("staged data beside the checkout", checkout_staged_data()))
    return found


def _has_idx(folder: Path, spec: Spec) -> bool:
    """Returns True when `folder` holds all four IDX files of `spec` (.gz or raw)."""
    names = [f.name for pair in spec.idx_files.values() for f in pair]
    return all(idx_file(folder, n) is not None for n in names)


def idx_file(folder: Path, name: str) -> Path | None:
    """The IDX file `name` in `folder`, gzipped (`name`) or raw (`name` without .gz)."""
    for candidate in (folder / name, folder / name.removesuffix(".gz")):
        if candidate.is_file():
            return candidate
    return None


def _present(layout: Layout, path: Path, spec: Spec) -> bool:
    """Returns True when `path` holds `spec` in the form `layout.form`."""
    if layout.form == "idx":
        return path.is_dir() and _has_idx(path, spec)
    if layout.form == "cifar-batches":
        names = [f.name for files in spec.batches.values() for f in files]
        return all((path / n).is_file() for n in names)
    if layout.form in ("cifar-tarball", "image-archive"):
        return path.is_file()
    if layout.form == "image-tree":
        return all((path / s).is_dir() for s in spec.splits)
    if layout.form == "split-zips":
        return all((path / f"{s}.zip").is_file() for s in spec.splits)
    raise ValueError(f"unknown layout form {layout.form!r}")


def find_in(spec: Spec, place: Place) -> Found | None:
    """The first layout of `spec` present in `place`, or None."""
    if place.path is None or not place.path.is_dir():
        return None
    for layout in spec.layouts:
        if not layout.path and not place.exact:
            continue
        path = place.path / layout.path if layout.path else place.path
        if _present(layout, path, spec):
            return Found(layout.form, path, place)
    return None


def find(spec: Spec, root: str | os.PathLike | None = None) -> Found:
    """The first copy of `spec` in the search order; raises DataNotFoundError listing all places.

    A built-in subset is looked for inside the package only (`root` does not apply).
    """
    if spec.packaged:
        hit = find_in(spec, Place("inside the package", BUILTIN_DIR))
        if hit is None:
            raise DataNotFoundError(
                f"the built-in dataset {spec.name!r} is missing from the installed package "
                f"({BUILTIN_DIR}). Fix: reinstall layerlab (pip install -e . in a checkout), "
                "or rebuild it with scripts/make_builtin.py"
            )
        return hit
    searched = places(root)
    for place in searched:
        hit = find_in(spec, place)
        if hit is not None:
            return hit
    raise DataNotFoundError(not_found_message(spec, searched))


def _describe(layout: Layout, spec: Spec) -> str:
    """Returns one line of the not-found message describing `layout`."""
    what = {
        "idx": "the four IDX files, .gz or raw",
        "cifar-batches": "data_batch_1..5, test_batch",
        "cifar-tarball": "the tarball",
        "image-tree": f"{'/, '.join(spec.splits)}/ folders of <class>/<image>",
        "image-archive": "archive of <split>/<class>/<image>",
        "split-zips": f"{', '.join(s + '.zip' for s in spec.splits)}",
    }[layout.form]
    note = f"; {layout.note}" if layout.note else ""
    return f"{layout.path or '(the root argument itself)'}  ({what}{note})"


def not_found_message(spec: Spec, searched: list[Place]) -> str:
    """The full not-found message: every place looked, every layout tried, and the fixes."""
    lines = [f"dataset {spec.name!r} was not found. Looked in these places, in this order:"]
    for i, place in enumerate(searched, 1):
        if place.path is None:
            state = "(not set)" if place.label.startswith("$") else "(not given)"
            lines.append(f"  {i}. {place.label}: {state}")
        else:
            state = "" if place.path.is_dir() else "  (does not exist)"
            lines.append(f"  {i}. {place.label}: {place.path}{state}")
    lines.append("In each place these layouts were tried:")
    lines += [f"  - {_describe(layout, spec)}" for layout in spec.layouts]
    lines.append("Fix, one of:")
    if spec.mirrors:
        dest = user_cache() / spec.fetch_folder
        lines.append(f"  - run `layerlab data fetch {spec.name}` (downloads to {dest})")
    if spec.manual:
        lines.append(f"  - {spec.manual}")
    lines.append("  - set LAYERLAB_DATA to a folder holding one of the layouts above, "
                 "or pass root=PATH to load()")
    subsets = [s for s in BUILTINS.values() if s.subset_of == spec.name]
    if subsets:
        lines.append(f"To try things out without it: the built-in subset {subsets[0].name!r} "
                     "ships inside the package (every `layerlab run NAME --quick` uses it).")
    return "\n".join(lines)
