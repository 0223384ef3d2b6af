"""Nothing wrong is reported as right: damaged trees, emptied class folders, stale cache entries.

A registry dataset whose published checksum (file md5 or tree md5) does not match is refused
with verify=True and is a MISMATCH for `layerlab data verify`; only a tree with no checksum
known for it (a user's own `imagefolder:PATH`) is "unverified". Trees made here are
"published" by patching the registry with their own tree md5s, so a one-byte change to them
behaves exactly as a damaged copy of the real dataset would.
"""

import os
import shutil
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from datafiles import pack, staged, write_image_tree
from needs import missing

from layerlab.cli import main as cli_main
from layerlab.data import imagefolder, load, registry
from layerlab.data.errors import ChecksumError, DataError

CIFAR = registry.CIFAR10
GURMUKHI = registry.GURMUKHI


def _cifar_tree(root: Path, rng, per_class: int = 2) -> None:
    """root/cifar10/{train,test}/<class>/<i>.jpg for all ten CIFAR-10 classes (JPEG, lossy)."""
    for split in CIFAR.splits:
        arrays = {c: [rng.integers(0, 256, (32, 32, 3), dtype=np.uint8) for _ in range(per_class)]
                  for c in CIFAR.classes}
        write_image_tree(root / "cifar10", split, arrays, ".jpg")


def _gurmukhi_tree(root: Path, rng, n_train: int = 3, n_val: int = 2) -> None:
    """root/gurmukhi/{train,val}/<digit>/<i>.bmp, 32x32 1-bit like the real files."""
    def bits(n):
        return [(rng.random((32, 32)) > 0.5).astype(np.uint8) * 255 for _ in range(n)]
    for split, n in (("train", n_train), ("val", n_val)):
        write_image_tree(root / "gurmukhi", split, {str(d): bits(n) for d in range(10)},
                         ".bmp", "1")


def _publish(monkeypatch, spec: registry.Spec, tree: Path) -> registry.Spec:
    """Make the registry publish the tree md5s of the tree at `tree` for `spec`."""
    md5s = {s: imagefolder.read_tree(tree, s, spec.classes).tree_md5 for s in spec.splits}
    published = replace(spec, tree_md5=md5s)
    monkeypatch.setitem(registry.DATASETS, spec.name, published)
    return published


def _alter_one_pixel(path: Path) -> None:
    """Re-encode a JPEG with one corner changed: still a valid image, other bytes.

    A single changed pixel can vanish in JPEG quantisation (the real CIFAR-10 JPEGs re-encode
    to identical bytes), so an 8x8 block is whitened and the bytes are checked to differ."""
    from PIL import Image

    before = path.read_bytes()
    with Image.open(path) as im:
        a = np.array(im.convert("RGB"))
    a[:8, :8] = 255
    Image.fromarray(a).save(path, quality=75)
    assert path.read_bytes() != before


def _flip_last_byte_in_place(path: Path) -> None:
    """Change the file's last byte, keeping its size and modification time."""
    st = path.stat()
    with open(path, "r+b") as f:
        f.seek(-1, os.SEEK_END)
        last = f.read(1)
        f.seek(-1, os.SEEK_END)
        f.write(bytes([last[0] ^ 0xFF]))
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert path.stat().st_size == st.st_size and path.stat().st_mtime_ns == st.st_mtime_ns


def _verify(name: str, root: Path, capsys) -> tuple[int, str]:
    code = cli_main(["data", "verify", name, "--root", str(root)])
    return code, capsys.readouterr().out


# ---------------------------------------------------------------- fault 1: damaged trees pass

def test_damaged_image_in_a_published_cifar_folder_is_refused(tmp_path, rng, monkeypatch,
                                                               capsys):
    _cifar_tree(tmp_path, rng)
    _publish(monkeypatch, CIFAR, tmp_path / "cifar10")
    assert load("cifar10", "train", root=tmp_path).checksum == "verified"
    assert _verify("cifar10", tmp_path, capsys)[0] == 0

    _alter_one_pixel(tmp_path / "cifar10" / "train" / "cat" / "1.jpg")
    with pytest.raises(ChecksumError) as info:
        load("cifar10", "train", root=tmp_path)
    msg = str(info.value)
    assert str(tmp_path / "cifar10" / "train") in msg and "tree md5" in msg
    assert "verify=False" in msg and "imagefolder:" in msg
    assert load("cifar10", "test", root=tmp_path).checksum == "verified"  # test/ is intact
    loose = load("cifar10", "train", root=tmp_path, verify=False)
    assert loose.checksum == "mismatch" and "MISMATCH" in loose.checksum_detail
    code, out = _verify("cifar10", tmp_path, capsys)
    assert code == 1 and "cifar10: MISMATCH" in out and "train/: MISMATCH" in out


def test_damaged_image_in_the_cifar_jpeg_archive_is_refused(tmp_path, rng, capsys):
    _cifar_tree(tmp_path / "t", rng)
    _alter_one_pixel(tmp_path / "t" / "cifar10" / "train" / "cat" / "1.jpg")
    pack(tmp_path / "t" / "cifar10", tmp_path / "d" / registry.CIFAR10_JPEG.name)
    with pytest.raises(ChecksumError, match=registry.CIFAR10_JPEG.md5[0]):
        load("cifar10", root=tmp_path / "d")
    code, out = _verify("cifar10", tmp_path / "d", capsys)
    assert code == 1 and "MISMATCH" in out


def test_a_cifar_tree_matching_no_published_copy_is_a_mismatch(tmp_path, rng, capsys):
    """The registry's tree md5s are the JPEG copy's: any other tree named cifar10 differs."""
    _cifar_tree(tmp_path, rng, per_class=1)
    with pytest.raises(ChecksumError) as info:
        load("cifar10", root=tmp_path)
    msg = str(info.value)
    assert CIFAR.tree_md5["train"] in msg and "matches no published copy" in msg
    assert "imagefolder:" in msg
    ds = load("cifar10", root=tmp_path, verify=False)
    assert ds.checksum == "mismatch" and ds.labels.tolist() == list(range(10))
    assert "LOSSY" not in ds.source
    code, out = _verify("cifar10", tmp_path, capsys)
    assert code == 1 and "cifar10: MISMATCH" in out


@pytest.mark.parametrize("how", ["emptied", "removed"])
def test_a_missing_gurmukhi_class_folder_is_an_error_naming_it(tmp_path, rng, monkeypatch,
                                                               capsys, how):
    _gurmukhi_tree(tmp_path, rng)
    _publish(monkeypatch, GURMUKHI, tmp_path / "gurmukhi")
    assert load("gurmukhi", root=tmp_path).checksum == "verified"
    folder = tmp_path / "gurmukhi" / "train" / "3"
    if how == "emptied":
        for f in folder.iterdir():
            f.unlink()
    else:
        shutil.rmtree(folder)
    with pytest.raises(ChecksumError, match=r"train/3/"):
        load("gurmukhi", root=tmp_path)
    with pytest.raises(DataError, match=r"train/3/"):  # a class with no images never loads
        load("gurmukhi", root=tmp_path, verify=False)
    code, out = _verify("gurmukhi", tmp_path, capsys)
    assert code == 1 and "gurmukhi: MISMATCH" in out and "train/3/" in out


def test_other_per_class_counts_are_named(tmp_path, rng, monkeypatch, capsys):
    """With no tree md5 published, the known per-class counts are still checked."""
    _gurmukhi_tree(tmp_path, rng, n_train=2, n_val=2)
    counts = {"train": (2,) * 10, "val": (2,) * 10}
    spec = replace(GURMUKHI, tree_md5={}, class_counts=counts)
    monkeypatch.setitem(registry.DATASETS, "gurmukhi", spec)
    assert load("gurmukhi", root=tmp_path).checksum == "unverified"  # counts are no checksum
    (tmp_path / "gurmukhi" / "val" / "7" / "1.bmp").unlink()
    with pytest.raises(ChecksumError, match=r"val/7/: 1 image\(s\), expected 2"):
        load("gurmukhi", "val", root=tmp_path)
    ds = load("gurmukhi", "val", root=tmp_path, verify=False)
    assert ds.checksum == "mismatch" and "val/7/" in ds.checksum_detail
    assert _verify("gurmukhi", tmp_path, capsys)[0] == 1


def test_unverified_only_when_no_checksum_is_known(tmp_path, rng, monkeypatch, capsys):
    _gurmukhi_tree(tmp_path, rng)
    spec = replace(GURMUKHI, tree_md5={}, class_counts={})
    monkeypatch.setitem(registry.DATASETS, "gurmukhi", spec)
    ds = load("gurmukhi", root=tmp_path)
    assert ds.checksum == "unverified" and "no published" in ds.checksum_detail
    code, out = _verify("gurmukhi", tmp_path, capsys)
    assert code == 0 and "gurmukhi: UNVERIFIED" in out
    user = load(f"imagefolder:{tmp_path / 'gurmukhi'}")
    assert user.checksum == "unverified" and len(user) == 30


def test_real_gurmukhi_with_an_emptied_class_is_refused(real, tmp_path, capsys):
    found = real("gurmukhi")
    source = found.path if found.form == "image-tree" else staged("gurmukhi")
    if not (source / "train").is_dir():
        missing(f"the Gurmukhi folders are not staged in {source}")
    copy = tmp_path / "copy" / "gurmukhi"
    for split in GURMUKHI.splits:
        shutil.copytree(source / split, copy / split)
    for f in (copy / "train" / "3").iterdir():
        f.unlink()
    with pytest.raises(ChecksumError) as info:
        load("gurmukhi", root=tmp_path / "copy", cache=False)
    assert "train/3/: no images, expected 100" in str(info.value)
    assert GURMUKHI.tree_md5["train"] in str(info.value)
    assert load("gurmukhi", "val", root=tmp_path / "copy", cache=False).checksum == "verified"
    code, out = _verify("gurmukhi", tmp_path / "copy", capsys)
    assert code == 1 and "train/3/: no images, expected 100" in out


# ---------------------------------------------------------------- fault 2: stale cache

def test_an_edit_keeping_size_and_mtime_is_decoded_afresh(tmp_path, rng):
    gray = [rng.integers(0, 256, (4, 4), dtype=np.uint8) for _ in range(2)]
    write_image_tree(tmp_path / "t", "train", {"a": gray}, ".bmp")  # uncompressed pixels
    name = f"imagefolder:{tmp_path / 't'}"
    first = load(name)
    _flip_last_byte_in_place(tmp_path / "t" / "train" / "a" / "2.bmp")
    second = load(name)
    assert not np.array_equal(second.images, first.images)
    assert np.array_equal(second.images, load(name, cache=False).images)
    assert second.checksum_detail != first.checksum_detail  # the tree md5 is the new one


def test_a_stale_cache_entry_is_never_reported_as_verified(tmp_path, rng, monkeypatch):
    _gurmukhi_tree(tmp_path, rng)
    _publish(monkeypatch, GURMUKHI, tmp_path / "gurmukhi")
    first = load("gurmukhi", root=tmp_path)
    assert first.checksum == "verified"
    _flip_last_byte_in_place(tmp_path / "gurmukhi" / "train" / "5" / "2.bmp")
    with pytest.raises(ChecksumError, match=r"gurmukhi/train"):
        load("gurmukhi", root=tmp_path)
    loose = load("gurmukhi", root=tmp_path, verify=False)
    assert loose.checksum == "mismatch"
    assert not np.array_equal(loose.images, first.images)  # the new pixels, not the cached ones
    assert np.array_equal(loose.images, load("gurmukhi", root=tmp_path, verify=False,
                                             cache=False).images)
