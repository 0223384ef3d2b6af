"""Image trees from folders, .tar.gz and .zip, decoded with Pillow from files written here."""

import numpy as np
import pytest
from datafiles import pack, write_image_tree

from layerlab.data import imagefolder
from layerlab.data.errors import DataError, FormatError


@pytest.fixture
def rgb_tree(tmp_path, rng):
    """train/ and test/ with classes "2" and "10" (natural order matters), lossless PNG."""
    arrays = {"10": [rng.integers(0, 256, (6, 5, 3), dtype=np.uint8) for _ in range(3)],
              "2": [rng.integers(0, 256, (6, 5, 3), dtype=np.uint8) for _ in range(12)]}
    root = tmp_path / "tree"
    write_image_tree(root, "train", arrays)
    write_image_tree(root, "test", {"2": arrays["2"][:1], "10": arrays["10"][:1]})
    return root, arrays


def test_folder_tree_decodes_to_nchw_in_natural_order(rgb_tree):
    root, arrays = rgb_tree
    tree = imagefolder.read_tree(root, "train")
    assert tree.classes == ("2", "10")
    assert tree.images.shape == (15, 3, 6, 5) and tree.images.dtype == np.uint8
    assert tree.labels.tolist() == [0] * 12 + [1] * 3
    # files 1..12 of class "2" come in numeric order (1, 2, ..., 10, 11, 12), not 1, 10, 11, 12, 2
    expected = np.stack(arrays["2"] + arrays["10"]).transpose(0, 3, 1, 2)
    assert np.array_equal(tree.images, expected)


@pytest.mark.parametrize("archive,prefix", [("t.tar.gz", ""), ("t.zip", ""),
                                            ("t.tar.gz", "some/top/"), ("t.zip", "top/")])
def test_archives_read_the_same_as_the_folder(rgb_tree, tmp_path, archive, prefix):
    root, _ = rgb_tree
    from_folder = imagefolder.read_tree(root, "train")
    from_archive = imagefolder.read_tree(pack(root, tmp_path / archive, prefix), "train")
    assert np.array_equal(from_archive.images, from_folder.images)
    assert np.array_equal(from_archive.labels, from_folder.labels)
    assert from_archive.tree_md5 == from_folder.tree_md5
    assert from_archive.classes == from_folder.classes


def test_tree_md5_changes_when_one_file_changes(rgb_tree):
    root, _ = rgb_tree
    before = imagefolder.read_tree(root, "test").tree_md5
    (root / "test" / "2" / "1.png").write_bytes((root / "train" / "2" / "5.png").read_bytes())
    assert imagefolder.read_tree(root, "test").tree_md5 != before


@pytest.mark.parametrize("ext", [".bmp", ".tiff"])
def test_one_bit_images_become_one_channel_0_or_255(tmp_path, rng, ext):
    bits = [(rng.random((32, 32)) > 0.5).astype(np.uint8) * 255 for _ in range(4)]
    write_image_tree(tmp_path, "val", {"0": bits[:2], "1": bits[2:]}, ext=ext, mode="1")
    tree = imagefolder.read_tree(tmp_path, "val")
    assert tree.images.shape == (4, 1, 32, 32)
    assert set(np.unique(tree.images)) <= {0, 255}
    assert np.array_equal(tree.images[:, 0], np.stack(bits))


def test_gray_images_join_colour_ones_as_three_equal_channels(tmp_path, rng):
    gray = rng.integers(0, 256, (4, 4), dtype=np.uint8)
    colour = rng.integers(0, 256, (4, 4, 3), dtype=np.uint8)
    write_image_tree(tmp_path, "train", {"a": [gray], "b": [colour]})
    tree = imagefolder.read_tree(tmp_path, "train")
    assert tree.images.shape == (2, 3, 4, 4)
    assert all(np.array_equal(tree.images[0, c], gray) for c in range(3))
    assert np.array_equal(tree.images[1], colour.transpose(2, 0, 1))


def test_non_image_files_are_skipped(rgb_tree):
    root, _ = rgb_tree
    (root / "train" / "2" / "README.txt").write_text("not an image")
    (root / "train" / "2" / ".DS_Store").write_bytes(b"\0\1")
    assert len(imagefolder.read_tree(root, "train").labels) == 15


def test_unreadable_image_names_the_file(rgb_tree, tmp_path):
    root, _ = rgb_tree
    (root / "train" / "10" / "broken.png").write_bytes(b"this is not a png")
    with pytest.raises(FormatError, match=r"cannot read image .*train/10/broken\.png"):
        imagefolder.read_tree(root, "train")
    with pytest.raises(FormatError, match=r"train/10/broken\.png"):
        imagefolder.read_tree(pack(root, tmp_path / "x.zip"), "train")


def test_images_of_different_sizes_are_an_error(tmp_path, rng):
    write_image_tree(tmp_path, "train", {"a": [rng.integers(0, 256, (4, 4), dtype=np.uint8),
                                               rng.integers(0, 256, (5, 4), dtype=np.uint8)]})
    with pytest.raises(FormatError, match=r"train/a/2\.png is 4x5 but train/a/1\.png is 4x4"):
        imagefolder.read_tree(tmp_path, "train")


def test_missing_split_lists_the_folders_found(rgb_tree, tmp_path):
    root, _ = rgb_tree
    with pytest.raises(DataError, match=r"no 'val' folder \(found folders: test, train\)"):
        imagefolder.read_tree(root, "val")
    with pytest.raises(DataError, match=r"split folders seen: test, train"):
        imagefolder.read_tree(pack(root, tmp_path / "x.tar.gz"), "val")


def test_fixed_class_list_rejects_unknown_folders(rgb_tree):
    root, _ = rgb_tree
    with pytest.raises(DataError, match=r"class folders \['10'\] are not among"):
        imagefolder.read_tree(root, "train", classes=("2", "3"))


def test_damaged_archive_is_reported(rgb_tree, tmp_path):
    root, _ = rgb_tree
    archive = pack(root, tmp_path / "t.tar.gz")
    data = archive.read_bytes()
    archive.write_bytes(data[: len(data) // 2])
    with pytest.raises(FormatError, match="damaged archive"):
        imagefolder.read_tree(archive, "train")
