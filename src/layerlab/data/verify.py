"""Check a dataset copy on disk against the published checksums (for `layerlab data list|verify`).

States: "verified" (every file matches a published md5), "mismatch" (at least one does not),
"unverified" (nothing published to compare with, e.g. a user's own CIFAR-10 image folder),
"missing" (not found in any place).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from layerlab.data import formats, imagefolder, locate, registry
from layerlab.data.checksum import Check, check_file, md5_bytes, md5_file, tree_md5
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


def _size(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def _tree_digest(folder: Path) -> str:
    entries = []
    for path in folder.rglob("*"):
        if path.is_file() and imagefolder.is_image(path.name):
            entries.append((path.relative_to(folder).as_posix(), md5_file(path)))
    return tree_md5(entries)


def _bytes_check(data: bytes, remote: registry.RemoteFile) -> Check:
    got = md5_bytes(data)
    return Check(got in remote.md5, "file md5", got, " or ".join(remote.md5))


def _checks(spec: Spec, found: Found) -> list[tuple[str, Check | None, str]]:
    """(label, check, note) per file or split; check None: nothing published to compare with."""
    out: list[tuple[str, Check | None, str]] = []
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
            digest = _tree_digest(found.path / split)
            if digest == spec.tree_md5.get(split):
                out.append((f"{split}/", Check(True, "tree md5", digest, digest), ""))
            else:
                out.append((f"{split}/", None, f"tree md5 {digest} matches no published copy"))
    return out


def survey(spec: Spec, root: str | os.PathLike | None = None) -> Survey:
    """Find `spec` and check every file of the copy found."""
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
    for label, check, note in checks:
        result.lines.append(check.line(label) if check else f"{label}: unverified ({note})")
    if any(c is not None and not c.ok for _, c, _ in checks):
        result.state = "mismatch"
    elif all(c is not None for _, c, _ in checks):
        result.state = "verified"
    else:
        result.state = "unverified"
    return result
