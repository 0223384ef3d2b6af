"""IDX and CIFAR-batch readers on small files written from the format specs."""

import gzip
import pickle

import numpy as np
import pytest
from datafiles import cifar_batch_bytes, idx_bytes, tar_bytes

from layerlab.data import formats
from layerlab.data.errors import FormatError


def test_idx_images_and_labels_round_trip(rng):
    images = rng.integers(0, 256, (7, 5, 4), dtype=np.uint8)
    labels = rng.integers(0, 10, 7).astype(np.uint8)
    got_images = formats.parse_idx(idx_bytes(images), "img")
    got_labels = formats.parse_idx(idx_bytes(labels), "lab")
    assert got_images.shape == (7, 5, 4) and np.array_equal(got_images, images)
    assert np.array_equal(got_labels, labels)
    x, y = formats.idx_pair(got_images, got_labels, ("img", "lab"), 10)
    assert x.shape == (7, 1, 5, 4) and x.dtype == np.uint8
    assert y.dtype == np.int64 and np.array_equal(y, labels)


def test_idx_big_endian_int32_is_read_in_native_order():
    values = np.array([[1, -2], [70000, 3]], dtype=np.int32)
    got = formats.parse_idx(idx_bytes(values), "ints")
    assert got.dtype == np.int32 and np.array_equal(got, values)


def test_gzip_is_detected_by_content_not_by_name(tmp_path, rng):
    labels = rng.integers(0, 10, 9).astype(np.uint8)
    raw, gz = tmp_path / "a.gz", tmp_path / "b"  # names lie on purpose
    raw.write_bytes(idx_bytes(labels))
    gz.write_bytes(gzip.compress(idx_bytes(labels)))
    for path in (raw, gz):
        assert np.array_equal(formats.parse_idx(formats.read_maybe_gzip(path), path.name), labels)


def test_wrong_magic_number_is_named():
    bad = b"\x12\x34\x08\x01" + b"\x00" * 20
    with pytest.raises(FormatError, match=r"not an IDX file \(magic number 12340801"):
        formats.parse_idx(bad, "train-labels")


def test_truncated_idx_says_so(rng):
    data = idx_bytes(rng.integers(0, 256, (10, 28, 28), dtype=np.uint8))
    with pytest.raises(FormatError, match=r"images\.idx: header promises shape \(10, 28, 28\)"):
        formats.parse_idx(data[:-100], "images.idx")
    with pytest.raises(FormatError, match="truncated"):
        formats.parse_idx(data[:-100], "images.idx")


def test_truncated_gzip_names_the_file(tmp_path, rng):
    data = gzip.compress(idx_bytes(rng.integers(0, 256, (50, 28, 28), dtype=np.uint8)))
    path = tmp_path / "cut.gz"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(FormatError, match=r"cut\.gz: damaged gzip file"):
        formats.read_maybe_gzip(path)


def test_mismatched_image_and_label_counts(rng):
    images = rng.integers(0, 256, (5, 28, 28), dtype=np.uint8)
    labels = np.zeros(4, np.uint8)
    with pytest.raises(FormatError, match="imgs has 5 images but labs has 4 labels"):
        formats.idx_pair(images, labels, ("imgs", "labs"), 10)


def test_labels_out_of_range_are_rejected():
    images = np.zeros((2, 28, 28), np.uint8)
    with pytest.raises(FormatError, match=r"labels outside 0\.\.9"):
        formats.idx_pair(images, np.array([3, 10], np.uint8), ("i", "l"), 10)


def test_cifar_batch_parses_to_nchw(rng):
    images = rng.integers(0, 256, (3, 3, 32, 32), dtype=np.uint8)
    labels = np.array([4, 0, 9])
    x, y = formats.parse_cifar_batch(cifar_batch_bytes(images, labels), "b")
    assert x.shape == (3, 3, 32, 32) and np.array_equal(x, images)
    assert y.dtype == np.int64 and np.array_equal(y, labels)


def test_cifar_batch_of_wrong_shape_is_rejected():
    data = pickle.dumps({b"data": np.zeros((2, 100), np.uint8), b"labels": [0, 1]})
    with pytest.raises(FormatError, match=r"expected data \(N, 3072\)"):
        formats.parse_cifar_batch(data, "b")
    with pytest.raises(FormatError, match="not a CIFAR-10 python batch"):
        formats.parse_cifar_batch(pickle.dumps({"x": 1}), "b")


def test_tar_members_streams_wanted_members_and_reports_missing(tmp_path):
    path = tmp_path / "t.tar.gz"
    path.write_bytes(tar_bytes({"top/a": b"AAA", "top/b": b"BB", "top/c": b"C"}))
    assert formats.tar_members(path, {"a", "c"}) == {"a": b"AAA", "c": b"C"}
    with pytest.raises(FormatError, match=r"members \['zzz'\] are missing"):
        formats.tar_members(path, {"a", "zzz"})
