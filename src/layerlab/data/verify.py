"""Check a dataset copy on disk against the published checksums (for `load` and `layerlab data`).

States: "verified" (every file or tree matches a published md5), "mismatch" (at least one does
not, or a class folder is missing, empty or has another count than the published copy),
"unverified" (no checksum is known for it: nothing to compare with), "missing" (not found in
any place). A registry dataset found as an image tree is judged by the tree md5 of each split
(`checksum.tree_md5`); a tree matching no published copy is a mismatch, not "unverified".
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from layerlab.data import formats, imagefolder, locate, registry
from layerlab.data.checksum import Check, check_file, md5_bytes
from layerlab.data.errors import DataError, DataNotFoundError
from layerlab.data.locate import Found
from layerlab.data.registry import Spec


@dataclass
class Survey:
    """What `list`/`verify` report for one dataset."""

    name: str
    found: Found | None
    size: int = 0
    state: str = "missing"
    lines: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class TreeVerdict:
    """How one split of an image tree compares with the published copy of its dataset.

    check: its tree md5 against the published one (None when none is published). problems:
    one line per class folder that is missing, empty, unexpected, or has another number of
    images than the published copy ("train/3/: no images, expected 100"). empty: the class
    folders (as "split/class/") that have no images at all. counted: the per-class counts
    were compared with published ones.
    """

    check: Check | None
    problems: tuple[str, ...] = ()
    empty: tuple[str, ...] = ()
    counted: bool = False

    @property
    def state(self) -> str:
        """Returns "mismatch", "verified" (tree md5 matches) or "unverified" (no checksum known;
        matching counts alone verify nothing)."""
        if self.problems or (self.check is not None and not self.check.ok):
            return "mismatch"
        return "verified" if self.check is not None else "unverified"

    def lines(self, label: str) -> list[str]:
        """Returns human lines: the tree md5 check (or why there is none), then each problem."""
        if self.check is not None and self.check.ok:
            head = self.check.line(label)
        elif self.check is not None:
            head = (f"{label}: MISMATCH (tree md5 {self.check.got} matches no published copy; "
                    f"published: {self.check.expected})")
        else:
            what = "MISMATCH" if self.problems else "unverified"
            counts = "; class folders and per-class counts as published" if (
                self.counted and not self.problems) else ""
            head = f"{label}: {what} (no published tree md5 for this layout{counts})"
        return [head, *self.problems]


def judge_tree(spec: Spec, split: str, tree_md5: str, counts: dict[str, int]) -> TreeVerdict:
    """Compare one split of a tree (its tree md5, images per class folder) with `spec`.

    A tree md5 equal to the published one settles it (that copy has every class and count).
    Otherwise every expected class must have images, no other class folder may appear, and
    the per-class counts must be the published copy's where the registry knows them.
    Returns a TreeVerdict.
    """
    expected = spec.tree_md5.get(split)
    check = Check(tree_md5 == expected, "tree md5", tree_md5, expected) if expected else None
    if check is not None and check.ok:
        return TreeVerdict(check)
    want = spec.class_counts.get(split)
    problems, empty = [], []
    for i, cls in enumerate(spec.classes):
        n, folder = counts.get(cls, 0), f"{split}/{cls}/"
        published = f", expected {want[i]:,}" if want else ""
        if n == 0:
            empty.append(folder)
            problems.append(f"{folder}: no images{published}")
        elif want and n != want[i]:
            problems.append(f"{folder}: {n:,} image(s){published}")
    for cls in sorted(set(counts) - set(spec.classes)):
        problems.append(f"{split}/{cls}/: not a class of {spec.name} "
                        f"({', '.join(spec.classes)})")
    return TreeVerdict(check, tuple(problems), tuple(empty), counted=want is not None)


def _size(path: Path) -> int:
    """Returns the bytes of a file, or of every file under a folder."""
    if path.is_file():
        return path.stat().st_size
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def _bytes_check(data: bytes, remote: registry.RemoteFile) -> Check:
    """Returns the Check of bytes read from an archive against a file's published md5s."""
    got = md5_bytes(data)
    return Check(got in remote.md5, "file md5", got, " or ".join(remote.md5))


def _checks(spec: Spec, found: Found) -> list[tuple[str, Check | TreeVerdict | None, str]]:
    """Returns (label, check, note) per file, or per split of a folder tree (then a
    TreeVerdict); check None: nothing published to compare with (note says why)."""
    out: list[tuple[str, Check | TreeVerdict | None, str]] = []
    batches = [r for files in spec.batches.values() for r in files]
    if found.form == "idx":
        for remote in registry.flatten_pairs(spec.idx_files):
            path = locate.idx_file(found.path, remote.name)
            out.append((path.name, check_file(path, remote), ""))
    elif found.form == "cifar-batches":
        out += [(r.name, check_file(found.path / r.name, r), "") for r in batches]
    elif found.form == "cifar-tarball":
        check = check_file(found.path, registry.CIFAR10_TARBALL)
        if check.ok:
            out.append((found.path.name, check, ""))
        else:  # a repacked tarball is as good when every batch inside is the published one
            members = formats.tar_members(found.path, {r.name for r in batches})
            out += [(f"{found.path.name}: {r.name}", _bytes_check(members[r.name], r), "")
                    for r in batches]
    elif found.form in ("image-archive", "split-zips"):
        known = {r.name: r for r in spec.archives}
        files = ([found.path / f"{s}.zip" for s in spec.splits] if found.form == "split-zips"
                 else [found.path])
        for path in files:
            remote = known.get(path.name)
            out.append((path.name, check_file(path, remote) if remote else None,
                        "" if remote else "not a published archive"))
    elif found.form == "image-tree":
        for split in spec.splits:
            scan = imagefolder.scan_folder(found.path, split, spec.classes)
            verdict = judge_tree(spec, split, scan.tree_md5, scan.counts)
            out.append((f"{split}/", verdict, ""))
    return out


def survey(spec: Spec, root: str | os.PathLike | None = None) -> Survey:
    """Find `spec` and check every file (or folder tree) of the copy found.

    Returns a Survey: state "missing" when not found; a copy that cannot be read is "mismatch".
    """
    try:
        found = locate.find(spec, root)
    except DataNotFoundError:
        return Survey(spec.name, None)
    result = Survey(spec.name, found, size=_size(found.path))
    try:
        checks = _checks(spec, found)
    except DataError as err:
        result.state, result.lines = "mismatch", [str(err)]
        return result
    states = []
    for label, check, note in checks:
        if isinstance(check, TreeVerdict):
            result.lines += check.lines(label)
            states.append(check.state)
        elif check is None:
            result.lines.append(f"{label}: unverified ({note})")
            states.append("unverified")
        else:
            result.lines.append(check.line(label))
            states.append("verified" if check.ok else "mismatch")
    result.state = ("mismatch" if "mismatch" in states
                    else "unverified" if "unverified" in states else "verified")
    return result
