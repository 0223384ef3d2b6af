"""`load`: search order, layouts, checksum states, splits, the decoded cache, built-in data."""

import json
import pickle
from dataclasses import replace

import numpy as np
import pytest
from datafiles import (
    pack,
    tar_bytes,
    write_cifar_batches,
    write_idx_set,
    write_image_tree,
)
from needs import missing

from layerlab.data import cache, load, locate, registry
from layerlab.data.errors import ChecksumError, DataError, DataNotFoundError

MNIST = registry.MNIST


# ---------------------------------------------------------------- search order and layouts

def test_search_order_root_then_env_then_user_cache(tmp_path, monkeypatch):
    write_idx_set(tmp_path / "root" / "mnist", MNIST, 3, 2)
    write_idx_set(tmp_path / "env" / "mnist", MNIST, 4, 2)
    write_idx_set(locate.user_cache() / "mnist", MNIST, 5, 2)
    monkeypatch.setenv("LAYERLAB_DATA", str(tmp_path / "env"))

    ds = load("mnist", root=tmp_path / "root", verify=False)
    assert (len(ds), ds.place, ds.path) == (3, "root argument", tmp_path / "root" / "mnist")
    ds = load("mnist", verify=False)
    assert (len(ds), ds.place) == (4, "$LAYERLAB_DATA")
    monkeypatch.delenv("LAYERLAB_DATA")
    ds = load("mnist", verify=False)
    assert (len(ds), ds.place) == (5, "user cache")


def test_layerlab_data_may_list_several_folders(tmp_path, monkeypatch):
    write_idx_set(tmp_path / "b" / "mnist", MNIST, 6, 2)
    monkeypatch.setenv("LAYERLAB_DATA", f"{tmp_path / 'a'}:{tmp_path / 'b'}")
    assert len(load("mnist", verify=False)) == 6


def test_root_may_be_the_dataset_folder_itself_with_raw_files(tmp_path):
    arrays = write_idx_set(tmp_path, MNIST, 3, 2, gz=False)
    ds = load("mnist", "test", root=tmp_path, verify=False)
    assert np.array_equal(ds.images[:, 0], arrays["test"][0])
    assert np.array_equal(ds.labels, arrays["test"][1])
    assert "raw" in ds.source


@pytest.mark.parametrize("name,folder", [("mnist", "MNIST/raw"),
                                         ("fashion-mnist", "FashionMNIST/raw")])
def test_torchvision_layout_is_reused(tmp_path, name, folder):
    spec = registry.get(name)
    arrays = write_idx_set(tmp_path / folder, spec, 3, 2, gz=False)
    ds = load(name, root=tmp_path, verify=False)
    assert ds.path == tmp_path / folder
    assert np.array_equal(ds.labels, arrays["train"][1])


def test_root_that_is_not_a_folder_is_an_error(tmp_path):
    with pytest.raises(DataError, match="is not a folder"):
        load("mnist", root=tmp_path / "nope")


def test_not_found_lists_every_place_and_the_fixes(tmp_path, monkeypatch):
    monkeypatch.setenv("LAYERLAB_DATA", str(tmp_path / "env"))
    spec = replace(registry.FASHION_MNIST,
                   layouts=(registry.Layout("idx", "no-such-folder-xyz"),))
    with pytest.raises(DataNotFoundError) as info:
        locate.find(spec, root=tmp_path)
    msg = str(info.value)
    for place in locate.places(tmp_path):
        assert f"{place.label}: {place.path}" in msg
    assert msg.index("root argument") < msg.index("$LAYERLAB_DATA") < msg.index("user cache")
    assert msg.index("user cache") < msg.index("/usr/share/datasets")
    assert f"{tmp_path / 'env'}  (does not exist)" in msg
    assert "no-such-folder-xyz" in msg
    assert "layerlab data fetch fashion-mnist" in msg
    assert "apt-get install dataset-fashion-mnist" in msg
    assert "LAYERLAB_DATA" in msg.split("Fix, one of:")[1]


def test_places_include_the_staged_folder_beside_a_checkout():
    labels = [p.label for p in locate.places()]
    staged = locate.checkout_staged_data()
    if staged is None:
        missing("layerlab is installed, not run from a checkout (pip install -e .)")
    assert labels[-1] == "staged data beside the checkout"
    assert locate.places()[-1].path == staged


def test_unknown_dataset_lists_the_known_ones():
    with pytest.raises(DataError) as info:
        load("mnsit")
    for name in ("mnist", "fashion-mnist", "cifar10", "gurmukhi", "builtin", "toy2d:spiral",
                 "imagefolder:PATH"):
        assert name in str(info.value)


def test_options_are_only_for_toy2d():
    with pytest.raises(DataError, match="only toy2d"):
        load("builtin", n=10)


# ---------------------------------------------------------------- checksums

def test_files_that_are_not_the_published_ones_are_refused(tmp_path):
    write_idx_set(tmp_path / "mnist", MNIST, 3, 2)
    with pytest.raises(ChecksumError) as info:
        load("mnist", root=tmp_path)
    msg = str(info.value)
    assert "train-images-idx3-ubyte.gz" in msg
    assert MNIST.idx_files["train"][0].content_md5 in msg
    assert "layerlab data fetch mnist" in msg and "verify=False" in msg
    ds = load("mnist", root=tmp_path, verify=False)
    assert ds.checksum == "mismatch" and "MISMATCH" in ds.checksum_detail


def test_cifar_batches_are_checked_before_unpickling(tmp_path):
    """A batch with the wrong md5 is never unpickled: this one would write a file if it were."""
    folder = tmp_path / "cifar-10-batches-py"
    write_cifar_batches(folder)
    marker = tmp_path / "pwned"

    class Payload:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    (folder / "data_batch_1").write_bytes(pickle.dumps(Payload()))
    with pytest.raises(ChecksumError, match="data_batch_1"):
        load("cifar10", root=tmp_path)
    assert not marker.exists()


def test_cifar_batches_folder_and_tarball(tmp_path):
    images = write_cifar_batches(tmp_path / "a" / "cifar-10-batches-py", per_batch=3)
    ds = load("cifar10", root=tmp_path / "a", verify=False)
    assert ds.images.shape == (15, 3, 32, 32) and np.array_equal(ds.images, images)
    assert "lossless" in ds.source and "extracted" in ds.source
    (tmp_path / "b").mkdir()
    members = {f"cifar-10-batches-py/{p.name}": p.read_bytes()
               for p in (tmp_path / "a" / "cifar-10-batches-py").iterdir()}
    (tmp_path / "b" / "cifar-10-python.tar.gz").write_bytes(tar_bytes(members))
    from_tar = load("cifar10", "train", root=tmp_path / "b", verify=False)
    assert "tarball" in from_tar.source and np.array_equal(from_tar.images, images)
    assert len(load("cifar10", "test", root=tmp_path / "b", verify=False)) == 3


def test_lossless_batches_win_over_an_image_folder_in_the_same_place(tmp_path, rng):
    write_cifar_batches(tmp_path / "cifar-10-batches-py")
    img = [rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)]
    for split in ("train", "test"):
        write_image_tree(tmp_path / "cifar10", split, {"cat": img})
    assert load("cifar10", root=tmp_path, verify=False).path == tmp_path / "cifar-10-batches-py"


def test_a_known_archive_with_the_wrong_md5_is_refused(tmp_path, rng):
    img = [rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)]
    for split in ("train", "test"):
        write_image_tree(tmp_path / "tree", split, {"cat": img})
    pack(tmp_path / "tree", tmp_path / "cifar10_yoongikim_jpg.tar.gz")
    with pytest.raises(ChecksumError, match=registry.CIFAR10_JPEG.md5[0]):
        load("cifar10", root=tmp_path)


# ---------------------------------------------------------------- gurmukhi and image folders

def _gurmukhi(root, rng, n_train=3, n_val=2):
    def bits(n):
        return [(rng.random((32, 32)) > 0.5).astype(np.uint8) * 255 for _ in range(n)]
    write_image_tree(root, "train", {str(d): bits(n_train) for d in range(10)}, ".bmp", "1")
    write_image_tree(root, "val", {str(d): bits(n_val) for d in range(10)}, ".tiff", "1")


def test_gurmukhi_test_split_is_its_val_folder(tmp_path, rng):
    _gurmukhi(tmp_path / "gurmukhi", rng)  # not the published files: verify=False
    ds = load("gurmukhi", "test", root=tmp_path, verify=False)
    assert ds.split == "val" and len(ds) == 20 and ds.images.shape[1:] == (1, 32, 32)
    assert "split 'test' is read from the 'val' folder" in ds.notes
    assert load("gurmukhi", "val", root=tmp_path, verify=False).notes == ()
    with pytest.raises(DataError, match="splits are train, val"):
        load("gurmukhi", "holdout", root=tmp_path, verify=False)


def test_gurmukhi_from_the_two_zips_equals_the_folders(tmp_path, rng):
    _gurmukhi(tmp_path / "f" / "gurmukhi", rng)
    zips = tmp_path / "z" / "gurmukhi" / "original"
    zips.mkdir(parents=True)
    for split in ("train", "val"):
        pack(tmp_path / "f" / "gurmukhi" / split, zips / f"{split}.zip", prefix=f"{split}/")
    a = load("gurmukhi", "train", root=tmp_path / "f", verify=False)
    b = load("gurmukhi", "train", root=tmp_path / "z", verify=False)
    assert a.checksum == "mismatch"  # a tree matching no published copy
    assert b.path == zips / "train.zip" and b.checksum == "mismatch"  # not the published zips
    assert np.array_equal(a.images, b.images) and np.array_equal(a.labels, b.labels)


def test_imagefolder_any_user_tree(tmp_path, rng):
    arrays = {"cat": [rng.integers(0, 256, (8, 8, 3), dtype=np.uint8) for _ in range(2)],
              "dog": [rng.integers(0, 256, (8, 8, 3), dtype=np.uint8)]}
    write_image_tree(tmp_path / "pets", "train", arrays)
    ds = load(f"imagefolder:{tmp_path / 'pets'}")
    assert ds.classes == ("cat", "dog") and ds.labels.tolist() == [0, 0, 1]
    assert ds.images.shape == (3, 3, 8, 8) and ds.checksum == "unverified"
    archive = pack(tmp_path / "pets", tmp_path / "pets.zip")
    assert np.array_equal(load(f"imagefolder:{archive}").images, ds.images)
    with pytest.raises(DataError, match="neither a folder nor an archive"):
        load(f"imagefolder:{tmp_path / 'missing'}")


# ---------------------------------------------------------------- decoded cache

def _entries():
    return sorted(cache.cache_dir().glob("*.npz")) if cache.cache_dir().exists() else []


def test_decoded_cache_is_used_and_a_changed_source_is_noticed(tmp_path, rng):
    arrays = {"a": [rng.integers(0, 256, (4, 4), dtype=np.uint8) for _ in range(2)]}
    write_image_tree(tmp_path / "t", "train", arrays)
    name = f"imagefolder:{tmp_path / 't'}"
    first = load(name)
    [entry] = _entries()
    # Put other pixels into the entry: the next load must return them, proving it read the cache.
    with np.load(entry) as npz:
        stored = {k: npz[k] for k in npz.files}
    cache.save_atomic(entry, {**stored, "images": 255 - stored["images"]})
    assert np.array_equal(load(name).images, 255 - first.images)
    # A new file in the tree changes the key: decoded afresh, with the real pixels.
    write_image_tree(tmp_path / "t", "train", {"b": arrays["a"][:1]})
    again = load(name)
    assert len(again) == 3 and np.array_equal(again.images[:2], first.images)
    assert len(_entries()) == 2
    assert not list(cache.cache_dir().glob("*.tmp"))  # atomic writes leave no temp files


def test_archive_cache_is_keyed_by_content(tmp_path, rng):
    a = [rng.integers(0, 256, (4, 4), dtype=np.uint8)]
    write_image_tree(tmp_path / "t", "train", {"x": a})
    archive = pack(tmp_path / "t", tmp_path / "t.tar.gz")
    first = load(f"imagefolder:{archive}")
    write_image_tree(tmp_path / "t", "train", {"x": [255 - a[0]]})
    pack(tmp_path / "t", archive)  # same name, other bytes
    second = load(f"imagefolder:{archive}")
    assert np.array_equal(second.images, 255 - first.images)


def test_damaged_cache_entry_is_rebuilt(tmp_path, rng, capsys):
    write_image_tree(tmp_path / "t", "train", {"x": [rng.integers(0, 256, (4, 4), np.uint8)]})
    name = f"imagefolder:{tmp_path / 't'}"
    first = load(name)
    [entry] = _entries()
    entry.write_bytes(b"garbage")
    assert np.array_equal(load(name).images, first.images)
    assert "damaged cache entry" in capsys.readouterr().err
    with np.load(entry) as npz:  # rewritten whole
        assert np.array_equal(npz["images"], first.images)


def test_cache_false_writes_nothing(tmp_path, rng):
    write_image_tree(tmp_path / "t", "train", {"x": [rng.integers(0, 256, (4, 4), np.uint8)]})
    load(f"imagefolder:{tmp_path / 't'}", cache=False)
    assert _entries() == []


# ---------------------------------------------------------------- built-in data

@pytest.mark.parametrize("subset", registry.BUILTIN_NAMES)
def test_builtin_subset_is_verified_balanced_and_under_1mb(subset):
    info = json.loads((registry.BUILTIN_DIR / f"{subset}.json").read_text())
    data = registry.BUILTIN_DIR / info["path"]
    files = list(data.iterdir()) if data.is_dir() else [data]
    assert sum(f.stat().st_size for f in files) == info["bytes"] <= 1_000_000
    full = registry.get(info["subset_of"])
    for split, count in info["counts"].items():
        ds = load(subset, split)
        assert ds.images.shape[0] == count and ds.images.shape[1:] in ((3, 32, 32), (1, 28, 28),
                                                                         (1, 32, 32))
        assert ds.counts().tolist() == [count // 10] * 10  # class-balanced
        assert ds.classes == full.classes and ds.checksum == "verified"
        pixels = ds.images / 255  # real images, not blank decoding
        assert 0.05 < pixels.mean() < 0.95 and pixels.std() > 0.2
    assert info["licence"] and info["source"]
