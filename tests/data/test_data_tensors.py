"""The PyTorch side: in-memory batches and a Dataset wrapper."""

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="PyTorch is an optional dependency (extra 'torch')")

from layerlab.data.tensors import ArrayDataset, Batches, to_tensors  # noqa: E402


def test_to_tensors_types():
    X, y = to_tensors(np.zeros((3, 2), np.float64), np.array([0, 1, 2], np.uint8))
    assert X.dtype == torch.float32 and y.dtype == torch.int64 and X.shape == (3, 2)
    with pytest.raises(ValueError, match="3 rows but y has 2"):
        to_tensors(np.zeros((3, 2)), np.zeros(2))


def test_batches_cover_every_example_once_per_epoch_in_a_new_order():
    X = torch.arange(10).float().reshape(10, 1)
    y = torch.arange(10)
    batches = Batches(X, y, 3, seed=0)
    assert len(batches) == 4
    epochs = [torch.cat([yb for _, yb in batches]) for _ in range(2)]
    for order in epochs:
        assert sorted(order.tolist()) == list(range(10))
    assert epochs[0].tolist() != epochs[1].tolist()
    for xb, yb in batches:
        assert torch.equal(xb[:, 0].long(), yb)  # rows stay paired
    again = Batches(X, y, 3, seed=0)
    assert [torch.cat([yb for _, yb in again]).tolist() for _ in range(2)] == \
        [e.tolist() for e in epochs]


def test_batches_drop_last_and_no_shuffle():
    batches = Batches(np.zeros((10, 2)), np.arange(10), 4, shuffle=False, drop_last=True)
    got = [yb.tolist() for _, yb in batches]
    assert len(batches) == 2 and got == [[0, 1, 2, 3], [4, 5, 6, 7]]
    assert len(Batches(np.zeros((10, 2)), np.arange(10), 4)) == 3


def test_array_dataset_works_with_a_dataloader():
    ds = ArrayDataset(np.arange(12, dtype=np.float32).reshape(6, 2), np.arange(6))
    assert len(ds) == 6
    x, y = ds[4]
    assert x.tolist() == [8.0, 9.0] and int(y) == 4
    loader = torch.utils.data.DataLoader(ds, batch_size=4)
    sizes = [len(yb) for _, yb in loader]
    assert sizes == [4, 2]
