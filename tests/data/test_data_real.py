"""The real datasets load with their known figures (counts from the publishers and SOURCES.md).

Each test asks `real(name)`: it skips with the reason on a machine without the files and fails
under CI, which is set up to have them. CIFAR-10 uses the user's decoded cache, so only the
first run on a machine pays for decoding 60,000 JPEGs.
"""

import gzip
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from datafiles import staged
from needs import missing

from layerlab.cli import main as cli_main
from layerlab.data import cache, load, registry
from layerlab.data.checksum import md5_file

MNIST_TRAIN = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
MNIST_TEST = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
GURMUKHI_VAL = [18, 16, 17, 17, 18, 18, 18, 18, 18, 20]


def test_mnist(real):
    real("mnist")
    train, test = load("mnist", "train"), load("mnist", "test")
    assert train.images.shape == (60_000, 1, 28, 28) and train.images.dtype == np.uint8
    assert train.counts().tolist() == MNIST_TRAIN and test.counts().tolist() == MNIST_TEST
    assert int(train.images.sum(dtype=np.int64)) == 1_567_298_545  # SOURCES.md pixel sums
    assert int(test.images.sum(dtype=np.int64)) == 264_923_200
    assert train.checksum == test.checksum == "verified"


def test_fashion_mnist(real):
    real("fashion-mnist")
    train, test = load("fashion-mnist", "train"), load("fashion-mnist", "test")
    assert train.images.shape == (60_000, 1, 28, 28) and test.images.shape == (10_000, 1, 28, 28)
    assert train.counts().tolist() == [6000] * 10 and test.counts().tolist() == [1000] * 10
    assert train.checksum == "verified" and train.classes[9] == "Ankle boot"


def test_cifar10(real):
    found = real("cifar10")
    train, test = load("cifar10", "train"), load("cifar10", "test")
    assert train.images.shape == (50_000, 3, 32, 32) and test.images.shape == (10_000, 3, 32, 32)
    assert train.counts().tolist() == [5000] * 10 and test.counts().tolist() == [1000] * 10
    mean = train.images.mean(axis=(0, 2, 3)) / 255
    assert np.allclose(mean, [0.491, 0.482, 0.447], atol=2e-3)
    assert train.checksum == "verified"
    if found.form == "image-archive":  # the JPEG copy: the report must be able to say so
        assert "LOSSY" in train.source and found.path.name in train.source
        assert any(cache.cache_dir().glob("cifar10-train-*.npz"))


def test_gurmukhi_folders_and_original_zips(real):
    real("gurmukhi")
    train, val = load("gurmukhi", "train"), load("gurmukhi", "test")
    assert train.images.shape == (1000, 1, 32, 32) and train.counts().tolist() == [100] * 10
    assert len(val) == 178 and val.counts().tolist() == GURMUKHI_VAL and val.split == "val"
    assert set(np.unique(train.images)) == {0, 255}
    assert train.checksum == val.checksum == "verified"
    zips = staged("gurmukhi", "original")
    if not (zips / "train.zip").is_file():
        missing(f"the original Gurmukhi zips are not staged in {zips}")
    from_zip = load("gurmukhi", "train", root=zips)
    assert from_zip.checksum == "verified" and "train.zip: ok" in from_zip.checksum_detail
    assert np.array_equal(from_zip.images, train.images)
    assert np.array_equal(from_zip.labels, train.labels)


def test_a_rewrapped_gzip_is_verified_by_its_content(real, tmp_path, capsys):
    found = real("mnist")
    folder = tmp_path / "mnist"
    folder.mkdir()
    for remote in registry.MNIST.downloads:
        shutil.copy(found.path / remote.name, folder / remote.name)
    name = "t10k-labels-idx1-ubyte.gz"  # what a repackager does: same bytes, new gzip header
    content = gzip.decompress((folder / name).read_bytes())
    (folder / name).write_bytes(gzip.compress(content, mtime=1_590_000_000))
    assert md5_file(folder / name) not in registry.MNIST.idx_files["test"][1].md5
    assert load("mnist", "test", root=tmp_path).checksum == "verified"
    assert cli_main(["data", "verify", "mnist", "--root", str(tmp_path)]) == 0
    assert f"{name}: ok (content md5" in capsys.readouterr().out


@pytest.mark.parametrize("subset", registry.BUILTIN_NAMES)
def test_builtin_subset_rebuilds_byte_for_byte(real, tmp_path, subset):
    spec = registry.get(subset)
    found = real(spec.subset_of)
    if spec.subset_of == "cifar10" and found.path.name != registry.CIFAR10_JPEG.name:
        missing(f"the CIFAR-10 subset is cut from the JPEG copy {registry.CIFAR10_JPEG.name}; "
                f"the copy found is {found.path}")
    script = Path(__file__).resolve().parents[2] / "scripts" / "make_builtin.py"
    subprocess.run([sys.executable, str(script), "--only", subset, "--out", str(tmp_path)],
                   check=True, capture_output=True)
    data = registry.BUILTIN_DIR / spec.layouts[0].path  # an archive, or a folder of IDX files
    files = sorted(data.iterdir()) if data.is_dir() else [data]
    shipped = sorted([Path(f"{subset}.json")] + [p.relative_to(registry.BUILTIN_DIR)
                                                  for p in files])
    rebuilt = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*") if p.is_file())
    assert rebuilt == shipped
    for rel in rebuilt:
        assert md5_file(tmp_path / rel) == md5_file(registry.BUILTIN_DIR / rel), rel
